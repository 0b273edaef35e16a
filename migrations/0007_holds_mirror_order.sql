-- 0007_holds_mirror_order.sql — the hold mirror locks stock rows in one
-- order.  0003's holds_mirror() updated stock hold by hold, so two server
-- threads mirroring batches that share SKUs could lock the same rows in
-- opposite orders and deadlock.  Now the batch's holds are inserted first,
-- then each SKU's stock row is updated once, with the sum of the new holds'
-- units, in sku_id order (the order every other path locks stock in).

CREATE OR REPLACE FUNCTION holds_mirror(p_tenant uuid, p_holds jsonb) RETURNS int
    LANGUAGE plpgsql AS $$
DECLARE
    n int;
    new_lines jsonb;
    l record;
BEGIN
    WITH ins AS (
        INSERT INTO holds (tenant_id, id, lines, request, reference, state, source, created_at, expires_at)
        SELECT p_tenant, (h->>'id')::uuid, h->'lines', h->'request', h->>'reference', 'active', 'redis',
               to_timestamp((h->>'created_ms')::bigint / 1000.0), to_timestamp((h->>'expires_ms')::bigint / 1000.0)
          FROM jsonb_array_elements(p_holds) AS h
        ON CONFLICT (tenant_id, id) DO NOTHING
        RETURNING lines
    )
    SELECT count(*), coalesce(jsonb_agg(ins.lines), '[]'::jsonb) INTO n, new_lines FROM ins;
    FOR l IN SELECT (e->>'sku_id')::bigint AS sku_id, sum((e->>'qty')::bigint) AS qty
               FROM jsonb_array_elements(new_lines) AS hl, jsonb_array_elements(hl) AS e
              GROUP BY 1 ORDER BY 1 LOOP
        UPDATE stock SET held = held + l.qty, version = version + 1, updated_at = now()
         WHERE tenant_id = p_tenant AND sku_id = l.sku_id;
    END LOOP;
    RETURN n;
END $$;
