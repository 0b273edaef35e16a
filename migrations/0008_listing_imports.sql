-- 0008_listing_imports.sql — CSV imports of listings (server/api_imports.c):
-- the import_jobs type check takes 'listings', and the ANALYZE at the end of
-- an import covers the listings it wrote.  The rows are written by plain
-- statements and their desired quantities recomputed by listings_refresh
-- (migrations/0004), as POST /listings does.

ALTER TABLE import_jobs DROP CONSTRAINT import_jobs_type_check;
ALTER TABLE import_jobs ADD CONSTRAINT import_jobs_type_check
    CHECK (type IN ('skus', 'bundles', 'counts', 'listings'));

-- As in 0005, plus listings.  SECURITY DEFINER because ANALYZE needs the
-- tables' owner; it takes no input that reaches SQL.
CREATE OR REPLACE FUNCTION import_analyze(p_type text) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
    IF p_type = 'counts' THEN
        ANALYZE public.stock, public.movements;
    ELSIF p_type = 'listings' THEN
        ANALYZE public.listings;
    ELSE
        ANALYZE public.skus, public.stock, public.bundle_components;
    END IF;
    RETURN true;
END $$;
REVOKE ALL ON FUNCTION import_analyze(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION import_analyze(text) TO onecount_app;
