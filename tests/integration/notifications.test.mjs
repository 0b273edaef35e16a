// notifications.test.mjs — issue 14's notifications end to end: a real
// server and worker, a signed webhook to a receiver on a loopback port,
// retried with backoff after a 500, the delivery log, the test button;
// e-mail to an SMTP sink (tests/integration/lib/smtp_sink.mjs): an
// invitation, an immediate notification and a daily digest; secrets shown
// once and never in the logs; the portfolio wall.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { createHmac } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, chmodSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startStack, startServer, createDatabase, dropDatabase, waitFor, client, BIN } from './lib/stack.mjs';
import { portfolio, brand, member, token, tokenClient, unique, PASSWORD } from './lib/world.mjs';
import { startSmtpSink } from './lib/smtp_sink.mjs';

let stack, worker, sink, receiver, P, Q, A, B, C;

/** An HTTP receiver on a port the kernel picks: records every request, answers from `plan` (then 200). */
async function startReceiver() {
  const got = [];
  const plan = [];
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      if (req.url === '/hook/hang' && !got.some((g) => g.url === '/hook/hang')) {
        got.push({ at: Date.now(), method: req.method, url: req.url, headers: req.headers, body, status: null });
        return; // no answer: the sender is killed while it waits
      }
      const status = plan.length ? plan.shift() : 200;
      got.push({ at: Date.now(), method: req.method, url: req.url, headers: req.headers, body, status });
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end(status === 200 ? 'ok' : 'not now');
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { got, plan, url: (path) => `http://127.0.0.1:${server.address().port}${path}`,
    close: () => new Promise((r) => server.close(() => r())) };
}

const pathOf = (p) => `/api/v1/portfolios/${p.pid}`;

function verify(req, secret) {
  const ts = req.headers['x-onecount-timestamp'];
  const sig = req.headers['x-onecount-signature'];
  assert.match(ts, /^\d{10}$/);
  assert.ok(Math.abs(Number(ts) - Date.now() / 1000) < 120, 'the timestamp is now');
  const want = `v1=${createHmac('sha256', secret).update(`${ts}.${req.body}`).digest('hex')}`;
  assert.equal(sig, want, 'X-Onecount-Signature is HMAC-SHA256(secret, timestamp + "." + body)');
  const body = JSON.parse(req.body);
  assert.equal(req.headers['x-onecount-delivery'], body.id, 'the delivery id is in the header and the body');
  assert.equal(req.headers['x-onecount-event'], body.event);
  assert.equal(req.headers['content-type'], 'application/json');
  return body;
}

/**
 * Opens an alert the way the worker does (alert_open, migration 0006): the trigger of 0034 notifies.  One alert
 * of a kind is open at a time (alert_open adds none while one is): the last one of the kind is resolved first.
 */
async function openAlert(brandId, kind, message) {
  await stack.sql('SELECT alert_resolve($1, NULL, $2)', [brandId, kind]);
  await stack.sql('SELECT alert_open($1, NULL, $2, $3)', [brandId, kind, message]);
}

const secrets = [];

before(async () => {
  sink = await startSmtpSink();
  receiver = await startReceiver();
  stack = await startStack({ env: { ONECOUNT_SMTP_URL: sink.url, ONECOUNT_SMTP_FROM: 'alerts@onecount.test',
    ONECOUNT_PUBLIC_URL: 'https://console.onecount.test/', ONECOUNT_NOTIFY_POLL_MS: '200' } });
  worker = await stack.startWorker();
  P = await portfolio(stack);
  Q = await portfolio(stack);
  A = await brand(P);
  B = await brand(P);
  C = await brand(Q);
});

after(async () => {
  await stack?.stop();
  await receiver?.close();
  await sink?.close();
});

test('without an SMTP relay: e-mail is off, said so, and invitations queue no e-mail', async () => {
  const bare = await startStack();
  try {
    const p = await portfolio(bare);
    const b = await brand(p);
    const me = await p.api.get(`${pathOf(p)}/notifications/me`);
    assert.equal(me.status, 200);
    assert.equal(me.json.email_enabled, false);
    const put = await p.api.put(`${pathOf(p)}/notifications/me`, { email_mode: 'immediate' });
    assert.equal(put.status, 200, 'preferences are kept for when it is configured');
    assert.equal(put.json.email_enabled, false);
    const inv = await p.api.post(`/api/v1/brands/${b.id}/invitations`, { email: `${unique('x')}@example.test`, role: 'viewer' });
    assert.equal(inv.status, 201);
    assert.equal((await bare.sql("SELECT 1 FROM notify_outbox WHERE event = 'invitation'")).rowCount, 0);
  } finally {
    await bare.stop();
  }
});

