// identity.test.mjs — sign-in, sessions, CSRF, tokens, roles, invitations,
// throttling and audit, end to end through the API.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { startStack, client, sleep } from './lib/stack.mjs';
import { portfolio, brand, member, token, tokenClient, signIn, PASSWORD, unique, admin } from './lib/world.mjs';

let stack, P, A, B, owner, operator, viewer;
before(async () => {
  stack = await startStack();
  P = await portfolio(stack);
  A = await brand(P, 'Alpha Goods');
  B = await brand(P, 'Beta Wares');
  owner = await member(stack, P, A.id, 'brand_owner');
  operator = await member(stack, P, A.id, 'operator');
  viewer = await member(stack, P, B.id, 'viewer');
});
after(async () => { await stack?.stop(); });

test('login sets an HttpOnly SameSite session cookie and returns the CSRF token', async () => {
  const c = client(stack.url);
  const r = await c.post('/api/v1/auth/login', { email: P.email, password: PASSWORD });
  assert.equal(r.status, 200);
  const cookie = r.headers.get('set-cookie');
  assert.match(cookie, /^oc_session=ocs_[A-Za-z0-9_-]{43};/);
  assert.match(cookie, /HttpOnly/);
  assert.match(cookie, /SameSite=Lax/);
  assert.match(cookie, /Path=\//);
  assert.match(r.json.csrf_token, /^[0-9a-f]{64}$/);
  assert.equal(r.json.user.email, P.email);
  assert.equal(r.json.portfolio_role, 'portfolio_admin');
  assert.ok(!JSON.stringify(r.json).includes(PASSWORD));
  // Stored as Argon2id, never in plaintext.
  const row = await stack.sql('SELECT password_hash FROM users WHERE email = $1', [P.email]);
  assert.match(row.rows[0].password_hash, /^\$argon2id\$/);
  const sess = await stack.sql('SELECT count(*)::int AS n FROM sessions WHERE token_hash = sha256($1::bytea)',
    [Buffer.from(cookie.split(';')[0].split('=')[1])]);
  assert.equal(sess.rows[0].n, 1, 'session stored as the SHA-256 of its token');
});

test('wrong password and unknown account get the same answer, with similar cost', async () => {
  const email = `${unique('nobody')}@example.test`;
  const t0 = performance.now();
  const wrong = await client(stack.url).post('/api/v1/auth/login', { email: operator.email, password: 'not the password' });
  const t1 = performance.now();
  const unknown = await client(stack.url).post('/api/v1/auth/login', { email, password: 'not the password' });
  const t2 = performance.now();
  assert.equal(wrong.status, 401);
  assert.equal(unknown.status, 401);
  assert.deepEqual({ ...wrong.json.error, request_id: 0 }, { ...unknown.json.error, request_id: 0 });
  // Both spend an Argon2id verification; neither is an order of magnitude faster.
  const known = t1 - t0, unk = t2 - t1;
  assert.ok(unk > known / 4 && known > unk / 4, `timing differs too much: ${known.toFixed(1)} vs ${unk.toFixed(1)} ms`);
});

test('cookie-authenticated writes need the CSRF token', async () => {
  const c = await signIn(stack.url, owner.email);
  const csrf = c.headers['x-csrf-token'];
  delete c.headers['x-csrf-token'];
  const missing = await c.patch(`/api/v1/brands/${A.id}`, { timezone: 'Europe/Berlin' });
  assert.equal(missing.status, 403);
  assert.equal(missing.json.error.code, 'csrf');
  const wrong = await c.patch(`/api/v1/brands/${A.id}`, { timezone: 'Europe/Berlin' }, { 'x-csrf-token': '0'.repeat(64) });
  assert.equal(wrong.status, 403);
  const ok = await c.patch(`/api/v1/brands/${A.id}`, { timezone: 'Europe/Berlin' }, { 'x-csrf-token': csrf });
  assert.equal(ok.status, 200, ok.text);
  assert.equal(ok.json.timezone, 'Europe/Berlin');
  // Reads need none.
  assert.equal((await c.get(`/api/v1/brands/${A.id}`)).status, 200);
});

test('expired, idle and logged-out sessions are refused', async () => {
  const c = await signIn(stack.url, operator.email);
  assert.equal((await c.get('/api/v1/me')).status, 200);
  const tok = c.cookies.oc_session;
  await stack.sql(`UPDATE sessions SET expires_at = now() - interval '1 second' WHERE token_hash = sha256($1::bytea)`, [Buffer.from(tok)]);
  await new Promise((r) => setTimeout(r, 1100)); // principal cache lifetime
  const expired = await c.get('/api/v1/me');
  assert.equal(expired.status, 401);
  assert.match(expired.headers.get('set-cookie') || '', /Max-Age=0/);

  const d = await signIn(stack.url, operator.email);
  await stack.sql(`UPDATE sessions SET last_seen_at = now() - interval '1 day' WHERE token_hash = sha256($1::bytea)`, [Buffer.from(d.cookies.oc_session)]);
  await new Promise((r) => setTimeout(r, 1100));
  assert.equal((await d.get('/api/v1/me')).status, 401, 'idle session');

  const e = await signIn(stack.url, operator.email);
  const out = await e.post('/api/v1/auth/logout', {});
  assert.equal(out.status, 204);
  assert.match(out.headers.get('set-cookie'), /Max-Age=0/);
  const fresh = await signIn(stack.url, operator.email);
  assert.equal((await fresh.get('/api/v1/me')).status, 200, 'a new session still works');
});

test('logout takes effect at once for the revoked session', async () => {
  const e = await signIn(stack.url, viewer.email);
  const cookie = e.cookies.oc_session;
  assert.equal((await e.get('/api/v1/me')).status, 200);
  assert.equal((await e.post('/api/v1/auth/logout', {})).status, 204);
  const r = await client(stack.url).get('/api/v1/me', { cookie: `oc_session=${cookie}` });
  assert.equal(r.status, 401);
});

test('each role sees exactly what it may', async () => {
  // The operator sees brand A only.
  const ol = await operator.api.get(`/api/v1/portfolios/${P.pid}/brands`);
  assert.equal(ol.status, 200);
  assert.deepEqual(ol.json.items.map((b) => b.name), ['Alpha Goods']);
  assert.equal(ol.json.items[0].your_role, 'operator');
  assert.equal((await operator.api.get(`/api/v1/brands/${B.id}`)).status, 404);
  // Role too low inside its own brand: 403, not 404.
  const patch = await operator.api.patch(`/api/v1/brands/${A.id}`, { name: 'Renamed' });
  assert.equal(patch.status, 403);
  assert.equal(patch.json.error.code, 'forbidden');
  assert.equal((await operator.api.get(`/api/v1/brands/${A.id}/members`)).status, 403);
  assert.equal((await operator.api.post(`/api/v1/portfolios/${P.pid}/brands`, { name: 'Nope' })).status, 403);
  assert.equal((await operator.api.get(`/api/v1/portfolios/${P.pid}/audit`)).status, 403);
  // The viewer reads its brand and nothing else; writes nothing.
  assert.equal((await viewer.api.get(`/api/v1/brands/${B.id}`)).status, 200);
  assert.equal((await viewer.api.get(`/api/v1/brands/${B.id}/audit`)).status, 200);
  assert.equal((await viewer.api.patch(`/api/v1/brands/${B.id}`, { name: 'x' })).status, 403);
  assert.equal((await viewer.api.get(`/api/v1/brands/${A.id}`)).status, 404);
  // The brand owner manages its brand: members, tokens; not the portfolio.
  const members = await owner.api.get(`/api/v1/brands/${A.id}/members`);
  assert.equal(members.status, 200);
  const roles = Object.fromEntries(members.json.items.map((m) => [m.email, m.role]));
  assert.equal(roles[owner.email], 'brand_owner');
  assert.equal(roles[operator.email], 'operator');
  assert.equal(roles[P.email], 'portfolio_admin');
  assert.equal((await owner.api.post(`/api/v1/brands/${A.id}/invitations`, { email: 'x@example.test', role: 'portfolio_admin' })).status, 422);
  assert.equal((await owner.api.post(`/api/v1/portfolios/${P.pid}/invitations`, { email: 'x@example.test', role: 'viewer', brand_id: A.id })).status, 403);
  assert.equal((await owner.api.get(`/api/v1/brands/${B.id}/members`)).status, 404);
  // The admin sees both brands.
  const al = await P.api.get(`/api/v1/portfolios/${P.pid}/brands`);
  assert.deepEqual(al.json.items.map((b) => b.name), ['Alpha Goods', 'Beta Wares']);
});

test('role changes apply at once and are audited with before and after', async () => {
  const m = await member(stack, P, A.id, 'viewer');
  assert.equal((await m.api.patch(`/api/v1/brands/${A.id}`, { timezone: 'UTC' })).status, 403);
  const up = await owner.api.patch(`/api/v1/brands/${A.id}/members/${m.uid}`, { role: 'brand_owner' });
  assert.equal(up.status, 200, up.text);
  assert.equal((await m.api.patch(`/api/v1/brands/${A.id}`, { timezone: 'UTC' })).status, 200);
  const audit = await P.api.get(`/api/v1/brands/${A.id}/audit?action=member.update&object_id=${m.uid}`);
  assert.equal(audit.status, 200);
  assert.deepEqual(audit.json.items[0].summary, { before: 'viewer', after: 'brand_owner' });
  assert.equal(audit.json.items[0].actor_user, owner.uid);
  assert.ok(audit.json.items[0].request_id);
  // A brand owner cannot raise anyone above itself; removal takes effect at once.
  const rm = await owner.api.del(`/api/v1/brands/${A.id}/members/${m.uid}`);
  assert.equal(rm.status, 204);
  assert.equal((await m.api.get(`/api/v1/brands/${A.id}`)).status, 404);
  assert.equal((await owner.api.del(`/api/v1/brands/${A.id}/members/${m.uid}`)).status, 404);
});

test('API tokens: shown once, scoped, revocable at once, role-limited', async () => {
  const t = await token(P, A.id, 'operator');
  assert.match(t.token, /^oct_[A-Za-z0-9_-]{43}$/);
  const api = tokenClient(stack.url, t.token);
  const me = await api.get('/api/v1/me');
  assert.equal(me.status, 200);
  assert.equal(me.json.auth, 'token');
  assert.equal(me.json.token.brand_id, A.id);
  assert.equal((await api.get(`/api/v1/brands/${A.id}`)).status, 200);
  assert.equal((await api.get(`/api/v1/brands/${B.id}`)).status, 404);
  assert.equal((await api.patch(`/api/v1/brands/${A.id}`, { name: 'x' })).status, 403, 'operator token cannot manage');
  assert.equal((await api.get(`/api/v1/portfolios/${P.pid}/brands`)).status, 403, 'brand token on portfolio routes');
  // Tokens need no CSRF (they are not ambient credentials).
  const list = await P.api.get(`/api/v1/brands/${A.id}/tokens`);
  const listed = list.json.items.find((x) => x.id === t.id);
  assert.ok(listed);
  assert.equal(listed.token, undefined, 'the secret is never listed');
  assert.equal(listed.prefix, t.token.slice(0, 8));
  const stored = await stack.sql('SELECT encode(token_hash, $2) AS h FROM api_tokens WHERE id = $1', [t.id, 'hex']);
  assert.notEqual(stored.rows[0].h, t.token);
  // Revocation is immediate.
  assert.equal((await P.api.del(`/api/v1/brands/${A.id}/tokens/${t.id}`)).status, 200);
  const revoked = await api.get('/api/v1/me');
  assert.equal(revoked.status, 401);
  assert.equal(revoked.json.error.code, 'unauthenticated');
  // A brand owner may not mint a token above its own role; an operator none at all.
  assert.equal((await owner.api.post(`/api/v1/brands/${A.id}/tokens`, { name: 'x', role: 'portfolio_admin' })).status, 422);
  assert.equal((await operator.api.post(`/api/v1/brands/${A.id}/tokens`, { name: 'x', role: 'viewer' })).status, 403);
  // Portfolio-wide tokens reach every brand of the portfolio.
  const pt = await token(P, null, 'viewer');
  const papi = tokenClient(stack.url, pt.token);
  assert.equal((await papi.get(`/api/v1/brands/${B.id}`)).status, 200);
  assert.equal((await papi.get(`/api/v1/portfolios/${P.pid}/brands`)).json.items.length, 2);
  assert.equal((await papi.patch(`/api/v1/brands/${B.id}`, { name: 'x' })).status, 403);
});

test('a burst of requests with a credential not yet cached makes one lookup per server thread', async () => {
  const dbTx = async () => {
    const text = await stack.server.metrics();
    return Number(/^onecount_db_transactions_total\{result="ok"\} (\d+)/m.exec(text)?.[1] ?? NaN);
  };
  const t = await token(P, A.id, 'operator');
  const api = tokenClient(stack.url, t.token);
  assert.equal((await owner.api.get(`/api/v1/brands/${A.id}`)).status, 200); // the brand is known to the server
  // Holding the token's row keeps the lookup (it marks the token used) waiting
  // while the whole burst arrives.
  const lock = new pg.Client({ connectionString: stack.databaseUrl });
  await lock.connect();
  let answers, used;
  try {
    await lock.query('BEGIN');
    await lock.query("SELECT set_config('app.tenant_id', $1, true)", [A.id]);
    await lock.query('SELECT 1 FROM api_tokens WHERE id = $1 FOR UPDATE', [t.id]);
    const before = await dbTx();
    // The operator may not rename the brand: answered after authentication, without the database.
    const burst = Promise.all(Array.from({ length: 40 }, () => api.patch(`/api/v1/brands/${A.id}`, { name: 'x' })));
    await sleep(500);
    await lock.query('COMMIT');
    answers = await burst;
    used = (await dbTx()) - before;
  } finally {
    await lock.end();
  }
  assert.deepEqual(answers.map((r) => r.status), Array(40).fill(403));
  assert.ok(used <= 8, `${used} transactions for 40 requests with one new token`);
  // Every waiting request gets the lookup's answer, refusals too.
  const bogus = tokenClient(stack.url, `oct_${'A'.repeat(43)}`);
  const refused = await Promise.all(Array.from({ length: 20 }, () => bogus.get('/api/v1/me')));
  assert.deepEqual(refused.map((r) => r.status), Array(20).fill(401));
});

test('malformed, oversized and mistyped bodies get 400, 413 and 415', async () => {
  const c = client(stack.url);
  const bad = await c.req('POST', '/api/v1/auth/login', '{"email": "a@b", "password": }', { 'content-type': 'application/json' });
  assert.equal(bad.status, 400);
  assert.equal(bad.json.error.code, 'malformed_json');
  assert.match(bad.json.error.message, /line 1, column \d+/);
  const big = await c.req('POST', '/api/v1/auth/login', JSON.stringify({ email: 'x', password: 'y'.repeat(2 * 1024 * 1024) }),
    { 'content-type': 'application/json' });
  assert.equal(big.status, 413);
  assert.equal(big.json.error.code, 'too_large');
  const form = await c.req('POST', '/api/v1/auth/login', 'email=a&password=b', { 'content-type': 'application/x-www-form-urlencoded' });
  assert.equal(form.status, 415);
  const unknown = await c.post('/api/v1/auth/login', { email: 'a@b.c', password: 'x', admin: true });
  assert.equal(unknown.status, 422);
  assert.equal(unknown.json.error.field, 'admin');
  const notObject = await c.req('POST', '/api/v1/auth/login', '[1,2]', { 'content-type': 'application/json' });
  assert.equal(notObject.status, 400);
  const badUtf8 = await c.req('POST', '/api/v1/auth/login', Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]), { 'content-type': 'application/json' });
  assert.equal(badUtf8.status, 400);
});

