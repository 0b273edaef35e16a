-- 0016_holds_mirror_brands.sql — one mirror statement for many brands.
-- The server mirrored each brand's holds with its own step (set the tenant,
-- call holds_mirror): with holds spread over 100 brands a flush of 10 ms was
-- 50 steps of one or two holds each, and the steps' fixed cost was most of
-- PostgreSQL's work.  holds_mirror_brands() takes holds of several brands at
-- once (each naming its "tenant"; app.tenant_id lists them all, so row-level
-- security still checks every row), inserts them with one statement and
-- adds their units with another, in (tenant_id, sku_id) order.  The expiry
-- sweep gives units back the same way, in one statement for all its brands.

CREATE FUNCTION stock_add_held_brands(p_tenants uuid[], p_skus bigint[], p_qtys bigint[]) RETURNS void
    LANGUAGE plpgsql
    SET enable_hashjoin = off SET enable_mergejoin = off AS $$
BEGIN
    IF cardinality(p_skus) = 0 THEN
        RETURN;
    END IF;
    UPDATE stock s SET held = s.held + a.qty, version = s.version + 1, updated_at = now()
      FROM (SELECT tenant_id, sku_id, sum(qty) AS qty FROM unnest(p_tenants, p_skus, p_qtys) AS u(tenant_id, sku_id, qty)
             GROUP BY tenant_id, sku_id ORDER BY tenant_id, sku_id) a
     WHERE s.tenant_id = a.tenant_id AND s.sku_id = a.sku_id;
END $$;

CREATE OR REPLACE FUNCTION stock_add_held(p_tenant uuid, p_skus bigint[], p_qtys bigint[]) RETURNS void
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM stock_add_held_brands(array_fill(p_tenant, ARRAY[cardinality(p_skus)]), p_skus, p_qtys);
END $$;

CREATE FUNCTION holds_mirror_brands(p_holds jsonb) RETURNS int
    LANGUAGE plpgsql AS $$
DECLARE
    n int;
    tenants uuid[];
    skus bigint[];
    qtys bigint[];
BEGIN
    WITH ins AS (
        INSERT INTO holds (tenant_id, id, lines, request, reference, state, source, created_at, expires_at)
        SELECT (h->>'tenant')::uuid, (h->>'id')::uuid, h->'lines', h->'request', h->>'reference', 'active', 'redis',
               to_timestamp((h->>'created_ms')::bigint / 1000.0), to_timestamp((h->>'expires_ms')::bigint / 1000.0)
          FROM jsonb_array_elements(p_holds) AS h
        ON CONFLICT (tenant_id, id) DO NOTHING
        RETURNING tenant_id, lines
    ), counted AS (
        SELECT count(*) AS inserted FROM ins
    )
    SELECT (SELECT inserted FROM counted), array_agg(ins.tenant_id), array_agg((e->>'sku_id')::bigint),
           array_agg((e->>'qty')::bigint)
      INTO n, tenants, skus, qtys
      FROM ins, jsonb_array_elements(ins.lines) AS e;
    PERFORM stock_add_held_brands(coalesce(tenants, '{}'), coalesce(skus, '{}'), coalesce(qtys, '{}'));
    RETURN n;
END $$;

-- One brand's holds: the same, for hold_end() and hold_confirm().
CREATE OR REPLACE FUNCTION holds_mirror(p_tenant uuid, p_holds jsonb) RETURNS int
    LANGUAGE plpgsql AS $$
BEGIN
    RETURN holds_mirror_brands(coalesce((SELECT jsonb_agg(h || jsonb_build_object('tenant', p_tenant))
                                           FROM jsonb_array_elements(p_holds) AS h), '[]'));
END $$;

CREATE OR REPLACE FUNCTION holds_expire() RETURNS jsonb
    LANGUAGE plpgsql AS $$
DECLARE
    ended jsonb;
    tenants uuid[];
    skus bigint[];
    qtys bigint[];
BEGIN
    WITH due AS (
        SELECT tenant_id, id FROM holds WHERE state = 'active' AND expires_at <= now()
         ORDER BY tenant_id, id LIMIT 1000 FOR UPDATE SKIP LOCKED
    ), done AS (
        UPDATE holds h SET state = 'expired', ended_at = now()
          FROM due WHERE h.tenant_id = due.tenant_id AND h.id = due.id
        RETURNING h.tenant_id, h.id, h.lines
    )
    SELECT coalesce(jsonb_agg(jsonb_build_object('tenant', tenant_id, 'id', id, 'lines', lines)), '[]')
      INTO ended FROM done;
    SELECT array_agg((e->>'tenant')::uuid), array_agg((l->>'sku_id')::bigint), array_agg(-(l->>'qty')::bigint)
      INTO tenants, skus, qtys
      FROM jsonb_array_elements(ended) AS e, jsonb_array_elements(e->'lines') AS l;
    PERFORM stock_add_held_brands(coalesce(tenants, '{}'), coalesce(skus, '{}'), coalesce(qtys, '{}'));
    RETURN (SELECT coalesce(jsonb_agg(jsonb_build_object('tenant', e->'tenant', 'id', e->'id')), '[]')
              FROM jsonb_array_elements(ended) AS e);
END $$;

GRANT EXECUTE ON FUNCTION stock_add_held_brands(uuid[], bigint[], bigint[]), holds_mirror_brands(jsonb) TO onecount_app;