test('an endpoint with a bad address, kinds or brands is refused with every problem at once', async () => {
  for (const url of ['ftp://example.test/hook', 'not a url', 'http://', 'http://user:pw@example.test/', 'javascript:alert(1)',
    'http://exa mple.test/']) {
    const r = await P.api.post(`${pathOf(P)}/webhooks`, { name: 'x', url, kinds: ['Bad Kind'], brand_ids: ['nope'] });
    assert.equal(r.status, 422, `${url}: ${r.text}`);
    const fields = r.json.error.problems.map((p) => p.field).sort();
    assert.deepEqual(fields, ['brand_ids', 'kinds', 'url'], `${url}: ${r.text}`);
  }
  const missing = await P.api.post(`${pathOf(P)}/webhooks`, {});
  assert.equal(missing.status, 422);
  assert.deepEqual(missing.json.error.problems.map((p) => p.field).sort(), ['name', 'url']);
  // another portfolio's brand is not one of this portfolio's
  const foreign = await P.api.post(`${pathOf(P)}/webhooks`, { name: 'x', url: receiver.url('/x'), brand_ids: [A.id, C.id] });
  assert.equal(foreign.status, 422, foreign.text);
  assert.deepEqual(foreign.json.error.problems, [{ field: 'brand_ids[1]', message: 'not a brand of this portfolio' }]);
  assert.equal((await P.api.get(`${pathOf(P)}/webhooks`)).json.length, 0, 'nothing was made');
});

test('the signing secret is shown once, stored sealed, and signs the test delivery', async () => {
  const made = await P.api.post(`${pathOf(P)}/webhooks`, { name: 'Ops pager', url: receiver.url('/hook/one'), kinds: null });
  assert.equal(made.status, 201, made.text);
  const { secret, id } = made.json;
  secrets.push(secret);
  assert.match(secret, /^whsec_[0-9a-f]{64}$/);
  assert.equal(made.json.url, receiver.url('/hook/one'));
  // never again: not in the list, not in the endpoint, not in the database in clear
  const list = await P.api.get(`${pathOf(P)}/webhooks`);
  assert.equal(list.status, 200);
  assert.equal(list.json.length, 1);
  assert.ok(!list.text.includes(secret) && !('secret' in list.json[0]));
  const one = await P.api.get(`${pathOf(P)}/webhooks/${id}`);
  assert.ok(!one.text.includes(secret) && !('secret' in one.json));
  const row = await stack.sql('SELECT row_to_json(e)::text AS t FROM webhook_endpoints e WHERE id = $1', [id]);
  assert.ok(!row.rows[0].t.includes(secret) && !row.rows[0].t.includes(secret.slice(6)), 'the secret is sealed');

  const t = await P.api.post(`${pathOf(P)}/webhooks/${id}/test`, {});
  assert.equal(t.status, 201, t.text);
  assert.equal(t.json.event, 'test');
  const req = await waitFor(() => receiver.got.find((g) => g.headers['x-onecount-delivery'] === t.json.id),
    { what: 'the test delivery' });
  assert.equal(req.method, 'POST');
  assert.equal(req.url, '/hook/one');
  const body = verify(req, secret);
  assert.equal(body.event, 'test');
  assert.equal(body.portfolio_id, P.pid);
  const log = await waitFor(async () => {
    const d = (await P.api.get(`${pathOf(P)}/webhooks/${id}/deliveries`)).json.items.find((x) => x.id === t.json.id);
    return d?.state === 'delivered' && d;
  }, { what: 'the test delivery logged as delivered' });
  assert.equal(log.attempts, 1);
  assert.equal(log.log.length, 1);
  assert.equal(log.log[0].status_code, 200);
  assert.ok(log.log[0].duration_ms >= 0);
  // a wrong secret would not verify
  assert.throws(() => verify(req, `${secret}x`));

  // rotating answers a new secret once; the next delivery is signed with it
  const rot = await P.api.post(`${pathOf(P)}/webhooks/${id}/rotate`, {});
  assert.equal(rot.status, 200, rot.text);
  assert.notEqual(rot.json.secret, secret);
  secrets.push(rot.json.secret);
  const t2 = await P.api.post(`${pathOf(P)}/webhooks/${id}/test`, {});
  const req2 = await waitFor(() => receiver.got.find((g) => g.headers['x-onecount-delivery'] === t2.json.id),
    { what: 'the second test delivery' });
  verify(req2, rot.json.secret);
  assert.throws(() => verify(req2, secret));
  await P.api.del(`${pathOf(P)}/webhooks/${id}`);
});

