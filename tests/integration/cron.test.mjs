// cron.test.mjs — cron schedules computed in PostgreSQL (migration 0026):
// cron_check names the field and the problem and never raises; cron_next
// raises 22023 with that message, and for an unknown time zone; every syntax
// form (lists, ranges, steps, names, 0/7 Sunday, shorthands); Vixie's
// day-of-month OR day-of-week; daylight saving time — a skipped wall time
// fires once just after the gap, a repeated one once at its first
// occurrence — in New York, London, Lord Howe (30-minute shifts) and
// Santiago (shifts at midnight), checked exactly against an independent
// reference computed here from the platform's time zone data (Intl) minute
// by minute; cron_upcoming's window and counts; the application role may
// call all three.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { shared, createDatabase, dropDatabase, superQuery } from './lib/stack.mjs';

let cluster, db, app;

before(async () => {
  cluster = shared();
  db = await createDatabase(cluster);
  app = new pg.Client({ connectionString: cluster.appUrl(db) }); // the servers' role: the GRANTs
  await app.connect();
});
after(async () => {
  await app?.end();
  await dropDatabase(cluster, db);
});

const iso = (d) => (d === null ? null : d.toISOString());

async function check(expr) {
  return (await app.query('SELECT cron_check($1) AS m', [expr])).rows[0].m;
}
async function next(expr, tz, after) {
  return iso((await app.query('SELECT cron_next($1, $2, $3::timestamptz) AS t', [expr, tz, after])).rows[0].t);
}
async function upcoming(expr, tz, from, until, limit = 10000) {
  const r = await app.query('SELECT t FROM cron_upcoming($1, $2, $3::timestamptz, $4::timestamptz, $5) t',
    [expr, tz, from, until, limit]);
  return r.rows.map((x) => iso(x.t));
}
/** Each firing's successor by cron_next, from `after`, `n` times. */
async function chain(expr, tz, after, n) {
  const out = [];
  let t = after;
  for (let i = 0; i < n && t !== null; i++) {
    t = await next(expr, tz, t);
    out.push(t);
  }
  return out;
}
const Z = (s) => new Date(s).toISOString(); // '2026-03-08T03:30:00-04:00' → UTC ISO

test('the functions: IMMUTABLE cron_check, STABLE cron_next and cron_upcoming, callable by onecount_app', async () => {
  const r = (await superQuery(cluster, db, `
    SELECT p.proname, p.provolatile::text AS v, has_function_privilege('onecount_app', p.oid, 'EXECUTE') AS x,
           pg_get_function_identity_arguments(p.oid) AS args
      FROM pg_proc p WHERE p.proname IN ('cron_check', 'cron_next', 'cron_upcoming') ORDER BY 1`)).rows;
  assert.deepEqual(r, [
    { proname: 'cron_check', v: 'i', x: true, args: 'p_expr text' },
    { proname: 'cron_next', v: 's', x: true, args: 'p_expr text, p_tz text, p_after timestamp with time zone' },
    { proname: 'cron_upcoming', v: 's', x: true,
      args: 'p_expr text, p_tz text, p_from timestamp with time zone, p_until timestamp with time zone, p_limit integer' },
  ]);
  const rt = (await superQuery(cluster, db, `SELECT pg_get_function_result('cron_next'::regproc) AS a,
    pg_get_function_result('cron_check'::regproc) AS b, pg_get_function_result('cron_upcoming'::regproc) AS c`)).rows[0];
  assert.deepEqual(rt, { a: 'timestamp with time zone', b: 'text', c: 'SETOF timestamp with time zone' });
});

// 2026-01-01 is a Thursday.
const NY = '2026-01-01T00:00:00Z';
test('syntax: *, numbers, lists, ranges, steps, ranges with steps', async () => {
  assert.equal(await check('* * * * *'), null);
  assert.equal(await next('* * * * *', 'UTC', NY), '2026-01-01T00:01:00.000Z');
  assert.equal(await next('* * * * *', 'UTC', '2026-01-01T00:00:59.999Z'), '2026-01-01T00:01:00.000Z');
  assert.equal(await next('5 * * * *', 'UTC', NY), '2026-01-01T00:05:00.000Z');
  assert.deepEqual(await chain('1,5,59 * * * *', 'UTC', NY, 4),
    ['2026-01-01T00:01:00.000Z', '2026-01-01T00:05:00.000Z', '2026-01-01T00:59:00.000Z', '2026-01-01T01:01:00.000Z']);
  assert.deepEqual(await upcoming('10-12 * * * *', 'UTC', NY, '2026-01-01T01:00:00Z'),
    ['2026-01-01T00:10:00.000Z', '2026-01-01T00:11:00.000Z', '2026-01-01T00:12:00.000Z']);
  assert.deepEqual(await upcoming('*/15 * * * *', 'UTC', NY, '2026-01-01T01:00:00Z'),
    ['2026-01-01T00:00:00.000Z', '2026-01-01T00:15:00.000Z', '2026-01-01T00:30:00.000Z', '2026-01-01T00:45:00.000Z']);
  assert.deepEqual(await upcoming('10-50/10 3 * * *', 'UTC', NY, '2026-01-02T00:00:00Z'),
    ['10', '20', '30', '40', '50'].map((m) => `2026-01-01T03:${m}:00.000Z`));
  assert.deepEqual(await upcoming('0 */7 * * *', 'UTC', NY, '2026-01-02T00:00:00Z'),
    ['00', '07', '14', '21'].map((h) => `2026-01-01T${h}:00:00.000Z`));
  assert.deepEqual(await upcoming('0 0 */10 * *', 'UTC', NY, '2026-03-01T00:00:00Z'),
    ['01-01', '01-11', '01-21', '01-31', '02-01', '02-11', '02-21'].map((d) => `2026-${d}T00:00:00.000Z`));
  assert.deepEqual(await upcoming('0 0 1 1-12/5 *', 'UTC', NY, '2027-01-01T00:00:00Z'),
    ['01', '06', '11'].map((m) => `2026-${m}-01T00:00:00.000Z`));
  assert.deepEqual(await upcoming('0,30 9-10,14 1 2 *', 'UTC', NY, '2027-01-01T00:00:00Z'),
    ['09:00', '09:30', '10:00', '10:30', '14:00', '14:30'].map((t) => `2026-02-01T${t}:00.000Z`));
  // Blanks around and between fields: any run of spaces and tabs.
  assert.equal(await next('  0\t 12   * *\t* ', 'UTC', NY), '2026-01-01T12:00:00.000Z');
});

