-- 0003_ledger.sql — the master ledger: SKUs, bundles, stock balances,
-- append-only movements, holds, oversell incidents, idempotency keys.
--
-- Every balance changes only together with its movement, inside one of the
-- functions below, in one transaction.  on_hand never goes below zero (a
-- CHECK backs it); available = on_hand - committed - held may go below zero
-- only through a channel sale (the channel already sold it), and then an
-- oversell incident opens.  Replaying movements rebuilds every balance
-- (ledger_verify).

CREATE TABLE skus (
    tenant_id uuid NOT NULL REFERENCES brands (id),
    id bigint GENERATED ALWAYS AS IDENTITY,
    code text NOT NULL CHECK (length(code) BETWEEN 1 AND 64 AND code !~ '[[:cntrl:]]' AND code = btrim(code)),
    title text NOT NULL DEFAULT '' CHECK (length(title) <= 300),
    barcode text CHECK (length(barcode) <= 64),
    kind text NOT NULL DEFAULT 'simple' CHECK (kind IN ('simple', 'bundle')),
    archived_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, code)
);

-- Components of a bundle (one level: a component is always a simple SKU).
CREATE TABLE bundle_components (
    tenant_id uuid NOT NULL,
    bundle_id bigint NOT NULL,
    component_id bigint NOT NULL,
    qty int NOT NULL CHECK (qty BETWEEN 1 AND 10000),
    PRIMARY KEY (tenant_id, bundle_id, component_id),
    FOREIGN KEY (tenant_id, bundle_id) REFERENCES skus (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, component_id) REFERENCES skus (tenant_id, id),
    CHECK (bundle_id <> component_id)
);
CREATE INDEX bundle_components_component ON bundle_components (tenant_id, component_id);

CREATE TABLE stock (
    tenant_id uuid NOT NULL,
    sku_id bigint NOT NULL,
    on_hand bigint NOT NULL DEFAULT 0 CHECK (on_hand >= 0),
    committed bigint NOT NULL DEFAULT 0 CHECK (committed >= 0),
    held bigint NOT NULL DEFAULT 0 CHECK (held >= 0),
    inspecting bigint NOT NULL DEFAULT 0 CHECK (inspecting >= 0),
    version bigint NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, sku_id),
    FOREIGN KEY (tenant_id, sku_id) REFERENCES skus (tenant_id, id)
);

CREATE TABLE movements (
    tenant_id uuid NOT NULL,
    id bigint GENERATED ALWAYS AS IDENTITY,
    sku_id bigint NOT NULL,
    kind text NOT NULL CHECK (kind IN ('receipt', 'sale', 'ship', 'cancel', 'return', 'adjust', 'count')),
    qty bigint NOT NULL,
    on_hand_delta bigint NOT NULL,
    committed_delta bigint NOT NULL,
    inspecting_delta bigint NOT NULL DEFAULT 0,
    on_hand_after bigint NOT NULL,
    committed_after bigint NOT NULL,
    disposition text CHECK (disposition IN ('restock', 'damaged', 'inspect')),
    reason text,
    reference text,
    channel_id uuid,
    bundle_sku_id bigint,
    guarded boolean NOT NULL DEFAULT false,
    actor_user uuid,
    actor_token uuid,
    request_id text,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, sku_id) REFERENCES skus (tenant_id, id)
);
CREATE INDEX movements_sku_time ON movements (tenant_id, sku_id, created_at, id);

-- Holds: short reservations.  Created in Redis on the fast path and mirrored
-- here in batches; created here directly when Redis is unavailable.  stock.held
-- is the sum of the active holds below.
CREATE TABLE holds (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL,
    lines jsonb NOT NULL,  -- [{"sku_id": n, "qty": n}] after bundle expansion
    request jsonb NOT NULL, -- the lines as asked: [{"sku": code, "qty": n}]
    reference text,
    state text NOT NULL CHECK (state IN ('active', 'confirmed', 'released', 'expired')),
    source text NOT NULL CHECK (source IN ('redis', 'postgres')),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    ended_at timestamptz,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX holds_active_expiry ON holds (expires_at) WHERE state = 'active';

CREATE TABLE oversell_incidents (
    tenant_id uuid NOT NULL,
    id bigint GENERATED ALWAYS AS IDENTITY,
    sku_id bigint NOT NULL,
    movement_id bigint NOT NULL,
    qty_short bigint NOT NULL CHECK (qty_short > 0),
    channel_id uuid,
    reference text,
    state text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'resolved')),
    resolution text CHECK (resolution IN ('cancelled_order', 'restocked', 'fulfilled_elsewhere', 'written_off')),
    note text,
    created_at timestamptz NOT NULL DEFAULT now(),
    resolved_at timestamptz,
    resolved_by uuid,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, sku_id) REFERENCES skus (tenant_id, id),
    FOREIGN KEY (tenant_id, movement_id) REFERENCES movements (tenant_id, id)
);
CREATE INDEX oversell_open ON oversell_incidents (tenant_id, state, created_at);

