-- 0018_channel_accounts.sql — every connection's account on the channel, and
-- at most one active connection per account in the whole database.
--
-- The same channel account connected twice (the demo brand's Walmart keys
-- connected a second time and auto-mapped) recorded every order twice: each
-- connection polls the same orders.  A connection now carries the identity
-- the channel confirmed (tenants/channels.c: the Shopify shop's myshopify
-- domain, the Amazon selling partner with each of its marketplaces, the
-- Walmart API client) as one or more keys; `channel_accounts` holds one row
-- per key, and a unique index over (kind, key) among active connections
-- refuses a second one.  A unique index holds across row-level security;
-- saying who holds an account needs a look across brands, which only
-- channel_account_holder() (SECURITY DEFINER) does, and it says no more
-- than may be said: the connection and brand when they are in the caller's
-- portfolio, "elsewhere" when not.

ALTER TABLE channel_connections
    ADD COLUMN account jsonb,                  -- {"id", …} as the channel confirmed it (NULL: not yet)
    ADD COLUMN account_keys text[],            -- what identifies the account, one key or several
    ADD COLUMN account_verified_at timestamptz;

CREATE TABLE channel_accounts (
    tenant_id uuid NOT NULL,
    connection_id uuid NOT NULL,
    kind text NOT NULL,
    account_key text NOT NULL CHECK (length(account_key) BETWEEN 1 AND 300),
    active boolean NOT NULL,
    PRIMARY KEY (tenant_id, connection_id, account_key),
    FOREIGN KEY (tenant_id, connection_id) REFERENCES channel_connections (tenant_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX channel_accounts_one_active ON channel_accounts (kind, account_key) WHERE active;
ALTER TABLE channel_accounts ENABLE ROW LEVEL SECURITY;
ALTER TABLE channel_accounts FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_wall ON channel_accounts USING (tenant_id = ANY ((SELECT current_tenants())::uuid[]))
    WITH CHECK (tenant_id = ANY ((SELECT current_tenants())::uuid[]));
GRANT SELECT, INSERT, UPDATE, DELETE ON channel_accounts TO onecount_app;
-- The tables' owner (who runs the migrations, and owns channel_account_holder) reads the account keys
-- and connection names of every brand; the application role still sees only its brands' rows.
DO $$
BEGIN
    EXECUTE format('CREATE POLICY account_holder ON channel_accounts FOR SELECT TO %I USING (true)', current_user);
    EXECUTE format('CREATE POLICY account_holder ON channel_connections FOR SELECT TO %I USING (true)', current_user);
END $$;

-- Who else holds one of these keys with an active connection, as far as the
-- caller may know: NULL when nobody; {"same_portfolio": true, "connection_id",
-- "connection", "brand_id", "brand", "message"} when the holder is in the
-- portfolio of the caller's brand; {"same_portfolio": false, "message"} when
-- not.  The caller's brand must be one it acts for (app.tenant_id).
CREATE FUNCTION channel_account_holder(p_tenant uuid, p_kind text, p_keys text[], p_connection uuid) RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    h record;
    label text := CASE p_kind WHEN 'shopify' THEN 'Shopify store' WHEN 'amazon' THEN 'Amazon seller account'
                              ELSE 'Walmart seller account' END;
BEGIN
    IF p_tenant IS NULL OR NOT p_tenant = ANY (current_tenants()) OR p_keys IS NULL THEN
        RETURN NULL;
    END IF;
    SELECT a.tenant_id, a.connection_id, c.name AS conn_name, b.name AS brand_name,
           b.portfolio_id = (SELECT portfolio_id FROM brands WHERE id = p_tenant) AS same
      INTO h
      FROM channel_accounts a
      JOIN channel_connections c ON c.tenant_id = a.tenant_id AND c.id = a.connection_id
      JOIN brands b ON b.id = a.tenant_id
     WHERE a.kind = p_kind AND a.account_key = ANY (p_keys) AND a.active
       AND NOT (a.tenant_id = p_tenant AND a.connection_id IS NOT DISTINCT FROM p_connection)
     ORDER BY a.tenant_id = p_tenant DESC, same DESC
     LIMIT 1;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    IF h.same THEN
        RETURN jsonb_build_object('same_portfolio', true, 'connection_id', h.connection_id, 'connection', h.conn_name,
            'brand_id', h.tenant_id, 'brand', h.brand_name,
            'message', format('this %s is already connected as "%s" in brand "%s"', label, h.conn_name, h.brand_name));
    END IF;
    RETURN jsonb_build_object('same_portfolio', false, 'message', 'this account is already connected elsewhere');
END $$;
REVOKE ALL ON FUNCTION channel_account_holder(uuid, text, text[], uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION channel_account_holder(uuid, text, text[], uuid) TO onecount_app;

-- Keeps channel_accounts in step with each connection's keys and status, and
-- refuses (SQLSTATE OCDUP, the message saying who holds it as far as may be
-- said) an active connection to an account another active connection holds.
-- The unique index decides between two transactions that race.
CREATE FUNCTION channel_accounts_sync() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
    holder jsonb;
BEGIN
    IF NEW.account_keys IS NOT NULL AND NEW.status = 'active' THEN
        holder := channel_account_holder(NEW.tenant_id, NEW.kind, NEW.account_keys, NEW.id);
        IF holder IS NOT NULL THEN
            RAISE EXCEPTION USING ERRCODE = 'OCDUP', MESSAGE = holder->>'message', DETAIL = holder::text;
        END IF;
    END IF;
    DELETE FROM channel_accounts WHERE tenant_id = NEW.tenant_id AND connection_id = NEW.id;
    INSERT INTO channel_accounts (tenant_id, connection_id, kind, account_key, active)
    SELECT NEW.tenant_id, NEW.id, NEW.kind, k, NEW.status = 'active'
      FROM (SELECT DISTINCT unnest(NEW.account_keys) AS k) x WHERE k IS NOT NULL;
    RETURN NULL;
END $$;
CREATE TRIGGER channel_accounts_sync AFTER INSERT OR UPDATE OF status, account_keys ON channel_connections
    FOR EACH ROW EXECUTE FUNCTION channel_accounts_sync();

-- The channel confirmed the account of a connection (the worker's first call,
-- "test connection").  Records it; when another active connection holds the
-- account, the connection is paused instead (with why in status_detail and an
-- open `duplicate_account` alert) so it never takes in the same orders twice.
-- Returns {"duplicate": false} or {"duplicate": true, "message", "holder"}.
CREATE FUNCTION channel_account_confirm(p_tenant uuid, p_connection uuid, p_account jsonb, p_keys text[])
    RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    c channel_connections%ROWTYPE;
    holder jsonb;
BEGIN
    SELECT * INTO c FROM channel_connections WHERE tenant_id = p_tenant AND id = p_connection FOR UPDATE;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    holder := channel_account_holder(p_tenant, c.kind, p_keys, p_connection);
    IF holder IS NULL THEN
        BEGIN
            UPDATE channel_connections SET account = p_account, account_keys = p_keys, account_verified_at = now()
             WHERE tenant_id = p_tenant AND id = p_connection;
            PERFORM alert_resolve(p_tenant, p_connection, 'duplicate_account');
            RETURN jsonb_build_object('duplicate', false);
        EXCEPTION WHEN unique_violation OR SQLSTATE 'OCDUP' THEN
            -- another transaction took the account meanwhile
            holder := coalesce(channel_account_holder(p_tenant, c.kind, p_keys, p_connection),
                               jsonb_build_object('message', 'this account is already connected elsewhere'));
        END;
    END IF;
    UPDATE channel_connections SET account = p_account, account_keys = p_keys, account_verified_at = now(),
           status = CASE WHEN status = 'active' THEN 'paused' ELSE status END,
           status_detail = 'paused: ' || (holder->>'message') || '; each channel account may have one active connection',
           updated_at = now()
     WHERE tenant_id = p_tenant AND id = p_connection;
    PERFORM alert_open(p_tenant, p_connection, 'duplicate_account',
                       'connection "' || c.name || '" was paused: ' || (holder->>'message')
                       || '; a second connection to one account would record every order twice');
    RETURN jsonb_build_object('duplicate', true, 'message', holder->>'message', 'holder', holder);
END $$;
GRANT EXECUTE ON FUNCTION channel_account_confirm(uuid, uuid, jsonb, text[]) TO onecount_app;

-- Refuses (OCDUP) work that would treat a connection as its account's own
-- while another active connection holds that account (auto-map).
CREATE FUNCTION channel_account_guard(p_tenant uuid, p_connection uuid) RETURNS boolean
    LANGUAGE plpgsql STABLE AS $$
DECLARE
    c channel_connections%ROWTYPE;
    holder jsonb;
BEGIN
    SELECT * INTO c FROM channel_connections WHERE tenant_id = p_tenant AND id = p_connection;
    IF NOT FOUND OR c.account_keys IS NULL THEN
        RETURN true;
    END IF;
    holder := channel_account_holder(p_tenant, c.kind, c.account_keys, p_connection);
    IF holder IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'OCDUP', MESSAGE = holder->>'message', DETAIL = holder::text;
    END IF;
    RETURN true;
END $$;
GRANT EXECUTE ON FUNCTION channel_account_guard(uuid, uuid) TO onecount_app;
