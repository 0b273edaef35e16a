// adapters_shopify.test.mjs — the Shopify adapter against the Shopify simulator,
// through the adapter driver: static, client-credentials and expiring tokens
// (refresh with rotation), inventorySetQuantities batches with
// changeFromQuantity (stale rows re-read) and @idempotent, reads by item and by
// SKU, REST orders and refunds with Link pagination, webhook HMAC
// verification, the GraphQL cost bucket and THROTTLED, the REST 429, and
// 5xx / malformed faults.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startReceiver } from './lib/sim.mjs';
import { startSimAndDriver, connectAccount, drain } from './lib/driver.mjs';
import { sleep, waitFor } from './lib/stack.mjs';

let rig, sim, d;
before(async () => ({ sim, d } = rig = await startSimAndDriver()));
after(() => rig?.stop());

let seq = 0;
async function connect(spec = {}, { settings = {}, secrets, scale = 1 } = {}) {
  const name = `s${++seq}`;
  const acct = await connectAccount(rig, 'shopify', name, { name: `shop-${seq}`, stock: { A: 5, B: 7, C: 1 }, ...spec }, (c, a) => ({
    settings: { shop: `${a.name}.myshopify.com`, ...settings },
    secrets: secrets ? secrets(c) : { access_token: c.access_token },
    rate_scale: scale,
  }));
  return { acct, name, sku: Object.fromEntries(acct.skus.map((s) => [s.sku, s])) };
}


test('tokens: a static token (a 401 is final), client credentials, expiring tokens refreshed with rotation', { timeout: 60000 }, async () => {
  const s1 = await connect();
  const t = await d.test(s1.name);
  assert.equal(t.ok, true, t.error);
  assert.equal(t.result.account, `${s1.acct.name}.myshopify.com`);
  await sim.ctl.post(`/_sim/accounts/${s1.acct.id}/tokens/expire`, {});
  const dead = await d.test(s1.name);
  assert.equal(dead.ok, false);
  assert.match(dead.error, /unauthorized: channel answered 401/);
  assert.equal(dead.retryable, false);

  const s2 = await connect({}, { secrets: (c) => ({ client_id: c.client_id, client_secret: c.client_secret }) });
  assert.equal((await d.test(s2.name)).ok, true);
  assert.equal((await sim.log(s2.acct)).filter((e) => e.op === 'oauthAccessToken').length, 1);

  const s3 = await connect({ token_mode: 'expiring', token_ttl_s: 2 }, {
    secrets: (c) => ({ client_id: c.client_id, client_secret: c.client_secret, refresh_token: c.refresh_token }),
  });
  const before = d.events.filter((e) => e.conn === s3.name).length;
  assert.equal((await d.read(s3.name, [{ listing_id: 1, sku: 'A' }])).result[0].qty, 5);
  await sleep(2100);
  assert.equal((await d.read(s3.name, [{ listing_id: 1, sku: 'A' }])).result[0].qty, 5);
  const rotations = d.events.filter((e) => e.conn === s3.name && e.name === 'refresh_token').length - before;
  assert.equal(rotations, 2, 'each refresh rotated the refresh token and told the owner');
  const entries = await sim.log(s3.acct);
  assert.equal(entries.filter((e) => e.op === 'oauthAccessToken' && e.status === 200).length, 2);
  assert.equal(entries.filter((e) => e.status === 401).length, 0, 'an expired token is never sent');
  // a new state (a restart) starts from the rotated refresh token the owner kept
  await d.send({ op: 'free_state', conn: s3.name });
  assert.equal((await d.read(s3.name, [{ listing_id: 1, sku: 'A' }])).result[0].qty, 5);
});

