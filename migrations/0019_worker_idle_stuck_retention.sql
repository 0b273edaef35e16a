-- 0019_worker_idle_stuck_retention.sql — the worker sleeps when nothing is
-- due; a listing stuck behind opens an alert; old log rows are pruned.
--
-- push_claim told the worker how long to wait for the next hot listing as
-- greatest(1, <ms until the first one may go>); with no hot listing the
-- minimum is NULL, greatest() skips NULLs, and every claim answered
-- wait_ms = 1.  The worker came back a millisecond later, for every brand,
-- forever: ~1,500 claims a second on the idle demo (ops/bench/idle.sh).
--
-- Now wait_ms is the time until the earliest listing this claim left behind
-- becomes claimable — its backoff ends, another worker's lease runs out, or
-- a hot listing's spacing passes — and NULL when none waits (new work comes
-- with a notification).  Listings this worker holds are left out: their
-- results bring the worker back.  A listing claimable now but locked by
-- another transaction (SKIP LOCKED) is looked at again in a second.

CREATE OR REPLACE FUNCTION push_claim(p_tenant uuid, p_owner text, p_limit int, p_skip uuid[], p_lease_s int,
                                      p_spacing_ms int) RETURNS jsonb
    LANGUAGE plpgsql AS $$
DECLARE
    claimed jsonb;
    next_at timestamptz;
    wait_ms bigint;
    spacing interval := greatest(coalesce(p_spacing_ms, 0), 0) * interval '1 millisecond';
BEGIN
    WITH c AS (
        SELECT l.tenant_id, l.id FROM listings l
          JOIN channel_connections cc ON cc.tenant_id = l.tenant_id AND cc.id = l.connection_id
         WHERE l.tenant_id = p_tenant AND l.desired_version > l.pushed_version AND l.state = 'active'
           AND cc.status = 'active' AND (l.lease_until IS NULL OR l.lease_until < now())
           AND (l.next_attempt_at IS NULL OR l.next_attempt_at <= now())
           AND NOT (l.connection_id = ANY (coalesce(p_skip, '{}')))
           -- hot: pushed a moment ago and 3 or more changes behind since
           AND NOT (l.desired_version - l.pushed_version >= 3 AND coalesce(l.pushed_at > now() - spacing, false))
         -- a changed number before a re-push of the same number (a brand's full
         -- re-push must not delay its own sales)
         ORDER BY (l.pushed_qty IS DISTINCT FROM l.desired_qty) DESC, l.desired_at NULLS FIRST, l.id
         LIMIT p_limit FOR UPDATE OF l SKIP LOCKED),
    u AS (
        UPDATE listings l SET lease_owner = p_owner, lease_until = now() + p_lease_s * interval '1 second'
          FROM c WHERE l.tenant_id = c.tenant_id AND l.id = c.id
        RETURNING l.id, l.connection_id, l.sku_id, l.external_sku, l.item_ref, l.location_ref, l.desired_qty,
                  l.desired_version, l.pushed_qty, l.seen_qty, l.last_error, l.desired_at)
    SELECT coalesce(jsonb_agg(jsonb_build_object('listing_id', u.id, 'connection_id', u.connection_id,
        'sku_id', u.sku_id, 'sku', u.external_sku, 'item_ref', u.item_ref, 'location_ref', u.location_ref,
        'qty', u.desired_qty, 'version', u.desired_version,
        -- compare-and-set: what we believe the channel shows now
        'expect', CASE WHEN u.last_error = 'stale' THEN u.seen_qty ELSE u.pushed_qty END,
        'desired_at_us', (extract(epoch FROM u.desired_at) * 1000000)::bigint) ORDER BY u.connection_id), '[]')
      INTO claimed
      FROM u;
    -- When the first listing left behind may be claimed (the listings_dirty index).
    SELECT min(greatest(coalesce(l.next_attempt_at, '-infinity'),
                        CASE WHEN l.lease_until >= now() THEN l.lease_until ELSE '-infinity' END,
                        CASE WHEN l.desired_version - l.pushed_version >= 3 AND l.pushed_at > now() - spacing
                             THEN l.pushed_at + spacing ELSE '-infinity' END))
      INTO next_at
      FROM listings l
      JOIN channel_connections cc ON cc.tenant_id = l.tenant_id AND cc.id = l.connection_id
     WHERE l.tenant_id = p_tenant AND l.desired_version > l.pushed_version AND l.state = 'active'
       AND cc.status = 'active' AND NOT (l.connection_id = ANY (coalesce(p_skip, '{}')))
       AND NOT (l.lease_owner IS NOT DISTINCT FROM p_owner AND l.lease_until >= now());
    IF next_at IS NOT NULL THEN
        wait_ms := CASE WHEN next_at > now() THEN greatest(1, ceil(extract(epoch FROM next_at - now()) * 1000))
                        ELSE 1000 END;
    END IF;
    RETURN jsonb_build_object('rows', claimed, 'wait_ms', wait_ms);
