// conformance.test.mjs — the adapters and the simulators held against the
// channels' own published specifications (tests/specs/, lib/specs.mjs), not
// against each other.  The simulator records every exchange with its headers
// and bodies; the adapters are driven through their whole range (pushes
// single and by feed, with and without compare-and-set and from a negative
// count, reads, order and return polls over several pages and every order
// and line status the channels publish, acknowledgements, connection tests);
// then every request the adapters sent and every answer the simulators gave
// is checked against the operation's specification.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSimAndDriver, drain } from './lib/driver.mjs';
import { sleep } from './lib/stack.mjs';
import { loadSpecs, checkExchange } from './lib/specs.mjs';

let rig, sim, d, specs;
before(async () => {
  specs = loadSpecs();
  ({ sim, d } = rig = await startSimAndDriver());
  const r = await sim.ctl.post('/_sim/reset', { capture: true, request_log_capacity: 100000 });
  assert.equal(r.status, 200, r.text);
});
after(() => rig?.stop());

const ok = (r) => { assert.equal(r.ok, true, r.error ?? JSON.stringify(r)); return r.result; };
const ctl = (method, path, body) => sim.ctl[method](path, body).then((r) => { assert.ok(r.status < 300, `${path}: ${r.status} ${r.text}`); return r.json; });

async function shopify(version) {
  const a = await sim.account({ channel: 'shopify', name: `conf-${version.replace('-', '')}`, limits: 'unlimited',
    stock: { A: 5, B: 7, C: 0, D: 3 } });
  const name = `shop-${version}`;
  ok(await d.conn(name, 'shopify', { base_url: a.base_url, settings: { shop: a.credentials.shop_domain, api_version: version, page_size: 2 },
    secrets: { access_token: a.credentials.access_token } }));
  const sku = Object.fromEntries(a.skus.map((s) => [s.sku, s]));
  ok(await d.test(name));
  // a first push (no expectation), compare-and-set, a stale row, a channel below zero
  ok(await d.push(name, [{ listing_id: 'a', sku: 'A', qty: 4, key: `${name}-1` }, { listing_id: 'b', sku: 'B', qty: 6, expect: 7, key: `${name}-2` }]));
  await ctl('put', `/_sim/accounts/${a.id}/stock`, { C: -3 });
  const stale = ok(await d.push(name, [{ listing_id: 'c', item_ref: sku.C.inventory_item_gid, qty: 2, expect: 0, key: `${name}-3` }]));
  assert.equal(stale[0].status, 'stale');
  assert.equal(ok(await d.push(name, [{ listing_id: 'c', item_ref: sku.C.inventory_item_gid, qty: 2, expect: -3, key: `${name}-4` }]))[0].status, 'ok');
  ok(await d.read(name, [{ listing_id: 'a', sku: 'A' }, { listing_id: 'x', sku: 'NOPE' }, { listing_id: 'd', item_ref: sku.D.inventory_item_gid }]));
  // orders through their lives, over several pages; refunds
  const ids = [];
  for (let i = 0; i < 4; i++) ids.push((await ctl('post', `/_sim/accounts/${a.id}/orders`, { force: true, lines: [{ sku: 'A', quantity: 1 }, { sku: 'D', quantity: 1 }] })).id);
  await ctl('post', `/_sim/accounts/${a.id}/orders/${ids[0]}/cancel`, {});
  await ctl('post', `/_sim/accounts/${a.id}/orders/${ids[1]}/fulfill`, {});
  await ctl('post', `/_sim/accounts/${a.id}/orders/${ids[1]}/return`, { line: 0, quantity: 1 });
  await drain(d, 'fetch_orders', name, null);
  await drain(d, 'fetch_returns', name, null);
  ok(await d.ack(name, ids.map(String)));
}

test('Shopify 2025-10 and 2026-01: every GraphQL request valid against the Admin schema, every answer of its shape', { timeout: 60000 }, async () => {
  await shopify('2025-10');
  await shopify('2026-01');
});