test('push: one mutation for many rows, changeFromQuantity, stale rows re-read, @idempotent replays', { timeout: 60000 }, async () => {
  const { acct, name, sku } = await connect();
  // a merchant edit the sync has not seen yet
  await sim.ctl.put(`/_sim/accounts/${acct.id}/stock`, { B: 9 });
  const items = [
    { listing_id: 'a', item_ref: sku.A.inventory_item_gid, qty: 4, expect: 5, key: 'k-a' },
    { listing_id: 'b', item_ref: sku.B.inventory_item_gid, qty: 6, expect: 7, key: 'k-b' },
    { listing_id: 'c', sku: 'C', qty: 3, expect: null, key: 'k-c' },
    { listing_id: 'x', sku: 'NOPE', qty: 1, key: 'k-x' },
    { listing_id: 'y', sku: 'A', qty: -2 },
  ];
  const r = await d.push(name, items);
  assert.equal(r.ok, true, r.error);
  assert.deepEqual(r.result.map((x) => x.status), ['ok', 'stale', 'ok', 'error', 'error']);
  assert.deepEqual([r.result[0].qty, r.result[2].qty], [4, 3]);
  assert.equal(r.result[1].current, 9, 'the channel\'s quantity for the stale row');
  assert.match(r.result[3].error, /sku not found/);
  assert.match(r.result[4].error, /^qty:/);
  assert.deepEqual(await sim.stockOf(acct), { A: 4, B: 9, C: 3 });
  const muts = (await sim.log(acct)).filter((e) => e.op === 'graphql' && e.writes !== undefined);
  assert.deepEqual(muts.map((e) => e.writes), [{ A: 4, C: 3 }], 'one mutation applied the good rows (the first was refused whole)');

  // the same rows again: the same idempotency key, so Shopify replays and applies nothing
  const mark = (await sim.log(acct)).at(-1).id;
  const again = await d.push(name, [items[0], items[2]]);
  assert.deepEqual(again.result.map((x) => x.status), ['ok', 'ok']);
  const replay = (await sim.log(acct, { since: mark })).filter((e) => e.op === 'graphql');
  assert.equal(replay.length, 1);
  assert.equal(replay[0].writes, undefined, 'a replay writes nothing');

  // the stale row, retried with the current value as expectation, goes through
  const fixed = await d.push(name, [{ ...items[1], expect: 9, key: 'k-b2' }]);
  assert.equal(fixed.result[0].status, 'ok');
  assert.equal((await sim.stockOf(acct)).B, 6);
});

test('read by inventory item and by SKU; unknown items are null', { timeout: 30000 }, async () => {
  const { acct, name, sku } = await connect();
  const r = await d.read(name, [
    { listing_id: 1, item_ref: sku.B.inventory_item_gid, location_ref: sku.B.location_gid },
    { listing_id: 2, sku: 'C' },
    { listing_id: 3, sku: 'NOPE' },
    { listing_id: 4, item_ref: 'gid://shopify/InventoryItem/1' },
  ]);
  assert.deepEqual(r.result, [{ listing_id: 1, qty: 7 }, { listing_id: 2, qty: 1 }, { listing_id: 3, qty: null }, { listing_id: 4, qty: null }]);
  // the SKU is looked up once per connection
  await d.read(name, [{ listing_id: 2, sku: 'C' }]);
  const lookups = (await sim.log(acct)).filter((e) => e.op === 'graphql').length;
  assert.equal(lookups, 2 + 1 + 1, 'levels, lookup and location once, then levels only');
});

