-- 0026_cron.sql — cron schedules, computed in PostgreSQL (for the SOP
-- scheduler, 0027).
--
--   cron_check(expr)                 NULL when expr is valid, else a short
--                                    message naming the field ("minute: 61 is
--                                    out of 0-59"); never raises.
--   cron_next(expr, tz, after)       the first instant strictly after `after`
--                                    at which the schedule fires, the fields
--                                    read as wall-clock time in tz (an IANA
--                                    name); NULL when nothing fires within 5
--                                    years (`0 0 30 2 *`).  An invalid expr or
--                                    an unknown tz raises SQLSTATE 22023 with
--                                    the message.
--   cron_upcoming(expr, tz, from, until, limit)
--                                    the firings t with from <= t < until, in
--                                    order, at most limit (1-10000).
--
-- Syntax: 5 fields, minute (0-59) hour (0-23) day-of-month (1-31) month (1-12
-- or JAN-DEC) day-of-week (0-7 or SUN-SAT, 0 and 7 are Sunday), separated by
-- blanks.  Each field is a list of `*`, `N`, `A-B`, `*/S` or `A-B/S` (names
-- are case-insensitive and may be range ends: MON-FRI).  A range runs low to
-- high (`5-1` is refused); a step is 1 up to the field's span.  `@hourly`,
-- `@daily` (`@midnight`), `@weekly`, `@monthly`, `@yearly` (`@annually`)
-- stand for `0 * * * *`, `0 0 * * *`, `0 0 * * 0`, `0 0 1 * *`, `0 0 1 1 *`.
-- Day-of-month and day-of-week as Vixie cron reads them: when both are
-- restricted, a day matches if EITHER matches (`0 0 13 * FRI` is every 13th
-- and every Friday); when one of them starts with `*` (`*`, `*/2`) both must.
--
-- Daylight saving time.  A schedule names wall-clock times; each wall time
-- the schedule names on a day fires exactly once:
--   - a wall time the clock skips (spring forward: 02:30 on the night New
--     York goes 02:00 -> 03:00) fires at the instant PostgreSQL maps it to
--     (`local AT TIME ZONE tz`: as far after the gap's start as it was
--     meant to be, 03:30 EDT here) — never skipped.  When the schedule also
--     names that instant's own wall time (03:30), the instant fires once;
--   - a wall time that occurs twice (fall back: 01:30 in EDT, then again in
--     EST) fires at its FIRST occurrence only; the second is not a firing.
--     `0 * * * *` fires 23 times on New York's spring-forward day and 24 on
--     its fall-back day (25 hours long: 01:00 EST, the second 01:00, does not
--     fire).
-- Transitions are taken to move the clock by at most 3 hours (daylight
-- saving moves it by 2 at most, Antarctica/Troll; Lord Howe's by 30
-- minutes); a date-line jump, such as Samoa skipping 2011-12-30, is not
-- handled exactly.
--
-- How: the expression is parsed once per call into bit masks (cron_parse,
-- type cron_spec); cron_spec_next walks local days from p_after's (months
-- the schedule does not name are skipped whole), and on a matching day the
-- named hours and minutes in order.  On a day with no transition within 3
-- hours of it, wall time maps to instants one to one and in order, so the
-- first wall time after p_after's is the answer.  On a transition day each
-- candidate's first occurrence is computed (PostgreSQL maps an ambiguous wall
-- time to its later occurrence; the earlier one is the offset change before
-- it) and the smallest instant after p_after wins (a skipped 02:30 fires at
-- 03:30, after a named 03:00).
CREATE TYPE cron_spec AS (
    minutes int[],      -- the named minutes, ascending
    hours int[],        -- the named hours, ascending
    doms bigint,        -- bit d: day-of-month d (1-31)
    months bigint,      -- bit m: month m (1-12)
    dows bigint,        -- bit w: day-of-week w (0-6, 0 = Sunday)
    dom_star boolean,   -- day-of-month starts with `*`
    dow_star boolean,   -- day-of-week starts with `*`
    err text            -- NULL when valid, else the message (the rest NULL)
);

-- One field: its mask (bit v set for each value v it names), or the message.
CREATE FUNCTION cron_parse_field(p_text text, p_field text, p_lo int, p_hi int, p_names text[],
                                 OUT mask bigint, OUT err text)
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    item text;
    parts text[];
    ends text[];
    tok text;
    vals int[];
    v int;
    step int;
    a int;
    b int;
