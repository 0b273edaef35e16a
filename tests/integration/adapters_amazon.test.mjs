// adapters_amazon.test.mjs — the Amazon SP-API adapter against the Amazon
// simulator, through the adapter driver: LWA tokens (expiry and a 403),
// Listings PATCH (pending) and JSON_LISTINGS_FEED above the threshold,
// read-back, getOrders pages with getOrderItems, the returns report, the
// per-operation buckets (no 429 when the limits agree; backing off when the
// channel's burst is smaller), and 5xx / timeout / malformed faults.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSimAndDriver, connectAccount, drain, assertRate } from './lib/driver.mjs';
import { sleep, waitFor } from './lib/stack.mjs';

let rig, sim, d;
before(async () => ({ sim, d } = rig = await startSimAndDriver()));
after(() => rig?.stop());

const FAST = { apply_delay_ms: 200, feed_queue_ms: 100, feed_process_ms: 200, report_ms: 300, pending_ms: 0 };

let seq = 0;
async function connect(spec = {}, { settings = {}, scale = 1, stock = { A: 5, B: 7, C: 1 } } = {}) {
  const name = `a${++seq}`;
  const acct = await connectAccount(rig, 'amazon', name, { stock, ...FAST, ...spec }, (c) => ({
    settings: { seller_id: c.seller_id, marketplace_ids: [c.marketplace_id], token_url: c.token_url, poll_ms: 100, ...settings },
    secrets: { client_id: c.client_id, client_secret: c.client_secret, refresh_token: c.refresh_token },
    rate_scale: scale,
  }));
  return { acct, name };
}


test('LWA: one token, refreshed on expiry and after a 403 Unauthorized; bad refresh tokens are a clear error', { timeout: 60000 }, async () => {
  const { acct, name } = await connect({ token_ttl_s: 2 });
  const t = await d.test(name);
  assert.equal(t.ok, true, t.error);
  assert.equal(t.result.account, acct.credentials.seller_id);
  assert.equal((await d.read(name, [{ listing_id: 1, sku: 'A' }])).result[0].qty, 5);
  assert.equal((await sim.log(acct)).filter((e) => e.op === 'lwaToken').length, 1);
  await sleep(2100);
  assert.equal((await d.read(name, [{ listing_id: 1, sku: 'A' }])).result[0].qty, 5);
  let entries = await sim.log(acct);
  assert.equal(entries.filter((e) => e.op === 'lwaToken').length, 2);
  assert.equal(entries.filter((e) => e.status === 403).length, 0, 'an expired token is never sent');

  await sim.ctl.post(`/_sim/accounts/${acct.id}/tokens/expire`, {});
  const since = entries.at(-1).id;
  const r = await d.read(name, [{ listing_id: 1, sku: 'B' }]);
  assert.equal(r.result[0].qty, 7, JSON.stringify(r));
  entries = (await sim.requests({ since, limit: 1000 })).requests.filter((e) => e.channel === 'amazon');
  assert.deepEqual(entries.map((e) => [e.op, e.status]), [['getListingsItem', 403], ['lwaToken', 200], ['getListingsItem', 200]]);

  await d.conn('a-bad', 'amazon', {
    base_url: acct.base_url,
    settings: { seller_id: acct.credentials.seller_id, marketplace_ids: [acct.credentials.marketplace_id], token_url: acct.credentials.token_url },
    secrets: { client_id: acct.credentials.client_id, client_secret: acct.credentials.client_secret, refresh_token: 'Atzr|revoked' },
  });
  const bad = await d.test('a-bad');
  assert.equal(bad.ok, false);
  assert.match(bad.error, /token request refused \(400\): .*refresh_token/);
  assert.equal(bad.retryable, false);
  assert.doesNotMatch(bad.error, /Atzr/);
});

