-- 0031_auto_buffer_ingest_lag.sql — the automatic buffer counts each
-- channel's sales during THAT channel's ingest lag.
--
-- A number pushed to connection c is computed from the sales onecount has
-- taken in; when it becomes visible on c, the units it should have left out
-- are what every channel j sold that onecount had not taken in when it
-- computed the number (j's ingest lag: Amazon's and Walmart's polled orders
-- arrive up to a poll later, Shopify's by webhook at once) and what every
-- channel sold during c's own push lag.  So the units to expect are
--     Σ_j  v_j × (p99 push lag of c + ingest lag of j)
-- 0011/0023 used c's ingest lag for every j: Shopify's near-zero webhook lag
-- then stood for Amazon's polled orders too, and Shopify's buffer left out
-- the Amazon sales not yet polled.  Found by the sync benchmark once onecount
-- measured lags for itself (issue 13): Amazon's orders reached onecount
-- 5-37 s (here; 2.5-18 simulated minutes) after they were placed while
-- Shopify's buffer counted 0.6 s.  A connection's own term is unchanged.
CREATE OR REPLACE FUNCTION auto_buffer(p_tenant uuid, p_sku bigint, p_connection uuid) RETURNS bigint
    LANGUAGE sql STABLE AS $$
    SELECT poisson_quantile(
        coalesce((SELECT sum(v.units_per_hour
                             * (coalesce(c.push_lag_p99_ms, c.push_lag_ms, 0) + coalesce(j.ingest_lag_ms, 0)) / 3600000.0)
                    FROM sku_velocity v
                    JOIN channel_connections j ON j.tenant_id = v.tenant_id AND j.id = v.connection_id
                    JOIN channel_connections c ON c.tenant_id = p_tenant AND c.id = p_connection
                   WHERE v.tenant_id = p_tenant AND v.sku_id = p_sku), 0),
        0.99)
$$;
