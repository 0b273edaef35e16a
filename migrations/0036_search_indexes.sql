-- 0036: the search across brands (tenants/search.c).
--
-- Codes, channel SKUs and order numbers are found by prefix without case, as
-- a range on a lowered copy of the column.  The copy is a stored generated
-- column, not an index on lower(column): under row-level security the
-- planner uses an index only for leakproof conditions, and lower() is not
-- leakproof while text comparisons are (so `code_search >= …` may use the
-- index, `lower(code) >= …` never does).  The copies are in the "C"
-- collation (byte order: UTF-8's code point order), in which a prefix is
-- exactly the range [q, q || U+10FFFF).  Adding them rewrites the three
-- tables once.
ALTER TABLE skus ADD COLUMN code_search text COLLATE "C" GENERATED ALWAYS AS (lower(code)) STORED;
ALTER TABLE listings ADD COLUMN external_sku_search text COLLATE "C" GENERATED ALWAYS AS (lower(external_sku)) STORED;
ALTER TABLE channel_orders ADD COLUMN external_id_search text COLLATE "C"
    GENERATED ALWAYS AS (lower(external_id)) STORED;
CREATE INDEX skus_code_search ON skus (tenant_id, code_search);
CREATE INDEX listings_external_sku_search ON listings (tenant_id, external_sku_search);
CREATE INDEX channel_orders_external_id_search ON channel_orders (tenant_id, external_id_search);
