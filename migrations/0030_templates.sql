-- 0030_templates.sql — templates: one SOP override document or one rule set
-- applied to many brands at once, with a preview of what changes per brand
-- before it is applied (issue 13).
--
-- template_run(portfolio, kind, brands, body, apply, …) runs the change for
-- every brand named, in one transaction, and answers per brand what
-- changed:
--   kind 'sop'    body {"document": an overrides document} becomes the next
--                 version of each brand's overrides (sop_save: checked,
--                 versioned with the reason, the schedule re-made); per brand
--                 the document's diff from its current overrides and the
--                 routines added, changed and retired.
--   kind 'rules'  body {"connections": {"shopify"|"amazon"|"walmart": rules},
--                 "last_units": {"threshold", "channel_kind"} | null}: each
--                 connection of a kind named gets those rules (buffer, share,
--                 cap, floor — the object PATCH …/connections/{cid} sets),
--                 the brand's last-units rule goes to its connection of that
--                 kind (null clears it; absent leaves it); listings are
--                 recomputed; per brand the connections' rules from → to and
--                 the listings whose published quantity changes (count, and
--                 the first 20 with from → to).  Audited per brand
--                 ('template.rules').
-- The preview is the same run, rolled back: the changes are made in a
-- subtransaction, what they did is read, and the subtransaction is undone
-- (SQLSTATE OCPRV carries the answer out of it).  So the preview shows
-- exactly what applying would do — the same checks, the same recomputed
-- quantities — and changes nothing.  A brand not in the portfolio or not
-- among the caller's tenants refuses the whole run (OCSOV, field brand_ids),
-- as does an unsound document (sop_save's problems, each field prefixed
-- with the brand).
CREATE FUNCTION template_apply_rules(p_tenant uuid, p_body jsonb, p_user uuid, p_token uuid, p_reason text,
                                     p_request text) RETURNS jsonb
    LANGUAGE plpgsql AS $$
DECLARE
    before jsonb;
    conns jsonb;
    lu_before jsonb;
    lu_after jsonb;
    lu_kind text;
    conn uuid;
    changed jsonb;
    n bigint;
