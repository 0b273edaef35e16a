-- 0033_exceptions.sql — one exception queue per portfolio (issue 14).
--
-- An exception is something wrong a person should look at: an oversell, a
-- listing that does not reach its channel, order lines nobody can map, a
-- drift read-back could not heal, a failing connection or credentials about
-- to lapse, a failed SOP run, an overdue checklist step, a SKU missing on a
-- channel, a stock-out on a channel while units sit unsold, low stock by days
-- of cover.  Each kind is a condition on the state onecount already keeps;
-- exception_conditions() lists every condition true now, one row per
-- (brand, kind, subject), where the subject names what it is about (an
-- incident, a listing, a connection and channel SKU, a SKU, a routine, a
-- checklist item).
--
-- Items open and close themselves.  exceptions_refresh(), run by the worker
-- over a chunk of brands every exceptions_check_seconds, compares the
-- conditions with the live items: a new condition opens an item, a changed
-- one updates its words and numbers, a condition gone closes its item
-- ("closed by itself": resolved with no resolver).  A live row is the one
-- item that stands for a condition now (one per brand, kind and subject);
-- when it closes it stays as history and a later recurrence opens a new one.
--
-- People act on items: acknowledge, assign (to someone who can see the
-- brand), snooze until a time (it comes back by itself then), resolve with a
-- note, reopen.  Resolving by hand while the condition is still there keeps
-- the item resolved while the condition stays the same (its fingerprint —
-- the numbers that matter: units short, how many lines, which channels); it
-- opens again when the condition changes, and a new item opens if it clears
-- and comes back.  Every change is a row of exception_events (who, when,
-- what, note): the item's history.  A person's actions are audited.
--
-- A SKU may carry its unit cost (skus.unit_cost), so that the dashboard can
-- say what the open oversells cost as well as how many units they are.
--
-- Severity: critical (an oversell, a failing connection), warning (needs a
-- person soon), info (worth knowing: a SKU not listed everywhere, low stock).

ALTER TABLE skus ADD COLUMN unit_cost numeric(14, 2) CHECK (unit_cost >= 0);