test('syntax: month and day names in any case, day-of-week 0 and 7 are Sunday', async () => {
  assert.equal(await next('0 0 1 jun *', 'UTC', NY), '2026-06-01T00:00:00.000Z');
  assert.deepEqual(await upcoming('0 0 1 MAR-may *', 'UTC', NY, '2028-01-01T00:00:00Z'),
    ['2026-03', '2026-04', '2026-05', '2027-03', '2027-04', '2027-05'].map((m) => `${m}-01T00:00:00.000Z`));
  assert.deepEqual(await upcoming('0 0 1 Jan,Dec *', 'UTC', NY, '2027-01-02T00:00:00Z'),
    ['2026-01', '2026-12', '2027-01'].map((m) => `${m}-01T00:00:00.000Z`));
  assert.deepEqual(await upcoming('0 12 * * mon-FRI', 'UTC', NY, '2026-01-08T00:00:00Z'),
    ['01', '02', '05', '06', '07'].map((d) => `2026-01-${d}T12:00:00.000Z`));
  for (const sunday of ['0', '7', 'sun', 'SUN', 'Sun']) {
    assert.deepEqual(await upcoming(`0 0 * * ${sunday}`, 'UTC', NY, '2026-01-19T00:00:00Z'),
      ['04', '11', '18'].map((d) => `2026-01-${d}T00:00:00.000Z`), sunday);
  }
  // 5-7: Friday, Saturday, Sunday; 0-7: every day once
  assert.deepEqual(await upcoming('0 0 * * 5-7', 'UTC', NY, '2026-01-08T00:00:00Z'),
    ['02', '03', '04'].map((d) => `2026-01-${d}T00:00:00.000Z`));
  assert.equal((await upcoming('0 0 * * 0-7', 'UTC', NY, '2026-02-01T00:00:00Z')).length, 31);
  assert.deepEqual(await upcoming('0 0 * * 6,sat', 'UTC', NY, '2026-01-11T00:00:00Z'),
    ['2026-01-03T00:00:00.000Z', '2026-01-10T00:00:00.000Z']);
});

test('syntax: @hourly @daily @midnight @weekly @monthly @yearly @annually, any case', async () => {
  const from = '2026-01-01T00:00:00Z';
  const cases = {
    '@hourly': '2026-01-01T01:00:00.000Z', '@daily': '2026-01-02T00:00:00.000Z', '@midnight': '2026-01-02T00:00:00.000Z',
    '@weekly': '2026-01-04T00:00:00.000Z', '@monthly': '2026-02-01T00:00:00.000Z', '@yearly': '2027-01-01T00:00:00.000Z',
    '@annually': '2027-01-01T00:00:00.000Z', '@DAILY': '2026-01-02T00:00:00.000Z', ' @Weekly ': '2026-01-04T00:00:00.000Z',
  };
  for (const [expr, want] of Object.entries(cases)) {
    assert.equal(await check(expr), null, expr);
    assert.equal(await next(expr, 'UTC', from), want, expr);
  }
  // In a time zone: @daily is local midnight.
  assert.equal(await next('@daily', 'America/New_York', from), '2026-01-01T05:00:00.000Z');
});