BEGIN
    mask := 0;
    FOREACH item IN ARRAY string_to_array(p_text, ',') LOOP
        IF item = '' THEN
            err := format('%s: empty item in the list "%s"', p_field, left(p_text, 40));
            RETURN;
        END IF;
        parts := string_to_array(item, '/');
        IF cardinality(parts) > 2 THEN
            err := format('%s: "%s" has more than one /', p_field, left(item, 40));
            RETURN;
        END IF;
        step := 1;
        IF cardinality(parts) = 2 THEN
            IF parts[2] !~ '^[0-9]+$' THEN
                err := format('%s: step "%s" is not a number', p_field, left(parts[2], 20));
                RETURN;
            END IF;
            step := CASE WHEN length(parts[2]) <= 4 THEN parts[2]::int END;
            IF step IS NULL OR step < 1 OR step > p_hi - p_lo + 1 THEN
                err := format('%s: step %s is out of 1-%s', p_field, left(parts[2], 20), p_hi - p_lo + 1);
                RETURN;
            END IF;
        END IF;
        IF parts[1] = '*' THEN
            a := p_lo;
            b := p_hi;
        ELSE
            ends := string_to_array(parts[1], '-');
            IF cardinality(ends) > 2 OR '' = ANY (ends) THEN
                err := format('%s: "%s" is not a value or a range', p_field, left(parts[1], 40));
                RETURN;
            END IF;
            vals := '{}';
            FOREACH tok IN ARRAY ends LOOP
                IF tok ~ '^[0-9]+$' THEN
                    IF length(tok) > 4 THEN
                        err := format('%s: %s is out of %s-%s', p_field, left(tok, 20), p_lo, p_hi);
                        RETURN;
                    END IF;
                    v := tok::int;
                ELSE
                    v := array_position(p_names, upper(tok)) + p_lo - 1;
                    IF v IS NULL THEN
                        err := format('%s: "%s" is not a number%s', p_field, left(tok, 20),
                                      CASE WHEN p_names IS NULL THEN '' ELSE format(' or a name (%s-%s)',
                                          p_names[1], p_names[cardinality(p_names)]) END);
                        RETURN;
                    END IF;
                END IF;
                IF v < p_lo OR v > p_hi THEN
                    err := format('%s: %s is out of %s-%s', p_field, v, p_lo, p_hi);
                    RETURN;
                END IF;
                vals := vals || v;
            END LOOP;
            IF cardinality(vals) = 1 AND cardinality(parts) = 2 THEN
                err := format('%s: "%s": a step needs * or a range before the / (*/15, 10-50/10)', p_field,
                              left(item, 40));
                RETURN;
            END IF;
            a := vals[1];
            b := vals[cardinality(vals)];
            IF a > b THEN
                err := format('%s: range %s is backwards (%s > %s)', p_field, left(parts[1], 40), a, b);
                RETURN;
            END IF;
        END IF;
        IF step = 1 THEN
            mask := mask | ((1::bigint << (b + 1)) - (1::bigint << a));
        ELSE
            FOR v IN a..b BY step LOOP
                mask := mask | (1::bigint << v);
            END LOOP;
        END IF;
    END LOOP;
END $$;

-- The whole expression: a cron_spec, its err set when invalid.  Never raises
-- on any text.
CREATE FUNCTION cron_parse(p_expr text) RETURNS cron_spec
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    s cron_spec;
    e text;
    f text[];
    r record;
    g int;