CREATE TABLE exceptions (
    tenant_id uuid NOT NULL REFERENCES brands (id),
    id bigint GENERATED ALWAYS AS IDENTITY,
    kind text NOT NULL CHECK (kind IN ('oversell', 'unmapped_line', 'listing_stuck', 'drift_unhealed',
                                       'connection_failing', 'credentials_expiring', 'sop_run_failed',
                                       'checklist_overdue', 'sku_unlisted', 'stranded_stockout', 'low_stock')),
    subject text NOT NULL CHECK (length(subject) BETWEEN 1 AND 300),
    severity text NOT NULL CHECK (severity IN ('critical', 'warning', 'info')),
    sev_rank smallint GENERATED ALWAYS AS (CASE severity WHEN 'critical' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END)
        STORED,
    state text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'acknowledged', 'snoozed', 'resolved')),
    live boolean NOT NULL DEFAULT true,
    title text NOT NULL,
    detail jsonb NOT NULL DEFAULT '{}',
    fingerprint text NOT NULL DEFAULT '',
    connection_id uuid,
    sku_id bigint,
    listing_id uuid,
    incident_id bigint,
    routine_id uuid,
    checklist_id uuid,
    channel_sku text,
    -- the names the item shows, copied by the refresh (reading them per item under a long list of brands cost
    -- a probe of every brand each)
    connection_name text,
    connection_kind text,
    sku_code text,
    sku_title text,
    owner_id uuid REFERENCES users (id),
    snoozed_until timestamptz,
    note text,
    opened_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    resolved_at timestamptz,
    resolved_by uuid,
    PRIMARY KEY (tenant_id, id),
    CHECK ((state = 'snoozed') = (snoozed_until IS NOT NULL)),
    CHECK ((state = 'resolved') = (resolved_at IS NOT NULL))
);
CREATE UNIQUE INDEX exceptions_live ON exceptions (tenant_id, kind, subject) WHERE live;
-- the queue: worst first, newest first (every state: the page's plan must not depend on proving one)
CREATE INDEX exceptions_queue ON exceptions (sev_rank, opened_at DESC, id DESC);
CREATE INDEX exceptions_brand_queue ON exceptions (tenant_id, sev_rank, opened_at DESC, id DESC)
    WHERE state <> 'resolved';
CREATE INDEX exceptions_resolved ON exceptions (tenant_id, resolved_at) WHERE state = 'resolved';
-- the counts per brand, kind and severity: an index-only scan, the brands' list probed once
CREATE INDEX exceptions_facets ON exceptions (tenant_id, kind, severity) INCLUDE (state, owner_id, connection_id,
    resolved_at);
ALTER TABLE exceptions ENABLE ROW LEVEL SECURITY;
ALTER TABLE exceptions FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_wall ON exceptions USING (tenant_id = ANY ((SELECT current_tenants())::uuid[]))
    WITH CHECK (tenant_id = ANY ((SELECT current_tenants())::uuid[]));
GRANT SELECT, INSERT, UPDATE ON exceptions TO onecount_app;

CREATE TABLE exception_events (
    tenant_id uuid NOT NULL,
    exception_id bigint NOT NULL,
    id bigint GENERATED ALWAYS AS IDENTITY,
    at timestamptz NOT NULL DEFAULT now(),
    action text NOT NULL CHECK (action IN ('opened', 'changed', 'acknowledged', 'assigned', 'snoozed', 'snooze_ended',
                                           'resolved', 'closed', 'reopened')),
    actor uuid,
    note text,
    detail jsonb,
    PRIMARY KEY (tenant_id, exception_id, id),
    FOREIGN KEY (tenant_id, exception_id) REFERENCES exceptions (tenant_id, id)
);
ALTER TABLE exception_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE exception_events FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_wall ON exception_events USING (tenant_id = ANY ((SELECT current_tenants())::uuid[]))
    WITH CHECK (tenant_id = ANY ((SELECT current_tenants())::uuid[]));
GRANT SELECT, INSERT ON exception_events TO onecount_app;

-- How many items of each brand are in each kind, severity and unresolved state, kept by a trigger on
-- exceptions: the dashboard's and the queue's counts read these few rows instead of every item (a scan of
-- 100,000 items checks each against the caller's list of brands).
CREATE TABLE exception_counts (
    tenant_id uuid NOT NULL REFERENCES brands (id),
    kind text NOT NULL,
    severity text NOT NULL,
    state text NOT NULL,
    n bigint NOT NULL CHECK (n >= 0),
    PRIMARY KEY (tenant_id, kind, severity, state)
);
ALTER TABLE exception_counts ENABLE ROW LEVEL SECURITY;
ALTER TABLE exception_counts FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_wall ON exception_counts USING (tenant_id = ANY ((SELECT current_tenants())::uuid[]))
    WITH CHECK (tenant_id = ANY ((SELECT current_tenants())::uuid[]));
GRANT SELECT, INSERT, UPDATE ON exception_counts TO onecount_app;

CREATE FUNCTION exception_counts_keep() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.state <> 'resolved' THEN
        UPDATE exception_counts SET n = n - 1
         WHERE tenant_id = OLD.tenant_id AND kind = OLD.kind AND severity = OLD.severity AND state = OLD.state;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.state <> 'resolved' THEN
        INSERT INTO exception_counts AS c (tenant_id, kind, severity, state, n)
        VALUES (NEW.tenant_id, NEW.kind, NEW.severity, NEW.state, 1)
        ON CONFLICT (tenant_id, kind, severity, state) DO UPDATE SET n = c.n + 1;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER exception_counts_insert AFTER INSERT ON exceptions FOR EACH ROW EXECUTE FUNCTION exception_counts_keep();
CREATE TRIGGER exception_counts_update AFTER UPDATE OF state, kind, severity ON exceptions FOR EACH ROW
    WHEN (OLD.state IS DISTINCT FROM NEW.state OR OLD.kind IS DISTINCT FROM NEW.kind
          OR OLD.severity IS DISTINCT FROM NEW.severity)
    EXECUTE FUNCTION exception_counts_keep();
CREATE TRIGGER exception_counts_delete AFTER DELETE ON exceptions FOR EACH ROW EXECUTE FUNCTION exception_counts_keep();

-- Each brand's health as of its last refresh (brand_health_json): what the portfolio's dashboard shows
-- beside the live counts of its items, so that a thousand brands are one read of a thousand rows.
CREATE TABLE brand_health (
    tenant_id uuid PRIMARY KEY REFERENCES brands (id),
    health jsonb NOT NULL,
    refreshed_at timestamptz NOT NULL
);
ALTER TABLE brand_health ENABLE ROW LEVEL SECURITY;
ALTER TABLE brand_health FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_wall ON brand_health USING (tenant_id = ANY ((SELECT current_tenants())::uuid[]))
    WITH CHECK (tenant_id = ANY ((SELECT current_tenants())::uuid[]));
GRANT SELECT, INSERT, UPDATE ON brand_health TO onecount_app;

ALTER TABLE worker_jobs DROP CONSTRAINT worker_jobs_kind_check;
ALTER TABLE worker_jobs ADD CONSTRAINT worker_jobs_kind_check CHECK (kind IN ('prune', 'stuck_alerts', 'exceptions'));
INSERT INTO worker_jobs (kind) VALUES ('exceptions');

-- How long a channel's authorization lasts before the seller must grant it
-- again: Amazon's SP-API authorizations lapse after 365 days; Shopify's
-- offline tokens and Walmart's client credentials do not lapse by age.
CREATE FUNCTION credentials_lifetime(p_kind text) RETURNS interval
    LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE p_kind WHEN 'amazon' THEN interval '365 days' END
$$;

-- Every condition true now in the transaction's brands (current_tenants()).
-- p_stuck_s: a listing behind longer than this is stuck (the worker's
-- stuck_after_seconds).  Days of cover below the brand's low_stock step's
-- days_of_cover (default 7) is low stock.
CREATE FUNCTION exception_conditions(p_stuck_s int)
RETURNS TABLE (tenant_id uuid, kind text, subject text, severity text, title text, detail jsonb, fingerprint text,
               connection_id uuid, sku_id bigint, listing_id uuid, incident_id bigint, routine_id uuid,
               checklist_id uuid, channel_sku text, owner_id uuid)
LANGUAGE sql STABLE AS $$
WITH t AS (SELECT unnest((SELECT current_tenants())::uuid[]) AS id),
avail AS (
    SELECT st.tenant_id, st.sku_id, st.on_hand - st.committed - st.held AS available
      FROM stock st WHERE st.tenant_id IN (SELECT id FROM t)),
vel AS (
    SELECT v.tenant_id, v.sku_id, sum(v.units_per_hour) * 24 AS per_day
      FROM sku_velocity v WHERE v.tenant_id IN (SELECT id FROM t) GROUP BY v.tenant_id, v.sku_id),
cover AS (
    SELECT r.tenant_id, max(coalesce((r.params ->> 'days_of_cover')::numeric, 7)) AS days
      FROM routines r WHERE r.tenant_id IN (SELECT id FROM t) AND r.kind = 'low_stock' AND r.enabled AND r.in_sop
     GROUP BY r.tenant_id)
-- an oversell not yet resolved
SELECT i.tenant_id, 'oversell', 'incident:' || i.id, 'critical',
       format('Oversold %s × %s%s%s', i.qty_short, k.code, ' on ' || c.name, ' (' || i.reference || ')'),
       jsonb_build_object('qty_short', i.qty_short, 'reference', i.reference, 'since', i.created_at),
       i.qty_short::text, i.channel_id, i.sku_id, NULL::uuid, i.id, NULL::uuid, NULL::uuid, NULL::text, NULL::uuid
  FROM oversell_incidents i JOIN skus k ON k.tenant_id = i.tenant_id AND k.id = i.sku_id
  LEFT JOIN channel_connections c ON c.tenant_id = i.tenant_id AND c.id = i.channel_id
 WHERE i.tenant_id IN (SELECT id FROM t) AND i.state = 'open'
UNION ALL
-- order lines naming a channel SKU no listing maps
SELECT l.tenant_id, 'unmapped_line', 'line:' || l.connection_id || ':' || left(l.channel_sku, 200), 'warning',
       format('%s order line%s on %s name%s %s, which no listing maps (%s unit%s waiting)', count(*),
              CASE WHEN count(*) = 1 THEN '' ELSE 's' END, min(c.name), CASE WHEN count(*) = 1 THEN 's' ELSE '' END,
              l.channel_sku, sum(l.qty - l.qty_cancelled), CASE WHEN sum(l.qty - l.qty_cancelled) = 1 THEN '' ELSE 's' END),
       jsonb_build_object('lines', count(*), 'units', sum(l.qty - l.qty_cancelled), 'since', min(l.first_seen_at)),
       count(*)::text, l.connection_id, NULL::bigint, NULL::uuid, NULL::bigint, NULL::uuid, NULL::uuid, l.channel_sku,
       NULL::uuid
  FROM channel_order_lines l JOIN channel_connections c ON c.tenant_id = l.tenant_id AND c.id = l.connection_id
 WHERE l.tenant_id IN (SELECT id FROM t) AND l.sku_id IS NULL
 GROUP BY l.tenant_id, l.connection_id, l.channel_sku
UNION ALL
-- a listing behind longer than it should be, its connection not paused
SELECT l.tenant_id, 'listing_stuck', 'listing:' || l.id, 'warning',
       format('%s has not reached %s for %s: %s', k.code, c.name,
              duration_words(extract(epoch FROM now() - l.behind_since)::bigint),
              CASE WHEN l.last_error = 'stale' THEN 'the channel''s number kept changing under the push'
                   WHEN l.last_error IS NOT NULL THEN 'last error: ' || l.last_error
                   WHEN c.status = 'error' THEN 'the connection is in error' || coalesce(': ' || c.status_detail, '')
                   ELSE 'no push has got through' END),
       jsonb_build_object('desired', l.desired_qty, 'pushed', l.pushed_qty, 'behind_since', l.behind_since,
                          'attempts', l.attempts, 'last_error', l.last_error),
       coalesce(l.last_error, ''), l.connection_id, l.sku_id, l.id, NULL::bigint, NULL::uuid, NULL::uuid,
       l.external_sku, NULL::uuid
  FROM listings l JOIN channel_connections c ON c.tenant_id = l.tenant_id AND c.id = l.connection_id
  JOIN skus k ON k.tenant_id = l.tenant_id AND k.id = l.sku_id
 WHERE l.tenant_id IN (SELECT id FROM t) AND l.desired_version > l.pushed_version AND l.state = 'active'
   AND c.status <> 'paused' AND l.behind_since < now() - p_stuck_s * interval '1 second'
UNION ALL
-- a drift read-back found that has not healed in ten minutes (the newest per listing)
SELECT d.tenant_id, 'drift_unhealed', 'listing:' || d.listing_id, 'warning',
       format('%s on %s shows %s where onecount published %s (%s) since %s', k.code, c.name,
              coalesce(d.seen_qty::text, 'nothing'), coalesce(d.desired_qty::text, '?'),
              CASE d.classification WHEN 'channel_edit' THEN 'someone changed it on the channel'
                   WHEN 'unmapped_listing' THEN 'the channel does not know this SKU'
                   WHEN 'stale_push' THEN 'an older push is showing'
                   WHEN 'order_not_ingested' THEN 'an order onecount has not read'
                   WHEN 'not_applied' THEN 'the channel did not apply the push'
                   ELSE replace(d.classification, '_', ' ') END,
              to_char(d.detected_at AT TIME ZONE b.timezone, 'YYYY-MM-DD HH24:MI')),
       jsonb_build_object('classification', d.classification, 'seen', d.seen_qty, 'desired', d.desired_qty,
                          'pushed', d.pushed_qty, 'detected_at', d.detected_at, 'drift_id', d.id),
       d.classification, d.connection_id, d.sku_id, d.listing_id, NULL::bigint, NULL::uuid, NULL::uuid, NULL::text,
       NULL::uuid
  FROM (SELECT DISTINCT ON (de.tenant_id, de.listing_id) de.*
          FROM drift_events de
         WHERE de.tenant_id IN (SELECT id FROM t) AND de.healed_at IS NULL
           AND de.classification NOT IN ('in_flight', 'pending_apply')
         ORDER BY de.tenant_id, de.listing_id, de.detected_at DESC) d
  JOIN listings l ON l.tenant_id = d.tenant_id AND l.id = d.listing_id AND l.state = 'active'
  JOIN channel_connections c ON c.tenant_id = d.tenant_id AND c.id = d.connection_id
  JOIN skus k ON k.tenant_id = d.tenant_id AND k.id = d.sku_id
  JOIN brands b ON b.id = d.tenant_id
 WHERE d.detected_at < now() - interval '10 minutes'
UNION ALL
-- a connection failing: in error, circuit open, failures in a row, refused credentials, the same account twice
SELECT x.tenant_id, 'connection_failing', 'connection:' || x.id, 'critical',
       format('%s is failing: %s', x.name, x.why), jsonb_build_object('why', x.why, 'status', x.status,
       'circuit', x.circuit, 'consecutive_failures', x.failures, 'last_error', x.last_error),
       x.what, x.id, NULL::bigint, NULL::uuid, NULL::bigint, NULL::uuid, NULL::uuid, NULL::text, NULL::uuid
  FROM (SELECT c.tenant_id, c.id, c.name, c.status, coalesce(h.circuit, 'closed') AS circuit,
               coalesce(h.consecutive_failures, 0) AS failures, h.last_error,
               CASE WHEN a.kind = 'credentials' THEN 'credentials'
                    WHEN a.kind = 'duplicate_account' THEN 'duplicate_account'
                    WHEN c.status = 'error' THEN 'error'
                    WHEN coalesce(h.circuit, 'closed') <> 'closed' THEN 'circuit'
                    WHEN coalesce(h.consecutive_failures, 0) >= 3 THEN 'failures' END AS what,
               CASE WHEN a.kind IN ('credentials', 'duplicate_account') THEN a.message
                    WHEN c.status = 'error' THEN 'the connection is in error' || coalesce(': ' || c.status_detail, '')
                    WHEN coalesce(h.circuit, 'closed') <> 'closed'
                        THEN 'pushes kept failing, so onecount paused pushing for a while'
                             || coalesce(' (last error: ' || h.last_error || ')', '')
                    ELSE h.consecutive_failures || ' pushes failed in a row'
                             || coalesce(' (last error: ' || h.last_error || ')', '') END AS why
          FROM channel_connections c
          LEFT JOIN connection_health h ON h.tenant_id = c.tenant_id AND h.connection_id = c.id
          LEFT JOIN LATERAL (SELECT al.kind, al.message FROM alerts al
                              WHERE al.tenant_id = c.tenant_id AND al.connection_id = c.id AND al.resolved_at IS NULL
                                AND al.kind IN ('credentials', 'duplicate_account')
                              ORDER BY al.kind = 'credentials' DESC LIMIT 1) a ON true
         WHERE c.tenant_id IN (SELECT id FROM t) AND (c.status <> 'paused' OR a.kind = 'duplicate_account')) x
 WHERE x.what IS NOT NULL
UNION ALL
-- an authorization about to lapse (within 30 days) or lapsed
SELECT c.tenant_id, 'credentials_expiring', 'connection:' || c.id, 'warning',
       format('%s: the seller''s authorization %s on %s; ask the seller to authorize onecount again', c.name,
              CASE WHEN c.credentials_updated_at + credentials_lifetime(c.kind) <= now() THEN 'lapsed' ELSE 'lapses' END,
              to_char((c.credentials_updated_at + credentials_lifetime(c.kind)) AT TIME ZONE b.timezone, 'YYYY-MM-DD')),
       jsonb_build_object('expires_at', c.credentials_updated_at + credentials_lifetime(c.kind)),
       (c.credentials_updated_at + credentials_lifetime(c.kind))::date::text, c.id, NULL::bigint, NULL::uuid,
       NULL::bigint, NULL::uuid, NULL::uuid, NULL::text, NULL::uuid
  FROM channel_connections c JOIN brands b ON b.id = c.tenant_id
 WHERE c.tenant_id IN (SELECT id FROM t) AND c.status <> 'paused' AND credentials_lifetime(c.kind) IS NOT NULL
   AND c.credentials_updated_at + credentials_lifetime(c.kind) < now() + interval '30 days'
UNION ALL
-- an SOP step whose last run failed
SELECT r.tenant_id, 'sop_run_failed', 'routine:' || r.id, 'warning',
       format('%s%s failed%s', coalesce(r.title, replace(r.kind, '_', ' ')), ' on ' || c.name,
              coalesce(': ' || left(r.last_detail ->> 'error', 200), '')),
       jsonb_build_object('step_key', r.step_key, 'action', r.kind, 'finished_at', r.last_finished_at,
                          'error', r.last_detail ->> 'error'),
       coalesce(r.last_detail ->> 'error', ''), r.connection_id, NULL::bigint, NULL::uuid, NULL::bigint, r.id,
       NULL::uuid, NULL::text, NULL::uuid
  FROM routines r LEFT JOIN channel_connections c ON c.tenant_id = r.tenant_id AND c.id = r.connection_id
 WHERE r.tenant_id IN (SELECT id FROM t) AND r.enabled AND r.in_sop AND r.last_status = 'failed'
UNION ALL
-- a checklist step past its due time
SELECT i.tenant_id, 'checklist_overdue', 'checklist:' || i.id, 'warning',
       format('Checklist step "%s" was due %s', i.title,
              to_char(i.due_at AT TIME ZONE b.timezone, 'YYYY-MM-DD HH24:MI')),
       jsonb_build_object('due_at', i.due_at, 'role', i.role, 'step_key', i.step_key),
       '', NULL::uuid, NULL::bigint, NULL::uuid, NULL::bigint, i.routine_id, i.id, NULL::text, i.assignee
  FROM checklist_items i JOIN brands b ON b.id = i.tenant_id
 WHERE i.tenant_id IN (SELECT id FROM t) AND i.state = 'open' AND i.due_at <= now()
UNION ALL
-- an active SKU not listed on every active connection (new SKUs must be added everywhere)
SELECT s.tenant_id, 'sku_unlisted', 'sku:' || s.id, 'info',
       format('%s is not listed on %s', s.code, string_agg(c.name, ', ' ORDER BY c.name)),
       jsonb_build_object('missing_on', jsonb_agg(jsonb_build_object('connection_id', c.id, 'connection', c.name)
                                                  ORDER BY c.name)),
       string_agg(c.id::text, ',' ORDER BY c.id), NULL::uuid, s.id, NULL::uuid, NULL::bigint, NULL::uuid,
       NULL::uuid, NULL::text, NULL::uuid
  FROM skus s JOIN channel_connections c ON c.tenant_id = s.tenant_id AND c.status = 'active'
 WHERE s.tenant_id IN (SELECT id FROM t) AND s.archived_at IS NULL
   AND NOT EXISTS (SELECT 1 FROM listings l WHERE l.tenant_id = s.tenant_id AND l.sku_id = s.id
                      AND l.connection_id = c.id)
 GROUP BY s.tenant_id, s.id, s.code
UNION ALL
-- units available in the master while a channel shows 0 — not the last-units rule's choice: a buffer, share
-- or cap strands them there
SELECT l.tenant_id, 'stranded_stockout', 'sku:' || l.sku_id, 'warning',
       format('%s shows 0 on %s while %s unit%s are available', min(k.code), string_agg(c.name, ', ' ORDER BY c.name),
              min(a.available), CASE WHEN min(a.available) = 1 THEN '' ELSE 's' END),
       jsonb_build_object('available', min(a.available),
                          'zero_on', jsonb_agg(jsonb_build_object('connection_id', c.id, 'connection', c.name,
                                                                  'listing_id', l.id, 'reason', l.desired_reason)
                                               ORDER BY c.name)),
       string_agg(l.id::text, ',' ORDER BY l.id), CASE WHEN count(*) = 1 THEN min(c.id::text)::uuid END, l.sku_id,
       CASE WHEN count(*) = 1 THEN min(l.id::text)::uuid END, NULL::bigint, NULL::uuid, NULL::uuid, NULL::text,
       NULL::uuid
  FROM listings l JOIN avail a ON a.tenant_id = l.tenant_id AND a.sku_id = l.sku_id AND a.available > 0
  JOIN channel_connections c ON c.tenant_id = l.tenant_id AND c.id = l.connection_id AND c.status = 'active'
  JOIN skus k ON k.tenant_id = l.tenant_id AND k.id = l.sku_id AND k.archived_at IS NULL
 WHERE l.tenant_id IN (SELECT id FROM t) AND l.state = 'active' AND l.desired_qty = 0
   AND NOT jsonb_path_exists(coalesce(l.desired_reason, '{}'), '$.**.rule ? (@ == "last_units")')
 GROUP BY l.tenant_id, l.sku_id
UNION ALL
-- fewer days of cover than the brand's low-stock step asks (out of stock while selling: warning)
SELECT s.tenant_id, 'low_stock', 'sku:' || s.id, CASE WHEN a.available <= 0 THEN 'warning' ELSE 'info' END,
       CASE WHEN a.available <= 0 THEN format('%s is out of stock (selling %s a day)', s.code, round(v.per_day::numeric, 1))
            ELSE format('%s has %s days of cover (%s available, selling %s a day)', s.code,
                        round((a.available / v.per_day)::numeric, 1), a.available, round(v.per_day::numeric, 1)) END,
       jsonb_build_object('available', a.available, 'per_day', round(v.per_day::numeric, 2),
                          'days_of_cover', round((greatest(a.available, 0) / v.per_day)::numeric, 1),
                          'threshold_days', coalesce(cv.days, 7)),
       CASE WHEN a.available <= 0 THEN 'out' ELSE 'low' END, NULL::uuid, s.id, NULL::uuid, NULL::bigint, NULL::uuid,
       NULL::uuid, NULL::text, NULL::uuid
  FROM skus s JOIN avail a ON a.tenant_id = s.tenant_id AND a.sku_id = s.id
  JOIN vel v ON v.tenant_id = s.tenant_id AND v.sku_id = s.id AND v.per_day > 0
  LEFT JOIN cover cv ON cv.tenant_id = s.tenant_id
 WHERE s.tenant_id IN (SELECT id FROM t) AND s.archived_at IS NULL AND s.kind = 'simple'
   AND a.available / v.per_day < coalesce(cv.days, 7)
$$;

-- Brings the live items of one brand (the transaction's only tenant) in line with its conditions, and
-- keeps its health for the portfolio's dashboard; adds what it did to `acc`.
CREATE FUNCTION exceptions_refresh_brand(p_brand uuid, p_stuck_s int, acc jsonb) RETURNS jsonb
LANGUAGE plpgsql
-- one plan per statement for every brand: planning the conditions (eleven queries) cost more than running them
SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    n_open int;
    n_changed int;
    n_reopened int;
    n_closed int;
    n_woke int;
BEGIN
    CREATE TEMP TABLE IF NOT EXISTS exc_want (tenant_id uuid, kind text, subject text, severity text, title text,
        detail jsonb, fingerprint text, connection_id uuid, sku_id bigint, listing_id uuid, incident_id bigint,
        routine_id uuid, checklist_id uuid, channel_sku text, owner_id uuid) ON COMMIT DROP;
    DELETE FROM exc_want; -- not TRUNCATE: a new file for the table would re-plan every statement naming it, per brand
    INSERT INTO exc_want SELECT * FROM exception_conditions(p_stuck_s);

    -- what changed on a live item: its words, numbers or severity; a hand-resolved item whose condition
    -- changed opens again
    WITH cur AS (
        SELECT e.tenant_id, e.id, e.state, e.fingerprint FROM exceptions e
         WHERE e.tenant_id = p_brand AND e.live FOR UPDATE),
    up AS (
        UPDATE exceptions e
           SET title = w.title, detail = w.detail, severity = w.severity, fingerprint = w.fingerprint,
               connection_id = w.connection_id, listing_id = w.listing_id, updated_at = now(),
               state = CASE WHEN cur.state = 'resolved' AND cur.fingerprint <> w.fingerprint THEN 'open' ELSE e.state END,
               resolved_at = CASE WHEN cur.state = 'resolved' AND cur.fingerprint <> w.fingerprint THEN NULL
                                  ELSE e.resolved_at END,
               resolved_by = CASE WHEN cur.state = 'resolved' AND cur.fingerprint <> w.fingerprint THEN NULL
                                  ELSE e.resolved_by END
          FROM cur, exc_want w
         WHERE e.tenant_id = cur.tenant_id AND e.id = cur.id AND w.tenant_id = e.tenant_id AND w.kind = e.kind
           AND w.subject = e.subject
           AND (e.title IS DISTINCT FROM w.title OR e.detail IS DISTINCT FROM w.detail
                OR e.severity IS DISTINCT FROM w.severity OR e.fingerprint IS DISTINCT FROM w.fingerprint
                OR e.connection_id IS DISTINCT FROM w.connection_id OR e.listing_id IS DISTINCT FROM w.listing_id)
        RETURNING e.tenant_id, e.id, e.title, cur.state AS was, e.state AS now_state),
    ev AS (
        INSERT INTO exception_events (tenant_id, exception_id, action, detail)
        SELECT tenant_id, id, CASE WHEN was = 'resolved' AND now_state = 'open' THEN 'reopened' ELSE 'changed' END,
               jsonb_build_object('title', title)
          FROM up WHERE NOT (was = 'resolved' AND now_state = 'resolved')
        RETURNING action)
    SELECT count(*) FILTER (WHERE action = 'changed'), count(*) FILTER (WHERE action = 'reopened')
      INTO n_changed, n_reopened FROM ev;

    -- a new condition opens an item
    WITH ins AS (
        INSERT INTO exceptions (tenant_id, kind, subject, severity, title, detail, fingerprint, connection_id, sku_id,
                                listing_id, incident_id, routine_id, checklist_id, channel_sku, owner_id)
        SELECT w.tenant_id, w.kind, w.subject, w.severity, w.title, w.detail, w.fingerprint, w.connection_id,
               w.sku_id, w.listing_id, w.incident_id, w.routine_id, w.checklist_id, w.channel_sku, w.owner_id
          FROM exc_want w
         WHERE NOT EXISTS (SELECT 1 FROM exceptions e WHERE e.tenant_id = w.tenant_id AND e.kind = w.kind
                              AND e.subject = w.subject AND e.live)
        ON CONFLICT (tenant_id, kind, subject) WHERE live DO NOTHING
        RETURNING tenant_id, id, title, severity),
    ev AS (
        INSERT INTO exception_events (tenant_id, exception_id, action, detail)
        SELECT tenant_id, id, 'opened', jsonb_build_object('title', title, 'severity', severity) FROM ins
        RETURNING 1)
    SELECT count(*) INTO n_open FROM ev;

    -- a condition gone closes its item (by itself: no resolver)
    WITH gone AS (
        SELECT e.tenant_id, e.id, e.state FROM exceptions e
         WHERE e.tenant_id = p_brand AND e.live
           AND NOT EXISTS (SELECT 1 FROM exc_want w WHERE w.tenant_id = e.tenant_id AND w.kind = e.kind
                              AND w.subject = e.subject)
         FOR UPDATE),
    cl AS (
        UPDATE exceptions e SET live = false, state = 'resolved', snoozed_until = NULL,
               resolved_at = CASE WHEN gone.state = 'resolved' THEN e.resolved_at ELSE now() END,
               updated_at = now()
          FROM gone WHERE e.tenant_id = gone.tenant_id AND e.id = gone.id
        RETURNING e.tenant_id, e.id, gone.state AS was),
    ev AS (
        INSERT INTO exception_events (tenant_id, exception_id, action, note)
        SELECT tenant_id, id, 'closed', 'the condition cleared' FROM cl WHERE was <> 'resolved'
        RETURNING 1)
    SELECT count(*) INTO n_closed FROM ev;

    -- a snooze that ended brings the item back
    WITH w AS (
        UPDATE exceptions e SET state = 'open', snoozed_until = NULL, updated_at = now()
         WHERE e.tenant_id = p_brand AND e.state = 'snoozed'
           AND e.snoozed_until <= now()
        RETURNING e.tenant_id, e.id),
    ev AS (
        INSERT INTO exception_events (tenant_id, exception_id, action)
        SELECT tenant_id, id, 'snooze_ended' FROM w RETURNING 1)
    SELECT count(*) INTO n_woke FROM ev;

    -- the names the live items show
    UPDATE exceptions e SET connection_name = c.name, connection_kind = c.kind
      FROM channel_connections c
     WHERE e.tenant_id = p_brand AND e.live AND c.tenant_id = e.tenant_id AND c.id = e.connection_id
       AND (e.connection_name IS DISTINCT FROM c.name OR e.connection_kind IS DISTINCT FROM c.kind);
    UPDATE exceptions e SET sku_code = k.code, sku_title = k.title
      FROM skus k
     WHERE e.tenant_id = p_brand AND e.live AND k.tenant_id = e.tenant_id AND k.id = e.sku_id
       AND (e.sku_code IS DISTINCT FROM k.code OR e.sku_title IS DISTINCT FROM k.title);
    INSERT INTO brand_health (tenant_id, health, refreshed_at) VALUES (p_brand, brand_health_json(p_brand), now())
    ON CONFLICT (tenant_id) DO UPDATE SET health = excluded.health, refreshed_at = excluded.refreshed_at;
    RETURN jsonb_build_object('opened', (acc ->> 'opened')::int + n_open, 'changed', (acc ->> 'changed')::int + n_changed,
                              'reopened', (acc ->> 'reopened')::int + n_reopened,
                              'closed', (acc ->> 'closed')::int + n_closed,
                              'snooze_ended', (acc ->> 'snooze_ended')::int + n_woke,
                              'live', (acc ->> 'live')::int + (SELECT count(*) FROM exc_want));
END $$;

-- Brings the live items of the transaction's brands in line with the conditions, one brand at a time: each
-- brand's statements then run with that brand alone as the tenant, so the row-level security check is one
-- comparison and every join stays an index lookup (a list of 400 tenants in every index probe cost seconds).
-- Returns what it did.
CREATE FUNCTION exceptions_refresh(p_stuck_s int) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    all_tenants text := current_setting('app.tenant_id', true);
    b uuid;
    acc jsonb := '{"opened": 0, "changed": 0, "reopened": 0, "closed": 0, "snooze_ended": 0, "live": 0}';
BEGIN
    FOREACH b IN ARRAY current_tenants() LOOP
        PERFORM set_config('app.tenant_id', b::text, true);
        acc := exceptions_refresh_brand(b, p_stuck_s, acc);
    END LOOP;
    PERFORM set_config('app.tenant_id', coalesce(all_tenants, ''), true);
    RETURN acc;
END $$;

-- A person's name as the API shows it.
CREATE FUNCTION exception_person(p_user uuid) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('id', u.id, 'name', u.name) FROM users u WHERE u.id = p_user
$$;

-- The in-place actions that fit an item.
CREATE FUNCTION exception_actions(e exceptions) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT to_jsonb(CASE e.kind
        WHEN 'oversell' THEN ARRAY['resolve_oversell']
        WHEN 'unmapped_line' THEN ARRAY['map_line', 'create_sku']
        WHEN 'listing_stuck' THEN ARRAY['repush', 'pause_listing', 'open_connection']
        WHEN 'drift_unhealed' THEN ARRAY['repush', 'pause_listing']
        WHEN 'connection_failing' THEN ARRAY['open_connection']
        WHEN 'credentials_expiring' THEN ARRAY['open_connection']
        WHEN 'sop_run_failed' THEN ARRAY['open_runs']
        WHEN 'checklist_overdue' THEN ARRAY['open_checklist']
        WHEN 'sku_unlisted' THEN ARRAY['list_sku']
        WHEN 'stranded_stockout' THEN ARRAY['adjust_buffer']
        WHEN 'low_stock' THEN ARRAY['open_sku']
        ELSE ARRAY[]::text[] END)
$$;

CREATE FUNCTION exception_json(e exceptions) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', e.id::text, 'brand_id', e.tenant_id, 'brand', (SELECT name FROM brands WHERE id = e.tenant_id),
        'kind', e.kind, 'severity', e.severity, 'state', e.state, 'title', e.title, 'detail', e.detail,
        'connection_id', e.connection_id, 'connection', e.connection_name, 'connection_kind', e.connection_kind,
        'sku', e.sku_code, 'sku_title', e.sku_title, 'listing_id', e.listing_id, 'incident_id', e.incident_id::text,
        'routine_id', e.routine_id, 'checklist_id', e.checklist_id, 'channel_sku', e.channel_sku,
        'owner', exception_person(e.owner_id), 'snoozed_until', e.snoozed_until, 'note', e.note,
        'opened_at', e.opened_at, 'updated_at', e.updated_at, 'resolved_at', e.resolved_at,
        'resolved_by', exception_person(e.resolved_by), 'closed_by_itself', e.state = 'resolved' AND e.resolved_by IS NULL,
        'actions', exception_actions(e))
$$;

-- One item with its history; NULL: no such item in the brand.
CREATE FUNCTION exception_get(p_tenant uuid, p_id bigint) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT exception_json(e) || jsonb_build_object('history',
        (SELECT coalesce(jsonb_agg(jsonb_build_object('at', v.at, 'action', v.action,
                                                       'actor', exception_person(v.actor), 'note', v.note,
                                                       'detail', v.detail) ORDER BY v.at, v.id), '[]')
           FROM exception_events v WHERE v.tenant_id = e.tenant_id AND v.exception_id = e.id))
      FROM exceptions e WHERE e.tenant_id = p_tenant AND e.id = p_id
$$;

-- A person's action on an item: acknowledge, assign, snooze, resolve, reopen.  NULL: no such item.
-- Refusals: OCEXC (409) a transition the item's state does not allow, OCEXV (422) a bad owner or time.
CREATE FUNCTION exception_act(p_tenant uuid, p_id bigint, p_action text, p_owner uuid, p_until timestamptz,
                              p_note text, p_user uuid, p_token uuid, p_request text) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    e exceptions;
    ev text := p_action;
BEGIN
    SELECT * INTO e FROM exceptions WHERE tenant_id = p_tenant AND id = p_id FOR UPDATE;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    IF p_action <> 'reopen' AND e.state = 'resolved' THEN
        RAISE EXCEPTION 'this item is resolved%; reopen it first',
            CASE WHEN e.resolved_by IS NULL THEN ' (it closed by itself when its condition cleared)'
                 ELSE ' by ' || coalesce((SELECT name FROM users WHERE id = e.resolved_by), 'someone') END
            USING ERRCODE = 'OCEXC';
    END IF;
    CASE p_action
    WHEN 'acknowledge' THEN
        IF e.state = 'acknowledged' THEN
            RAISE EXCEPTION 'this item is already acknowledged' USING ERRCODE = 'OCEXC';
        END IF;
        UPDATE exceptions SET state = 'acknowledged', snoozed_until = NULL, owner_id = coalesce(owner_id, p_user),
               updated_at = now()
         WHERE tenant_id = p_tenant AND id = p_id RETURNING * INTO e;
        ev := 'acknowledged';
    WHEN 'assign' THEN
        IF p_owner IS NOT NULL AND NOT EXISTS (
                SELECT 1 FROM users u JOIN memberships m ON m.user_id = u.id JOIN brands b ON b.portfolio_id = m.portfolio_id
                 WHERE u.id = p_owner AND u.disabled_at IS NULL AND b.id = p_tenant
                   AND (m.brand_id IS NULL OR m.brand_id = p_tenant)) THEN
            RAISE EXCEPTION 'the owner is not an active member who can see this brand' USING ERRCODE = 'OCEXV',
                DETAIL = '[{"field": "owner_id", "message": "the owner is not an active member who can see this brand"}]';
        END IF;
        UPDATE exceptions SET owner_id = p_owner, updated_at = now() WHERE tenant_id = p_tenant AND id = p_id
        RETURNING * INTO e;
        ev := 'assigned';
    WHEN 'snooze' THEN
        IF p_until IS NULL OR p_until <= now() OR p_until > now() + interval '90 days' THEN
            RAISE EXCEPTION 'a snooze ends in the future, within 90 days' USING ERRCODE = 'OCEXV',
                DETAIL = '[{"field": "until", "message": "a snooze ends in the future, within 90 days"}]';
        END IF;
        UPDATE exceptions SET state = 'snoozed', snoozed_until = p_until, updated_at = now()
         WHERE tenant_id = p_tenant AND id = p_id RETURNING * INTO e;
        ev := 'snoozed';
    WHEN 'resolve' THEN
        UPDATE exceptions SET state = 'resolved', snoozed_until = NULL, resolved_at = now(), resolved_by = p_user,
               note = p_note, updated_at = now()
         WHERE tenant_id = p_tenant AND id = p_id RETURNING * INTO e;
        ev := 'resolved';
    WHEN 'reopen' THEN
        IF e.state <> 'resolved' THEN
            RAISE EXCEPTION 'this item is not resolved' USING ERRCODE = 'OCEXC';
        END IF;
        IF NOT e.live THEN
            RAISE EXCEPTION 'its condition has cleared; a new item opens if it comes back' USING ERRCODE = 'OCEXC';
        END IF;
        UPDATE exceptions SET state = 'open', resolved_at = NULL, resolved_by = NULL, updated_at = now()
         WHERE tenant_id = p_tenant AND id = p_id RETURNING * INTO e;
        ev := 'reopened';
    ELSE
        RAISE EXCEPTION 'exception_act: no such action %', p_action USING ERRCODE = '22023';
    END CASE;
    INSERT INTO exception_events (tenant_id, exception_id, action, actor, note, detail)
    VALUES (p_tenant, p_id, ev, p_user, p_note,
            CASE ev WHEN 'assigned' THEN jsonb_build_object('owner', exception_person(p_owner))
                    WHEN 'snoozed' THEN jsonb_build_object('until', p_until) END);
    PERFORM audit_write(p_tenant, NULL, p_user, p_token, 'exception.' || p_action, 'exception', p_id::text,
                        jsonb_build_object('kind', e.kind, 'title', e.title, 'note', p_note, 'owner', p_owner,
                                           'until', p_until), p_request);
    RETURN exception_get(p_tenant, p_id);
END $$;

-- Whether an item is in the queue's view: its state (active = open and acknowledged; resolved and all: the
-- last 30 days of resolved items), owner (the nil uuid: nobody) and connection.
CREATE FUNCTION exception_in_view(e exceptions, p_state text, p_owner uuid, p_connection uuid) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT (CASE p_state WHEN 'active' THEN e.state IN ('open', 'acknowledged')
                         WHEN 'all' THEN e.state <> 'resolved' OR e.resolved_at > now() - interval '30 days'
                         WHEN 'resolved' THEN e.state = 'resolved' AND e.resolved_at > now() - interval '30 days'
                         ELSE e.state = p_state END)
       AND (p_owner IS NULL OR (p_owner = '00000000-0000-0000-0000-000000000000' AND e.owner_id IS NULL)
            OR e.owner_id = p_owner)
       AND (p_connection IS NULL OR e.connection_id = p_connection)
$$;

-- The queue of the transaction's brands: one page plus counts per facet, each facet ignoring its own filter.
-- p_state: active (open + acknowledged), open, acknowledged, snoozed, resolved, all.  p_owner: a user, or the
-- nil uuid for "nobody".  p_after: the cursor (sev_rank, opened_at, id) of the last item of the previous page.
CREATE FUNCTION exception_queue(p_brand uuid, p_kind text, p_severity text, p_state text, p_owner uuid,
                                p_connection uuid, p_after_rank int, p_after_at timestamptz, p_after_id bigint,
                                p_limit int) RETURNS jsonb
LANGUAGE sql STABLE
-- the page walks exceptions_queue in order and stops at its limit: under a long list of brands the estimates
-- are blind, and sorting every item looked as cheap
SET enable_sort = off AS $$
WITH base AS (
    -- the items under every filter but brand, kind and severity: what the counts are made of — from the kept
    -- counts when the view is of unresolved states alone, else from the items
    SELECT c.tenant_id, c.kind, c.severity, c.n FROM exception_counts c
     WHERE p_owner IS NULL AND p_connection IS NULL AND p_state NOT IN ('resolved', 'all') AND c.n > 0
       AND (CASE p_state WHEN 'active' THEN c.state IN ('open', 'acknowledged') ELSE c.state = p_state END)
    UNION ALL
    SELECT e.tenant_id, e.kind, e.severity, 1 FROM exceptions e
     WHERE NOT (p_owner IS NULL AND p_connection IS NULL AND p_state NOT IN ('resolved', 'all'))
       AND exception_in_view(e, p_state, p_owner, p_connection)),
f AS (
    SELECT * FROM base
     WHERE (p_brand IS NULL OR tenant_id = p_brand) AND (p_kind IS NULL OR kind = p_kind)
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
        'by_kind', (SELECT coalesce(jsonb_object_agg(kind, n), '{}') FROM (SELECT kind, sum(n) AS n FROM base
                     WHERE (p_brand IS NULL OR tenant_id = p_brand) AND (p_severity IS NULL OR severity = p_severity)
                     GROUP BY kind) k),
        'by_severity', (SELECT coalesce(jsonb_object_agg(severity, n), '{}') FROM (SELECT severity, sum(n) AS n
                         FROM base WHERE (p_brand IS NULL OR tenant_id = p_brand) AND (p_kind IS NULL OR kind = p_kind)
                         GROUP BY severity) s),
        'by_brand', (SELECT coalesce(jsonb_object_agg(tenant_id, n), '{}') FROM (SELECT tenant_id, sum(n) AS n
                      FROM base WHERE (p_kind IS NULL OR kind = p_kind) AND (p_severity IS NULL OR severity = p_severity)
                      GROUP BY tenant_id) b)))
