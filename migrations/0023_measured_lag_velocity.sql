-- 0023_measured_lag_velocity.sql — onecount measures for itself: sales
-- velocity over the history there is, and push lag as a distribution.
--
-- Found when onecount was left to measure for itself (issue 13): the
-- automatic buffer stayed 0 on every listing, because velocity_refresh()
-- divided up to 7 days of sales by 168 hours however short the history was.

-- ---------------------------------------------------------------------------
-- Velocity: units sold per hour of a SKU on a connection, over the hours
-- onecount has actually watched that connection's orders in the last 7 days.
--
-- The start of observation is the connection's created_at: onecount begins
-- polling a connection's orders when it is created, and a sale becomes a
-- movement when onecount ingests it (movements.created_at), never before —
-- so every counted sale lies inside [created_at, now], and hours in that
-- span without a sale are observed hours with no sales, which must count.
-- (An order placed before the connection existed and ingested by the first
-- poll is counted at its ingestion, inside the window: a brand's backlog can
-- make its first hour look busier, never quieter.)
--
-- The window is min(7 days, now − created_at) and never shorter than the
-- brand's `velocity` routine interval (3600 s unless changed; the API allows
-- 10 s at least).  The rate measured stands until the next run, one interval
-- later, so it is the rate over at least one interval: a sale a minute after
-- connecting, measured by a "run now", reads as 1 unit per interval (1/h by
-- default), not 60/h; at a scheduled run the window is at least one interval
-- anyway, because the routine's first run is at the connection's creation.
--
-- A SKU × connection with no sale left in the window is measured at 0 (it
-- kept its old rate for ever before).
-- ---------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION velocity_refresh(p_tenant uuid) RETURNS int
    LANGUAGE plpgsql AS $$
DECLARE
    n int;
    floor_s double precision;
BEGIN
    SELECT greatest(coalesce(min(r.interval_seconds), 3600), 1) INTO floor_s FROM routines r
     WHERE r.tenant_id = p_tenant AND r.connection_id IS NULL AND r.kind = 'velocity';
    INSERT INTO sku_velocity AS v (tenant_id, sku_id, connection_id, units_per_hour, measured_at)
    SELECT p_tenant, s.sku_id, s.channel_id,
           s.units / (greatest(floor_s, least(7 * 86400.0, extract(epoch FROM now() - c.created_at))) / 3600.0),
           now()
      FROM (SELECT m.sku_id, m.channel_id, sum(m.qty) AS units FROM movements m
             WHERE m.tenant_id = p_tenant AND m.kind = 'sale' AND m.channel_id IS NOT NULL
               AND m.created_at > now() - interval '7 days'
             GROUP BY m.sku_id, m.channel_id) s
      JOIN channel_connections c ON c.tenant_id = p_tenant AND c.id = s.channel_id
    ON CONFLICT (tenant_id, sku_id, connection_id) DO UPDATE SET units_per_hour = excluded.units_per_hour,
        measured_at = now();
    GET DIAGNOSTICS n = ROW_COUNT;
    UPDATE sku_velocity SET units_per_hour = 0, measured_at = now()
     WHERE tenant_id = p_tenant AND measured_at < now() AND units_per_hour <> 0;
    RETURN n;
END $$;