-- Idempotency-Key: the first successful response per (brand, key), for 24 hours.
CREATE TABLE idempotency_keys (
    tenant_id uuid NOT NULL,
    key text NOT NULL,
    request_hash text NOT NULL,
    status int NOT NULL,
    body jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, key)
);

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['skus', 'bundle_components', 'stock', 'movements', 'holds', 'oversell_incidents',
                             'idempotency_keys'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_wall ON %I USING (tenant_id = ANY (current_tenants()))'
                       ' WITH CHECK (tenant_id = ANY (current_tenants()))', t);
    END LOOP;
END $$;

GRANT SELECT, INSERT, UPDATE ON skus, stock, holds, oversell_incidents TO onecount_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON bundle_components, idempotency_keys TO onecount_app;
GRANT SELECT, INSERT ON movements TO onecount_app;

-- ---------------------------------------------------------------------------
-- Idempotency for any brand-scoped POST.  The API sends
--   SELECT idem_begin(tenant, key, hash)   first in the transaction,
-- then its statements, the last of which wraps its JSON answer in
--   idem_result(status, body).
-- idem_begin raises to stop the transaction when the key is not new:
--   OCIDF: a request with this key is in flight (409)
--   OCIDM: the key was used with a different request (422)
--   OCIDR: replay; DETAIL holds "<status> <body>" of the stored response
-- ---------------------------------------------------------------------------

CREATE FUNCTION idem_claim(p_tenant uuid, p_key text, p_hash text, OUT o_state text, OUT o_status int, OUT o_body jsonb)
    LANGUAGE plpgsql AS $$
DECLARE r idempotency_keys%ROWTYPE;
BEGIN
    IF NOT pg_try_advisory_xact_lock(hashtextextended(p_tenant::text || '/' || p_key, 727274)) THEN
        o_state := 'in_flight';
        RETURN;
    END IF;
    SELECT * INTO r FROM idempotency_keys WHERE tenant_id = p_tenant AND key = p_key;
    IF FOUND AND r.created_at < now() - interval '24 hours' THEN
        DELETE FROM idempotency_keys WHERE tenant_id = p_tenant AND key = p_key;
        FOUND := false;
    END IF;
    IF NOT FOUND THEN
        o_state := 'new';
    ELSIF r.request_hash <> p_hash THEN
        o_state := 'mismatch';
    ELSE
        o_state := 'replay';
        o_status := r.status;
        o_body := r.body;
    END IF;
END $$;

CREATE FUNCTION idem_begin(p_tenant uuid, p_key text, p_hash text) RETURNS boolean
    LANGUAGE plpgsql AS $$
DECLARE c record;
BEGIN
    IF p_key IS NULL THEN
        RETURN true;
    END IF;
    c := idem_claim(p_tenant, p_key, p_hash);
    IF c.o_state = 'in_flight' THEN
        RAISE EXCEPTION 'a request with this Idempotency-Key is in progress' USING ERRCODE = 'OCIDF';
    ELSIF c.o_state = 'mismatch' THEN
        RAISE EXCEPTION 'this Idempotency-Key was used with a different request' USING ERRCODE = 'OCIDM';
    ELSIF c.o_state = 'replay' THEN
        RAISE EXCEPTION 'replay' USING ERRCODE = 'OCIDR', DETAIL = c.o_status::text || ' ' || c.o_body::text;
    END IF;
    PERFORM set_config('app.idem_key', p_key, true);
    PERFORM set_config('app.idem_hash', p_hash, true);
    PERFORM set_config('app.idem_tenant', p_tenant::text, true);
    RETURN true;
END $$;

CREATE FUNCTION idem_result(p_status int, p_body jsonb) RETURNS jsonb
    LANGUAGE plpgsql AS $$
DECLARE k text := nullif(current_setting('app.idem_key', true), '');
BEGIN
    IF k IS NOT NULL THEN
        INSERT INTO idempotency_keys (tenant_id, key, request_hash, status, body)
        VALUES (current_setting('app.idem_tenant')::uuid, k, current_setting('app.idem_hash'), p_status, p_body);
        PERFORM set_config('app.idem_key', '', true);
    END IF;
    RETURN p_body;
END $$;

-- ---------------------------------------------------------------------------
-- Availability of any SKU: simple SKUs from their stock row, bundles as the
-- minimum over components of floor(component available / qty).
-- ---------------------------------------------------------------------------

CREATE FUNCTION sku_available(p_tenant uuid, p_sku bigint) RETURNS bigint
    LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN s.kind = 'simple' THEN
                (SELECT st.on_hand - st.committed - st.held FROM stock st
                  WHERE st.tenant_id = p_tenant AND st.sku_id = p_sku)
           ELSE (SELECT coalesce(min(floor((st.on_hand - st.committed - st.held)::numeric / bc.qty)), 0)::bigint
                   FROM bundle_components bc JOIN stock st ON st.tenant_id = bc.tenant_id AND st.sku_id = bc.component_id
                  WHERE bc.tenant_id = p_tenant AND bc.bundle_id = p_sku)
           END
    FROM skus s WHERE s.tenant_id = p_tenant AND s.id = p_sku