END $$;

-- ---------------------------------------------------------------------------
-- Stuck listings are not silent.
--
-- listings.behind_since: since when the listing has been behind without a
-- push getting through — set when it falls behind, moved to now when a push
-- gets through and it is still behind (a SKU selling faster than its pushes
-- complete is making progress, not stuck), cleared when it catches up.
-- desired_at could not say it: every sale moves it, so a listing failing for
-- an hour on a selling SKU looked a few seconds old.  The trigger fires only
-- on those transitions (its WHEN is checked without calling it), not on the
-- sales that find a listing already behind.
-- ---------------------------------------------------------------------------
ALTER TABLE listings ADD COLUMN behind_since timestamptz;
UPDATE listings SET behind_since = now() WHERE desired_version > pushed_version;

CREATE FUNCTION listing_behind_since() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    NEW.behind_since := CASE WHEN NEW.desired_version <= NEW.pushed_version THEN NULL ELSE now() END;
    RETURN NEW;
END $$;
CREATE TRIGGER listing_behind_since_new BEFORE INSERT ON listings FOR EACH ROW
    WHEN (NEW.desired_version > NEW.pushed_version) EXECUTE FUNCTION listing_behind_since();
CREATE TRIGGER listing_behind_since BEFORE UPDATE OF desired_version, pushed_version ON listings FOR EACH ROW
    WHEN ((OLD.desired_version > OLD.pushed_version) IS DISTINCT FROM (NEW.desired_version > NEW.pushed_version)
          OR NEW.pushed_version > OLD.pushed_version)
    EXECUTE FUNCTION listing_behind_since();

-- "5 minutes", "3 seconds", "2 hours", "1 day".
CREATE FUNCTION duration_words(p_s bigint) RETURNS text
    LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN p_s < 120 THEN p_s || CASE WHEN p_s = 1 THEN ' second' ELSE ' seconds' END
                WHEN p_s < 7200 THEN (p_s / 60) || ' minutes'
                WHEN p_s < 172800 THEN (p_s / 3600) || ' hours'
                ELSE (p_s / 86400) || ' days' END
$$;

-- For the brands of the transaction (current_tenants()): one alert
-- 'listings_stuck' per connection while any of its active listings has been
-- behind for more than p_after_s (paused connections and listings are left
-- alone: waiting is what they were told to do), naming how many, the three
-- that have waited longest with what went wrong in words, and the
-- connection; its message follows the count; it is resolved once none is
-- left.  One per connection, not one per listing: a channel that is down
-- makes every listing of the connection stuck at once, and one alert with
-- the count and the worst cases says it without burying the others.
-- Returns {"stuck": listings, "opened": alerts, "closed": alerts}.
CREATE FUNCTION stuck_alerts_refresh(p_after_s int) RETURNS jsonb
    LANGUAGE plpgsql AS $$
DECLARE
    n_stuck bigint;
    n_opened bigint;
    n_closed bigint;
