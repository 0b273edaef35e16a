-- 0013_set_based_stock.sql — stock changes in sets, not row by row.
--
-- * The stock trigger fires once per statement, not once per row: it reads
--   the statement's updated rows (a transition table) and refreshes their
--   SKUs' listings, one call per brand.
--   0004's row trigger ran listings_refresh() — a planned query — for every
--   row, which made a batch of 2,000 mirrored holds cost 2,000 refreshes.
-- * holds_mirror() locks the batch's stock rows in sku_id order with one
--   statement and adds the held units with a second, instead of one UPDATE
--   per SKU.
-- * holds_expire() ends overdue holds in one statement (skipping hold rows
--   another transaction has locked) and gives their units back brand by
--   brand in sku_id order.  0003's version ended them hold by hold, locking
--   stock in hold-id order, and deadlocked against the mirror, which locks
--   in sku_id order.

DROP TRIGGER stock_changed ON stock;

CREATE OR REPLACE FUNCTION stock_changed() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
    t record;
BEGIN
    -- Every updated row, whether or not its availability moved: refreshing an
    -- unchanged SKU changes nothing, and skipping the join of old and new rows
    -- is cheaper than the refreshes it would save.
    FOR t IN SELECT tenant_id, array_agg(sku_id ORDER BY sku_id) AS skus
               FROM changed GROUP BY tenant_id ORDER BY tenant_id LOOP
        PERFORM listings_refresh(t.tenant_id, t.skus);
    END LOOP;
    RETURN NULL;
END $$;

CREATE TRIGGER stock_changed AFTER UPDATE ON stock
    REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION stock_changed();

-- Adds units to (p_delta > 0) or takes them from held, for one brand's SKUs,
-- locking the stock rows in sku_id order first.  p_skus may repeat a SKU.
CREATE FUNCTION stock_add_held(p_tenant uuid, p_skus bigint[], p_qtys bigint[]) RETURNS void
    LANGUAGE plpgsql AS $$
BEGIN
    IF cardinality(p_skus) = 0 THEN
        RETURN;
    END IF;
    PERFORM 1 FROM stock WHERE tenant_id = p_tenant AND sku_id = ANY (p_skus) ORDER BY sku_id FOR NO KEY UPDATE;
    UPDATE stock s SET held = s.held + a.qty, version = s.version + 1, updated_at = now()
      FROM (SELECT sku_id, sum(qty) AS qty FROM unnest(p_skus, p_qtys) AS u(sku_id, qty) GROUP BY sku_id) a
     WHERE s.tenant_id = p_tenant AND s.sku_id = a.sku_id;
END $$;

CREATE OR REPLACE FUNCTION holds_mirror(p_tenant uuid, p_holds jsonb) RETURNS int
    LANGUAGE plpgsql AS $$
DECLARE
    n int;
    skus bigint[];
    qtys bigint[];
BEGIN
    WITH ins AS (
        INSERT INTO holds (tenant_id, id, lines, request, reference, state, source, created_at, expires_at)
        SELECT p_tenant, (h->>'id')::uuid, h->'lines', h->'request', h->>'reference', 'active', 'redis',
               to_timestamp((h->>'created_ms')::bigint / 1000.0), to_timestamp((h->>'expires_ms')::bigint / 1000.0)
          FROM jsonb_array_elements(p_holds) AS h
        ON CONFLICT (tenant_id, id) DO NOTHING
        RETURNING lines
    ), counted AS (
        SELECT count(*) AS inserted FROM ins
    )
    SELECT (SELECT inserted FROM counted), array_agg((e->>'sku_id')::bigint), array_agg((e->>'qty')::bigint)
      INTO n, skus, qtys
      FROM ins, jsonb_array_elements(ins.lines) AS e;
    PERFORM stock_add_held(p_tenant, coalesce(skus, '{}'), coalesce(qtys, '{}'));
    RETURN n;
END $$;

CREATE OR REPLACE FUNCTION holds_expire() RETURNS jsonb
    LANGUAGE plpgsql AS $$
DECLARE
    ended jsonb;
    t record;
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
    FOR t IN SELECT (e->>'tenant')::uuid AS tenant_id, array_agg((l->>'sku_id')::bigint) AS skus,
                    array_agg(-(l->>'qty')::bigint) AS qtys
               FROM jsonb_array_elements(ended) AS e, jsonb_array_elements(e->'lines') AS l
              GROUP BY 1 ORDER BY 1 LOOP
        PERFORM stock_add_held(t.tenant_id, t.skus, t.qtys);
    END LOOP;
    RETURN (SELECT coalesce(jsonb_agg(jsonb_build_object('tenant', e->'tenant', 'id', e->'id')), '[]')
              FROM jsonb_array_elements(ended) AS e);
END $$;

GRANT EXECUTE ON FUNCTION stock_add_held(uuid, bigint[], bigint[]) TO onecount_app;
