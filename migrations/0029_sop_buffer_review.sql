-- 0029_sop_buffer_review.sql — the SOP's buffer review (issue 13): the
-- buffer advisor (0028) run on every active connection of a brand, on the
-- schedule its SOP step gives.
--
-- Each listing's buffer in force is compared with the advisor's suggestion
-- (the units expected to sell elsewhere during the connection's p99 push
-- lag).  With the step's params {"apply": true, "min": a, "max": b} the
-- suggestions are applied within [a, b] through buffer_advice_apply — the
-- same function the API's "Apply" calls, audited as the worker (no user),
-- the reason naming the SOP — and the listings re-pushed; without "apply"
-- the review only reports, and keeps one 'buffer_review' alert open while
-- listings differ from their suggestion, so a person decides.  Listings
-- whose lag or velocity is not measured yet are counted apart, never
-- changed: a suggestion of 0 from no data is not advice.
CREATE FUNCTION sop_buffer_review(p_tenant uuid, p_params jsonb) RETURNS jsonb
    LANGUAGE plpgsql AS $$
DECLARE
    apply boolean := coalesce((p_params ->> 'apply')::boolean, false);
    lo int := (p_params ->> 'min')::int;
    hi int := (p_params ->> 'max')::int;
    c record;
    res jsonb;
    checked bigint := 0;
    unmeasured bigint := 0;
    differ bigint := 0;
    applied bigint := 0;
    found jsonb := '[]';
    ids uuid[];
    n_all bigint;
    n_unmeasured bigint;
    chunk jsonb;
BEGIN
    FOR c IN SELECT id, name FROM channel_connections WHERE tenant_id = p_tenant AND status = 'active' ORDER BY name LOOP
        SELECT count(*), count(*) FILTER (WHERE cardinality(a.not_measured) > 0),
               coalesce(array_agg(a.listing_id) FILTER (WHERE cardinality(a.not_measured) = 0
                                                        AND a.suggested_buffer IS DISTINCT FROM a.current_buffer), '{}'),
               coalesce(jsonb_agg(jsonb_build_object('connection', c.name, 'sku', a.sku, 'current', a.current_buffer,
                                                     'suggested', a.suggested_buffer))
                        FILTER (WHERE cardinality(a.not_measured) = 0
                                AND a.suggested_buffer IS DISTINCT FROM a.current_buffer), '[]')
          INTO n_all, n_unmeasured, ids, chunk
          FROM buffer_advice(p_tenant, c.id) a;
        checked := checked + n_all;
        unmeasured := unmeasured + n_unmeasured;
        found := found || chunk;
        differ := differ + cardinality(ids);
        IF apply AND cardinality(ids) > 0 THEN
            res := buffer_advice_apply(p_tenant, c.id, ids, lo, hi, NULL, NULL, NULL,
                                       'the SOP''s buffer review applied the advisor''s suggestion');
            applied := applied + jsonb_array_length(coalesce(res -> 'changed', '[]'));
        END IF;
    END LOOP;
    found := (SELECT coalesce(jsonb_agg(x.e), '[]') FROM (SELECT e FROM jsonb_array_elements(found) e LIMIT 20) x);
    PERFORM finding_alert(p_tenant, NULL, 'buffer_review', CASE WHEN apply THEN 0 ELSE differ END,
            format('%s listing%s a safety buffer other than the advisor suggests: %s', differ,
                   CASE WHEN differ = 1 THEN ' has' ELSE 's have' END,
                   (SELECT string_agg(format('%s on %s (%s, suggested %s)', e ->> 'sku', e ->> 'connection',
                                             e ->> 'current', e ->> 'suggested'), '; ')
                      FROM jsonb_array_elements(found) e)));
    RETURN jsonb_build_object('listings_checked', checked, 'not_measured', unmeasured, 'differ', differ,
                              'applied', applied, 'apply', apply, 'found', found);
END $$;
GRANT EXECUTE ON FUNCTION sop_buffer_review(uuid, jsonb) TO onecount_app;
