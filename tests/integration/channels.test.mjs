// channels.test.mjs — connections with write-only credentials in the vault,
// listings, the brand's rules, and the published quantity with its reasons.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, chmodSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startStack, startServer, createDatabase, dropDatabase, superQuery, BIN } from './lib/stack.mjs';
import { portfolio, brand, member, token, tokenClient } from './lib/world.mjs';

const SECRET = 'shpat_RECOGNISABLE_SECRET_7f3a9c';
let stack, P, A, api, owner, base;
before(async () => {
  stack = await startStack();
  P = await portfolio(stack);
  A = await brand(P);
  owner = await member(stack, P, A.id, 'brand_owner');
  api = owner.api;
  base = `/api/v1/brands/${A.id}`;
});
after(async () => { await stack?.stop(); });

const shopify = (name, extra = {}) => ({
  kind: 'shopify', name, base_url: 'http://127.0.0.1:9/shopify/acme',
  settings: { shop: 'acme.myshopify.com', location_id: 'gid://shopify/Location/1' },
  credentials: { access_token: SECRET }, ...extra,
});

test('credentials are write-only: never in responses, logs or the database in plaintext', async () => {
  const r = await api.post(`${base}/connections`, shopify('Shop'));
  assert.equal(r.status, 201, r.text);
  assert.deepEqual(r.json.credentials.fields, ['access_token']);
  assert.equal(r.json.credentials.set, true);
  assert.ok(!r.text.includes(SECRET));
  for (const path of [`${base}/connections`, `${base}/connections/${r.json.id}`, `${base}/audit?limit=200`]) {
    const g = await api.get(path);
    assert.equal(g.status, 200);
    assert.ok(!g.text.includes(SECRET), path);
  }
  // The whole database, dumped: no plaintext secret anywhere.
  const dump = execFileSync('pg_dump', ['--data-only', stack.cluster.superUrl(stack.db)], { encoding: 'utf8', maxBuffer: 1 << 28 });
  assert.ok(dump.length > 1000);
  assert.ok(!dump.includes(SECRET), 'plaintext secret in the database dump');
  assert.ok(!dump.includes('RECOGNISABLE'), 'part of the secret in the dump');
  assert.ok(!stack.server.logs.join('\n').includes(SECRET), 'secret in the logs');
  // Replacing credentials keeps them write-only and audited without values.
  const up = await api.patch(`${base}/connections/${r.json.id}`, { credentials: { access_token: `${SECRET}-2` } });
  assert.equal(up.status, 200, up.text);
  const audit = await api.get(`${base}/audit?action=connection.credentials`);
  assert.equal(audit.json.items.length, 1);
  assert.ok(!audit.text.includes(SECRET));
});

test('a ciphertext moved to another brand or connection does not open', async () => {
  const c1 = (await api.post(`${base}/connections`, shopify('Shop-2'))).json;
  const c2 = (await api.post(`${base}/connections`, shopify('Shop-3'))).json;
  const B = await brand(P);
  const bapi = tokenClient(stack.url, (await token(P, B.id, 'brand_owner')).token);
  const c3 = (await bapi.post(`/api/v1/brands/${B.id}/connections`, shopify('Shop-B'))).json;
  // Copy c1's sealed credentials onto c2 (same brand) and onto c3 (another brand), as an attacker with SQL would.
  await stack.sql(`UPDATE channel_connections SET credentials = (SELECT credentials FROM channel_connections WHERE id = $1) WHERE id = ANY($2)`,
    [c1.id, [c2.id, c3.id]]);
  const check = async (tenant, id) => {
    const row = (await stack.sql(`SELECT c.credentials, k.key_version, k.wrapped FROM channel_connections c JOIN brand_keys k ON k.tenant_id = c.tenant_id WHERE c.id = $1`, [id])).rows[0];
    return row;
  };
  assert.ok(await check(A.id, c2.id));
  // The server opens credentials when it uses them: the worker's loader reports which do not open.
  const r = await api.post(`${base}/connections/${c2.id}/test`, {});
  assert.equal(r.status, 409, r.text);
  assert.match(r.json.error.message, /credentials do not open/);
  const r3 = await bapi.post(`/api/v1/brands/${B.id}/connections/${c3.id}/test`, {});
  assert.equal(r3.status, 409);
  // The untouched one still opens (and then fails only because nothing listens at its base URL).
  const ok = await api.post(`${base}/connections/${c1.id}/test`, {});
  assert.notEqual(ok.status, 409, ok.text);
});