$$;

-- One brand's health now (the transaction's tenant): stock-outs, stranded units, units sold and sell-through
-- over 30 days, open oversells, and each connection's lag, queue behind and whether it fails.
CREATE FUNCTION brand_health_json(p_brand uuid) RETURNS jsonb
LANGUAGE sql STABLE AS $$
WITH sk AS (
    SELECT count(*) FILTER (WHERE st.on_hand - st.committed - st.held <= 0
                            AND EXISTS (SELECT 1 FROM listings l WHERE l.tenant_id = s.tenant_id AND l.sku_id = s.id
                                           AND l.state = 'active')) AS stock_outs,
           coalesce(sum(st.on_hand - st.committed - st.held) FILTER (WHERE st.on_hand - st.committed - st.held > 0), 0)
               AS available
      FROM skus s JOIN stock st ON st.tenant_id = s.tenant_id AND st.sku_id = s.id
     WHERE s.tenant_id = p_brand AND s.archived_at IS NULL AND s.kind = 'simple'),
stranded AS (
    -- units no channel can sell: available beyond the most any active listing shows
    SELECT coalesce(sum(greatest(x.available - x.shown, 0)), 0) AS units FROM (
        SELECT st.sku_id, st.on_hand - st.committed - st.held AS available, max(coalesce(l.desired_qty, 0)) AS shown
          FROM stock st JOIN listings l ON l.tenant_id = st.tenant_id AND l.sku_id = st.sku_id AND l.state = 'active'
         WHERE st.tenant_id = p_brand
         GROUP BY st.sku_id, st.on_hand, st.committed, st.held) x),