BEGIN
    IF p_expr IS NULL THEN
        s.err := 'no expression (NULL)';
        RETURN s;
    ELSIF length(p_expr) > 1000 THEN
        s.err := format('the expression is too long (%s characters, at most 1000)', length(p_expr));
        RETURN s;
    END IF;
    e := btrim(p_expr, E' \t\r\n\f\v');
    IF left(e, 1) = '@' THEN
        e := CASE lower(e) WHEN '@hourly' THEN '0 * * * *'
                           WHEN '@daily' THEN '0 0 * * *' WHEN '@midnight' THEN '0 0 * * *'
                           WHEN '@weekly' THEN '0 0 * * 0'
                           WHEN '@monthly' THEN '0 0 1 * *'
                           WHEN '@yearly' THEN '0 0 1 1 *' WHEN '@annually' THEN '0 0 1 1 *' END;
        IF e IS NULL THEN
            s.err := format('unknown shorthand "%s" (@hourly, @daily, @weekly, @monthly, @yearly)',
                            left(btrim(p_expr), 20));
            RETURN s;
        END IF;
    END IF;
    f := CASE WHEN e = '' THEN '{}' ELSE regexp_split_to_array(e, '[[:space:]]+') END;
    IF cardinality(f) <> 5 THEN
        s.err := format('expected 5 fields: minute hour day-of-month month day-of-week (got %s)', cardinality(f));
        RETURN s;
    END IF;
    r := cron_parse_field(f[1], 'minute', 0, 59, NULL);
    IF r.err IS NOT NULL THEN
        s.err := r.err;
        RETURN s;
    END IF;
    s.minutes := '{}';
    FOR g IN 0..59 LOOP
        IF (r.mask >> g) & 1 = 1 THEN
            s.minutes := s.minutes || g;
        END IF;
    END LOOP;
    r := cron_parse_field(f[2], 'hour', 0, 23, NULL);
    IF r.err IS NOT NULL THEN
        s.minutes := NULL;
        s.err := r.err;
        RETURN s;
    END IF;
    s.hours := '{}';
    FOR g IN 0..23 LOOP
        IF (r.mask >> g) & 1 = 1 THEN
            s.hours := s.hours || g;
        END IF;
    END LOOP;
    r := cron_parse_field(f[3], 'day-of-month', 1, 31, NULL);
    IF r.err IS NULL THEN
        s.doms := r.mask;
        r := cron_parse_field(f[4], 'month', 1, 12,
                              '{JAN,FEB,MAR,APR,MAY,JUN,JUL,AUG,SEP,OCT,NOV,DEC}');
    END IF;
    IF r.err IS NULL THEN
        s.months := r.mask;
        r := cron_parse_field(f[5], 'day-of-week', 0, 7, '{SUN,MON,TUE,WED,THU,FRI,SAT}');
    END IF;
    IF r.err IS NOT NULL THEN
        s := ROW(NULL, NULL, NULL, NULL, NULL, NULL, NULL, r.err);
        RETURN s;
    END IF;
    -- 7 is Sunday too
    s.dows := (r.mask & 127) | ((r.mask >> 7) & 1);
    s.dom_star := left(f[3], 1) = '*';
    s.dow_star := left(f[5], 1) = '*';
    RETURN s;
END $$;

CREATE FUNCTION cron_check(p_expr text) RETURNS text
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
    RETURN (cron_parse(p_expr)).err;
EXCEPTION WHEN OTHERS THEN
    -- cron_parse raises on no text; should it ever, the expression is still refused, not the caller.
    RETURN 'invalid expression';
END $$;

-- The first firing of a valid spec strictly after p_after in the known time
-- zone p_tz (cron_next checks both); NULL when none within 5 years.
CREATE FUNCTION cron_spec_next(c cron_spec, p_tz text, p_after timestamptz) RETURNS timestamptz
    LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
    la timestamp;       -- p_after's wall time
    lo timestamp;       -- on the day being walked: candidates at or before it cannot fire after p_after
    d date;
    d_end date;
    dom_ok boolean;
    dow_ok boolean;
    plain boolean;
    h int;
    m int;
    hl timestamp;
    l timestamp;        -- a candidate wall time
    x timestamptz;      -- its first occurrence (or, skipped, where PostgreSQL maps it)
    lx timestamp;       -- x's wall time
    delta interval;
    best timestamptz;   -- on a transition day: the earliest firing found so far
    best_local timestamp;
