-- 0025_routine_runs.sql — every run of a routine is recorded, and none is
-- silently lost (issue 13).
--
-- routines (0006) kept only the latest run's result (last_status,
-- last_detail).  routine_runs keeps each run: when it was due, when it
-- started and ended, by which worker, its outcome and its evidence (the
-- counters the routine reports: orders ingested, drift healed, …).  A run is
-- one row from its claim ('running') to its end ('ok' | 'failed'); a run
-- whose worker died (its lease lapsed, which is why the routine could be
-- claimed again) is marked 'interrupted' by the next claim, which starts a
-- new run with the next attempt number.  A routine whose lease lapsed is due
-- again at once (routines_claim): an interrupted run is retried, not left
-- for the next interval.  The SOP scheduler will record its runs here too:
-- a run belongs to a routine today; a `step` column can join routine_id.
--
-- Retention: runs are kept as long as drift events (retention_drift_events_days,
-- ONECOUNT_RETENTION_DRIFT_EVENTS_DAYS, 30 days by default), pruned by
-- started_at by retention_prune('routine_runs', …).  The routines table's
-- last_* columns are still written: they are the latest run at a glance.
CREATE TABLE routine_runs (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    routine_id uuid NOT NULL,
    connection_id uuid,
    kind text NOT NULL,
    due_at timestamptz NOT NULL,
    started_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    status text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'ok', 'failed', 'interrupted')),
    detail jsonb,
    worker text NOT NULL,
    attempt int NOT NULL DEFAULT 1 CHECK (attempt >= 1),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, routine_id) REFERENCES routines (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX routine_runs_time ON routine_runs (tenant_id, started_at DESC);
CREATE INDEX routine_runs_running ON routine_runs (tenant_id, routine_id) WHERE status = 'running';
ALTER TABLE routine_runs ENABLE ROW LEVEL SECURITY;
ALTER TABLE routine_runs FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_wall ON routine_runs USING (tenant_id = ANY ((SELECT current_tenants())::uuid[]))
    WITH CHECK (tenant_id = ANY ((SELECT current_tenants())::uuid[]));
GRANT SELECT, INSERT, UPDATE ON routine_runs TO onecount_app;

-- The claim: as before (the same answer, each element with its run_id
-- added), and a routine whose lease lapsed with its owner still set (the
-- worker died mid-run: routine_finish clears the owner) is due at once.  Its
-- run still 'running' is marked 'interrupted'; the new run counts the
-- attempts since the last run that ended.  So is the run of a routine that
-- can no longer be claimed (turned off or its connection paused since).
CREATE OR REPLACE FUNCTION routines_claim(p_tenant uuid, p_owner text, p_limit int, p_lease_s int) RETURNS jsonb
    LANGUAGE plpgsql AS $$
DECLARE
    out jsonb;
BEGIN
    WITH c AS (
        SELECT r.tenant_id, r.id, r.next_run_at FROM routines r
          LEFT JOIN channel_connections cc ON cc.tenant_id = r.tenant_id AND cc.id = r.connection_id
         WHERE r.tenant_id = p_tenant AND r.enabled
           AND (r.next_run_at <= now() OR (r.lease_owner IS NOT NULL AND r.lease_until < now()))
           AND (r.lease_until IS NULL OR r.lease_until < now())
           AND (r.connection_id IS NULL OR cc.status = 'active')
         ORDER BY r.next_run_at LIMIT p_limit FOR UPDATE OF r SKIP LOCKED),
    u AS (
        UPDATE routines r SET lease_owner = p_owner, lease_until = now() + p_lease_s * interval '1 second',
               last_started_at = now(), next_run_at = now() + r.interval_seconds * interval '1 second'
          FROM c WHERE r.tenant_id = c.tenant_id AND r.id = c.id
        RETURNING r.id, r.connection_id, r.kind, r.interval_seconds, c.next_run_at AS due_at),
    -- A routine that cannot be claimed (turned off, its connection paused) whose worker died: its lease is
    -- cleared and its run closed too, here rather than never.
    -- (Locked as the claim locks: SKIP LOCKED, so two workers claiming the brand at once never wait on each
    -- other's rows, nor deadlock; one of them closes it.)
    orphan AS (
        UPDATE routines r SET lease_owner = NULL, lease_until = NULL
          FROM (SELECT o.tenant_id, o.id FROM routines o
                 WHERE o.tenant_id = p_tenant AND o.lease_owner IS NOT NULL AND o.lease_until < now()
                   AND NOT (o.enabled AND (o.connection_id IS NULL OR EXISTS (SELECT 1 FROM channel_connections cc
                            WHERE cc.tenant_id = o.tenant_id AND cc.id = o.connection_id AND cc.status = 'active')))
                 ORDER BY o.id FOR UPDATE OF o SKIP LOCKED) d
         WHERE r.tenant_id = d.tenant_id AND r.id = d.id
        RETURNING r.id),
    lost AS (
        UPDATE routine_runs x SET status = 'interrupted', finished_at = now(),
               detail = coalesce(x.detail, '{}'::jsonb) || jsonb_build_object('error',
                   format('worker %s stopped mid-run (its lease lapsed); the run was not finished', x.worker))
         WHERE x.tenant_id = p_tenant AND x.status = 'running'
           AND x.routine_id IN (SELECT id FROM u UNION ALL SELECT id FROM orphan)
        RETURNING x.routine_id, x.attempt),
    runs AS (
        INSERT INTO routine_runs (tenant_id, routine_id, connection_id, kind, due_at, worker, attempt)
        SELECT p_tenant, u.id, u.connection_id, u.kind, u.due_at, p_owner,
               coalesce((SELECT max(lost.attempt) + 1 FROM lost WHERE lost.routine_id = u.id), 1)
          FROM u
        RETURNING id AS run_id, routine_id)
    SELECT coalesce(jsonb_agg(jsonb_build_object('id', u.id, 'connection_id', u.connection_id, 'kind', u.kind,
                                                 'interval_seconds', u.interval_seconds, 'run_id', runs.run_id)), '[]')
      INTO out
      FROM u JOIN runs ON runs.routine_id = u.id;
    RETURN out;
END $$;

-- The end of a run: the routine's last_* and next run as before, and its
-- run closed ('error' is recorded as 'failed').  p_run names the run
-- (routines_claim's run_id); without it, the owner's running run of the
-- routine.  A run already marked 'interrupted' (another worker claimed the
-- routine after this one's lease lapsed) keeps that mark.
DROP FUNCTION routine_finish(uuid, uuid, text, text, jsonb, int);
CREATE FUNCTION routine_finish(p_tenant uuid, p_id uuid, p_owner text, p_status text, p_detail jsonb, p_retry_s int,
                               p_run uuid DEFAULT NULL) RETURNS void
    LANGUAGE plpgsql AS $$
BEGIN
    UPDATE routines SET last_finished_at = now(), last_status = p_status, last_detail = p_detail,
           lease_owner = NULL, lease_until = NULL,
           next_run_at = CASE WHEN p_retry_s IS NULL THEN next_run_at
                              ELSE least(next_run_at, now() + p_retry_s * interval '1 second') END
     WHERE tenant_id = p_tenant AND id = p_id AND lease_owner = p_owner;
    UPDATE routine_runs SET status = CASE WHEN p_status = 'ok' THEN 'ok' ELSE 'failed' END,
           detail = p_detail, finished_at = now()
     WHERE tenant_id = p_tenant AND routine_id = p_id AND worker = p_owner AND status = 'running'
       AND (p_run IS NULL OR id = p_run);
END $$;
GRANT EXECUTE ON FUNCTION routine_finish(uuid, uuid, text, text, jsonb, int, uuid) TO onecount_app;

-- Retention: routine_runs joins the logs retention_prune deletes from, by started_at.
CREATE OR REPLACE FUNCTION retention_prune(p_what text, p_keep_s bigint, p_limit int) RETURNS int
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
    SET enable_seqscan = off SET enable_bitmapscan = off SET enable_sort = off AS $$
DECLARE
    n int := 0;
    k int;
    t uuid;
    cutoff timestamptz := now() - p_keep_s * interval '1 second';
BEGIN
    IF p_keep_s IS NULL OR p_keep_s < 86400 OR p_limit IS NULL OR p_limit < 1 OR p_limit > 100000 THEN
        RAISE EXCEPTION 'retention_prune: a window of at least a day and 1..100000 rows' USING ERRCODE = '22023';
    END IF;
    IF p_what NOT IN ('push_log', 'channel_events', 'drift_events', 'idempotency_keys', 'routine_runs') THEN
        RAISE EXCEPTION 'retention_prune: nothing to prune in %', p_what USING ERRCODE = '22023';
    END IF;
    FOREACH t IN ARRAY (SELECT current_tenants())::uuid[] LOOP
        EXIT WHEN n >= p_limit;
        CASE p_what
        WHEN 'push_log' THEN
            DELETE FROM push_log WHERE ctid = ANY (ARRAY(SELECT ctid FROM push_log WHERE tenant_id = t
                AND sent_at < cutoff ORDER BY sent_at LIMIT p_limit - n));
        WHEN 'channel_events' THEN
            DELETE FROM channel_events WHERE ctid = ANY (ARRAY(SELECT ctid FROM channel_events WHERE tenant_id = t
                AND processed_at < cutoff ORDER BY processed_at LIMIT p_limit - n));
        WHEN 'drift_events' THEN
            DELETE FROM drift_events WHERE ctid = ANY (ARRAY(SELECT ctid FROM drift_events WHERE tenant_id = t
                AND detected_at < cutoff ORDER BY detected_at LIMIT p_limit - n));
        WHEN 'routine_runs' THEN
            DELETE FROM routine_runs WHERE ctid = ANY (ARRAY(SELECT ctid FROM routine_runs WHERE tenant_id = t
                AND started_at < cutoff ORDER BY started_at LIMIT p_limit - n));
        ELSE
            DELETE FROM idempotency_keys WHERE ctid = ANY (ARRAY(SELECT ctid FROM idempotency_keys WHERE tenant_id = t
                AND created_at < cutoff ORDER BY created_at LIMIT p_limit - n));
        END CASE;
        GET DIAGNOSTICS k = ROW_COUNT;
        n := n + k;
    END LOOP;
    RETURN n;
END $$;