test('connection validation names the field; only brand owners and admins connect channels', async () => {
  const bad = [
    [{ ...shopify('X'), kind: 'ebay' }, 'kind'],
    [{ ...shopify('X'), settings: {} }, 'settings.shop'],
    [{ ...shopify('X'), credentials: {} }, 'credentials.access_token'],
    [{ ...shopify('X'), credentials: { access_token: 5 } }, 'credentials.access_token'],
    [{ ...shopify('X'), base_url: 'ftp://x' }, 'base_url'],
    [{ ...shopify('X'), rules: { buffer: -1 } }, 'rules.buffer'],
    [{ ...shopify('X'), rules: { share: 101 } }, 'rules.share'],
    [{ ...shopify('X'), rules: { magic: 1 } }, 'rules.magic'],
    [{ kind: 'amazon', name: 'A', settings: { seller_id: 'S' }, credentials: { client_id: 'a', client_secret: 'b', refresh_token: 'c' } }, 'settings.marketplace_ids'],
    [{ kind: 'walmart', name: 'W', settings: {}, credentials: { client_id: 'a' } }, 'credentials.client_secret'],
  ];
  for (const [body, field] of bad) {
    const r = await api.post(`${base}/connections`, body);
    assert.equal(r.status, 422, `${JSON.stringify(body)}: ${r.text}`);
    assert.equal(r.json.error.field, field, r.text);
  }
  const op = await member(stack, P, A.id, 'operator');
  assert.equal((await op.api.post(`${base}/connections`, shopify('Op'))).status, 403);
  assert.equal((await op.api.get(`${base}/connections`)).status, 200, 'operators see connections (no secrets)');
  const dup = await api.post(`${base}/connections`, shopify('Shop'));
  assert.equal(dup.status, 409);
});

test('listings: mapping, automap with a report, unmapped SKUs, and the published quantity with its reasons', async () => {
  const amz = (await api.post(`${base}/connections`, { kind: 'amazon', name: 'Amazon', settings: { seller_id: 'S1', marketplace_ids: ['ATVPDKIKX0DER'] },
    credentials: { client_id: 'a', client_secret: 'b', refresh_token: 'c' }, rules: { buffer: 2 } })).json;
  const wm = (await api.post(`${base}/connections`, { kind: 'walmart', name: 'Walmart', settings: {}, credentials: { client_id: 'a', client_secret: 'b' },
    rules: { share: 50, cap: 4 } })).json;
  for (const code of ['L1', 'L2', 'L3']) assert.equal((await api.post(`${base}/skus`, { code })).status, 201);
  await api.post(`${base}/movements`, { kind: 'receipt', lines: [{ sku: 'L1', qty: 10 }, { sku: 'L2', qty: 3 }] });
  const un = await api.get(`${base}/listings/unmapped`);
  assert.ok(un.json.items.some((u) => u.sku === 'L1' && u.connection === 'Amazon'));
  const am = await api.post(`${base}/connections/${amz.id}/automap`, {});
  assert.equal(am.status, 200, am.text);
  assert.ok(am.json.created >= 3);
  assert.ok(am.json.mapped.includes('L1'));
  const shop = (await api.get(`${base}/connections`)).json.items.find((c) => c.kind === 'shopify');
  const sm = await api.post(`${base}/connections/${shop.id}/automap`, {});
  // Shopify listings are mapped by SKU too (the adapter finds the inventory item by SKU).
  assert.ok(sm.json.mapped.includes('L1'), sm.text);
  const wl = await api.post(`${base}/listings`, { connection_id: wm.id, sku: 'L1', external_sku: 'WM-L1' });
  assert.equal(wl.status, 201, wl.text);
  assert.equal(wl.json.desired_qty, 4, 'share 50% of 10 = 5, capped at 4');
  assert.equal(wl.json.why.bound_by, 'cap');
  const dup = await api.post(`${base}/listings`, { connection_id: wm.id, sku: 'L1' });
  assert.equal(dup.status, 409);
  assert.equal((await api.post(`${base}/listings`, { connection_id: shop.id, sku: 'L1' })).status, 409, 'already mapped');
  // The SKU shows each listing's number and the rule that bound it.
  const s = (await api.get(`${base}/skus/L1`)).json;
  const byConn = Object.fromEntries(s.listings.map((l) => [l.connection, l]));
  assert.equal(byConn.Amazon.published_qty, 8);
  assert.equal(byConn.Amazon.bound_by, 'buffer');
  assert.equal(byConn.Walmart.published_qty, 4);
  assert.deepEqual(byConn.Walmart.why.map((st) => st.rule), ['available', 'share', 'cap']);
  // A sale changes every listing's desired quantity in the same transaction.
  await api.post(`${base}/movements`, { kind: 'sale', sku: 'L1', qty: 6 });
  const after = (await api.get(`${base}/skus/L1`)).json;
  assert.equal(after.listings.find((l) => l.connection === 'Amazon').published_qty, 2);
  assert.equal(after.listings.find((l) => l.connection === 'Walmart').published_qty, 2);
  // The last-units rule: at or below 3 available only Walmart shows stock.
  const lu = await api.put(`${base}/rules`, { last_units: { threshold: 3, connection_id: wm.id } });
  assert.equal(lu.status, 200, lu.text);
  await api.post(`${base}/movements`, { kind: 'sale', sku: 'L1', qty: 1 });
  const last = (await api.get(`${base}/skus/L1`)).json.listings;
  assert.equal(last.find((l) => l.connection === 'Amazon').published_qty, 0);
  assert.equal(last.find((l) => l.connection === 'Amazon').bound_by, 'last_units');
  assert.equal(last.find((l) => l.connection === 'Walmart').published_qty, 1, '50% of 3');
  // Per-listing overrides beat the connection's rules.
  const al = last.find((l) => l.connection === 'Amazon');
  const ov = await api.patch(`${base}/listings/${al.id}`, { rules: { buffer: 0 } });
  assert.equal(ov.status, 200, ov.text);
  assert.deepEqual(ov.json.effective_rules, { buffer: 0 });
  assert.equal((await api.put(`${base}/rules`, { last_units: null })).status, 200);
  assert.equal((await api.get(`${base}/listings/${al.id}`)).json.desired_qty, 3);
  // Bundles publish their computed availability.
  await api.post(`${base}/bundles`, { code: 'LB', components: [{ sku: 'L1', qty: 1 }, { sku: 'L2', qty: 1 }] });
  const bl = await api.post(`${base}/listings`, { connection_id: amz.id, sku: 'LB', external_sku: 'AMZ-LB', rules: { buffer: 0 } });
  assert.equal(bl.json.desired_qty, 3, 'min(3 of L1, 3 of L2)');
  const listed = await api.get(`${base}/listings?connection=${amz.id}&out_of_sync=true`);
  assert.ok(listed.json.items.length >= 1, 'nothing has been pushed yet');
});

