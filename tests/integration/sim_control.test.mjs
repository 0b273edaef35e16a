// sim_control.test.mjs — the control API of `onecount sim`: accounts, channel-side
// stock edits, the request log, faults (5xx, latency, held-open timeouts,
// malformed bodies, throttle storms), order generators that never sell what the
// channel does not show, statistics, and reset.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { startSim, call, waitFor } from './lib/sim.mjs';
import { sleep } from './lib/stack.mjs';

let sim;
before(async () => { sim = await startSim(); });
after(async () => { await sim?.stop(); });

async function walmart(a) {
  const t = await call(a.credentials.token_url, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${a.credentials.client_id}:${a.credentials.client_secret}`).toString('base64')}`,
      'wm_qos.correlation_id': randomUUID(), 'wm_svc.name': 'Walmart Marketplace', 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials',
  });
  assert.equal(t.status, 200, t.text);
  const h = () => ({ 'wm_sec.access_token': t.json.access_token, 'wm_qos.correlation_id': randomUUID(), 'wm_svc.name': 'Walmart Marketplace', 'content-type': 'application/json',
    authorization: `Basic ${Buffer.from(`${a.credentials.client_id}:${a.credentials.client_secret}`).toString('base64')}` });
  return {
    get: (path, opts = {}) => call(`${a.base_url}${path}`, { headers: h(), ...opts }),
    put: (path, body, opts = {}) => call(`${a.base_url}${path}`, { method: 'PUT', headers: h(), body: JSON.stringify(body), ...opts }),
  };
}

const statsOf = async (a) => Object.fromEntries((await sim.ctl.get(`/_sim/accounts/${a.id}/stats`)).json.accounts[0].skus.map((s) => [s.sku, s]));

