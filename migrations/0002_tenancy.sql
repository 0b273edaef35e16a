-- 0002_tenancy.sql — portfolios, brands, users, roles, credentials, audit.
--
-- Two walls.  The brand (tenant) wall is enforced by PostgreSQL: every table
-- with tenant_id has row-level security enabled and forced, a policy on
-- current_tenants(), and tenant_id leading its primary key.  The portfolio
-- wall (which brands a user may name at all) is enforced by the API from the
-- memberships below; the directory tables here hold identities and roles,
-- never inventory.

-- app.tenant_id holds one brand id, or several separated by commas for
-- portfolio-wide reads.  Unset or empty means no tenant: policies match nothing.
CREATE FUNCTION current_tenants() RETURNS uuid[]
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT coalesce(string_to_array(nullif(current_setting('app.tenant_id', true), ''), ',')::uuid[], '{}') $$;
GRANT EXECUTE ON FUNCTION current_tenants() TO onecount_app;

CREATE TABLE portfolios (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    portfolio_id uuid NOT NULL REFERENCES portfolios (id),
    email text NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    password_hash text NOT NULL CHECK (password_hash LIKE '$argon2id$%'),
    created_at timestamptz NOT NULL DEFAULT now(),
    disabled_at timestamptz
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));
CREATE INDEX users_portfolio ON users (portfolio_id);

CREATE TABLE brands (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    portfolio_id uuid NOT NULL REFERENCES portfolios (id),
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    timezone text NOT NULL DEFAULT 'UTC',
    created_at timestamptz NOT NULL DEFAULT now(),
    archived_at timestamptz
);
CREATE UNIQUE INDEX brands_portfolio_name ON brands (portfolio_id, lower(name));

-- A portfolio_admin membership has no brand; every other role is per brand.
CREATE TABLE memberships (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    portfolio_id uuid NOT NULL REFERENCES portfolios (id),
    brand_id uuid REFERENCES brands (id),
    role text NOT NULL CHECK (role IN ('portfolio_admin', 'operator', 'brand_owner', 'viewer')),
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((brand_id IS NULL) = (role = 'portfolio_admin'))
);
CREATE UNIQUE INDEX memberships_user_brand ON memberships (user_id, coalesce(brand_id, '00000000-0000-0000-0000-000000000000'));
CREATE INDEX memberships_brand ON memberships (brand_id);

-- Browser sessions: the cookie carries a random token; only its SHA-256 is stored.
CREATE TABLE sessions (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash bytea NOT NULL UNIQUE,
    csrf text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz,
    remote_addr text
);
CREATE INDEX sessions_user ON sessions (user_id);

-- API tokens: shown once at creation, stored as SHA-256; scoped to one brand or the portfolio.
CREATE TABLE api_tokens (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    portfolio_id uuid NOT NULL REFERENCES portfolios (id),
    brand_id uuid REFERENCES brands (id),
    role text NOT NULL CHECK (role IN ('portfolio_admin', 'operator', 'brand_owner', 'viewer')),
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    token_hash bytea NOT NULL UNIQUE,
    prefix text NOT NULL,
    created_by uuid NOT NULL REFERENCES users (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at timestamptz,
    CHECK (brand_id IS NOT NULL OR role IN ('portfolio_admin', 'operator', 'viewer'))
);
CREATE INDEX api_tokens_portfolio ON api_tokens (portfolio_id);

CREATE TABLE invitations (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    portfolio_id uuid NOT NULL REFERENCES portfolios (id),
    brand_id uuid REFERENCES brands (id),
    email text NOT NULL,
    role text NOT NULL CHECK (role IN ('portfolio_admin', 'operator', 'brand_owner', 'viewer')),
    token_hash bytea NOT NULL UNIQUE,
    invited_by uuid NOT NULL REFERENCES users (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    accepted_at timestamptz,
    accepted_by uuid REFERENCES users (id),
    revoked_at timestamptz,
    CHECK ((brand_id IS NULL) = (role = 'portfolio_admin'))
);
CREATE INDEX invitations_portfolio ON invitations (portfolio_id);

-- Failed logins per account and per address, for throttling.
CREATE TABLE login_failures (
    key text PRIMARY KEY,
    failures int NOT NULL,
    window_start timestamptz NOT NULL
);

-- Portfolio-level actions (brands created, users invited, portfolio tokens).
CREATE TABLE portfolio_audit (
    portfolio_id uuid NOT NULL REFERENCES portfolios (id),
    id bigint GENERATED ALWAYS AS IDENTITY,
    at timestamptz NOT NULL DEFAULT now(),
    actor_user uuid,
    actor_token uuid,
    action text NOT NULL,
    object_type text NOT NULL,
    object_id text,
    summary jsonb NOT NULL DEFAULT '{}',
    request_id text,
    PRIMARY KEY (portfolio_id, id)
);

-- Every write inside a brand.  Append-only: the application may not update or delete.
CREATE TABLE audit_log (
    tenant_id uuid NOT NULL REFERENCES brands (id),
    id bigint GENERATED ALWAYS AS IDENTITY,
    at timestamptz NOT NULL DEFAULT now(),
    actor_user uuid,
    actor_token uuid,
    action text NOT NULL,
    object_type text NOT NULL,
    object_id text,
    summary jsonb NOT NULL DEFAULT '{}',
    request_id text,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX audit_log_time ON audit_log (tenant_id, at DESC);
ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_log FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_wall ON audit_log USING (tenant_id = ANY (current_tenants()))
    WITH CHECK (tenant_id = ANY (current_tenants()));

-- One way to write an audit record: into the brand's log when a tenant is
-- given, else into the portfolio's.  Returns true so statements can call it
-- conditionally (CASE WHEN changed THEN audit_write(…) ELSE true END).
CREATE FUNCTION audit_write(p_tenant uuid, p_portfolio uuid, p_user uuid, p_token uuid, p_action text,
                            p_object_type text, p_object_id text, p_summary jsonb, p_request_id text)
    RETURNS boolean LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    IF p_tenant IS NOT NULL THEN
        INSERT INTO audit_log (tenant_id, actor_user, actor_token, action, object_type, object_id, summary, request_id)
        VALUES (p_tenant, p_user, p_token, p_action, p_object_type, p_object_id, coalesce(p_summary, '{}'),
                p_request_id);
    ELSE
        INSERT INTO portfolio_audit (portfolio_id, actor_user, actor_token, action, object_type, object_id, summary,
                                     request_id)
        VALUES (p_portfolio, p_user, p_token, p_action, p_object_type, p_object_id, coalesce(p_summary, '{}'),
                p_request_id);
    END IF;
    RETURN true;
END $$;
GRANT EXECUTE ON FUNCTION audit_write(uuid, uuid, uuid, uuid, text, text, text, jsonb, text) TO onecount_app;

GRANT SELECT, INSERT, UPDATE ON portfolios, users, brands, sessions, api_tokens, invitations TO onecount_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON memberships, login_failures TO onecount_app;
GRANT SELECT, INSERT ON portfolio_audit, audit_log TO onecount_app;