test('push: PATCH per SKU is accepted and pending; a feed above the threshold; read shows what Amazon applied', { timeout: 60000 }, async () => {
  const { acct, name } = await connect({}, { settings: { feed_threshold: 3 } });
  const r = await d.push(name, [{ listing_id: 1, sku: 'A', qty: 2 }, { listing_id: 2, sku: 'NOPE', qty: 1 }]);
  assert.equal(r.ok, true);
  assert.equal(r.result[0].status, 'ok');
  assert.equal(r.result[0].pending, true);
  assert.equal(r.result[0].qty, 2);
  assert.ok(r.result[0].ref, 'the submission id');
  assert.equal(r.result[1].status, 'error');
  assert.match(r.result[1].error, /INVALID/);
  const patches = (await sim.log(acct)).filter((e) => e.op === 'patchListingsItem');
  assert.deepEqual(patches.map((e) => e.writes ?? null), [{ A: 2 }, null]);
  // not applied yet: read shows what Amazon computed
  assert.equal((await d.read(name, [{ listing_id: 1, sku: 'A' }])).result[0].qty, 5);
  await waitFor(async () => (await d.read(name, [{ listing_id: 1, sku: 'A' }])).result[0].qty === 2, { what: 'the patch to apply' });
  // Read two seconds after the apply: the listing says when Amazon applied it (lastUpdatedDate, whole seconds),
  // which is what its push lag is measured to — not the read that saw it.
  const pushedAt = Date.now();
  await new Promise((res) => setTimeout(res, 2000));
  const seen = (await d.read(name, [{ listing_id: 1, sku: 'A' }])).result[0];
  const applied = Date.parse(seen.updated_at);
  assert.ok(applied <= pushedAt && applied > pushedAt - 5000, `applied ${seen.updated_at}, seen applied before ${new Date(pushedAt).toISOString()}`);

  const items = ['A', 'B', 'C', 'NOPE'].map((sku, i) => ({ listing_id: `f${i}`, sku, qty: 20 + i }));
  const f = await d.push(name, items);
  assert.ok(f.result.every((x) => x.status === 'ok' && x.pending && x.ref === f.result[0].ref), JSON.stringify(f));
  const ops = (await sim.log(acct)).map((e) => e.op);
  assert.deepEqual(ops.filter((o) => ['createFeedDocument', 's3Put', 'createFeed'].includes(o)), ['createFeedDocument', 's3Put', 'createFeed']);
  await waitFor(async () => (await sim.stockOf(acct)).C === 22, { what: 'the feed to apply' });
  assert.deepEqual(await sim.stockOf(acct), { A: 20, B: 21, C: 22 });
  const back = await d.read(name, [{ listing_id: 1, sku: 'B' }, { listing_id: 2, sku: 'NOPE' }, { listing_id: 3 }]);
  assert.ok(Date.parse(back.result[0].updated_at) > 0, JSON.stringify(back.result[0]));
  delete back.result[0].updated_at;
  assert.deepEqual(back.result.slice(0, 2), [{ listing_id: 1, qty: 21 }, { listing_id: 2, qty: null }]);
  assert.equal(back.result[2].status, 'error');
});

test('orders: getOrders pages and getOrderItems, nothing skipped or repeated, cancellations come back', { timeout: 60000 }, async () => {
  const { acct, name } = await connect({}, { settings: { page_size: 3 }, stock: { A: 100, B: 100 } });
  const ids = [];
  for (let i = 0; i < 7; i++) {
    const o = await sim.ctl.post(`/_sim/accounts/${acct.id}/orders`, { lines: [{ sku: 'A', quantity: 1 }, { sku: 'B', quantity: i + 1 }] });
    ids.push(o.json.id);
  }
  const all = await drain(d, 'fetch_orders', name, null);
  assert.deepEqual(all.pages, [3, 3, 1]);
  assert.deepEqual(all.records.map((o) => o.id).sort(), [...ids].sort());
  const seventh = all.records.find((o) => o.id === ids[6]);
  assert.equal(seventh.status, 'open');
  assert.deepEqual(seventh.lines.map((l) => [l.sku, l.qty, l.qty_shipped, l.qty_cancelled]), [['A', 1, 0, 0], ['B', 7, 0, 0]]);
  const items = (await sim.log(acct)).filter((e) => e.op === 'getOrderItems');
  assert.equal(items.length, 7, 'items fetched once per order');

  const again = await drain(d, 'fetch_orders', name, all.cursor);
  assert.equal(again.records.length, 0);
  assert.equal((await sim.log(acct)).filter((e) => e.op === 'getOrderItems').length, 7, 'no items fetched for unchanged orders');

  await sleep(1100); // Amazon dates have second precision: the change lands in a later second
  await sim.ctl.post(`/_sim/accounts/${acct.id}/orders/${ids[2]}/cancel`, {});
  const changed = await drain(d, 'fetch_orders', name, again.cursor);
  assert.deepEqual(changed.records.map((o) => [o.id, o.status]), [[ids[2], 'cancelled']]);
  assert.deepEqual(changed.records[0].lines.map((l) => l.qty_cancelled), [1, 3]);
});

