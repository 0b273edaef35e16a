-- 0015_tenant_wall_once.sql — the tenant wall reads app.tenant_id once per
-- statement, not once per row.  current_tenants() is STABLE, and PostgreSQL
-- evaluated it for every row each policy checked: parsing the list of brand
-- ids again each time, which made a statement over many brands (the hold
-- mirror, the expiry sweep) pay per row for the length of the list.  As an
-- uncorrelated scalar subquery it becomes an InitPlan: evaluated once per
-- execution, and still an index condition.

DO $$
DECLARE
    t record;
BEGIN
    FOR t IN SELECT schemaname, tablename FROM pg_policies WHERE policyname = 'tenant_wall' ORDER BY tablename LOOP
        EXECUTE format('ALTER POLICY tenant_wall ON %I.%I USING (tenant_id = ANY ((SELECT current_tenants())::uuid[]))'
                       ' WITH CHECK (tenant_id = ANY ((SELECT current_tenants())::uuid[]))', t.schemaname, t.tablename);
    END LOOP;
END $$;
