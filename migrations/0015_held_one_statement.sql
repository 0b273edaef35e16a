-- 0015_held_one_statement.sql — stock_add_held() locks and updates in one
-- statement.  0013 locked the rows with SELECT … ORDER BY … FOR NO KEY UPDATE
-- and then updated them: every row was written twice (the lock marks the
-- tuple), and at 15,000 mirrored holds a second the locking statement took
-- more time than the insert and the update together.  Now one UPDATE joins
-- the sorted (tenant, SKU, units) list to stock by nested loop (hash and
-- merge joins are off inside this function), so rows are locked and updated
-- in (tenant_id, sku_id) order, the order every other path uses.

CREATE OR REPLACE FUNCTION stock_add_held(p_tenant uuid, p_skus bigint[], p_qtys bigint[]) RETURNS void
    LANGUAGE plpgsql
    SET enable_hashjoin = off SET enable_mergejoin = off AS $$
BEGIN
    IF cardinality(p_skus) = 0 THEN
        RETURN;
    END IF;
    UPDATE stock s SET held = s.held + a.qty, version = s.version + 1, updated_at = now()
      FROM (SELECT sku_id, sum(qty) AS qty FROM unnest(p_skus, p_qtys) AS u(sku_id, qty)
             GROUP BY sku_id ORDER BY sku_id) a
     WHERE s.tenant_id = p_tenant AND s.sku_id = a.sku_id;
END $$;