$$;

-- ---------------------------------------------------------------------------
-- ledger_post: apply a batch of movement requests, each independently.
--
-- p_items: [{ "tenant", "key", "hash", "user", "token", "request_id", "kind",
--             "lines": [{"sku", "qty"}], "reason", "disposition",
--             "from_inspection", "reference", "channel", "guard" }]
-- Returns one {"status", "body"} per item, in order.  Checks come before
-- writes, so a refused item leaves nothing behind; items are applied in
-- order, so a later item sees an earlier one's effect.
-- ---------------------------------------------------------------------------

CREATE FUNCTION ledger_err(p_status int, p_code text, p_message text, p_field text DEFAULT NULL) RETURNS jsonb
    LANGUAGE sql IMMUTABLE AS $$
    SELECT jsonb_build_object('status', p_status, 'body',
        jsonb_build_object('error', jsonb_build_object('code', p_code, 'message', p_message, 'field', p_field)))
$$;

CREATE TYPE ledger_line AS (sku_id bigint, code text, qty bigint, bundle_sku_id bigint);

CREATE FUNCTION ledger_post(p_items jsonb) RETURNS jsonb
    LANGUAGE plpgsql AS $$
DECLARE
    item jsonb;
    results jsonb := '[]';
    res jsonb;
    claim record;
    v_kind text;
    v_guard boolean;
    v_disp text;
    from_insp boolean;
    bad record;
    checks ledger_line[];  -- one per SKU: what the checks compare
    moves ledger_line[];   -- one per SKU and bundle: what the movements record
    ln ledger_line;
    st record;
    d_on bigint; d_com bigint; d_insp bigint;
    mov_id bigint;
    movs jsonb; bal jsonb; overs jsonb;
    avail bigint;
    p_tenant uuid;
    lk record;
    line jsonb;
    lock_t uuid[] := '{}';
    lock_s bigint[] := '{}';
