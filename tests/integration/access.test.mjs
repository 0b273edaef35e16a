// access.test.mjs — who may act, exactly when: sign-in attempts counted before
// their password is checked, growing delays instead of lockouts (known
// devices and addresses pass), the client address behind a trusted proxy,
// tokens that act with their owner's current rights, and revocations that
// hold in every thread of every serve process before they are answered.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startStack, startServer, client, sleep } from './lib/stack.mjs';
import { portfolio, brand, member, token, tokenClient, signIn, PASSWORD, unique, admin } from './lib/world.mjs';

let stack, other, P, A;
before(async () => {
  stack = await startStack();
  // A second serve process on the same database and Redis, trusting the
  // loopback address as a proxy (X-Forwarded-For).
  other = await startServer({ databaseUrl: stack.databaseUrl, redisUrl: stack.redis.url, threads: 2,
    env: { ONECOUNT_TRUSTED_PROXIES: '127.0.0.1/32, ::1/128' } });
  P = await portfolio(stack);
  A = await brand(P, 'Alpha Goods');
});
after(async () => {
  await other?.stop();
  await stack?.stop();
});

/** POST /api/v1/auth/login from a chosen local address, with optional cookie and X-Forwarded-For. */
function login(url, email, password, { from = '127.0.0.1', cookie, xff } = {}) {
  const u = new URL(`${url}/api/v1/auth/login`);
  const body = JSON.stringify({ email, password });
  const headers = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
  if (cookie) headers.cookie = cookie;
  if (xff) headers['x-forwarded-for'] = xff;
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', headers,
      localAddress: from, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { text += c; });
      res.on('end', () => {
        const cookies = Object.fromEntries((res.headers['set-cookie'] || []).map((c) => c.split(';')[0].split('=')));
        resolve({ status: res.statusCode, headers: res.headers, json: text ? JSON.parse(text) : undefined, text, cookies });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** A user of brand A created by the CLI: it has never signed in from anywhere. */
function newUser(role = 'viewer') {
  const email = `${unique(role)}@example.test`;
  const uid = admin(stack, ['create-user', '--portfolio', P.pid, '--email', email, '--name', role, '--role', role,
    '--brand', A.id, '--password-stdin'], `${PASSWORD}\n`);
  return { email, uid };
}

/* The delay policy (docs/ARCHITECTURE.md, Tenancy): 5 attempts per account
 * (30 per address) are free; after the k-th attempt beyond them the next waits
 * 2^(k+2) s (4, 8, 16 … capped at 15 minutes). How many attempts on one key
 * the policy can admit within `ms` of the first. */
function admittedWithin(ms, free = 5) {
  let n = free, t = 0;
  for (let k = 0; ; k++) {
    t += Math.min(2 ** (k + 2), 900) * 1000;
    if (t > ms) return n;
    n++;
  }
}

test('a burst of 40 sign-ins, one with the right password, checks at most the free attempts', async () => {
  const u = newUser();
  const right = Math.floor(Math.random() * 40);
  const t0 = Date.now();
  const answers = await Promise.all(Array.from({ length: 40 }, (_, i) =>
    login(stack.url, u.email, i === right ? PASSWORD : `wrong-${i}-guess`)));
  const elapsed = Date.now() - t0;
  const statuses = answers.map((r) => r.status);
  assert.ok(statuses.every((s) => [200, 401, 429].includes(s)), statuses.join(','));
  // Every answer but 429 checked a password.
  const checked = statuses.filter((s) => s !== 429).length;
  assert.ok(checked <= admittedWithin(elapsed), `${checked} passwords checked in ${elapsed} ms: ${statuses.join(',')}`);
  for (const r of answers.filter((x) => x.status === 429)) {
    assert.equal(r.json.error.code, 'throttled');
    assert.ok(Number(r.headers['retry-after']) >= 1, 'Retry-After');
  }
  const mine = answers[right];
  if (mine.status === 429) {
    // Refused without checking it; once the wait is over it signs in.
    await sleep(Number(mine.headers['retry-after']) * 1000);
    const again = await login(stack.url, u.email, PASSWORD);
    assert.equal(again.status, 200, `after ${mine.headers['retry-after']} s: ${again.text}; burst ${elapsed} ms: `
      + answers.map((r) => `${r.status}/${r.headers['retry-after'] ?? '-'}`).join(','));
  } else {
    assert.equal(mine.status, 200);
  }
});

test('failures from elsewhere slow the attacker, not the owner on a known device or address', async () => {
  const u = newUser();
  // The owner signs in once from 127.0.0.1 and gets a device cookie.
  const first = await login(stack.url, u.email, PASSWORD);
  assert.equal(first.status, 200, first.text);
  const device = first.cookies.oc_device;
  assert.match(device || '', /^ocd_[A-Za-z0-9_-]{43}$/, 'a known-device cookie');
  assert.match(first.headers['set-cookie'].find((c) => c.startsWith('oc_device=')), /HttpOnly/);
  // Someone at 127.0.0.2 guesses: a few are checked, then each waits longer.
  const t0 = Date.now();
  const guesses = [];
  for (let i = 0; i < 12; i++) guesses.push((await login(stack.url, u.email, `guess-${i}-xxxx`, { from: '127.0.0.2' })).status);
  assert.ok(guesses.filter((s) => s === 401).length <= admittedWithin(Date.now() - t0), guesses.join(','));
  assert.ok(guesses.includes(429), `the attacker is slowed: ${guesses.join(',')}`);
  // The owner is not: from the address it signed in from before…
  const home = await login(stack.url, u.email, PASSWORD);
  assert.equal(home.status, 200, home.text);
  // …and with its device cookie from an address never seen.
  const away = await login(stack.url, u.email, PASSWORD, { from: '127.0.0.3', cookie: `oc_device=${device}` });
  assert.equal(away.status, 200, away.text);
  // A stranger's right password from a new address waits like the attacker's guesses.
  const stranger = await login(stack.url, u.email, PASSWORD, { from: '127.0.0.4' });
  assert.equal(stranger.status, 429);
  assert.ok(Number(stranger.headers['retry-after']) >= 1);
  // A device cookie of another account is no pass.
  const v = newUser();
  const vs = await login(stack.url, v.email, PASSWORD, { from: '127.0.0.5', cookie: `oc_device=${device}` });
  assert.equal(vs.status, 200, 'an account without failures signs in');
  for (let i = 0; i < 5; i++) await login(stack.url, v.email, `guess-${i}-xxxx`, { from: '127.0.0.6' });
  const borrowed = await login(stack.url, v.email, PASSWORD, { from: '127.0.0.7', cookie: `oc_device=${device}` });
  assert.equal(borrowed.status, 429);
});

test('the delay grows per policy and is never a 15-minute lockout after five failures', async () => {
  const u = newUser();
  for (let i = 0; i < 5; i++) assert.equal((await login(stack.url, u.email, `wrong-${i}-xxxx`, { from: '127.0.0.8' })).status, 401);
  const r = await login(stack.url, u.email, PASSWORD, { from: '127.0.0.8' });
  assert.equal(r.status, 429);
  const wait = Number(r.headers['retry-after']);
  assert.ok(wait >= 1 && wait <= 4, `first wait ${wait} s`);
  // Seeded further along the schedule: 9 failures → the next attempt waits 2^(4+2) = 64 s after the last.
  await stack.sql(`UPDATE login_throttle SET failures = 9, last_at = now(), next_at = now() + interval '64 seconds'
                   WHERE key = $1`, [`acct:${u.email.toLowerCase()}`]);
  const later = await login(stack.url, u.email, PASSWORD, { from: '127.0.0.9' });
  assert.equal(later.status, 429);
  assert.ok(Number(later.headers['retry-after']) > 4 && Number(later.headers['retry-after']) <= 64);
});

test('X-Forwarded-For names the client only when the peer is a trusted proxy', async () => {
  const u = newUser();
  const addrOf = async (r) => (await stack.sql('SELECT remote_addr FROM sessions WHERE token_hash = sha256($1::bytea)',
    [Buffer.from(r.cookies.oc_session)])).rows[0].remote_addr;
  // Not trusted (the default): the header is ignored.
  const plain = await login(stack.url, u.email, PASSWORD, { xff: '198.51.100.7' });
  assert.equal(plain.status, 200);
  assert.equal(await addrOf(plain), '127.0.0.1');
  // Trusted peer: the rightmost address that is not a trusted proxy.
  const viaProxy = await login(other.url, u.email, PASSWORD, { xff: '192.0.2.1, 198.51.100.8' });
  assert.equal(viaProxy.status, 200);
  assert.equal(await addrOf(viaProxy), '198.51.100.8');
  const chain = await login(other.url, u.email, PASSWORD, { xff: '198.51.100.9, 127.0.0.1' });
  assert.equal(await addrOf(chain), '198.51.100.9');
  // A peer that is not trusted cannot choose its address, even on that server.
  const spoof = await login(other.url, u.email, PASSWORD, { from: '127.0.0.2', xff: '198.51.100.10' });
  assert.equal(await addrOf(spoof), '127.0.0.2');
  const junk = await login(other.url, u.email, PASSWORD, { xff: 'not-an-address' });
  assert.equal(junk.status, 200);
  assert.equal(await addrOf(junk), '127.0.0.1');
});

test('behind a trusted proxy one client\'s failures do not slow the others', async () => {
  // 35 wrong passwords from one client, spread over accounts that do not exist.
  const statuses = [];
  for (let a = 0; a < 7; a++) {
    const email = `${unique('ghost')}@example.test`;
    for (let i = 0; i < 5; i++) statuses.push((await login(other.url, email, `guess-${i}-xxxx`, { xff: '203.0.113.9' })).status);
  }
  assert.ok(statuses.filter((s) => s === 401).length <= 30 + 1, statuses.join(','));
  assert.equal(statuses.at(-1), 429, 'the guessing client waits');
  // Another client of the same proxy signs in to an account it never used.
  const u = newUser();
  const r = await login(other.url, u.email, PASSWORD, { xff: '198.51.100.20' });
  assert.equal(r.status, 200, r.text);
});

test('a removed member\'s tokens stop at once, in every serve process', async () => {
  const owner = await member(stack, P, A.id, 'brand_owner');
  const t = await owner.api.post(`/api/v1/brands/${A.id}/tokens`, { name: 'shop', role: 'operator' });
  assert.equal(t.status, 201, t.text);
  const sku = unique('SKU');
  assert.equal((await P.api.post(`/api/v1/brands/${A.id}/skus`, { code: sku, title: 'x' })).status, 201);
  const here = tokenClient(stack.url, t.json.token), there = tokenClient(other.url, t.json.token);
  const receipt = { kind: 'receipt', lines: [{ sku, qty: 5 }] };
  assert.equal((await here.post(`/api/v1/brands/${A.id}/movements`, receipt)).status, 201);
  // Both processes, both threads, have the token's principal cached.
  await Promise.all(Array.from({ length: 8 }, () => there.get(`/api/v1/brands/${A.id}`)));
  await Promise.all(Array.from({ length: 8 }, () => here.get(`/api/v1/brands/${A.id}`)));
  assert.equal((await P.api.del(`/api/v1/brands/${A.id}/members/${owner.uid}`)).status, 204);
  const sale = { kind: 'sale', lines: [{ sku, qty: 1 }] };
  const after = await Promise.all([
    ...Array.from({ length: 4 }, () => there.post(`/api/v1/brands/${A.id}/movements`, sale)),
    ...Array.from({ length: 4 }, () => here.post(`/api/v1/brands/${A.id}/movements`, sale)),
    there.get(`/api/v1/brands/${A.id}`), here.get('/api/v1/me'),
  ]);
  for (const r of after) assert.ok([401, 403].includes(r.status), `${r.status} ${r.text}`);
  const moved = await stack.sql("SELECT count(*)::int AS n FROM movements WHERE kind = 'sale' AND tenant_id = $1", [A.id]);
  assert.equal(moved.rows[0].n, 0, 'no sale was recorded');
});

test('a token acts with its owner\'s current role: a demoted owner\'s token is demoted too', async () => {
  const owner = await member(stack, P, A.id, 'brand_owner');
  const t = await owner.api.post(`/api/v1/brands/${A.id}/tokens`, { name: 'admin bot', role: 'brand_owner' });
  assert.equal(t.status, 201, t.text);
  const api = tokenClient(other.url, t.json.token);
  const invite = () => api.post(`/api/v1/brands/${A.id}/invitations`, { email: `${unique('x')}@example.test`, role: 'brand_owner' });
  assert.equal((await invite()).status, 201, 'a brand owner token invites');
  await Promise.all(Array.from({ length: 8 }, () => api.get(`/api/v1/brands/${A.id}`)));
  assert.equal((await P.api.patch(`/api/v1/brands/${A.id}/members/${owner.uid}`, { role: 'viewer' })).status, 200);
  const refused = await invite();
  assert.equal(refused.status, 403, refused.text);
  assert.equal((await api.post(`/api/v1/brands/${A.id}/tokens`, { name: 'y', role: 'viewer' })).status, 403);
  assert.equal((await api.patch(`/api/v1/brands/${A.id}`, { timezone: 'UTC' })).status, 403);
  assert.equal((await api.get(`/api/v1/brands/${A.id}`)).status, 200, 'it still reads, as its owner may');
  const brands = await tokenClient(stack.url, t.json.token).get(`/api/v1/portfolios/${P.pid}/brands`);
  assert.equal(brands.status, 403, 'a brand token on portfolio routes');
  // Promoted back: the token's own grant is the ceiling again.
  assert.equal((await P.api.patch(`/api/v1/brands/${A.id}/members/${owner.uid}`, { role: 'operator' })).status, 200);
  assert.equal((await invite()).status, 403, 'operator: min(brand_owner, operator)');
});

test('a portfolio token of an admin who is now only a brand member reaches only that brand', async () => {
  const adm = await member(stack, P, null, 'portfolio_admin');
  const B = await brand(P, unique('Beta'));
  const t = await adm.api.post(`/api/v1/portfolios/${P.pid}/tokens`, { name: 'portfolio bot', role: 'portfolio_admin' });
  assert.equal(t.status, 201, t.text);
  const api = tokenClient(stack.url, t.json.token);
  assert.equal((await api.get(`/api/v1/brands/${B.id}`)).status, 200);
  // The admin is disabled: the token stops at once.
  assert.equal((await P.api.del(`/api/v1/portfolios/${P.pid}/members/${adm.uid}`)).status, 200);
  assert.equal((await api.get(`/api/v1/brands/${B.id}`)).status, 401);
  assert.equal((await tokenClient(other.url, t.json.token).get(`/api/v1/portfolios/${P.pid}/brands`)).status, 401);
  // Enabled again and stripped of the admin role, kept as a viewer of A only.
  assert.equal((await P.api.post(`/api/v1/portfolios/${P.pid}/members/${adm.uid}/enable`)).status, 200);
  await stack.sql("UPDATE memberships SET brand_id = $2, role = 'viewer' WHERE user_id = $1", [adm.uid, A.id]);
  await sleep(1100); // a change made behind the API's back shows within the cache lifetime
  assert.equal((await api.get(`/api/v1/brands/${B.id}`)).status, 404);
  assert.equal((await api.get(`/api/v1/brands/${A.id}`)).status, 200);
  assert.equal((await api.patch(`/api/v1/brands/${A.id}`, { timezone: 'UTC' })).status, 403);
  const list = await api.get(`/api/v1/portfolios/${P.pid}/brands`);
  assert.equal(list.status, 200);
  assert.deepEqual(list.json.items.map((b) => [b.id, b.your_role]), [[A.id, 'viewer']]);
  assert.equal((await api.post(`/api/v1/portfolios/${P.pid}/brands`, { name: unique('No') })).status, 403);
});

test('disabling a member ends its session and tokens before the answer, on every thread of every process', async () => {
  const m = await member(stack, P, A.id, 'brand_owner');
  const t = await m.api.post(`/api/v1/brands/${A.id}/tokens`, { name: 'mine', role: 'operator' });
  assert.equal(t.status, 201, t.text);
  const cookie = `oc_session=${m.api.cookies.oc_session}`;
  const callers = [
    client(stack.url, { cookie }), client(other.url, { cookie }),
    tokenClient(stack.url, t.json.token), tokenClient(other.url, t.json.token),
  ];
  const burst = () => Promise.all(callers.flatMap((c) => Array.from({ length: 6 }, () => c.get(`/api/v1/brands/${A.id}`))));
  assert.deepEqual([...new Set((await burst()).map((r) => r.status))], [200]);
  const off = await P.api.del(`/api/v1/portfolios/${P.pid}/members/${m.uid}`);
  assert.equal(off.status, 200);
  const statuses = (await burst()).map((r) => r.status);
  assert.deepEqual([...new Set(statuses)], [401], statuses.join(','));
});

test('logging out and revoking a token hold in the other process before the answer', async () => {
  const m = await member(stack, P, A.id, 'brand_owner');
  const t = await m.api.post(`/api/v1/brands/${A.id}/tokens`, { name: 'mine', role: 'viewer' });
  const there = tokenClient(other.url, t.json.token);
  const cookie = `oc_session=${m.api.cookies.oc_session}`;
  const session = client(other.url, { cookie });
  await Promise.all(Array.from({ length: 6 }, () => there.get('/api/v1/me')));
  await Promise.all(Array.from({ length: 6 }, () => session.get('/api/v1/me')));
  assert.equal((await m.api.del(`/api/v1/brands/${A.id}/tokens/${t.json.id}`)).status, 200);
  assert.deepEqual([...new Set((await Promise.all(Array.from({ length: 6 }, () => there.get('/api/v1/me')))).map((r) => r.status))], [401]);
  assert.equal((await m.api.post('/api/v1/auth/logout', {})).status, 204);
  assert.deepEqual([...new Set((await Promise.all(Array.from({ length: 6 }, () => session.get('/api/v1/me')))).map((r) => r.status))], [401]);
});
