-- 0014_catalog_notify.sql — catalog changes are announced on the oc_catalog
-- channel, so every server process drops its SKU cache (tenants/catalog.c),
-- not only the process that made the change.  One notification per
-- statement; PostgreSQL folds repeats within a transaction into one.

CREATE FUNCTION catalog_changed() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('oc_catalog', '');
    RETURN NULL;
END $$;

CREATE TRIGGER catalog_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON skus
    FOR EACH STATEMENT EXECUTE FUNCTION catalog_changed();
CREATE TRIGGER catalog_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON bundle_components
    FOR EACH STATEMENT EXECUTE FUNCTION catalog_changed();
