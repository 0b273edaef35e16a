-- 0001_foundation.sql — what every later migration relies on.
--
-- The application connects as onecount_app, which owns nothing: each
-- migration grants it exactly the privileges it needs on each table (no
-- UPDATE or DELETE on append-only tables).  The tenant of a transaction is
-- the transaction-local setting app.tenant_id; current_tenant() reads it and
-- is NULL when no tenant is set, so row-level policies then match no row.

GRANT USAGE ON SCHEMA public TO onecount_app;

CREATE FUNCTION current_tenant() RETURNS uuid
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT nullif(current_setting('app.tenant_id', true), '')::uuid $$;

GRANT EXECUTE ON FUNCTION current_tenant() TO onecount_app;