test('orders by updated_at with Link pages; changes come back once; refunds are the returns', { timeout: 60000 }, async () => {
  const { acct, name } = await connect({ stock: { A: 100, B: 100 } }, { settings: { page_size: 3 } });
  const ids = [];
  for (let i = 0; i < 7; i++) {
    const o = await sim.ctl.post(`/_sim/accounts/${acct.id}/orders`, { lines: [{ sku: 'A', quantity: 1 }, { sku: 'B', quantity: 2 }] });
    ids.push(String(o.json.id));
  }
  const all = await drain(d, 'fetch_orders', name, null);
  assert.deepEqual(all.pages, [3, 3, 1]);
  assert.deepEqual(all.records.map((o) => o.id).sort(), [...ids].sort());
  assert.ok(all.records.every((o) => o.status === 'open' && o.needs_ack === false && o.lines.length === 2));
  assert.equal((await drain(d, 'fetch_orders', name, all.cursor)).records.length, 0);

  await sleep(1100); // updated_at has second precision
  await sim.ctl.post(`/_sim/accounts/${acct.id}/orders/${ids[1]}/cancel`, {});
  await sim.ctl.post(`/_sim/accounts/${acct.id}/orders/${ids[2]}/fulfill`, {});
  await sim.ctl.post(`/_sim/accounts/${acct.id}/orders/${ids[2]}/return`, { line: 1, quantity: 1 });
  const changed = await drain(d, 'fetch_orders', name, all.cursor);
  const byId = Object.fromEntries(changed.records.map((o) => [o.id, o]));
  assert.deepEqual(Object.keys(byId).sort(), [ids[1], ids[2]].sort());
  assert.equal(byId[ids[1]].status, 'cancelled');
  assert.deepEqual(byId[ids[1]].lines.map((l) => l.qty_cancelled), [1, 2]);
  assert.equal(byId[ids[2]].status, 'shipped');
  assert.deepEqual(byId[ids[2]].lines.map((l) => l.qty_shipped), [1, 2]);

  const returns = await drain(d, 'fetch_returns', name, null);
  assert.equal(returns.records.length, 1, 'the cancellation refund is not a return');
  const ret = returns.records[0];
  assert.equal(ret.order_id, ids[2]);
  assert.deepEqual(ret.lines.map((l) => [l.sku, l.qty, l.disposition, l.restocked_by_channel]), [['B', 1, 'restock', true]]);
  assert.equal((await drain(d, 'fetch_returns', name, returns.cursor)).records.length, 0);
});

test('webhooks: the HMAC of the raw body verifies; a flipped byte or another secret does not', { timeout: 30000 }, async () => {
  const rx = await startReceiver();
  try {
    const { acct, name } = await connect({ webhook: { url: rx.url, topics: ['orders/create'] } }, {
      secrets: (c) => ({ access_token: c.access_token, webhook_secret: c.webhook_secret }),
    });
    await sim.ctl.post(`/_sim/accounts/${acct.id}/orders`, { sku: 'A', quantity: 1 });
    await rx.wait((ds) => ds.length >= 1);
    const dl = rx.deliveries[0];
    const raw = dl.raw.toString('utf8');
    const sig = dl.headers['x-shopify-hmac-sha256'];
    const verify = async (conn, body, signature = sig) =>
      (await d.send({ op: 'verify_webhook', conn, signature, body })).result.valid;
    assert.equal(await verify(name, raw), true);
    const flipped = raw.replace('"id":', '"iD":');
    assert.notEqual(flipped, raw);
    assert.equal(await verify(name, flipped), false);
    assert.equal(await verify(name, raw, sig.replace(/^./, (c) => (c === 'A' ? 'B' : 'A'))), false);
    await d.conn(`${name}-other`, 'shopify', { base_url: acct.base_url, settings: { shop: 'x' }, secrets: { webhook_secret: 'shpss_someone_else' } });
    assert.equal(await verify(`${name}-other`, raw), false);
  } finally {
    await rx.close();
  }
});

test('GraphQL cost: a bucket smaller than one batch splits it; THROTTLED waits for the restore rate', { timeout: 90000 }, async () => {
  const skus = Object.fromEntries(Array.from({ length: 120 }, (_, i) => [`S${i}`, 0]));
  const { acct, name } = await connect({ stock: skus, limits: { graphql: { burst: 60, rate: 100 } } });
  const items = Array.from({ length: 120 }, (_, i) => ({ listing_id: i, sku: `S${i}`, qty: i + 1 }));
  const r = await d.push(name, items, 60000);
  assert.equal(r.ok, true, r.error);
  assert.equal(r.result.filter((x) => x.status === 'ok').length, 120, JSON.stringify(r.result.find((x) => x.status !== 'ok')));
  const s = await sim.stockOf(acct);
  assert.ok(items.every((it) => s[it.sku] === it.qty));
  const gql = (await sim.log(acct)).filter((e) => e.op === 'graphql');
  const throttled = gql.filter((e) => e.fault === 'throttled').length;
  assert.ok(throttled <= 6, `${throttled} THROTTLED answers`);
  const writes = gql.filter((e) => e.writes).map((e) => Object.keys(e.writes).length);
  assert.ok(writes.every((n) => n <= 50), `batches of at most 50 rows: ${writes}`);

  // a throttle storm: the adapter waits it out instead of hammering
  await sim.ctl.put(`/_sim/accounts/${acct.id}/faults`, { storm_seconds: 1 });
  const mark = (await sim.log(acct)).at(-1).id;
  const t0 = Date.now();
  const during = await d.read(name, [{ listing_id: 1, sku: 'S1' }]);
  assert.equal(during.result[0].qty, 2);
  assert.ok(Date.now() - t0 >= 900);
  const storm = (await sim.log(acct, { since: mark })).filter((e) => e.fault === 'storm').length;
  assert.ok(storm >= 1 && storm <= 6, `${storm} requests during a one-second storm`);
});

