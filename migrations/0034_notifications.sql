-- 0034_notifications.sql — notifications (issue 14): outbound webhooks per
-- portfolio, e-mail through an SMTP relay, and each person's preferences.
--
-- The source.  notify_event(brand, event, kind, severity, title, payload) is
-- the one way an event becomes notifications: called inside the transaction
-- that opened (or resolved) the thing, it adds one outbox row per matching
-- active webhook endpoint and per person who asked for immediate e-mail, and
-- one digest item per person who asked for a daily digest — so the
-- notifications commit, or roll back, with the event.  Until the exception
-- queue (0033) calls it, an AFTER INSERT trigger on alerts does
-- ('alert.opened', the alert's kind, 'warning').
--
-- Who receives what.  An endpoint takes the events of the brands it names
-- (brand_ids; NULL = every brand of its portfolio) and kinds it names
-- (kinds; NULL = every kind).  A person receives only events of brands they
-- can see — a portfolio admin every brand of the portfolio, anyone else the
-- brands they are a member of — intersected with their own brand_ids and
-- kinds; a disabled account receives nothing.
--
-- The outbox (notify_outbox) is what the worker delivers: claimed FOR UPDATE
-- SKIP LOCKED under a lease (two workers never send one row at once), sent,
-- finished (notify_finish) as delivered, retried after 10 s, 30 s, 2 min,
-- 10 min and 1 h, or failed after the sixth attempt.  Each attempt is a row
-- of notify_attempts (the delivery log).  A worker that dies mid-send leaves
-- the lease to expire and the row is sent again: delivery is at least once,
-- and receivers dedupe on the delivery id (X-Onecount-Delivery).
--
-- Secrets.  An endpoint's signing secret and an invitation e-mail's text
-- (it carries the invitation token) are sealed with the vault (tenants/vault.h)
-- under a data key of their own, wrapped by the key-encryption key with
-- additional data naming the row: the database never holds them in clear.
--
-- Digests.  A person in digest mode gets one e-mail a day, at digest_hour in
-- their time zone (default: the zone of the portfolio's first brand):
-- notify_digest_run, called by the worker, composes it from the items
-- gathered since and marks the day done.
--
-- These are directory tables (they name portfolios and people, not inventory):
-- no row-level security; the API enforces the portfolio wall.

CREATE TABLE webhook_endpoints (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    portfolio_id uuid NOT NULL REFERENCES portfolios (id),
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    url text NOT NULL CHECK (url ~ '^https?://[^/?#@\s]+' AND length(url) <= 2000),
    kinds text[],
    brand_ids uuid[],
    active boolean NOT NULL DEFAULT true,
    key_version int NOT NULL,
    key_wrapped bytea NOT NULL,
    secret_sealed bytea NOT NULL,
    created_by uuid,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_endpoints_portfolio ON webhook_endpoints (portfolio_id, created_at);
GRANT SELECT, INSERT, UPDATE, DELETE ON webhook_endpoints TO onecount_app;

CREATE TABLE notify_prefs (
    user_id uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    portfolio_id uuid NOT NULL REFERENCES portfolios (id),
    email text NOT NULL DEFAULT 'off' CHECK (email IN ('off', 'immediate', 'digest')),
    kinds text[],
    brand_ids uuid[],
    digest_hour int NOT NULL DEFAULT 8 CHECK (digest_hour BETWEEN 0 AND 23),
    timezone text,
    last_digest_on date,
    updated_at timestamptz NOT NULL DEFAULT now()
);
-- notify_event reads the people of a portfolio who asked for e-mail; the digest run those in digest mode.
CREATE INDEX notify_prefs_on ON notify_prefs (portfolio_id) WHERE email <> 'off';
CREATE INDEX notify_prefs_digest ON notify_prefs (last_digest_on) WHERE email = 'digest';
GRANT SELECT, INSERT, UPDATE ON notify_prefs TO onecount_app;

CREATE TABLE notify_outbox (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    portfolio_id uuid NOT NULL REFERENCES portfolios (id),
    channel text NOT NULL CHECK (channel IN ('webhook', 'email')),
    endpoint_id uuid REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    user_id uuid REFERENCES users (id) ON DELETE CASCADE,
    rcpt text,
    brand_id uuid,
    event text NOT NULL,
    kind text,
    severity text,
    subject text,
    body text,
    key_version int,
    key_wrapped bytea,
    body_sealed bytea,
    state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts int NOT NULL DEFAULT 0,
    max_attempts int NOT NULL DEFAULT 6,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    lease_owner text,
    lease_until timestamptz,
    last_status int,
    last_error text,
    last_duration_ms int,
    created_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    CHECK ((channel = 'webhook') = (endpoint_id IS NOT NULL)),
    CHECK (channel = 'webhook' OR rcpt IS NOT NULL),
    CHECK (body IS NOT NULL OR body_sealed IS NOT NULL)
);
CREATE INDEX notify_outbox_due ON notify_outbox (next_attempt_at) WHERE state = 'pending';
CREATE INDEX notify_outbox_endpoint ON notify_outbox (endpoint_id, created_at DESC) WHERE endpoint_id IS NOT NULL;
CREATE INDEX notify_outbox_portfolio ON notify_outbox (portfolio_id, created_at DESC);
GRANT SELECT, INSERT ON notify_outbox TO onecount_app;
-- `onecount admin rotate-key` rewraps a sealed e-mail's data key
GRANT UPDATE (key_version, key_wrapped) ON notify_outbox TO onecount_app;

CREATE TABLE notify_attempts (
    outbox_id uuid NOT NULL REFERENCES notify_outbox (id) ON DELETE CASCADE,
    n int NOT NULL,
    at timestamptz NOT NULL DEFAULT now(),
    status_code int,
    duration_ms int,
    error text,
    PRIMARY KEY (outbox_id, n)
);
GRANT SELECT ON notify_attempts TO onecount_app;

CREATE TABLE notify_digest_items (
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    id bigint GENERATED ALWAYS AS IDENTITY,
    brand_id uuid NOT NULL,
    event text NOT NULL,
    kind text,
    severity text,
    title text NOT NULL,
    at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, id)
);
GRANT SELECT ON notify_digest_items TO onecount_app;

-- The retry schedule: the wait after attempt n (1-based) failed.
CREATE FUNCTION notify_backoff(p_attempt int) RETURNS interval
    LANGUAGE sql IMMUTABLE AS $$
SELECT (ARRAY[interval '10 seconds', interval '30 seconds', interval '2 minutes', interval '10 minutes',
              interval '1 hour'])[least(greatest(p_attempt, 1), 5)]
$$;
GRANT EXECUTE ON FUNCTION notify_backoff(int) TO onecount_app;

-- What a webhook receives: the exact bytes signed.
CREATE FUNCTION notify_webhook_body(p_id uuid, p_event text, p_portfolio uuid, p_brand uuid, p_brand_name text,
                                    p_kind text, p_severity text, p_title text, p_payload jsonb) RETURNS text
    LANGUAGE sql STABLE AS $$
SELECT jsonb_build_object('id', p_id, 'event', p_event, 'created_at', now(), 'portfolio_id', p_portfolio,
                          'brand', CASE WHEN p_brand IS NULL THEN NULL
                                        ELSE jsonb_build_object('id', p_brand, 'name', p_brand_name) END,
                          'kind', p_kind, 'severity', p_severity, 'title', p_title,
                          'payload', coalesce(p_payload, '{}'))::text
$$;

CREATE FUNCTION notify_event(p_tenant uuid, p_event text, p_kind text, p_severity text, p_title text,
                             p_payload jsonb) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    b brands%ROWTYPE;
BEGIN
    SELECT * INTO b FROM brands WHERE id = p_tenant;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    INSERT INTO notify_outbox (id, portfolio_id, channel, endpoint_id, brand_id, event, kind, severity, body)
    SELECT x.id, b.portfolio_id, 'webhook', e.id, b.id, p_event, p_kind, p_severity,
           notify_webhook_body(x.id, p_event, b.portfolio_id, b.id, b.name, p_kind, p_severity, p_title, p_payload)
      FROM webhook_endpoints e CROSS JOIN LATERAL (SELECT gen_random_uuid() AS id) x
     WHERE e.portfolio_id = b.portfolio_id AND e.active
       AND (e.brand_ids IS NULL OR b.id = ANY (e.brand_ids))
       AND (e.kinds IS NULL OR p_kind = ANY (e.kinds));
    -- People: those who can see the brand and asked for this brand and kind.
    WITH who AS MATERIALIZED (
        SELECT u.id, u.email, p.email AS mode
          FROM notify_prefs p JOIN users u ON u.id = p.user_id
         WHERE p.portfolio_id = b.portfolio_id AND p.email <> 'off' AND u.disabled_at IS NULL
           AND (p.brand_ids IS NULL OR b.id = ANY (p.brand_ids))
           AND (p.kinds IS NULL OR p_kind = ANY (p.kinds))
           AND EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = u.id AND m.portfolio_id = b.portfolio_id
                         AND (m.brand_id IS NULL OR m.brand_id = b.id))),
    mail AS (
        INSERT INTO notify_outbox (portfolio_id, channel, user_id, rcpt, brand_id, event, kind, severity, subject, body)
        SELECT b.portfolio_id, 'email', w.id, w.email, b.id, p_event, p_kind, p_severity,
               left(format('[onecount] %s: %s', b.name, p_title), 250),
               format(E'%s\n\nBrand: %s\nWhat: %s\nKind: %s\nSeverity: %s\nWhen: %s (%s)\n\n'
                      'You receive this because of your notification settings in onecount.\n',
                      p_title, b.name, notify_event_words(p_event), coalesce(p_kind, '-'), coalesce(p_severity, '-'),
                      to_char(now() AT TIME ZONE b.timezone, 'YYYY-MM-DD HH24:MI'), b.timezone)
          FROM who w WHERE w.mode = 'immediate'
        RETURNING 1)
    INSERT INTO notify_digest_items (user_id, brand_id, event, kind, severity, title)
    SELECT w.id, b.id, p_event, p_kind, p_severity, left(p_title, 500) FROM who w WHERE w.mode = 'digest';
    -- The worker wakes at commit (a rolled-back event wakes nobody); identical notifications fold into one.
    PERFORM pg_notify('oc_notify', '');
END $$;

CREATE FUNCTION notify_event_words(p_event text) RETURNS text
    LANGUAGE sql IMMUTABLE AS $$
SELECT CASE p_event WHEN 'exception.opened' THEN 'an exception opened'
                    WHEN 'exception.resolved' THEN 'an exception was resolved'
                    WHEN 'alert.opened' THEN 'an alert opened'
                    WHEN 'alert.resolved' THEN 'an alert was resolved'
                    WHEN 'test' THEN 'a test'
                    ELSE p_event END
$$;
GRANT EXECUTE ON FUNCTION notify_event_words(text) TO onecount_app;

REVOKE ALL ON FUNCTION notify_event(uuid, text, text, text, text, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION notify_event(uuid, text, text, text, text, jsonb) TO onecount_app;

-- The event source until the exception queue: every alert that opens.
CREATE FUNCTION alerts_notify() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM notify_event(NEW.tenant_id, 'alert.opened', NEW.kind, 'warning', NEW.message,
                         jsonb_build_object('alert_id', NEW.id::text, 'connection_id', NEW.connection_id,
                                            'opened_at', NEW.opened_at));
    RETURN NULL;
END $$;
CREATE TRIGGER alerts_notify AFTER INSERT ON alerts FOR EACH ROW EXECUTE FUNCTION alerts_notify();

-- A test delivery to one endpoint (the console's "send test").
CREATE FUNCTION notify_webhook_test(p_portfolio uuid, p_endpoint uuid) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    x uuid := gen_random_uuid();
    e webhook_endpoints%ROWTYPE;
BEGIN
    SELECT * INTO e FROM webhook_endpoints WHERE id = p_endpoint AND portfolio_id = p_portfolio;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    INSERT INTO notify_outbox (id, portfolio_id, channel, endpoint_id, event, kind, severity, body)
    VALUES (x, p_portfolio, 'webhook', e.id, 'test', 'test', 'info',
            notify_webhook_body(x, 'test', p_portfolio, NULL, NULL, 'test', 'info',
                                'A test delivery from onecount', jsonb_build_object('endpoint', e.name)));
    PERFORM pg_notify('oc_notify', '');
    RETURN notify_delivery_json(x);
END $$;

-- An e-mail from the API (an invitation: its text sealed, it carries the token); queued only when the
-- invitation p_invitation was made by the same transaction (an insert refused makes no e-mail).
CREATE FUNCTION notify_email_sealed(p_id uuid, p_portfolio uuid, p_invitation uuid, p_rcpt text, p_event text,
                                    p_subject text, p_key_version int, p_key_wrapped text, p_sealed text)
    RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM invitations i WHERE i.id = p_invitation AND i.portfolio_id = p_portfolio
                     AND i.accepted_at IS NULL AND i.revoked_at IS NULL) THEN
        RETURN false;
    END IF;
    INSERT INTO notify_outbox (id, portfolio_id, channel, rcpt, event, subject, key_version, key_wrapped, body_sealed)
    VALUES (p_id, p_portfolio, 'email', p_rcpt, p_event, p_subject, p_key_version, decode(p_key_wrapped, 'base64'),
            decode(p_sealed, 'base64'));
    PERFORM pg_notify('oc_notify', '');
    RETURN true;
END $$;

CREATE FUNCTION notify_delivery_json(p_id uuid) RETURNS jsonb
    LANGUAGE sql STABLE AS $$
SELECT jsonb_build_object('id', o.id, 'event', o.event, 'kind', o.kind, 'severity', o.severity,
           'brand_id', o.brand_id, 'brand', (SELECT name FROM brands WHERE id = o.brand_id),
           'state', o.state, 'attempts', o.attempts, 'max_attempts', o.max_attempts,
           'next_attempt_at', CASE WHEN o.state = 'pending' THEN o.next_attempt_at END,
           'last_status', o.last_status, 'last_error', o.last_error, 'last_duration_ms', o.last_duration_ms,
           'created_at', o.created_at, 'finished_at', o.finished_at,
           'log', coalesce((SELECT jsonb_agg(jsonb_build_object('n', a.n, 'at', a.at, 'status_code', a.status_code,
                                                                'duration_ms', a.duration_ms, 'error', a.error)
                                             ORDER BY a.n)
                              FROM notify_attempts a WHERE a.outbox_id = o.id), '[]'))
  FROM notify_outbox o WHERE o.id = p_id
$$;
GRANT EXECUTE ON FUNCTION notify_delivery_json(uuid) TO onecount_app;

REVOKE ALL ON FUNCTION notify_webhook_test(uuid, uuid),
    notify_email_sealed(uuid, uuid, uuid, text, text, text, int, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION notify_webhook_test(uuid, uuid),
    notify_email_sealed(uuid, uuid, uuid, text, text, text, int, text, text) TO onecount_app;

-- The worker's side.  Claims up to p_limit due rows under a lease; rows of an
-- endpoint turned off or deleted meanwhile end as failed, unsent.
CREATE FUNCTION notify_claim(p_owner text, p_lease_s int, p_limit int)
    RETURNS TABLE (id uuid, channel text, url text, rcpt text, event text, subject text, body text,
                   key_version int, key_wrapped text, sealed text, attempt int, seal_owner uuid)
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
#variable_conflict use_column
BEGIN
    UPDATE notify_outbox o SET state = 'failed', finished_at = now(), last_error = 'the endpoint was turned off'
      FROM webhook_endpoints e
     WHERE o.state = 'pending' AND o.next_attempt_at <= now() AND e.id = o.endpoint_id AND NOT e.active;
    RETURN QUERY
    WITH c AS (
        UPDATE notify_outbox o SET lease_owner = p_owner, lease_until = now() + p_lease_s * interval '1 second',
               attempts = o.attempts + 1
         WHERE o.id IN (SELECT q.id FROM notify_outbox q
                         WHERE q.state = 'pending' AND q.next_attempt_at <= now()
                           AND (q.lease_until IS NULL OR q.lease_until < now())
                         ORDER BY q.next_attempt_at LIMIT p_limit FOR UPDATE SKIP LOCKED)
        RETURNING o.*)
    SELECT c.id, c.channel, e.url, c.rcpt, c.event, c.subject, c.body,
           coalesce(c.key_version, e.key_version), encode(coalesce(c.key_wrapped, e.key_wrapped), 'base64'),
           encode(coalesce(c.body_sealed, e.secret_sealed), 'base64'), c.attempts,
           CASE WHEN c.body_sealed IS NOT NULL THEN c.id ELSE e.id END
      FROM c LEFT JOIN webhook_endpoints e ON e.id = c.endpoint_id;
END $$;

-- Records one attempt: delivered, retried later, or failed after the last.
CREATE FUNCTION notify_finish(p_id uuid, p_owner text, p_ok boolean, p_status int, p_duration_ms int, p_error text)
    RETURNS text
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    o notify_outbox%ROWTYPE;
BEGIN
    SELECT * INTO o FROM notify_outbox WHERE notify_outbox.id = p_id FOR UPDATE;
    IF NOT FOUND OR o.lease_owner IS DISTINCT FROM p_owner OR o.state <> 'pending' THEN
        RETURN NULL;
    END IF;
    INSERT INTO notify_attempts (outbox_id, n, status_code, duration_ms, error)
    VALUES (p_id, o.attempts, p_status, p_duration_ms, left(p_error, 500))
    ON CONFLICT (outbox_id, n) DO UPDATE SET at = now(), status_code = EXCLUDED.status_code,
        duration_ms = EXCLUDED.duration_ms, error = EXCLUDED.error;
    UPDATE notify_outbox SET
           state = CASE WHEN p_ok THEN 'delivered' WHEN o.attempts >= o.max_attempts THEN 'failed' ELSE 'pending' END,
           finished_at = CASE WHEN p_ok OR o.attempts >= o.max_attempts THEN now() END,
           next_attempt_at = CASE WHEN p_ok OR o.attempts >= o.max_attempts THEN next_attempt_at
                                  ELSE now() + notify_backoff(o.attempts) END,
           lease_owner = NULL, lease_until = NULL,
           last_status = p_status, last_error = left(p_error, 500), last_duration_ms = p_duration_ms,
           -- a delivered invitation's text (it holds the token) is kept no longer than needed
           body_sealed = CASE WHEN p_ok OR o.attempts >= o.max_attempts THEN NULL ELSE body_sealed END,
           body = CASE WHEN o.body_sealed IS NOT NULL AND (p_ok OR o.attempts >= o.max_attempts)
                       THEN '(sealed text discarded after delivery)' ELSE body END
     WHERE notify_outbox.id = p_id
    RETURNING state INTO o.state;
    RETURN o.state;
END $$;

-- Composes the daily digests due now (at most p_limit people); returns how many e-mails it queued.
CREATE FUNCTION notify_digest_run(p_limit int) RETURNS int
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    n int := 0;
BEGIN
    WITH due AS MATERIALIZED (
        SELECT p.user_id, p.portfolio_id, u.email AS rcpt, z.tz, (now() AT TIME ZONE z.tz)::date AS today
          FROM notify_prefs p JOIN users u ON u.id = p.user_id
          CROSS JOIN LATERAL (SELECT coalesce(p.timezone, (SELECT b.timezone FROM brands b
                                   WHERE b.portfolio_id = p.portfolio_id ORDER BY b.created_at, b.id LIMIT 1), 'UTC')
                                 AS tz) z
         WHERE p.email = 'digest' AND u.disabled_at IS NULL
           AND extract(hour FROM now() AT TIME ZONE z.tz) >= p.digest_hour
           AND (p.last_digest_on IS NULL OR p.last_digest_on < (now() AT TIME ZONE z.tz)::date)
         ORDER BY p.user_id LIMIT p_limit
           FOR UPDATE OF p SKIP LOCKED),
    marked AS (
        UPDATE notify_prefs p SET last_digest_on = d.today FROM due d WHERE p.user_id = d.user_id RETURNING 1),
    items AS (
        DELETE FROM notify_digest_items i USING due d WHERE i.user_id = d.user_id
        RETURNING i.user_id, i.brand_id, i.event, i.kind, i.severity, i.title, i.at),
    mails AS (
        INSERT INTO notify_outbox (portfolio_id, channel, user_id, rcpt, event, subject, body)
        SELECT d.portfolio_id, 'email', d.user_id, d.rcpt, 'digest',
               format('[onecount] Your daily digest: %s notification%s', count(*),
                      CASE WHEN count(*) = 1 THEN '' ELSE 's' END),
               format(E'Your onecount digest for %s (%s).\n\n', d.today, d.tz)
               || string_agg(format('- %s  %s: %s (%s, %s)', to_char(i.at AT TIME ZONE d.tz, 'YYYY-MM-DD HH24:MI'),
                                    coalesce((SELECT b.name FROM brands b WHERE b.id = i.brand_id), '?'), i.title,
                                    coalesce(i.kind, '-'), coalesce(i.severity, '-')), E'\n' ORDER BY i.at)
               || E'\n\nYou receive this because of your notification settings in onecount.\n'
          FROM due d JOIN items i ON i.user_id = d.user_id
         GROUP BY d.portfolio_id, d.user_id, d.rcpt, d.today, d.tz
        RETURNING 1)
    SELECT count(*) INTO n FROM mails, (SELECT count(*) FROM marked) m;
    RETURN n;
END $$;

REVOKE ALL ON FUNCTION notify_claim(text, int, int), notify_finish(uuid, text, boolean, int, int, text),
    notify_digest_run(int) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION notify_claim(text, int, int), notify_finish(uuid, text, boolean, int, int, text),
    notify_digest_run(int) TO onecount_app;

-- --- the API's side ------------------------------------------------------------
-- Refusals: OCNTV an unsound input (DETAIL: every problem, [{field, message}]),
-- OCNTN no such endpoint in the portfolio.

CREATE FUNCTION webhook_endpoint_json(e webhook_endpoints) RETURNS jsonb
    LANGUAGE sql STABLE AS $$
SELECT jsonb_build_object('id', e.id, 'name', e.name, 'url', e.url, 'kinds', to_jsonb(e.kinds),
           'brand_ids', to_jsonb(e.brand_ids),
           'brands', CASE WHEN e.brand_ids IS NOT NULL THEN
               (SELECT coalesce(jsonb_agg(jsonb_build_object('id', b.id, 'name', b.name) ORDER BY b.name), '[]')
                  FROM brands b WHERE b.id = ANY (e.brand_ids)) END,
           'active', e.active, 'created_at', e.created_at, 'updated_at', e.updated_at,
           'last_delivery', (SELECT jsonb_build_object('id', o.id, 'event', o.event, 'state', o.state,
                                                       'created_at', o.created_at, 'last_status', o.last_status)
                               FROM notify_outbox o WHERE o.endpoint_id = e.id ORDER BY o.created_at DESC LIMIT 1))
$$;
GRANT EXECUTE ON FUNCTION webhook_endpoint_json(webhook_endpoints) TO onecount_app;

-- Every problem of brand ids and kinds at once; raises OCNTV when there is one.
CREATE FUNCTION notify_check_scope(p_portfolio uuid, p_in jsonb) RETURNS void
    LANGUAGE plpgsql STABLE AS $$
DECLARE
    problems jsonb;
BEGIN
    SELECT jsonb_agg(jsonb_build_object('field', format('brand_ids[%s]', x.i - 1),
                                        'message', 'not a brand of this portfolio') ORDER BY x.i)
      INTO problems
      FROM jsonb_array_elements_text(CASE WHEN jsonb_typeof(p_in -> 'brand_ids') = 'array' THEN p_in -> 'brand_ids'
                                          ELSE '[]' END) WITH ORDINALITY x(v, i)
     WHERE NOT EXISTS (SELECT 1 FROM brands b WHERE b.id::text = x.v AND b.portfolio_id = p_portfolio);
    IF problems IS NOT NULL THEN
        RAISE EXCEPTION 'not a brand of this portfolio' USING ERRCODE = 'OCNTV', DETAIL = problems::text;
    END IF;
END $$;

CREATE FUNCTION notify_text_array(p jsonb) RETURNS text[]
    LANGUAGE sql IMMUTABLE AS $$
SELECT CASE WHEN jsonb_typeof(p) = 'array' THEN ARRAY(SELECT DISTINCT jsonb_array_elements_text(p) ORDER BY 1) END
$$;

-- Creates (p_id new) or changes an endpoint: the members p_in has (name, url, kinds, brand_ids, active; kinds and
-- brand_ids null = all), and a new secret when p_sealed is given.
CREATE FUNCTION webhook_endpoint_save(p_portfolio uuid, p_id uuid, p_create boolean, p_in jsonb, p_key_version int,
                                      p_wrapped text, p_sealed text, p_user uuid, p_token uuid, p_request_id text)
    RETURNS jsonb
    LANGUAGE plpgsql AS $$
DECLARE
    e webhook_endpoints%ROWTYPE;
BEGIN
    PERFORM notify_check_scope(p_portfolio, p_in);
    IF p_create THEN
        INSERT INTO webhook_endpoints (id, portfolio_id, name, url, kinds, brand_ids, active, key_version,
                                       key_wrapped, secret_sealed, created_by)
        VALUES (p_id, p_portfolio, p_in ->> 'name', p_in ->> 'url', notify_text_array(p_in -> 'kinds'),
                notify_text_array(p_in -> 'brand_ids')::uuid[], coalesce((p_in ->> 'active')::boolean, true),
                p_key_version, decode(p_wrapped, 'base64'), decode(p_sealed, 'base64'), p_user)
        RETURNING * INTO e;
    ELSE
        UPDATE webhook_endpoints w SET
               name = coalesce(p_in ->> 'name', w.name),
               url = coalesce(p_in ->> 'url', w.url),
               kinds = CASE WHEN p_in ? 'kinds' THEN notify_text_array(p_in -> 'kinds') ELSE w.kinds END,
               brand_ids = CASE WHEN p_in ? 'brand_ids' THEN notify_text_array(p_in -> 'brand_ids')::uuid[]
                                ELSE w.brand_ids END,
               active = coalesce((p_in ->> 'active')::boolean, w.active),
               key_version = coalesce(p_key_version, w.key_version),
               key_wrapped = coalesce(decode(p_wrapped, 'base64'), w.key_wrapped),
               secret_sealed = coalesce(decode(p_sealed, 'base64'), w.secret_sealed),
               updated_at = now()
         WHERE w.id = p_id AND w.portfolio_id = p_portfolio
        RETURNING * INTO e;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'no such webhook endpoint' USING ERRCODE = 'OCNTN';
        END IF;
    END IF;
    PERFORM audit_write(NULL, p_portfolio, p_user, p_token,
                        CASE WHEN p_create THEN 'webhook.create' WHEN p_sealed IS NOT NULL THEN 'webhook.rotate'
                             ELSE 'webhook.update' END,
                        'webhook', e.id::text, jsonb_build_object('name', e.name, 'url', e.url), p_request_id);
    RETURN webhook_endpoint_json(e);
END $$;
GRANT EXECUTE ON FUNCTION webhook_endpoint_save(uuid, uuid, boolean, jsonb, int, text, text, uuid, uuid, text)
    TO onecount_app;

CREATE FUNCTION webhook_endpoint_delete(p_portfolio uuid, p_id uuid, p_user uuid, p_token uuid, p_request_id text)
    RETURNS jsonb
    LANGUAGE plpgsql AS $$
DECLARE
    e webhook_endpoints%ROWTYPE;
BEGIN
    DELETE FROM webhook_endpoints w WHERE w.id = p_id AND w.portfolio_id = p_portfolio RETURNING * INTO e;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no such webhook endpoint' USING ERRCODE = 'OCNTN';
    END IF;
    PERFORM audit_write(NULL, p_portfolio, p_user, p_token, 'webhook.delete', 'webhook', e.id::text,
                        jsonb_build_object('name', e.name, 'url', e.url), p_request_id);
    RETURN jsonb_build_object('id', e.id, 'deleted', true);
END $$;
GRANT EXECUTE ON FUNCTION webhook_endpoint_delete(uuid, uuid, uuid, uuid, text) TO onecount_app;

-- A person's preferences as the API shows them (defaults when never saved).
CREATE FUNCTION notify_prefs_json(p_portfolio uuid, p_user uuid) RETURNS jsonb
    LANGUAGE sql STABLE AS $$
SELECT jsonb_build_object('email_mode', coalesce(p.email, 'off'), 'kinds', to_jsonb(p.kinds),
           'brand_ids', to_jsonb(p.brand_ids), 'digest_hour', coalesce(p.digest_hour, 8),
           'timezone', coalesce(p.timezone, (SELECT b.timezone FROM brands b WHERE b.portfolio_id = p_portfolio
                                              ORDER BY b.created_at, b.id LIMIT 1), 'UTC'),
           'timezone_set', p.timezone IS NOT NULL,
           'last_digest_on', p.last_digest_on, 'address', u.email,
           'digest_pending', (SELECT count(*) FROM notify_digest_items i WHERE i.user_id = p_user),
           'updated_at', p.updated_at)
  FROM users u LEFT JOIN notify_prefs p ON p.user_id = u.id
 WHERE u.id = p_user AND u.portfolio_id = p_portfolio
$$;
GRANT EXECUTE ON FUNCTION notify_prefs_json(uuid, uuid) TO onecount_app;

CREATE FUNCTION notify_prefs_save(p_portfolio uuid, p_user uuid, p_in jsonb) RETURNS jsonb
    LANGUAGE plpgsql AS $$
DECLARE
    problems jsonb := '[]';
BEGIN
    BEGIN
        PERFORM notify_check_scope(p_portfolio, p_in);
    EXCEPTION WHEN SQLSTATE 'OCNTV' THEN
        GET STACKED DIAGNOSTICS problems = PG_EXCEPTION_DETAIL;
    END;
    IF p_in ? 'timezone' AND jsonb_typeof(p_in -> 'timezone') = 'string'
       AND NOT EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = p_in ->> 'timezone') THEN
        problems := problems || jsonb_build_array(jsonb_build_object('field', 'timezone',
                                                                     'message', 'not a time zone (e.g. Europe/Berlin)'));
    END IF;
    IF jsonb_array_length(problems) > 0 THEN
        RAISE EXCEPTION '%', problems -> 0 ->> 'message' USING ERRCODE = 'OCNTV', DETAIL = problems::text;
    END IF;
    INSERT INTO notify_prefs AS p (user_id, portfolio_id, email, kinds, brand_ids, digest_hour, timezone)
    VALUES (p_user, p_portfolio, coalesce(p_in ->> 'email_mode', 'off'), notify_text_array(p_in -> 'kinds'),
            notify_text_array(p_in -> 'brand_ids')::uuid[], coalesce((p_in ->> 'digest_hour')::int, 8),
            p_in ->> 'timezone')
    ON CONFLICT (user_id) DO UPDATE SET
        email = coalesce(p_in ->> 'email_mode', p.email),
        kinds = CASE WHEN p_in ? 'kinds' THEN notify_text_array(p_in -> 'kinds') ELSE p.kinds END,
        brand_ids = CASE WHEN p_in ? 'brand_ids' THEN notify_text_array(p_in -> 'brand_ids')::uuid[]
                         ELSE p.brand_ids END,
        digest_hour = coalesce((p_in ->> 'digest_hour')::int, p.digest_hour),
        timezone = CASE WHEN p_in ? 'timezone' THEN p_in ->> 'timezone' ELSE p.timezone END,
        updated_at = now();
    RETURN notify_prefs_json(p_portfolio, p_user);
END $$;
GRANT EXECUTE ON FUNCTION notify_prefs_save(uuid, uuid, jsonb) TO onecount_app;

-- Retention: deliveries that ended (delivered or failed) longer ago than p_keep_s go, with their attempts, at most
-- p_limit rows a call (the worker calls it every minute with the push log's window).
CREATE INDEX notify_outbox_finished ON notify_outbox (finished_at) WHERE state <> 'pending';
CREATE FUNCTION notify_prune(p_keep_s bigint, p_limit int) RETURNS int
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    n int;
BEGIN
    IF p_keep_s IS NULL OR p_keep_s < 86400 OR p_limit IS NULL OR p_limit < 1 OR p_limit > 100000 THEN
        RAISE EXCEPTION 'notify_prune: a window of at least a day and 1..100000 rows' USING ERRCODE = '22023';
    END IF;
    DELETE FROM notify_outbox WHERE id IN (SELECT o.id FROM notify_outbox o
                                            WHERE o.state <> 'pending' AND o.finished_at < now() - p_keep_s * interval '1 second'
                                            ORDER BY o.finished_at LIMIT p_limit);
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END $$;
REVOKE ALL ON FUNCTION notify_prune(bigint, int) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION notify_prune(bigint, int) TO onecount_app;
