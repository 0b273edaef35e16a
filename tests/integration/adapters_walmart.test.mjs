// adapters_walmart.test.mjs — the Walmart adapter against the Walmart simulator,
// through the adapter driver: tokens (expiry and a 401), single PUTs and the
// inventory feed, read-back, order pages and acknowledgement, returns, the
// per-API bucket under x-current-token-count, 5xx / timeout / malformed
// faults, and bad credentials.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSimAndDriver, connectAccount, drain, assertRate } from './lib/driver.mjs';
import { sleep, waitFor } from './lib/stack.mjs';

let rig, sim, d;
before(async () => ({ sim, d } = rig = await startSimAndDriver()));
after(() => rig?.stop());

let seq = 0;
async function connect(spec = {}, { settings = {}, scale = 1, stock = { A: 5, B: 7, C: 1 } } = {}) {
  const name = `w${++seq}`;
  const acct = await connectAccount(rig, 'walmart', name, { stock, ...spec }, (c) => ({
    settings: { ship_node: c.ship_node, ...settings },
    secrets: { client_id: c.client_id, client_secret: c.client_secret },
    rate_scale: scale,
  }));
  return { acct, name };
}


test('a token is fetched once, reused, refreshed when it expires and after a 401', { timeout: 60000 }, async () => {
  const { acct, name } = await connect({ token_ttl_s: 2 });
  const t = await d.test(name);
  assert.equal(t.ok, true, t.error);
  assert.deepEqual(Object.keys(t.result.details.scopes).sort(), ['feeds', 'inventory', 'orders', 'returns']);
  assert.equal((await d.read(name, [{ listing_id: 1, sku: 'A' }])).ok, true);
  let tokens = (await sim.log(acct)).filter((r) => r.path.endsWith('/v3/token'));
  assert.equal(tokens.length, 1, 'one token for both calls');

  await sleep(2100); // past expires_in: the adapter refreshes before calling
  const r = await d.read(name, [{ listing_id: 1, sku: 'A' }]);
  assert.equal(r.ok, true);
  let entries = await sim.log(acct);
  tokens = entries.filter((e) => e.path.endsWith('/v3/token'));
  assert.equal(tokens.length, 2);
  assert.equal(entries.filter((e) => e.status === 401).length, 0, 'an expired token is never sent');

  // the channel revokes the token early: one 401, one refresh, the call succeeds
  await sim.ctl.post(`/_sim/accounts/${acct.id}/tokens/expire`, {});
  const since = entries.at(-1).id;
  const again = await d.read(name, [{ listing_id: 1, sku: 'A' }]);
  assert.equal(again.ok, true);
  assert.equal(again.result[0].qty, 5, JSON.stringify(again));
  // a refused token names no account: read the whole log
  entries = (await sim.requests({ since, limit: 1000 })).requests.filter((e) => e.channel === 'walmart');
  assert.deepEqual(entries.map((e) => [e.op, e.status]), [['getInventory', 401], ['token', 200], ['getInventory', 200]]);
});

test('bad credentials are a clear, non-retryable error', { timeout: 30000 }, async () => {
  const acct = await sim.account({ channel: 'walmart', stock: { A: 1 } });
  await d.conn('wbad', 'walmart', { base_url: acct.base_url, secrets: { client_id: acct.credentials.client_id, client_secret: 'wrong' } });
  const r = await d.read('wbad', [{ listing_id: 1, sku: 'A' }]);
  assert.equal(r.ok, true); // per-item results
  assert.equal(r.result[0].status, 'error');
  assert.match(r.result[0].error, /token request refused \(401\)/);
  assert.equal(r.result[0].retryable, false);
  assert.doesNotMatch(JSON.stringify(r), /wrong/, 'no secret in errors');
  const v = await d.send({ op: 'validate', kind: 'walmart', settings: {}, secrets: { client_id: 'x' } });
  assert.deepEqual(v.result, { valid: false, why: 'client_secret: required' });
});

