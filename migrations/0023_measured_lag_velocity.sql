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
-- As before, a SKU × connection with no sale left in the window keeps the
-- rate it was last measured at (ops/bench/sync.mjs relies on that for the
-- rates it sets by hand).
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
    RETURN n;
END $$;

-- ---------------------------------------------------------------------------
-- Push lag: how long a pushed quantity takes to become visible on the
-- channel, kept as a distribution per connection, not only a mean.
--
-- A sample is the time from sending a push to the channel showing it: the
-- call's round trip when the channel applies it as it answers (Shopify,
-- Walmart's item calls), or from the acknowledged push (listings.pushed_at)
-- to the channel's own time of applying it when it applies later (Amazon:
-- the listing's lastUpdatedDate, which the read-back passes as
-- "updated_at").  Where the channel says nothing of when it applied (a
-- Walmart feed), the earliest evidence is the read-back that saw the number:
-- an upper bound, as late as the read-back routine runs.
--
-- push_lag_samples is a ring of the newest 1024 samples per connection
-- (slot = sequence mod 1024), so it never grows past that and needs no
-- pruning; samples older than 7 days do not count.  The connection keeps
-- its percentiles (push_lag_p50_ms/p90/p99) and how many samples they come
-- from (push_lag_samples), recomputed with each batch of samples, so the
-- automatic buffer reads one row.  push_lag_ms stays as it was: the
-- exponentially weighted mean (0.2 per batch), for compatibility.
-- ---------------------------------------------------------------------------
CREATE TABLE push_lag_samples (
    tenant_id uuid NOT NULL,
    connection_id uuid NOT NULL,
    slot int NOT NULL CHECK (slot BETWEEN 0 AND 1023),
    lag_ms bigint NOT NULL CHECK (lag_ms >= 0),
    measured_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, connection_id, slot),
    FOREIGN KEY (tenant_id, connection_id) REFERENCES channel_connections (tenant_id, id) ON DELETE CASCADE
);
ALTER TABLE push_lag_samples ENABLE ROW LEVEL SECURITY;
ALTER TABLE push_lag_samples FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_wall ON push_lag_samples USING (tenant_id = ANY ((SELECT current_tenants())::uuid[]))
    WITH CHECK (tenant_id = ANY ((SELECT current_tenants())::uuid[]));
GRANT SELECT, INSERT, UPDATE ON push_lag_samples TO onecount_app;

ALTER TABLE channel_connections
    ADD COLUMN push_lag_seq bigint NOT NULL DEFAULT 0,
    ADD COLUMN push_lag_p50_ms bigint,
    ADD COLUMN push_lag_p90_ms bigint,
    ADD COLUMN push_lag_p99_ms bigint,
    ADD COLUMN push_lag_samples int NOT NULL DEFAULT 0;

-- Records lag samples (ms) of connection p_connection and recomputes its
-- percentiles.  Locks the connection's row: call it where the caller locks
-- the connection before its listings (connection_health_record, a
-- read-back after oc_orders_lock_connection_step).
CREATE FUNCTION push_lag_record(p_tenant uuid, p_connection uuid, p_lags bigint[]) RETURNS void
    LANGUAGE plpgsql AS $$
DECLARE
    n int := coalesce(cardinality(p_lags), 0);
    seq bigint;
    mean double precision;
BEGIN
    IF n = 0 THEN
        RETURN;
    END IF;
    SELECT avg(greatest(x, 0)) INTO mean FROM unnest(p_lags) x;
    UPDATE channel_connections SET push_lag_seq = push_lag_seq + n,
           push_lag_ms = CASE WHEN push_lag_ms IS NULL THEN mean::bigint ELSE (push_lag_ms * 0.8 + mean * 0.2)::bigint END
     WHERE tenant_id = p_tenant AND id = p_connection
    RETURNING push_lag_seq - n INTO seq;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    -- only the newest 1024 of a larger batch: one statement may not write a slot twice
    INSERT INTO push_lag_samples AS s (tenant_id, connection_id, slot, lag_ms, measured_at)
    SELECT p_tenant, p_connection, ((seq + o - 1) % 1024)::int, greatest(x, 0), now()
      FROM unnest(p_lags) WITH ORDINALITY u(x, o) WHERE o > n - 1024
    ON CONFLICT (tenant_id, connection_id, slot) DO UPDATE SET lag_ms = excluded.lag_ms, measured_at = excluded.measured_at;
    UPDATE channel_connections c SET (push_lag_p50_ms, push_lag_p90_ms, push_lag_p99_ms, push_lag_samples) =
           (SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY s.lag_ms), percentile_disc(0.9) WITHIN GROUP (ORDER BY s.lag_ms),
                   percentile_disc(0.99) WITHIN GROUP (ORDER BY s.lag_ms), count(*)
              FROM push_lag_samples s WHERE s.tenant_id = p_tenant AND s.connection_id = p_connection
               AND s.measured_at > now() - interval '7 days')
     WHERE c.tenant_id = p_tenant AND c.id = p_connection;
