-- 0011_auto_buffer_own_sales.sql — the automatic buffer counts the channel's
-- own sales too.
--
-- 0004's auto_buffer() covered what the OTHER channels sell during a
-- channel's lag.  But a push sets an absolute number computed before the
-- channel applies it: what the channel sells itself between our computing
-- the number and its applying it (its push lag), and what any channel sold
-- that we have not ingested yet (ingest lag), are given back to it when the
-- number lands.  The oversell simulation (ops/bench/sync.sh) showed exactly
-- those oversells on the slow channels (Amazon applies listings 5 minutes
-- later, Walmart's feeds 30).  So the buffer is now the 99th percentile of
-- every channel's sales of the SKU, this one's included, during this
-- channel's push + ingest lag.

CREATE OR REPLACE FUNCTION auto_buffer(p_tenant uuid, p_sku bigint, p_connection uuid) RETURNS bigint
    LANGUAGE sql STABLE AS $$
    SELECT poisson_quantile(
        coalesce((SELECT sum(v.units_per_hour) FROM sku_velocity v
                   WHERE v.tenant_id = p_tenant AND v.sku_id = p_sku), 0)
        * coalesce((SELECT (coalesce(c.push_lag_ms, 0) + coalesce(c.ingest_lag_ms, 0)) / 3600000.0
                      FROM channel_connections c WHERE c.tenant_id = p_tenant AND c.id = p_connection), 0),
        0.99)
$$;
