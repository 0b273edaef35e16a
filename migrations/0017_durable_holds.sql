-- 0017_durable_holds.sql — a hold answered 201 is a committed row, and
-- PostgreSQL refuses a hold it cannot honour.
--
-- Until now Redis decided a hold and the server mirrored it into
-- PostgreSQL some milliseconds after answering: a `kill -9` of serve lost
-- the holds still queued, and a Redis that lost its keys was rebuilt from a
-- PostgreSQL that did not have them yet, so the same units were held twice.
-- Now the server answers only once holds_commit() has committed the hold
-- (group commit: one statement per batch of waiting holds), and that
-- statement grants a hold only where PostgreSQL's own balances allow it.
--
-- * stock_guard_held: a row trigger (its WHEN runs in C; the function only
--   when the guard trips) refusing any increase of `held` that takes
--   available (on_hand − committed − held) below zero.  Channel orders are
--   facts, not requests: a pending channel order holds its units even when
--   that oversells, so ingest_line_apply() marks its transaction-local
--   `app.channel_facts` around the one UPDATE that does so.
-- * holds_commit(holds): inserts the holds and adds their units in one
--   UPDATE in (brand, sku) order; when the guard trips it rolls that back
--   and grants them one by one, in the order they were asked, after locking
--   every stock row involved in that same order.  One outcome per hold, in
--   the order given: held, exists (the id is taken: a retried or adopted
--   hold, with the row and its request hash) or short (the SKU and what it
--   has available).
-- * holds.request_hash: what an Idempotency-Key retry is compared with.
-- * hold_create_pg(): the path without Redis stores the hash too.

ALTER TABLE holds ADD COLUMN request_hash text;

CREATE FUNCTION stock_guard_held() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'holding % more of SKU % would leave % available', NEW.held - OLD.held, NEW.sku_id,
                    NEW.on_hand - NEW.committed - NEW.held
        USING ERRCODE = 'OC409';
END $$;

