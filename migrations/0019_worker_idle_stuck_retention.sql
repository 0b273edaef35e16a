-- 0019_worker_idle_stuck_retention.sql — the worker sleeps when nothing is due.
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
