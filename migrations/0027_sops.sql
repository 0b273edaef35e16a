-- 0027_sops.sql — the SOP: a versioned document per portfolio, with
-- per-brand overrides, that the scheduler runs (issue 13).
--
-- The document.  {"title": text, "steps": [step, …]}, each step:
--   key       ^[a-z][a-z0-9_]{0,39}$, unique in the document; what overrides,
--             runs and checklist items name it by
--   title     what a person reads
--   action    automated: poll_orders, poll_returns, read_back, full_repush,
--             velocity, unlisted_skus, bundle_components, low_stock,
--             connection_health, buffer_review; or checklist (a human step)
--   cadence   exactly one of "every_s" (10 s … 7 days, elapsed time) or
--             "cron" (five fields, in the brand's time zone: cron_next, 0026)
--   start_after_s  an interval step's first run waits this long (default 0)
--   catch_up  what to do about runs missed while no worker ran: "once" (run
--             once, the evidence says how many were missed) or "report"
--             (record one 'missed' run and wait for the next)
--   scope     {"channel_kinds": [...], "brands": [...], "connections": [...]}
--             — all optional; the per-connection actions (polls, read-back,
--             re-push, connection_health) run once per matching connection
--   params    the action's settings (low_stock: days_of_cover, units;
--             buffer_review: apply, min, max)
--   checklist for action "checklist": {"role", "due_after_s",
--             "done_when", "instructions", "assignee" (a user id or null)}
--   enabled   default true
-- A brand's override document is {"steps": [entry, …]}: an entry whose key
-- names a portfolio step replaces the fields it gives (a cadence replaces
-- the other cadence; "enabled": false turns the step off for the brand);
-- with "connection_id" it applies to that connection only (cadence and
-- enabled); an entry with a new key is a step of the brand's own.
--
-- Versions.  Every change is a new row of sop_versions (portfolio, brand
-- NULL for the portfolio's SOP or the brand for its overrides, version
-- 1, 2, …) with its author and reason; nothing is updated or deleted.  A
-- portfolio without a version runs the default SOP (sop_default(), the
-- field guide's routine); its first change starts at version 2 with the
-- default as version 1.  Restoring makes a new version with the old
-- document.  A write names the version it was based on: another write in
-- between answers a conflict (OCSOC), never a silent overwrite.
--
-- The schedule.  The routines table (0006) is what the scheduler claims:
-- sop_apply(brand) makes its rows from the brand's effective SOP — one row
-- per step (and per connection for per-connection actions), keyed by
-- (connection, step_key) — updating cadence, scope and settings in place
-- (so a row's history and next run survive an edit) and turning off rows
-- whose step left the SOP (in_sop false; their history stays).  It runs
-- when a version is saved, a connection is added and a brand is created.
--
-- Directory tables (sop_versions) hold documents, not inventory: like
-- portfolios and brands, no row-level security; the API enforces the
-- portfolio wall from memberships.  checklist_items is a tenant table.

CREATE TABLE sop_versions (
    portfolio_id uuid NOT NULL REFERENCES portfolios (id),
    brand_id uuid REFERENCES brands (id),
    version int NOT NULL CHECK (version >= 1),
    document jsonb NOT NULL,
    author_user uuid,
    author_token uuid,
    reason text NOT NULL CHECK (length(reason) BETWEEN 1 AND 500),
    restored_from int,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX sop_versions_key ON sop_versions (portfolio_id, coalesce(brand_id, '00000000-0000-0000-0000-000000000000'), version);
GRANT SELECT, INSERT ON sop_versions TO onecount_app;

CREATE TABLE checklist_items (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    routine_id uuid,
    step_key text NOT NULL,
    title text NOT NULL,
    instructions text,
    done_when text,
    role text NOT NULL,
    assignee uuid,
    opened_at timestamptz NOT NULL DEFAULT now(),
    due_at timestamptz NOT NULL,
    state text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'done', 'skipped')),
    completed_by uuid,
    completed_at timestamptz,
    note text,
    overdue_alerted_at timestamptz,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, routine_id) REFERENCES routines (tenant_id, id) ON DELETE SET NULL (routine_id)
);
CREATE INDEX checklist_open ON checklist_items (tenant_id, due_at) WHERE state = 'open';
CREATE INDEX checklist_overdue ON checklist_items (due_at) WHERE state = 'open' AND overdue_alerted_at IS NULL;
ALTER TABLE checklist_items ENABLE ROW LEVEL SECURITY;
ALTER TABLE checklist_items FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_wall ON checklist_items USING (tenant_id = ANY ((SELECT current_tenants())::uuid[]))
    WITH CHECK (tenant_id = ANY ((SELECT current_tenants())::uuid[]));
GRANT SELECT, INSERT, UPDATE ON checklist_items TO onecount_app;

-- The routines table becomes the SOP's materialized schedule.
ALTER TABLE routines DROP CONSTRAINT routines_kind_check;
ALTER TABLE routines ADD CONSTRAINT routines_kind_check CHECK (kind IN ('poll_orders', 'poll_returns', 'read_back',
    'full_repush', 'velocity', 'unlisted_skus', 'bundle_components', 'low_stock', 'connection_health',
    'buffer_review', 'checklist'));
ALTER TABLE routines ALTER COLUMN interval_seconds DROP NOT NULL;
ALTER TABLE routines ADD COLUMN step_key text, ADD COLUMN title text, ADD COLUMN cron text,
    ADD COLUMN catch_up text NOT NULL DEFAULT 'once' CHECK (catch_up IN ('once', 'report')),
    ADD COLUMN params jsonb NOT NULL DEFAULT '{}', ADD COLUMN in_sop boolean NOT NULL DEFAULT true;
ALTER TABLE routines ADD CONSTRAINT routines_one_cadence CHECK ((interval_seconds IS NULL) <> (cron IS NULL));
UPDATE routines r SET step_key = CASE WHEN r.kind = 'poll_orders' AND c.kind = 'shopify' THEN 'poll_orders_shopify'
                                      ELSE r.kind END
  FROM (SELECT r2.tenant_id, r2.id, cc.kind FROM routines r2 LEFT JOIN channel_connections cc
          ON cc.tenant_id = r2.tenant_id AND cc.id = r2.connection_id) c
 WHERE c.tenant_id = r.tenant_id AND c.id = r.id;
DROP INDEX routines_one_kind;
CREATE UNIQUE INDEX routines_one_step ON routines (tenant_id, coalesce(connection_id, '00000000-0000-0000-0000-000000000000'), coalesce(step_key, kind));

ALTER TABLE routine_runs DROP CONSTRAINT routine_runs_status_check;
ALTER TABLE routine_runs ADD CONSTRAINT routine_runs_status_check
    CHECK (status IN ('running', 'ok', 'failed', 'interrupted', 'missed'));
ALTER TABLE routine_runs ADD COLUMN step_key text;

-- The default SOP: the field guide's checklist.  Every sale decrements the
-- master and pushes (the sync engine, not a step); the rest is routine.
CREATE FUNCTION sop_default() RETURNS jsonb
    LANGUAGE sql IMMUTABLE AS $$
SELECT '{
  "title": "Multi-channel inventory routine (onecount default)",
  "steps": [
    {"key": "poll_orders", "title": "Take in Amazon and Walmart orders", "action": "poll_orders", "every_s": 60,
     "scope": {"channel_kinds": ["amazon", "walmart"]}},
    {"key": "poll_orders_shopify", "title": "Take in Shopify orders the webhooks missed", "action": "poll_orders",
     "every_s": 300, "scope": {"channel_kinds": ["shopify"]}},
    {"key": "poll_returns", "title": "Put returns back into the master", "action": "poll_returns", "every_s": 900,
     "start_after_s": 30},
    {"key": "read_back", "title": "Read back what each channel shows and heal drift", "action": "read_back",
     "every_s": 600, "start_after_s": 60},
    {"key": "full_repush", "title": "Push every listing again", "action": "full_repush", "every_s": 86400,
     "start_after_s": 86400, "catch_up": "report"},
    {"key": "velocity", "title": "Measure sales velocity (sizes the safety buffers)", "action": "velocity",
     "every_s": 3600},
    {"key": "unlisted_skus", "title": "Find SKUs not listed on every channel", "action": "unlisted_skus",
     "cron": "0 7 * * *"},
    {"key": "bundle_components", "title": "Find bundles whose components are not listed", "action": "bundle_components",
     "cron": "5 7 * * *"},
    {"key": "low_stock", "title": "Find SKUs with less than a week of cover", "action": "low_stock",
     "cron": "10 7 * * *", "params": {"days_of_cover": 7}},
    {"key": "connection_health", "title": "Check each connection is healthy", "action": "connection_health",
     "cron": "15 * * * *"},
    {"key": "buffer_review", "title": "Review safety buffers against measured lag and velocity",
     "action": "buffer_review", "cron": "0 6 * * 1", "catch_up": "report", "params": {"apply": false}},
    {"key": "map_new_skus", "title": "Map new SKUs, bundles and kits on every channel", "action": "checklist",
     "cron": "0 9 * * 1", "catch_up": "report",
     "checklist": {"role": "operator", "due_after_s": 86400,
                   "done_when": "every SKU is listed on each channel it sells on, bundles with their components",
                   "instructions": "Open the unlisted-SKU findings of this morning and list or map each one."}},
    {"key": "review_oversells", "title": "Review oversells and their causes", "action": "checklist",
     "cron": "30 9 * * 1-5", "catch_up": "report",
     "checklist": {"role": "operator", "due_after_s": 14400,
                   "done_when": "every open oversell has a resolution recorded",
                   "instructions": "Open Oversells; for each, record what happened and adjust the buffer if lag caused it."}},
    {"key": "returns_restocked", "title": "Check returns went back into the master", "action": "checklist",
     "cron": "0 10 * * 5", "catch_up": "report",
     "checklist": {"role": "operator", "due_after_s": 86400,
                   "done_when": "every return received this week is restocked or written off",
                   "instructions": "Compare the week''s returns with the warehouse''s receipts."}}
  ]
}'::jsonb
$$;