BEGIN
    -- Lock every balance the batch may touch, in one global order, before
    -- anything else: concurrent batches then never deadlock.  Done line by
    -- line so each lookup is an index probe (the planner cannot know how few
    -- lines a batch has and would scan whole tables).
    FOR item IN SELECT value FROM jsonb_array_elements(p_items) LOOP
        FOR line IN SELECT value FROM jsonb_array_elements(item->'lines') LOOP
            SELECT s.tenant_id, s.id, s.kind INTO lk FROM skus s
             WHERE s.tenant_id = (item->>'tenant')::uuid AND s.code = line->>'sku';
            CONTINUE WHEN NOT FOUND;
            IF lk.kind = 'bundle' THEN
                lock_t := lock_t || ARRAY(SELECT lk.tenant_id FROM bundle_components b
                                           WHERE b.tenant_id = lk.tenant_id AND b.bundle_id = lk.id);
                lock_s := lock_s || ARRAY(SELECT b.component_id FROM bundle_components b
                                           WHERE b.tenant_id = lk.tenant_id AND b.bundle_id = lk.id);
            ELSE
                lock_t := lock_t || lk.tenant_id;
                lock_s := lock_s || lk.id;
            END IF;
        END LOOP;
    END LOOP;
    FOR lk IN SELECT DISTINCT t, s FROM unnest(lock_t, lock_s) AS u(t, s) ORDER BY t, s LOOP
        PERFORM 1 FROM stock WHERE tenant_id = lk.t AND sku_id = lk.s FOR UPDATE;
    END LOOP;

    FOR item IN SELECT value FROM jsonb_array_elements(p_items) LOOP
        res := NULL;
        p_tenant := (item->>'tenant')::uuid;
        v_kind := item->>'kind';
        v_guard := coalesce((item->>'guard')::boolean, false);
        v_disp := item->>'disposition';
        from_insp := coalesce((item->>'from_inspection')::boolean, false);

        -- Idempotency.
        IF item->>'key' IS NOT NULL THEN
            claim := idem_claim(p_tenant, item->>'key', item->>'hash');
            IF claim.o_state = 'in_flight' THEN
                res := ledger_err(409, 'in_flight', 'a request with this Idempotency-Key is in progress');
            ELSIF claim.o_state = 'mismatch' THEN
                res := ledger_err(422, 'idempotency_mismatch', 'this Idempotency-Key was used with a different request');
            ELSIF claim.o_state = 'replay' THEN
                res := jsonb_build_object('status', claim.o_status, 'body', claim.o_body, 'replayed', true);
            END IF;
        END IF;

        -- Resolve the lines, refusing unknown SKUs, stock moves on bundles and empty bundles.
        IF res IS NULL THEN
            SELECT l.ord - 1 AS i, l.value->>'sku' AS code, s.id, s.kind,
                   (s.kind = 'bundle' AND NOT EXISTS (SELECT 1 FROM bundle_components bc
                                                       WHERE bc.tenant_id = p_tenant AND bc.bundle_id = s.id)) AS empty
              INTO bad
              FROM jsonb_array_elements(item->'lines') WITH ORDINALITY AS l(value, ord)
              LEFT JOIN skus s ON s.tenant_id = p_tenant AND s.code = l.value->>'sku'
             WHERE s.id IS NULL OR (s.kind = 'bundle' AND v_kind IN ('receipt', 'adjust', 'count'))
                OR (s.kind = 'bundle' AND NOT EXISTS (SELECT 1 FROM bundle_components bc
                                                       WHERE bc.tenant_id = p_tenant AND bc.bundle_id = s.id))
             ORDER BY l.ord LIMIT 1;
            IF FOUND THEN
                IF bad.id IS NULL THEN
                    res := ledger_err(422, 'unknown_sku', format('no SKU %s in this brand', bad.code),
                                      format('lines[%s].sku', bad.i));
                ELSIF bad.empty THEN
                    res := ledger_err(422, 'empty_bundle', format('bundle %s has no components', bad.code),
                                      format('lines[%s].sku', bad.i));
                ELSE
                    res := ledger_err(422, 'bundle_has_no_stock',
                        format('%s is a bundle: its stock is its components''; %s those instead', bad.code, v_kind),
                        format('lines[%s].sku', bad.i));
                END IF;
            END IF;
        END IF;

        -- Expand bundles into components; sum per SKU for the checks.
        IF res IS NULL THEN
            WITH l AS (
                SELECT s.id, s.code, s.kind, (v->>'qty')::bigint AS qty
                  FROM jsonb_array_elements(item->'lines') v
                  JOIN skus s ON s.tenant_id = p_tenant AND s.code = v->>'sku'),
            x AS (
                SELECT l.id AS sku_id, l.code, l.qty, NULL::bigint AS bundle_sku_id FROM l WHERE l.kind = 'simple'
                UNION ALL
                SELECT bc.component_id, c.code, bc.qty * l.qty, l.id
                  FROM l JOIN bundle_components bc ON bc.tenant_id = p_tenant AND bc.bundle_id = l.id
                  JOIN skus c ON c.tenant_id = p_tenant AND c.id = bc.component_id
                 WHERE l.kind = 'bundle')
            SELECT (SELECT array_agg(ROW(sku_id, code, qty, NULL)::ledger_line ORDER BY sku_id)
                      FROM (SELECT sku_id, min(code) AS code, sum(qty)::bigint AS qty FROM x GROUP BY sku_id) a),
                   (SELECT array_agg(ROW(sku_id, code, qty, bundle_sku_id)::ledger_line ORDER BY sku_id, bundle_sku_id)
                      FROM (SELECT sku_id, min(code) AS code, sum(qty)::bigint AS qty, bundle_sku_id FROM x
                             GROUP BY sku_id, bundle_sku_id) b)
              INTO checks, moves;
            IF v_kind = 'count' AND cardinality(moves) <> jsonb_array_length(item->'lines') THEN
                res := ledger_err(422, 'duplicate_sku', 'a count names each SKU once', 'lines');
            END IF;
        END IF;

        -- Lock the balances in SKU order, then check before writing anything.
        IF res IS NULL THEN
            FOREACH ln IN ARRAY checks LOOP
                SELECT on_hand, committed, held, inspecting INTO st FROM stock
                 WHERE tenant_id = p_tenant AND sku_id = ln.sku_id;
                avail := st.on_hand - st.committed - st.held;
                IF v_kind = 'sale' AND v_guard AND avail < ln.qty THEN
                    res := ledger_err(409, 'insufficient_stock',
                        format('%s has %s available, %s requested', ln.code, greatest(avail, 0), ln.qty), 'lines');
                ELSIF v_kind = 'ship' AND (st.committed < ln.qty OR st.on_hand < ln.qty) THEN
                    res := ledger_err(409, 'nothing_to_ship',
                        format('%s has %s sold and %s on hand; cannot ship %s', ln.code, st.committed, st.on_hand,
                               ln.qty), 'lines');
                ELSIF v_kind = 'cancel' AND st.committed < ln.qty THEN
                    res := ledger_err(409, 'nothing_to_cancel',
                        format('%s has only %s sold and unshipped', ln.code, st.committed), 'lines');
                ELSIF v_kind = 'adjust' AND st.on_hand + ln.qty < 0 THEN
                    res := ledger_err(409, 'negative_on_hand',
                        format('%s has %s on hand; adjusting by %s would go below zero', ln.code, st.on_hand, ln.qty),
                        'lines');
                ELSIF v_kind = 'return' AND from_insp AND st.inspecting < ln.qty THEN
                    res := ledger_err(409, 'nothing_in_inspection',
                        format('%s has only %s units in inspection', ln.code, st.inspecting), 'lines');
                END IF;
                EXIT WHEN res IS NOT NULL;
            END LOOP;
        END IF;

        -- Apply: one movement per SKU and source (bundle), balances changed with it.
        IF res IS NULL THEN
            movs := '[]'; bal := '{}'; overs := '[]';
            FOREACH ln IN ARRAY moves LOOP
                d_on := 0; d_com := 0; d_insp := 0;
                CASE v_kind
                    WHEN 'receipt' THEN d_on := ln.qty;
                    WHEN 'sale' THEN d_com := ln.qty;
                    WHEN 'ship' THEN d_on := -ln.qty; d_com := -ln.qty;
                    WHEN 'cancel' THEN d_com := -ln.qty;
                    WHEN 'adjust' THEN d_on := ln.qty;
                    WHEN 'count' THEN
                        d_on := ln.qty - (SELECT on_hand FROM stock WHERE tenant_id = p_tenant AND sku_id = ln.sku_id);
                    WHEN 'return' THEN
                        IF from_insp THEN d_insp := -ln.qty; END IF;
                        IF v_disp = 'restock' THEN d_on := ln.qty;
                        ELSIF v_disp = 'inspect' THEN d_insp := d_insp + ln.qty;
                        END IF;
                END CASE;
                UPDATE stock SET on_hand = on_hand + d_on, committed = committed + d_com,
                                 inspecting = inspecting + d_insp, version = version + 1, updated_at = now()
                 WHERE tenant_id = p_tenant AND sku_id = ln.sku_id
                 RETURNING on_hand, committed, held, inspecting, version INTO st;
                INSERT INTO movements (tenant_id, sku_id, kind, qty, on_hand_delta, committed_delta, inspecting_delta,
                                       on_hand_after, committed_after, disposition, reason, reference, channel_id,
                                       bundle_sku_id, guarded, actor_user, actor_token, request_id)
                VALUES (p_tenant, ln.sku_id, v_kind, ln.qty, d_on, d_com, d_insp, st.on_hand, st.committed,
                        v_disp, item->>'reason', item->>'reference', (item->>'channel')::uuid,
                        ln.bundle_sku_id, v_guard, (item->>'user')::uuid, (item->>'token')::uuid,
                        item->>'request_id')
                RETURNING id INTO mov_id;
                movs := movs || to_jsonb(mov_id);
                avail := st.on_hand - st.committed - st.held;
                bal := bal || jsonb_build_object(ln.code, jsonb_build_object('sku', ln.code, 'sku_id', ln.sku_id, 'on_hand', st.on_hand,
                    'committed', st.committed, 'held', st.held, 'inspecting', st.inspecting, 'available', avail,
                    'version', st.version));
                IF v_kind = 'sale' AND avail < 0 THEN
                    INSERT INTO oversell_incidents (tenant_id, sku_id, movement_id, qty_short, channel_id, reference)
                    VALUES (p_tenant, ln.sku_id, mov_id, least(-avail, ln.qty), (item->>'channel')::uuid,
                            item->>'reference');
                    overs := overs || jsonb_build_object('sku', ln.code, 'qty_short', least(-avail, ln.qty));
                END IF;
            END LOOP;
            PERFORM audit_write(p_tenant, NULL, (item->>'user')::uuid, (item->>'token')::uuid, 'movement.' || v_kind,
                                'movement', movs->>0, jsonb_build_object('lines', item->'lines', 'reference',
                                item->>'reference'), item->>'request_id');
            res := jsonb_build_object('status', 201, 'body', jsonb_build_object('kind', v_kind, 'movements', movs,
                                      'balances', (SELECT jsonb_agg(value) FROM jsonb_each(bal)), 'oversells', overs));
            IF item->>'key' IS NOT NULL THEN
                INSERT INTO idempotency_keys (tenant_id, key, request_hash, status, body)
                VALUES (p_tenant, item->>'key', item->>'hash', 201, res->'body');
            END IF;
        END IF;
        results := results || res;
    END LOOP;
    RETURN results;
