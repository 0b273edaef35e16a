-- 0016_leases_renew_order.sql — a worker renews its leases locking the rows
-- in id order, the order every other path locks listings in
-- (listings_refresh, push_record, read_back_record).  0006's plain UPDATE
-- took them in scan order, and deadlocked against a sale refreshing the
-- same listings; since 0013 refreshes all of a statement's SKUs at once,
-- those overlaps grew.

CREATE OR REPLACE FUNCTION leases_renew(p_tenant uuid, p_owner text, p_lease_s int) RETURNS int
    LANGUAGE plpgsql AS $$
DECLARE
    a int;
    b int;
BEGIN
    WITH mine AS (
        SELECT id FROM listings WHERE tenant_id = p_tenant AND lease_owner = p_owner AND lease_until > now()
         ORDER BY id FOR UPDATE
    )
    UPDATE listings l SET lease_until = now() + p_lease_s * interval '1 second'
      FROM mine WHERE l.tenant_id = p_tenant AND l.id = mine.id;
    GET DIAGNOSTICS a = ROW_COUNT;
    WITH mine AS (
        SELECT id FROM routines WHERE tenant_id = p_tenant AND lease_owner = p_owner AND lease_until > now()
         ORDER BY id FOR UPDATE
    )
    UPDATE routines r SET lease_until = now() + p_lease_s * interval '1 second'
      FROM mine WHERE r.tenant_id = p_tenant AND r.id = mine.id;
    GET DIAGNOSTICS b = ROW_COUNT;
    RETURN a + b;
END $$;
