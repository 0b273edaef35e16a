-- 0006_sync.sql — the sync engine's records: channel orders and returns as
-- they arrive, raw webhook events, per-connection cursors, the push log that
-- answers "why did Amazon show 7 at 14:02?", drift findings, alerts, and the
-- table of scheduled routines (data, not hard-coded timers).
--
-- Every order line lands exactly once (unique per connection, order, line)
-- and remembers how much of it the ledger has already recorded as sold,
-- shipped, cancelled or held, so replaying an order, or receiving its events
-- out of order, moves nothing twice.

CREATE TABLE channel_orders (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    connection_id uuid NOT NULL,
    external_id text NOT NULL,
    status text NOT NULL,
    channel_created_at timestamptz,
    channel_updated_at timestamptz,
    first_seen_at timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    needs_ack boolean NOT NULL DEFAULT false,
    acked_at timestamptz,
    raw jsonb,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, connection_id, external_id),
    FOREIGN KEY (tenant_id, connection_id) REFERENCES channel_connections (tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE channel_order_lines (
    tenant_id uuid NOT NULL,
    order_id uuid NOT NULL,
    external_line_id text NOT NULL,
    connection_id uuid NOT NULL,
    channel_sku text NOT NULL,
    sku_id bigint,            -- NULL: unmapped, parked until a listing names channel_sku
    qty bigint NOT NULL,
    qty_shipped bigint NOT NULL DEFAULT 0,
    qty_cancelled bigint NOT NULL DEFAULT 0,
    -- what the ledger has recorded for this line so far
    rec_held bigint NOT NULL DEFAULT 0,
    rec_sold bigint NOT NULL DEFAULT 0,
    rec_shipped bigint NOT NULL DEFAULT 0,
    rec_cancelled bigint NOT NULL DEFAULT 0,
    hold_id uuid,
    first_seen_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, order_id, external_line_id),
    FOREIGN KEY (tenant_id, order_id) REFERENCES channel_orders (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX channel_order_lines_unmapped ON channel_order_lines (tenant_id, connection_id, channel_sku)
    WHERE sku_id IS NULL;

CREATE TABLE channel_returns (
    tenant_id uuid NOT NULL,
    connection_id uuid NOT NULL,
    external_id text NOT NULL,
    external_line_id text NOT NULL,
    order_external_id text,
    channel_sku text NOT NULL,
    sku_id bigint,
    qty bigint NOT NULL,
    disposition text,
    movement_id bigint,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, connection_id, external_id, external_line_id)
);

-- Raw inbound webhooks, stored before they are processed; deduped on the channel's event id.
CREATE TABLE channel_events (
    tenant_id uuid NOT NULL,
    id bigint GENERATED ALWAYS AS IDENTITY,
    connection_id uuid NOT NULL,
    event_id text NOT NULL,
    topic text NOT NULL,
    body jsonb NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    processed_at timestamptz,
    attempts int NOT NULL DEFAULT 0,
    error text,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, connection_id, event_id)
);
CREATE INDEX channel_events_pending ON channel_events (tenant_id, received_at) WHERE processed_at IS NULL;

CREATE TABLE sync_cursors (
    tenant_id uuid NOT NULL,
    connection_id uuid NOT NULL,
    stream text NOT NULL CHECK (stream IN ('orders', 'returns')),
    cursor text,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, connection_id, stream)
);