CREATE FUNCTION sop_per_connection(p_action text) RETURNS boolean
    LANGUAGE sql IMMUTABLE AS $$
SELECT p_action IN ('poll_orders', 'poll_returns', 'read_back', 'full_repush', 'connection_health')
$$;

-- The problems of a document, all of them: [{field, message}], empty when
-- it is sound.  p_override: a brand's override document (p_base the
-- portfolio's, whose keys its entries may name).
CREATE FUNCTION sop_check(p_doc jsonb, p_override boolean, p_base jsonb, p_portfolio uuid, p_brand uuid) RETURNS jsonb
    LANGUAGE plpgsql STABLE AS $$
DECLARE
    out jsonb := '[]';
    s jsonb;
    i int := 0;
    f text;
    keys text[] := '{}';
    base_keys text[];
    k text;
    msg text;
    is_new boolean;
    actions text[] := ARRAY['poll_orders', 'poll_returns', 'read_back', 'full_repush', 'velocity', 'unlisted_skus',
                            'bundle_components', 'low_stock', 'connection_health', 'buffer_review', 'checklist'];
BEGIN
    IF jsonb_typeof(p_doc) IS DISTINCT FROM 'object' OR jsonb_typeof(p_doc -> 'steps') IS DISTINCT FROM 'array' THEN
        RETURN jsonb_build_array(jsonb_build_object('field', 'document.steps', 'message', 'steps must be a list'));
    END IF;
    IF NOT p_override AND jsonb_array_length(p_doc -> 'steps') = 0 THEN
        out := out || jsonb_build_object('field', 'document.steps', 'message', 'an SOP needs at least one step');
    END IF;
    SELECT coalesce(array_agg(x ->> 'key'), '{}') INTO base_keys FROM jsonb_array_elements(coalesce(p_base -> 'steps', '[]')) x;
    FOR s IN SELECT * FROM jsonb_array_elements(p_doc -> 'steps') LOOP
        f := format('document.steps[%s]', i);
        i := i + 1;
        k := s ->> 'key';
        IF k IS NULL OR k !~ '^[a-z][a-z0-9_]{0,39}$' THEN
            out := out || jsonb_build_object('field', f || '.key', 'message',
                'key must be 1-40 lower-case letters, digits or _, starting with a letter');
            CONTINUE;
        END IF;
        IF p_override THEN
            IF s ? 'connection_id' THEN
                IF NOT k = ANY (base_keys) THEN
                    out := out || jsonb_build_object('field', f || '.key', 'message',
                        format('a connection''s entry must name a step of the portfolio''s SOP; %s is not one', k));
                ELSIF NOT EXISTS (SELECT 1 FROM channel_connections c WHERE c.tenant_id = p_brand
                                   AND c.id::text = s ->> 'connection_id') THEN
                    out := out || jsonb_build_object('field', f || '.connection_id', 'message',
                        'the connection does not exist in this brand');
                END IF;
                IF EXISTS (SELECT 1 FROM jsonb_object_keys(s) o WHERE o NOT IN ('key', 'connection_id', 'every_s', 'cron',
                                                                              'enabled')) THEN
                    out := out || jsonb_build_object('field', f, 'message',
                        'a connection''s entry may set only every_s, cron and enabled');
                END IF;
                k := k || '@' || (s ->> 'connection_id');
            END IF;
            is_new := NOT (s ->> 'key') = ANY (base_keys);
        ELSE
            is_new := true;
        END IF;
        IF k = ANY (keys) THEN
            out := out || jsonb_build_object('field', f || '.key', 'message', format('the key %s is used twice', s ->> 'key'));
        END IF;
        keys := keys || k;
        IF is_new AND coalesce(length(s ->> 'title'), 0) NOT BETWEEN 1 AND 200 THEN
            out := out || jsonb_build_object('field', f || '.title', 'message', 'a step needs a title of 1-200 characters');
        END IF;
        IF is_new AND NOT coalesce(s ->> 'action' = ANY (actions), false) THEN
            out := out || jsonb_build_object('field', f || '.action', 'message',
                'action must be one of ' || array_to_string(actions, ', '));
        ELSIF NOT is_new AND s ? 'action' AND s ->> 'action' IS DISTINCT FROM
                (SELECT x ->> 'action' FROM jsonb_array_elements(p_base -> 'steps') x WHERE x ->> 'key' = s ->> 'key') THEN
            out := out || jsonb_build_object('field', f || '.action', 'message',
                'an override cannot change a step''s action; add a step of the brand''s own instead');
        END IF;
        IF s ? 'every_s' AND s ? 'cron' THEN
            out := out || jsonb_build_object('field', f || '.cron', 'message', 'give either every_s or cron, not both');
        ELSIF is_new AND NOT (s ? 'every_s' OR s ? 'cron') THEN
            out := out || jsonb_build_object('field', f || '.every_s', 'message', 'a step needs every_s or cron');
        END IF;
        IF s ? 'every_s' AND (jsonb_typeof(s -> 'every_s') <> 'number' OR (s ->> 'every_s') !~ '^[0-9]+$'
                              OR (s ->> 'every_s')::numeric NOT BETWEEN 10 AND 604800) THEN
            out := out || jsonb_build_object('field', f || '.every_s', 'message',
                'every_s is a whole number of seconds from 10 to 604800 (7 days)');
        END IF;
        IF s ? 'cron' THEN
            msg := CASE WHEN jsonb_typeof(s -> 'cron') = 'string' THEN cron_check(s ->> 'cron') ELSE 'cron is a text' END;
            IF msg IS NOT NULL THEN
                out := out || jsonb_build_object('field', f || '.cron', 'message', msg);
            END IF;
        END IF;
        IF s ? 'catch_up' AND NOT coalesce(s ->> 'catch_up' IN ('once', 'report'), false) THEN
            out := out || jsonb_build_object('field', f || '.catch_up', 'message', 'catch_up is once or report');
        END IF;
        IF s ? 'start_after_s' AND (jsonb_typeof(s -> 'start_after_s') <> 'number'
                                    OR (s ->> 'start_after_s') !~ '^[0-9]+$'
                                    OR (s ->> 'start_after_s')::numeric > 604800) THEN
            out := out || jsonb_build_object('field', f || '.start_after_s', 'message',
                'start_after_s is a whole number of seconds up to 604800');
        END IF;
        IF coalesce(s ->> 'action', (SELECT x ->> 'action' FROM jsonb_array_elements(p_base -> 'steps') x
                                      WHERE x ->> 'key' = s ->> 'key')) = 'checklist' THEN
            IF is_new AND jsonb_typeof(s -> 'checklist') IS DISTINCT FROM 'object' THEN
                out := out || jsonb_build_object('field', f || '.checklist', 'message',
                    'a checklist step needs checklist: {role, due_after_s, done_when}');
            ELSIF s ? 'checklist' THEN
                IF (is_new OR s -> 'checklist' ? 'role')
                   AND NOT coalesce(s #>> '{checklist,role}' IN ('portfolio_admin', 'operator', 'brand_owner'), false) THEN
                    out := out || jsonb_build_object('field', f || '.checklist.role', 'message',
                        'role is portfolio_admin, operator or brand_owner');
                END IF;
                IF (is_new OR s -> 'checklist' ? 'due_after_s') AND NOT coalesce((s #>> '{checklist,due_after_s}') ~ '^[0-9]+$'
                        AND (s #>> '{checklist,due_after_s}')::numeric BETWEEN 60 AND 2592000, false) THEN
                    out := out || jsonb_build_object('field', f || '.checklist.due_after_s', 'message',
                        'due_after_s is a whole number of seconds from 60 to 2592000 (30 days)');
                END IF;
                IF s #>> '{checklist,assignee}' IS NOT NULL AND NOT EXISTS (
                        SELECT 1 FROM users u WHERE u.id::text = s #>> '{checklist,assignee}' AND u.disabled_at IS NULL
                           AND EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = u.id
                                          AND m.portfolio_id = p_portfolio)) THEN
                    out := out || jsonb_build_object('field', f || '.checklist.assignee', 'message',
                        'the assignee is not an active member of this portfolio');
                END IF;
            END IF;
        END IF;
        IF s ? 'scope' AND jsonb_typeof(s -> 'scope') <> 'object' THEN
            out := out || jsonb_build_object('field', f || '.scope', 'message', 'scope is an object');
        ELSIF s ? 'scope' AND EXISTS (SELECT 1 FROM jsonb_array_elements_text(coalesce(s #> '{scope,channel_kinds}', '[]')) x
                                      WHERE x NOT IN ('shopify', 'amazon', 'walmart')) THEN
            out := out || jsonb_build_object('field', f || '.scope.channel_kinds', 'message',
                'channel kinds are shopify, amazon, walmart');
        END IF;
    END LOOP;
    RETURN out;
END $$;

-- The portfolio's current SOP version and document (the default as version
-- 1 when it has none).
CREATE FUNCTION sop_current(p_portfolio uuid, p_brand uuid) RETURNS sop_versions
    LANGUAGE plpgsql STABLE AS $$
DECLARE
    v sop_versions;
BEGIN
    SELECT * INTO v FROM sop_versions WHERE portfolio_id = p_portfolio AND brand_id IS NOT DISTINCT FROM p_brand
     ORDER BY version DESC LIMIT 1;
    IF NOT FOUND THEN
        v.portfolio_id := p_portfolio;
        v.brand_id := p_brand;
        v.version := CASE WHEN p_brand IS NULL THEN 1 ELSE 0 END;
        v.document := CASE WHEN p_brand IS NULL THEN sop_default() ELSE '{"steps": []}'::jsonb END;
        v.reason := CASE WHEN p_brand IS NULL THEN 'the default SOP that ships with onecount' ELSE 'no overrides' END;
        v.created_at := (SELECT created_at FROM portfolios WHERE id = p_portfolio);
    END IF;
    RETURN v;
END $$;

-- The brand's effective steps: the portfolio's SOP with the brand's
-- overrides merged; per-connection entries under "connections".
CREATE FUNCTION sop_effective(p_brand uuid) RETURNS jsonb
    LANGUAGE plpgsql STABLE AS $$
DECLARE
    pid uuid := (SELECT portfolio_id FROM brands WHERE id = p_brand);
    base jsonb := (sop_current(pid, NULL)).document;
    ov jsonb := (sop_current(pid, p_brand)).document;
    s jsonb;
    e jsonb;
    steps jsonb := '[]';
    conns jsonb;
BEGIN
    FOR s IN SELECT * FROM jsonb_array_elements(base -> 'steps') LOOP
        conns := '{}';
        FOR e IN SELECT * FROM jsonb_array_elements(ov -> 'steps') x WHERE x ->> 'key' = s ->> 'key' LOOP
            IF e ? 'connection_id' THEN
                conns := conns || jsonb_build_object(e ->> 'connection_id', e - 'key' - 'connection_id');
            ELSE
                IF e ? 'every_s' OR e ? 'cron' THEN
                    s := s - 'every_s' - 'cron';
                END IF;
                s := s || (e - 'key' - 'checklist')
                       || CASE WHEN e ? 'checklist' THEN jsonb_build_object('checklist',
                              coalesce(s -> 'checklist', '{}') || (e -> 'checklist')) ELSE '{}' END
                       || jsonb_build_object('overridden', true);
            END IF;
        END LOOP;
        steps := steps || (s || jsonb_build_object('connections', conns));
    END LOOP;
    FOR e IN SELECT * FROM jsonb_array_elements(ov -> 'steps') x
              WHERE NOT x ? 'connection_id'
                AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(base -> 'steps') b WHERE b ->> 'key' = x ->> 'key') LOOP
        steps := steps || (e || jsonb_build_object('connections', '{}'::jsonb, 'brand_step', true));
    END LOOP;
    RETURN jsonb_build_object('title', base -> 'title', 'steps', steps);
END $$;

-- A routine's next due time after p_from.
CREATE FUNCTION routine_next(p_interval int, p_cron text, p_tz text, p_from timestamptz) RETURNS timestamptz
    LANGUAGE sql STABLE AS $$
SELECT CASE WHEN p_cron IS NOT NULL THEN coalesce(cron_next(p_cron, p_tz, p_from), 'infinity')
            ELSE p_from + p_interval * interval '1 second' END
$$;

-- Makes the brand's routines the schedule its effective SOP says (above).
-- The caller's tenants include the brand.  Answers {added, changed, retired}.
CREATE FUNCTION sop_apply(p_brand uuid) RETURNS jsonb
    LANGUAGE plpgsql AS $$
DECLARE
    eff jsonb := sop_effective(p_brand);
    tz text := (SELECT timezone FROM brands WHERE id = p_brand);
    n_add int;
    n_chg int;
    n_ret int;
BEGIN
    CREATE TEMP TABLE IF NOT EXISTS sop_want (connection_id uuid, step_key text, kind text, title text,
        interval_seconds int, cron text, catch_up text, params jsonb, enabled boolean, start_after_s int)
        ON COMMIT DROP;
    TRUNCATE sop_want;
    INSERT INTO sop_want
    SELECT c.id, s ->> 'key', s ->> 'action', s ->> 'title',
           CASE WHEN cad ? 'cron' THEN NULL ELSE (cad ->> 'every_s')::int END, cad ->> 'cron',
           coalesce(s ->> 'catch_up', 'once'),
           coalesce(s -> 'params', '{}') || CASE WHEN s ? 'checklist' THEN jsonb_build_object('checklist', s -> 'checklist')
                                                ELSE '{}' END,
           coalesce((s ->> 'enabled')::boolean, true) AND coalesce((co ->> 'enabled')::boolean, true),
           coalesce((s ->> 'start_after_s')::int, 0)
      FROM jsonb_array_elements(eff -> 'steps') s
      LEFT JOIN LATERAL (SELECT cc.id, cc.kind FROM channel_connections cc
                          WHERE sop_per_connection(s ->> 'action') AND cc.tenant_id = p_brand
                            AND (NOT coalesce(s -> 'scope', '{}') ? 'channel_kinds'
                                 OR s #> '{scope,channel_kinds}' ? cc.kind)
                            AND (NOT coalesce(s -> 'scope', '{}') ? 'connections'
                                 OR s #> '{scope,connections}' ? cc.id::text)) c
             ON true
      CROSS JOIN LATERAL (SELECT s -> 'connections' -> (c.id::text) AS co) o
      CROSS JOIN LATERAL (SELECT CASE WHEN o.co ? 'cron' OR o.co ? 'every_s' THEN o.co
                                      ELSE s END AS cad) x
     WHERE (NOT sop_per_connection(s ->> 'action') OR c.id IS NOT NULL)
       AND (NOT coalesce(s -> 'scope', '{}') ? 'brands' OR s #> '{scope,brands}' ? p_brand::text);

    WITH up AS (
        UPDATE routines r SET kind = w.kind, title = w.title, interval_seconds = w.interval_seconds, cron = w.cron,
               catch_up = w.catch_up, params = w.params, enabled = w.enabled, in_sop = true,
               next_run_at = CASE WHEN r.cron IS NOT DISTINCT FROM w.cron
                                       AND r.interval_seconds IS NOT DISTINCT FROM w.interval_seconds THEN r.next_run_at
                                  WHEN w.cron IS NOT NULL THEN routine_next(NULL, w.cron, tz, now())
                                  ELSE least(r.next_run_at, now() + w.interval_seconds * interval '1 second') END
          FROM sop_want w
         WHERE r.tenant_id = p_brand AND r.connection_id IS NOT DISTINCT FROM w.connection_id
           AND coalesce(r.step_key, r.kind) = w.step_key
           AND (r.kind, r.title, r.interval_seconds, r.cron, r.catch_up, r.params, r.enabled, r.in_sop)
               IS DISTINCT FROM (w.kind, w.title, w.interval_seconds, w.cron, w.catch_up, w.params, w.enabled, true)
        RETURNING 1)
    SELECT count(*) INTO n_chg FROM up;
    WITH ins AS (
        INSERT INTO routines (tenant_id, connection_id, step_key, kind, title, interval_seconds, cron, catch_up, params,
                              enabled, next_run_at)
        SELECT p_brand, w.connection_id, w.step_key, w.kind, w.title, w.interval_seconds, w.cron, w.catch_up, w.params,
               w.enabled, CASE WHEN w.cron IS NOT NULL THEN routine_next(NULL, w.cron, tz, now())
                               ELSE now() + w.start_after_s * interval '1 second' END
          FROM sop_want w
         WHERE NOT EXISTS (SELECT 1 FROM routines r WHERE r.tenant_id = p_brand
                              AND r.connection_id IS NOT DISTINCT FROM w.connection_id
                              AND coalesce(r.step_key, r.kind) = w.step_key)
        RETURNING 1)
    SELECT count(*) INTO n_add FROM ins;
    WITH ret AS (
        UPDATE routines r SET in_sop = false, enabled = false
         WHERE r.tenant_id = p_brand AND r.in_sop
           AND NOT EXISTS (SELECT 1 FROM sop_want w WHERE r.connection_id IS NOT DISTINCT FROM w.connection_id
                              AND coalesce(r.step_key, r.kind) = w.step_key)
        RETURNING 1)
    SELECT count(*) INTO n_ret FROM ret;
    IF n_add + n_chg + n_ret > 0 THEN
        PERFORM pg_notify('oc_events', p_brand::text);
    END IF;
    RETURN jsonb_build_object('added', n_add, 'changed', n_chg, 'retired', n_ret);
END $$;

-- A version as the API shows it.
CREATE FUNCTION sop_version_json(v sop_versions) RETURNS jsonb
    LANGUAGE sql STABLE AS $$
SELECT jsonb_build_object('version', v.version, 'brand_id', v.brand_id, 'document', v.document,
    'author', CASE WHEN v.author_user IS NULL AND v.author_token IS NULL THEN NULL
                   ELSE jsonb_build_object('user_id', v.author_user, 'token_id', v.author_token,
                        'name', (SELECT name FROM users WHERE id = v.author_user)) END,
    'reason', v.reason, 'restored_from', v.restored_from, 'created_at', v.created_at)
$$;

-- Saves a new version of the portfolio's SOP (p_brand NULL) or of a
-- brand's overrides, based on p_base (the version the writer read; NULL =
-- whatever is current), and applies it to the brands it touches; the
-- transaction's tenants include them (the API sets every brand of the
-- portfolio).  Raises OCSOV (detail: the problems, JSON) for an unsound
-- document and OCSOC when p_base is not the current version.
CREATE FUNCTION sop_save(p_portfolio uuid, p_brand uuid, p_doc jsonb, p_user uuid, p_token uuid, p_reason text,
                         p_base int, p_restored_from int, p_request text) RETURNS jsonb
    LANGUAGE plpgsql AS $$
DECLARE
    cur sop_versions;
    problems jsonb;
    v sop_versions;
    b record;
    applied jsonb := '{}';
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('sop:' || p_portfolio::text));
    IF p_brand IS NOT NULL AND NOT EXISTS (SELECT 1 FROM brands WHERE id = p_brand AND portfolio_id = p_portfolio) THEN
        RAISE EXCEPTION 'no such brand' USING ERRCODE = 'OCSON';
    END IF;
    cur := sop_current(p_portfolio, p_brand);
    IF p_base IS NOT NULL AND p_base <> cur.version THEN
        RAISE EXCEPTION 'the SOP changed since version %: it is at version % now (by %); read it again and redo the change',
            p_base, cur.version, coalesce((SELECT name FROM users WHERE id = cur.author_user), 'onecount')
            USING ERRCODE = 'OCSOC';
    END IF;
    problems := sop_check(p_doc, p_brand IS NOT NULL, (sop_current(p_portfolio, NULL)).document, p_portfolio, p_brand);
    IF jsonb_array_length(problems) > 0 THEN
        RAISE EXCEPTION '%', problems -> 0 ->> 'message' USING ERRCODE = 'OCSOV', DETAIL = problems::text;
    END IF;
    IF p_brand IS NULL AND NOT EXISTS (SELECT 1 FROM sop_versions WHERE portfolio_id = p_portfolio AND brand_id IS NULL) THEN
        INSERT INTO sop_versions (portfolio_id, brand_id, version, document, reason, created_at)
        VALUES (p_portfolio, NULL, 1, sop_default(), cur.reason, cur.created_at);
    END IF;
    INSERT INTO sop_versions (portfolio_id, brand_id, version, document, author_user, author_token, reason, restored_from)
    VALUES (p_portfolio, p_brand, cur.version + 1, p_doc, p_user, p_token, p_reason, p_restored_from)
    RETURNING * INTO v;
    FOR b IN SELECT id FROM brands WHERE portfolio_id = p_portfolio AND (p_brand IS NULL OR id = p_brand)
               AND id = ANY ((SELECT current_tenants())::uuid[]) ORDER BY id LOOP
        applied := applied || jsonb_build_object(b.id::text, sop_apply(b.id));
    END LOOP;
    IF p_brand IS NULL THEN
        PERFORM audit_write(NULL, p_portfolio, p_user, p_token, CASE WHEN p_restored_from IS NULL THEN 'sop.update'
                            ELSE 'sop.restore' END, 'sop', v.version::text,
                            jsonb_build_object('version', v.version, 'reason', p_reason, 'restored_from', p_restored_from),
                            p_request);
    ELSE
        PERFORM audit_write(p_brand, p_portfolio, p_user, p_token, CASE WHEN p_restored_from IS NULL THEN 'sop.override'
                            ELSE 'sop.restore' END, 'sop', v.version::text,
                            jsonb_build_object('version', v.version, 'reason', p_reason, 'restored_from', p_restored_from),
                            p_request);
    END IF;
    RETURN sop_version_json(v) || jsonb_build_object('applied', applied);
END $$;

-- One version (the default as version 1 of a portfolio that never changed it).
CREATE FUNCTION sop_version_get(p_portfolio uuid, p_brand uuid, p_version int) RETURNS sop_versions
    LANGUAGE plpgsql STABLE AS $$
DECLARE
    v sop_versions;
BEGIN
    SELECT * INTO v FROM sop_versions WHERE portfolio_id = p_portfolio AND brand_id IS NOT DISTINCT FROM p_brand
       AND version = p_version;
    IF NOT FOUND THEN
        v := sop_current(p_portfolio, p_brand);
        IF v.version <> p_version OR v.version = 0 THEN
            RAISE EXCEPTION 'no such version' USING ERRCODE = 'OCSON';
        END IF;
    END IF;
    RETURN v;
END $$;

-- Restores an old version as a new one.
CREATE FUNCTION sop_restore(p_portfolio uuid, p_brand uuid, p_version int, p_user uuid, p_token uuid, p_reason text,
                            p_request text) RETURNS jsonb
    LANGUAGE plpgsql AS $$
DECLARE
    old sop_versions := sop_version_get(p_portfolio, p_brand, p_version);
BEGIN
    RETURN sop_save(p_portfolio, p_brand, old.document, p_user, p_token,
                    coalesce(p_reason, format('restored version %s', p_version)), NULL, p_version, p_request);
END $$;

-- What changed from document a to document b, step by step: {added:
-- [step], removed: [step], changed: [{key, fields: {name: {from, to}}}],
-- title}; an override's entry is keyed by key@connection_id.
CREATE FUNCTION sop_doc_diff(a jsonb, b jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE AS $$
DECLARE
    ka jsonb := (SELECT coalesce(jsonb_object_agg(x ->> 'key' || coalesce('@' || (x ->> 'connection_id'), ''), x), '{}')
                   FROM jsonb_array_elements(a -> 'steps') x);
    kb jsonb := (SELECT coalesce(jsonb_object_agg(x ->> 'key' || coalesce('@' || (x ->> 'connection_id'), ''), x), '{}')
                   FROM jsonb_array_elements(b -> 'steps') x);
BEGIN
    RETURN jsonb_build_object(
        'title', CASE WHEN a -> 'title' IS DISTINCT FROM b -> 'title'
                      THEN jsonb_build_object('from', a -> 'title', 'to', b -> 'title') END,
        'added', (SELECT coalesce(jsonb_agg(kb -> k ORDER BY k), '[]') FROM jsonb_object_keys(kb) k WHERE NOT ka ? k),
        'removed', (SELECT coalesce(jsonb_agg(ka -> k ORDER BY k), '[]') FROM jsonb_object_keys(ka) k WHERE NOT kb ? k),
        'changed', (SELECT coalesce(jsonb_agg(jsonb_build_object('key', k, 'fields', f) ORDER BY k), '[]')
                      FROM jsonb_object_keys(ka) k
                      CROSS JOIN LATERAL (SELECT jsonb_object_agg(n, jsonb_build_object('from', ka -> k -> n,
                                                                                        'to', kb -> k -> n)) AS f
                                            FROM (SELECT jsonb_object_keys(ka -> k) UNION
                                                  SELECT jsonb_object_keys(kb -> k)) names(n)
                                           WHERE ka -> k -> n IS DISTINCT FROM kb -> k -> n) d
                     WHERE kb ? k AND f IS NOT NULL));
END $$;

-- What changed between two versions (sop_doc_diff), with their numbers.
CREATE FUNCTION sop_diff(p_portfolio uuid, p_brand uuid, p_from int, p_to int) RETURNS jsonb
    LANGUAGE sql STABLE AS $$
SELECT jsonb_build_object('from', p_from, 'to', p_to)
       || sop_doc_diff((sop_version_get(p_portfolio, p_brand, p_from)).document,
                       (sop_version_get(p_portfolio, p_brand, p_to)).document)
$$;

-- The schedule of the coming hours across the caller's brands: each enabled
-- routine's runs due in [now, now + p_hours], soonest first, at most p_per of
-- each routine (a poll every minute would bury the day's other steps) and
-- p_limit in all; `repeats` says how many more of it fall in the window.
CREATE FUNCTION sop_schedule(p_hours int, p_limit int, p_per int) RETURNS jsonb
    LANGUAGE sql STABLE AS $$
SELECT coalesce(jsonb_agg(j ORDER BY at, brand, step), '[]') FROM (
    SELECT t.at, b.name AS brand, r.step_key AS step,
           jsonb_build_object('at', t.at, 'brand_id', r.tenant_id, 'brand', b.name, 'routine_id', r.id,
                              'step_key', r.step_key, 'title', coalesce(r.title, r.kind), 'kind', r.kind,
                              'connection_id', r.connection_id, 'connection', c.name,
                              'cadence', coalesce(r.cron, 'every ' || r.interval_seconds || ' s'),
                              'occurrence', t.n, 'more', greatest(tot.n - p_per, 0)) AS j
      FROM routines r JOIN brands b ON b.id = r.tenant_id
      LEFT JOIN channel_connections c ON c.tenant_id = r.tenant_id AND c.id = r.connection_id
      CROSS JOIN LATERAL (SELECT greatest(r.next_run_at, now()) AS first, now() + p_hours * interval '1 hour' AS until) w
      CROSS JOIN LATERAL (
          SELECT o.at, row_number() OVER (ORDER BY o.at) AS n FROM (
              SELECT w.first AS at WHERE w.first <= w.until
              UNION
              SELECT x FROM cron_upcoming(r.cron, b.timezone, w.first, w.until, p_per) x WHERE r.cron IS NOT NULL
              UNION
              SELECT w.first + g * r.interval_seconds * interval '1 second'
                FROM generate_series(1, least(p_per, p_hours * 3600 / greatest(r.interval_seconds, 1))) g
               WHERE r.interval_seconds IS NOT NULL
                 AND w.first + g * r.interval_seconds * interval '1 second' <= w.until) o
          ORDER BY o.at LIMIT p_per) t
      -- how many fall in the window in all (interval: arithmetic; cron: counted, bounded)
      CROSS JOIN LATERAL (
          SELECT CASE WHEN w.first > w.until THEN 0
                      WHEN r.interval_seconds IS NOT NULL
                      THEN 1 + floor(extract(epoch FROM w.until - w.first) / r.interval_seconds)::int
                      ELSE (SELECT count(*)::int FROM cron_upcoming(r.cron, b.timezone, w.first, w.until, 10000)) END AS n) tot
     WHERE r.enabled AND r.in_sop AND (r.connection_id IS NULL OR c.status = 'active')
     ORDER BY t.at LIMIT p_limit) s
$$;

-- Checklist items past due get one alert per brand (kind checklist_overdue),
-- resolved when none is left overdue.
CREATE FUNCTION checklist_overdue(p_tenant uuid) RETURNS int
    LANGUAGE plpgsql AS $$
DECLARE
    n int;
    titles text;
BEGIN
    WITH o AS (UPDATE checklist_items SET overdue_alerted_at = now()
                WHERE tenant_id = p_tenant AND state = 'open' AND due_at <= now() AND overdue_alerted_at IS NULL
               RETURNING 1)
    SELECT count(*) INTO n FROM o;
    SELECT count(*), string_agg(title, '; ' ORDER BY due_at) INTO n, titles FROM (
        SELECT title, due_at FROM checklist_items WHERE tenant_id = p_tenant AND state = 'open' AND due_at <= now()
         ORDER BY due_at LIMIT 50) x;
    IF n > 0 THEN
        INSERT INTO alerts (tenant_id, connection_id, kind, message)
        VALUES (p_tenant, NULL, 'checklist_overdue', left(format('%s checklist step%s overdue: %s', n,
                CASE WHEN n = 1 THEN ' is' ELSE 's are' END, titles), 500))
        ON CONFLICT (tenant_id, coalesce(connection_id, '00000000-0000-0000-0000-000000000000'), kind)
           WHERE resolved_at IS NULL DO UPDATE SET message = excluded.message;
    ELSE
        PERFORM alert_resolve(p_tenant, NULL, 'checklist_overdue');
    END IF;
    RETURN n;
END $$;

-- How many runs of a routine fell due in (p_due, p_now]: p_due's own and
-- every later one (bounded at 1000).
CREATE FUNCTION routine_missed(p_interval int, p_cron text, p_tz text, p_due timestamptz, p_now timestamptz)
    RETURNS int
    LANGUAGE sql STABLE AS $$
SELECT CASE WHEN p_cron IS NOT NULL
            THEN 1 + (SELECT count(*)::int FROM cron_upcoming(p_cron, p_tz, p_due + interval '1 microsecond', p_now, 999) x)
            ELSE least(1000, 1 + floor(extract(epoch FROM p_now - p_due) / greatest(p_interval, 1))::int) END
$$;

-- The claim (0025's, and the SOP's): a due routine is claimed once across
-- any number of workers (FOR UPDATE SKIP LOCKED), and what it does depends
-- on its step:
--   - a run more than 120 s late (its workers were down, not busy: a claim
--     runs within a second of the due time otherwise) missed runs: with
--     catch_up "report" one run is recorded 'missed' with their count and
--     the routine waits for its next time; with "once" it runs once and the
--     evidence says how many it stands for.  A retry after a worker died is
--     not late: it runs.
--   - a checklist step opens its item here and its run ends 'ok' at once;
--   - anything else is leased to the worker (the answer), as before.
-- The next due time is computed from now — interval or cron in the brand's
-- time zone — so missed runs never pile up.  Overdue checklist items are
-- alerted in the same call.
CREATE OR REPLACE FUNCTION routines_claim(p_tenant uuid, p_owner text, p_limit int, p_lease_s int) RETURNS jsonb
    LANGUAGE plpgsql AS $$
DECLARE
    out jsonb;
BEGIN
    PERFORM checklist_overdue(p_tenant);
    WITH c AS (
        SELECT r.tenant_id, r.id, r.next_run_at AS due_at, r.kind, r.catch_up, r.cron, r.interval_seconds,
               (r.lease_owner IS NOT NULL AND r.lease_until < now()) AS retry
          FROM routines r
          LEFT JOIN channel_connections cc ON cc.tenant_id = r.tenant_id AND cc.id = r.connection_id
         WHERE r.tenant_id = p_tenant AND r.enabled
           AND (r.next_run_at <= now() OR (r.lease_owner IS NOT NULL AND r.lease_until < now()))
           AND (r.lease_until IS NULL OR r.lease_until < now())
           AND (r.connection_id IS NULL OR cc.status = 'active')
         ORDER BY r.next_run_at LIMIT p_limit FOR UPDATE OF r SKIP LOCKED),
    d AS (
        SELECT c.*, b.timezone AS tz,
               CASE WHEN NOT c.retry AND now() - c.due_at > interval '120 seconds'
                    THEN routine_missed(c.interval_seconds, c.cron, b.timezone, c.due_at, now()) ELSE 0 END AS missed
          FROM c JOIN brands b ON b.id = c.tenant_id),
    e AS (
        SELECT d.*, CASE WHEN d.missed > 0 AND d.catch_up = 'report' THEN 'missed'
                         WHEN d.kind = 'checklist' THEN 'checklist' ELSE 'run' END AS how
          FROM d),
    u AS (
        UPDATE routines r SET lease_owner = CASE WHEN e.how = 'run' THEN p_owner END,
               lease_until = CASE WHEN e.how = 'run' THEN now() + p_lease_s * interval '1 second' END,
               last_started_at = now(),
               last_finished_at = CASE WHEN e.how = 'run' THEN r.last_finished_at ELSE now() END,
               last_status = CASE e.how WHEN 'missed' THEN 'missed' WHEN 'checklist' THEN 'ok' ELSE r.last_status END,
               next_run_at = routine_next(r.interval_seconds, r.cron, e.tz, now())
          FROM e WHERE r.tenant_id = e.tenant_id AND r.id = e.id
        RETURNING r.id, r.connection_id, r.kind, r.step_key, r.title, r.params, r.interval_seconds, e.due_at, e.how,
                  e.missed),
    orphan AS (
        UPDATE routines r SET lease_owner = NULL, lease_until = NULL
          FROM (SELECT o.tenant_id, o.id FROM routines o
                 WHERE o.tenant_id = p_tenant AND o.lease_owner IS NOT NULL AND o.lease_until < now()
                   AND NOT (o.enabled AND (o.connection_id IS NULL OR EXISTS (SELECT 1 FROM channel_connections cc
                            WHERE cc.tenant_id = o.tenant_id AND cc.id = o.connection_id AND cc.status = 'active')))
                 ORDER BY o.id FOR UPDATE OF o SKIP LOCKED) d
         WHERE r.tenant_id = d.tenant_id AND r.id = d.id
        RETURNING r.id),
    lost AS (
        UPDATE routine_runs x SET status = 'interrupted', finished_at = now(),
               detail = coalesce(x.detail, '{}'::jsonb) || jsonb_build_object('error',
                   format('worker %s stopped mid-run (its lease lapsed); the run was not finished', x.worker))
         WHERE x.tenant_id = p_tenant AND x.status = 'running'
           AND x.routine_id IN (SELECT id FROM u UNION ALL SELECT id FROM orphan)
        RETURNING x.routine_id, x.attempt),
    items AS (
        INSERT INTO checklist_items (tenant_id, routine_id, step_key, title, instructions, done_when, role, assignee,
                                     due_at)
        SELECT p_tenant, u.id, coalesce(u.step_key, u.kind), coalesce(u.title, u.step_key),
               u.params #>> '{checklist,instructions}', u.params #>> '{checklist,done_when}',
               coalesce(u.params #>> '{checklist,role}', 'operator'), (u.params #>> '{checklist,assignee}')::uuid,
               now() + coalesce((u.params #>> '{checklist,due_after_s}')::int, 86400) * interval '1 second'
          FROM u WHERE u.how = 'checklist'
        RETURNING id, routine_id),
    runs AS (
        INSERT INTO routine_runs (tenant_id, routine_id, connection_id, kind, step_key, due_at, worker, attempt, status,
                                  finished_at, detail)
        SELECT p_tenant, u.id, u.connection_id, u.kind, u.step_key, u.due_at, p_owner,
               coalesce((SELECT max(lost.attempt) + 1 FROM lost WHERE lost.routine_id = u.id), 1),
               CASE u.how WHEN 'run' THEN 'running' WHEN 'missed' THEN 'missed' ELSE 'ok' END,
               CASE WHEN u.how <> 'run' THEN now() END,
               CASE u.how
                   WHEN 'missed' THEN jsonb_build_object('missed', u.missed, 'policy', 'report', 'late_s',
                                                         floor(extract(epoch FROM now() - u.due_at)))
                   WHEN 'checklist' THEN jsonb_build_object('checklist_item', (SELECT i.id FROM items i
                                                                              WHERE i.routine_id = u.id))
                                         || CASE WHEN u.missed > 1 THEN jsonb_build_object('missed', u.missed) ELSE '{}' END
                   ELSE CASE WHEN u.missed > 0 THEN jsonb_build_object('missed', u.missed, 'policy', 'once', 'late_s',
                                                                       floor(extract(epoch FROM now() - u.due_at))) END
               END
          FROM u
        RETURNING id AS run_id, routine_id, detail)
    SELECT coalesce(jsonb_agg(jsonb_build_object('id', u.id, 'connection_id', u.connection_id, 'kind', u.kind,
                                                 'step_key', u.step_key, 'params', u.params,
                                                 'interval_seconds', u.interval_seconds, 'run_id', runs.run_id,
                                                 'detail', runs.detail)), '[]')
      INTO out
      FROM u JOIN runs ON runs.routine_id = u.id WHERE u.how = 'run';
    RETURN out;
END $$;

-- The end of a run keeps the evidence the claim wrote (late, missed) under
-- what the worker reports.
CREATE OR REPLACE FUNCTION routine_finish(p_tenant uuid, p_id uuid, p_owner text, p_status text, p_detail jsonb,
                                          p_retry_s int, p_run uuid DEFAULT NULL) RETURNS void
    LANGUAGE plpgsql AS $$
BEGIN
    UPDATE routines SET last_finished_at = now(), last_status = p_status, last_detail = p_detail,
           lease_owner = NULL, lease_until = NULL,
           next_run_at = CASE WHEN p_retry_s IS NULL THEN next_run_at
                              ELSE least(next_run_at, now() + p_retry_s * interval '1 second') END
     WHERE tenant_id = p_tenant AND id = p_id AND lease_owner = p_owner;
    UPDATE routine_runs SET status = CASE WHEN p_status = 'ok' THEN 'ok' ELSE 'failed' END,
           detail = coalesce(detail, '{}') || coalesce(p_detail, '{}'), finished_at = now()
     WHERE tenant_id = p_tenant AND routine_id = p_id AND worker = p_owner AND status = 'running'
       AND (p_run IS NULL OR id = p_run);
END $$;

-- An alert a finding opens, its message kept current, or resolves.
CREATE FUNCTION finding_alert(p_tenant uuid, p_connection uuid, p_kind text, p_n bigint, p_message text) RETURNS void
    LANGUAGE plpgsql AS $$
BEGIN
    IF p_n > 0 THEN
        INSERT INTO alerts (tenant_id, connection_id, kind, message)
        VALUES (p_tenant, p_connection, p_kind, left(p_message, 500))
        ON CONFLICT (tenant_id, coalesce(connection_id, '00000000-0000-0000-0000-000000000000'), kind)
           WHERE resolved_at IS NULL DO UPDATE SET message = excluded.message;
    ELSE
        PERFORM alert_resolve(p_tenant, p_connection, p_kind);
    END IF;
END $$;

-- The SOP's automated actions that are SQL alone: each answers its
-- evidence (what it saw, what it found) and keeps one alert of its kind
-- open while it finds something.
CREATE FUNCTION sop_action(p_tenant uuid, p_kind text, p_connection uuid, p_params jsonb) RETURNS jsonb
    LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
    checked bigint;
    found jsonb;
    days numeric;
    units bigint;
BEGIN
    CASE p_kind
    WHEN 'unlisted_skus' THEN
        -- Every active SKU should be listed on every active connection of the brand.
        SELECT count(*) INTO checked FROM skus s WHERE s.tenant_id = p_tenant AND s.archived_at IS NULL;
        WITH miss AS (
            SELECT s.code, s.title, array_agg(c.name ORDER BY c.name) AS missing_on
              FROM skus s JOIN channel_connections c ON c.tenant_id = s.tenant_id AND c.status = 'active'
             WHERE s.tenant_id = p_tenant AND s.archived_at IS NULL
               AND NOT EXISTS (SELECT 1 FROM listings l WHERE l.tenant_id = s.tenant_id AND l.sku_id = s.id
                                  AND l.connection_id = c.id)
             GROUP BY s.code, s.title)
        SELECT count(*), coalesce(jsonb_agg(jsonb_build_object('sku', code, 'title', title, 'missing_on', missing_on)
                                            ORDER BY code) FILTER (WHERE rn <= 20), '[]')
          INTO n, found FROM (SELECT miss.*, row_number() OVER (ORDER BY code) AS rn FROM miss) x;
        PERFORM finding_alert(p_tenant, NULL, 'sku_unlisted', n, format('%s SKU%s not listed on every channel: %s', n,
                CASE WHEN n = 1 THEN ' is' ELSE 's are' END,
                (SELECT string_agg(f ->> 'sku', ', ') FROM jsonb_array_elements(found) f)));
        RETURN jsonb_build_object('skus_checked', checked, 'unlisted', n, 'found', found);
    WHEN 'bundle_components' THEN
        -- A bundle listed on a channel whose component is not listed there.
        WITH miss AS (
            SELECT DISTINCT bs.code AS bundle, cs.code AS component, c.name AS channel
              FROM listings l JOIN skus bs ON bs.tenant_id = l.tenant_id AND bs.id = l.sku_id AND bs.kind = 'bundle'
              JOIN bundle_components bc ON bc.tenant_id = l.tenant_id AND bc.bundle_id = bs.id
              JOIN skus cs ON cs.tenant_id = bc.tenant_id AND cs.id = bc.component_id
              JOIN channel_connections c ON c.tenant_id = l.tenant_id AND c.id = l.connection_id
             WHERE l.tenant_id = p_tenant
               AND NOT EXISTS (SELECT 1 FROM listings l2 WHERE l2.tenant_id = l.tenant_id AND l2.sku_id = cs.id
                                  AND l2.connection_id = l.connection_id))
        SELECT count(*), coalesce(jsonb_agg(to_jsonb(miss) ORDER BY bundle, component, channel)
                                  FILTER (WHERE rn <= 20), '[]')
          INTO n, found FROM (SELECT miss.*, row_number() OVER (ORDER BY bundle, component, channel) AS rn FROM miss) miss;
        SELECT count(*) INTO checked FROM skus WHERE tenant_id = p_tenant AND kind = 'bundle' AND archived_at IS NULL;
        PERFORM finding_alert(p_tenant, NULL, 'bundle_component_unlisted', n,
                format('%s bundle component%s not listed where the bundle is: %s', n, CASE WHEN n = 1 THEN ' is' ELSE 's are' END,
                (SELECT string_agg(format('%s in %s on %s', f ->> 'component', f ->> 'bundle', f ->> 'channel'), '; ')
                   FROM jsonb_array_elements(found) f)));
        RETURN jsonb_build_object('bundles_checked', checked, 'unlisted_components', n, 'found', found);
    WHEN 'low_stock' THEN
        -- Days of cover: available units over the measured sales per day (all channels).
        days := coalesce((p_params ->> 'days_of_cover')::numeric, 7);
        units := (p_params ->> 'units')::bigint;
        WITH v AS (SELECT sku_id, sum(units_per_hour) * 24 AS per_day FROM sku_velocity WHERE tenant_id = p_tenant
                    GROUP BY sku_id),
        low AS (
            SELECT s.code, s.title, st.on_hand - st.committed - st.held AS available, round(v.per_day::numeric, 2) AS per_day,
                   CASE WHEN v.per_day > 0 THEN round(((st.on_hand - st.committed - st.held) / v.per_day)::numeric, 1) END
                       AS days_of_cover
              FROM skus s JOIN stock st ON st.tenant_id = s.tenant_id AND st.sku_id = s.id
              LEFT JOIN v ON v.sku_id = s.id
             WHERE s.tenant_id = p_tenant AND s.archived_at IS NULL
               AND ((v.per_day > 0 AND (st.on_hand - st.committed - st.held) / v.per_day < days)
                    OR (units IS NOT NULL AND st.on_hand - st.committed - st.held <= units)))
        SELECT count(*), coalesce(jsonb_agg(to_jsonb(low) - 'rn' ORDER BY days_of_cover NULLS LAST, code)
                                  FILTER (WHERE rn <= 20), '[]')
          INTO n, found FROM (SELECT low.*, row_number() OVER (ORDER BY days_of_cover NULLS LAST, code) AS rn FROM low) low;
        SELECT count(*) INTO checked FROM skus WHERE tenant_id = p_tenant AND archived_at IS NULL;
        PERFORM finding_alert(p_tenant, NULL, 'low_stock', n, format('%s SKU%s below %s days of cover: %s', n,
                CASE WHEN n = 1 THEN ' is' ELSE 's are' END, days,
                (SELECT string_agg(format('%s (%s days)', f ->> 'code', coalesce(f ->> 'days_of_cover', '?')), ', ')
                   FROM jsonb_array_elements(found) f)));
        RETURN jsonb_build_object('skus_checked', checked, 'low', n, 'days_of_cover', days, 'found', found);
    WHEN 'connection_health' THEN
        -- What the connection looks like now: status, circuit, failures in a row, last error, last good
        -- push, credentials' age.  Evidence only: the sync engine alerts on an open circuit and on stuck
        -- listings the moment they happen and resolves them when they heal; an hourly copy of those
        -- alerts would only lag behind them.
        SELECT jsonb_build_object('connection', c.name, 'status', c.status, 'circuit', coalesce(h.circuit, 'closed'),
                   'consecutive_failures', coalesce(h.consecutive_failures, 0), 'last_error', h.last_error,
                   'last_push_ok_at', h.last_push_ok_at, 'credentials_updated_at', c.credentials_updated_at),
               (c.status <> 'active' OR coalesce(h.circuit, 'closed') <> 'closed'
                OR coalesce(h.consecutive_failures, 0) >= 3)::int
          INTO found, n
          FROM channel_connections c LEFT JOIN connection_health h ON h.tenant_id = c.tenant_id AND h.connection_id = c.id
         WHERE c.tenant_id = p_tenant AND c.id = p_connection;
        IF found IS NULL THEN
            RETURN jsonb_build_object('checked', 0);
        END IF;
        RETURN jsonb_build_object('checked', 1, 'healthy', n = 0, 'seen', found);
    WHEN 'buffer_review' THEN
        -- The buffer advisor's review (sop_buffer_review, 0029: after the advisor of 0028).
        RETURN sop_buffer_review(p_tenant, p_params);
    ELSE
        RAISE EXCEPTION 'sop_action: no such action %', p_kind USING ERRCODE = '22023';
    END CASE;
END $$;

-- A new connection gets the SOP's per-connection routines (its brand's
-- effective SOP), and its health row.
CREATE OR REPLACE FUNCTION connection_routines() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM sop_apply(NEW.tenant_id);
    INSERT INTO connection_health (tenant_id, connection_id) VALUES (NEW.tenant_id, NEW.id) ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;

-- A new brand gets the SOP's brand routines (checklists, velocity, …):
-- the brand is made one of the transaction's tenants for the call.
CREATE FUNCTION brand_routines() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
    prev text := current_setting('app.tenant_id', true);
BEGIN
    PERFORM set_config('app.tenant_id', concat_ws(',', nullif(prev, ''), NEW.id::text), true);
    PERFORM sop_apply(NEW.id);
    PERFORM set_config('app.tenant_id', coalesce(prev, ''), true);
    RETURN NULL;
END $$;
CREATE TRIGGER brand_routines AFTER INSERT ON brands FOR EACH ROW EXECUTE FUNCTION brand_routines();

-- Every brand's routines made from the default SOP now (the rows 0006 made
-- keep their ids, history and next run; what the API changed becomes the
-- brand's override, so nothing anyone set is lost).
DO $$
DECLARE
    b record;
    ov jsonb;
BEGIN
    FOR b IN SELECT id, portfolio_id FROM brands ORDER BY id LOOP
        PERFORM set_config('app.tenant_id', b.id::text, true);
        SELECT coalesce(jsonb_agg(jsonb_strip_nulls(jsonb_build_object('key', r.step_key, 'connection_id', r.connection_id,
                   'every_s', CASE WHEN r.interval_seconds IS DISTINCT FROM (s ->> 'every_s')::int THEN r.interval_seconds END,
                   'enabled', CASE WHEN NOT r.enabled THEN false END)) ORDER BY r.step_key, r.connection_id), '[]')
          INTO ov
          FROM routines r JOIN jsonb_array_elements(sop_default() -> 'steps') s ON s ->> 'key' = r.step_key
         WHERE r.tenant_id = b.id AND (r.interval_seconds IS DISTINCT FROM (s ->> 'every_s')::int OR NOT r.enabled);
        IF jsonb_array_length(ov) > 0 THEN
            INSERT INTO sop_versions (portfolio_id, brand_id, version, document, reason)
            VALUES (b.portfolio_id, b.id, 1, jsonb_build_object('steps', ov),
                    'the routine settings changed before SOPs existed');
        END IF;
        PERFORM sop_apply(b.id);
    END LOOP;
    PERFORM set_config('app.tenant_id', '', true);
END $$;

GRANT EXECUTE ON FUNCTION sop_default(), sop_per_connection(text), sop_check(jsonb, boolean, jsonb, uuid, uuid),
    sop_current(uuid, uuid), sop_effective(uuid), routine_next(int, text, text, timestamptz), sop_apply(uuid),
    sop_version_json(sop_versions), sop_save(uuid, uuid, jsonb, uuid, uuid, text, int, int, text),
    sop_version_get(uuid, uuid, int), sop_restore(uuid, uuid, int, uuid, uuid, text, text),
    sop_doc_diff(jsonb, jsonb), sop_diff(uuid, uuid, int, int), sop_schedule(int, int, int), checklist_overdue(uuid),
    routine_missed(int, text, text, timestamptz, timestamptz), finding_alert(uuid, uuid, text, bigint, text),
    sop_action(uuid, text, uuid, jsonb), brand_routines() TO onecount_app;

-- A routine's cadence or on/off changed from the routine itself (PATCH
-- /routines/{id}): written as the brand's override of that step for that
-- connection, a new version like any other change.
CREATE FUNCTION sop_routine_set(p_tenant uuid, p_routine uuid, p_every_s int, p_enabled boolean, p_user uuid,
                                p_token uuid, p_request text) RETURNS boolean
    LANGUAGE plpgsql AS $$
DECLARE
    r routines;
    pid uuid := (SELECT portfolio_id FROM brands WHERE id = p_tenant);
    cur sop_versions;
    entry jsonb;
    steps jsonb;
BEGIN
    SELECT * INTO r FROM routines WHERE tenant_id = p_tenant AND id = p_routine;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    IF r.step_key IS NULL OR NOT r.in_sop THEN
        RAISE EXCEPTION 'this routine is no longer in the SOP' USING ERRCODE = 'OCSOC';
    END IF;
    cur := sop_current(pid, p_tenant);
    entry := jsonb_strip_nulls(jsonb_build_object('key', r.step_key, 'connection_id', r.connection_id));
    SELECT coalesce(jsonb_agg(x), '[]') INTO steps FROM jsonb_array_elements(cur.document -> 'steps') x
     WHERE NOT (x ->> 'key' = r.step_key AND x ->> 'connection_id' IS NOT DISTINCT FROM r.connection_id::text);
    entry := entry || coalesce((SELECT x - 'key' - 'connection_id' FROM jsonb_array_elements(cur.document -> 'steps') x
                                 WHERE x ->> 'key' = r.step_key
                                   AND x ->> 'connection_id' IS NOT DISTINCT FROM r.connection_id::text), '{}');
    IF p_every_s IS NOT NULL THEN
        entry := entry - 'cron' || jsonb_build_object('every_s', p_every_s);
    END IF;
    IF p_enabled IS NOT NULL THEN
        entry := entry || jsonb_build_object('enabled', p_enabled);
    END IF;
    PERFORM sop_save(pid, p_tenant, jsonb_set(cur.document, '{steps}', steps || entry), p_user, p_token,
                     format('routine %s%s changed: %s', coalesce(r.title, r.step_key),
                            coalesce(' on ' || (SELECT name FROM channel_connections WHERE tenant_id = p_tenant
                                                  AND id = r.connection_id), ''),
                            concat_ws(', ', 'every ' || p_every_s || ' s',
                                      CASE p_enabled WHEN true THEN 'turned on' WHEN false THEN 'turned off' END)),
                     NULL, NULL, p_request);
    PERFORM audit_write(p_tenant, NULL, p_user, p_token, 'routine.update', 'routine', p_routine::text,
        jsonb_build_object('before', jsonb_build_object('interval_seconds', r.interval_seconds, 'cron', r.cron,
                                                        'enabled', r.enabled),
                           'after', (SELECT jsonb_build_object('interval_seconds', x.interval_seconds, 'cron', x.cron,
                                                               'enabled', x.enabled)
                                       FROM routines x WHERE x.tenant_id = p_tenant AND x.id = p_routine)), p_request);
    RETURN true;
END $$;

-- A checklist item as the API shows it.
CREATE FUNCTION checklist_json(i checklist_items) RETURNS jsonb
    LANGUAGE sql STABLE AS $$
SELECT jsonb_build_object('id', i.id, 'brand_id', i.tenant_id, 'brand', (SELECT name FROM brands WHERE id = i.tenant_id),
    'routine_id', i.routine_id, 'step_key', i.step_key, 'title', i.title, 'instructions', i.instructions,
    'done_when', i.done_when, 'role', i.role, 'assignee', i.assignee,
    'assignee_name', (SELECT name FROM users WHERE id = i.assignee), 'opened_at', i.opened_at, 'due_at', i.due_at,
    'overdue', i.state = 'open' AND i.due_at <= now(), 'state', i.state, 'completed_by', i.completed_by,
    'completed_by_name', (SELECT name FROM users WHERE id = i.completed_by), 'completed_at', i.completed_at,
    'note', i.note)
$$;

-- Completes (done or skipped) an open item, with who and a note.
CREATE FUNCTION checklist_complete(p_tenant uuid, p_id uuid, p_state text, p_note text, p_user uuid, p_token uuid,
                                   p_request text) RETURNS jsonb
    LANGUAGE plpgsql AS $$
DECLARE
    i checklist_items;
BEGIN
    SELECT * INTO i FROM checklist_items WHERE tenant_id = p_tenant AND id = p_id FOR UPDATE;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    IF i.state <> 'open' THEN
        RAISE EXCEPTION 'this step was already % by % at %', CASE i.state WHEN 'done' THEN 'completed' ELSE 'skipped' END,
            coalesce((SELECT name FROM users WHERE id = i.completed_by), 'someone'), i.completed_at
            USING ERRCODE = 'OCSOC';
    END IF;
    UPDATE checklist_items SET state = p_state, note = p_note, completed_by = p_user, completed_at = now()
     WHERE tenant_id = p_tenant AND id = p_id RETURNING * INTO i;
    PERFORM checklist_overdue(p_tenant);
    PERFORM audit_write(p_tenant, NULL, p_user, p_token, 'checklist.' || p_state, 'checklist_item', p_id::text,
                        jsonb_build_object('title', i.title, 'note', p_note), p_request);
    RETURN checklist_json(i);
END $$;

-- Assigns an item to a member of the portfolio (NULL: to the step's role).
CREATE FUNCTION checklist_assign(p_tenant uuid, p_id uuid, p_assignee uuid, p_user uuid, p_token uuid, p_request text)
    RETURNS jsonb
    LANGUAGE plpgsql AS $$
DECLARE
    i checklist_items;
BEGIN
    IF p_assignee IS NOT NULL AND NOT EXISTS (
            SELECT 1 FROM users u JOIN memberships m ON m.user_id = u.id JOIN brands b ON b.portfolio_id = m.portfolio_id
             WHERE u.id = p_assignee AND u.disabled_at IS NULL AND b.id = p_tenant
               AND (m.brand_id IS NULL OR m.brand_id = p_tenant)) THEN
        RAISE EXCEPTION 'the assignee is not an active member of this brand' USING ERRCODE = 'OCSOV',
            DETAIL = '[{"field": "user_id", "message": "the assignee is not an active member of this brand"}]';
    END IF;
    UPDATE checklist_items SET assignee = p_assignee WHERE tenant_id = p_tenant AND id = p_id RETURNING * INTO i;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    PERFORM audit_write(p_tenant, NULL, p_user, p_token, 'checklist.assign', 'checklist_item', p_id::text,
                        jsonb_build_object('title', i.title, 'assignee', p_assignee), p_request);
    RETURN checklist_json(i);
END $$;

-- Hand-over in one action: every step of the portfolio's SOP and of its
-- brands' overrides assigned to p_from goes to p_to (new versions, the
-- reason saying so), and so does every open checklist item.  The caller's
-- tenants are every brand of the portfolio.
CREATE FUNCTION sop_handover(p_portfolio uuid, p_from uuid, p_to uuid, p_reason text, p_user uuid, p_token uuid,
                             p_request text) RETURNS jsonb
    LANGUAGE plpgsql AS $$
DECLARE
    v sop_versions;
    doc jsonb;
    steps_moved int := 0;
    items_moved int;
    why text;
BEGIN
    IF p_from = p_to THEN
        RAISE EXCEPTION 'hand over to someone else' USING ERRCODE = 'OCSOV',
            DETAIL = '[{"field": "to_user_id", "message": "hand over to someone else"}]';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM users u JOIN memberships m ON m.user_id = u.id
                    WHERE u.id = p_to AND u.disabled_at IS NULL AND m.portfolio_id = p_portfolio) THEN
        RAISE EXCEPTION 'the new owner is not an active member of this portfolio' USING ERRCODE = 'OCSOV',
            DETAIL = '[{"field": "to_user_id", "message": "the new owner is not an active member of this portfolio"}]';
    END IF;
    why := format('hand-over from %s to %s%s', coalesce((SELECT name FROM users WHERE id = p_from), p_from::text),
                  (SELECT name FROM users WHERE id = p_to), coalesce(': ' || p_reason, ''));
    FOR v IN SELECT DISTINCT ON (coalesce(brand_id, '00000000-0000-0000-0000-000000000000')) *
               FROM sop_versions WHERE portfolio_id = p_portfolio
              ORDER BY coalesce(brand_id, '00000000-0000-0000-0000-000000000000'), version DESC LOOP
        SELECT jsonb_set(v.document, '{steps}', coalesce(jsonb_agg(
                   CASE WHEN x #>> '{checklist,assignee}' = p_from::text
                        THEN jsonb_set(x, '{checklist,assignee}', to_jsonb(p_to::text)) ELSE x END
                   ORDER BY n), '[]')),
               count(*) FILTER (WHERE x #>> '{checklist,assignee}' = p_from::text)
          INTO doc, items_moved FROM jsonb_array_elements(v.document -> 'steps') WITH ORDINALITY s(x, n);
        IF items_moved > 0 THEN
            PERFORM sop_save(p_portfolio, v.brand_id, doc, p_user, p_token, why, v.version, NULL, p_request);
            steps_moved := steps_moved + items_moved;
        END IF;
    END LOOP;
    WITH m AS (UPDATE checklist_items SET assignee = p_to
                WHERE tenant_id = ANY ((SELECT current_tenants())::uuid[]) AND state = 'open' AND assignee = p_from
               RETURNING 1)
    SELECT count(*) INTO items_moved FROM m;
    PERFORM audit_write(NULL, p_portfolio, p_user, p_token, 'sop.handover', 'user', p_from::text,
                        jsonb_build_object('to', p_to, 'steps', steps_moved, 'open_items', items_moved,
                                           'reason', p_reason), p_request);
    RETURN jsonb_build_object('from_user_id', p_from, 'to_user_id', p_to, 'steps', steps_moved,
                              'open_items', items_moved);
END $$;

GRANT EXECUTE ON FUNCTION sop_routine_set(uuid, uuid, int, boolean, uuid, uuid, text), checklist_json(checklist_items),
    checklist_complete(uuid, uuid, text, text, uuid, uuid, text), checklist_assign(uuid, uuid, uuid, uuid, uuid, text),
    sop_handover(uuid, uuid, uuid, text, uuid, uuid, text) TO onecount_app;