test('push: single PUTs with correlation ids, then the inventory feed above the threshold; read back', { timeout: 60000 }, async () => {
  const { acct, name } = await connect({ feed_queue_ms: 100, feed_process_ms: 200 }, { settings: { feed_threshold: 3 } });
  const r = await d.push(name, [
    { listing_id: 'l1', sku: 'A', qty: 3 },
    { listing_id: 'l2', sku: 'B', qty: 0 },
    { listing_id: 'l3', sku: 'NOPE', qty: 1 },
  ]);
  assert.equal(r.ok, true);
  assert.deepEqual(r.result.map((x) => x.status), ['ok', 'ok', 'error']);
  assert.equal(r.result[0].qty, 3);
  assert.match(r.result[2].error, /item not found/);
  assert.deepEqual(await sim.stockOf(acct), { A: 3, B: 0, C: 1 });
  const puts = (await sim.log(acct)).filter((e) => e.op === 'updateInventoryForAnItem');
  assert.equal(puts.length, 3);
  assert.deepEqual(puts.filter((e) => e.status === 200).map((e) => e.writes).sort((a, b) => Object.keys(a)[0].localeCompare(Object.keys(b)[0])), [{ A: 3 }, { B: 0 }]);

  // invalid items never reach the channel
  const bad = await d.push(name, [{ listing_id: 'x', sku: 'A', qty: -1 }, { listing_id: 'y', qty: 1 }]);
  assert.deepEqual(bad.result.map((x) => x.status), ['error', 'error']);

  // above the threshold: one feed, reported pending
  const items = ['A', 'B', 'C', 'A'].map((sku, i) => ({ listing_id: `f${i}`, sku, qty: 10 + i }));
  const f = await d.push(name, items);
  assert.equal(f.ok, true);
  assert.ok(f.result.every((x) => x.status === 'ok' && x.pending === true && x.ref === f.result[0].ref));
  const feeds = (await sim.log(acct)).filter((e) => e.op === 'submitFeed');
  assert.equal(feeds.length, 1);
  assert.deepEqual(feeds[0].writes, { A: 13, B: 11, C: 12 });
  await waitFor(async () => (await sim.stockOf(acct)).A === 13, { what: 'the feed to apply' });
  const back = await d.read(name, [{ listing_id: 1, sku: 'A' }, { listing_id: 2, sku: 'C' }, { listing_id: 3, sku: 'ZZ' }]);
  assert.deepEqual(back.result, [{ listing_id: 1, qty: 13 }, { listing_id: 2, qty: 12 }, { listing_id: 3, qty: null }]);
});