test('an alert is delivered to the endpoints that match it; a 500 is retried after the backoff', async () => {
  const all = await P.api.post(`${pathOf(P)}/webhooks`, { name: 'All of A', url: receiver.url('/hook/a'), brand_ids: [A.id] });
  const other = await P.api.post(`${pathOf(P)}/webhooks`, { name: 'Oversells only', url: receiver.url('/hook/oversell'),
    kinds: ['oversell'] });
  const off = await P.api.post(`${pathOf(P)}/webhooks`, { name: 'Turned off', url: receiver.url('/hook/off'), active: false });
  const qs = await Q.api.post(`${pathOf(Q)}/webhooks`, { name: 'Q', url: receiver.url('/hook/q') });
  for (const r of [all, other, off, qs]) { assert.equal(r.status, 201, r.text); secrets.push(r.json.secret); }
  receiver.plan.push(500);
  const title = unique('Walmart refused the credentials');
  await openAlert(A.id, 'credentials', title);
  const first = await waitFor(() => receiver.got.find((g) => g.url === '/hook/a' && g.body.includes(title)),
    { what: 'the first delivery' });
  assert.equal(first.status, 500);
  const body = verify(first, all.json.secret);
  assert.equal(body.event, 'alert.opened');
  assert.equal(body.kind, 'credentials');
  assert.equal(body.severity, 'warning');
  assert.equal(body.title, title);
  assert.deepEqual(body.brand, { id: A.id, name: A.name });
  // the failed attempt is in the log with its status and the next attempt
  const pending = await waitFor(async () => {
    const d = (await P.api.get(`${pathOf(P)}/webhooks/${all.json.id}/deliveries`)).json.items.find((x) => x.id === body.id);
    return d?.log.length === 1 && d;
  }, { what: 'the failed attempt logged' });
  assert.equal(pending.state, 'pending');
  assert.equal(pending.log[0].status_code, 500);
  assert.match(pending.log[0].error, /HTTP 500/);
  assert.ok(pending.next_attempt_at, 'the next attempt is said');
  const wait = Date.parse(pending.next_attempt_at) - Date.parse(pending.log[0].at);
  assert.ok(wait >= 9000 && wait <= 11000, `the first retry waits 10 s (${wait} ms)`);
  // the retry: the same delivery, the same body, signed again
  const second = await waitFor(() => receiver.got.find((g) => g !== first && g.headers['x-onecount-delivery'] === body.id),
    { timeout: 25000, what: 'the retry' });
  assert.ok(second.at - first.at >= 9000, `retried after the backoff (${second.at - first.at} ms)`);
  assert.equal(second.body, first.body);
  verify(second, all.json.secret);
  const done = await waitFor(async () => {
    const d = (await P.api.get(`${pathOf(P)}/webhooks/${all.json.id}/deliveries`)).json.items.find((x) => x.id === body.id);
    return d?.state === 'delivered' && d;
  }, { what: 'the delivery delivered' });
  assert.deepEqual(done.log.map((a) => a.status_code), [500, 200]);
  assert.equal(done.attempts, 2);
  assert.equal(done.next_attempt_at, null);
  // not to an endpoint for other kinds, one turned off, or another portfolio's
  assert.ok(!receiver.got.some((g) => ['/hook/oversell', '/hook/off', '/hook/q'].includes(g.url) && g.body.includes(title)));
  // brand B is not among the first endpoint's brands
  const titleB = unique('B refused');
  await openAlert(B.id, 'credentials', titleB);
  const t = await P.api.post(`${pathOf(P)}/webhooks/${all.json.id}/test`, {});
  await waitFor(() => receiver.got.find((g) => g.headers['x-onecount-delivery'] === t.json.id), { what: 'a later delivery' });
  assert.ok(!receiver.got.some((g) => g.url === '/hook/a' && g.body.includes(titleB)));
});