BEGIN
    WITH s AS (
        SELECT l.tenant_id, l.connection_id, c.name, k.code, l.behind_since,
               CASE WHEN l.last_error = 'stale' THEN 'the channel''s number kept changing under the push'
                    WHEN l.last_error IS NOT NULL THEN 'last error: ' || l.last_error
                    WHEN c.status = 'error' THEN 'the connection is in error' || coalesce(': ' || c.status_detail, '')
                    ELSE 'no push has got through' END AS why
          FROM listings l
          JOIN channel_connections c ON c.tenant_id = l.tenant_id AND c.id = l.connection_id
          JOIN skus k ON k.tenant_id = l.tenant_id AND k.id = l.sku_id
         WHERE l.tenant_id = ANY ((SELECT current_tenants())::uuid[]) AND l.desired_version > l.pushed_version
           AND l.state = 'active' AND c.status <> 'paused'
           AND l.behind_since < now() - p_after_s * interval '1 second'),
    g AS (
        SELECT tenant_id, connection_id, min(name) AS name, count(*) AS n,
               (array_agg(code || ' (' || why || ')' ORDER BY behind_since, code))[1:3] AS worst
          FROM s GROUP BY tenant_id, connection_id),
    up AS (
        INSERT INTO alerts AS a (tenant_id, connection_id, kind, message)
        SELECT tenant_id, connection_id, 'listings_stuck',
               left(n || CASE WHEN n = 1 THEN ' listing has' ELSE ' listings have' END || ' not reached ' || name
                    || ' for more than ' || duration_words(p_after_s) || ': ' || array_to_string(worst, '; ')
                    || CASE WHEN n > 3 THEN '; and ' || (n - 3) || ' more' ELSE '' END, 500)
          FROM g
        ON CONFLICT (tenant_id, coalesce(connection_id, '00000000-0000-0000-0000-000000000000'::uuid), kind)
           WHERE resolved_at IS NULL
        DO UPDATE SET message = excluded.message WHERE a.message IS DISTINCT FROM excluded.message
        RETURNING (a.xmax = 0) AS fresh),
    cl AS (
        UPDATE alerts a SET resolved_at = now()
         WHERE a.tenant_id = ANY ((SELECT current_tenants())::uuid[]) AND a.kind = 'listings_stuck'
           AND a.resolved_at IS NULL
           AND NOT EXISTS (SELECT 1 FROM g WHERE g.tenant_id = a.tenant_id AND g.connection_id = a.connection_id)
        RETURNING 1)
    SELECT (SELECT coalesce(sum(n), 0) FROM g), (SELECT count(*) FILTER (WHERE fresh) FROM up), (SELECT count(*) FROM cl)
      INTO n_stuck, n_opened, n_closed;
    RETURN jsonb_build_object('stuck', n_stuck, 'opened', n_opened, 'closed', n_closed);
END $$;
GRANT EXECUTE ON FUNCTION duration_words(bigint), stuck_alerts_refresh(int) TO onecount_app;

-- ---------------------------------------------------------------------------
-- Jobs that span every brand and must run once across all workers: the
-- stuck-listing check and the pruning of old log rows.  A worker claims a
-- job when it is due (or its own interval has passed since the last start),
-- under a lease it renews while it runs; the next run is scheduled when a
-- run starts.
-- ---------------------------------------------------------------------------
CREATE TABLE worker_jobs (
    kind text PRIMARY KEY CHECK (kind IN ('prune', 'stuck_alerts')),
    next_run_at timestamptz NOT NULL DEFAULT now(),
    lease_owner text,
    lease_until timestamptz,
    last_started_at timestamptz,
    last_finished_at timestamptz,
    last_status text,
    last_detail jsonb
);
INSERT INTO worker_jobs (kind) VALUES ('prune'), ('stuck_alerts');
GRANT SELECT ON worker_jobs TO onecount_app;

