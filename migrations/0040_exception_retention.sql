-- 0040_exception_retention.sql — items that closed long ago are pruned with their history.
--
-- The queue shows resolved items of the last 30 days; a closed item (its condition cleared, or resolved by hand
-- and its condition gone) older than retention_exceptions_days (90 by default, at least 30) is deleted with its
-- exception_events by the worker's prune job, as the other logs are.  A live item resolved by hand (its
-- condition still true) is kept: it is what stops the same condition opening again.  retention_prune runs as
-- the tables' owner (SECURITY DEFINER), so the application role still cannot delete an item.

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
    IF p_what NOT IN ('push_log', 'channel_events', 'drift_events', 'idempotency_keys', 'routine_runs', 'exceptions') THEN
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
        WHEN 'exceptions' THEN
            WITH old AS (SELECT x.id FROM exceptions x WHERE x.tenant_id = t AND x.state = 'resolved' AND NOT x.live
                            AND x.resolved_at < cutoff ORDER BY x.resolved_at LIMIT p_limit - n),
            ev AS (DELETE FROM exception_events e USING old WHERE e.tenant_id = t AND e.exception_id = old.id)
            DELETE FROM exceptions x USING old WHERE x.tenant_id = t AND x.id = old.id;
        ELSE
            DELETE FROM idempotency_keys WHERE ctid = ANY (ARRAY(SELECT ctid FROM idempotency_keys WHERE tenant_id = t
                AND created_at < cutoff ORDER BY created_at LIMIT p_limit - n));
        END CASE;
        GET DIAGNOSTICS k = ROW_COUNT;
        n := n + k;
    END LOOP;
    RETURN n;
END $$;