-- Every push attempt and what the channel said.
CREATE TABLE push_log (
    tenant_id uuid NOT NULL,
    id bigint GENERATED ALWAYS AS IDENTITY,
    listing_id uuid NOT NULL,
    connection_id uuid NOT NULL,
    sku_id bigint NOT NULL,
    qty bigint NOT NULL,
    desired_version bigint NOT NULL,
    expected bigint,
    status text NOT NULL CHECK (status IN ('ok', 'pending', 'stale', 'error')),
    channel_qty bigint,
    error text,
    latency_ms int,
    desired_at timestamptz, -- when the number sent became the one to show (sale-to-push latency)
    sent_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX push_log_listing ON push_log (tenant_id, listing_id, sent_at);
CREATE INDEX push_log_sku ON push_log (tenant_id, sku_id, sent_at);

CREATE TABLE drift_events (
    tenant_id uuid NOT NULL,
    id bigint GENERATED ALWAYS AS IDENTITY,
    listing_id uuid NOT NULL,
    connection_id uuid NOT NULL,
    sku_id bigint NOT NULL,
    seen_qty bigint,
    pushed_qty bigint,
    desired_qty bigint,
    classification text NOT NULL CHECK (classification IN ('stale_push', 'channel_edit', 'unmapped_listing',
        'order_not_ingested', 'in_flight', 'pending_apply')),
    action text NOT NULL CHECK (action IN ('repush', 'ingest_orders', 'none')),
    detail text,
    detected_at timestamptz NOT NULL DEFAULT now(),
    healed_at timestamptz,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX drift_events_open ON drift_events (tenant_id, detected_at) WHERE healed_at IS NULL;

CREATE TABLE alerts (
    tenant_id uuid NOT NULL,
    id bigint GENERATED ALWAYS AS IDENTITY,
    connection_id uuid,
    kind text NOT NULL,
    message text NOT NULL,
    opened_at timestamptz NOT NULL DEFAULT now(),
    resolved_at timestamptz,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX alerts_one_open ON alerts (tenant_id, coalesce(connection_id, '00000000-0000-0000-0000-000000000000'), kind)
    WHERE resolved_at IS NULL;

-- Worker-side health of each connection, shown in the API and /metrics.
CREATE TABLE connection_health (
    tenant_id uuid NOT NULL,
    connection_id uuid NOT NULL,
    circuit text NOT NULL DEFAULT 'closed' CHECK (circuit IN ('closed', 'open', 'half_open')),
    consecutive_failures int NOT NULL DEFAULT 0,
    last_push_ok_at timestamptz,
    last_error text,
    last_error_at timestamptz,
    throttled_total bigint NOT NULL DEFAULT 0,
    pushes_total bigint NOT NULL DEFAULT 0,
    push_latency_ms_avg double precision,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, connection_id),
    FOREIGN KEY (tenant_id, connection_id) REFERENCES channel_connections (tenant_id, id) ON DELETE CASCADE
);

-- Scheduled routines: what runs, for which connection, how often.  The SOP
-- issue builds its routines on this table.
CREATE TABLE routines (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    connection_id uuid,
    kind text NOT NULL CHECK (kind IN ('poll_orders', 'poll_returns', 'read_back', 'full_repush', 'velocity')),
    interval_seconds int NOT NULL CHECK (interval_seconds BETWEEN 1 AND 604800),
    enabled boolean NOT NULL DEFAULT true,
    next_run_at timestamptz NOT NULL DEFAULT now(),
    last_started_at timestamptz,
    last_finished_at timestamptz,
    last_status text,
    last_detail jsonb,
    lease_owner text,
    lease_until timestamptz,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, connection_id) REFERENCES channel_connections (tenant_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX routines_one_kind ON routines (tenant_id, coalesce(connection_id, '00000000-0000-0000-0000-000000000000'), kind);
CREATE INDEX routines_due ON routines (next_run_at) WHERE enabled;

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['channel_orders', 'channel_order_lines', 'channel_returns', 'channel_events',
                             'sync_cursors', 'push_log', 'drift_events', 'alerts', 'connection_health', 'routines'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_wall ON %I USING (tenant_id = ANY (current_tenants()))'
                       ' WITH CHECK (tenant_id = ANY (current_tenants()))', t);
    END LOOP;
END $$;

GRANT SELECT, INSERT, UPDATE ON channel_orders, channel_order_lines, channel_returns, channel_events, sync_cursors,
    drift_events, alerts, connection_health, routines TO onecount_app;
GRANT SELECT, INSERT ON push_log TO onecount_app;
GRANT DELETE ON routines TO onecount_app;

-- A new connection gets its default routines.
CREATE FUNCTION connection_routines() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO routines (tenant_id, connection_id, kind, interval_seconds, next_run_at) VALUES
        (NEW.tenant_id, NEW.id, 'poll_orders', CASE NEW.kind WHEN 'shopify' THEN 300 ELSE 60 END, now()),
        (NEW.tenant_id, NEW.id, 'poll_returns', 900, now() + interval '30 seconds'),
        (NEW.tenant_id, NEW.id, 'read_back', 600, now() + interval '60 seconds'),
        (NEW.tenant_id, NEW.id, 'full_repush', 86400, now() + interval '1 day')
    ON CONFLICT DO NOTHING;
    INSERT INTO routines (tenant_id, connection_id, kind, interval_seconds, next_run_at)
    VALUES (NEW.tenant_id, NULL, 'velocity', 3600, now()) ON CONFLICT DO NOTHING;
    INSERT INTO connection_health (tenant_id, connection_id) VALUES (NEW.tenant_id, NEW.id) ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;
CREATE TRIGGER connection_routines AFTER INSERT ON channel_connections
    FOR EACH ROW EXECUTE FUNCTION connection_routines();

-- ---------------------------------------------------------------------------
-- ingest_order: one channel order, as the adapters normalize it (see
-- adapters/adapter.h), brought into the ledger.  For each line, compared
-- with what was already recorded:
--   pending (unpaid)  -> a hold for the open quantity
--   open/partial/shipped -> a channel sale for the quantity not cancelled
--                          (a hold, if any, ends), then shipments as shipped
--   cancelled units   -> cancel what was sold, or end the hold
-- Counters only move forward, so repeats and out-of-order events are no-ops.
-- Lines whose SKU has no listing on the connection are parked (sku_id NULL)
-- and replayed when it gets one (ingest_replay_unmapped).
-- Returns {"order_id", "movements": n, "unmapped": n}.
-- ---------------------------------------------------------------------------
CREATE FUNCTION ingest_order(p_tenant uuid, p_connection uuid, p_order jsonb) RETURNS jsonb
    LANGUAGE plpgsql AS $$
DECLARE
    o_id uuid;
    status text := p_order->>'status';
    l jsonb;
    cur channel_order_lines%ROWTYPE;
    sku bigint;
    code text;
    want_sold bigint; want_held bigint; want_shipped bigint; want_cancelled bigint;
    moves int := 0;
    parked int := 0;
    ref text;
    r jsonb;
    fresh boolean;
BEGIN
    INSERT INTO channel_orders AS o (tenant_id, connection_id, external_id, status, channel_created_at,
                                     channel_updated_at, needs_ack, raw)
    VALUES (p_tenant, p_connection, p_order->>'id', status, (p_order->>'created_at')::timestamptz,
            (p_order->>'updated_at')::timestamptz, coalesce((p_order->>'needs_ack')::boolean, false), p_order)
    ON CONFLICT (tenant_id, connection_id, external_id) DO UPDATE
       SET status = CASE WHEN excluded.channel_updated_at IS NULL OR o.channel_updated_at IS NULL
                          OR excluded.channel_updated_at >= o.channel_updated_at THEN excluded.status ELSE o.status END,
           channel_updated_at = greatest(o.channel_updated_at, excluded.channel_updated_at),
           needs_ack = o.needs_ack OR excluded.needs_ack, last_seen_at = now(), raw = excluded.raw
    RETURNING o.id, o.status, (o.xmax = 0) INTO o_id, status, fresh;
    -- A new order: how long it took to reach onecount feeds the connection's lag
    -- (and through it the automatic buffers of the other channels).
    IF fresh AND (p_order->>'created_at') IS NOT NULL
       AND (p_order->>'created_at')::timestamptz > now() - interval '1 day' THEN
        UPDATE channel_connections SET ingest_lag_ms = greatest(0, CASE WHEN ingest_lag_ms IS NULL
                THEN (extract(epoch FROM now() - (p_order->>'created_at')::timestamptz) * 1000)::bigint
                ELSE (ingest_lag_ms * 0.9 + extract(epoch FROM now() - (p_order->>'created_at')::timestamptz) * 100)::bigint END)
         WHERE tenant_id = p_tenant AND id = p_connection;
    END IF;
    ref := (SELECT kind FROM channel_connections WHERE tenant_id = p_tenant AND id = p_connection) || ':' || (p_order->>'id');

    FOR l IN SELECT value FROM jsonb_array_elements(p_order->'lines') LOOP
        SELECT li.sku_id, k.code INTO sku, code FROM listings li JOIN skus k ON k.tenant_id = li.tenant_id AND k.id = li.sku_id
         WHERE li.tenant_id = p_tenant AND li.connection_id = p_connection AND li.external_sku = l->>'sku';
        INSERT INTO channel_order_lines AS x (tenant_id, order_id, external_line_id, connection_id, channel_sku, sku_id, qty)
        VALUES (p_tenant, o_id, l->>'id', p_connection, l->>'sku', sku, (l->>'qty')::bigint)
        ON CONFLICT (tenant_id, order_id, external_line_id) DO UPDATE SET updated_at = now(),
            sku_id = coalesce(x.sku_id, excluded.sku_id)
        RETURNING * INTO cur;
        cur.qty_shipped := greatest(cur.qty_shipped, coalesce((l->>'qty_shipped')::bigint, 0));
        cur.qty_cancelled := greatest(cur.qty_cancelled, coalesce((l->>'qty_cancelled')::bigint, 0));
        IF status = 'cancelled' THEN
            cur.qty_cancelled := cur.qty;
        END IF;
        UPDATE channel_order_lines SET qty_shipped = cur.qty_shipped, qty_cancelled = cur.qty_cancelled
         WHERE tenant_id = p_tenant AND order_id = o_id AND external_line_id = cur.external_line_id;
        IF cur.sku_id IS NULL THEN
            parked := parked + 1;
            CONTINUE;
        END IF;
        code := (SELECT k.code FROM skus k WHERE k.tenant_id = p_tenant AND k.id = cur.sku_id);
        r := ingest_line_apply(p_tenant, p_connection, o_id, cur, status, code, ref);
        moves := moves + (r->>'movements')::int;
    END LOOP;
    RETURN jsonb_build_object('order_id', o_id, 'movements', moves, 'unmapped', parked);
END $$;

-- Moves the ledger from what a line has recorded to what the channel now says.
CREATE FUNCTION ingest_line_apply(p_tenant uuid, p_connection uuid, p_order uuid, cur channel_order_lines,
                                  p_status text, p_code text, p_ref text) RETURNS jsonb
    LANGUAGE plpgsql AS $$
DECLARE
    open_qty bigint := greatest(cur.qty - cur.qty_cancelled, 0);
    want_held bigint := CASE WHEN p_status = 'pending' THEN open_qty ELSE 0 END;
    want_sold bigint := CASE WHEN p_status = 'pending' THEN 0 ELSE open_qty END;
    want_shipped bigint := least(cur.qty_shipped, want_sold);
    moves int := 0;
    res jsonb;
    items jsonb := '[]';
    hid uuid := cur.hold_id;
BEGIN
    -- A sale only ever grows or shrinks by cancellation; never un-ship.
    want_sold := greatest(want_sold, cur.rec_shipped);
    -- Hold for pending lines (forced: the channel already took the order).
    IF want_held <> cur.rec_held THEN
        IF cur.rec_held > 0 AND hid IS NOT NULL THEN
            PERFORM hold_end(p_tenant, hid, 'released', NULL, NULL, NULL, NULL, p_ref);
        END IF;
        hid := NULL;
        IF want_held > 0 THEN
            hid := gen_random_uuid();
            INSERT INTO holds (tenant_id, id, lines, request, reference, state, source, expires_at)
            VALUES (p_tenant, hid, jsonb_build_array(jsonb_build_object('sku_id', cur.sku_id, 'qty', want_held)),
                    jsonb_build_array(jsonb_build_object('sku', p_code, 'qty', want_held)), p_ref, 'active', 'postgres',
                    now() + interval '7 days');
            UPDATE stock SET held = held + want_held, version = version + 1 WHERE tenant_id = p_tenant AND sku_id = cur.sku_id;
        END IF;
    END IF;
    IF want_sold > cur.rec_sold THEN
        items := items || jsonb_build_object('tenant', p_tenant, 'kind', 'sale', 'guard', false, 'channel', p_connection,
            'reference', p_ref, 'lines', jsonb_build_array(jsonb_build_object('sku', p_code, 'qty', want_sold - cur.rec_sold)));
    ELSIF want_sold < cur.rec_sold THEN
        items := items || jsonb_build_object('tenant', p_tenant, 'kind', 'cancel', 'channel', p_connection,
            'reference', p_ref, 'lines', jsonb_build_array(jsonb_build_object('sku', p_code, 'qty', cur.rec_sold - want_sold)));
    END IF;
    IF want_shipped > cur.rec_shipped THEN
        items := items || jsonb_build_object('tenant', p_tenant, 'kind', 'ship', 'channel', p_connection,
            'reference', p_ref, 'lines', jsonb_build_array(jsonb_build_object('sku', p_code, 'qty', want_shipped - cur.rec_shipped)));
    END IF;
    IF jsonb_array_length(items) > 0 THEN
        res := ledger_post(items);
        moves := (SELECT count(*) FROM jsonb_array_elements(res) e WHERE (e->>'status')::int = 201);
        IF moves <> jsonb_array_length(items) THEN
            RAISE EXCEPTION 'ingest of % line % failed: %', p_ref, cur.external_line_id, res::text USING ERRCODE = 'OC500';
        END IF;
    END IF;
    UPDATE channel_order_lines SET rec_held = want_held, rec_sold = want_sold, rec_shipped = want_shipped,
        rec_cancelled = cur.qty_cancelled, hold_id = hid, updated_at = now()
     WHERE tenant_id = p_tenant AND order_id = p_order AND external_line_id = cur.external_line_id;
    RETURN jsonb_build_object('movements', moves);
END $$;

-- Replays parked lines of a connection whose channel SKU now has a listing.
CREATE FUNCTION ingest_replay_unmapped(p_tenant uuid, p_connection uuid, p_channel_sku text DEFAULT NULL) RETURNS int
    LANGUAGE plpgsql AS $$
DECLARE
    cur channel_order_lines%ROWTYPE;
    n int := 0;
    code text;
    o channel_orders%ROWTYPE;
BEGIN
    FOR cur IN SELECT x.* FROM channel_order_lines x WHERE x.tenant_id = p_tenant AND x.connection_id = p_connection
                  AND x.sku_id IS NULL AND (p_channel_sku IS NULL OR x.channel_sku = p_channel_sku)
                ORDER BY x.first_seen_at FOR UPDATE LOOP
        SELECT li.sku_id INTO cur.sku_id FROM listings li
         WHERE li.tenant_id = p_tenant AND li.connection_id = p_connection AND li.external_sku = cur.channel_sku;
        CONTINUE WHEN cur.sku_id IS NULL;
        UPDATE channel_order_lines SET sku_id = cur.sku_id
         WHERE tenant_id = p_tenant AND order_id = cur.order_id AND external_line_id = cur.external_line_id;
        SELECT * INTO o FROM channel_orders WHERE tenant_id = p_tenant AND id = cur.order_id;
        code := (SELECT k.code FROM skus k WHERE k.tenant_id = p_tenant AND k.id = cur.sku_id);
        PERFORM ingest_line_apply(p_tenant, p_connection, cur.order_id, cur, o.status, code,
                                  (SELECT kind FROM channel_connections WHERE tenant_id = p_tenant AND id = p_connection)
                                  || ':' || o.external_id);
        n := n + 1;
    END LOOP;
    RETURN n;
END $$;

-- A return from a channel: once per (return, line); the disposition decides
-- whether the units go back on hand, to inspection, or are written off.
-- Returns the number of movements recorded.
CREATE FUNCTION ingest_return(p_tenant uuid, p_connection uuid, p_return jsonb) RETURNS int
    LANGUAGE plpgsql AS $$
DECLARE
    l jsonb;
    sku bigint;
    code text;
    n int := 0;
    res jsonb;
    disp text;
    ref text := (SELECT kind FROM channel_connections WHERE tenant_id = p_tenant AND id = p_connection)
                || ':return:' || (p_return->>'id');
BEGIN
    FOR l IN SELECT value FROM jsonb_array_elements(p_return->'lines') LOOP
        SELECT li.sku_id, k.code INTO sku, code FROM listings li JOIN skus k ON k.tenant_id = li.tenant_id AND k.id = li.sku_id
         WHERE li.tenant_id = p_tenant AND li.connection_id = p_connection AND li.external_sku = l->>'sku';
        disp := coalesce(l->>'disposition', 'inspect');
        INSERT INTO channel_returns (tenant_id, connection_id, external_id, external_line_id, order_external_id,
                                     channel_sku, sku_id, qty, disposition)
        VALUES (p_tenant, p_connection, p_return->>'id', coalesce(l->>'id', l->>'sku'), p_return->>'order_id', l->>'sku',
                sku, (l->>'qty')::bigint, disp)
        ON CONFLICT DO NOTHING;
        CONTINUE WHEN NOT FOUND OR sku IS NULL;
        res := ledger_post(jsonb_build_array(jsonb_build_object('tenant', p_tenant, 'kind', 'return',
            'disposition', disp, 'channel', p_connection, 'reference', ref,
            'lines', jsonb_build_array(jsonb_build_object('sku', code, 'qty', (l->>'qty')::bigint)))))->0;
        IF (res->>'status')::int = 201 THEN
            UPDATE channel_returns SET movement_id = (res->'body'->'movements'->>0)::bigint
             WHERE tenant_id = p_tenant AND connection_id = p_connection AND external_id = p_return->>'id'
               AND external_line_id = coalesce(l->>'id', l->>'sku');
            n := n + 1;
        END IF;
    END LOOP;
    RETURN n;
END $$;

GRANT EXECUTE ON FUNCTION ingest_order(uuid, uuid, jsonb),
    ingest_line_apply(uuid, uuid, uuid, channel_order_lines, text, text, text),
    ingest_replay_unmapped(uuid, uuid, text), ingest_return(uuid, uuid, jsonb) TO onecount_app;

-- A new listing (by API, CSV or auto-map) takes over the order lines that
-- were parked waiting for its channel SKU, in the same transaction.
CREATE FUNCTION listing_replay_parked() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM channel_order_lines x WHERE x.tenant_id = NEW.tenant_id
                  AND x.connection_id = NEW.connection_id AND x.channel_sku = NEW.external_sku AND x.sku_id IS NULL) THEN
        PERFORM ingest_replay_unmapped(NEW.tenant_id, NEW.connection_id, NEW.external_sku);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER listing_replay_parked AFTER INSERT OR UPDATE OF external_sku ON listings
    FOR EACH ROW EXECUTE FUNCTION listing_replay_parked();

-- Wake the worker when a webhook arrives.
CREATE FUNCTION channel_event_notify() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('oc_events', NEW.tenant_id::text);
    RETURN NULL;
END $$;
CREATE TRIGGER channel_event_notify AFTER INSERT ON channel_events
    FOR EACH ROW EXECUTE FUNCTION channel_event_notify();

-- ---------------------------------------------------------------------------
-- push_claim: a batch of out-of-sync listings of one brand, leased to a worker.
-- ---------------------------------------------------------------------------
-- Leases are short (the worker's lease_seconds, 30 by default) and renewed
-- by leases_renew while the work runs, so a killed worker's claims are taken
-- over quickly and a slow channel never loses a lease it is still using.
CREATE FUNCTION push_claim(p_tenant uuid, p_owner text, p_limit int, p_skip uuid[], p_lease_s int) RETURNS jsonb
    LANGUAGE sql AS $$
    WITH c AS (
        SELECT l.tenant_id, l.id FROM listings l
          JOIN channel_connections cc ON cc.tenant_id = l.tenant_id AND cc.id = l.connection_id
         WHERE l.tenant_id = p_tenant AND l.desired_version > l.pushed_version AND l.state = 'active'
           AND cc.status = 'active' AND (l.lease_until IS NULL OR l.lease_until < now())
           AND (l.next_attempt_at IS NULL OR l.next_attempt_at <= now())
           AND NOT (l.connection_id = ANY (coalesce(p_skip, '{}')))
         -- a changed number before a re-push of the same number (a brand's full
         -- re-push must not delay its own sales)
         ORDER BY (l.pushed_qty IS DISTINCT FROM l.desired_qty) DESC, l.desired_at NULLS FIRST, l.id
         LIMIT p_limit FOR UPDATE OF l SKIP LOCKED),
    u AS (
        UPDATE listings l SET lease_owner = p_owner, lease_until = now() + p_lease_s * interval '1 second'
          FROM c WHERE l.tenant_id = c.tenant_id AND l.id = c.id
        RETURNING l.id, l.connection_id, l.sku_id, l.external_sku, l.item_ref, l.location_ref, l.desired_qty,
                  l.desired_version, l.pushed_qty, l.seen_qty, l.last_error, l.desired_at)
    SELECT coalesce(jsonb_agg(jsonb_build_object('listing_id', u.id, 'connection_id', u.connection_id,
        'sku_id', u.sku_id, 'sku', u.external_sku, 'item_ref', u.item_ref, 'location_ref', u.location_ref,
        'qty', u.desired_qty, 'version', u.desired_version,
        -- compare-and-set: what we believe the channel shows now
        'expect', CASE WHEN u.last_error = 'stale' THEN u.seen_qty ELSE u.pushed_qty END,
        'desired_at_us', (extract(epoch FROM u.desired_at) * 1000000)::bigint) ORDER BY u.connection_id), '[]')
    FROM u
$$;

-- ---------------------------------------------------------------------------
-- push_record: what the channel said about a batch.  results: [{"listing_id",
-- "connection_id", "sku_id", "qty", "version", "expect", "status":
-- ok|pending|stale|error, "current", "error", "retryable", "latency_ms"}].
-- Only the lease holder's rows are touched.  Stale answers (the channel's
-- number moved under us) schedule an order poll and a retry from the
-- channel's current number; errors back off exponentially with jitter.
-- ---------------------------------------------------------------------------
CREATE FUNCTION push_record(p_tenant uuid, p_owner text, p_results jsonb) RETURNS jsonb
    LANGUAGE plpgsql AS $$
DECLARE
    x jsonb;
    st text;
    ok int := 0;
    failed int := 0;
    conns uuid[] := '{}';
    a int;
BEGIN
    -- one listing after another in id order (see listings_refresh)
    FOR x IN SELECT value FROM jsonb_array_elements(p_results) ORDER BY value->>'listing_id' LOOP
        st := x->>'status';
        -- refused as stale, but the channel already shows the number we wanted (its own sale
        -- took it there): nothing to push
        IF st = 'stale' AND (x->>'current')::bigint = (x->>'qty')::bigint THEN
            st := 'ok';
        END IF;
        IF st IN ('ok', 'pending') THEN
            UPDATE listings SET pushed_qty = (x->>'qty')::bigint,
                   pushed_version = greatest(pushed_version, (x->>'version')::bigint), pushed_at = now(),
                   push_pending = (st = 'pending'),
                   seen_qty = CASE WHEN st = 'ok' THEN coalesce((x->>'current')::bigint, (x->>'qty')::bigint) ELSE seen_qty END,
                   seen_at = CASE WHEN st = 'ok' THEN now() ELSE seen_at END,
                   attempts = 0, next_attempt_at = NULL, last_error = NULL, lease_owner = NULL, lease_until = NULL
             WHERE tenant_id = p_tenant AND id = (x->>'listing_id')::uuid AND lease_owner = p_owner;
            ok := ok + 1;
        ELSIF st = 'stale' THEN
            UPDATE listings SET seen_qty = (x->>'current')::bigint, seen_at = now(), last_error = 'stale',
                   attempts = attempts + 1, next_attempt_at = now() + interval '2 seconds',
                   lease_owner = NULL, lease_until = NULL
             WHERE tenant_id = p_tenant AND id = (x->>'listing_id')::uuid AND lease_owner = p_owner;
            INSERT INTO drift_events (tenant_id, listing_id, connection_id, sku_id, seen_qty, pushed_qty, desired_qty,
                                      classification, action, detail)
            SELECT p_tenant, l.id, l.connection_id, l.sku_id, (x->>'current')::bigint, l.pushed_qty, l.desired_qty,
                   'stale_push', 'ingest_orders', 'compare-and-set refused: the channel changed the number'
              FROM listings l WHERE l.tenant_id = p_tenant AND l.id = (x->>'listing_id')::uuid;
            UPDATE routines SET next_run_at = least(next_run_at, now())
             WHERE tenant_id = p_tenant AND connection_id = (x->>'connection_id')::uuid AND kind = 'poll_orders';
        ELSE
            UPDATE listings SET attempts = attempts + 1,
                   next_attempt_at = now() + CASE WHEN coalesce((x->>'retryable')::boolean, true)
                       THEN least(interval '5 minutes', interval '1 second' * power(2, least(attempts, 8)))
                            * (0.75 + random() * 0.5)
                       ELSE interval '10 minutes' END,
                   last_error = left(x->>'error', 500), lease_owner = NULL, lease_until = NULL
             WHERE tenant_id = p_tenant AND id = (x->>'listing_id')::uuid AND lease_owner = p_owner
            RETURNING attempts INTO a;
            failed := failed + 1;
        END IF;
        INSERT INTO push_log (tenant_id, listing_id, connection_id, sku_id, qty, desired_version, expected, status,
                              channel_qty, error, latency_ms, desired_at)
        VALUES (p_tenant, (x->>'listing_id')::uuid, (x->>'connection_id')::uuid, (x->>'sku_id')::bigint,
                (x->>'qty')::bigint, (x->>'version')::bigint, (x->>'expect')::bigint, st, (x->>'current')::bigint,
                left(x->>'error', 500), (x->>'latency_ms')::int,
                to_timestamp((x->>'desired_at_us')::double precision / 1000000));
        IF NOT (x->>'connection_id')::uuid = ANY (conns) THEN
            conns := conns || (x->>'connection_id')::uuid;
        END IF;
    END LOOP;
    RETURN jsonb_build_object('ok', ok, 'failed', failed);
END $$;

-- Per-connection health after a batch: failures open the circuit (the worker
-- decides), successes close it; the push lag feeds the automatic buffer.
-- p_visible_ms: the round trip of pushes the channel applied at once (not
-- those it applies later: their lag is measured when read back), which is
-- the connection's push lag.
CREATE FUNCTION connection_health_record(p_tenant uuid, p_connection uuid, p_ok int, p_failed int, p_throttled int,
                                         p_latency_ms double precision, p_error text, p_circuit text,
                                         p_visible_ms double precision) RETURNS void
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
    IF p_visible_ms IS NOT NULL THEN
        UPDATE channel_connections SET push_lag_ms = CASE WHEN push_lag_ms IS NULL THEN p_visible_ms::bigint
                                                          ELSE (push_lag_ms * 0.8 + p_visible_ms * 0.2)::bigint END
         WHERE tenant_id = p_tenant AND id = p_connection;
    END IF;
    IF p_circuit = 'open' THEN
        INSERT INTO alerts (tenant_id, connection_id, kind, message)
        VALUES (p_tenant, p_connection, 'circuit_open', 'pushes to this channel keep failing: ' || coalesce(p_error, '?'))
        ON CONFLICT DO NOTHING;
    ELSIF p_ok > 0 THEN
        UPDATE alerts SET resolved_at = now()
         WHERE tenant_id = p_tenant AND connection_id = p_connection AND kind = 'circuit_open' AND resolved_at IS NULL;
    END IF;
END $$;

-- ---------------------------------------------------------------------------
-- read_back_record: quantities read from a channel, compared with what we
-- pushed; each difference is classified and healed:
--   pending_apply      the channel accepted a push and applies it later (Amazon) — wait
--   in_flight          a newer number is queued or being pushed — wait
--   order_not_ingested the channel shows fewer: it sold units we have not seen — poll orders now
--   channel_edit       the channel shows more (someone edited it) — push again
--   unmapped_listing   the channel does not know the listing — alert
-- results: [{"listing_id", "qty" (null = unknown to the channel)}].
-- ---------------------------------------------------------------------------
CREATE FUNCTION read_back_record(p_tenant uuid, p_connection uuid, p_results jsonb) RETURNS jsonb
    LANGUAGE plpgsql AS $$
DECLARE
    x jsonb;
    l listings%ROWTYPE;
    seen bigint;
    cls text;
    act text;
    n_ok int := 0;
    n_drift int := 0;
    poll boolean := false;
BEGIN
    FOR x IN SELECT value FROM jsonb_array_elements(p_results) ORDER BY value->>'listing_id' LOOP
        SELECT * INTO l FROM listings WHERE tenant_id = p_tenant AND id = (x->>'listing_id')::uuid FOR UPDATE;
        CONTINUE WHEN NOT FOUND;
        seen := (x->>'qty')::bigint;
        UPDATE listings SET seen_qty = seen, seen_at = now() WHERE tenant_id = p_tenant AND id = l.id;
        IF seen IS NOT DISTINCT FROM l.pushed_qty THEN
            n_ok := n_ok + 1;
            IF l.push_pending THEN
                -- the channel has applied it: how long that took is part of its lag
                UPDATE listings SET push_pending = false WHERE tenant_id = p_tenant AND id = l.id;
                UPDATE channel_connections SET push_lag_ms = CASE WHEN push_lag_ms IS NULL
                        THEN (extract(epoch FROM now() - l.pushed_at) * 1000)::bigint
                        ELSE (push_lag_ms * 0.8 + extract(epoch FROM now() - l.pushed_at) * 1000 * 0.2)::bigint END
                 WHERE tenant_id = p_tenant AND id = p_connection;
            END IF;
            UPDATE drift_events SET healed_at = now()
             WHERE tenant_id = p_tenant AND listing_id = l.id AND healed_at IS NULL;
            CONTINUE;
        END IF;
        IF seen IS NULL THEN
            cls := 'unmapped_listing'; act := 'none';
        ELSIF l.push_pending THEN
            cls := 'pending_apply'; act := 'none';
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
    IF poll THEN
        UPDATE routines SET next_run_at = least(next_run_at, now())
         WHERE tenant_id = p_tenant AND connection_id = p_connection AND kind = 'poll_orders';
    END IF;
    IF n_drift > 0 THEN
        PERFORM pg_notify('oc_dirty', p_tenant::text);
    END IF;
    RETURN jsonb_build_object('in_sync', n_ok, 'drift', n_drift);
END $$;

-- Units per hour per SKU and channel over the last 7 days (channel sales only).
CREATE FUNCTION velocity_refresh(p_tenant uuid) RETURNS int
    LANGUAGE plpgsql AS $$
DECLARE n int;
BEGIN
    INSERT INTO sku_velocity AS v (tenant_id, sku_id, connection_id, units_per_hour, measured_at)
    SELECT p_tenant, m.sku_id, m.channel_id, sum(m.qty) / (7 * 24.0), now()
      FROM movements m WHERE m.tenant_id = p_tenant AND m.kind = 'sale' AND m.channel_id IS NOT NULL
       AND m.created_at > now() - interval '7 days'
     GROUP BY m.sku_id, m.channel_id
    ON CONFLICT (tenant_id, sku_id, connection_id) DO UPDATE SET units_per_hour = excluded.units_per_hour,
        measured_at = now();
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END $$;

-- Extends every lease `p_owner` holds in the brand (the worker is alive and still on it).
CREATE FUNCTION leases_renew(p_tenant uuid, p_owner text, p_lease_s int) RETURNS int
    LANGUAGE plpgsql AS $$
DECLARE a int; b int;
BEGIN
    UPDATE listings SET lease_until = now() + p_lease_s * interval '1 second'
     WHERE tenant_id = p_tenant AND lease_owner = p_owner AND lease_until > now();
    GET DIAGNOSTICS a = ROW_COUNT;
    UPDATE routines SET lease_until = now() + p_lease_s * interval '1 second'
     WHERE tenant_id = p_tenant AND lease_owner = p_owner AND lease_until > now();
    GET DIAGNOSTICS b = ROW_COUNT;
    RETURN a + b;
END $$;

GRANT EXECUTE ON FUNCTION push_claim(uuid, text, int, uuid[], int), push_record(uuid, text, jsonb), leases_renew(uuid, text, int),
    connection_health_record(uuid, uuid, int, int, int, double precision, text, text, double precision),
    read_back_record(uuid, uuid, jsonb), velocity_refresh(uuid) TO onecount_app;

-- ---------------------------------------------------------------------------
-- Routines: claimed under a lease; the next run is scheduled when a run
-- starts, so a request to run sooner made during the run (a webhook, a stale
-- push, "run now") is kept rather than overwritten when the run finishes.
-- ---------------------------------------------------------------------------
CREATE FUNCTION routines_claim(p_tenant uuid, p_owner text, p_limit int, p_lease_s int) RETURNS jsonb
    LANGUAGE sql AS $$
    WITH c AS (
        SELECT r.tenant_id, r.id FROM routines r
          LEFT JOIN channel_connections cc ON cc.tenant_id = r.tenant_id AND cc.id = r.connection_id
         WHERE r.tenant_id = p_tenant AND r.enabled AND r.next_run_at <= now()
           AND (r.lease_until IS NULL OR r.lease_until < now())
           AND (r.connection_id IS NULL OR cc.status = 'active')
         ORDER BY r.next_run_at LIMIT p_limit FOR UPDATE OF r SKIP LOCKED),
    u AS (
        UPDATE routines r SET lease_owner = p_owner, lease_until = now() + p_lease_s * interval '1 second',
               last_started_at = now(), next_run_at = now() + r.interval_seconds * interval '1 second'
          FROM c WHERE r.tenant_id = c.tenant_id AND r.id = c.id
        RETURNING r.id, r.connection_id, r.kind, r.interval_seconds)
    SELECT coalesce(jsonb_agg(jsonb_build_object('id', id, 'connection_id', connection_id, 'kind', kind,
                                                 'interval_seconds', interval_seconds)), '[]')
      FROM u
$$;

-- p_retry_s: on failure, run again this soon (bounded by the routine's own interval).
CREATE FUNCTION routine_finish(p_tenant uuid, p_id uuid, p_owner text, p_status text, p_detail jsonb,
                               p_retry_s int) RETURNS void
    LANGUAGE sql AS $$
    UPDATE routines SET last_finished_at = now(), last_status = p_status, last_detail = p_detail,
           lease_owner = NULL, lease_until = NULL,
           next_run_at = CASE WHEN p_retry_s IS NULL THEN next_run_at
                              ELSE least(next_run_at, now() + p_retry_s * interval '1 second') END
     WHERE tenant_id = p_tenant AND id = p_id AND lease_owner = p_owner
$$;

-- Run a connection's routine of `kind` as soon as a worker is free.
CREATE FUNCTION routine_run_soon(p_tenant uuid, p_connection uuid, p_kind text) RETURNS void
    LANGUAGE sql AS $$
    UPDATE routines SET next_run_at = least(next_run_at, now())
     WHERE tenant_id = p_tenant AND connection_id IS NOT DISTINCT FROM p_connection AND kind = p_kind AND enabled;
    SELECT pg_notify('oc_events', p_tenant::text);
$$;

CREATE FUNCTION alert_open(p_tenant uuid, p_connection uuid, p_kind text, p_message text) RETURNS void
    LANGUAGE sql AS $$
    INSERT INTO alerts (tenant_id, connection_id, kind, message) VALUES (p_tenant, p_connection, p_kind, left(p_message, 500))
    ON CONFLICT DO NOTHING
$$;

CREATE FUNCTION alert_resolve(p_tenant uuid, p_connection uuid, p_kind text) RETURNS void
    LANGUAGE sql AS $$
    UPDATE alerts SET resolved_at = now()
     WHERE tenant_id = p_tenant AND connection_id IS NOT DISTINCT FROM p_connection AND kind = p_kind
       AND resolved_at IS NULL
$$;

-- ---------------------------------------------------------------------------
-- events_process: stored webhooks, oldest first.  Order and refund topics
-- make the connection's order or return poll run now (the poll reads the
-- order as the channel has it now, so duplicates and out-of-order deliveries
-- cannot move anything twice); inventory-level topics are read-backs: a
-- number the channel shows that differs from what onecount pushed, and is
-- newer than that push, is classified and healed like any drift.
-- ---------------------------------------------------------------------------
CREATE FUNCTION events_process(p_tenant uuid, p_limit int) RETURNS jsonb
    LANGUAGE plpgsql AS $$
DECLARE
    e channel_events%ROWTYPE;
    n int := 0;
    polls int := 0;
    levels int := 0;
    l listings%ROWTYPE;
    item text;
BEGIN
    FOR e IN SELECT * FROM channel_events WHERE tenant_id = p_tenant AND processed_at IS NULL
              ORDER BY id LIMIT p_limit FOR UPDATE SKIP LOCKED LOOP
        IF e.topic LIKE 'orders/%' THEN
            PERFORM routine_run_soon(p_tenant, e.connection_id, 'poll_orders');
            polls := polls + 1;
        ELSIF e.topic IN ('refunds/create', 'returns/create', 'returns/close') THEN
            PERFORM routine_run_soon(p_tenant, e.connection_id, 'poll_returns');
            -- a refund that cancels unshipped units changes the order too
            PERFORM routine_run_soon(p_tenant, e.connection_id, 'poll_orders');
            polls := polls + 1;
        ELSIF e.topic = 'inventory_levels/update' THEN
            item := 'gid://shopify/InventoryItem/' || (e.body->>'inventory_item_id');
            SELECT * INTO l FROM listings WHERE tenant_id = p_tenant AND connection_id = e.connection_id
               AND item_ref = item;
            IF FOUND AND e.body ? 'available' AND (l.pushed_at IS NULL OR (e.body->>'updated_at') IS NULL
                   OR (e.body->>'updated_at')::timestamptz > l.pushed_at) THEN
                PERFORM read_back_record(p_tenant, e.connection_id,
                    jsonb_build_array(jsonb_build_object('listing_id', l.id, 'qty', (e.body->>'available')::bigint)));
                levels := levels + 1;
            END IF;
        END IF;
        UPDATE channel_events SET processed_at = now(), attempts = attempts + 1
         WHERE tenant_id = p_tenant AND id = e.id;
        n := n + 1;
    END LOOP;
    RETURN jsonb_build_object('processed', n, 'polls', polls, 'levels', levels);
END $$;

-- Workers cache connections: tell them when one changes.
CREATE FUNCTION connection_changed() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('oc_conn', NEW.tenant_id::text || ':' || NEW.id::text);
    IF NEW.status = 'active' AND OLD.status <> 'active' THEN
        PERFORM pg_notify('oc_dirty', NEW.tenant_id::text);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER connection_changed AFTER UPDATE ON channel_connections FOR EACH ROW
    WHEN (OLD.settings IS DISTINCT FROM NEW.settings OR OLD.base_url IS DISTINCT FROM NEW.base_url
          OR OLD.credentials_updated_at IS DISTINCT FROM NEW.credentials_updated_at
          OR OLD.status IS DISTINCT FROM NEW.status OR OLD.rate_scale IS DISTINCT FROM NEW.rate_scale)
    EXECUTE FUNCTION connection_changed();

GRANT EXECUTE ON FUNCTION routines_claim(uuid, text, int, int), routine_finish(uuid, uuid, text, text, jsonb, int),
    routine_run_soon(uuid, uuid, text), alert_open(uuid, uuid, text, text), alert_resolve(uuid, uuid, text),
    events_process(uuid, int) TO onecount_app;

-- The "unmapped SKU" alert of a connection is open exactly while order lines wait for a listing.
CREATE FUNCTION unmapped_alert_refresh(p_tenant uuid, p_connection uuid) RETURNS int
    LANGUAGE plpgsql AS $$
DECLARE n int;
BEGIN
    SELECT count(DISTINCT channel_sku) INTO n FROM channel_order_lines
     WHERE tenant_id = p_tenant AND connection_id = p_connection AND sku_id IS NULL;
    IF n > 0 THEN
        PERFORM alert_open(p_tenant, p_connection, 'unmapped_sku',
                           n || ' channel SKU(s) in orders have no listing; their order lines wait in the unmapped queue');
    ELSE
        PERFORM alert_resolve(p_tenant, p_connection, 'unmapped_sku');
    END IF;
    RETURN n;
END $$;
GRANT EXECUTE ON FUNCTION unmapped_alert_refresh(uuid, uuid) TO onecount_app;