test('returns: the report flow (create, poll, document), tab-separated rows, once each', { timeout: 60000 }, async () => {
  const { acct, name } = await connect({}, { stock: { A: 10, B: 10 } });
  const o = await sim.ctl.post(`/_sim/accounts/${acct.id}/orders`, { lines: [{ sku: 'A', quantity: 2 }, { sku: 'B', quantity: 1 }] });
  await sim.ctl.post(`/_sim/accounts/${acct.id}/orders/${o.json.id}/fulfill`, {});
  assert.equal((await sim.ctl.post(`/_sim/accounts/${acct.id}/orders/${o.json.id}/return`, { line: 0, quantity: 2 })).status, 200);
  const r = await d.returns(name, null);
  assert.equal(r.ok, true, r.error);
  assert.equal(r.result.returns.length, 1);
  const ret = r.result.returns[0];
  assert.equal(ret.order_id, o.json.id);
  assert.deepEqual(ret.lines.map((l) => [l.sku, l.qty, l.disposition, l.restocked_by_channel]), [['A', 2, 'inspect', false]]);
  const ops = (await sim.log(acct)).map((e) => e.op);
  assert.ok(ops.includes('createReport') && ops.includes('getReport') && ops.includes('getReportDocument') && ops.includes('s3Get'));
  const again = await d.returns(name, r.result.cursor);
  assert.equal(again.result.returns.length, 0, 'not reported twice');
});

test('returns: a GZIP-compressed report document is read like a plain one', { timeout: 60000 }, async () => {
  const { acct, name } = await connect({ report_gzip: 1 }, { stock: { A: 10, B: 10 } });
  const o = await sim.ctl.post(`/_sim/accounts/${acct.id}/orders`, { lines: [{ sku: 'A', quantity: 2 }, { sku: 'B', quantity: 3 }] });
  await sim.ctl.post(`/_sim/accounts/${acct.id}/orders/${o.json.id}/fulfill`, {});
  assert.equal((await sim.ctl.post(`/_sim/accounts/${acct.id}/orders/${o.json.id}/return`, { line: 1, quantity: 3 })).status, 200);
  const r = await d.returns(name, null);
  assert.equal(r.ok, true, r.error);
  assert.deepEqual(r.result.returns.flatMap((x) => x.lines.map((l) => [l.sku, l.qty])), [['B', 3]]);
  // the simulator served it compressed
  assert.equal((await sim.ctl.get(`/_sim/accounts/${acct.id}`)).json.delays.report_gzip, true);
  assert.ok((await sim.log(acct)).some((e) => e.op === 's3Get' && e.status === 200));
});

test('200 PATCHes when the limits agree: paced by the bucket, not sent into 429s', { timeout: 90000 }, async () => {
  // documented patchListingsItem 5/s burst 5, times 8; the simulator is configured the same
  const stockMap = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`S${i}`, 0]));
  const { acct, name } = await connect({ limits: { patchListingsItem: { burst: 40, rate: 40 } } }, {
    settings: { feed_threshold: 1000 }, scale: 8, stock: stockMap,
  });
  const items = Array.from({ length: 200 }, (_, i) => ({ listing_id: i, sku: `S${i}`, qty: i }));
  const t0 = Date.now();
  const r = await d.push(name, items, 60000);
  assert.equal(r.result.filter((x) => x.status === 'ok').length, 200);
  const patches = (await sim.log(acct)).filter((e) => e.op === 'patchListingsItem');
  // every request, the throttled ones included, fits the channel's bucket (a 429 at the edge of a
  // refill is tolerated: the channel's clock starts when it sees a request, ours when we send it)
  assert.ok(patches.filter((e) => e.status === 429).length <= 1);
  assertRate(patches, { burst: 40, rate: 40 });
  assert.ok(Date.now() - t0 >= ((200 - 40) / 40) * 1000 * 0.9);
});