const INVALID = [
  [null, 'no expression (NULL)'],
  ['', 'expected 5 fields: minute hour day-of-month month day-of-week (got 0)'],
  [' \t ', 'expected 5 fields: minute hour day-of-month month day-of-week (got 0)'],
  ['* * * *', 'expected 5 fields: minute hour day-of-month month day-of-week (got 4)'],
  ['* * * * * *', 'expected 5 fields: minute hour day-of-month month day-of-week (got 6)'],
  ['61 * * * *', 'minute: 61 is out of 0-59'],
  ['0 24 * * *', 'hour: 24 is out of 0-23'],
  ['0 0 0 * *', 'day-of-month: 0 is out of 1-31'],
  ['0 0 32 * *', 'day-of-month: 32 is out of 1-31'],
  ['0 0 * 13 *', 'month: 13 is out of 1-12'],
  ['0 0 * 0 *', 'month: 0 is out of 1-12'],
  ['0 0 * * 8', 'day-of-week: 8 is out of 0-7'],
  ['99999999999999999999 * * * *', 'minute: 99999999999999999999 is out of 0-59'],
  ['x * * * *', 'minute: "x" is not a number'],
  ['MON * * * *', 'minute: "MON" is not a number'],
  ['0 0 * foo *', 'month: "foo" is not a number or a name (JAN-DEC)'],
  ['0 0 * * MONDAY', 'day-of-week: "MONDAY" is not a number or a name (SUN-SAT)'],
  ['0 0 * JAN-foo *', 'month: "foo" is not a number or a name (JAN-DEC)'],
  ['0 0 * * JAN', 'day-of-week: "JAN" is not a number or a name (SUN-SAT)'],
  ['0 0 MON * *', 'day-of-month: "MON" is not a number'],
  ['50-10 * * * *', 'minute: range 50-10 is backwards (50 > 10)'],
  ['0 0 * * FRI-MON', 'day-of-week: range FRI-MON is backwards (5 > 1)'],
  ['1-2-3 * * * *', 'minute: "1-2-3" is not a value or a range'],
  ['-5 * * * *', 'minute: "-5" is not a value or a range'],
  ['5- * * * *', 'minute: "5-" is not a value or a range'],
  ['1,,2 * * * *', 'minute: empty item in the list "1,,2"'],
  ['1, * * * *', 'minute: empty item in the list "1,"'],
  ['*/0 * * * *', 'minute: step 0 is out of 1-60'],
  ['*/61 * * * *', 'minute: step 61 is out of 1-60'],
  ['0 */25 * * *', 'hour: step 25 is out of 1-24'],
  ['*/x * * * *', 'minute: step "x" is not a number'],
  ['*/ * * * *', 'minute: step "" is not a number'],
  ['*/5/2 * * * *', 'minute: "*/5/2" has more than one /'],
  ['5/15 * * * *', 'minute: "5/15": a step needs * or a range before the / (*/15, 10-50/10)'],
  ['0 0 L * *', 'day-of-month: "L" is not a number'],
  ['0 0 ? * *', 'day-of-month: "?" is not a number'],
  ['0 0 * * 5#3', 'day-of-week: "5#3" is not a number or a name (SUN-SAT)'],
  ['@reboot', 'unknown shorthand "@reboot" (@hourly, @daily, @weekly, @monthly, @yearly)'],
  ['@', 'unknown shorthand "@" (@hourly, @daily, @weekly, @monthly, @yearly)'],
  ['@daily 5', 'unknown shorthand "@daily 5" (@hourly, @daily, @weekly, @monthly, @yearly)'],
  ['٣ * * * *', 'minute: "٣" is not a number'], // an Arabic-Indic digit
  ['🕐 * * * *', 'minute: "🕐" is not a number'],
  ['* * * * *\u00e9', 'day-of-week: "*é" is not a number or a name (SUN-SAT)'],
  [`${'1,'.repeat(600)}1 * * * *`, 'the expression is too long (1209 characters, at most 1000)'],
  ['x'.repeat(100000), 'the expression is too long (100000 characters, at most 1000)'],
];

test('invalid expressions: cron_check answers the message (never an exception), cron_next raises 22023 with it', async () => {
  for (const [expr, msg] of INVALID) {
    assert.equal(await check(expr), msg, JSON.stringify(expr));
    await assert.rejects(next(expr, 'UTC', NY), (e) => {
      assert.equal(e.code, '22023', JSON.stringify(expr));
      assert.equal(e.message, msg);
      return true;
    });
    await assert.rejects(upcoming(expr, 'UTC', NY, '2026-02-01T00:00:00Z', 10), (e) => e.code === '22023' && e.message === msg);
  }
  // Over a table of junk in one statement: a message for each, no exception.
  const junk = (await app.query(`SELECT count(*)::int AS n, count(cron_check(e))::int AS msgs FROM (
      SELECT chr(32 + (g * 7919) % 5000) || repeat(substr(md5(g::text), 1, 1 + g % 9), g % 4) || ' ' || g AS e
        FROM generate_series(1, 2000) g) j`)).rows[0];
  assert.deepEqual(junk, { n: 2000, msgs: 2000 });
  // Valid ones say NULL
  for (const ok of ['0 0 1 1 *', '59 23 31 12 7', '0-59 0-23 1-31 1-12 0-7', '*/60 */24 */31 */12 */8', '1-1 2-2 3-3 4-4 5-5']) {
    assert.equal(await check(ok), null, ok);
  }
});