test('Amazon: listings, feeds, orders of every status, order items over pages, the returns report', { timeout: 90000 }, async () => {
  const a = await sim.account({ channel: 'amazon', limits: 'unlimited', pending_ms: 0, apply_delay_ms: 0, feed_queue_ms: 0,
    feed_process_ms: 0, report_ms: 0, order_items_page: 2, stock: Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`S${i}`, 50])) });
  const name = 'amz';
  ok(await d.conn(name, 'amazon', { base_url: a.base_url, settings: { seller_id: a.credentials.seller_id, marketplace_ids: [a.credentials.marketplace_id],
    token_url: a.credentials.token_url, page_size: 3, poll_ms: 50 },
  secrets: { client_id: a.credentials.client_id, client_secret: a.credentials.client_secret, refresh_token: a.credentials.refresh_token },
  rate_scale: 1000 }));
  ok(await d.test(name));
  ok(await d.push(name, [{ listing_id: 1, sku: 'S0', qty: 3, expect: -2 }, { listing_id: 2, sku: 'S1', qty: 4 }]));
  ok(await d.push(name, Array.from({ length: 12 }, (_, i) => ({ listing_id: i, sku: `S${i}`, qty: i }))));
  ok(await d.read(name, [{ listing_id: 1, sku: 'S0' }, { listing_id: 2, sku: 'NOPE' }]));
  // the returns report before any return: Amazon cancels a report without data
  ok(await d.returns(name, null));
  // orders: every status the specification names, FBA (AFN) among them, items over several pages
  const order = (spec) => ctl('post', `/_sim/accounts/${a.id}/orders`, { force: true, ...spec });
  const lines = [{ sku: 'S1', quantity: 1 }, { sku: 'S2', quantity: 2 }, { sku: 'S3', quantity: 1 }, { sku: 'S4', quantity: 1 }, { sku: 'S5', quantity: 1 }];
  const o1 = await order({ lines });
  const pre = await order({ sku: 'S6', quantity: 1, preorder: true }); // PendingAvailability
  const afn = await order({ sku: 'S7', quantity: 1, fulfillment_channel: 'AFN' });
  const mcf = await order({ sku: 'S8', quantity: 1, fulfillment_channel: 'AFN' });
  await ctl('post', `/_sim/accounts/${a.id}/orders/${mcf.id}/unfulfillable`, {});
  const o2 = await order({ lines: [{ sku: 'S9', quantity: 2 }, { sku: 'S10', quantity: 1 }] });
  await ctl('post', `/_sim/accounts/${a.id}/orders/${o2.id}/fulfill`, { line: 0 }); // PartiallyShipped
  const o3 = await order({ sku: 'S11', quantity: 1 });
  await ctl('post', `/_sim/accounts/${a.id}/orders/${o3.id}/fulfill`, { invoice_unconfirmed: true }); // InvoiceUnconfirmed
  const o4 = await order({ sku: 'S1', quantity: 1 });
  await ctl('post', `/_sim/accounts/${a.id}/orders/${o4.id}/cancel`, {});
  await ctl('post', `/_sim/accounts/${a.id}/orders/${o1.id}/fulfill`, {});
  await ctl('post', `/_sim/accounts/${a.id}/orders/${o1.id}/return`, { line: 1, quantity: 1 });
  // and through the order generator: Amazon-fulfilled orders and preorders among the ones it makes
  await ctl('put', `/_sim/accounts/${a.id}/generator`, { all: { per_second: 20 }, seed: 3, running: true,
    lifecycle: { afn_fraction: 0.3, preorder_fraction: 0.3, fulfill_after_ms: 100, cancel_fraction: 0.2, cancel_after_ms: 50 } });
  await sleep(600);
  await ctl('post', `/_sim/accounts/${a.id}/generator/stop`, {});
  await sleep(200);
  const all = await drain(d, 'fetch_orders', name, null, { max: 200 });
  const by = Object.fromEntries(all.records.map((o) => [o.id, o]));
  // what each status means for the ledger (adapters/README.md)
  assert.equal(by[pre.id].status, 'pending', 'a preorder holds its units');
  assert.equal(by[o2.id].status, 'partial');
  assert.equal(by[o3.id].status, 'shipped', 'InvoiceUnconfirmed: shipped');
  assert.equal(by[o4.id].status, 'cancelled');
  assert.equal(by[o1.id].lines.length, 5, 'order items over several pages');
  assert.equal(by[afn.id], undefined, 'fulfilled by Amazon from its own stock: not the seller\'s');
  assert.equal(by[mcf.id], undefined);
  await sleep(50);
  ok(await d.returns(name, null));
});