test('an endpoint or a person asking for critical events only is not sent warnings', async () => {
  const bad = await P.api.post(`${pathOf(P)}/webhooks`, { name: 'x', url: receiver.url('/hook/x'), min_severity: 'urgent' });
  assert.equal(bad.status, 422, bad.text);
  assert.ok(bad.json.error.problems.some((p) => p.field === 'min_severity'), bad.text);
  const crit = await P.api.post(`${pathOf(P)}/webhooks`, { name: 'Critical only', url: receiver.url('/hook/critical'),
    brand_ids: [A.id], min_severity: 'critical' });
  assert.equal(crit.status, 201, crit.text);
  assert.equal(crit.json.min_severity, 'critical');
  secrets.push(crit.json.secret);
  const warning = unique('a warning');
  await openAlert(A.id, 'credentials', warning); // alerts are warnings
  const critical = unique('Oversold 3');
  await stack.sql(`SELECT notify_event($1, 'exception.opened', 'oversell', 'critical', $2, '{}')`, [A.id, critical]);
  const got = await waitFor(() => receiver.got.find((g) => g.url === '/hook/critical'), { what: 'the critical delivery' });
  assert.equal(verify(got, crit.json.secret).title, critical);
  // the warning was made first: had it matched, it would have been queued and sent with (or before) the critical one
  const queued = (await P.api.get(`${pathOf(P)}/webhooks/${crit.json.id}/deliveries`)).json.items;
  assert.equal(queued.length, 1, JSON.stringify(queued));
  assert.ok(!receiver.got.some((g) => g.url === '/hook/critical' && g.body.includes(warning)));
  // back to every severity
  const every = await P.api.patch(`${pathOf(P)}/webhooks/${crit.json.id}`, { min_severity: null });
  assert.equal(every.status, 200, every.text);
  assert.equal(every.json.min_severity, null);
  const later = unique('another warning');
  await openAlert(A.id, 'credentials', later);
  await waitFor(() => receiver.got.find((g) => g.url === '/hook/critical' && g.body.includes(later)), { what: 'the warning now' });
  // a person's preference keeps it too
  const put = await P.api.put(`${pathOf(P)}/notifications/me`, { min_severity: 'warning' });
  assert.equal(put.status, 200, put.text);
  assert.equal(put.json.min_severity, 'warning');
  assert.equal((await P.api.get(`${pathOf(P)}/notifications/me`)).json.min_severity, 'warning');
  assert.equal((await P.api.put(`${pathOf(P)}/notifications/me`, { min_severity: 3 })).status, 422);
  assert.equal((await P.api.put(`${pathOf(P)}/notifications/me`, { min_severity: null })).json.min_severity, null);
});

test('a delivery that keeps failing ends as failed after its last attempt', async () => {
  const dead = await P.api.post(`${pathOf(P)}/webhooks`, { name: 'Dead', url: 'http://127.0.0.1:9/nothing-listens' });
  secrets.push(dead.json.secret);
  const t = await P.api.post(`${pathOf(P)}/webhooks/${dead.json.id}/test`, {});
  const d = await waitFor(async () => {
    const x = (await P.api.get(`${pathOf(P)}/webhooks/${dead.json.id}/deliveries`)).json.items[0];
    return x?.log.length === 1 && x;
  }, { what: 'the refused attempt' });
  assert.equal(d.id, t.json.id);
  assert.equal(d.log[0].status_code, null);
  assert.ok(d.log[0].error.length > 0);
  // the last attempt: made due now (as the backoff would after an hour)
  await stack.sql(`UPDATE notify_outbox SET attempts = max_attempts - 1, next_attempt_at = now() WHERE id = $1`, [d.id]);
  const failed = await waitFor(async () => {
    const x = (await P.api.get(`${pathOf(P)}/webhooks/${dead.json.id}/deliveries`)).json.items[0];
    return x?.state === 'failed' && x;
  }, { what: 'the delivery failed' });
  assert.equal(failed.attempts, 6);
  assert.equal(failed.next_attempt_at, null);
});

