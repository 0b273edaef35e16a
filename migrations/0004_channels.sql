-- 0004_channels.sql — channel connections, the credential vault's data keys,
-- listings, and the one function that decides what each channel may show.
--
-- Credentials are stored only sealed (XChaCha20-Poly1305 under the brand's
-- data key, which is itself wrapped by the key-encryption key outside the
-- database; see tenants/vault.c).  A listing holds the quantity onecount
-- wants the channel to show (desired) and the last one the channel
-- acknowledged (pushed): the sync worker pushes whenever they differ.  Any
-- change of a SKU's availability recomputes desired for every listing of it
-- and of every bundle that contains it, in the same transaction (trigger on
-- stock), and wakes the workers.

CREATE TABLE brand_keys (
    tenant_id uuid PRIMARY KEY REFERENCES brands (id),
    key_version int NOT NULL,
    wrapped bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    rotated_at timestamptz
);

CREATE TABLE channel_connections (
    tenant_id uuid NOT NULL REFERENCES brands (id),
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    kind text NOT NULL CHECK (kind IN ('shopify', 'amazon', 'walmart')),
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    base_url text NOT NULL,
    settings jsonb NOT NULL DEFAULT '{}',
    credentials bytea,
    credentials_fields text[] NOT NULL DEFAULT '{}', -- names only, to show which are set
    credentials_updated_at timestamptz,
    status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'paused', 'error')),
    status_detail text,
    -- Defaults for every listing of the connection (see publish_qty).
    rules jsonb NOT NULL DEFAULT '{}',
    rate_scale double precision NOT NULL DEFAULT 1 CHECK (rate_scale > 0 AND rate_scale <= 1000),
    -- Measured by the sync worker: how long a change takes to show on the channel,
    -- and how long a sale takes to reach onecount.
    push_lag_ms bigint,
    ingest_lag_ms bigint,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, name)
);

-- Brand-wide rules that span connections: the last units go to one channel.
CREATE TABLE brand_rules (
    tenant_id uuid PRIMARY KEY REFERENCES brands (id),
    last_units_threshold bigint CHECK (last_units_threshold >= 0),
    last_units_connection uuid,
    updated_at timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (tenant_id, last_units_connection) REFERENCES channel_connections (tenant_id, id)
);

CREATE TABLE listings (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    connection_id uuid NOT NULL,
    sku_id bigint NOT NULL,
    external_sku text NOT NULL CHECK (length(external_sku) BETWEEN 1 AND 200),
    item_ref text,      -- Shopify inventory item gid
    location_ref text,  -- Shopify location gid (else the connection's)
    rules jsonb NOT NULL DEFAULT '{}', -- overrides of the connection's rules
    state text NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'paused')),
    desired_qty bigint,
    desired_version bigint NOT NULL DEFAULT 0,
    desired_reason jsonb,
    desired_at timestamptz,
    pushed_qty bigint,
    pushed_version bigint NOT NULL DEFAULT 0,
    pushed_at timestamptz,
    push_pending boolean NOT NULL DEFAULT false, -- accepted, applied later (Amazon)
    seen_qty bigint,
    seen_at timestamptz,
    attempts int NOT NULL DEFAULT 0,
    next_attempt_at timestamptz,
    last_error text,
    lease_owner text,
    lease_until timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, connection_id, sku_id),
    UNIQUE (tenant_id, connection_id, external_sku),
    FOREIGN KEY (tenant_id, connection_id) REFERENCES channel_connections (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, sku_id) REFERENCES skus (tenant_id, id)
);
CREATE INDEX listings_sku ON listings (tenant_id, sku_id);
CREATE INDEX listings_dirty ON listings (tenant_id, connection_id) WHERE desired_version > pushed_version;

-- Units sold per hour per SKU and channel, refreshed by a scheduled routine;
-- the automatic buffer reads it.
CREATE TABLE sku_velocity (
    tenant_id uuid NOT NULL,
    sku_id bigint NOT NULL,
    connection_id uuid NOT NULL,
    units_per_hour double precision NOT NULL,
    measured_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, sku_id, connection_id)
);

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['brand_keys', 'channel_connections', 'brand_rules', 'listings', 'sku_velocity'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_wall ON %I USING (tenant_id = ANY (current_tenants()))'
                       ' WITH CHECK (tenant_id = ANY (current_tenants()))', t);
    END LOOP;
END $$;

GRANT SELECT, INSERT, UPDATE ON brand_keys, channel_connections, brand_rules TO onecount_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON listings, sku_velocity TO onecount_app;
GRANT DELETE ON channel_connections TO onecount_app;

