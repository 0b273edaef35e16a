-- 0009_publish_plans.sql — the published-quantity path, made cheap enough to
-- run on every sale.  Profiling the sync benchmark (pg_stat_statements) showed
-- PostgreSQL spending most of a sale's time here:
--   * listing_publish() and sku_available() were SQL-language functions with
--     FROM clauses: not inlinable, so PostgreSQL planned their bodies again on
--     every call.  As plpgsql they keep their plans for the session.
--   * listings_refresh() referred to its `calc` CTE three times in the
--     UPDATE, and PostgreSQL inlined the CTE, computing every listing's
--     published quantity three times.  It is MATERIALIZED now.
-- Results are the same; only the cost changes.

CREATE OR REPLACE FUNCTION sku_available(p_tenant uuid, p_sku bigint) RETURNS bigint
    LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (SELECT CASE WHEN s.kind = 'simple' THEN
                       (SELECT st.on_hand - st.committed - st.held FROM stock st
                         WHERE st.tenant_id = p_tenant AND st.sku_id = p_sku)
                   ELSE (SELECT coalesce(min(floor((st.on_hand - st.committed - st.held)::numeric / bc.qty)), 0)::bigint
                           FROM bundle_components bc JOIN stock st ON st.tenant_id = bc.tenant_id AND st.sku_id = bc.component_id
                          WHERE bc.tenant_id = p_tenant AND bc.bundle_id = p_sku)
                   END
              FROM skus s WHERE s.tenant_id = p_tenant AND s.id = p_sku);
END $$;

CREATE OR REPLACE FUNCTION listing_publish(p_tenant uuid, p_listing uuid) RETURNS jsonb
    LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (SELECT publish_qty(
                sku_available(l.tenant_id, l.sku_id),
                c.rules || l.rules,
                r.last_units_threshold,
                r.last_units_connection = l.connection_id,
                CASE WHEN (c.rules || l.rules)->>'buffer' = 'auto' THEN auto_buffer(l.tenant_id, l.sku_id, l.connection_id) END)
              FROM listings l JOIN channel_connections c ON c.tenant_id = l.tenant_id AND c.id = l.connection_id
              LEFT JOIN brand_rules r ON r.tenant_id = l.tenant_id
             WHERE l.tenant_id = p_tenant AND l.id = p_listing);
END $$;

CREATE OR REPLACE FUNCTION listings_refresh(p_tenant uuid, p_skus bigint[]) RETURNS int
    LANGUAGE plpgsql AS $$
DECLARE
    n int;
BEGIN
    -- Listings are always locked in id order (here, in push_record and in
    -- read_back_record), so concurrent sales and push results cannot deadlock.
    WITH affected AS (
        SELECT l.id FROM listings l WHERE l.tenant_id = p_tenant AND l.id IN (
            SELECT l.id FROM listings l WHERE l.tenant_id = p_tenant AND l.sku_id = ANY (p_skus)
            UNION
            SELECT l.id FROM listings l JOIN bundle_components bc ON bc.tenant_id = l.tenant_id AND bc.bundle_id = l.sku_id
             WHERE l.tenant_id = p_tenant AND bc.component_id = ANY (p_skus))
        ORDER BY l.id FOR UPDATE OF l),
    calc AS MATERIALIZED (SELECT a.id, listing_publish(p_tenant, a.id) AS p FROM affected a)
    UPDATE listings l SET desired_qty = (calc.p->>'qty')::bigint, desired_reason = calc.p,
                          desired_version = l.desired_version + 1, desired_at = now()
      FROM calc
     WHERE l.tenant_id = p_tenant AND l.id = calc.id
       AND l.desired_qty IS DISTINCT FROM (calc.p->>'qty')::bigint;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n > 0 THEN
        PERFORM pg_notify('oc_dirty', p_tenant::text);
    END IF;
    RETURN n;
END $$;