-- {"claimed": true} or {"claimed": false, "wait_ms": until it may be due}.
CREATE FUNCTION worker_job_claim(p_kind text, p_owner text, p_lease_s int, p_interval_s int) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    j worker_jobs%ROWTYPE;
BEGIN
    UPDATE worker_jobs SET lease_owner = p_owner, lease_until = now() + p_lease_s * interval '1 second',
           last_started_at = now(), next_run_at = now() + p_interval_s * interval '1 second'
     WHERE kind = p_kind AND (lease_until IS NULL OR lease_until < now())
       AND (next_run_at <= now() OR last_started_at <= now() - p_interval_s * interval '1 second');
    IF FOUND THEN
        RETURN jsonb_build_object('claimed', true);
    END IF;
    SELECT * INTO j FROM worker_jobs WHERE kind = p_kind;
    RETURN jsonb_build_object('claimed', false, 'wait_ms', greatest(1000, ceil(extract(epoch FROM
        greatest(least(j.next_run_at, coalesce(j.last_started_at, j.next_run_at) + p_interval_s * interval '1 second'),
                 coalesce(j.lease_until, '-infinity')) - now()) * 1000))::bigint);
END $$;

CREATE FUNCTION worker_job_finish(p_kind text, p_owner text, p_status text, p_detail jsonb) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    UPDATE worker_jobs SET lease_owner = NULL, lease_until = NULL, last_finished_at = now(), last_status = p_status,
           last_detail = p_detail
     WHERE kind = p_kind AND lease_owner = p_owner;
END $$;

CREATE FUNCTION worker_jobs_renew(p_owner text, p_lease_s int) RETURNS int
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    n int;
BEGIN
    UPDATE worker_jobs SET lease_until = now() + p_lease_s * interval '1 second'
     WHERE lease_owner = p_owner AND lease_until > now();
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END $$;
REVOKE ALL ON FUNCTION worker_job_claim(text, text, int, int), worker_job_finish(text, text, text, jsonb),
    worker_jobs_renew(text, int) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION worker_job_claim(text, text, int, int), worker_job_finish(text, text, text, jsonb),
    worker_jobs_renew(text, int) TO onecount_app;

-- ---------------------------------------------------------------------------
-- Retention.  push_log, channel_events (processed ones, by when), drift_events and
-- idempotency keys grew forever.  The prune job deletes rows older than
-- their window (configuration: ONECOUNT_RETENTION_*) for the brands of the
-- transaction, at most p_limit rows per call, through an index on the row's
-- time: each call is one short statement locking only the rows it deletes.
-- The application role may not delete from these logs itself; this
-- function (its owner's rights, the tenant wall still applying) is the one
-- way.  Windows under a day are refused; an idempotency key is kept at least
-- the 24 hours it is honoured.  movements and audit_log, the ledger and the
-- record of who did what, are never pruned.
-- The indexes are built under a write lock on each table: on a large
-- push_log, apply this migration at a quiet moment.
-- ---------------------------------------------------------------------------
CREATE INDEX push_log_time ON push_log (tenant_id, sent_at);
CREATE INDEX channel_events_time ON channel_events (tenant_id, processed_at) WHERE processed_at IS NOT NULL;
CREATE INDEX drift_events_time ON drift_events (tenant_id, detected_at);
CREATE INDEX idempotency_keys_time ON idempotency_keys (tenant_id, created_at);

CREATE FUNCTION retention_prune(p_what text, p_keep_s bigint, p_limit int) RETURNS int
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
    -- Walk the time index in order and stop at p_limit rows: never collect and sort every row that is due
    -- (what a bitmap scan would do on a large backlog, in every batch).
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
    IF p_what NOT IN ('push_log', 'channel_events', 'drift_events', 'idempotency_keys') THEN
        RAISE EXCEPTION 'retention_prune: nothing to prune in %', p_what USING ERRCODE = '22023';
    END IF;
    -- Brand by brand, oldest first along the (tenant_id, time) index, so the scan stops at the rows it
    -- deletes however many are due; the rows go by their physical address (a TID scan).
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
        ELSE
            DELETE FROM idempotency_keys WHERE ctid = ANY (ARRAY(SELECT ctid FROM idempotency_keys WHERE tenant_id = t
                AND created_at < cutoff ORDER BY created_at LIMIT p_limit - n));
        END CASE;
        GET DIAGNOSTICS k = ROW_COUNT;
        n := n + k;
    END LOOP;
    RETURN n;
END $$;
REVOKE ALL ON FUNCTION retention_prune(text, bigint, int) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION retention_prune(text, bigint, int) TO onecount_app;
