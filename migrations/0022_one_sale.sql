-- 0022_one_sale.sql — a sale is written by one piece of SQL, whichever path
-- it takes.
--
-- Until now a one-line sale of a simple SKU (the checkout's hot path) was one
-- CTE statement in tenants/ledger.c, and every other movement went through
-- 0003's ledger_post(): two copies of the sale's stock update, movement row,
-- oversell incident, answer body, audit record and stored idempotent answer,
-- which had already drifted apart (the one-line sale dropped the request's
-- `reason`).  Now each step exists once:
--
-- * ledger_line_apply(): one line of a movement — the balance update (a
--   guarded sale's conditional on the units available), the movement row,
--   the line's balance as the answer shows it and, for a sale that takes
--   available below zero, the oversell incident (qty_short = least(−available
--   after, qty)) and its entry in the answer.
-- * ledger_finish(): the end of an applied request — the answer body, the
--   audit record and the Idempotency-Key's stored answer.
-- * ledger_claim(): the request's Idempotency-Key claimed (idem_claim()) and,
--   unless it is new, the answer: a replay, or in_flight / mismatch refused.
-- * ledger_sale(): the one-line sale of the hot path (the server's whole
--   statement is `SELECT ledger_sale(...)`): the SKU, then the three
--   functions above; NULL for a bundle, which the server sends to
--   ledger_post().
-- * ledger_post() is 0003's, its key claim and apply step now the functions
--   above.
--
-- All plpgsql: they run per sale, and plpgsql keeps its plans for the
-- session where an SQL function that cannot be inlined is planned again on
-- every call (see README.md).

CREATE FUNCTION ledger_line_apply(p_tenant uuid, p_kind text, p_sku bigint, p_code text, p_qty bigint,
                                  p_on_hand bigint, p_committed bigint, p_inspecting bigint, p_guard boolean,
                                  p_bundle bigint, p_disposition text, p_reason text, p_reference text,
                                  p_channel uuid, p_user uuid, p_token uuid, p_request_id text,
                                  OUT o_movement bigint, OUT o_balance jsonb, OUT o_oversell jsonb)
    LANGUAGE plpgsql AS $$
DECLARE
    st record;
    avail bigint;
BEGIN
    -- A guarded sale moves only units that are there: the caller's check and
    -- this condition agree (ledger_post checks the request's sum per SKU
    -- first, ledger_sale only here).  No row: refused, nothing written.
    UPDATE stock SET on_hand = on_hand + p_on_hand, committed = committed + p_committed,
                     inspecting = inspecting + p_inspecting, version = version + 1, updated_at = now()
     WHERE tenant_id = p_tenant AND sku_id = p_sku
       AND (p_kind <> 'sale' OR NOT p_guard OR on_hand - committed - held >= p_qty)
     RETURNING on_hand, committed, held, inspecting, version INTO st;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    INSERT INTO movements (tenant_id, sku_id, kind, qty, on_hand_delta, committed_delta, inspecting_delta,
                           on_hand_after, committed_after, disposition, reason, reference, channel_id,
                           bundle_sku_id, guarded, actor_user, actor_token, request_id)
    VALUES (p_tenant, p_sku, p_kind, p_qty, p_on_hand, p_committed, p_inspecting, st.on_hand, st.committed,
            p_disposition, p_reason, p_reference, p_channel, p_bundle, p_guard, p_user, p_token, p_request_id)
    RETURNING id INTO o_movement;
    avail := st.on_hand - st.committed - st.held;
    o_balance := jsonb_build_object('sku', p_code, 'sku_id', p_sku, 'on_hand', st.on_hand,
        'committed', st.committed, 'held', st.held, 'inspecting', st.inspecting, 'available', avail,
        'version', st.version);
    IF p_kind = 'sale' AND avail < 0 THEN
        INSERT INTO oversell_incidents (tenant_id, sku_id, movement_id, qty_short, channel_id, reference)
        VALUES (p_tenant, p_sku, o_movement, least(-avail, p_qty), p_channel, p_reference);
        o_oversell := jsonb_build_object('sku', p_code, 'qty_short', least(-avail, p_qty));
    END IF;
END $$;

-- The applied request's answer {"status": 201, "body"}, after its audit
-- record and, with a key (claimed by the caller: idem_claim() removed an
-- expired row), the stored answer a replay returns.
CREATE FUNCTION ledger_finish(p_tenant uuid, p_kind text, p_lines jsonb, p_movements jsonb, p_balances jsonb,
                              p_oversells jsonb, p_reference text, p_user uuid, p_token uuid, p_request_id text,
                              p_key text, p_hash text) RETURNS jsonb
    LANGUAGE plpgsql AS $$
DECLARE
    body jsonb := jsonb_build_object('kind', p_kind, 'movements', p_movements, 'balances', p_balances,
                                     'oversells', p_oversells);
BEGIN
    PERFORM audit_write(p_tenant, NULL, p_user, p_token, 'movement.' || p_kind, 'movement', p_movements->>0,
                        jsonb_build_object('lines', p_lines, 'reference', p_reference), p_request_id);
    IF p_key IS NOT NULL THEN
        INSERT INTO idempotency_keys (tenant_id, key, request_hash, status, body)
        VALUES (p_tenant, p_key, p_hash, 201, body);
    END IF;
    RETURN jsonb_build_object('status', 201, 'body', body);
END $$;

-- NULL when the request goes ahead (no key, or a key not seen yet: claimed
-- until the transaction ends), else its answer.
CREATE FUNCTION ledger_claim(p_tenant uuid, p_key text, p_hash text) RETURNS jsonb
    LANGUAGE plpgsql AS $$
DECLARE claim record;
BEGIN
    IF p_key IS NULL THEN
        RETURN NULL;
    END IF;
    claim := idem_claim(p_tenant, p_key, p_hash);
    IF claim.o_state = 'in_flight' THEN
        RETURN ledger_err(409, 'in_flight', 'a request with this Idempotency-Key is in progress');
    ELSIF claim.o_state = 'mismatch' THEN
        RETURN ledger_err(422, 'idempotency_mismatch', 'this Idempotency-Key was used with a different request');
    ELSIF claim.o_state = 'replay' THEN
        RETURN jsonb_build_object('status', claim.o_status, 'body', claim.o_body, 'replayed', true);
    END IF;
    RETURN NULL;
END $$;

-- A one-line sale of a simple SKU, answered as ledger_post() answers an
-- item; NULL when the SKU is a bundle (ledger_post() expands those).  An
-- unknown SKU is refused before the key is claimed, as the server's single
-- statement did.  One stock row locked, after the key's advisory lock.
CREATE FUNCTION ledger_sale(p_tenant uuid, p_code text, p_qty bigint, p_guard boolean, p_key text, p_hash text,
                            p_user uuid, p_token uuid, p_request_id text, p_reference text, p_channel uuid,
                            p_reason text) RETURNS jsonb
    LANGUAGE plpgsql AS $$
DECLARE
    k record;
    answer jsonb;
    line record;
    avail bigint;
BEGIN
    SELECT id, kind INTO k FROM skus WHERE tenant_id = p_tenant AND code = p_code;
    IF NOT FOUND THEN
        RETURN ledger_err(422, 'unknown_sku', format('no SKU %s in this brand', p_code), 'lines[0].sku');
    ELSIF k.kind <> 'simple' THEN
        RETURN NULL;
    END IF;
    answer := ledger_claim(p_tenant, p_key, p_hash);
    IF answer IS NOT NULL THEN
        RETURN answer;
    END IF;
    line := ledger_line_apply(p_tenant, 'sale', k.id, p_code, p_qty, 0, p_qty, 0, p_guard, NULL, NULL, p_reason,
                              p_reference, p_channel, p_user, p_token, p_request_id);
    IF line.o_movement IS NULL THEN
        SELECT on_hand - committed - held INTO avail FROM stock WHERE tenant_id = p_tenant AND sku_id = k.id;
        RETURN ledger_err(409, 'insufficient_stock',
            format('%s has %s available, %s requested', p_code, greatest(avail, 0), p_qty), 'lines');
    END IF;
    RETURN ledger_finish(p_tenant, 'sale', jsonb_build_array(jsonb_build_object('sku', p_code, 'qty', p_qty)),
                         jsonb_build_array(line.o_movement), jsonb_build_array(line.o_balance),
                         CASE WHEN line.o_oversell IS NULL THEN '[]' ELSE jsonb_build_array(line.o_oversell) END,
                         p_reference, p_user, p_token, p_request_id, p_key, p_hash);
END $$;

-- 0003's general ledger, its key claim now ledger_claim(), its apply step
-- ledger_line_apply() and ledger_finish().
CREATE OR REPLACE FUNCTION ledger_post(p_items jsonb) RETURNS jsonb
    LANGUAGE plpgsql AS $$
DECLARE
    item jsonb;
    results jsonb := '[]';
    res jsonb;
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
    applied record;
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

        res := ledger_claim(p_tenant, item->>'key', item->>'hash');

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
                applied := ledger_line_apply(p_tenant, v_kind, ln.sku_id, ln.code, ln.qty, d_on, d_com, d_insp, v_guard,
                    ln.bundle_sku_id, v_disp, item->>'reason', item->>'reference', (item->>'channel')::uuid,
                    (item->>'user')::uuid, (item->>'token')::uuid, item->>'request_id');
                IF applied.o_movement IS NULL THEN  -- the checks above passed the request's sum: cannot happen
                    RAISE EXCEPTION 'ledger_post: % of % refused after its check', v_kind, ln.code;
                END IF;
                movs := movs || to_jsonb(applied.o_movement);
                bal := bal || jsonb_build_object(ln.code, applied.o_balance);
                IF applied.o_oversell IS NOT NULL THEN
                    overs := overs || applied.o_oversell;
                END IF;
            END LOOP;
            res := ledger_finish(p_tenant, v_kind, item->'lines', movs, (SELECT jsonb_agg(value) FROM jsonb_each(bal)),
                                 overs, item->>'reference', (item->>'user')::uuid, (item->>'token')::uuid,
                                 item->>'request_id', item->>'key', item->>'hash');
        END IF;
        results := results || res;
    END LOOP;
    RETURN results;
END $$;

GRANT EXECUTE ON FUNCTION ledger_claim(uuid, text, text),
    ledger_line_apply(uuid, text, bigint, text, bigint, bigint, bigint, bigint, boolean, bigint, text, text, text,
                      uuid, uuid, uuid, text),
    ledger_finish(uuid, text, jsonb, jsonb, jsonb, jsonb, text, uuid, uuid, text, text, text),
    ledger_sale(uuid, text, bigint, boolean, text, text, uuid, uuid, text, text, uuid, text) TO onecount_app;