test('an unknown or missing time zone raises 22023; a bad limit too', async () => {
  for (const [tz, msg] of [['Mars/Olympus_Mons', 'time zone: "Mars/Olympus_Mons" is not a known time zone'],
    ['', 'time zone: missing'], [null, 'time zone: missing'],
    ['America/New York', 'time zone: "America/New York" is not a known time zone']]) {
    await assert.rejects(next('* * * * *', tz, NY), (e) => e.code === '22023' && e.message === msg, String(tz));
    await assert.rejects(upcoming('* * * * *', tz, NY, '2026-01-02T00:00:00Z', 5),
      (e) => e.code === '22023' && e.message === msg);
  }
  for (const n of [0, -1, 10001, null]) {
    await assert.rejects(upcoming('* * * * *', 'UTC', NY, '2026-01-02T00:00:00Z', n),
      (e) => e.code === '22023' && e.message === `limit: ${n ?? 'NULL'} is out of 1-10000`);
  }
  // A NULL or infinite instant: no firing, no error.
  assert.equal(await next('* * * * *', 'UTC', null), null);
  assert.equal(await next('* * * * *', 'UTC', 'infinity'), null);
  assert.equal(await next('* * * * *', 'UTC', '-infinity'), null);
  // Instants at the ends of PostgreSQL's range: NULL, not "date out of range".
  assert.equal(await next('* * * * *', 'UTC', '294276-12-31T00:00:00Z'), null);
  assert.equal(await next('* * * * *', 'Pacific/Kiritimati', '4713-01-01 00:00Z BC'), null);
  assert.deepEqual(await upcoming('* * * * *', 'UTC', '-infinity', 'infinity', 3), []);
  assert.deepEqual(await upcoming('* * * * *', 'UTC', '2026-01-01T00:00:00Z', 'infinity', 2),
    ['2026-01-01T00:00:00.000Z', '2026-01-01T00:01:00.000Z']);
});

test('day-of-month and day-of-week: both restricted → either matches; one is * (or */n) → both must', async () => {
  // January 2026: Fridays 2, 9, 16, 23, 30; the 13th is a Tuesday.
  assert.deepEqual(await upcoming('0 0 13 * FRI', 'UTC', NY, '2026-02-01T00:00:00Z'),
    ['02', '09', '13', '16', '23', '30'].map((d) => `2026-01-${d}T00:00:00.000Z`));
  assert.deepEqual(await upcoming('0 0 13 * *', 'UTC', NY, '2026-02-01T00:00:00Z'), ['2026-01-13T00:00:00.000Z']);
  assert.deepEqual(await upcoming('0 0 * * FRI', 'UTC', NY, '2026-02-01T00:00:00Z'),
    ['02', '09', '16', '23', '30'].map((d) => `2026-01-${d}T00:00:00.000Z`));
  assert.deepEqual(await upcoming('0 0 1,15 * 1', 'UTC', NY, '2026-02-01T00:00:00Z'),
    ['01', '05', '12', '15', '19', '26'].map((d) => `2026-01-${d}T00:00:00.000Z`));
  // */10 starts with *: days 1, 11, 21, 31 that are also Fridays — the first is 2026-05-01.
  assert.equal(await next('0 0 */10 * FRI', 'UTC', NY), '2026-05-01T00:00:00.000Z');
  // and the other way: the 13th AND any day of the week (*/1): every 13th
  assert.deepEqual(await upcoming('0 0 13 * */1', 'UTC', NY, '2026-03-01T00:00:00Z'),
    ['2026-01-13T00:00:00.000Z', '2026-02-13T00:00:00.000Z']);
});

test('UTC, year wrap, February 29, nothing within 5 years → NULL', async () => {
  assert.equal(await next('0 0 1 1 *', 'UTC', '2026-12-31T23:59:59Z'), '2027-01-01T00:00:00.000Z');
  assert.equal(await next('59 23 31 12 *', 'UTC', '2026-12-31T23:59:00Z'), '2027-12-31T23:59:00.000Z');
  assert.equal(await next('* * * * *', 'UTC', '2026-12-31T23:59:30Z'), '2027-01-01T00:00:00.000Z');
  assert.equal(await next('0 0 29 2 *', 'UTC', '2026-01-01T00:00:00Z'), '2028-02-29T00:00:00.000Z');
  assert.deepEqual(await chain('0 0 29 2 *', 'UTC', '2026-01-01T00:00:00Z', 3),
    ['2028-02-29T00:00:00.000Z', '2032-02-29T00:00:00.000Z', '2036-02-29T00:00:00.000Z']);
  assert.equal(await next('0 12 29 feb *', 'Europe/London', '2027-06-01T00:00:00Z'), '2028-02-29T12:00:00.000Z');
  // 2100 is not a leap year: after 2096 the next 29 February is 2104, more than 5 years away.
  assert.equal(await next('0 0 29 2 *', 'UTC', '2096-03-01T00:00:00Z'), null);
  for (const never of ['0 0 30 2 *', '0 0 31 4 *', '0 0 31 2,4,6,9,11 *', '0 0 30,31 feb *']) {
    assert.equal(await next(never, 'UTC', NY), null, never);
    assert.equal(await next(never, 'America/New_York', NY), null, never);
    assert.deepEqual(await upcoming(never, 'UTC', NY, '2040-01-01T00:00:00Z'), []);
  }
  // Either-or still finds a Monday in February when the 30th never comes (2026-02-02 is one).
  assert.equal(await next('0 0 30 2 MON', 'UTC', NY), '2026-02-02T00:00:00.000Z');
});