END $$;

-- ---------------------------------------------------------------------------
-- ledger_verify: replay every movement and compare with the balances.
-- ---------------------------------------------------------------------------

CREATE FUNCTION ledger_verify(p_tenant uuid) RETURNS jsonb
    LANGUAGE sql STABLE AS $$
    WITH replay AS (
        SELECT sku_id, sum(on_hand_delta) AS on_hand, sum(committed_delta) AS committed,
               sum(inspecting_delta) AS inspecting
          FROM movements WHERE tenant_id = p_tenant GROUP BY sku_id),
    holds_sum AS (
        SELECT (l->>'sku_id')::bigint AS sku_id, sum((l->>'qty')::bigint) AS held
          FROM holds h, jsonb_array_elements(h.lines) l
         WHERE h.tenant_id = p_tenant AND h.state = 'active' GROUP BY 1),
    cmp AS (
        SELECT k.code, s.on_hand, s.committed, s.held, s.inspecting,
               coalesce(r.on_hand, 0) AS r_on_hand, coalesce(r.committed, 0) AS r_committed,
               coalesce(r.inspecting, 0) AS r_inspecting, coalesce(h.held, 0) AS r_held
          FROM stock s JOIN skus k ON k.tenant_id = s.tenant_id AND k.id = s.sku_id
          LEFT JOIN replay r ON r.sku_id = s.sku_id LEFT JOIN holds_sum h ON h.sku_id = s.sku_id
         WHERE s.tenant_id = p_tenant)
    SELECT jsonb_build_object(
        'skus_checked', (SELECT count(*) FROM cmp),
        'movements_replayed', (SELECT count(*) FROM movements WHERE tenant_id = p_tenant),
        'mismatches', coalesce((SELECT jsonb_agg(jsonb_build_object('sku', code,
            'stored', jsonb_build_object('on_hand', on_hand, 'committed', committed, 'held', held, 'inspecting', inspecting),
            'replayed', jsonb_build_object('on_hand', r_on_hand, 'committed', r_committed, 'held', r_held,
                                           'inspecting', r_inspecting)))
            FROM cmp WHERE on_hand <> r_on_hand OR committed <> r_committed OR held <> r_held
                        OR inspecting <> r_inspecting), '[]'))