sold AS (
    SELECT coalesce(sum(CASE WHEN m.kind = 'sale' THEN m.qty ELSE -m.qty END), 0) AS units
      FROM movements m
     WHERE m.tenant_id = p_brand AND m.kind IN ('sale', 'cancel') AND m.created_at > now() - interval '30 days'),
os AS (
    SELECT count(*) AS open, coalesce(sum(i.qty_short), 0) AS units, sum(i.qty_short * k.unit_cost) AS cost,
           coalesce(sum(i.qty_short) FILTER (WHERE k.unit_cost IS NULL), 0) AS uncosted
      FROM oversell_incidents i JOIN skus k ON k.tenant_id = i.tenant_id AND k.id = i.sku_id
     WHERE i.tenant_id = p_brand AND i.state = 'open'),
conn AS (
    SELECT coalesce(jsonb_agg(jsonb_build_object(
               'id', c.id, 'name', c.name, 'kind', c.kind, 'status', c.status,
               'circuit', coalesce(h.circuit, 'closed'),
               'failing', c.status = 'error' OR coalesce(h.circuit, 'closed') <> 'closed'
                          OR coalesce(h.consecutive_failures, 0) >= 3,
               'push_lag_p99_ms', c.push_lag_p99_ms, 'behind', coalesce(bh.n, 0),
               'oldest_behind_s', extract(epoch FROM now() - bh.oldest)::bigint) ORDER BY c.name), '[]') AS list,
           count(*) FILTER (WHERE c.status = 'error' OR coalesce(h.circuit, 'closed') <> 'closed'
                            OR coalesce(h.consecutive_failures, 0) >= 3) AS failing
      FROM channel_connections c
      LEFT JOIN connection_health h ON h.tenant_id = c.tenant_id AND h.connection_id = c.id
      LEFT JOIN LATERAL (SELECT count(*) AS n, min(l.behind_since) AS oldest FROM listings l
                          WHERE l.tenant_id = c.tenant_id AND l.connection_id = c.id
                            AND l.desired_version > l.pushed_version AND l.state = 'active') bh ON true
     WHERE c.tenant_id = p_brand)