test('New York, spring forward 2026-03-08 (02:00 EST → 03:00 EDT): a skipped wall time fires once, just after the gap', async () => {
  const tz = 'America/New_York';
  // 02:30 daily: 07:30Z on the 7th (EST), 03:30 EDT on the 8th, 02:30 EDT on the 9th.
  assert.deepEqual(await upcoming('30 2 * * *', tz, '2026-03-07T00:00:00-05:00', '2026-03-10T00:00:00-04:00'),
    [Z('2026-03-07T02:30:00-05:00'), Z('2026-03-08T03:30:00-04:00'), Z('2026-03-09T02:30:00-04:00')]);
  assert.equal(await next('30 2 * * *', tz, '2026-03-08T01:59:00-05:00'), Z('2026-03-08T03:30:00-04:00'));
  // From inside the gap's image: 03:10 EDT — the skipped 02:30 still fires, at 03:30; once.
  assert.equal(await next('30 2 * * *', tz, '2026-03-08T03:10:00-04:00'), Z('2026-03-08T03:30:00-04:00'));
  assert.equal(await next('30 2 * * *', tz, '2026-03-08T03:30:00-04:00'), Z('2026-03-09T02:30:00-04:00'));
  // */15 in hour 2: 03:00, 03:15, 03:30, 03:45 EDT, each once.
  assert.deepEqual(await upcoming('*/15 2 * * *', tz, '2026-03-08T00:00:00-05:00', '2026-03-09T00:00:00-04:00'),
    ['03:00', '03:15', '03:30', '03:45'].map((t) => Z(`2026-03-08T${t}:00-04:00`)));
  // 02:00 and 03:00 name the same instant, so do 02:30 and 03:30: each fires once, in order.
  assert.deepEqual(await upcoming('0,30 2,3 * * *', tz, '2026-03-08T00:00:00-05:00', '2026-03-09T00:00:00-04:00'),
    [Z('2026-03-08T03:00:00-04:00'), Z('2026-03-08T03:30:00-04:00')]);
  assert.deepEqual(await chain('0,30 2,3 * * *', tz, '2026-03-08T00:00:00-05:00', 3),
    [Z('2026-03-08T03:00:00-04:00'), Z('2026-03-08T03:30:00-04:00'), Z('2026-03-09T02:00:00-04:00')]);
  assert.deepEqual(await upcoming('0,15 3 * * *', tz, '2026-03-08T00:00:00-05:00', '2026-03-09T00:00:00-04:00'),
    [Z('2026-03-08T03:00:00-04:00'), Z('2026-03-08T03:15:00-04:00')]);
  assert.deepEqual(await upcoming('30 2 * * *', tz, '2026-03-08T00:00:00-05:00', '2026-03-09T00:00:00-04:00'),
    [Z('2026-03-08T03:30:00-04:00')]);
  assert.deepEqual(await upcoming('0,15 3 * * *', tz, '2026-03-08T03:00:00-04:00', '2026-03-08T03:31:00-04:00'),
    [Z('2026-03-08T03:00:00-04:00'), Z('2026-03-08T03:15:00-04:00')]);
  assert.deepEqual(await upcoming('15 3 * * *', tz, '2026-03-08T00:00:00-05:00', '2026-03-09T00:00:00-04:00'),
    [Z('2026-03-08T03:15:00-04:00')]);
  // Both: 02:30 (→ 03:30) and 03:15 in one schedule need a list per field; 15,30 2,3 names 02:15 (→ 03:15),
  // 02:30 (→ 03:30), 03:15, 03:30: two instants, in instant order.
  assert.deepEqual(await upcoming('15,30 2,3 * * *', tz, '2026-03-08T00:00:00-05:00', '2026-03-09T00:00:00-04:00'),
    [Z('2026-03-08T03:15:00-04:00'), Z('2026-03-08T03:30:00-04:00')]);
  // 45 2 (→ 03:45) and 0 3: 03:00 first though its wall time is later.
  assert.deepEqual(await upcoming('0,45 2-3 * * *', tz, '2026-03-08T00:00:00-05:00', '2026-03-09T00:00:00-04:00'),
    [Z('2026-03-08T03:00:00-04:00'), Z('2026-03-08T03:45:00-04:00')]);
});