test('login is throttled per account after repeated failures, even with the right password', async () => {
  const m = await member(stack, P, B.id, 'viewer');
  for (let i = 0; i < 5; i++) {
    const r = await client(stack.url).post('/api/v1/auth/login', { email: m.email, password: `wrong-${i}` });
    assert.equal(r.status, 401);
  }
  const r = await client(stack.url).post('/api/v1/auth/login', { email: m.email, password: PASSWORD });
  assert.equal(r.status, 429);
  assert.equal(r.json.error.code, 'throttled');
  assert.ok(Number(r.headers.get('retry-after')) > 0);
  // Another account from the same address is unaffected.
  assert.equal((await client(stack.url).post('/api/v1/auth/login', { email: viewer.email, password: PASSWORD })).status, 200);
});

test('invitations: single use, revocable, refuse accounts of other portfolios', async () => {
  const email = `${unique('inv')}@example.test`;
  const inv = await owner.api.post(`/api/v1/brands/${A.id}/invitations`, { email, role: 'viewer' });
  assert.equal(inv.status, 201);
  const listed = await owner.api.get(`/api/v1/brands/${A.id}/invitations`);
  assert.ok(listed.json.items.some((i) => i.id === inv.json.id && i.status === 'pending' && i.token === undefined));
  const weak = await client(stack.url).post('/api/v1/invitations/accept', { token: inv.json.token, name: 'W', password: 'short' });
  assert.equal(weak.status, 422);
  assert.equal(weak.json.error.field, 'password');
  const ok = await client(stack.url).post('/api/v1/invitations/accept', { token: inv.json.token, name: 'W', password: PASSWORD });
  assert.equal(ok.status, 201);
  const twice = await client(stack.url).post('/api/v1/invitations/accept', { token: inv.json.token, name: 'W', password: PASSWORD });
  assert.equal(twice.status, 410);
  const inv2 = await owner.api.post(`/api/v1/brands/${A.id}/invitations`, { email: `${unique('r')}@example.test`, role: 'viewer' });
  assert.equal((await owner.api.del(`/api/v1/brands/${A.id}/invitations/${inv2.json.id}`)).status, 200);
  assert.equal((await client(stack.url).post('/api/v1/invitations/accept', { token: inv2.json.token, name: 'R', password: PASSWORD })).status, 410);
  // An e-mail that already has an account in another portfolio cannot be invited here.
  const Q = await portfolio(stack);
  const clash = await P.api.post(`/api/v1/portfolios/${P.pid}/invitations`, { email: Q.email, role: 'portfolio_admin' });
  assert.equal(clash.status, 409);
});

