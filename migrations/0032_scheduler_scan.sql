-- 0032_scheduler_scan.sql — the scheduler's scan and claim at 10,000 brands
-- (issue 13's benchmark, ops/bench/scheduler.sh, found them reading every
-- routine each second and every claim checking the checklist).
--
-- The scan (tenants/workjobs.c) now asks "due by time" and "worker died"
-- separately, so each question is answered by an index instead of reading
-- every routine of its 400 brands: routines_due (0006) for the first, and
-- routines_leased here for the second (rows with a lease are the few that
-- are running).  The claim's overdue-checklist check leaves at once when
-- the brand has no open item past due and no overdue alert to resolve,
-- which is almost every claim.
CREATE INDEX routines_leased ON routines (lease_until) WHERE lease_owner IS NOT NULL;

CREATE OR REPLACE FUNCTION checklist_overdue(p_tenant uuid) RETURNS int
    LANGUAGE plpgsql AS $$
DECLARE
    n int;
    titles text;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM checklist_items WHERE tenant_id = p_tenant AND state = 'open' AND due_at <= now()) THEN
        IF EXISTS (SELECT 1 FROM alerts WHERE tenant_id = p_tenant AND connection_id IS NULL
                      AND kind = 'checklist_overdue' AND resolved_at IS NULL) THEN
            PERFORM alert_resolve(p_tenant, NULL, 'checklist_overdue');
        END IF;
        RETURN 0;
    END IF;
    UPDATE checklist_items SET overdue_alerted_at = now()
     WHERE tenant_id = p_tenant AND state = 'open' AND due_at <= now() AND overdue_alerted_at IS NULL;
    SELECT count(*), string_agg(title, '; ' ORDER BY due_at) INTO n, titles FROM (
        SELECT title, due_at FROM checklist_items WHERE tenant_id = p_tenant AND state = 'open' AND due_at <= now()
         ORDER BY due_at LIMIT 50) x;
    INSERT INTO alerts (tenant_id, connection_id, kind, message)
    VALUES (p_tenant, NULL, 'checklist_overdue', left(format('%s checklist step%s overdue: %s', n,
            CASE WHEN n = 1 THEN ' is' ELSE 's are' END, titles), 500))
    ON CONFLICT (tenant_id, coalesce(connection_id, '00000000-0000-0000-0000-000000000000'), kind)
       WHERE resolved_at IS NULL DO UPDATE SET message = excluded.message;
    RETURN n;
END $$;