END $$;

-- The push batch's health; its visible lags are now each listing's, not their mean.
DROP FUNCTION connection_health_record(uuid, uuid, int, int, int, double precision, text, text, double precision);
CREATE FUNCTION connection_health_record(p_tenant uuid, p_connection uuid, p_ok int, p_failed int, p_throttled int,
                                         p_latency_ms double precision, p_error text, p_circuit text,
                                         p_visible_ms bigint[]) RETURNS void
    LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO connection_health AS h (tenant_id, connection_id) VALUES (p_tenant, p_connection)
    ON CONFLICT DO NOTHING;
    UPDATE connection_health SET
        consecutive_failures = CASE WHEN p_ok > 0 THEN 0 ELSE consecutive_failures + p_failed END,
        last_push_ok_at = CASE WHEN p_ok > 0 THEN now() ELSE last_push_ok_at END,
        last_error = CASE WHEN p_failed > 0 THEN p_error ELSE last_error END,
        last_error_at = CASE WHEN p_failed > 0 THEN now() ELSE last_error_at END,
        throttled_total = throttled_total + p_throttled, pushes_total = pushes_total + p_ok + p_failed,
        push_latency_ms_avg = CASE WHEN p_latency_ms IS NULL THEN push_latency_ms_avg
                                   WHEN push_latency_ms_avg IS NULL THEN p_latency_ms
                                   ELSE push_latency_ms_avg * 0.8 + p_latency_ms * 0.2 END,
        circuit = coalesce(p_circuit, circuit), updated_at = now()
     WHERE tenant_id = p_tenant AND connection_id = p_connection;
    PERFORM push_lag_record(p_tenant, p_connection, p_visible_ms);
    IF p_circuit = 'open' THEN
        INSERT INTO alerts (tenant_id, connection_id, kind, message)
        VALUES (p_tenant, p_connection, 'circuit_open', 'pushes to this channel keep failing: ' || coalesce(p_error, '?'))
        ON CONFLICT DO NOTHING;
    ELSIF p_ok > 0 THEN
        UPDATE alerts SET resolved_at = now()
         WHERE tenant_id = p_tenant AND connection_id = p_connection AND kind = 'circuit_open' AND resolved_at IS NULL;
    END IF;
END $$;
GRANT EXECUTE ON FUNCTION push_lag_record(uuid, uuid, bigint[]),
    connection_health_record(uuid, uuid, int, int, int, double precision, text, text, bigint[]) TO onecount_app;

-- The automatic buffer sizes for the channel's 99th-percentile push lag, not
-- its mean (a mean under-buffers exactly the slow pushes that oversell).
-- Without samples yet (a new connection, or a lag set by hand) the mean
-- push_lag_ms stands in.
CREATE OR REPLACE FUNCTION auto_buffer(p_tenant uuid, p_sku bigint, p_connection uuid) RETURNS bigint
    LANGUAGE sql STABLE AS $$
    SELECT poisson_quantile(
        coalesce((SELECT sum(v.units_per_hour) FROM sku_velocity v
                   WHERE v.tenant_id = p_tenant AND v.sku_id = p_sku), 0)
        * coalesce((SELECT (coalesce(c.push_lag_p99_ms, c.push_lag_ms, 0) + coalesce(c.ingest_lag_ms, 0)) / 3600000.0
                      FROM channel_connections c WHERE c.tenant_id = p_tenant AND c.id = p_connection), 0),
        0.99)
$$;

-- A read-back that sees a pending push applied records its lag as a sample,
-- measured to when the channel applied it where the channel says so.
-- Otherwise as 0021 left it.
CREATE OR REPLACE FUNCTION read_back_record(p_tenant uuid, p_connection uuid, p_results jsonb) RETURNS jsonb
    LANGUAGE plpgsql
    AS $$
DECLARE
    x jsonb;
    l listings%ROWTYPE;
    seen bigint;
    cls text;
    act text;
    n_ok int := 0;
    n_drift int := 0;
    poll boolean := false;
    apply_window interval;
    applied timestamptz;
    lags bigint[] := '{}';