$$;

GRANT EXECUTE ON FUNCTION idem_claim(uuid, text, text), idem_begin(uuid, text, text), idem_result(int, jsonb),
    sku_available(uuid, bigint), ledger_err(int, text, text, text), ledger_post(jsonb),
    ledger_verify(uuid) TO onecount_app;

-- ---------------------------------------------------------------------------
-- Holds.  `lines` are always expanded to simple SKUs: [{"sku_id", "qty"}].
-- ---------------------------------------------------------------------------

-- Expands requested lines ([{"sku": code, "qty": n}]) into components; NULL
-- plus the offending index when a SKU is unknown or a bundle is empty.
CREATE FUNCTION holds_expand(p_tenant uuid, p_request jsonb, OUT o_lines jsonb, OUT o_bad int, OUT o_bad_code text)
    LANGUAGE plpgsql STABLE AS $$
DECLARE
    line jsonb;
    k record;
    i int := 0;
    acc jsonb := '{}';
    comp record;
BEGIN
    FOR line IN SELECT value FROM jsonb_array_elements(p_request) LOOP
        SELECT id, kind INTO k FROM skus WHERE tenant_id = p_tenant AND code = line->>'sku';
        IF NOT FOUND THEN
            o_bad := i; o_bad_code := line->>'sku'; RETURN;
        END IF;
        IF k.kind = 'simple' THEN
            acc := jsonb_set(acc, ARRAY[k.id::text], to_jsonb(coalesce((acc->>k.id::text)::bigint, 0) + (line->>'qty')::bigint));
        ELSE
            FOR comp IN SELECT component_id, qty FROM bundle_components WHERE tenant_id = p_tenant AND bundle_id = k.id LOOP
                acc := jsonb_set(acc, ARRAY[comp.component_id::text],
                                 to_jsonb(coalesce((acc->>comp.component_id::text)::bigint, 0) + comp.qty * (line->>'qty')::bigint));
            END LOOP;
            IF NOT FOUND THEN
                o_bad := i; o_bad_code := line->>'sku'; RETURN;
            END IF;
        END IF;
        i := i + 1;
    END LOOP;
    SELECT jsonb_agg(jsonb_build_object('sku_id', key::bigint, 'qty', value::bigint) ORDER BY key::bigint)
      INTO o_lines FROM jsonb_each_text(acc);
END $$;

-- Mirrors holds the Redis path created: inserts the ones not yet known
-- (a release or confirm that overtook its mirror left a row, so nothing
-- happens for those) and adds their units to stock.held.
CREATE FUNCTION holds_mirror(p_tenant uuid, p_holds jsonb) RETURNS int
    LANGUAGE plpgsql AS $$
DECLARE
    h jsonb;
    l jsonb;
    n int := 0;
BEGIN
    FOR h IN SELECT value FROM jsonb_array_elements(p_holds) LOOP
        INSERT INTO holds (tenant_id, id, lines, request, reference, state, source, created_at, expires_at)
        VALUES (p_tenant, (h->>'id')::uuid, h->'lines', h->'request', h->>'reference', 'active', 'redis',
                to_timestamp((h->>'created_ms')::bigint / 1000.0), to_timestamp((h->>'expires_ms')::bigint / 1000.0))
        ON CONFLICT (tenant_id, id) DO NOTHING;
        IF FOUND THEN
            n := n + 1;
            FOR l IN SELECT value FROM jsonb_array_elements(h->'lines') ORDER BY (value->>'sku_id')::bigint LOOP
                UPDATE stock SET held = held + (l->>'qty')::bigint, version = version + 1, updated_at = now()
                 WHERE tenant_id = p_tenant AND sku_id = (l->>'sku_id')::bigint;
            END LOOP;
        END IF;
    END LOOP;
    RETURN n;