test("another portfolio's endpoints are not found; only admins manage them; preferences are a person's", async () => {
  const mine = (await P.api.get(`${pathOf(P)}/webhooks`)).json[0].id;
  for (const [m, suffix] of [['get', ''], ['get', '/deliveries'], ['post', '/test'], ['post', '/rotate'], ['patch', ''], ['del', '']]) {
    const r = m === 'get' || m === 'del' ? await Q.api[m](`${pathOf(Q)}/webhooks/${mine}${suffix}`)
      : await Q.api[m](`${pathOf(Q)}/webhooks/${mine}${suffix}`, m === 'patch' ? { name: 'stolen' } : {});
    assert.equal(r.status, 404, `${m} ${suffix}: ${r.text}`);
  }
  assert.equal((await P.api.get(`${pathOf(P)}/webhooks/${mine}`)).json.name !== 'stolen', true);
  const op = await member(stack, P, A.id, 'operator');
  assert.equal((await op.api.get(`${pathOf(P)}/webhooks`)).status, 403);
  assert.equal((await op.api.get(`${pathOf(P)}/notifications/me`)).status, 200);
  const tok = tokenClient(stack.url, (await token(P, null, 'portfolio_admin')).token);
  const tr = await tok.get(`${pathOf(P)}/notifications/me`);
  assert.equal(tr.status, 403, tr.text);
  const bad = await P.api.put(`${pathOf(P)}/notifications/me`, { email_mode: 'sometimes', digest_hour: 24, kinds: 'all',
    brand_ids: [C.id], timezone: 'Mars/Olympus' });
  assert.equal(bad.status, 422);
  assert.deepEqual(bad.json.error.problems.map((p) => p.field).sort(), ['digest_hour', 'email_mode', 'kinds']);
  const bad2 = await P.api.put(`${pathOf(P)}/notifications/me`, { brand_ids: [C.id], timezone: 'Mars/Olympus' });
  assert.equal(bad2.status, 422);
  assert.deepEqual(bad2.json.error.problems.map((p) => p.field).sort(), ['brand_ids[0]', 'timezone']);
});