BEGIN
    -- How long a channel may take to apply a push it accepted: three times
    -- what it has been taking (its 99th percentile; the mean without samples), and never less than 15 minutes.
    SELECT greatest(interval '15 minutes',
                    make_interval(secs => coalesce(c.push_lag_p99_ms, c.push_lag_ms, 0) * 3 / 1000.0))
      INTO apply_window FROM channel_connections c WHERE c.tenant_id = p_tenant AND c.id = p_connection;
    FOR x IN SELECT value FROM jsonb_array_elements(p_results) ORDER BY value->>'listing_id' LOOP
        SELECT * INTO l FROM listings WHERE tenant_id = p_tenant AND id = (x->>'listing_id')::uuid FOR UPDATE;
        CONTINUE WHEN NOT FOUND;
        seen := (x->>'qty')::bigint;
        UPDATE listings SET seen_qty = seen, seen_at = now() WHERE tenant_id = p_tenant AND id = l.id;
        IF seen IS NOT DISTINCT FROM l.pushed_qty THEN
            n_ok := n_ok + 1;
            IF l.push_pending THEN
                -- the channel has applied it: how long that took is part of its lag.  Applied when the
                -- channel says it changed the listing ("updated_at", Amazon's lastUpdatedDate: whole
                -- seconds, so up to a second before the push is taken as the push itself); a time
                -- before that is an older change (or a channel that does not date quantity changes), and
                -- then, as without one, the read-back is the earliest evidence: overstating a lag costs a
                -- unit of buffer, understating it costs an oversell.
                UPDATE listings SET push_pending = false WHERE tenant_id = p_tenant AND id = l.id;
                applied := CASE WHEN x->>'updated_at' IS NOT NULL AND (x->>'updated_at')::timestamptz
                                     BETWEEN l.pushed_at - interval '1 second' AND now()
                                THEN greatest((x->>'updated_at')::timestamptz, l.pushed_at) ELSE now() END;
                lags := lags || (extract(epoch FROM applied - l.pushed_at) * 1000)::bigint;
            END IF;
            UPDATE drift_events SET healed_at = now()
             WHERE tenant_id = p_tenant AND listing_id = l.id AND healed_at IS NULL;
            CONTINUE;
        END IF;
        IF seen IS NULL THEN
            cls := 'unmapped_listing'; act := 'none';
        ELSIF l.push_pending AND l.pushed_at > now() - apply_window THEN
            cls := 'pending_apply'; act := 'none';
        ELSIF l.push_pending THEN
            -- accepted, never applied (or applied and changed since): waiting longer heals nothing
            cls := 'not_applied'; act := 'repush';
            UPDATE listings SET desired_version = desired_version + 1, push_pending = false, last_error = NULL
             WHERE tenant_id = p_tenant AND id = l.id;
        ELSIF l.desired_version > l.pushed_version THEN
            cls := 'in_flight'; act := 'none';
        ELSIF seen < coalesce(l.pushed_qty, 0) THEN
            cls := 'order_not_ingested'; act := 'ingest_orders'; poll := true;
            -- once orders are in, push the number again regardless
            UPDATE listings SET desired_version = desired_version + 1 WHERE tenant_id = p_tenant AND id = l.id;
        ELSE
            cls := 'channel_edit'; act := 'repush';
            UPDATE listings SET desired_version = desired_version + 1, last_error = NULL
             WHERE tenant_id = p_tenant AND id = l.id;
        END IF;
        IF cls NOT IN ('pending_apply', 'in_flight') THEN
            n_drift := n_drift + 1;
            INSERT INTO drift_events (tenant_id, listing_id, connection_id, sku_id, seen_qty, pushed_qty, desired_qty,
                                      classification, action)
            VALUES (p_tenant, l.id, p_connection, l.sku_id, seen, l.pushed_qty, l.desired_qty, cls, act);
            IF cls = 'unmapped_listing' THEN
                INSERT INTO alerts (tenant_id, connection_id, kind, message)
                VALUES (p_tenant, p_connection, 'unmapped_listing',
                        'the channel does not know listing ' || l.external_sku) ON CONFLICT DO NOTHING;
            END IF;
        END IF;
    END LOOP;
    PERFORM push_lag_record(p_tenant, p_connection, lags);
    IF poll THEN
        UPDATE routines SET next_run_at = least(next_run_at, now())
         WHERE tenant_id = p_tenant AND connection_id = p_connection AND kind = 'poll_orders';
    END IF;
    IF n_drift > 0 THEN
        PERFORM pg_notify('oc_dirty', p_tenant::text);
    END IF;
    RETURN jsonb_build_object('in_sync', n_ok, 'drift', n_drift);
END $$;