test('Walmart: inventory, feeds, orders of every line status over pages, acknowledgements, returns over pages', { timeout: 90000 }, async () => {
  const a = await sim.account({ channel: 'walmart', limits: 'unlimited', feed_queue_ms: 0, feed_process_ms: 0, report_ms: 0,
    stock: Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`W${i}`, 40])) });
  const name = 'wm';
  ok(await d.conn(name, 'walmart', { base_url: a.base_url, settings: { page_size: 2, feed_threshold: 3 },
    secrets: { client_id: a.credentials.client_id, client_secret: a.credentials.client_secret } }));
  ok(await d.test(name));
  await ctl('put', `/_sim/accounts/${a.id}/stock`, { W0: -4 });
  ok(await d.push(name, [{ listing_id: 1, sku: 'W0', qty: 3, expect: -4 }, { listing_id: 2, sku: 'W1', qty: 4 }]));
  ok(await d.push(name, Array.from({ length: 6 }, (_, i) => ({ listing_id: i, sku: `W${i}`, qty: i + 1 }))));
  ok(await d.read(name, [{ listing_id: 1, sku: 'W0' }, { listing_id: 2, sku: 'NOPE' }]));
  const order = (spec) => ctl('post', `/_sim/accounts/${a.id}/orders`, { force: true, ...spec });
  const ids = [];
  for (let i = 0; i < 5; i++) ids.push((await order({ lines: [{ sku: `W${i}`, quantity: 2 }, { sku: 'W5', quantity: 1 }] })).id);
  await ctl('post', `/_sim/accounts/${a.id}/orders/${ids[0]}/cancel`, {});
  await ctl('post', `/_sim/accounts/${a.id}/orders/${ids[1]}/fulfill`, {});
  await ctl('post', `/_sim/accounts/${a.id}/orders/${ids[2]}/fulfill`, {});
  await ctl('post', `/_sim/accounts/${a.id}/orders/${ids[2]}/deliver`, {});
  await ctl('post', `/_sim/accounts/${a.id}/orders/${ids[2]}/return`, { line: 0, quantity: 1, refund_only: true }); // a partial refund
  await ctl('post', `/_sim/accounts/${a.id}/orders/${ids[1]}/return`, { line: 0, quantity: 1 });
  await ctl('post', `/_sim/accounts/${a.id}/orders/${ids[1]}/return`, { line: 1, quantity: 1 });
  await ctl('post', `/_sim/accounts/${a.id}/orders/${ids[2]}/return`, { line: 1, quantity: 1 });
  // and through the order generator: deliveries and partial refunds among the orders it ships
  await ctl('put', `/_sim/accounts/${a.id}/generator`, { all: { per_second: 30 }, seed: 5, running: true,
    lifecycle: { fulfill_after_ms: 50, deliver_after_ms: 100, refund_fraction: 0.5, cancel_fraction: 0.2, cancel_after_ms: 50 } });
  await sleep(600);
  await ctl('post', `/_sim/accounts/${a.id}/generator/stop`, {});
  await sleep(300);
  const all = await drain(d, 'fetch_orders', name, null, { max: 200 });
  const statuses = new Set((await sim.ctl.get(`/_sim/requests?capture=1&account=${a.id}&path=/v3/orders&limit=100000`)).json.requests
    .flatMap((e) => e.response?.body?.json?.list?.elements?.order ?? [])
    .flatMap((o) => o.orderLines.orderLine.flatMap((l) => l.orderLineStatuses.orderLineStatus.map((x) => x.status))));
  for (const st of ['Created', 'Shipped', 'Delivered', 'Refund', 'Cancelled']) assert.ok(statuses.has(st), `no ${st} line: ${[...statuses]}`);
  ok(await d.ack(name, all.records.filter((o) => o.needs_ack).map((o) => o.id)));
  const rets = await drain(d, 'fetch_returns', name, null);
  assert.ok(rets.pages.length >= 2, `returns over pages: ${rets.pages}`);
});

test('every request the adapters sent and every answer the simulators gave is what the specifications allow', async () => {
  const log = (await sim.ctl.get('/_sim/requests?capture=1&limit=100000')).json.requests;
  assert.ok(log.length > 50, `${log.length} exchanges recorded`);
  const problems = [];
  const covered = new Set();
  const uncovered = new Map();
  const silent = new Set(); // error answers of operations whose specification declares none
  for (const e of log) {
    const r = checkExchange(specs, e);
    if (r.uncovered) { uncovered.set(r.uncovered, (uncovered.get(r.uncovered) ?? 0) + 1); continue; }
    if (r.op) covered.add(r.op);
    if (r.silent) silent.add(r.silent);
    problems.push(...r.problems.map((p) => `#${e.id} ${p}`));
  }
  const unique = [...new Set(problems.map((p) => p.replace(/^#\d+ /, '')))];
  assert.deepEqual(unique, [], `${problems.length} problems:\n${unique.slice(0, 40).join('\n')}`);
  // the operations exercised (the whole range the adapters use)
  for (const op of ['amazon patchListingsItem', 'amazon getListingsItem', 'amazon searchListingsItems', 'amazon createFeedDocument',
    'amazon createFeed', 'amazon getOrders', 'amazon getOrderItems', 'amazon createReport', 'amazon getReport',
    'amazon getReportDocument', 'amazon JSON_LISTINGS_FEED document', 'walmart tokenAPI', 'walmart getTokenDetail', 'walmart updateInventoryForAnItem',
    'walmart getInventory', 'walmart getAllOrders', 'walmart acknowledgeOrders', 'walmart getReturns'])
    assert.ok(covered.has(op), `not exercised: ${op} (${[...covered].sort().join(', ')})`);
  assert.ok([...covered].some((o) => o.startsWith('shopify mutation')) && [...covered].some((o) => o.startsWith('shopify query')));
  // an unknown SKU is a 404 on Walmart; getInventory declares only its 200
  assert.deepEqual([...silent], ['walmart getInventory 404']);
  // what no machine-readable specification covers, named
  assert.deepEqual([...uncovered.keys()].sort(), ['LWA token endpoint', 'Shopify REST/OAuth (no published machine-readable specification)',
    'presigned document URL'].sort());
});