SELECT jsonb_build_object(
    'stock_outs', sk.stock_outs,
    'oversells', jsonb_build_object('open', os.open, 'units', os.units, 'cost', os.cost, 'uncosted_units', os.uncosted),
    'stranded_units', stranded.units,
    'units_sold_30d', sold.units,
    'sell_through_30d', CASE WHEN sold.units + sk.available > 0
                             THEN round(sold.units::numeric / (sold.units + sk.available), 4) END,
    'connections', conn.list, 'failing_connections', conn.failing)
  FROM sk, stranded, sold, os, conn
$$;

-- The active items of the transaction's brands counted per brand, severity and kind (one scan).
CREATE FUNCTION exception_brand_counts() RETURNS TABLE (tenant_id uuid, counts jsonb)
LANGUAGE sql STABLE AS $$
    SELECT k.tenant_id, jsonb_build_object(
               'total', sum(k.n), 'critical', sum(k.n) FILTER (WHERE k.severity = 'critical'),
               'warning', sum(k.n) FILTER (WHERE k.severity = 'warning'),
               'info', sum(k.n) FILTER (WHERE k.severity = 'info'),
               'by_kind', jsonb_object_agg(k.kind, k.n))
      FROM (SELECT c.tenant_id, c.kind, min(c.severity) AS severity, sum(c.n) AS n FROM exception_counts c
             WHERE c.state IN ('open', 'acknowledged') AND c.n > 0 GROUP BY c.tenant_id, c.kind) k
     GROUP BY k.tenant_id
