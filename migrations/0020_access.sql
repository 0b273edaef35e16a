-- 0020_access.sql — sign-in attempts counted before their password is
-- checked, with growing delays instead of lockouts, and known devices.
--
-- 0002 throttled on failures recorded after the check (a burst was checked
-- in full) and locked an account for 15 minutes after 5 failures from
-- anyone.  Now login_begin() counts the attempt, atomically, before the
-- server checks the password, and refuses it (with the wait) while a delay
-- runs; the delays grow per key instead of locking:
--
--   key                                  free   then the next attempt waits
--   acct:<e-mail>                         5     4 s, 8 s, 16 s … 15 min (doubling)
--   addr:<client address>                30     the same
--   dev:<known-device cookie hash>        5     the same
--   pair:<client address>|<e-mail>        5     the same
--
-- An attempt with a known-device cookie of that account, or from an address
-- that signed in to it in the last 30 days, is counted on its own device or
-- pair key only: failures from elsewhere do not slow the account's owner.
-- A key's count is forgotten an hour after its last attempt; a successful
-- sign-in forgives the account's (device's, pair's) failures, and takes back
-- its own count from the address.  A delay already running is never
-- shortened, so a burst is held to the free attempts whatever it contains.

CREATE TABLE login_throttle (
    key text PRIMARY KEY,
    failures int NOT NULL,      -- attempts counted and not forgiven
    last_at timestamptz NOT NULL, -- the last attempt counted
    next_at timestamptz NOT NULL  -- no attempt on this key before
);
CREATE INDEX login_throttle_last ON login_throttle (last_at);

-- Known devices (OWASP's device cookies): a browser that signed in gets a
-- random cookie, stored as SHA-256, bound to the account.
CREATE TABLE login_devices (
    token_hash bytea PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);
CREATE INDEX login_devices_user ON login_devices (user_id);
CREATE INDEX login_devices_expiry ON login_devices (expires_at);
CREATE INDEX sessions_user_addr ON sessions (user_id, remote_addr, created_at);

DROP TABLE login_failures;

GRANT SELECT, INSERT, UPDATE, DELETE ON login_throttle, login_devices TO onecount_app;

-- Free attempts of a key, by its kind.
CREATE FUNCTION login_free(p_key text) RETURNS int
    LANGUAGE sql IMMUTABLE AS $$ SELECT CASE WHEN p_key LIKE 'addr:%' THEN 30 ELSE 5 END $$;

-- How long the attempt after the f-th counted one waits.
CREATE FUNCTION login_delay(p_failures int, p_free int) RETURNS interval
    LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN p_failures < p_free THEN interval '0'
                ELSE least(power(2, least(p_failures - p_free + 2, 20)), 900) * interval '1 second' END $$;

-- Counts one sign-in attempt for p_email from p_addr (with the hash of a
-- known-device cookie, or NULL), before its password is checked.  Returns the
-- account (NULL when there is none, or it is disabled: the caller checks a
-- dummy hash then), the keys the attempt was counted on (for login_end), and
-- wait_s > 0 when the attempt is refused (not counted) because a delay runs.
CREATE FUNCTION login_begin(p_email text, p_addr text, p_device bytea,
                            OUT user_id uuid, OUT password_hash text, OUT keys text[], OUT wait_s int)
    LANGUAGE plpgsql AS $$
DECLARE
    k text;
    r login_throttle;
    waits interval;
    t_now timestamptz;
BEGIN
    -- Times are the clock's, not the transaction's start: an attempt that
    -- waited for another's row lock is counted when it gets it.
    SELECT u.id, u.password_hash INTO user_id, password_hash
      FROM users u WHERE lower(u.email) = lower(p_email) AND u.disabled_at IS NULL;
    IF user_id IS NOT NULL AND p_device IS NOT NULL
       AND EXISTS (SELECT 1 FROM login_devices d
                    WHERE d.token_hash = p_device AND d.user_id = login_begin.user_id AND d.expires_at > now()) THEN
        keys := ARRAY['dev:' || encode(p_device, 'hex')];
    ELSIF user_id IS NOT NULL
       AND EXISTS (SELECT 1 FROM sessions s WHERE s.user_id = login_begin.user_id AND s.remote_addr = p_addr
                      AND s.created_at > now() - interval '30 days') THEN
        keys := ARRAY['pair:' || p_addr || '|' || lower(p_email)];
    ELSE
        keys := ARRAY['acct:' || lower(p_email), 'addr:' || p_addr];
    END IF;
    keys := ARRAY(SELECT unnest(keys) ORDER BY 1);
    -- A wait never gets shorter (next_at only grows): while one runs, refuse
    -- without writing anything, however many attempts arrive.
    SELECT max(t.next_at) - clock_timestamp() INTO waits FROM login_throttle t WHERE t.key = ANY (keys);
    IF waits > interval '0' THEN
        wait_s := greatest(ceil(extract(epoch FROM waits)), 1);
        RETURN;
    END IF;
    -- Lock every key's row, in key order (no two sign-ins deadlock), and see
    -- whether a delay runs on any.
    FOREACH k IN ARRAY keys LOOP
        INSERT INTO login_throttle AS t (key, failures, last_at, next_at)
            VALUES (k, 0, clock_timestamp(), clock_timestamp())
            ON CONFLICT (key) DO UPDATE SET
               failures = CASE WHEN t.last_at < clock_timestamp() - interval '1 hour' THEN 0 ELSE t.failures END
            RETURNING * INTO r;
    END LOOP;
    t_now := clock_timestamp();
    SELECT max(t.next_at) - t_now INTO waits FROM login_throttle t WHERE t.key = ANY (keys);
    IF waits > interval '0' THEN
        wait_s := greatest(ceil(extract(epoch FROM waits)), 1);
        RETURN;
    END IF;
    wait_s := 0;
    UPDATE login_throttle t SET failures = t.failures + 1, last_at = t_now,
           next_at = t_now + login_delay(t.failures + 1, login_free(t.key))
     WHERE t.key = ANY (keys);
    -- Now and then, forget keys idle for a day and devices past their time.
    IF random() < 0.01 THEN
        DELETE FROM login_throttle WHERE key IN (SELECT key FROM login_throttle
                                                  WHERE last_at < now() - interval '1 day' LIMIT 500);
        DELETE FROM login_devices WHERE token_hash IN (SELECT token_hash FROM login_devices
                                                        WHERE expires_at < now() LIMIT 500);
    END IF;
END $$;

-- A sign-in counted on p_keys succeeded: the account's (device's, pair's)
-- failures are forgiven, the address gets this attempt back.  A running
-- delay stays.
CREATE FUNCTION login_end(p_keys text[]) RETURNS void
    LANGUAGE sql AS $$
    WITH locked AS (SELECT key FROM login_throttle WHERE key = ANY (p_keys) ORDER BY key FOR UPDATE)
    UPDATE login_throttle t
       SET failures = CASE WHEN t.key LIKE 'addr:%' THEN greatest(t.failures - 1, 0) ELSE 0 END
      FROM locked WHERE t.key = locked.key;
$$;

GRANT EXECUTE ON FUNCTION login_free(text), login_delay(int, int), login_begin(text, text, bytea),
    login_end(text[]) TO onecount_app;