test('New York, fall back 2026-11-01 (02:00 EDT → 01:00 EST): a repeated wall time fires once, at its first occurrence', async () => {
  const tz = 'America/New_York';
  assert.deepEqual(await upcoming('30 1 * * *', tz, '2026-10-31T00:00:00-04:00', '2026-11-03T00:00:00-05:00'),
    [Z('2026-10-31T01:30:00-04:00'), Z('2026-11-01T01:30:00-04:00'), Z('2026-11-02T01:30:00-05:00')]);
  // After the first 01:30 (EDT), the next is the following day — not 01:30 EST an hour later.
  assert.equal(await next('30 1 * * *', tz, '2026-11-01T01:30:00-04:00'), Z('2026-11-02T01:30:00-05:00'));
  // Also from between the two occurrences, and from inside the repeated hour.
  assert.equal(await next('30 1 * * *', tz, '2026-11-01T01:45:00-04:00'), Z('2026-11-02T01:30:00-05:00'));
  assert.equal(await next('30 1 * * *', tz, '2026-11-01T01:10:00-05:00'), Z('2026-11-02T01:30:00-05:00'));
  assert.equal(await next('30 1 * * *', tz, '2026-11-01T01:29:00-04:00'), Z('2026-11-01T01:30:00-04:00'));
  // Every 20 minutes across the repeated hour: 00:40 EDT, 01:00/01:20/01:40 EDT, then 02:00 EST.
  assert.deepEqual(await upcoming('*/20 * * * *', tz, '2026-11-01T00:40:00-04:00', '2026-11-01T02:01:00-05:00'),
    [Z('2026-11-01T00:40:00-04:00'), Z('2026-11-01T01:00:00-04:00'), Z('2026-11-01T01:20:00-04:00'),
      Z('2026-11-01T01:40:00-04:00'), Z('2026-11-01T02:00:00-05:00')]);
  assert.equal(await next('*/20 * * * *', tz, '2026-11-01T01:40:00-04:00'), Z('2026-11-01T02:00:00-05:00'));
  assert.equal(await next('*/20 * * * *', tz, '2026-11-01T01:05:00-05:00'), Z('2026-11-01T02:00:00-05:00'));
});

test('cron_upcoming counts: a day of */5 is 288; New York hours on its 23-hour and 25-hour days', async () => {
  assert.equal((await upcoming('*/5 * * * *', 'UTC', '2026-06-01T00:00:00Z', '2026-06-02T00:00:00Z')).length, 288);
  assert.equal((await upcoming('*/5 * * * *', 'America/New_York', '2026-06-01T00:00:00-04:00', '2026-06-02T00:00:00-04:00')).length, 288);
  const tz = 'America/New_York';
  // Spring-forward day (23 hours long): the wall hours 00..23 are 24, but 02:00 is skipped and fires at
  // 03:00 EDT, the instant 03:00 names too: 23 firings, one per hour of the day.
  const spring = await upcoming('0 * * * *', tz, '2026-03-08T00:00:00-05:00', '2026-03-09T00:00:00-04:00');
  assert.deepEqual(spring, [Z('2026-03-08T00:00:00-05:00'), Z('2026-03-08T01:00:00-05:00'),
    ...Array.from({ length: 21 }, (_, i) => Z(`2026-03-08T${String(i + 3).padStart(2, '0')}:00:00-04:00`))]);
  assert.equal(spring.length, 23);
  // Fall-back day (25 hours long): 24 wall hours, 01:00 fires at its first occurrence (EDT) only: 24.
  const fall = await upcoming('0 * * * *', tz, '2026-11-01T00:00:00-04:00', '2026-11-02T00:00:00-05:00');
  assert.deepEqual(fall, [Z('2026-11-01T00:00:00-04:00'), Z('2026-11-01T01:00:00-04:00'),
    ...Array.from({ length: 22 }, (_, i) => Z(`2026-11-01T${String(i + 2).padStart(2, '0')}:00:00-05:00`))]);
  assert.equal(fall.length, 24);
  // Half hours: spring 48 wall times, 02:00 and 02:30 coincide with 03:00 and 03:30 → 46; fall 48.
  assert.equal((await upcoming('*/30 * * * *', tz, '2026-03-08T00:00:00-05:00', '2026-03-09T00:00:00-04:00')).length, 46);
  assert.equal((await upcoming('*/30 * * * *', tz, '2026-11-01T00:00:00-04:00', '2026-11-02T00:00:00-05:00')).length, 48);
  // The window: from inclusive, until exclusive, at most the limit.
  assert.deepEqual(await upcoming('0 * * * *', 'UTC', '2026-06-01T03:00:00Z', '2026-06-01T05:00:00Z'),
    ['2026-06-01T03:00:00.000Z', '2026-06-01T04:00:00.000Z']);
  assert.deepEqual(await upcoming('0 * * * *', 'UTC', '2026-06-01T03:00:00Z', '2026-06-01T05:00:00Z', 1),
    ['2026-06-01T03:00:00.000Z']);
  assert.equal((await upcoming('* * * * *', 'UTC', '2026-01-01T00:00:00Z', '2027-01-01T00:00:00Z')).length, 10000);
  assert.deepEqual(await upcoming('0 * * * *', 'UTC', '2026-06-01T05:00:00Z', '2026-06-01T03:00:00Z'), []);
});