BEGIN
    -- (years 1 to 99999: beyond, the walk would leave PostgreSQL's dates)
    IF p_after IS NULL OR NOT p_after BETWEEN '0001-01-02 00:00Z' AND '99999-01-01 00:00Z' THEN
        RETURN NULL;
    END IF;
    la := p_after AT TIME ZONE p_tz;
    -- A wall time skipped by a gap may map up to 3 hours later than it reads:
    -- start on the day 3 hours before p_after's wall time.
    d := (la - interval '3 hours')::date;
    d_end := (la::date + interval '5 years')::date;
    WHILE d <= d_end LOOP
        IF best IS NOT NULL AND d::timestamp > best_local THEN
            RETURN best;
        END IF;
        IF (c.months >> extract(month FROM d)::int) & 1 = 0 THEN
            d := (date_trunc('month', d) + interval '1 month')::date;
            CONTINUE;
        END IF;
        dom_ok := (c.doms >> extract(day FROM d)::int) & 1 = 1;
        dow_ok := (c.dows >> extract(dow FROM d)::int) & 1 = 1;
        IF (dom_ok AND dow_ok) OR (NOT c.dom_star AND NOT c.dow_star AND (dom_ok OR dow_ok)) THEN
            -- Plain: no transition from 3 hours before the day to 3 hours after it.
            plain := ((d + 1)::timestamp + interval '3 hours') AT TIME ZONE p_tz
                     - ((d::timestamp - interval '3 hours') AT TIME ZONE p_tz) = interval '30 hours';
            lo := CASE WHEN plain THEN la ELSE la - interval '3 hours' END;
            FOREACH h IN ARRAY c.hours LOOP
                hl := d + h * interval '1 hour';
                CONTINUE WHEN hl + interval '59 minutes' <= lo;
                FOREACH m IN ARRAY c.minutes LOOP
                    l := hl + m * interval '1 minute';
                    CONTINUE WHEN l <= lo;
                    IF best IS NOT NULL AND l > best_local THEN
                        RETURN best;
                    END IF;
                    x := l AT TIME ZONE p_tz;
                    IF plain THEN
                        -- l reads once, at x, after p_after; later wall times fire later
                        RETURN CASE WHEN best IS NULL OR x < best THEN x ELSE best END;
                    END IF;
                    lx := x AT TIME ZONE p_tz;
                    IF lx = l THEN
                        -- l exists; PostgreSQL took its later occurrence when there are two: the
                        -- clock was turned back by delta within the 3 hours before x.
                        delta := ((x - interval '3 hours') AT TIME ZONE p_tz) - (l - interval '3 hours');
                        IF delta > interval '0' AND ((x - delta) AT TIME ZONE p_tz) = l THEN
                            x := x - delta;
                        END IF;
                    END IF;
                    IF x > p_after AND (best IS NULL OR x < best) THEN
                        best := x;
                        best_local := lx;
                    END IF;
                END LOOP;
            END LOOP;
        END IF;
        d := d + 1;
    END LOOP;
    RETURN best;
END $$;

-- The spec of p_expr, raising 22023 when it or p_tz is invalid.
CREATE FUNCTION cron_spec_checked(p_expr text, p_tz text) RETURNS cron_spec
    LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
    c cron_spec;
BEGIN
    c := cron_parse(p_expr);
    IF c.err IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = c.err;
    END IF;
    IF p_tz IS NULL OR btrim(p_tz) = '' THEN
        RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'time zone: missing';
    END IF;
    BEGIN
        PERFORM now() AT TIME ZONE p_tz;
    EXCEPTION WHEN OTHERS THEN
        RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format('time zone: "%s" is not a known time zone', left(p_tz, 60));
    END;
    RETURN c;
END $$;

CREATE FUNCTION cron_next(p_expr text, p_tz text, p_after timestamptz) RETURNS timestamptz
    LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
BEGIN
    RETURN cron_spec_next(cron_spec_checked(p_expr, p_tz), p_tz, p_after);
END $$;

CREATE FUNCTION cron_upcoming(p_expr text, p_tz text, p_from timestamptz, p_until timestamptz, p_limit int)
    RETURNS SETOF timestamptz
    LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
    c cron_spec;
    t timestamptz;
    n int := 0;
BEGIN
    c := cron_spec_checked(p_expr, p_tz);
    IF p_limit IS NULL OR p_limit < 1 OR p_limit > 10000 THEN
        RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format('limit: %s is out of 1-10000', coalesce(p_limit::text, 'NULL'));
    END IF;
    IF p_from IS NULL OR p_until IS NULL OR p_from >= p_until OR NOT isfinite(p_from) THEN
        RETURN;
    END IF;
    t := cron_spec_next(c, p_tz, p_from - interval '1 microsecond');
    WHILE t IS NOT NULL AND t < p_until AND n < p_limit LOOP
        RETURN NEXT t;
        n := n + 1;
        t := cron_spec_next(c, p_tz, t);
    END LOOP;
END $$;

GRANT EXECUTE ON FUNCTION cron_check(text), cron_next(text, text, timestamptz),
    cron_upcoming(text, text, timestamptz, timestamptz, int), cron_parse(text),
    cron_parse_field(text, text, int, int, text[]), cron_spec_checked(text, text),
    cron_spec_next(cron_spec, text, timestamptz) TO onecount_app;
