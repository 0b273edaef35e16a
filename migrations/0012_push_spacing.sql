-- 0012_push_spacing.sql — a listing selling fast is pushed at a steady pace.
--
-- Level triggering already coalesces: while a push is in flight, later sales
-- only raise the listing's desired version.  But each push takes a round
-- trip of tens of milliseconds, so a SKU selling hundreds of times a second
-- was still pushed every round trip (16–26 pushes per channel for 1,000
-- sales in 1.4 s, ops/bench/sync.sh).  Now a listing that was pushed less
-- than p_spacing_ms ago AND has fallen 3 or more changes behind since (it is
-- hot) waits until the spacing has passed; a listing with one or two changes
-- is pushed at once, so an ordinary sale is never delayed.  The claim says
-- how long the worker should wait for the next hot listing: {"rows": [...],
-- "wait_ms": n or null}.

DROP FUNCTION push_claim(uuid, text, int, uuid[], int);

CREATE FUNCTION push_claim(p_tenant uuid, p_owner text, p_limit int, p_skip uuid[], p_lease_s int,
                           p_spacing_ms int) RETURNS jsonb
    LANGUAGE plpgsql AS $$
DECLARE
    claimed jsonb;
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
    IF spacing > interval '0' THEN
        SELECT greatest(1, ceil(extract(epoch FROM min(l.pushed_at) + spacing - now()) * 1000))::bigint INTO wait_ms
          FROM listings l
         WHERE l.tenant_id = p_tenant AND l.desired_version - l.pushed_version >= 3 AND l.state = 'active'
           AND l.pushed_at > now() - spacing AND (l.lease_until IS NULL OR l.lease_until < now());
    END IF;
    RETURN jsonb_build_object('rows', claimed, 'wait_ms', wait_ms);
END $$;

GRANT EXECUTE ON FUNCTION push_claim(uuid, text, int, uuid[], int, int) TO onecount_app;