test('Europe/London and Australia/Lord_Howe (clocks move 30 minutes)', async () => {
  const L = 'Europe/London';
  // 2026-03-29 01:00 GMT → 02:00 BST: 01:30 is skipped and fires at 02:30 BST (01:30Z).
  assert.equal(await next('30 1 * * *', L, '2026-03-29T00:00:00Z'), '2026-03-29T01:30:00.000Z');
  assert.deepEqual(await upcoming('0,30 1,2 * * *', L, '2026-03-29T00:00:00Z', '2026-03-30T00:00:00+01:00'),
    ['2026-03-29T01:00:00.000Z', '2026-03-29T01:30:00.000Z']);
  // 2026-10-25 02:00 BST → 01:00 GMT: 01:30 fires at 01:30 BST (00:30Z) only.
  assert.deepEqual(await upcoming('30 1 * * *', L, '2026-10-24T12:00:00Z', '2026-10-26T12:00:00Z'),
    ['2026-10-25T00:30:00.000Z', '2026-10-26T01:30:00.000Z']);
  assert.equal(await next('30 1 * * *', L, '2026-10-25T00:30:00Z'), '2026-10-26T01:30:00.000Z');
  assert.equal(await next('0 9 * * MON-FRI', L, '2026-07-03T09:00:00+01:00'), Z('2026-07-06T09:00:00+01:00'));

  const H = 'Australia/Lord_Howe';
  // 2026-04-05 02:00 +11 → 01:30 +10:30: 01:45 fires at 01:45 +11 only.
  assert.deepEqual(await upcoming('45 1 * * *', H, '2026-04-04T12:00:00+11:00', '2026-04-06T12:00:00+10:30'),
    [Z('2026-04-05T01:45:00+11:00'), Z('2026-04-06T01:45:00+10:30')]);
  assert.equal(await next('45 1 * * *', H, '2026-04-05T01:45:00+11:00'), Z('2026-04-06T01:45:00+10:30'));
  // 2026-10-04 02:00 +10:30 → 02:30 +11: 02:15 fires at 02:45 +11; with 02:45 named too, once.
  assert.deepEqual(await upcoming('15,45 2 * * *', H, '2026-10-04T00:00:00+10:30', '2026-10-05T00:00:00+11:00'),
    [Z('2026-10-04T02:45:00+11:00')]);
  assert.deepEqual(await upcoming('0,15 2 * * *', H, '2026-10-04T00:00:00+10:30', '2026-10-05T00:00:00+11:00'),
    [Z('2026-10-04T02:30:00+11:00'), Z('2026-10-04T02:45:00+11:00')]);
  // A day of quarter hours: 96 on the 24.5-hour day; 94 on the 23.5-hour day (02:00, 02:15 meet 02:30, 02:45).
  assert.equal((await upcoming('*/15 * * * *', H, '2026-04-05T00:00:00+11:00', '2026-04-06T00:00:00+10:30')).length, 96);
  assert.equal((await upcoming('*/15 * * * *', H, '2026-10-04T00:00:00+10:30', '2026-10-05T00:00:00+11:00')).length, 94);
});

// ---------------------------------------------------------------------------
// The reference: what the DST rules say, computed minute by minute from the
// platform's own time zone data, compared exactly with cron_upcoming around
// every 2026 transition of several zones.

