-- 0035_chart_sales_index.sql — the brand's sales over a window, for the charts
-- (tenants/charts.c: units sold per channel per day, sell-through, days of
-- cover).  movements_sku_time serves one SKU; a brand-wide question ("every
-- sale of the last 14 days") would otherwise read every movement of the
-- brand.  Partial: sales only, the rows those questions read.
CREATE INDEX movements_sale_time ON movements (tenant_id, created_at) WHERE kind = 'sale';