test('audit: portfolio and brand logs record actor, action, object and request id', async () => {
  const b = await brand(P, unique('Gamma'));
  const log = await P.api.get(`/api/v1/portfolios/${P.pid}/audit?action=brand.create&object_id=${b.id}`);
  assert.equal(log.status, 200);
  assert.equal(log.json.items.length, 1);
  const e = log.json.items[0];
  assert.equal(e.actor_user, P.uid);
  assert.equal(e.object_type, 'brand');
  assert.ok(e.request_id);
  // The portfolio view merges every brand's log too.
  const all = await P.api.get(`/api/v1/portfolios/${P.pid}/audit?limit=200`);
  assert.ok(all.json.items.some((x) => x.brand_id === A.id));
  assert.ok(all.json.items.some((x) => x.brand_id === null));
  // The brand log holds only that brand's entries.
  const bl = await P.api.get(`/api/v1/brands/${B.id}/audit?limit=200`);
  assert.ok(bl.json.items.every((x) => x.brand_id === B.id));
});

test('lists paginate with a cursor and a bounded limit', async () => {
  const ids = [];
  for (let i = 0; i < 7; i++) ids.push((await token(P, B.id, 'viewer', `page-${i}`)).id);
  const seen = [];
  let cursor = null, pages = 0;
  do {
    const r = await P.api.get(`/api/v1/brands/${B.id}/tokens?limit=3${cursor ? `&cursor=${cursor}` : ''}`);
    assert.equal(r.status, 200);
    assert.ok(r.json.items.length <= 3);
    seen.push(...r.json.items.map((t) => t.id));
    cursor = r.json.next_cursor;
    pages++;
  } while (cursor && pages < 10);
  for (const id of ids) assert.ok(seen.includes(id));
  assert.equal(new Set(seen).size, seen.length, 'no duplicates across pages');
  assert.ok(pages >= 3);
  assert.equal((await P.api.get(`/api/v1/brands/${B.id}/tokens?limit=0`)).status, 422);
  assert.equal((await P.api.get(`/api/v1/brands/${B.id}/tokens?limit=201`)).status, 422);
  const bad = await P.api.get(`/api/v1/brands/${B.id}/tokens?cursor=garbage`);
  assert.equal(bad.status, 422);
  assert.equal(bad.json.error.field, 'cursor');
});