test('a smaller burst than documented: 429 QuotaExceeded backs the bucket off; the caller sees no 429', { timeout: 90000 }, async () => {
  const stockMap = Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`S${i}`, 0]));
  const { acct, name } = await connect({ limits: { patchListingsItem: { burst: 2, rate: 20 } } }, {
    settings: { feed_threshold: 1000 }, scale: 4, stock: stockMap,
  });
  const items = Array.from({ length: 60 }, (_, i) => ({ listing_id: i, sku: `S${i}`, qty: i + 1 }));
  const r = await d.push(name, items, 60000);
  assert.equal(r.result.filter((x) => x.status === 'ok').length, 60, JSON.stringify(r.result.find((x) => x.status !== 'ok')));
  const patches = (await sim.log(acct)).filter((e) => e.op === 'patchListingsItem');
  const throttled = patches.filter((e) => e.status === 429).length;
  assert.ok(throttled > 0, 'the channel did throttle');
  assert.ok(throttled <= 15, `${throttled} answers were 429: the adapter kept pushing`);
  assertRate(patches.filter((e) => e.status === 200), { burst: 2, rate: 20 });
});

test('5xx and timeouts are retried until they succeed; malformed answers are a clear error', { timeout: 90000 }, async () => {
  const { acct, name } = await connect({ faults: { error_rate: 0.4, error_status: 500 } }, { settings: { max_attempts: 10, timeout_ms: 400 } });
  const r = await d.read(name, ['A', 'B', 'C'].map((sku, i) => ({ listing_id: i, sku })));
  assert.deepEqual(r.result.map((x) => x.qty), [5, 7, 1], JSON.stringify(r));
  assert.ok((await sim.log(acct)).some((e) => e.fault === 'error'));
  await sim.ctl.put(`/_sim/accounts/${acct.id}/faults`, { timeout_rate: 0.4, timeout_ms: 5000 });
  const t = await d.push(name, [{ listing_id: 1, sku: 'A', qty: 4 }, { listing_id: 2, sku: 'B', qty: 4 }]);
  assert.deepEqual(t.result.map((x) => x.status), ['ok', 'ok']);
  await sim.ctl.put(`/_sim/accounts/${acct.id}/faults`, { malformed_rate: 1, match: '/orders/' });
  const o = await d.orders(name, null);
  assert.equal(o.ok, false);
  assert.match(o.error, /malformed response from channel/);
  assert.equal(o.retryable, false);
  await sim.ctl.del(`/_sim/accounts/${acct.id}/faults`);
  assert.equal((await d.orders(name, null)).ok, true);
});

test('limits "unlimited": the simulator announces no limit, so the adapter keeps its own (documented × rate_scale)', { timeout: 60000 }, async () => {
  const stock = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`U${i}`, 0]));
  const { acct, name } = await connect({ limits: 'unlimited' }, { settings: { feed_threshold: 1000 }, scale: 10, stock });
  const r = await d.push(name, Object.keys(stock).map((sku, i) => ({ listing_id: i, sku, qty: i + 1 })), 30000);
  assert.equal(r.ok, true);
  assert.ok(r.result.every((x) => x.status === 'ok'), JSON.stringify(r.result.find((x) => x.status !== 'ok')));
  assert.equal((await sim.log(acct)).filter((e) => e.op === 'patchListingsItem').length, 40);
  // patchListingsItem is documented at 5/s with a burst of 5: ×10 is 50/s, and it stays so (it was 5/s, the
  // simulator's real limit, once the first answer said x-amzn-RateLimit-Limit: 5.0)
  const b = (await d.send({ op: 'limits', conn: name })).result.find((x) => x.name === 'patchListingsItem');
  assert.deepEqual([b.rate, b.max_capacity, b.throttled], [50, 50, 0], JSON.stringify(b));
  // the same account with realistic limits: the adapter takes the rate Amazon states
  const real = await connect({}, { scale: 10, stock: { R: 0 } });
  assert.equal((await d.push(real.name, [{ listing_id: 1, sku: 'R', qty: 1 }])).ok, true);
  assert.equal((await d.send({ op: 'limits', conn: real.name })).result.find((x) => x.name === 'patchListingsItem').rate, 5);
});