test('the published-quantity function, rule by rule and in combination', async () => {
  const cases = [
    // [available, rules, last_units_threshold, is_owner, auto_buffer] -> [qty, bound_by]
    [10, {}, null, false, null, 10, 'available'],
    [0, {}, null, false, null, 0, 'none_available'],
    [-3, {}, null, false, null, 0, 'none_available'],
    [10, { buffer: 2 }, null, false, null, 8, 'buffer'],
    [1, { buffer: 2 }, null, false, null, 0, 'buffer'],
    [10, { share: 50 }, null, false, null, 5, 'share'],
    [9, { share: 50 }, null, false, null, 4, 'share'],
    [10, { share: 100 }, null, false, null, 10, 'available'],
    [10, { share: 0 }, null, false, null, 0, 'share'],
    [10, { cap: 3 }, null, false, null, 3, 'cap'],
    [2, { cap: 3 }, null, false, null, 2, 'available'],
    [10, { cap: null }, null, false, null, 10, 'available'],
    [2, { floor: 3 }, null, false, null, 0, 'floor'],
    [3, { floor: 3 }, null, false, null, 3, 'available'],
    [3, {}, 3, false, null, 0, 'last_units'],
    [3, {}, 3, true, null, 3, 'available'],
    [4, {}, 3, false, null, 4, 'available'],
    [10, { buffer: 'auto' }, null, false, 4, 6, 'buffer'],
    [10, { buffer: 'auto' }, null, false, 0, 10, 'available'],
    [20, { buffer: 2, share: 50, cap: 5 }, null, false, null, 5, 'cap'],
    [12, { buffer: 2, share: 50, cap: 8 }, null, false, null, 5, 'share'],
    [5, { buffer: 1, share: 50, floor: 3 }, null, false, null, 0, 'floor'],
    [3, { buffer: 1 }, 3, true, null, 2, 'buffer'],
  ];
  for (const [avail, rules, thr, owner, auto, qty, bound] of cases) {
    const r = await stack.sql('SELECT publish_qty($1, $2::jsonb, $3, $4, $5) AS p', [avail, JSON.stringify(rules), thr, owner, auto]);
    assert.equal(Number(r.rows[0].p.qty), qty, `${avail} ${JSON.stringify(rules)} thr=${thr} owner=${owner} auto=${auto}`);
    assert.equal(r.rows[0].p.bound_by, bound, `${avail} ${JSON.stringify(rules)}`);
  }
  // The automatic buffer: Poisson 99th percentile of what every channel sells during the lag.
  const q = await stack.sql('SELECT poisson_quantile(0, 0.99) a, poisson_quantile(1, 0.99) b, poisson_quantile(4, 0.99) c, poisson_quantile(1000, 0.99) d');
  assert.deepEqual(q.rows[0], { a: '0', b: '4', c: '9', d: '1074' });
  // ...this channel's own sales included: a number it applies late gives back what it sold meanwhile.
  const conn = (await api.post(`${base}/connections`, { kind: 'walmart', name: `Slow ${Date.now()}`, settings: {},
    credentials: { client_id: 'a', client_secret: 'b' } })).json;
  assert.equal((await api.post(`${base}/skus`, { code: 'AB1' })).status, 201);
  const sku = (await stack.sql('SELECT id FROM skus WHERE tenant_id = $1 AND code = $2', [A.id, 'AB1'])).rows[0].id;
  await stack.sql('UPDATE channel_connections SET push_lag_ms = 3000000, ingest_lag_ms = 600000 WHERE id = $1', [conn.id]);
  await stack.sql('INSERT INTO sku_velocity (tenant_id, sku_id, connection_id, units_per_hour) VALUES ($1, $2, $3, 1)', [A.id, sku, conn.id]);
  const own = (await stack.sql('SELECT auto_buffer($1, $2, $3) AS b', [A.id, sku, conn.id])).rows[0].b;
  assert.equal(own, '4', 'only its own sales (1/h over a one-hour lag): the buffer is Poisson(1) at 99%');
  // ...and another channel's sales during THAT channel's ingest lag: a fast channel (no push or ingest lag,
  // no sales) still shows the slow one's sales onecount has not taken in yet (1/h over its 10 minutes: Poisson(1/6) at 99%).
  const fast = (await api.post(`${base}/connections`, { kind: 'walmart', name: `Fast ${Date.now()}`, settings: {},
    credentials: { client_id: 'a', client_secret: 'b' } })).json;
  await stack.sql('UPDATE channel_connections SET push_lag_ms = 0, ingest_lag_ms = 0 WHERE id = $1', [fast.id]);
  const other = (await stack.sql('SELECT auto_buffer($1, $2, $3) AS b', [A.id, sku, fast.id])).rows[0].b;
  assert.equal(other, '2', 'the slow channel\'s unpolled sales: 1/h x 10 min, Poisson(1/6) at 99% is 2');
});

