-- 0013_set_based_stock.sql — stock changes in sets, not row by row.
--
-- * The stock trigger fires once per statement, not once per row: it reads
--   the statement's updated rows (a transition table) and refreshes their
--   SKUs' listings, one call per brand that has listings.  0004's row trigger ran
--   listings_refresh() — a planned query — for every row, so a batch of
--   2,000 mirrored holds cost 2,000 refreshes.
-- * stock_add_held_brands() adds held units (or gives them back) for SKUs
--   of one or more brands with one UPDATE: a nested loop over the sorted
--   (brand, SKU, units) list (hash and merge joins are off inside it) locks
--   and updates the rows in (tenant_id, sku_id) order, the order every
--   other path uses, and writes each row once.
-- * holds_mirror_brands() mirrors holds of several brands in one statement
--   (each hold names its "tenant"; app.tenant_id lists them all, so the
--   tenant wall still checks every row).  The server sent one step per
--   brand before: with holds spread over 100 brands, the steps' fixed cost
--   was most of PostgreSQL's work.  holds_mirror() keeps its signature for
--   hold_end() and hold_confirm().  A hold they ended before its mirror
--   arrived gets the mirror's reference and times (they wrote a stand-in).
-- * holds_expire() ends overdue holds in one statement (skipping hold rows
--   another transaction has locked) and gives their units back in one
--   UPDATE.  0003's version ended them hold by hold, locking stock in
--   hold-id order, and deadlocked against the mirror.

DROP TRIGGER stock_changed ON stock;

CREATE OR REPLACE FUNCTION stock_changed() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
    t record;
BEGIN
    -- Every updated row, whether or not its availability moved: refreshing an
    -- unchanged SKU changes nothing, and skipping the join of old and new rows
    -- is cheaper than the refreshes it would save.
    -- A brand without listings (no channel yet) has nothing to refresh: one
    -- index probe instead of a call that finds nothing.  A listing inserted
    -- meanwhile locked these stock rows first (FOR SHARE), so this UPDATE
    -- waited for it and this query, on a new snapshot, sees it.
    FOR t IN SELECT c.tenant_id, array_agg(c.sku_id ORDER BY c.sku_id) AS skus
               FROM changed c
              WHERE EXISTS (SELECT 1 FROM listings l WHERE l.tenant_id = c.tenant_id)
              GROUP BY c.tenant_id ORDER BY c.tenant_id LOOP
        PERFORM listings_refresh(t.tenant_id, t.skus);
    END LOOP;
    RETURN NULL;
END $$;

CREATE TRIGGER stock_changed AFTER UPDATE ON stock
    REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION stock_changed();

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
        -- A hold ended before its mirror arrived was recorded by hold_end()
        -- from what the ending request knew (no reference, its own times):
        -- the mirror completes that row.  Its units came and went with it.
        ON CONFLICT (tenant_id, id) DO UPDATE
           SET request = excluded.request, reference = excluded.reference,
               created_at = excluded.created_at, expires_at = excluded.expires_at
         WHERE holds.state <> 'active'
        RETURNING tenant_id, lines, xmax = 0 AS fresh
    ), counted AS (
        SELECT count(*) FILTER (WHERE fresh) AS inserted FROM ins
    )
    SELECT (SELECT inserted FROM counted), array_agg(ins.tenant_id), array_agg((e->>'sku_id')::bigint),
           array_agg((e->>'qty')::bigint)
      INTO n, tenants, skus, qtys
      FROM ins, jsonb_array_elements(ins.lines) AS e
     WHERE ins.fresh;
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