test('e-mail: an invitation, an immediate notification, and a daily digest reach the SMTP sink', async () => {
  const me = await P.api.get(`${pathOf(P)}/notifications/me`);
  assert.equal(me.status, 200);
  assert.equal(me.json.email_enabled, true);
  assert.equal(me.json.email_mode, 'off');
  assert.equal(me.json.timezone, A.timezone, "the zone of the portfolio's first brand by default");

  // an invitation is e-mailed with its link
  const invited = `${unique('new')}@example.test`;
  const inv = await P.api.post(`/api/v1/brands/${A.id}/invitations`, { email: invited, role: 'viewer' });
  assert.equal(inv.status, 201, inv.text);
  secrets.push(inv.json.token);
  const im = await sink.waitFor((m) => m.to.includes(invited), { what: 'the invitation' });
  assert.equal(im.from, 'alerts@onecount.test');
  assert.match(im.subject, /invited/);
  assert.ok(im.body.includes(`https://console.onecount.test/#/accept?token=${inv.json.token}`), im.body);
  // the link works
  const acc = await client(stack.url).post('/api/v1/invitations/accept', { token: inv.json.token, name: 'New', password: PASSWORD });
  assert.equal(acc.status, 201, acc.text);
  // its text is not kept in clear, and not kept at all once delivered
  const row = await stack.sql(`SELECT coalesce(body, '') || coalesce(encode(body_sealed, 'escape'), '') AS t, body_sealed
    FROM notify_outbox WHERE rcpt = $1`, [invited]);
  assert.ok(!row.rows[0].t.includes(inv.json.token));
  await waitFor(async () => (await stack.sql(`SELECT body_sealed FROM notify_outbox WHERE rcpt = $1`, [invited])).rows[0].body_sealed === null,
    { what: 'the sealed text discarded' });

  // immediate e-mail for the admin, for credentials alerts only
  const put = await P.api.put(`${pathOf(P)}/notifications/me`, { email_mode: 'immediate', kinds: ['credentials'] });
  assert.equal(put.status, 200, put.text);
  assert.equal(put.json.email_mode, 'immediate');
  assert.deepEqual(put.json.kinds, ['credentials']);
  const skipped = unique('Low stock somewhere');
  await openAlert(A.id, 'low_stock', skipped);
  const title = unique('Shopify refused the token');
  sink.failNext(1); // the relay fails once: retried
  await openAlert(B.id, 'credentials', title);
  const m = await sink.waitFor((x) => x.subject.includes(title), { timeout: 25000, what: 'the immediate e-mail (after a retry)' });
  assert.deepEqual(m.to, [P.email]);
  assert.ok(m.subject.includes(B.name));
  assert.ok(m.body.includes(title) && m.body.includes('credentials'));
  assert.ok(m.headers['message-id'].includes('@onecount'));
  assert.ok(!sink.messages.some((x) => x.subject.includes(skipped)), 'another kind is not mailed');

  // a digest for an operator of brand A: only brand A, never B (they cannot see it)
  const op = await member(stack, P, A.id, 'operator');
  const utcHour = new Date().getUTCHours();
  const notYet = { email_mode: 'digest', digest_hour: 23, timezone: utcHour === 23 ? 'Etc/GMT+2' : 'UTC' };
  const dp = await op.api.put(`${pathOf(P)}/notifications/me`, { ...notYet, kinds: null, brand_ids: null });
  assert.equal(dp.status, 200, dp.text);
  const inA = unique('Drift on A');
  const inB = unique('Drift on B');
  await openAlert(A.id, 'drift', inA);
  await openAlert(B.id, 'drift', inB);
  const items = await stack.sql('SELECT title FROM notify_digest_items WHERE user_id = $1', [op.uid]);
  assert.deepEqual(items.rows.map((r) => r.title), [inA], 'gathered for the digest: only what the person can see');
  await new Promise((r) => setTimeout(r, 1500));
  const digestsTo = (email) => sink.messages.filter((x) => x.to.includes(email) && /digest/.test(x.subject));
  assert.equal(digestsTo(op.email).length, 0, 'nothing mailed before the digest hour');
  // the hour comes (0: due in any zone)
  await op.api.put(`${pathOf(P)}/notifications/me`, { digest_hour: 0 });
  const dg = await sink.waitFor((x) => x.to.includes(op.email) && /digest/.test(x.subject), { what: 'the digest' });
  assert.match(dg.subject, /daily digest: 1 notification$/);
  assert.ok(dg.body.includes(inA) && !dg.body.includes(inB), dg.body);
  const after = await op.api.get(`${pathOf(P)}/notifications/me`);
  assert.equal(after.json.digest_pending, 0);
  assert.ok(after.json.last_digest_on);
  // one a day: another alert waits for tomorrow
  await openAlert(A.id, 'drift', unique('later'));
  await new Promise((r) => setTimeout(r, 6000));
  assert.equal(digestsTo(op.email).length, 1);
});

test('two workers never send one delivery twice', async () => {
  const second = await stack.startWorker();
  const ep = await P.api.post(`${pathOf(P)}/webhooks`, { name: 'Busy', url: receiver.url('/hook/busy') });
  secrets.push(ep.json.secret);
  const ids = [];
  for (let i = 0; i < 30; i++) ids.push((await P.api.post(`${pathOf(P)}/webhooks/${ep.json.id}/test`, {})).json.id);
  await waitFor(() => ids.every((id) => receiver.got.some((g) => g.headers['x-onecount-delivery'] === id)),
    { what: 'every delivery' });
  await new Promise((r) => setTimeout(r, 1000));
  for (const id of ids) {
    assert.equal(receiver.got.filter((g) => g.headers['x-onecount-delivery'] === id).length, 1, `delivery ${id} once`);
  }
  await second.stop();
});