test('a disabled user is signed out everywhere', async () => {
  const m = await member(stack, P, B.id, 'operator');
  assert.equal((await m.api.get('/api/v1/me')).status, 200);
  assert.equal((await P.api.del(`/api/v1/portfolios/${P.pid}/members/${m.uid}`)).status, 200);
  assert.equal((await m.api.get('/api/v1/me')).status, 401);
  assert.equal((await client(stack.url).post('/api/v1/auth/login', { email: m.email, password: PASSWORD })).status, 401);
  assert.equal((await P.api.del(`/api/v1/portfolios/${P.pid}/members/${P.uid}`)).status, 409, 'not yourself');
});

test('a disabled account cannot be re-invited until enabled, then joins with its own password', async () => {
  const m = await member(stack, P, B.id, 'viewer');
  assert.equal((await P.api.del(`/api/v1/portfolios/${P.pid}/members/${m.uid}`)).status, 200);
  const refused = await P.api.post(`/api/v1/brands/${A.id}/invitations`, { email: m.email, role: 'viewer' });
  assert.equal(refused.status, 409);
  assert.match(refused.json.error.message, /disabled/);
  const en = await P.api.post(`/api/v1/portfolios/${P.pid}/members/${m.uid}/enable`);
  assert.equal(en.status, 200);
  assert.equal(en.json.disabled, false);
  const log = await P.api.get(`/api/v1/portfolios/${P.pid}/audit?action=user.enable&object_id=${m.uid}`);
  assert.equal(log.json.items.length, 1);
  const inv = await P.api.post(`/api/v1/brands/${A.id}/invitations`, { email: m.email, role: 'viewer' });
  assert.equal(inv.status, 201);
  const acc = await client(stack.url).post('/api/v1/invitations/accept', { token: inv.json.token, password: PASSWORD });
  assert.equal(acc.status, 201, acc.text);
  assert.equal(acc.json.existing_account, true);
  assert.equal((await client(stack.url).post('/api/v1/auth/login', { email: m.email, password: PASSWORD })).status, 200);
  assert.equal((await P.api.post(`/api/v1/portfolios/${P.pid}/members/${crypto.randomUUID()}/enable`)).status, 404);
});