CREATE TRIGGER stock_guard_held BEFORE UPDATE OF held ON stock FOR EACH ROW
    WHEN (NEW.held > OLD.held AND NEW.on_hand - NEW.committed - NEW.held < 0
          AND current_setting('app.channel_facts', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION stock_guard_held();

-- 0006's function, with the pending order's forced hold marked as a channel fact.
CREATE OR REPLACE FUNCTION ingest_line_apply(p_tenant uuid, p_connection uuid, p_order uuid, cur channel_order_lines,
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
            PERFORM set_config('app.channel_facts', 'on', true);
            UPDATE stock SET held = held + want_held, version = version + 1 WHERE tenant_id = p_tenant AND sku_id = cur.sku_id;
            PERFORM set_config('app.channel_facts', '', true);
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

-- p_holds: [{"tenant", "id", "lines": [{"sku_id", "qty"}] (distinct SKUs), "request", "reference",
--            "hash", "created_ms", "expires_ms"}], at most a few thousand, of the brands in app.tenant_id.
-- Returns one object per hold, in the order given:
--   {"outcome": "held"}
--   {"outcome": "exists", "hold": hold_json, "hash": request_hash, "active": bool, "lines", "expires_ms"}
--   {"outcome": "short", "sku_id": n, "available": n}
CREATE FUNCTION holds_commit(p_holds jsonb) RETURNS jsonb
    LANGUAGE plpgsql AS $$
DECLARE
    fresh jsonb;   -- {"<tenant>/<id>": true} for the holds this call inserted
    outs jsonb[] := '{}';
    o jsonb;
    h record;
    r holds%ROWTYPE;
    short record;
    tenants uuid[];
    skus bigint[];
    qtys bigint[];
BEGIN
    -- Fast path: every new hold at once; the guard trips if any SKU falls short.
    BEGIN
        WITH ins AS (
            INSERT INTO holds (tenant_id, id, lines, request, reference, request_hash, state, source, created_at,
                               expires_at)
            SELECT DISTINCT ON ((e->>'tenant')::uuid, (e->>'id')::uuid)
                   (e->>'tenant')::uuid, (e->>'id')::uuid, e->'lines', e->'request', e->>'reference', e->>'hash',
                   'active', 'redis', to_timestamp((e->>'created_ms')::bigint / 1000.0),
                   to_timestamp((e->>'expires_ms')::bigint / 1000.0)
              FROM jsonb_array_elements(p_holds) AS e
            ON CONFLICT (tenant_id, id) DO NOTHING
            RETURNING tenant_id, id, lines
        ), a AS (
            SELECT coalesce(jsonb_object_agg(ins.tenant_id || '/' || ins.id, true), '{}') AS fresh FROM ins
        ), l AS (
            SELECT array_agg(ins.tenant_id) AS t, array_agg((x->>'sku_id')::bigint) AS s,
                   array_agg((x->>'qty')::bigint) AS q
              FROM ins, jsonb_array_elements(ins.lines) AS x
        )
        SELECT a.fresh, l.t, l.s, l.q INTO fresh, tenants, skus, qtys FROM a, l;
        PERFORM stock_add_held_brands(coalesce(tenants, '{}'), coalesce(skus, '{}'), coalesce(qtys, '{}'));
    EXCEPTION WHEN SQLSTATE 'OC409' THEN
        fresh := NULL; -- rolled back: grant them one by one below
    END;

    IF fresh IS NULL THEN
        fresh := '{}';
        PERFORM 1 FROM stock s
          JOIN (SELECT DISTINCT (e->>'tenant')::uuid AS t, (x->>'sku_id')::bigint AS k
                  FROM jsonb_array_elements(p_holds) AS e, jsonb_array_elements(e->'lines') AS x) w
            ON s.tenant_id = w.t AND s.sku_id = w.k
         ORDER BY s.tenant_id, s.sku_id FOR UPDATE OF s;
        FOR h IN SELECT e AS hold, (e->>'tenant')::uuid AS t, (e->>'id')::uuid AS id
                   FROM jsonb_array_elements(p_holds) WITH ORDINALITY AS a(e, i)
                  ORDER BY (e->>'created_ms')::bigint, i LOOP
            CONTINUE WHEN EXISTS (SELECT 1 FROM holds WHERE tenant_id = h.t AND id = h.id);
            SELECT (x->>'sku_id')::bigint AS sku_id, s.on_hand - s.committed - s.held AS available INTO short
              FROM jsonb_array_elements(h.hold->'lines') AS x
              JOIN stock s ON s.tenant_id = h.t AND s.sku_id = (x->>'sku_id')::bigint
             WHERE s.on_hand - s.committed - s.held < (x->>'qty')::bigint
             LIMIT 1;
            CONTINUE WHEN FOUND;
            INSERT INTO holds (tenant_id, id, lines, request, reference, request_hash, state, source, created_at,
                               expires_at)
            VALUES (h.t, h.id, h.hold->'lines', h.hold->'request', h.hold->>'reference', h.hold->>'hash', 'active',
                    'redis', to_timestamp((h.hold->>'created_ms')::bigint / 1000.0),
                    to_timestamp((h.hold->>'expires_ms')::bigint / 1000.0));
            UPDATE stock s SET held = s.held + (x->>'qty')::bigint, version = s.version + 1, updated_at = now()
              FROM jsonb_array_elements(h.hold->'lines') AS x
             WHERE s.tenant_id = h.t AND s.sku_id = (x->>'sku_id')::bigint;
            fresh := fresh || jsonb_build_object(h.t || '/' || h.id, true);
        END LOOP;
    END IF;

    -- One outcome per hold, in the order given.  Usually every hold is new:
    -- then nothing is read (a join with `holds` would be planned from the
    -- statistics of a table that grows by thousands a second).
    FOR h IN SELECT a.e, (a.e->>'tenant')::uuid AS t, (a.e->>'id')::uuid AS id,
                    row_number() OVER (PARTITION BY a.e->>'tenant', a.e->>'id' ORDER BY a.i) = 1 AS first
               FROM jsonb_array_elements(p_holds) WITH ORDINALITY AS a(e, i) ORDER BY a.i LOOP
        IF h.first AND fresh ? (h.t || '/' || h.id) THEN
            outs := array_append(outs, '{"outcome": "held"}'::jsonb);
            CONTINUE;
        END IF;
        SELECT * INTO r FROM holds WHERE tenant_id = h.t AND id = h.id;
        IF FOUND THEN
            o := jsonb_build_object('outcome', 'exists', 'hold', hold_json(r), 'hash', r.request_hash,
                                    'active', r.state = 'active' AND r.expires_at > now(), 'lines', r.lines,
                                    'expires_ms', (extract(epoch FROM r.expires_at) * 1000)::bigint);
        ELSE
            SELECT jsonb_build_object('outcome', 'short', 'sku_id', s.sku_id, 'available',
                                      s.on_hand - s.committed - s.held) INTO o
              FROM jsonb_array_elements(h.e->'lines') AS x
              JOIN stock s ON s.tenant_id = h.t AND s.sku_id = (x->>'sku_id')::bigint
             ORDER BY s.on_hand - s.committed - s.held - (x->>'qty')::bigint, s.sku_id LIMIT 1;
        END IF;
        outs := array_append(outs, o);
    END LOOP;
    RETURN to_jsonb(outs);
END $$;

-- 0003's PostgreSQL path (Redis unavailable), now storing the request hash.
DROP FUNCTION hold_create_pg(uuid, uuid, jsonb, int, text, uuid, uuid, text);
CREATE FUNCTION hold_create_pg(p_tenant uuid, p_id uuid, p_request jsonb, p_ttl int, p_reference text,
                               p_user uuid, p_token uuid, p_request_id text, p_hash text) RETURNS jsonb
    LANGUAGE plpgsql AS $$
DECLARE
    x record;
    l jsonb;
    st record;
    h holds%ROWTYPE;
BEGIN
    SELECT * INTO h FROM holds WHERE tenant_id = p_tenant AND id = p_id;
    IF FOUND THEN
        IF h.request_hash <> p_hash THEN -- (holds older than 0017 have none)
            RETURN ledger_err(422, 'idempotency_mismatch', 'this Idempotency-Key was used with a different request');
        END IF;
        RETURN jsonb_build_object('status', 201, 'body', hold_json(h), 'replayed', true);
    END IF;
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
            RETURN ledger_err(409, 'insufficient_stock', format('%s has %s available for holds', st.code,
                              greatest(st.avail, 0)), 'lines');
        END IF;
    END LOOP;
    INSERT INTO holds (tenant_id, id, lines, request, reference, request_hash, state, source, expires_at)
    VALUES (p_tenant, p_id, x.o_lines, p_request, p_reference, p_hash, 'active', 'postgres',
            now() + make_interval(secs => p_ttl))
    RETURNING * INTO h;
    UPDATE stock s SET held = s.held + (e->>'qty')::bigint, version = s.version + 1, updated_at = now()
      FROM jsonb_array_elements(x.o_lines) AS e
     WHERE s.tenant_id = p_tenant AND s.sku_id = (e->>'sku_id')::bigint;
    PERFORM audit_write(p_tenant, NULL, p_user, p_token, 'hold.create', 'hold', p_id::text,
                        jsonb_build_object('lines', p_request, 'ttl_seconds', p_ttl), p_request_id);
    RETURN jsonb_build_object('status', 201, 'body', hold_json(h));
END $$;

GRANT EXECUTE ON FUNCTION holds_commit(jsonb), hold_create_pg(uuid, uuid, jsonb, int, text, uuid, uuid, text, text)
    TO onecount_app;

-- Every hold a client can name is a committed row now, so ending or
-- confirming one never has to record it first: 0003's stand-in branches
-- (and the mirror functions they called) go.
CREATE OR REPLACE FUNCTION hold_end(p_tenant uuid, p_id uuid, p_state text, p_lines jsonb, p_request jsonb,
                                    p_user uuid, p_token uuid, p_request_id text) RETURNS jsonb
    LANGUAGE plpgsql AS $$
DECLARE
    h holds%ROWTYPE;
BEGIN
    -- p_lines and p_request are no longer read (0017).
    UPDATE holds SET state = p_state, ended_at = now()
     WHERE tenant_id = p_tenant AND id = p_id AND state = 'active'
    RETURNING * INTO h;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    PERFORM stock_add_held_brands(array_fill(p_tenant, ARRAY[jsonb_array_length(h.lines)]),
                                  ARRAY(SELECT (l->>'sku_id')::bigint FROM jsonb_array_elements(h.lines) AS l),
                                  ARRAY(SELECT -(l->>'qty')::bigint FROM jsonb_array_elements(h.lines) AS l));
    IF p_state = 'released' THEN
        PERFORM audit_write(p_tenant, NULL, p_user, p_token, 'hold.release', 'hold', p_id::text, '{}', p_request_id);
    END IF;
    RETURN hold_json(h);
END $$;

DROP FUNCTION hold_confirm(uuid, uuid, jsonb, jsonb, text, bigint, text, text, uuid, uuid, text);
-- Confirms a hold: it ends, and its lines become a guarded sale through
-- ledger_post, so PostgreSQL decides.  Raises OC409 (rolling everything back,
-- the hold staying active) when the stock is no longer there.
CREATE FUNCTION hold_confirm(p_tenant uuid, p_id uuid, p_key text, p_hash text, p_user uuid, p_token uuid,
                             p_request_id text) RETURNS jsonb
    LANGUAGE plpgsql AS $$
DECLARE
    h holds%ROWTYPE;
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
    IF NOT FOUND THEN
        RETURN ledger_err(404, 'not_found', 'no such hold');
    ELSIF h.state <> 'active' THEN
        RETURN ledger_err(409, 'hold_ended', format('hold %s is %s', p_id, h.state));
    ELSIF h.expires_at <= now() THEN
        RETURN ledger_err(409, 'hold_ended', format('hold %s has expired', p_id));
    END IF;
    PERFORM stock_add_held_brands(array_fill(p_tenant, ARRAY[jsonb_array_length(h.lines)]),
                                  ARRAY(SELECT (l->>'sku_id')::bigint FROM jsonb_array_elements(h.lines) AS l),
                                  ARRAY(SELECT -(l->>'qty')::bigint FROM jsonb_array_elements(h.lines) AS l));
    UPDATE holds SET state = 'confirmed', ended_at = now() WHERE tenant_id = p_tenant AND id = p_id;
    sale := ledger_post(jsonb_build_array(jsonb_build_object('tenant', p_tenant, 'key', p_key, 'hash', p_hash,
        'user', p_user, 'token', p_token, 'request_id', p_request_id, 'kind', 'sale', 'guard', true,
        'lines', h.request, 'reference', coalesce(h.reference, 'hold:' || p_id))))->0;
    IF (sale->>'status')::int = 409 THEN
        RAISE EXCEPTION '%', sale->'body'->'error'->>'message' USING ERRCODE = 'OC409';
    END IF;
    RETURN sale;
END $$;

DROP FUNCTION holds_mirror(uuid, jsonb);
DROP FUNCTION holds_mirror_brands(jsonb);

GRANT EXECUTE ON FUNCTION hold_confirm(uuid, uuid, text, text, uuid, uuid, text) TO onecount_app;