BEGIN
    SELECT coalesce(jsonb_object_agg(l.id::text, l.desired_qty), '{}') INTO before
      FROM listings l WHERE l.tenant_id = p_tenant AND l.state = 'active';
    SELECT jsonb_build_object('threshold', r.last_units_threshold, 'connection', c.name) INTO lu_before
      FROM brand_rules r LEFT JOIN channel_connections c ON c.tenant_id = r.tenant_id AND c.id = r.last_units_connection
     WHERE r.tenant_id = p_tenant AND r.last_units_threshold IS NOT NULL;
    WITH o AS (SELECT c.id, c.name, c.kind, c.rules AS old FROM channel_connections c
                WHERE c.tenant_id = p_tenant AND p_body -> 'connections' ? c.kind FOR UPDATE),
    u AS (UPDATE channel_connections c SET rules = p_body -> 'connections' -> c.kind, updated_at = now()
            FROM o WHERE c.tenant_id = p_tenant AND c.id = o.id AND c.rules IS DISTINCT FROM p_body -> 'connections' -> c.kind
          RETURNING c.id)
    SELECT coalesce(jsonb_agg(jsonb_build_object('connection_id', o.id, 'connection', o.name, 'kind', o.kind,
                                                 'from', o.old, 'to', p_body -> 'connections' -> o.kind)
                              ORDER BY o.name) FILTER (WHERE o.id IN (SELECT id FROM u)), '[]')
      INTO conns FROM o;
    IF p_body ? 'last_units' THEN
        IF jsonb_typeof(p_body -> 'last_units') = 'object' THEN
            lu_kind := p_body #>> '{last_units,channel_kind}';
            SELECT cc.id INTO conn FROM channel_connections cc WHERE cc.tenant_id = p_tenant AND cc.kind = lu_kind
             ORDER BY cc.status = 'active' DESC, cc.created_at LIMIT 1;
            IF conn IS NULL THEN
                RAISE EXCEPTION 'this brand has no % connection for the last units', lu_kind USING ERRCODE = 'OCSOV',
                    DETAIL = jsonb_build_array(jsonb_build_object('field', 'rules.last_units.channel_kind', 'message',
                        format('the brand %s has no %s connection for the last units',
                               (SELECT name FROM brands WHERE id = p_tenant), lu_kind)))::text;
            END IF;
            INSERT INTO brand_rules (tenant_id, last_units_threshold, last_units_connection, updated_at)
            VALUES (p_tenant, (p_body #>> '{last_units,threshold}')::bigint, conn, now())
            ON CONFLICT (tenant_id) DO UPDATE SET last_units_threshold = excluded.last_units_threshold,
                last_units_connection = excluded.last_units_connection, updated_at = now();
        ELSE
            UPDATE brand_rules SET last_units_threshold = NULL, last_units_connection = NULL, updated_at = now()
             WHERE tenant_id = p_tenant;
        END IF;
    END IF;
    SELECT jsonb_build_object('threshold', r.last_units_threshold, 'connection', c.name) INTO lu_after
      FROM brand_rules r LEFT JOIN channel_connections c ON c.tenant_id = r.tenant_id AND c.id = r.last_units_connection
     WHERE r.tenant_id = p_tenant AND r.last_units_threshold IS NOT NULL;
    PERFORM listings_refresh_brand(p_tenant);
    SELECT count(*), coalesce(jsonb_agg(x.j ORDER BY x.sku, x.conn) FILTER (WHERE x.rn <= 20), '[]') INTO n, changed
      FROM (SELECT k.code AS sku, c.name AS conn,
                   jsonb_build_object('listing_id', l.id, 'sku', k.code, 'connection', c.name,
                                      'from', (before ->> l.id::text)::bigint, 'to', l.desired_qty) AS j,
                   row_number() OVER (ORDER BY k.code, c.name) AS rn
              FROM listings l JOIN skus k ON k.tenant_id = l.tenant_id AND k.id = l.sku_id
              JOIN channel_connections c ON c.tenant_id = l.tenant_id AND c.id = l.connection_id
             WHERE l.tenant_id = p_tenant AND l.state = 'active'
               AND l.desired_qty IS DISTINCT FROM (before ->> l.id::text)::bigint) x;
    PERFORM audit_write(p_tenant, (SELECT portfolio_id FROM brands WHERE id = p_tenant), p_user, p_token,
                        'template.rules', 'brand', p_tenant::text,
                        jsonb_build_object('rules', p_body, 'reason', p_reason, 'connections', jsonb_array_length(conns),
                                           'listings_changed', n), p_request);
    RETURN jsonb_build_object('connections', conns,
                              'last_units', CASE WHEN lu_before IS DISTINCT FROM lu_after
                                                 THEN jsonb_build_object('from', lu_before, 'to', lu_after) END,
                              'listings_changed', n, 'listings', changed);
END $$;

CREATE FUNCTION template_run(p_portfolio uuid, p_kind text, p_brands uuid[], p_body jsonb, p_apply boolean,
                             p_user uuid, p_token uuid, p_reason text, p_request text) RETURNS jsonb
    LANGUAGE plpgsql AS $$
DECLARE
    unknown text;
    b record;
    cur sop_versions;
    one jsonb;
    out jsonb := '[]';
    d text;
BEGIN
    IF p_kind NOT IN ('sop', 'rules') THEN
        RAISE EXCEPTION 'template_run: no such kind %', p_kind USING ERRCODE = '22023';
    END IF;
    SELECT string_agg(x::text, ', ') INTO unknown FROM unnest(p_brands) x
     WHERE NOT EXISTS (SELECT 1 FROM brands WHERE id = x AND portfolio_id = p_portfolio)
        OR NOT x = ANY ((SELECT current_tenants())::uuid[]);
    IF unknown IS NOT NULL THEN
        RAISE EXCEPTION 'no such brand: %', unknown USING ERRCODE = 'OCSOV',
            DETAIL = jsonb_build_array(jsonb_build_object('field', 'brand_ids', 'message',
                                                          'no such brand: ' || unknown))::text;
    END IF;
    BEGIN
        FOR b IN SELECT id, name FROM brands WHERE id = ANY (p_brands) ORDER BY name, id LOOP
            IF p_kind = 'sop' THEN
                cur := sop_current(p_portfolio, b.id);
                BEGIN
                    one := sop_save(p_portfolio, b.id, p_body -> 'document', p_user, p_token, p_reason, NULL, NULL,
                                    p_request);
                EXCEPTION WHEN SQLSTATE 'OCSOV' THEN
                    GET STACKED DIAGNOSTICS d = PG_EXCEPTION_DETAIL;
                    RAISE EXCEPTION '%: %', b.name, SQLERRM USING ERRCODE = 'OCSOV',
                        DETAIL = (SELECT jsonb_agg(jsonb_build_object('field', p.f ->> 'field', 'message',
                                                                      b.name || ': ' || (p.f ->> 'message')))
                                    FROM jsonb_array_elements(d::jsonb) p(f))::text;
                END;
                one := jsonb_build_object('version', one -> 'version', 'from_version', cur.version,
                                          'schedule', one -> 'applied' -> (b.id::text),
                                          'diff', sop_doc_diff(cur.document, p_body -> 'document'));
            ELSE
                one := template_apply_rules(b.id, p_body, p_user, p_token, p_reason, p_request);
            END IF;
            out := out || (jsonb_build_object('brand_id', b.id, 'brand', b.name) || one);
        END LOOP;
        IF NOT p_apply THEN
            RAISE EXCEPTION 'preview' USING ERRCODE = 'OCPRV', DETAIL = out::text;
        END IF;
    EXCEPTION WHEN SQLSTATE 'OCPRV' THEN
        GET STACKED DIAGNOSTICS d = PG_EXCEPTION_DETAIL;
        out := d::jsonb;
    END;
    RETURN jsonb_build_object('kind', p_kind, 'applied', p_apply, 'brands', out);
END $$;

GRANT EXECUTE ON FUNCTION template_apply_rules(uuid, jsonb, uuid, uuid, text, text),
    template_run(uuid, text, uuid[], jsonb, boolean, uuid, uuid, text, text) TO onecount_app;