test('REST 429 with Retry-After, 5xx and timeouts retried, malformed answers are a clear error', { timeout: 90000 }, async () => {
  const { acct, name } = await connect({ faults: { storm_seconds: 2, match: '/orders.json' } });
  const t0 = Date.now();
  const o = await d.orders(name, null);
  assert.equal(o.ok, true, o.error);
  assert.ok(Date.now() - t0 >= 1500, 'waited for Retry-After');
  const storm = (await sim.log(acct)).filter((e) => e.status === 429);
  assert.ok(storm.length >= 1 && storm.length <= 4, `${storm.length} answers were 429`);

  // the shop fails every request for a while: the push backs off and succeeds once it recovers
  await sim.ctl.put(`/_sim/accounts/${acct.id}/faults`, { error_rate: 1, error_status: 502 });
  const pending = d.push(name, [{ listing_id: 1, sku: 'A', qty: 2 }, { listing_id: 2, sku: 'B', qty: 3 }]);
  await sleep(800);
  await sim.ctl.del(`/_sim/accounts/${acct.id}/faults`);
  const r = await pending;
  assert.deepEqual(r.result.map((x) => x.status), ['ok', 'ok'], JSON.stringify(r));
  const failed = (await sim.log(acct)).filter((e) => e.fault === 'error');
  assert.ok(failed.length >= 2 && failed.length <= 6, `${failed.length} attempts in 800 ms: backoff, not a busy loop`);

  // answers that never come: each request is cut at timeout_ms and tried again
  await sim.ctl.put(`/_sim/accounts/${acct.id}/faults`, { timeout_rate: 1, timeout_ms: 5000, match: 'graphql' });
  await d.conn(name, 'shopify', {
    base_url: acct.base_url, settings: { shop: 'x', max_attempts: 10, timeout_ms: 300 }, secrets: { access_token: acct.credentials.access_token },
  });
  const slow = d.read(name, [{ listing_id: 1, sku: 'B' }]);
  await sleep(700);
  await sim.ctl.del(`/_sim/accounts/${acct.id}/faults`);
  assert.equal((await slow).result[0].qty, 3);
  assert.ok((await sim.log(acct)).filter((e) => e.fault === 'timeout').length >= 2);

  await sim.ctl.put(`/_sim/accounts/${acct.id}/faults`, { malformed_rate: 1 });
  const m = await d.read(name, [{ listing_id: 1, sku: 'A' }]);
  assert.equal(m.ok, false);
  assert.match(m.error, /malformed response from channel/);
  assert.equal(m.retryable, false);
  const mo = await d.orders(name, null);
  assert.match(mo.error, /malformed response from channel/);
  await sim.ctl.del(`/_sim/accounts/${acct.id}/faults`);
  assert.equal((await d.read(name, [{ listing_id: 1, sku: 'A' }])).result[0].qty, 2);
  await waitFor(async () => (await d.test(name)).ok, { what: 'the shop to answer' });
});