END $$;

-- The PostgreSQL path for a new hold (Redis unavailable): checks and holds in one transaction.
CREATE FUNCTION hold_create_pg(p_tenant uuid, p_id uuid, p_request jsonb, p_ttl int, p_reference text,
                               p_user uuid, p_token uuid, p_request_id text) RETURNS jsonb
    LANGUAGE plpgsql AS $$
DECLARE
    x record;
    l jsonb;
    st record;
    h holds%ROWTYPE;
BEGIN
    x := holds_expand(p_tenant, p_request);
    IF x.o_bad IS NOT NULL THEN
        RETURN ledger_err(422, 'unknown_sku', format('no SKU %s in this brand (or an empty bundle)', x.o_bad_code),
                          format('lines[%s].sku', x.o_bad));
    END IF;
    FOR l IN SELECT value FROM jsonb_array_elements(x.o_lines) LOOP
        SELECT s.on_hand - s.committed - s.held AS avail, k.code INTO st FROM stock s
          JOIN skus k ON k.tenant_id = s.tenant_id AND k.id = s.sku_id
         WHERE s.tenant_id = p_tenant AND s.sku_id = (l->>'sku_id')::bigint FOR UPDATE OF s;
        IF st.avail < (l->>'qty')::bigint THEN
            RETURN ledger_err(409, 'insufficient_stock', format('%s has %s available, %s requested', st.code,
                              greatest(st.avail, 0), l->>'qty'), 'lines');
        END IF;
    END LOOP;
    INSERT INTO holds (tenant_id, id, lines, request, reference, state, source, expires_at)
    VALUES (p_tenant, p_id, x.o_lines, p_request, p_reference, 'active', 'postgres', now() + make_interval(secs => p_ttl))
    RETURNING * INTO h;
    FOR l IN SELECT value FROM jsonb_array_elements(x.o_lines) LOOP
        UPDATE stock SET held = held + (l->>'qty')::bigint, version = version + 1, updated_at = now()
         WHERE tenant_id = p_tenant AND sku_id = (l->>'sku_id')::bigint;
    END LOOP;
    PERFORM audit_write(p_tenant, NULL, p_user, p_token, 'hold.create', 'hold', p_id::text,
                        jsonb_build_object('lines', p_request, 'ttl_seconds', p_ttl), p_request_id);
    RETURN jsonb_build_object('status', 201, 'body', hold_json(h));
END $$;

CREATE FUNCTION hold_json(h holds) RETURNS jsonb
    LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('id', h.id, 'state', CASE WHEN h.state = 'active' AND h.expires_at <= now()
                                                          THEN 'expired' ELSE h.state END,
        'lines', h.request, 'components', h.lines, 'reference', h.reference, 'created_at', h.created_at,
        'expires_at', h.expires_at, 'ended_at', h.ended_at)
$$;

-- Ends a hold (released or expired).  A hold not yet mirrored is mirrored
-- first, so its late mirror finds it and does nothing.  Returns the hold, or
-- NULL when it had already ended or is unknown.
CREATE FUNCTION hold_end(p_tenant uuid, p_id uuid, p_state text, p_lines jsonb, p_request jsonb,
                         p_user uuid, p_token uuid, p_request_id text) RETURNS jsonb
    LANGUAGE plpgsql AS $$
DECLARE
    h holds%ROWTYPE;
    l jsonb;
BEGIN
    SELECT * INTO h FROM holds WHERE tenant_id = p_tenant AND id = p_id FOR UPDATE;
    IF NOT FOUND AND p_lines IS NOT NULL THEN
        -- Not mirrored yet: mirror it now (a concurrent mirror of the same
        -- hold waits on, or is absorbed by, this insert), then end it.
        PERFORM holds_mirror(p_tenant, jsonb_build_array(jsonb_build_object('id', p_id, 'lines', p_lines,
            'request', coalesce(p_request, '[]'), 'created_ms', (extract(epoch FROM now()) * 1000)::bigint,
            'expires_ms', (extract(epoch FROM now()) * 1000)::bigint + 60000)));
        SELECT * INTO h FROM holds WHERE tenant_id = p_tenant AND id = p_id FOR UPDATE;
    END IF;
    IF NOT FOUND OR h.state <> 'active' THEN
        RETURN NULL;
    END IF;
    UPDATE holds SET state = p_state, ended_at = now() WHERE tenant_id = p_tenant AND id = p_id RETURNING * INTO h;
    FOR l IN SELECT value FROM jsonb_array_elements(h.lines) ORDER BY (value->>'sku_id')::bigint LOOP
        UPDATE stock SET held = held - (l->>'qty')::bigint, version = version + 1, updated_at = now()
         WHERE tenant_id = p_tenant AND sku_id = (l->>'sku_id')::bigint;
    END LOOP;
    IF p_state = 'released' THEN
        PERFORM audit_write(p_tenant, NULL, p_user, p_token, 'hold.release', 'hold', p_id::text, '{}', p_request_id);
    END IF;
    RETURN hold_json(h);
