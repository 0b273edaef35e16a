-- 0041_notify_severity.sql — a webhook endpoint or a person's e-mail can ask for events of a severity and worse.
--
-- min_severity: 'info' (everything), 'warning' (warnings and critical) or 'critical'; NULL is every severity.
-- An event that has no severity (a digest's, a test's) is not filtered by it.  Kinds and brands filter as before.

ALTER TABLE webhook_endpoints ADD COLUMN min_severity text CHECK (min_severity IN ('info', 'warning', 'critical'));
ALTER TABLE notify_prefs ADD COLUMN min_severity text CHECK (min_severity IN ('info', 'warning', 'critical'));

-- Whether an event of severity p_severity passes a filter asking for p_min and worse.
CREATE FUNCTION severity_at_least(p_severity text, p_min text) RETURNS boolean
    LANGUAGE sql IMMUTABLE AS $$
SELECT p_min IS NULL  -- an event without a severity (or one this list does not know) passes
    OR coalesce(array_position(ARRAY['info', 'warning', 'critical'], p_severity), 4)
       >= array_position(ARRAY['info', 'warning', 'critical'], p_min)
$$;

CREATE OR REPLACE FUNCTION notify_event(p_tenant uuid, p_event text, p_kind text, p_severity text, p_title text,
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
       AND (e.kinds IS NULL OR p_kind = ANY (e.kinds))
       AND severity_at_least(p_severity, e.min_severity);
    -- People: those who can see the brand and asked for this brand and kind.
    WITH who AS MATERIALIZED (
        SELECT u.id, u.email, p.email AS mode
          FROM notify_prefs p JOIN users u ON u.id = p.user_id
         WHERE p.portfolio_id = b.portfolio_id AND p.email <> 'off' AND u.disabled_at IS NULL
           AND (p.brand_ids IS NULL OR b.id = ANY (p.brand_ids))
           AND (p.kinds IS NULL OR p_kind = ANY (p.kinds))
           AND severity_at_least(p_severity, p.min_severity)
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

CREATE OR REPLACE FUNCTION webhook_endpoint_json(e webhook_endpoints) RETURNS jsonb
    LANGUAGE sql STABLE AS $$
SELECT jsonb_build_object('id', e.id, 'name', e.name, 'url', e.url, 'kinds', to_jsonb(e.kinds),
           'min_severity', e.min_severity,
           'brand_ids', to_jsonb(e.brand_ids),
           'brands', CASE WHEN e.brand_ids IS NOT NULL THEN
               (SELECT coalesce(jsonb_agg(jsonb_build_object('id', b.id, 'name', b.name) ORDER BY b.name), '[]')
                  FROM brands b WHERE b.id = ANY (e.brand_ids)) END,
           'active', e.active, 'created_at', e.created_at, 'updated_at', e.updated_at,
           'last_delivery', (SELECT jsonb_build_object('id', o.id, 'event', o.event, 'state', o.state,
                                                       'created_at', o.created_at, 'last_status', o.last_status)
                               FROM notify_outbox o WHERE o.endpoint_id = e.id ORDER BY o.created_at DESC LIMIT 1))
$$;

CREATE OR REPLACE FUNCTION webhook_endpoint_save(p_portfolio uuid, p_id uuid, p_create boolean, p_in jsonb, p_key_version int,
                                      p_wrapped text, p_sealed text, p_user uuid, p_token uuid, p_request_id text)
    RETURNS jsonb
    LANGUAGE plpgsql AS $$
DECLARE
    e webhook_endpoints%ROWTYPE;
BEGIN
    PERFORM notify_check_scope(p_portfolio, p_in);
    IF p_create THEN
        INSERT INTO webhook_endpoints (id, portfolio_id, name, url, kinds, min_severity, brand_ids, active,
                                       key_version, key_wrapped, secret_sealed, created_by)
        VALUES (p_id, p_portfolio, p_in ->> 'name', p_in ->> 'url', notify_text_array(p_in -> 'kinds'),
                p_in ->> 'min_severity',
                notify_text_array(p_in -> 'brand_ids')::uuid[], coalesce((p_in ->> 'active')::boolean, true),
                p_key_version, decode(p_wrapped, 'base64'), decode(p_sealed, 'base64'), p_user)
        RETURNING * INTO e;
    ELSE
        UPDATE webhook_endpoints w SET
               name = coalesce(p_in ->> 'name', w.name),
               url = coalesce(p_in ->> 'url', w.url),
               kinds = CASE WHEN p_in ? 'kinds' THEN notify_text_array(p_in -> 'kinds') ELSE w.kinds END,
               min_severity = CASE WHEN p_in ? 'min_severity' THEN p_in ->> 'min_severity' ELSE w.min_severity END,
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

CREATE OR REPLACE FUNCTION notify_prefs_json(p_portfolio uuid, p_user uuid) RETURNS jsonb
    LANGUAGE sql STABLE AS $$
SELECT jsonb_build_object('email_mode', coalesce(p.email, 'off'), 'kinds', to_jsonb(p.kinds),
           'min_severity', p.min_severity,
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

CREATE OR REPLACE FUNCTION notify_prefs_save(p_portfolio uuid, p_user uuid, p_in jsonb) RETURNS jsonb
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
    INSERT INTO notify_prefs AS p (user_id, portfolio_id, email, kinds, min_severity, brand_ids, digest_hour, timezone)
    VALUES (p_user, p_portfolio, coalesce(p_in ->> 'email_mode', 'off'), notify_text_array(p_in -> 'kinds'),
            p_in ->> 'min_severity',
            notify_text_array(p_in -> 'brand_ids')::uuid[], coalesce((p_in ->> 'digest_hour')::int, 8),
            p_in ->> 'timezone')
    ON CONFLICT (user_id) DO UPDATE SET
        email = coalesce(p_in ->> 'email_mode', p.email),
        kinds = CASE WHEN p_in ? 'kinds' THEN notify_text_array(p_in -> 'kinds') ELSE p.kinds END,
        min_severity = CASE WHEN p_in ? 'min_severity' THEN p_in ->> 'min_severity' ELSE p.min_severity END,
        brand_ids = CASE WHEN p_in ? 'brand_ids' THEN notify_text_array(p_in -> 'brand_ids')::uuid[]
                         ELSE p.brand_ids END,
        digest_hour = coalesce((p_in ->> 'digest_hour')::int, p.digest_hour),
        timezone = CASE WHEN p_in ? 'timezone' THEN p_in ->> 'timezone' ELSE p.timezone END,
        updated_at = now();
    RETURN notify_prefs_json(p_portfolio, p_user);
END $$;
