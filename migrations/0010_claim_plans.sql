-- 0010_claim_plans.sql — the worker's per-batch functions keep their plans.
-- push_claim, routines_claim, routine_finish, alert_open and alert_resolve
-- were SQL-language functions: PostgreSQL planned their bodies on every call
-- (push_claim alone cost 0.75 ms a call at 500 sales/s, most of it planning).
-- As plpgsql they are planned once per session.  Same statements, same
-- results.

CREATE OR REPLACE FUNCTION push_claim(p_tenant uuid, p_owner text, p_limit int, p_skip uuid[], p_lease_s int)
    RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    out jsonb;
BEGIN
    WITH c AS (
        SELECT l.tenant_id, l.id FROM listings l
          JOIN channel_connections cc ON cc.tenant_id = l.tenant_id AND cc.id = l.connection_id
         WHERE l.tenant_id = p_tenant AND l.desired_version > l.pushed_version AND l.state = 'active'
           AND cc.status = 'active' AND (l.lease_until IS NULL OR l.lease_until < now())
           AND (l.next_attempt_at IS NULL OR l.next_attempt_at <= now())
           AND NOT (l.connection_id = ANY (coalesce(p_skip, '{}')))
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
      INTO out
      FROM u;
    RETURN out;
END $$;

CREATE OR REPLACE FUNCTION routines_claim(p_tenant uuid, p_owner text, p_limit int, p_lease_s int) RETURNS jsonb
    LANGUAGE plpgsql AS $$
DECLARE
    out jsonb;
BEGIN
    WITH c AS (
        SELECT r.tenant_id, r.id FROM routines r
          LEFT JOIN channel_connections cc ON cc.tenant_id = r.tenant_id AND cc.id = r.connection_id
         WHERE r.tenant_id = p_tenant AND r.enabled AND r.next_run_at <= now()
           AND (r.lease_until IS NULL OR r.lease_until < now())
           AND (r.connection_id IS NULL OR cc.status = 'active')
         ORDER BY r.next_run_at LIMIT p_limit FOR UPDATE OF r SKIP LOCKED),
    u AS (
        UPDATE routines r SET lease_owner = p_owner, lease_until = now() + p_lease_s * interval '1 second',
               last_started_at = now(), next_run_at = now() + r.interval_seconds * interval '1 second'
          FROM c WHERE r.tenant_id = c.tenant_id AND r.id = c.id
        RETURNING r.id, r.connection_id, r.kind, r.interval_seconds)
    SELECT coalesce(jsonb_agg(jsonb_build_object('id', id, 'connection_id', connection_id, 'kind', kind,
                                                 'interval_seconds', interval_seconds)), '[]')
      INTO out
      FROM u;
    RETURN out;
END $$;

CREATE OR REPLACE FUNCTION routine_finish(p_tenant uuid, p_id uuid, p_owner text, p_status text, p_detail jsonb,
                                          p_retry_s int) RETURNS void
    LANGUAGE plpgsql AS $$
BEGIN
    UPDATE routines SET last_finished_at = now(), last_status = p_status, last_detail = p_detail,
           lease_owner = NULL, lease_until = NULL,
           next_run_at = CASE WHEN p_retry_s IS NULL THEN next_run_at
                              ELSE least(next_run_at, now() + p_retry_s * interval '1 second') END
     WHERE tenant_id = p_tenant AND id = p_id AND lease_owner = p_owner;
END $$;

CREATE OR REPLACE FUNCTION alert_open(p_tenant uuid, p_connection uuid, p_kind text, p_message text) RETURNS void
    LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO alerts (tenant_id, connection_id, kind, message) VALUES (p_tenant, p_connection, p_kind, left(p_message, 500))
    ON CONFLICT DO NOTHING;
END $$;

CREATE OR REPLACE FUNCTION alert_resolve(p_tenant uuid, p_connection uuid, p_kind text) RETURNS void
    LANGUAGE plpgsql AS $$
BEGIN
    UPDATE alerts SET resolved_at = now()
     WHERE tenant_id = p_tenant AND connection_id IS NOT DISTINCT FROM p_connection AND kind = p_kind
       AND resolved_at IS NULL;
END $$;