END $$;

-- Confirms a hold: it ends, and its lines become a guarded sale through
-- ledger_post, so PostgreSQL decides.  Raises OC409 (rolling everything back,
-- the hold staying active) when the stock is no longer there.
CREATE FUNCTION hold_confirm(p_tenant uuid, p_id uuid, p_lines jsonb, p_request jsonb, p_reference text,
                             p_expires_ms bigint, p_key text, p_hash text, p_user uuid, p_token uuid,
                             p_request_id text) RETURNS jsonb
    LANGUAGE plpgsql AS $$
DECLARE
    h holds%ROWTYPE;
    l jsonb;
    sale jsonb;
    claim record;
BEGIN
    IF p_key IS NOT NULL THEN
        claim := idem_claim(p_tenant, p_key, p_hash);
        IF claim.o_state = 'in_flight' THEN
            RETURN ledger_err(409, 'in_flight', 'a request with this Idempotency-Key is in progress');
        ELSIF claim.o_state = 'mismatch' THEN
            RETURN ledger_err(422, 'idempotency_mismatch', 'this Idempotency-Key was used with a different request');
        ELSIF claim.o_state = 'replay' THEN
            RETURN jsonb_build_object('status', claim.o_status, 'body', claim.o_body, 'replayed', true);
        END IF;
    END IF;
    SELECT * INTO h FROM holds WHERE tenant_id = p_tenant AND id = p_id FOR UPDATE;
    IF NOT FOUND AND p_lines IS NOT NULL THEN
        IF p_expires_ms <= extract(epoch FROM now()) * 1000 THEN
            RETURN ledger_err(409, 'hold_ended', format('hold %s has expired', p_id));
        END IF;
        -- Not mirrored yet: mirror it now, then confirm it like any other.
        PERFORM holds_mirror(p_tenant, jsonb_build_array(jsonb_build_object('id', p_id, 'lines', p_lines,
            'request', p_request, 'reference', p_reference, 'created_ms', (extract(epoch FROM now()) * 1000)::bigint,
            'expires_ms', p_expires_ms)));
        SELECT * INTO h FROM holds WHERE tenant_id = p_tenant AND id = p_id FOR UPDATE;
    END IF;
    IF NOT FOUND THEN
        RETURN ledger_err(404, 'not_found', 'no such hold');
    ELSIF h.state <> 'active' THEN
        RETURN ledger_err(409, 'hold_ended', format('hold %s is %s', p_id, h.state));
    ELSIF h.expires_at <= now() THEN
        RETURN ledger_err(409, 'hold_ended', format('hold %s has expired', p_id));
    END IF;
    FOR l IN SELECT value FROM jsonb_array_elements(h.lines) ORDER BY (value->>'sku_id')::bigint LOOP
        UPDATE stock SET held = held - (l->>'qty')::bigint, version = version + 1
         WHERE tenant_id = p_tenant AND sku_id = (l->>'sku_id')::bigint;
    END LOOP;
    UPDATE holds SET state = 'confirmed', ended_at = now() WHERE tenant_id = p_tenant AND id = p_id;
    sale := ledger_post(jsonb_build_array(jsonb_build_object('tenant', p_tenant, 'key', p_key, 'hash', p_hash,
        'user', p_user, 'token', p_token, 'request_id', p_request_id, 'kind', 'sale', 'guard', true,
        'lines', h.request, 'reference', coalesce(h.reference, 'hold:' || p_id))))->0;
    IF (sale->>'status')::int = 409 THEN
        RAISE EXCEPTION '%', sale->'body'->'error'->>'message' USING ERRCODE = 'OC409';
    END IF;
    RETURN sale;
END $$;

-- Expires overdue holds of the brands in the transaction's tenant list.
CREATE FUNCTION holds_expire() RETURNS jsonb
    LANGUAGE plpgsql AS $$
DECLARE
    h record;
    out jsonb := '[]';
BEGIN
    FOR h IN SELECT tenant_id, id FROM holds WHERE state = 'active' AND expires_at <= now()
              ORDER BY tenant_id, id LIMIT 1000 LOOP
        PERFORM hold_end(h.tenant_id, h.id, 'expired', NULL, NULL, NULL, NULL, NULL);
        out := out || jsonb_build_object('tenant', h.tenant_id, 'id', h.id);
    END LOOP;
    RETURN out;
END $$;

GRANT EXECUTE ON FUNCTION holds_expand(uuid, jsonb), holds_mirror(uuid, jsonb),
    hold_create_pg(uuid, uuid, jsonb, int, text, uuid, uuid, text), hold_json(holds),
    hold_end(uuid, uuid, text, jsonb, jsonb, uuid, uuid, text),
    hold_confirm(uuid, uuid, jsonb, jsonb, text, bigint, text, text, uuid, uuid, text), holds_expire()
    TO onecount_app;