test('orders: pages by nextCursor, never skipped or repeated; acknowledgement', { timeout: 60000 }, async () => {
  const { acct, name } = await connect({}, { settings: { page_size: 3 }, stock: { A: 100, B: 100 } });
  const ids = [];
  for (let i = 0; i < 8; i++) {
    const o = await sim.ctl.post(`/_sim/accounts/${acct.id}/orders`, { lines: [{ sku: 'A', quantity: 1 }, { sku: 'B', quantity: 2 }] });
    ids.push(o.json.id);
  }
  const first = await drain(d, 'fetch_orders', name, null);
  assert.deepEqual(first.pages, [3, 3, 2]);
  assert.deepEqual(first.records.map((o) => o.id).sort(), [...ids].sort());
  const o = first.records[0];
  assert.equal(o.needs_ack, true);
  assert.equal(o.status, 'open');
  assert.deepEqual(o.lines.map((l) => [l.sku, l.qty, l.qty_shipped, l.qty_cancelled]), [['A', 1, 0, 0], ['B', 2, 0, 0]]);
  assert.match(o.lines[0].id, new RegExp(`^${o.id}:1$`));

  // nothing changed: nothing comes back
  const none = await drain(d, 'fetch_orders', name, first.cursor);
  assert.equal(none.records.length, 0);

  // acknowledge three; they come back once, acknowledged
  const ack = await d.ack(name, [ids[0], ids[1], ids[2], 'NO-SUCH-PO']);
  assert.deepEqual(ack.result.acknowledged.sort(), [ids[0], ids[1], ids[2]].sort());
  assert.deepEqual(ack.result.failed, ['NO-SUCH-PO']);
  assert.match(ack.result.errors['NO-SUCH-PO'].error, /404/);
  const acks = (await sim.log(acct)).filter((e) => e.op === 'acknowledgeOrders' && e.status === 200);
  assert.equal(acks.length, 3);
  await sim.ctl.post(`/_sim/accounts/${acct.id}/orders/${ids[4]}/cancel`, {});
  const changed = await drain(d, 'fetch_orders', name, none.cursor);
  assert.deepEqual(changed.records.map((x) => x.id).sort(), [ids[0], ids[1], ids[2], ids[4]].sort());
  for (const x of changed.records) {
    if (x.id === ids[4]) {
      assert.equal(x.status, 'cancelled');
      assert.deepEqual(x.lines.map((l) => l.qty_cancelled), [1, 2]);
    } else {
      assert.equal(x.needs_ack, false);
    }
  }
  assert.equal((await drain(d, 'fetch_orders', name, changed.cursor)).records.length, 0);
});

test('returns come from /v3/returns, once each', { timeout: 60000 }, async () => {
  const { acct, name } = await connect({ report_ms: 60000 }, { settings: { page_size: 2 }, stock: { A: 10 } });
  const rids = [];
  for (let i = 0; i < 3; i++) {
    const o = await sim.ctl.post(`/_sim/accounts/${acct.id}/orders`, { sku: 'A', quantity: 2 });
    await sim.ctl.post(`/_sim/accounts/${acct.id}/orders/${o.json.id}/fulfill`, {});
    const r = await sim.ctl.post(`/_sim/accounts/${acct.id}/orders/${o.json.id}/return`, { quantity: 1 });
    assert.equal(r.status, 200, r.text);
    rids.push(o.json.id);
  }
  const all = await drain(d, 'fetch_returns', name, null);
  assert.equal(all.records.length, 3);
  assert.deepEqual(all.records.map((r) => r.order_id).sort(), rids.sort());
  assert.deepEqual(all.records[0].lines.map((l) => [l.sku, l.qty, l.disposition, l.restocked_by_channel]), [['A', 1, 'inspect', false]]);
  assert.equal((await drain(d, 'fetch_returns', name, all.cursor)).records.length, 0);
});

test('200 PUTs against a small bucket: the adapter follows x-current-token-count; no 429 reaches the caller', { timeout: 90000 }, async () => {
  // the channel allows bursts of 10 at 40/s; the adapter starts from 2400 at 40/s (documented × 12)
  const { acct, name } = await connect({ limits: { inventory: { burst: 10, rate: 40 } } }, {
    settings: { feed_threshold: 1000 }, scale: 12, stock: Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`S${i}`, 0])),
  });
  const items = Array.from({ length: 200 }, (_, i) => ({ listing_id: i, sku: `S${i}`, qty: i + 1 }));
  const t0 = Date.now();
  const r = await d.push(name, items, 60000);
  assert.equal(r.ok, true);
  assert.equal(r.result.filter((x) => x.status === 'ok').length, 200, JSON.stringify(r.result.find((x) => x.status !== 'ok')));
  const s = await sim.stockOf(acct);
  assert.ok(items.every((it) => s[it.sku] === it.qty));
  const puts = (await sim.log(acct)).filter((e) => e.op === 'updateInventoryForAnItem');
  const throttled = puts.filter((e) => e.status === 429).length;
  assert.ok(throttled <= 8, `${throttled} answers were 429`);
  assertRate(puts.filter((e) => e.status === 200), { burst: 10, rate: 40 });
  assert.ok(Date.now() - t0 >= (200 - 10) / 40 * 1000 * 0.9, 'it took as long as the limit demands');
});