test('a worker killed mid-send: the delivery is sent again, same id, once its lease lapses; old deliveries are pruned', async () => {
  const ep = await P.api.post(`${pathOf(P)}/webhooks`, { name: 'Slow', url: receiver.url('/hook/hang') });
  secrets.push(ep.json.secret);
  const t = await P.api.post(`${pathOf(P)}/webhooks/${ep.json.id}/test`, {});
  await waitFor(() => receiver.got.find((g) => g.url === '/hook/hang'), { what: 'the first send' });
  await worker.stop('SIGKILL');
  const row = (await stack.sql('SELECT state, attempts, lease_owner FROM notify_outbox WHERE id = $1', [t.json.id])).rows[0];
  assert.equal(row.state, 'pending');
  assert.equal(row.attempts, 1);
  assert.ok(row.lease_owner, 'claimed by the dead worker');
  // the lease lapses (two minutes; made now), and an old finished delivery is past the retention window
  await stack.sql('UPDATE notify_outbox SET lease_until = now() - interval \'1 second\' WHERE id = $1', [t.json.id]);
  const old = (await stack.sql(`UPDATE notify_outbox SET finished_at = now() - interval '40 days'
    WHERE id = (SELECT id FROM notify_outbox WHERE state = 'delivered' ORDER BY created_at LIMIT 1) RETURNING id`)).rows[0].id;
  worker = await stack.startWorker();
  const again = await waitFor(() => receiver.got.filter((g) => g.headers['x-onecount-delivery'] === t.json.id)[1],
    { what: 'the delivery sent again' });
  verify(again, ep.json.secret);
  const d = await waitFor(async () => {
    const x = (await P.api.get(`${pathOf(P)}/webhooks/${ep.json.id}/deliveries`)).json.items[0];
    return x?.state === 'delivered' && x;
  }, { what: 'delivered after the crash' });
  assert.equal(d.attempts, 2);
  assert.deepEqual(d.log.map((a) => [a.n, a.status_code]), [[2, 200]], 'the killed attempt left no outcome');
  await waitFor(async () => (await stack.sql('SELECT 1 FROM notify_outbox WHERE id = $1', [old])).rowCount === 0,
    { what: 'the old delivery pruned' });
  assert.equal((await stack.sql('SELECT 1 FROM notify_attempts WHERE outbox_id = $1', [old])).rowCount, 0);
});

test('key rotation rewraps webhook secrets: they still sign after the old key version is retired', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'oc-keys-'));
  chmodSync(dir, 0o700);
  const keyFile = join(dir, 'master.key');
  const db = await createDatabase(stack.cluster);
  const databaseUrl = stack.cluster.appUrl(db);
  const keyEnv = { ONECOUNT_MASTER_KEY_FILE: keyFile, ONECOUNT_MASTER_KEY: '', ONECOUNT_NOTIFY_POLL_MS: '200' };
  const env = { ...process.env, ONECOUNT_DATABASE_URL: databaseUrl, ...keyEnv };
  execFileSync(BIN, ['admin', 'keygen'], { env });
  const server = await startServer({ databaseUrl, redisUrl: stack.redis.url, env: keyEnv });
  let w;
  try {
    const R = await portfolio({ ...stack, url: server.url, databaseUrl });
    const ep = await R.api.post(`${pathOf(R)}/webhooks`, { name: 'Rotating', url: receiver.url('/hook/rotating') });
    assert.equal(ep.status, 201, ep.text);
    secrets.push(ep.json.secret);
    const out = execFileSync(BIN, ['admin', 'rotate-key'], { env, encoding: 'utf8' });
    assert.match(out, /key version 2 is current; rewrapped 0 brand keys and 1 webhook secret or e-mail key\b/);
    execFileSync(BIN, ['admin', 'retire-keys'], { env });
    assert.match(readFileSync(keyFile, 'utf8'), /^2 \S+\n$/);
    w = await startServer({ databaseUrl, redisUrl: stack.redis.url, env: keyEnv, command: 'worker' });
    const t = await R.api.post(`${pathOf(R)}/webhooks/${ep.json.id}/test`, {});
    const req = await waitFor(() => receiver.got.find((g) => g.headers['x-onecount-delivery'] === t.json.id),
      { what: 'a delivery after the rotation' });
    verify(req, ep.json.secret);
  } finally {
    await w?.stop();
    await server.stop();
    await dropDatabase(stack.cluster, db);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('no secret, signature or invitation token is in the server or worker logs', async () => {
  const logs = [...stack.server.logs, ...stack.workers.flatMap((w) => w.logs)].join('\n');
  assert.ok(secrets.length >= 6);
  for (const s of secrets) assert.ok(!logs.includes(s), 'a secret was logged');
  for (const s of secrets.filter((x) => x.startsWith('whsec_'))) assert.ok(!logs.includes(s.slice(6)));
  assert.ok(!/x-onecount-signature|v1=[0-9a-f]{64}/i.test(logs));
});