test('password guesses through an invitation count as failed sign-ins', async () => {
  const m = await member(stack, P, B.id, 'viewer');
  const inv = await P.api.post(`/api/v1/brands/${A.id}/invitations`, { email: m.email, role: 'viewer' });
  for (let i = 0; i < 5; i++) {
    const r = await client(stack.url).post('/api/v1/invitations/accept', { token: inv.json.token, password: `guess-${i}-xxxx` });
    assert.equal(r.status, 401);
    assert.equal(r.json.error.field, 'password');
  }
  const r = await client(stack.url).post('/api/v1/invitations/accept', { token: inv.json.token, password: PASSWORD });
  assert.equal(r.status, 429);
  assert.ok(Number(r.headers.get('retry-after')) > 0);
  assert.equal((await client(stack.url).post('/api/v1/auth/login', { email: m.email, password: PASSWORD })).status, 429);
});

test('member lists page through e-mails with non-ASCII capitals exactly once', async () => {
  const b = await brand(P, unique('Umlaut'));
  const emails = [];
  for (const pre of ['Ärger', 'Ölig', 'Übel']) {
    const email = `${pre}-${unique('u')}@example.test`;
    const inv = await P.api.post(`/api/v1/brands/${b.id}/invitations`, { email, role: 'viewer' });
    assert.equal(inv.status, 201, inv.text);
    assert.equal((await client(stack.url).post('/api/v1/invitations/accept', { token: inv.json.token, name: pre, password: PASSWORD })).status, 201);
    emails.push(email);
  }
  for (const path of [`/api/v1/brands/${b.id}/members`, `/api/v1/portfolios/${P.pid}/members`]) {
    const seen = [];
    let cursor = null, pages = 0;
    do {
      const r = await P.api.get(`${path}?limit=1${cursor ? `&cursor=${cursor}` : ''}`);
      assert.equal(r.status, 200);
      seen.push(...r.json.items.map((x) => x.user_id));
      cursor = r.json.next_cursor;
    } while (cursor && ++pages < 500);
    assert.equal(new Set(seen).size, seen.length, `${path}: no member twice`);
    const all = (await P.api.get(`${path}?limit=200`)).json.items;
    assert.equal(seen.length, all.length, `${path}: every member once`);
  }
});

test('the audit action filter is a plain prefix (no LIKE wildcards)', async () => {
  for (const q of ['_', '%25', 'brand_']) {
    const r = await P.api.get(`/api/v1/portfolios/${P.pid}/audit?action=${q}&limit=200`);
    assert.equal(r.status, 200);
    assert.equal(r.json.items.length, 0, `action=${q}`);
  }
  const r = await P.api.get(`/api/v1/portfolios/${P.pid}/audit?action=brand.&limit=200`);
  assert.ok(r.json.items.length > 0 && r.json.items.every((e) => e.action.startsWith('brand.')));
});

test('the CLI creates users without printing secrets', () => {
  const out = admin(stack, ['create-user', '--portfolio', P.pid, '--email', `${unique('cli')}@example.test`, '--name', 'Cli',
    '--role', 'viewer', '--brand', A.id, '--password-stdin'], `${PASSWORD}\n`);
  assert.match(out, /^[0-9a-f-]{36}$/);
  assert.ok(!out.includes(PASSWORD));
});