test('a shop below zero: compare-and-set works from the negative count the channel reports (2026-01 and 2025-10)', { timeout: 30000 }, async () => {
  for (const api_version of ['2026-01', '2025-10']) {
    const { acct, name, sku } = await connect({}, { settings: { api_version } });
    // an oversell on the channel: 5 shown, 12 sold
    const o = await sim.ctl.post(`/_sim/accounts/${acct.id}/orders`, { sku: 'A', quantity: 12, force: true });
    assert.equal(o.status, 201, o.text);
    const seen = await d.read(name, [{ listing_id: 'a', item_ref: sku.A.inventory_item_gid }]);
    assert.equal(seen.result[0].qty, -7, 'a read sees the negative count');
    // what onecount believed (5) is stale; the answer carries the channel's -7
    const stale = await d.push(name, [{ listing_id: 'a', item_ref: sku.A.inventory_item_gid, qty: 3, expect: 5, key: `k-${api_version}-1` }]);
    assert.equal(stale.result[0].status, 'stale', JSON.stringify(stale.result[0]));
    assert.equal(stale.result[0].current, -7);
    // the retry from -7 goes through
    const r = await d.push(name, [{ listing_id: 'a', item_ref: sku.A.inventory_item_gid, qty: 3, expect: -7, key: `k-${api_version}-2` }]);
    assert.equal(r.result[0].status, 'ok', JSON.stringify(r.result[0]));
    assert.equal(r.result[0].qty, 3);
    assert.equal((await sim.stockOf(acct)).A, 3);
  }
});

test('2025-10: rows with and without an expectation go in separate mutations; ignoreCompareQuantity is on the input', { timeout: 30000 }, async () => {
  const { acct, name, sku } = await connect({}, { settings: { api_version: '2025-10' } });
  const r = await d.push(name, [
    { listing_id: 'a', item_ref: sku.A.inventory_item_gid, qty: 4, expect: 5, key: 'm-a' },
    { listing_id: 'b', item_ref: sku.B.inventory_item_gid, qty: 6, key: 'm-b' },
    { listing_id: 'c', item_ref: sku.C.inventory_item_gid, qty: 2, expect: 1, key: 'm-c' },
  ]);
  assert.deepEqual(r.result.map((x) => x.status), ['ok', 'ok', 'ok'], JSON.stringify(r.result));
  assert.deepEqual(await sim.stockOf(acct), { A: 4, B: 6, C: 2 });
  const muts = (await sim.log(acct)).filter((e) => e.op === 'graphql' && e.writes !== undefined);
  assert.deepEqual(muts.map((e) => e.writes), [{ A: 4, C: 2 }, { B: 6 }]);
});

test('limits "unlimited": no call limit and no throttleStatus from the simulator, so the adapter keeps its own (documented × rate_scale)', { timeout: 60000 }, async () => {
  const { acct, name } = await connect({ limits: 'unlimited', stock: { A: 5, B: 7, C: 1 } }, { scale: 10 });
  const r = await d.push(name, ['A', 'B', 'C'].map((s, i) => ({ listing_id: s, sku: s, qty: i + 10 })));
  assert.equal(r.ok, true, r.error);
  assert.deepEqual(r.result.map((x) => x.status), ['ok', 'ok', 'ok']);
  await sim.ctl.post(`/_sim/accounts/${acct.id}/orders`, { lines: [{ sku: 'A', quantity: 1 }] });
  assert.equal((await drain(d, 'fetch_orders', name, null)).records.length, 1);
  const buckets = Object.fromEntries((await d.send({ op: 'limits', conn: name })).result.map((b) => [b.name, b]));
  // GraphQL 1000 points at 100/s and REST 40 at 2/s, ×10: neither cut to the simulator's real bucket
  assert.deepEqual([buckets.graphql.max_capacity, buckets.graphql.rate], [10000, 1000], JSON.stringify(buckets.graphql));
  assert.deepEqual([buckets.rest.max_capacity, buckets.rest.rate], [400, 20], JSON.stringify(buckets.rest));
  // realistic limits: the adapter takes the bucket the shop states
  const real = await connect({}, { scale: 10 });
  assert.equal((await d.push(real.name, [{ listing_id: 'a', sku: 'A', qty: 1 }])).ok, true);
  assert.equal((await d.send({ op: 'limits', conn: real.name })).result.find((x) => x.name === 'graphql').max_capacity, 1000);
});
