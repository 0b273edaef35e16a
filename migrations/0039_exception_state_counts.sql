-- 0039_exception_state_counts.sql — the exception queue (0033) counts its
-- items per state as it counts them per kind, severity and brand:
-- counts.by_state has open, acknowledged, snoozed and resolved (the last 30
-- days' resolved items, the window the queue shows them in), each under every
-- filter but the state's own, so the console's state chips all carry a count.
--
-- Without an owner or channel filter the unresolved states come from the
-- trigger-kept exception_counts (they carry the state already) and the
-- resolved ones from the resolved items' partial index, which now includes
-- the kind and the severity so that counting them is an index-only scan;
-- with either filter every count comes from one pass over the items, as
-- before.  Same key and predicate as exceptions_resolved, which it replaces.

DROP INDEX IF EXISTS exceptions_resolved;
CREATE INDEX exceptions_resolved_facets ON exceptions (tenant_id, resolved_at) INCLUDE (kind, severity)
    WHERE state = 'resolved';

-- The queue of the transaction's brands: one page plus counts per facet, each facet ignoring its own filter.
-- p_state: active (open + acknowledged), open, acknowledged, snoozed, resolved, all.  p_owner: a user, or the
-- nil uuid for "nobody".  p_after: the cursor (sev_rank, opened_at, id) of the last item of the previous page.
CREATE OR REPLACE FUNCTION exception_queue(p_brand uuid, p_kind text, p_severity text, p_state text, p_owner uuid,
                                           p_connection uuid, p_after_rank int, p_after_at timestamptz,
                                           p_after_id bigint, p_limit int) RETURNS jsonb
LANGUAGE sql STABLE
-- the page walks exceptions_queue in order and stops at its limit: under a long list of brands the estimates
-- are blind, and sorting every item looked as cheap
SET enable_sort = off AS $$
WITH every_state AS (
    -- how many items under the owner and channel filters there are per brand, kind, severity and state (of
    -- the states the queue shows; resolved: the last 30 days'), what the counts are made of — without those
    -- filters from the kept counts and the resolved items' index, else from the items; summed here, so that
    -- what follows reads a few rows per brand, not one per item.  chosen: in the view of p_state (every facet
    -- but by_state counts only those)
    SELECT s.*, CASE p_state WHEN 'active' THEN s.state IN ('open', 'acknowledged') WHEN 'all' THEN true
                             ELSE s.state = p_state END AS chosen FROM (
    SELECT c.tenant_id, c.kind, c.severity, c.state, c.n FROM exception_counts c
     WHERE p_owner IS NULL AND p_connection IS NULL AND c.n > 0
    UNION ALL
    SELECT e.tenant_id, e.kind, e.severity, 'resolved', count(*) FROM exceptions e
     WHERE p_owner IS NULL AND p_connection IS NULL
       AND e.state = 'resolved' AND e.resolved_at > now() - interval '30 days'
     GROUP BY e.tenant_id, e.kind, e.severity
    UNION ALL
    SELECT e.tenant_id, e.kind, e.severity, e.state, count(*) FROM exceptions e
     WHERE NOT (p_owner IS NULL AND p_connection IS NULL) AND exception_in_view(e, 'all', p_owner, p_connection)
     GROUP BY e.tenant_id, e.kind, e.severity, e.state) s),
f AS (
    SELECT * FROM every_state
     WHERE chosen AND (p_brand IS NULL OR tenant_id = p_brand) AND (p_kind IS NULL OR kind = p_kind)
       AND (p_severity IS NULL OR severity = p_severity))
SELECT jsonb_build_object(
    -- the page straight from the table in the queue's order (exceptions_queue), the filters as a filter
    'items', (SELECT coalesce(jsonb_agg(exception_json(x) || jsonb_build_object('_rank', x.sev_rank::text)
                                        ORDER BY x.sev_rank, x.opened_at DESC, x.id DESC), '[]')
                FROM (SELECT e.* FROM exceptions e
                       WHERE exception_in_view(e, p_state, p_owner, p_connection)
                         AND (p_brand IS NULL OR e.tenant_id = p_brand) AND (p_kind IS NULL OR e.kind = p_kind)
                         AND (p_severity IS NULL OR e.severity = p_severity)
                         AND (p_after_at IS NULL
                              OR (e.sev_rank, p_after_at, p_after_id) > (p_after_rank, e.opened_at, e.id))
                       ORDER BY e.sev_rank, e.opened_at DESC, e.id DESC LIMIT p_limit) x),
    'counts', jsonb_build_object(
        'total', (SELECT coalesce(sum(n), 0) FROM f),
        'by_kind', (SELECT coalesce(jsonb_object_agg(kind, n), '{}') FROM (SELECT kind, sum(n) AS n FROM every_state
                     WHERE chosen AND (p_brand IS NULL OR tenant_id = p_brand)
                       AND (p_severity IS NULL OR severity = p_severity)
                     GROUP BY kind) k),
        'by_severity', (SELECT coalesce(jsonb_object_agg(severity, n), '{}') FROM (SELECT severity, sum(n) AS n
                         FROM every_state WHERE chosen AND (p_brand IS NULL OR tenant_id = p_brand)
                                                AND (p_kind IS NULL OR kind = p_kind)
                         GROUP BY severity) s),
        -- every state, zero included, whatever p_state
        'by_state', (SELECT jsonb_object_agg(v.state, coalesce(s.n, 0))
                       FROM (VALUES ('open'), ('acknowledged'), ('snoozed'), ('resolved')) v (state)
                       LEFT JOIN (SELECT state, sum(n) AS n FROM every_state
                                   WHERE (p_brand IS NULL OR tenant_id = p_brand) AND (p_kind IS NULL OR kind = p_kind)
                                     AND (p_severity IS NULL OR severity = p_severity)
                                   GROUP BY state) s ON s.state = v.state),
        'by_brand', (SELECT coalesce(jsonb_object_agg(tenant_id, n), '{}') FROM (SELECT tenant_id, sum(n) AS n
                      FROM every_state WHERE chosen AND (p_kind IS NULL OR kind = p_kind)
                                             AND (p_severity IS NULL OR severity = p_severity)
                      GROUP BY tenant_id) b)))
$$;