function parseField(text, lo, hi, names) {
  const out = new Set();
  for (const item of text.split(',')) {
    const [base, stepText] = item.split('/');
    const step = stepText === undefined ? 1 : Number(stepText);
    const val = (s) => (/^\d+$/.test(s) ? Number(s) : names.indexOf(s.toUpperCase()) + lo);
    let a, b;
    if (base === '*') [a, b] = [lo, hi];
    else if (base.includes('-')) [a, b] = base.split('-').map(val);
    else a = b = val(base);
    for (let v = a; v <= b; v += step) out.add(v);
  }
  return out;
}
function matcher(expr) {
  const f = expr.trim().split(/\s+/);
  const mi = parseField(f[0], 0, 59, []), h = parseField(f[1], 0, 23, []), dom = parseField(f[2], 1, 31, []);
  const mon = parseField(f[3], 1, 12, ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC']);
  const dow = parseField(f[4], 0, 7, ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT']);
  if (dow.has(7)) dow.add(0);
  const either = !f[2].startsWith('*') && !f[4].startsWith('*');
  return (w) => {
    if (!mi.has(w.mi) || !h.has(w.h) || !mon.has(w.mo)) return false;
    const a = dom.has(w.d), b = dow.has(w.dow);
    return either ? a || b : a && b;
  };
}
const fmts = new Map();
/** The wall time at instant ms in tz, as minutes since 1970 read as UTC. */
function wallMinutes(tz, ms) {
  if (!fmts.has(tz)) {
    fmts.set(tz, new Intl.DateTimeFormat('en-US', { timeZone: tz, hourCycle: 'h23', year: 'numeric', month: 'numeric',
      day: 'numeric', hour: 'numeric', minute: 'numeric' }));
  }
  const p = Object.fromEntries(fmts.get(tz).formatToParts(new Date(ms)).map((x) => [x.type, x.value]));
  return Date.UTC(Number(p.year), Number(p.month) - 1, Number(p.day), Number(p.hour), Number(p.minute)) / 60000;
}
function wallParts(wm) {
  const d = new Date(wm * 60000);
  return { mo: d.getUTCMonth() + 1, d: d.getUTCDate(), dow: d.getUTCDay(), h: d.getUTCHours(), mi: d.getUTCMinutes() };
}
/** The firings in [fromMs, untilMs): each wall time's first occurrence; a wall time skipped by a
 *  gap at the instant the gap's earlier offset gives it (as far after the gap's start as it was meant to be). */
function reference(expr, tz, fromMs, untilMs) {
  const match = matcher(expr);
  const seen = new Set();
  const fired = new Set();
  const start = fromMs - 6 * 3600000; // wall times first read before the window are seen
  let prev = wallMinutes(tz, start - 60000);
  for (let t = start; t < untilMs; t += 60000) {
    const w = wallMinutes(tz, t);
    for (let s = prev + 1; s < w; s++) { // skipped by a gap
      if (!seen.has(s) && match(wallParts(s))) fired.add(t - 60000 + (s - prev) * 60000);
    }
    if (!seen.has(w) && match(wallParts(w))) fired.add(t);
    for (let s = prev + 1; s <= w; s++) seen.add(s);
    seen.add(w);
    prev = w;
  }
  return [...fired].filter((t) => t >= fromMs && t < untilMs).sort((a, b) => a - b).map((t) => new Date(t).toISOString());
}
/** The instants in 2026 at which tz's offset changes (to the minute). */
function transitions(tz) {
  const out = [];
  const off = (ms) => wallMinutes(tz, ms) - ms / 60000;
  let t = Date.UTC(2026, 0, 1);
  let o = off(t);
  for (; t < Date.UTC(2027, 0, 1); t += 3600000) {
    const o2 = off(t + 3600000);
    if (o2 !== o) {
      let lo = t, hi = t + 3600000; // offset(lo) = o, offset(hi) = o2
      while (hi - lo > 60000) {
        const mid = lo + Math.floor((hi - lo) / 120000) * 60000;
        if (off(mid) === o) lo = mid; else hi = mid;
      }
      out.push(hi);
      o = o2;
    }
  }
  return out;
}

test('around every 2026 transition of New York, London, Lord Howe, Santiago (at midnight), Sydney: exactly the reference', async () => {
  const exprs = ['*/15 * * * *', '0 * * * *', '30 1 * * *', '30 2 * * *', '0,30 0-3 * * *', '*/7 1-2 * * *', '45 23 * * *',
    '0 0 * * *', '15 0 * * SUN', '5 1,2 1-10 * 0', '59 1 * * *', '0,20,40 22-23,0-1 * * *', '0 0 13 * FRI', '30 0 * * *'];
  let compared = 0;
  for (const tz of ['America/New_York', 'Europe/London', 'Australia/Lord_Howe', 'America/Santiago', 'Australia/Sydney', 'UTC']) {
    const ts = transitions(tz);
    assert.equal(ts.length, tz === 'UTC' ? 0 : 2, `${tz} changes its clocks twice in 2026: ${ts.map((t) => new Date(t).toISOString())}`);
    const windows = tz === 'UTC' ? [Date.UTC(2026, 5, 1)] : ts;
    for (const at of windows) {
      const from = at - 40 * 3600000, until = at + 40 * 3600000;
      for (const expr of exprs) {
        const want = reference(expr, tz, from, until);
        const got = await upcoming(expr, tz, new Date(from).toISOString(), new Date(until).toISOString());
        assert.deepEqual(got, want, `${expr} in ${tz} around ${new Date(at).toISOString()}`);
        // cron_next from each firing gives the next one (a firing at the end of the window: the next after it).
        for (let i = 0; i + 1 < got.length; i++) {
          assert.equal(await next(expr, tz, got[i]), got[i + 1], `${expr} in ${tz} after ${got[i]}`);
        }
        // cron_next from points all over the window (every 37 minutes: inside gaps' images, repeated hours, ...)
        // is the reference's first firing after each.
        const ahead = reference(expr, tz, from, until + 30 * 3600000);
        const points = (await app.query(`SELECT p, cron_next($1, $2, p) AS t FROM generate_series($3::timestamptz,
            $4::timestamptz, interval '37 minutes') p`, [expr, tz, new Date(from).toISOString(), new Date(until).toISOString()])).rows;
        assert.equal(points.length, Math.floor((until - from) / (37 * 60000)) + 1);
        for (const { p, t } of points) {
          const ref = ahead.find((x) => Date.parse(x) > p.getTime());
          if (ref !== undefined) assert.equal(iso(t), ref, `${expr} in ${tz} after ${iso(p)}`);
          else assert.ok(t === null || t.getTime() >= until + 30 * 3600000, `${expr} in ${tz} after ${iso(p)}: ${iso(t)}`);
        }
        compared += want.length + points.length;
      }
    }
  }
  assert.ok(compared > 20000, `firings compared: ${compared}`);
});