$$;

-- A brand's dashboard row: its health and its items' counts.
CREATE FUNCTION brand_dashboard_row(b brands, p_health jsonb, p_counts jsonb) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('brand_id', b.id, 'name', b.name, 'timezone', b.timezone,
               'exceptions', jsonb_build_object('total', coalesce((p_counts ->> 'total')::bigint, 0),
                                                'critical', coalesce((p_counts ->> 'critical')::bigint, 0),
                                                'warning', coalesce((p_counts ->> 'warning')::bigint, 0),
                                                'info', coalesce((p_counts ->> 'info')::bigint, 0),
                                                'by_kind', coalesce(p_counts -> 'by_kind', '{}')),
               'low_stock', coalesce((p_counts #>> '{by_kind,low_stock}')::bigint, 0))
           || coalesce(p_health, jsonb_build_object('stock_outs', 0, 'oversells', jsonb_build_object('open', 0, 'units', 0),
                                                    'stranded_units', 0, 'units_sold_30d', 0, 'sell_through_30d', NULL,
                                                    'connections', '[]'::jsonb, 'failing_connections', 0))
$$;

-- The dashboard of the transaction's brands: the items' counts live, each brand's health as of the
-- worker's last refresh of it (health_at; a brand not refreshed yet shows zeros).
CREATE FUNCTION exception_dashboard(p_brand uuid) RETURNS jsonb
LANGUAGE sql STABLE
-- the brands, their health and their counts joined by hashing: estimates under a long list of brands are blind,
-- and a nested loop over a thousand rows a thousand times looked as cheap
SET enable_nestloop = off AS $$
WITH c AS MATERIALIZED (SELECT * FROM exception_brand_counts()),
h AS MATERIALIZED (SELECT * FROM brand_health),
rows AS (
    SELECT b.name, brand_dashboard_row(b, h.health, c.counts) || jsonb_build_object('health_at', h.refreshed_at) AS j,
           coalesce((c.counts ->> 'critical')::bigint, 0) AS crit, coalesce((c.counts ->> 'total')::bigint, 0) AS total
      FROM brands b LEFT JOIN h ON h.tenant_id = b.id
      LEFT JOIN c ON c.tenant_id = b.id
     WHERE b.id = ANY ((SELECT current_tenants())::uuid[]) AND b.archived_at IS NULL
       AND (p_brand IS NULL OR b.id = p_brand))
SELECT jsonb_build_object(
    'brands', coalesce((SELECT jsonb_agg(j ORDER BY crit DESC, total DESC, name) FROM rows), '[]'),
    'totals', jsonb_build_object(
        'brands', (SELECT count(*) FROM rows),
        'exceptions', (SELECT coalesce(sum(total), 0) FROM rows),
        'critical', (SELECT coalesce(sum(crit), 0) FROM rows),
        'stock_outs', (SELECT coalesce(sum((j ->> 'stock_outs')::bigint), 0) FROM rows),
        'low_stock', (SELECT coalesce(sum((j ->> 'low_stock')::bigint), 0) FROM rows),
        'oversell_units', (SELECT coalesce(sum((j #>> '{oversells,units}')::bigint), 0) FROM rows),
        'stranded_units', (SELECT coalesce(sum((j ->> 'stranded_units')::bigint), 0) FROM rows),
        'failing_connections', (SELECT coalesce(sum((j ->> 'failing_connections')::bigint), 0) FROM rows),
        'units_sold_30d', (SELECT coalesce(sum((j ->> 'units_sold_30d')::bigint), 0) FROM rows)))
$$;

-- One brand's dashboard with its first ten active exceptions.
CREATE FUNCTION exception_brand_dashboard(p_brand uuid) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT brand_dashboard_row(b, brand_health_json(b.id), (SELECT counts FROM exception_brand_counts() c
                                                               WHERE c.tenant_id = b.id))
           || jsonb_build_object('health_at', now(),
                                 'top', exception_queue(p_brand, NULL, NULL, 'active', NULL, NULL, NULL, NULL, NULL, 10)
                                        -> 'items')
      FROM brands b WHERE b.id = p_brand
$$;

-- What each channel shows for a SKU now, for the SKU list: published (what onecount wants shown), pushed (the
-- last number the channel acknowledged), seen (what read-back last saw) and a status in one word; and the
-- SKU's days of cover from the measured sales of every channel.
CREATE FUNCTION sku_channels_json(p_tenant uuid, p_sku bigint) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'channels', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                'connection_id', c.id, 'connection', c.name, 'kind', c.kind, 'listing_id', l.id,
                'published', l.desired_qty, 'pushed', l.pushed_qty, 'seen', l.seen_qty, 'seen_at', l.seen_at,
                'status', CASE WHEN l.state = 'paused' OR c.status = 'paused' THEN 'paused'
                               WHEN l.desired_version > l.pushed_version AND (l.last_error IS NOT NULL
                                    OR c.status = 'error') THEN 'failing'
                               WHEN l.desired_version > l.pushed_version THEN 'behind'
                               WHEN l.seen_qty IS NOT NULL AND l.pushed_qty IS NOT NULL AND l.seen_qty <> l.pushed_qty
                                   THEN 'drifted'
                               ELSE 'in_sync' END) ORDER BY c.name)
              FROM listings l JOIN channel_connections c ON c.tenant_id = l.tenant_id AND c.id = l.connection_id
             WHERE l.tenant_id = p_tenant AND l.sku_id = p_sku), '[]'),
        'days_of_cover', (
            SELECT CASE WHEN sum(v.units_per_hour) > 0
                        THEN round((greatest(st.on_hand - st.committed - st.held, 0) / (sum(v.units_per_hour) * 24))::numeric, 1) END
              FROM stock st LEFT JOIN sku_velocity v ON v.tenant_id = st.tenant_id AND v.sku_id = st.sku_id
             WHERE st.tenant_id = p_tenant AND st.sku_id = p_sku
             GROUP BY st.on_hand, st.committed, st.held))
$$;