test('accounts: create with credentials and base URL, list, get, change, delete', async () => {
  assert.deepEqual((await sim.ctl.get('/_sim/health')).json.status, 'ok');
  const bad = await sim.ctl.post('/_sim/accounts', { channel: 'ebay' });
  assert.equal(bad.status, 422);
  assert.match(bad.json.error, /channel/);
  const s = await sim.account({ channel: 'shopify', name: 'ctl-shop', skus: [{ sku: 'X', quantity: 3, inventory_item_id: 777 }] });
  assert.equal(s.base_url, `${sim.url}/shopify/ctl-shop`);
  assert.equal(s.skus[0].inventory_item_id, 777);
  assert.ok(s.credentials.access_token && s.credentials.client_secret);
  assert.equal((await sim.ctl.post('/_sim/accounts', { channel: 'shopify', name: 'ctl-shop' })).status, 409, 'shops are unique');
  const am = await sim.account({ channel: 'amazon', seller_id: 'A1SIMSELLER', stock: { Y: 1 } });
  assert.equal(am.base_url, `${sim.url}/amazon`);
  assert.equal(am.credentials.seller_id, 'A1SIMSELLER');
  assert.equal(am.credentials.token_url, `${sim.url}/amazon/auth/o2/token`);
  const wm = await sim.account({ channel: 'walmart', stock: { Z: 2 } });
  assert.equal(wm.base_url, `${sim.url}/walmart`);
  const list = await sim.ctl.get('/_sim/accounts');
  for (const a of [s, am, wm]) assert.ok(list.json.accounts.some((x) => x.id === a.id));
  const changed = await sim.ctl.patch(`/_sim/accounts/${am.id}`, { apply_delay_ms: 0, limits: 'unlimited', token_ttl_s: 60 });
  assert.equal(changed.status, 200);
  assert.equal(changed.json.delays.apply_delay_ms, 0);
  assert.equal(changed.json.limits.mode, 'unlimited');
  assert.equal((await sim.ctl.patch(`/_sim/accounts/${am.id}`, { seller_id: 'X' })).status, 422);
  assert.equal((await sim.ctl.del(`/_sim/accounts/${wm.id}`)).status, 204);
  assert.equal((await sim.ctl.get(`/_sim/accounts/${wm.id}`)).status, 404);
  const gone = await call(wm.credentials.token_url, { method: 'POST', headers: { authorization: `Basic ${Buffer.from(`${wm.credentials.client_id}:${wm.credentials.client_secret}`).toString('base64')}`,
    'wm_qos.correlation_id': 'x', 'wm_svc.name': 'x', 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=client_credentials' });
  assert.equal(gone.status, 401, 'a deleted account\'s credentials stop working');
});

test('a channel-side stock edit shows on the channel and is not a client write', async () => {
  const a = await sim.account({ channel: 'walmart', stock: { A: 1 } });
  const api = await walmart(a);
  const put = await sim.ctl.put(`/_sim/accounts/${a.id}/stock`, { A: 9, NEW: 4 });
  assert.equal(put.status, 200);
  assert.deepEqual(put.json.stock, { A: 9, NEW: 4 });
  assert.equal((await api.get('/v3/inventory?sku=A')).json.quantity.amount, 9);
  assert.equal((await api.get('/v3/inventory?sku=NEW')).json.quantity.amount, 4);
  assert.equal((await statsOf(a)).A.writes, 0);
  assert.equal((await sim.ctl.put(`/_sim/accounts/${a.id}/stock`, { A: 'many' })).status, 422);
});

test('the request log records every channel request with status and quantity writes, filtered by account and since-id', async () => {
  const a = await sim.account({ channel: 'walmart', stock: { A: 1, B: 1 } });
  const b = await sim.account({ channel: 'walmart', stock: { A: 1 } });
  const mark = (await sim.requests({ limit: 1 })).latest_id;
  const api = await walmart(a);
  await api.put('/v3/inventory?sku=A', { sku: 'A', quantity: { unit: 'EACH', amount: 7 } });
  await api.get('/v3/inventory?sku=B');
  await api.get('/v3/inventory?sku=MISSING');
  await (await walmart(b)).put('/v3/inventory?sku=A', { sku: 'A', quantity: { unit: 'EACH', amount: 3 } });
  const log = await sim.requests({ account: a.id, since: mark });
  const rows = log.requests.map((x) => [x.method, x.path, x.status, x.op, x.writes ?? null]);
  assert.deepEqual(rows, [
    ['POST', '/walmart/v3/token', 200, 'token', null],
    ['PUT', '/walmart/v3/inventory', 200, 'updateInventoryForAnItem', { A: 7 }],
    ['GET', '/walmart/v3/inventory', 200, 'getInventory', null],
    ['GET', '/walmart/v3/inventory', 404, 'getInventory', null],
  ]);
  for (const x of log.requests) {
    assert.equal(x.account, a.id);
    assert.equal(x.channel, 'walmart');
    assert.ok(x.id > mark && Date.parse(x.time) > 0 && typeof x.ms === 'number');
  }
  assert.equal(log.requests[1].query, 'sku=A');
  const later = await sim.requests({ account: a.id, since: log.next_since });
  assert.deepEqual(later.requests, []);
  const bLog = await sim.requests({ account: b.id, since: mark });
  assert.deepEqual(bLog.requests.map((x) => x.writes ?? null), [null, { A: 3 }]);
  // No credential ends up in the log.
  const all = JSON.stringify(await sim.requests({ since: mark }));
  assert.ok(!all.includes(a.credentials.client_secret));
});

test('faults: a fraction of 5xx, added latency, malformed 200s, and the match filter', async () => {
  const a = await sim.account({ channel: 'walmart', stock: { A: 5 }, limits: 'unlimited' });
  const api = await walmart(a);
  await sim.ctl.put(`/_sim/accounts/${a.id}/faults`, { error_rate: 1, error_status: 502 });
  const e = await api.put('/v3/inventory?sku=A', { sku: 'A', quantity: { unit: 'EACH', amount: 1 } });
  assert.equal(e.status, 502);
  assert.equal(e.json.errors[0].code, 'SYSTEM_ERROR.GMP_GATEWAY_API');
  assert.equal((await sim.stockOf(a)).A, 5, 'a failed request applies nothing');

  await sim.ctl.put(`/_sim/accounts/${a.id}/faults`, { error_rate: 0.5 });
  const statuses = [];
  for (let i = 0; i < 40; i++) statuses.push((await api.get('/v3/inventory?sku=A')).status);
  const failed = statuses.filter((s) => s === 503).length;
  assert.ok(failed > 5 && failed < 35, `about half fail (${failed}/40)`);
  assert.ok(statuses.every((s) => s === 200 || s === 503));

  await sim.ctl.put(`/_sim/accounts/${a.id}/faults`, { latency_ms: 300 });
  const slow = await api.get('/v3/inventory?sku=A');
  assert.equal(slow.status, 200);
  assert.ok(slow.ms >= 290, `latency applied (${slow.ms} ms)`);

  await sim.ctl.put(`/_sim/accounts/${a.id}/faults`, { malformed_rate: 1 });
  const bad = await api.put('/v3/inventory?sku=A', { sku: 'A', quantity: { unit: 'EACH', amount: 2 } });
  assert.equal(bad.status, 200);
  assert.equal(bad.json, undefined, 'the body is not valid JSON');
  assert.throws(() => JSON.parse(bad.text));
  assert.equal((await sim.stockOf(a)).A, 2, 'a malformed answer still applied the write');

  await sim.ctl.put(`/_sim/accounts/${a.id}/faults`, { error_rate: 1, match: '/v3/orders' });
  assert.equal((await api.get('/v3/inventory?sku=A')).status, 200);
  assert.equal((await api.get('/v3/orders')).status, 503);
  const log = await sim.requests({ account: a.id, path: '/v3/orders' });
  assert.equal(log.requests.at(-1).fault, 'error');
  assert.equal((await sim.ctl.del(`/_sim/accounts/${a.id}/faults`)).status, 200);
  assert.equal((await api.get('/v3/orders')).status, 200);
});

test('faults: timeouts hold the request open, and a client that gives up gets nothing', async () => {
  const a = await sim.account({ channel: 'walmart', stock: { A: 5 } });
  const api = await walmart(a);
  await sim.ctl.put(`/_sim/accounts/${a.id}/faults`, { timeout_rate: 1, timeout_ms: 600 });
  const held = await api.get('/v3/inventory?sku=A');
  assert.equal(held.status, 504);
  assert.ok(held.ms >= 590, `held ${held.ms} ms`);
  await sim.ctl.put(`/_sim/accounts/${a.id}/faults`, { timeout_rate: 1, timeout_ms: 30000 });
  const t0 = Date.now();
  await assert.rejects(api.put('/v3/inventory?sku=A', { sku: 'A', quantity: { unit: 'EACH', amount: 1 } }, { signal: AbortSignal.timeout(300) }), /abort|timeout/i);
  assert.ok(Date.now() - t0 < 2000);
  assert.equal((await sim.stockOf(a)).A, 5, 'a timed-out write was not applied');
  // Global faults reach every account; clearing them restores service.
  await sim.ctl.del(`/_sim/accounts/${a.id}/faults`);
  await sim.ctl.put('/_sim/faults', { error_rate: 1 });
  const other = await sim.account({ channel: 'walmart', stock: { A: 1 } });
  const t = await call(other.credentials.token_url, { method: 'POST', headers: { authorization: 'Basic eDp5' }, body: '' });
  assert.equal(t.status, 503);
  await sim.ctl.del('/_sim/faults');
  assert.equal((await api.get('/v3/inventory?sku=A')).status, 200);
});

test('a forced 429 storm throttles with the channel\'s own signal for N seconds, then clears', async () => {
  const a = await sim.account({ channel: 'walmart', stock: { A: 5 }, limits: 'unlimited' });
  const api = await walmart(a);
  const shop = await sim.account({ channel: 'shopify', name: 'storm-shop', stock: { A: 1 }, limits: 'unlimited' });
  await sim.ctl.put(`/_sim/accounts/${a.id}/faults`, { storm_seconds: 1 });
  await sim.ctl.put(`/_sim/accounts/${shop.id}/faults`, { storm_seconds: 1 });
  const r = await api.get('/v3/inventory?sku=A');
  assert.equal(r.status, 429);
  assert.equal(r.json.errors[0].code, 'REQUEST_THRESHOLD_VIOLATED.GMP_GATEWAY_API');
  assert.ok(Number(r.headers.get('retry-after')) >= 1);
  const gql = await call(`${shop.base_url}/admin/api/2026-01/graphql.json`, { method: 'POST',
    headers: { 'x-shopify-access-token': shop.credentials.access_token, 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ shop { name } }' }) });
  assert.equal(gql.json.errors[0].extensions.code, 'THROTTLED');
  const rest = await call(`${shop.base_url}/admin/api/2026-01/shop.json`, { headers: { 'x-shopify-access-token': shop.credentials.access_token } });
  assert.equal(rest.status, 429);
  assert.ok(rest.headers.get('retry-after'));
  await sleep(1100);
  assert.equal((await api.get('/v3/inventory?sku=A')).status, 200);
});

test('generators sell only while the channel shows stock, and never oversell', async () => {
  const a = await sim.account({ channel: 'walmart', stock: { HOT: 5, NONE: 0, SLOW: 1000 }, limits: 'unlimited',
    generator: { seed: 7, rates: { HOT: { per_second: 200 }, NONE: { per_second: 200 }, SLOW: { per_hour: 1 } } } });
  await waitFor(async () => (await statsOf(a)).NONE.lost_arrivals > 20 && (await sim.stockOf(a)).HOT === 0, { what: 'demand to hit an empty shelf', timeout: 5000 });
  let st = await statsOf(a);
  assert.equal(st.HOT.sold, 5, 'exactly the shown stock sold');
  assert.equal(st.HOT.quantity, 0);
  assert.equal(st.HOT.stockouts, 1);
  assert.ok(st.HOT.lost_arrivals > 0);
  assert.equal(st.NONE.sold, 0, 'nothing sells while the channel shows 0');
  for (const s of Object.values(st)) assert.equal(s.oversold, 0);
  // onecount (or a merchant) shows 3 more: they sell, and no more.
  const api = await walmart(a);
  await api.put('/v3/inventory?sku=NONE', { sku: 'NONE', quantity: { unit: 'EACH', amount: 3 } });
  await waitFor(async () => (await statsOf(a)).NONE.sold === 3, { what: 'the new stock to sell', timeout: 5000 });
  await sleep(100);
  st = await statsOf(a);
  assert.equal(st.NONE.sold, 3);
  assert.equal(st.NONE.quantity, 0);
  // The sales are real Walmart orders on the polling API.
  const orders = await api.get(`/v3/orders?limit=200&sku=NONE&createdStartDate=${Date.now() - 60000}`);
  assert.equal(orders.json.list.elements.order.reduce((n, o) => n + Number(o.orderLines.orderLine[0].orderLineQuantity.amount), 0), 3);
  assert.equal((await sim.ctl.post(`/_sim/accounts/${a.id}/generator/stop`, {})).json.running, false);
  const total = (await sim.ctl.get(`/_sim/accounts/${a.id}/orders`)).json.total;
  await sim.ctl.put(`/_sim/accounts/${a.id}/stock`, { HOT: 50 });
  await sleep(150);
  assert.equal((await sim.ctl.get(`/_sim/accounts/${a.id}/orders`)).json.total, total, 'a stopped generator sells nothing');
  // A forced order is the only way to sell below zero, and it counts as oversold.
  await sim.ctl.put(`/_sim/accounts/${a.id}/stock`, { HOT: 1 });
  assert.equal((await sim.ctl.post(`/_sim/accounts/${a.id}/orders`, { sku: 'HOT', quantity: 3 })).status, 409);
  assert.equal((await sim.ctl.post(`/_sim/accounts/${a.id}/orders`, { sku: 'HOT', quantity: 3, force: true })).status, 201);
  st = await statsOf(a);
  assert.equal(st.HOT.oversold, 2);
  assert.equal(st.HOT.quantity, -2);
  const totals = (await sim.ctl.get('/_sim/stats')).json.totals;
  assert.ok(totals.sold >= 11 && totals.oversold >= 2);
});

test('generators are reproducible from their seed', async () => {
  const spec = (name) => ({ channel: 'amazon', name, stock: { A: 100000 }, limits: 'unlimited', pending_ms: 0,
    generator: { seed: 42, rates: { A: { per_second: 150 } }, units_per_order: { min: 1, max: 4 }, running: false } });
  const x = await sim.account(spec('gen-x'));
  const y = await sim.account(spec('gen-y'));
  await Promise.all([sim.ctl.post(`/_sim/accounts/${x.id}/generator/start`, {}), sim.ctl.post(`/_sim/accounts/${y.id}/generator/start`, {})]);
  await sleep(400);
  await Promise.all([sim.ctl.post(`/_sim/accounts/${x.id}/generator/stop`, {}), sim.ctl.post(`/_sim/accounts/${y.id}/generator/stop`, {})]);
  const qx = (await sim.ctl.get(`/_sim/accounts/${x.id}/orders`)).json.orders.map((o) => o.lines[0].quantity);
  const qy = (await sim.ctl.get(`/_sim/accounts/${y.id}/orders`)).json.orders.map((o) => o.lines[0].quantity);
  const n = Math.min(qx.length, qy.length);
  assert.ok(n > 10, `enough orders (${n})`);
  assert.deepEqual(qx.slice(0, n), qy.slice(0, n));
  assert.ok(new Set(qx).size > 1, 'order sizes vary with the RNG');
  const z = await sim.account({ ...spec('gen-z'), generator: { ...spec().generator, seed: 43 } });
  await sim.ctl.post(`/_sim/accounts/${z.id}/generator/start`, {});
  await sleep(400);
  await sim.ctl.post(`/_sim/accounts/${z.id}/generator/stop`, {});
  const qz = (await sim.ctl.get(`/_sim/accounts/${z.id}/orders`)).json.orders.map((o) => o.lines[0].quantity);
  assert.notDeepEqual(qz.slice(0, 10), qx.slice(0, 10), 'another seed, another sequence');
});

test('a generator lifecycle cancels orders and puts the units back', async () => {
  const a = await sim.account({ channel: 'amazon', stock: { A: 4 }, limits: 'unlimited', pending_ms: 0,
    generator: { seed: 1, rates: { A: { per_second: 100 } }, lifecycle: { cancel_fraction: 1, cancel_after_ms: 50 } } });
  await waitFor(async () => (await statsOf(a)).A.cancelled >= 4, { what: 'cancellations', timeout: 5000 });
  await sim.ctl.post(`/_sim/accounts/${a.id}/generator/stop`, {});
  await sleep(120);
  const st = await statsOf(a);
  assert.equal(st.A.quantity, 4 - (st.A.sold - st.A.cancelled), 'every cancelled unit came back');
  const orders = (await sim.ctl.get(`/_sim/accounts/${a.id}/orders`)).json.orders;
  assert.ok(orders.every((o) => o.status === 'cancelled'));
});

test('reset empties the simulator', async () => {
  await sim.account({ channel: 'walmart', stock: { A: 1 } });
  const r = await sim.ctl.post('/_sim/reset', { seed: 5, request_log_capacity: 3 });
  assert.equal(r.status, 200);
  assert.deepEqual((await sim.ctl.get('/_sim/accounts')).json.accounts, []);
  const a = await sim.account({ channel: 'walmart', stock: { A: 1 } });
  assert.equal(a.id, 1);
  const api = await walmart(a);
  for (let i = 0; i < 5; i++) await api.get('/v3/inventory?sku=A');
  const log = await sim.requests();
  assert.equal(log.requests.length, 3, 'the ring keeps the newest entries');
  assert.equal(log.latest_id, 6);
  assert.deepEqual(log.requests.map((x) => x.id), [4, 5, 6]);
});