test('key rotation keeps every credential readable', async () => {
  // A server with a key file (not the environment key), one connection, then rotate.
  const dir = mkdtempSync(join(tmpdir(), 'oc-keys-'));
  chmodSync(dir, 0o700);
  const keyFile = join(dir, 'master.key');
  // A database of its own: every brand key in it is under this key file.
  const db = await createDatabase(stack.cluster);
  const databaseUrl = stack.cluster.appUrl(db);
  const env = { ...process.env, ONECOUNT_DATABASE_URL: databaseUrl, ONECOUNT_MASTER_KEY_FILE: keyFile, ONECOUNT_MASTER_KEY: '' };
  execFileSync(BIN, ['admin', 'keygen'], { env });
  assert.match(readFileSync(keyFile, 'utf8'), /^1 \S+\n$/);
  assert.throws(() => execFileSync(BIN, ['admin', 'keygen'], { env, stdio: 'pipe' }), 'keygen refuses to overwrite');
  const server = await startServer({ databaseUrl, redisUrl: stack.redis.url,
    env: { ONECOUNT_MASTER_KEY_FILE: keyFile, ONECOUNT_MASTER_KEY: '' } });
  try {
    const Q = await portfolio({ ...stack, url: server.url, databaseUrl });
    const C = await brand(Q);
    const capi = tokenClient(server.url, (await token(Q, C.id, 'brand_owner')).token);
    const conn = (await capi.post(`/api/v1/brands/${C.id}/connections`, shopify('Rotating'))).json;
    assert.ok(conn.id);
    const out = execFileSync(BIN, ['admin', 'rotate-key'], { env, encoding: 'utf8' });
    assert.match(out, /key version 2 is current; rewrapped \d+ brand key/);
    assert.match(readFileSync(keyFile, 'utf8'), /^1 \S+\n2 \S+\n$/);
    const v = await superQuery(stack.cluster, db, 'SELECT key_version FROM brand_keys WHERE tenant_id = $1', [C.id]);
    assert.equal(v.rows[0].key_version, 2);
    // The running server meets version 2, reloads the key file, and still opens the credentials.
    const t = await capi.post(`/api/v1/brands/${C.id}/connections/${conn.id}/test`, {});
    assert.notEqual(t.status, 409, t.text);
    execFileSync(BIN, ['admin', 'retire-keys'], { env });
    assert.match(readFileSync(keyFile, 'utf8'), /^2 \S+\n$/);
    const t2 = await capi.post(`/api/v1/brands/${C.id}/connections/${conn.id}/test`, {});
    assert.notEqual(t2.status, 409, t2.text);
  } finally {
    await server.stop();
    await dropDatabase(stack.cluster, db);
    rmSync(dir, { recursive: true, force: true });
  }
});
