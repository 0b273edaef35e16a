-- 0036: the search across brands (tenants/search.c).
--
-- Codes, channel SKUs and order numbers are found by prefix without case,
-- as a range on lower(column): text comparisons are leakproof, so the
-- planner may use these indexes under row-level security (LIKE and ILIKE
-- are not, and would scan the brand's rows).  In the "C" collation (byte
-- order: UTF-8's code point order) a prefix is exactly such a range, whatever
-- the database's own collation.
CREATE INDEX skus_code_lower ON skus (tenant_id, (lower(code) COLLATE "C"));
CREATE INDEX listings_external_sku_lower ON listings (tenant_id, (lower(external_sku) COLLATE "C"));
CREATE INDEX channel_orders_external_id_lower ON channel_orders (tenant_id, (lower(external_id) COLLATE "C"));