-- ---------------------------------------------------------------------------
-- Smallest q with P(X <= q) >= p for X ~ Poisson(lambda): the units the other
-- channels sell, at the 99th percentile, while this one still shows the old
-- number.
-- ---------------------------------------------------------------------------
CREATE FUNCTION poisson_quantile(p_lambda double precision, p_p double precision) RETURNS bigint
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    k bigint := 0;
    term double precision;
    cdf double precision;
BEGIN
    IF p_lambda IS NULL OR p_lambda <= 0 THEN
        RETURN 0;
    END IF;
    IF p_lambda > 500 THEN -- normal approximation
        RETURN ceil(p_lambda + 2.3263 * sqrt(p_lambda));
    END IF;
    term := exp(-p_lambda);
    cdf := term;
    WHILE cdf < p_p AND k < 100000 LOOP
        k := k + 1;
        term := term * p_lambda / k;
        cdf := cdf + term;
    END LOOP;
    RETURN k;
END $$;

-- ---------------------------------------------------------------------------
-- publish_qty: THE rule for what a channel may show.  Inputs: the SKU's
-- available units (held ones already out), the effective rules of the
-- listing (connection rules overlaid by the listing's), whether the brand's
-- last-units rule applies and whether this connection is its designated one,
-- and the automatic buffer when the rules ask for it.  Steps, in order:
--   buffer  — hold back N units ("buffer": n, or "auto": sized from lag × velocity)
--   share   — show only this percentage ("share": 0..100)
--   cap     — never more than this ("cap": n)
--   last_units — at or below the brand's threshold only the designated channel shows stock
--   floor   — below this, show 0 ("floor": n)
-- Returns {"qty", "bound_by": the last rule that lowered it, "steps": [...]}.
-- ---------------------------------------------------------------------------
CREATE FUNCTION publish_qty(p_available bigint, p_rules jsonb, p_last_units_threshold bigint,
                            p_is_last_units_owner boolean, p_auto_buffer bigint) RETURNS jsonb
    LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    q bigint := greatest(coalesce(p_available, 0), 0);
    bound text := CASE WHEN coalesce(p_available, 0) <= 0 THEN 'none_available' ELSE 'available' END;
    steps jsonb := jsonb_build_array(jsonb_build_object('rule', 'available', 'qty', q));
    b bigint;
    v bigint;
BEGIN
    -- buffer
    IF p_rules ? 'buffer' THEN
        IF p_rules->>'buffer' = 'auto' THEN
            b := coalesce(p_auto_buffer, 0);
        ELSE
            b := (p_rules->>'buffer')::bigint;
        END IF;
        IF b > 0 AND q > 0 THEN
            q := greatest(q - b, 0);
            bound := 'buffer';
            steps := steps || jsonb_build_object('rule', 'buffer', 'units', b, 'qty', q);
        END IF;
    END IF;
    -- share
    IF p_rules ? 'share' AND (p_rules->>'share')::numeric < 100 THEN
        v := floor(q * (p_rules->>'share')::numeric / 100);
        IF v < q THEN
            q := v;
            bound := 'share';
            steps := steps || jsonb_build_object('rule', 'share', 'percent', (p_rules->>'share')::numeric, 'qty', q);
        END IF;
    END IF;
    -- cap
    IF p_rules ? 'cap' AND jsonb_typeof(p_rules->'cap') = 'number' AND q > (p_rules->>'cap')::bigint THEN
        q := (p_rules->>'cap')::bigint;
        bound := 'cap';
        steps := steps || jsonb_build_object('rule', 'cap', 'qty', q);
    END IF;
    -- last units
    IF p_last_units_threshold IS NOT NULL AND coalesce(p_available, 0) <= p_last_units_threshold
       AND NOT coalesce(p_is_last_units_owner, false) AND q > 0 THEN
        q := 0;
        bound := 'last_units';
        steps := steps || jsonb_build_object('rule', 'last_units', 'threshold', p_last_units_threshold, 'qty', 0);
    END IF;
    -- floor
    IF p_rules ? 'floor' AND q > 0 AND q < (p_rules->>'floor')::bigint THEN
        q := 0;
        bound := 'floor';
        steps := steps || jsonb_build_object('rule', 'floor', 'below', (p_rules->>'floor')::bigint, 'qty', 0);
    END IF;
    RETURN jsonb_build_object('qty', q, 'bound_by', bound, 'steps', steps);
END $$;

-- The automatic buffer for a listing: units the OTHER channels sell (99th
-- percentile) during this channel's lag (push lag plus ingest lag).
CREATE FUNCTION auto_buffer(p_tenant uuid, p_sku bigint, p_connection uuid) RETURNS bigint
    LANGUAGE sql STABLE AS $$
    SELECT poisson_quantile(
        coalesce((SELECT sum(v.units_per_hour) FROM sku_velocity v
                   WHERE v.tenant_id = p_tenant AND v.sku_id = p_sku AND v.connection_id <> p_connection), 0)
        * coalesce((SELECT (coalesce(c.push_lag_ms, 0) + coalesce(c.ingest_lag_ms, 0)) / 3600000.0
                      FROM channel_connections c WHERE c.tenant_id = p_tenant AND c.id = p_connection), 0),
        0.99)
$$;

-- The published quantity of one listing, from the current state.
CREATE FUNCTION listing_publish(p_tenant uuid, p_listing uuid) RETURNS jsonb
    LANGUAGE sql STABLE AS $$
    SELECT publish_qty(
        sku_available(l.tenant_id, l.sku_id),
        c.rules || l.rules,
        r.last_units_threshold,
        r.last_units_connection = l.connection_id,
        CASE WHEN (c.rules || l.rules)->>'buffer' = 'auto' THEN auto_buffer(l.tenant_id, l.sku_id, l.connection_id) END)
    FROM listings l JOIN channel_connections c ON c.tenant_id = l.tenant_id AND c.id = l.connection_id
    LEFT JOIN brand_rules r ON r.tenant_id = l.tenant_id
    WHERE l.tenant_id = p_tenant AND l.id = p_listing
$$;

-- Recomputes desired quantities of the listings of these SKUs (and of the
-- bundles containing them); bumps desired_version where the number changed
-- and wakes the workers.  Returns how many listings changed.
CREATE FUNCTION listings_refresh(p_tenant uuid, p_skus bigint[]) RETURNS int
    LANGUAGE plpgsql AS $$
DECLARE
    n int;
BEGIN
    -- Listings are always locked in id order (here, in push_record and in
    -- read_back_record), so concurrent sales and push results cannot deadlock.
    WITH affected AS (
        SELECT l.id FROM listings l WHERE l.tenant_id = p_tenant AND l.id IN (
            SELECT l.id FROM listings l WHERE l.tenant_id = p_tenant AND l.sku_id = ANY (p_skus)
            UNION
            SELECT l.id FROM listings l JOIN bundle_components bc ON bc.tenant_id = l.tenant_id AND bc.bundle_id = l.sku_id
             WHERE l.tenant_id = p_tenant AND bc.component_id = ANY (p_skus))
        ORDER BY l.id FOR UPDATE OF l),
    calc AS (SELECT a.id, listing_publish(p_tenant, a.id) AS p FROM affected a)
    UPDATE listings l SET desired_qty = (calc.p->>'qty')::bigint, desired_reason = calc.p,
                          desired_version = l.desired_version + 1, desired_at = now()
      FROM calc
     WHERE l.tenant_id = p_tenant AND l.id = calc.id
       AND l.desired_qty IS DISTINCT FROM (calc.p->>'qty')::bigint;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n > 0 THEN
        PERFORM pg_notify('oc_dirty', p_tenant::text);
    END IF;
    RETURN n;
END $$;

-- Every change of availability recomputes the listings, whatever path changed it.
CREATE FUNCTION stock_changed() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM listings_refresh(NEW.tenant_id, ARRAY[NEW.sku_id]);
    RETURN NULL;
END $$;

CREATE TRIGGER stock_changed AFTER UPDATE OF on_hand, committed, held ON stock
    FOR EACH ROW
    WHEN (OLD.on_hand - OLD.committed - OLD.held IS DISTINCT FROM NEW.on_hand - NEW.committed - NEW.held)
    EXECUTE FUNCTION stock_changed();

-- Rules, bundles and connections change published quantities too: refresh
-- every listing of a brand's SKUs (used after rule and mapping changes).
CREATE FUNCTION listings_refresh_brand(p_tenant uuid) RETURNS int
    LANGUAGE sql AS $$
    SELECT listings_refresh(p_tenant, coalesce((SELECT array_agg(DISTINCT sku_id) FROM listings
                                                 WHERE tenant_id = p_tenant), '{}'))
$$;

GRANT EXECUTE ON FUNCTION poisson_quantile(double precision, double precision),
    publish_qty(bigint, jsonb, bigint, boolean, bigint), auto_buffer(uuid, bigint, uuid),
    listing_publish(uuid, uuid), listings_refresh(uuid, bigint[]), listings_refresh_brand(uuid) TO onecount_app;