test('5xx and timeouts are retried with backoff until they succeed; malformed bodies are a clear error', { timeout: 90000 }, async () => {
  const { acct, name } = await connect({ faults: { error_rate: 0.4, error_status: 503 } }, { settings: { max_attempts: 10 } });
  const r = await d.read(name, ['A', 'B', 'C', 'A', 'B'].map((sku, i) => ({ listing_id: i, sku })));
  assert.equal(r.ok, true);
  assert.deepEqual(r.result.map((x) => x.qty), [5, 7, 1, 5, 7]);
  const errors = (await sim.log(acct)).filter((e) => e.fault === 'error');
  assert.ok(errors.length > 0, 'faults were injected');

  await sim.ctl.put(`/_sim/accounts/${acct.id}/faults`, { timeout_rate: 0.4, timeout_ms: 5000 });
  await d.conn(name, 'walmart', {
    base_url: acct.base_url,
    settings: { timeout_ms: 400, max_attempts: 10 },
    secrets: { client_id: acct.credentials.client_id, client_secret: acct.credentials.client_secret },
  });
  const t = await d.read(name, ['A', 'B', 'C'].map((sku, i) => ({ listing_id: i, sku })));
  assert.deepEqual(t.result.map((x) => x.qty), [5, 7, 1]);
  assert.ok((await sim.log(acct)).some((e) => e.fault === 'timeout'), 'timeouts were injected');

  await sim.ctl.put(`/_sim/accounts/${acct.id}/faults`, { malformed_rate: 1 });
  const m = await d.read(name, [{ listing_id: 1, sku: 'A' }]);
  assert.equal(m.ok, true);
  assert.equal(m.result[0].status, 'error');
  assert.match(m.result[0].error, /malformed response from channel/);
  assert.equal(m.result[0].retryable, false);
  const o = await d.orders(name, null);
  assert.equal(o.ok, false);
  assert.match(o.error, /malformed response from channel/);
  assert.equal(o.retryable, false);
  await sim.ctl.del(`/_sim/accounts/${acct.id}/faults`);
  assert.equal((await d.read(name, [{ listing_id: 1, sku: 'A' }])).result[0].qty, 5, 'fine once the channel is');
  assert.equal((await d.orders(name, 'not-a-cursor')).error, 'invalid cursor');
});

test('limits "unlimited": the simulator announces no token count, so the adapter keeps its own bucket (documented × rate_scale)', { timeout: 60000 }, async () => {
  const stock = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`U${i}`, 0]));
  const { name } = await connect({ limits: 'unlimited' }, { scale: 10, stock });
  const r = await d.push(name, Object.keys(stock).map((sku, i) => ({ listing_id: i, sku, qty: i + 1 })), 30000);
  assert.equal(r.ok, true);
  assert.ok(r.result.every((x) => x.status === 'ok'), JSON.stringify(r.result.find((x) => x.status !== 'ok')));
  // inventory: 200 documented, ×10 = 2000; 20 spent.  x-current-token-count (the simulator's 200 of its own
  // bucket, never spent) used to cut the adapter's estimate to 200 less what was in flight.
  const b = (await d.send({ op: 'limits', conn: name })).result.find((x) => x.name === 'inventory');
  assert.equal(b.max_capacity, 2000);
  assert.ok(b.tokens > 1900, JSON.stringify(b));
  // a realistic account: the adapter follows the count it is told
  const real = await connect({}, { scale: 10, stock: { R: 0 } });
  assert.equal((await d.push(real.name, [{ listing_id: 1, sku: 'R', qty: 1 }])).ok, true);
  assert.ok((await d.send({ op: 'limits', conn: real.name })).result.find((x) => x.name === 'inventory').tokens <= 200);
});
