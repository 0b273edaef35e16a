-- 0028_buffer_advice.sql — the buffer advisor (issue 13, "buffers that size
-- themselves"): per listing, the buffer in force, the one onecount suggests,
-- and what each choice costs, in units, per stock-out; applied by hand (the
-- API, the console) or by the SOP's buffer review, within bounds, audited.
--
-- The model.  A channel shows a number onecount pushed; until a new number
-- is visible there (the connection's push lag), the channel keeps selling
-- against the old one.  Take the moment the brand's other channels sell the
-- last units of a SKU: during this channel's lag, N more units sell
-- ELSEWHERE that this channel does not yet know are gone.  With a buffer of
-- b units held back from this channel, the units it then oversells are
-- max(0, N − b), and the units it kept from its buyers for nothing (stranded:
-- held back although nobody else bought them) are max(0, b − N).
--
-- N is taken as Poisson with mean λ = (units per hour of the SKU on the
-- brand's OTHER connections, as velocity_refresh() measures them in
-- sku_velocity) × (this connection's 99th-percentile push lag, push_lag_p99_ms
-- of 0023, in hours).  The p99 lag, not the mean: a mean under-buffers
-- exactly the slow pushes that oversell.  The suggested buffer is ceil(λ),
-- the units expected to sell elsewhere during that lag (issue 13); each
-- choice b (the buffer in force, the suggestion, the suggestion ± 1, none)
-- is shown with
--   expected oversold  E[max(0, N − b)] = Σ_{k > b} (k − b) P(N = k)
--   expected stranded  E[max(0, b − N)] = Σ_{k < b} (b − k) P(N = k)
-- computed exactly by summing the Poisson terms P(N = k) = e^−λ λ^k / k!
-- (in logarithms, ln k! by Stirling's series above 20: double precision
-- either way).  The sums run over k in [λ − 12√λ − 30, λ + 12√λ + 30]: the
-- mass outside is below 1e−20 of the whole, so the cut changes no digit
-- that double precision keeps, and a sum costs O(√λ) terms, not O(λ).
--
-- Not measured is said, never invented: without push-lag samples on the
-- connection (push_lag_p99_ms NULL) or without any velocity of the SKU on
-- another connection, λ is 0, the suggestion 0, and `not_measured` names what
-- is missing ('push_lag', 'velocity').  The automatic buffer ("buffer":
-- "auto", auto_buffer() of 0011/0023) stays what it was — the 99th
-- percentile of every channel's sales during push + order lag; the advisor is
-- the expected-value view of the same risk, for a fixed per-listing setting.
--
-- Applying writes the per-listing rule {"buffer": n} (listings.rules, the
-- same override PATCH …/listings/{lid} sets), n = the suggestion clamped to
-- [p_min, p_max]; a listing whose own rule already says n is left alone.
-- Each change is one audit record 'listing.buffer_advice' (from, to, the
-- suggestion and λ it came from, the reason), and the SKUs' listings are
-- recomputed (listings_refresh) so a changed quantity is pushed again.  A
-- plain function: the API calls it, and so will the SOP worker.

-- ln k! : exact sum below 20, Stirling's series above (relative error < 1e-16).
CREATE FUNCTION ln_factorial(p_k bigint) RETURNS double precision
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    s double precision := 0;
    x double precision := p_k;
BEGIN
    IF p_k < 20 THEN
        FOR i IN 2..p_k LOOP
            s := s + ln(i::double precision);
        END LOOP;
        RETURN s;
    END IF;
    RETURN x * ln(x) - x + 0.5 * ln(2 * pi() * x) + 1 / (12 * x) - 1 / (360 * x ^ 3) + 1 / (1260 * x ^ 5);
END $$;

-- For N ~ Poisson(p_lambda) and a buffer p_b: (E[max(0, N − b)], E[max(0, b − N)]).
CREATE FUNCTION poisson_buffer_cost(p_lambda double precision, p_b bigint, OUT oversold double precision,
                                    OUT stranded double precision)
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    lam double precision := greatest(coalesce(p_lambda, 0), 0);
    b bigint := greatest(coalesce(p_b, 0), 0);
    lo bigint;
    hi bigint;
    p double precision;
BEGIN
    oversold := 0;
    stranded := 0;
    IF lam = 0 THEN -- N = 0 for sure
        stranded := b;
        RETURN;
    END IF;
    lo := greatest(0, floor(lam - 12 * sqrt(lam) - 30))::bigint;
    hi := ceil(lam + 12 * sqrt(lam) + 30)::bigint;
    FOR k IN lo..hi LOOP
        p := exp(k * ln(lam) - lam - ln_factorial(k));
        IF k > b THEN
            oversold := oversold + (k - b) * p;
        ELSIF k < b THEN
            stranded := stranded + (b - k) * p;
        END IF;
    END LOOP;
    -- a buffer beyond every likely N strands b − N for each of them: b − λ (the terms above the cut are empty)
    IF b > hi THEN
        stranded := b - lam;
    END IF;
END $$;

-- The advice for every active listing of connection p_connection (none: the
-- connection is not the brand's, or has no active listing), by SKU code.
CREATE FUNCTION buffer_advice(p_tenant uuid, p_connection uuid)
    RETURNS TABLE (listing_id uuid, sku text, external_sku text, current_buffer bigint, current_setting jsonb,
                   current_set_on text, other_units_per_hour double precision, push_lag_p99_ms bigint,
                   push_lag_samples int, expected_elsewhere double precision, suggested_buffer bigint,
                   not_measured text[], choices jsonb)
    LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN QUERY
    WITH l AS MATERIALIZED (
        SELECT l.id, l.sku_id, k.code, l.external_sku, c.push_lag_p99_ms AS lag_ms, c.push_lag_samples AS samples,
               coalesce(l.rules->'buffer', c.rules->'buffer') AS setting,
               CASE WHEN l.rules ? 'buffer' THEN 'listing' WHEN c.rules ? 'buffer' THEN 'connection' END AS set_on,
               (SELECT sum(v.units_per_hour) FROM sku_velocity v
                 WHERE v.tenant_id = p_tenant AND v.sku_id = l.sku_id AND v.connection_id <> p_connection) AS uph
          FROM listings l
          JOIN channel_connections c ON c.tenant_id = l.tenant_id AND c.id = l.connection_id
          JOIN skus k ON k.tenant_id = l.tenant_id AND k.id = l.sku_id
         WHERE l.tenant_id = p_tenant AND l.connection_id = p_connection AND l.state = 'active'),
    m AS MATERIALIZED (
        SELECT l.*,
               CASE WHEN l.setting IS NULL THEN 0
                    WHEN jsonb_typeof(l.setting) = 'string' THEN auto_buffer(p_tenant, l.sku_id, p_connection)
                    ELSE (l.setting #>> '{}')::bigint END AS cur,
               CASE WHEN l.lag_ms IS NULL OR l.uph IS NULL THEN 0
                    ELSE l.uph * l.lag_ms / 3600000.0 END AS lam,
               array_remove(ARRAY[CASE WHEN l.lag_ms IS NULL THEN 'push_lag' END,
                                  CASE WHEN l.uph IS NULL THEN 'velocity' END], NULL) AS missing
          FROM l),
    s AS (SELECT m.*, ceil(m.lam - 1e-9)::bigint AS sug FROM m)
    SELECT s.id, s.code, s.external_sku, s.cur, s.setting, s.set_on, s.uph, s.lag_ms, s.samples, s.lam, s.sug,
           s.missing,
           (SELECT jsonb_agg(jsonb_build_object('buffer', ch.b, 'labels', ch.labels,
                                                'expected_oversold', round(pc.oversold::numeric, 6),
                                                'expected_stranded', round(pc.stranded::numeric, 6)) ORDER BY ch.b)
              FROM (SELECT x.b, array_agg(x.label ORDER BY x.o) AS labels
                      FROM (VALUES (s.cur, 'current', 1), (s.sug, 'suggested', 2), (s.sug - 1, 'suggested_minus_1', 3),
                                   (s.sug + 1, 'suggested_plus_1', 4), (0::bigint, 'none', 5)) x(b, label, o)
                     WHERE x.b >= 0 GROUP BY x.b) ch,
                   LATERAL poisson_buffer_cost(s.lam, ch.b) pc)
      FROM s ORDER BY s.code, s.id;
END $$;

-- Sets the suggested buffer, clamped to [p_min, p_max] (NULL: 0 and no upper
-- bound), as the per-listing rule of the listings p_listings of connection
-- p_connection (NULL: every active one).  An id that is not an active
-- listing of the connection refuses the whole call (SQLSTATE OCBA1, its
-- message names the ids); p_min > p_max is OCBA2.  Audited per changed
-- listing as p_user / p_token (NULL, NULL: the worker) with p_request_id and
-- p_reason.  Returns {"connection_id", "changed": [{"listing_id", "sku",
-- "from", "from_setting", "to", "suggested"}], "unchanged": n}, or NULL when
-- the connection is not the brand's.
CREATE FUNCTION buffer_advice_apply(p_tenant uuid, p_connection uuid, p_listings uuid[], p_min int, p_max int,
                                    p_user uuid, p_token uuid, p_request_id text, p_reason text) RETURNS jsonb
    LANGUAGE plpgsql AS $$
DECLARE
    lo bigint := greatest(coalesce(p_min, 0), 0);
    bad text;
    a record;
    target bigint;
    changed jsonb := '[]';
    n_same int := 0;
    skus bigint[] := '{}';
BEGIN
    IF NOT EXISTS (SELECT 1 FROM channel_connections c WHERE c.tenant_id = p_tenant AND c.id = p_connection) THEN
        RETURN NULL;
    END IF;
    IF p_max IS NOT NULL AND p_max < lo THEN
        RAISE EXCEPTION 'min (%) is more than max (%)', lo, p_max USING ERRCODE = 'OCBA2';
    END IF;
    IF p_listings IS NOT NULL THEN
        SELECT string_agg(x::text, ', ' ORDER BY x) INTO bad FROM unnest(p_listings) x
         WHERE NOT EXISTS (SELECT 1 FROM listings l WHERE l.tenant_id = p_tenant AND l.id = x
                              AND l.connection_id = p_connection AND l.state = 'active');
        IF bad IS NOT NULL THEN
            RAISE EXCEPTION 'listing_ids holds ids that are not active listings of this connection: %', bad USING ERRCODE = 'OCBA1';
        END IF;
    END IF;
    -- Lock every listing the recomputation below touches, in id order as listings_refresh does (the
    -- chosen ones and the other listings of their SKUs and of bundles containing them), before
    -- reading: the advice is then the one applied, and no sale's refresh waits on us in another order.
    SELECT coalesce(array_agg(DISTINCT l.sku_id), '{}') INTO skus FROM listings l
     WHERE l.tenant_id = p_tenant AND l.connection_id = p_connection AND l.state = 'active'
       AND (p_listings IS NULL OR l.id = ANY (p_listings));
    PERFORM 1 FROM listings l WHERE l.tenant_id = p_tenant AND l.id IN (
        SELECT x.id FROM listings x WHERE x.tenant_id = p_tenant AND x.sku_id = ANY (skus)
        UNION
        SELECT x.id FROM listings x JOIN bundle_components bc ON bc.tenant_id = x.tenant_id AND bc.bundle_id = x.sku_id
         WHERE x.tenant_id = p_tenant AND bc.component_id = ANY (skus))
     ORDER BY l.id FOR UPDATE OF l;
    FOR a IN SELECT * FROM buffer_advice(p_tenant, p_connection) ba
              WHERE p_listings IS NULL OR ba.listing_id = ANY (p_listings) LOOP
        target := greatest(lo, a.suggested_buffer);
        IF p_max IS NOT NULL THEN
            target := least(target, p_max);
        END IF;
        IF EXISTS (SELECT 1 FROM listings l WHERE l.tenant_id = p_tenant AND l.id = a.listing_id
                      AND l.rules->'buffer' = to_jsonb(target)) THEN
            n_same := n_same + 1;
            CONTINUE;
        END IF;
        UPDATE listings l SET rules = l.rules || jsonb_build_object('buffer', target)
         WHERE l.tenant_id = p_tenant AND l.id = a.listing_id;
        changed := changed || jsonb_build_object('listing_id', a.listing_id, 'sku', a.sku, 'from', a.current_buffer,
                                                 'from_setting', a.current_setting, 'to', target,
                                                 'suggested', a.suggested_buffer);
        PERFORM audit_write(p_tenant, NULL, p_user, p_token, 'listing.buffer_advice', 'listing', a.listing_id::text,
                            jsonb_build_object('sku', a.sku, 'from', a.current_buffer, 'from_setting', a.current_setting,
                                               'to', target, 'suggested', a.suggested_buffer,
                                               'expected_elsewhere', round(a.expected_elsewhere::numeric, 6),
                                               'min', lo, 'max', p_max, 'reason', p_reason),
                            p_request_id);
    END LOOP;
    IF jsonb_array_length(changed) > 0 THEN
        PERFORM listings_refresh(p_tenant, skus);
    END IF;
    RETURN jsonb_build_object('connection_id', p_connection, 'changed', changed, 'unchanged', n_same);
END $$;

GRANT EXECUTE ON FUNCTION ln_factorial(bigint), poisson_buffer_cost(double precision, bigint),
    buffer_advice(uuid, uuid),
    buffer_advice_apply(uuid, uuid, uuid[], int, int, uuid, uuid, text, text) TO onecount_app;
