// sync_e2e.test.mjs — the sync loop end to end on the simulators: several
// brands, each with a Shopify, an Amazon and a Walmart account whose order
// generators sell (with cancellations, shipments and returns) while the
// worker ingests and pushes.  Afterwards the master is receipts minus net
// sales for every SKU, every channel shows what onecount publishes, and an
// order for a SKU without a listing waited in the unmapped queue and was
// taken in when the listing came.  Also: Shopify webhooks, duplicated and
// in any order, land once; forged ones are refused; a SKU's timeline explains
// what each channel was sent.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomUUID } from 'node:crypto';
import { client, waitFor, sleep } from './lib/stack.mjs';
import { startSyncStack, channelBrand, converge, channelView, balance, runNow, KINDS, countOrders } from './lib/sync.mjs';

let stack, P, sim, worker;
const brands = [];
const STOCK = 60;

before(async () => {
  ({ stack, sim, P } = await startSyncStack());
  for (let i = 0; i < 3; i++) brands.push(await channelBrand(stack, P, sim, { skus: ['A', 'B', 'C', 'D'], stock: STOCK }));
  worker = await stack.startWorker();
});
after(async () => { await stack?.stop(); });

test('the first push gives every channel its published quantity', async () => {
  await converge(brands);
  for (const br of brands)
    for (const kind of KINDS) {
      const view = await channelView(br, kind);
      for (const code of br.skus) assert.equal(view[code].quantity, STOCK, `${kind} ${code}`);
    }
});

test('what the channel saw: a simulated connection shows the requests its channel received', async () => {
  const br = brands[0];
  for (const kind of KINDS) {
    const log = await br.api.get(`${br.base}/connections/${br.conns[kind].id}/channel-log`);
    assert.equal(log.status, 200, log.text);
    assert.equal(log.json.simulated, true);
    // the first push is in it: a quantity write of every SKU at the stock we published
    const written = Object.assign({}, ...log.json.items.filter((x) => x.writes).map((x) => x.writes));
    for (const code of br.skus) assert.equal(written[code], STOCK, `${kind} ${code}: ${JSON.stringify(log.json.items.slice(0, 5))}`);
    assert.ok(log.json.items.every((x) => x.method && x.path && x.status && !('query' in x)));
    // paging: nothing after the last one
    const later = await br.api.get(`${br.base}/connections/${br.conns[kind].id}/channel-log?since=${log.json.next_since}`);
    assert.ok(later.json.items.every((x) => !log.json.items.some((y) => y.id === x.id)));
  }
  assert.equal((await br.api.get(`${br.base}/connections/${br.conns.shopify.id}/channel-log?since=-1`)).status, 422);
  // a connection to a real channel keeps no such record
  const real = await br.api.post(`${br.base}/connections`, { kind: 'walmart', name: `real-${randomUUID()}`, settings: {},
    credentials: { client_id: 'x', client_secret: 'y' } });
  assert.equal(real.status, 201, real.text);
  const none = await br.api.get(`${br.base}/connections/${real.json.id}/channel-log`);
  assert.deepEqual(none.json, { simulated: false, items: [], next_since: null });
  assert.equal((await br.api.del(`${br.base}/connections/${real.json.id}`)).status, 200);
});

test('under steady sales on every channel, the master is receipts minus net sales and every channel converges', async () => {
  const lifecycle = { cancel_fraction: 0.15, cancel_after_ms: 700, fulfill_after_ms: 1500, return_fraction: 0.1,
    return_after_ms: 2500, restock: true };
  for (const br of brands)
    for (const kind of KINDS) {
      const r = await br.sim.put(`/_sim/accounts/${br.conns[kind].account.id}/generator`,
        { all: { per_second: 0.6 }, units_per_order: { min: 1, max: 2 }, seed: 7, lifecycle, running: true });
      assert.equal(r.status, 200, r.text);
    }
  await sleep(8000);
  for (const br of brands)
    for (const kind of KINDS) await br.sim.post(`/_sim/accounts/${br.conns[kind].account.id}/generator/stop`, {});
  await sleep(3500); // let the last lifecycles (cancel, ship, return) play out on the channels
  await converge(brands, { timeout: 90000 });
  let sold = 0;
  for (const br of brands) {
    const views = {};
    for (const kind of KINDS) views[kind] = await channelView(br, kind);
    for (const code of br.skus) {
      // units the channels sold, less those cancelled; returns come back when restocked
      let net = 0;
      for (const kind of KINDS) net += views[kind][code].sold - views[kind][code].cancelled;
      sold += net;
      const b = await balance(br, code);
      // returns ingested from the channels: restocked units are back on hand (others wait in inspection)
      const returned = (await br.api.get(`${br.base}/skus/${code}/history?kind=return&limit=200`)).json.items
        .reduce((n, m) => n + m.on_hand_delta, 0);
      assert.equal(b.on_hand - b.committed, STOCK - net + returned,
        `${code}: on hand ${b.on_hand}, committed ${b.committed}, net sold ${net}, returned ${returned}`);
      for (const kind of KINDS) assert.equal(views[kind][code].oversold, 0, `${kind} ${code} oversold`);
    }
    const verify = await br.api.get(`${br.base}/ledger/verify`);
    assert.deepEqual(verify.json.mismatches, [], verify.text);
  }
  assert.ok(sold > 20, `only ${sold} units sold`);
});

test('an order for a SKU with no listing waits in the unmapped queue and is taken in when the listing comes', async () => {
  const br = brands[0];
  const acct = br.conns.walmart.account.id;
  await br.sim.put(`/_sim/accounts/${acct}/stock`, { 'GHOST-1': 5 });
  const o = await br.sim.post(`/_sim/accounts/${acct}/orders`, { sku: 'GHOST-1', quantity: 2 });
  assert.equal(o.status, 201, o.text);
  await runNow(br, ['poll_orders']);
  await waitFor(async () => (await br.api.get(`${br.base}/orders/unmapped`)).json.some((x) => x.channel_sku === 'GHOST-1'),
    { what: 'the parked line' });
  const alerts = (await br.api.get(`${br.base}/alerts`)).json.items;
  assert.ok(alerts.some((a) => a.kind === 'unmapped_sku'));
  // the SKU arrives, then its listing: the parked sale is recorded at once
  assert.equal((await br.api.post(`${br.base}/skus`, { code: 'GHOST-1' })).status, 201);
  assert.equal((await br.api.post(`${br.base}/movements`, { kind: 'receipt', sku: 'GHOST-1', qty: 10 })).status, 201);
  const warm = await br.api.post(`${br.base}/holds`, { sku: 'GHOST-1', qty: 10, ttl_seconds: 60 });
  assert.equal(warm.status, 201, warm.text); // the hold gate caches the 10 units
  assert.equal((await br.api.post(`${br.base}/holds/${warm.json.id}/release`, {})).status, 200);
  const l = await br.api.post(`${br.base}/listings`, { connection_id: br.conns.walmart.id, sku: 'GHOST-1' });
  assert.equal(l.status, 201, l.text);
  const b = await balance(br, 'GHOST-1');
  assert.equal(b.committed, 2);
  // the hold gate heard of the parked sale before the listing was answered: 8 units left to hold, not 10
  const over = await br.api.post(`${br.base}/holds`, { sku: 'GHOST-1', qty: 9, ttl_seconds: 60 });
  assert.equal(over.status, 409, over.text);
  const fits = await br.api.post(`${br.base}/holds`, { sku: 'GHOST-1', qty: 8, ttl_seconds: 60 });
  assert.equal(fits.status, 201, fits.text);
  assert.equal((await br.api.post(`${br.base}/holds/${fits.json.id}/release`, {})).status, 200);
  assert.equal((await br.api.get(`${br.base}/orders/unmapped`)).json.length, 0);
  await runNow(br, ['poll_orders']);
  await waitFor(async () => !(await br.api.get(`${br.base}/alerts`)).json.items.some((a) => a.kind === 'unmapped_sku'),
    { what: 'the unmapped alert to resolve' });
});

test('a channel sale the worker takes in reaches the hold gate: the units it sold cannot be held', async () => {
  const br = await channelBrand(stack, P, sim, { skus: ['G'], stock: 5, webhooks: false });
  const [code] = br.skus;
  // The gate caches the SKU's base (5) from a first hold.
  const warm = await br.api.post(`${br.base}/holds`, { sku: code, qty: 5, ttl_seconds: 60 });
  assert.equal(warm.status, 201, warm.text);
  assert.equal((await br.api.post(`${br.base}/holds/${warm.json.id}/release`, {})).status, 200);
  // The hold published 0 to every channel while it lasted: wait until they show the 5 again.
  await converge([br]);
  const acct = br.conns.walmart.account.id;
  const o = await br.sim.post(`/_sim/accounts/${acct}/orders`, { sku: code, quantity: 5 });
  assert.equal(o.status, 201, o.text);
  await runNow(br, ['poll_orders']);
  await waitFor(async () => (await countOrders(br, br.conns.walmart.id)) === 1, { what: 'the order taken in' });
  assert.equal((await balance(br, code)).available, 0);
  // Every unit is sold: no hold may take one (the gate heard of the sale, not only PostgreSQL).
  await waitFor(async () => {
    const h = await br.api.post(`${br.base}/holds`, { sku: code, qty: 1, ttl_seconds: 60 });
    if (h.status === 201) await br.api.post(`${br.base}/holds/${h.json.id}/release`, {});
    return h.status === 409;
  }, { timeout: 5000, what: 'a hold refused once the channel sold every unit' });
});

test('Shopify webhooks: forged ones are refused alike, duplicates and replays land once', async () => {
  const br = brands[1];
  const shop = br.conns.shopify;
  const url = `/api/v1/webhooks/shopify/${br.id}/${shop.id}`;
  const body = JSON.stringify({ id: 1, line_items: [] });
  const sign = (secret, b) => createHmac('sha256', secret).update(b).digest('base64');
  const hdr = (sig, ev = randomUUID()) => ({ 'content-type': 'application/json', 'x-shopify-hmac-sha256': sig,
    'x-shopify-topic': 'orders/create', 'x-shopify-event-id': ev });
  const c = client(stack.url);
  const forged = await c.post(url, body, hdr(sign('wrong secret', body)));
  const unknown = await c.post(`/api/v1/webhooks/shopify/${br.id}/${randomUUID()}`, body, hdr(sign('x', body)));
  const foreign = await c.post(`/api/v1/webhooks/shopify/${brands[2].id}/${shop.id}`, body, hdr(sign(shop.account.credentials.webhook_secret, body)));
  for (const r of [forged, unknown, foreign]) {
    assert.equal(r.status, 401, r.text);
    assert.deepEqual({ ...r.json.error, request_id: null }, { ...forged.json.error, request_id: null });
  }
  const ev = randomUUID();
  const good = await c.post(url, body, hdr(sign(shop.account.credentials.webhook_secret, body), ev));
  assert.equal(good.status, 200, good.text);
  assert.equal(good.json.duplicate, false);
  const again = await c.post(url, body, hdr(sign(shop.account.credentials.webhook_secret, body), ev));
  assert.equal(again.json.duplicate, true);

  // the simulator sends every event twice, and orders change while deliveries retry
  await br.sim.patch(`/_sim/accounts/${shop.account.id}`, { webhook: { duplicates: 1 } });
  const code = br.skus[3];
  const before1 = await balance(br, code);
  const placed = [];
  for (let i = 0; i < 4; i++) placed.push((await br.sim.post(`/_sim/accounts/${shop.account.id}/orders`, { sku: code, quantity: 1 })).json);
  await br.sim.post(`/_sim/accounts/${shop.account.id}/orders/${placed[0].id}/cancel`, { restock: true });
  await br.sim.post(`/_sim/accounts/${shop.account.id}/orders/${placed[1].id}/fulfill`, {});
  await waitFor(async () => {
    const b = await balance(br, code);
    return b.committed - before1.committed === 2 && before1.on_hand - b.on_hand === 1;
  }, { what: 'three sales, one cancel and one shipment, each once', timeout: 20000 });
  const hooks = (await br.sim.get(`/_sim/webhooks?account=${shop.account.id}`)).json.deliveries;
  assert.ok(hooks.filter((h) => h.topic === 'orders/create').length >= 8, 'each order event was delivered twice');
  // nothing moved twice: at most one sale per order (one cancelled before onecount saw it may have none),
  // and sales less cancellations are the three orders that stand
  const moves = (await br.api.get(`${br.base}/skus/${code}/history?limit=200`)).json.items
    .filter((m) => placed.some((p) => m.reference === `shopify:${p.id}`));
  for (const p of placed) assert.ok(moves.filter((m) => m.kind === 'sale' && m.reference === `shopify:${p.id}`).length <= 1);
  const net = moves.reduce((n, m) => n + (m.kind === 'sale' ? m.qty : m.kind === 'cancel' ? -m.qty : 0), 0);
  assert.equal(net, 3);
  await converge([br]);
});

test("a SKU's timeline says what each channel was sent and when", async () => {
  const br = brands[2];
  const code = br.skus[0];
  const tl = await br.api.get(`${br.base}/skus/${code}/timeline?limit=200&at=${encodeURIComponent(new Date().toISOString())}`);
  assert.equal(tl.status, 200, tl.text);
  const pushes = tl.json.items.filter((e) => e.type === 'push' && ['ok', 'pending'].includes(e.status));
  assert.ok(pushes.length >= 3);
  assert.deepEqual(new Set(pushes.map((p) => p.kind)), new Set(KINDS));
  const listings = (await br.api.get(`${br.base}/listings?sku=${code}`)).json.items;
  for (const ch of tl.json.shown_at.channels) {
    const l = listings.find((x) => x.id === ch.listing_id);
    assert.equal(ch.showing, l.pushed_qty, `${ch.kind}: what it was shown is the last acknowledged push`);
  }
  const b = await balance(br, code);
  assert.equal(tl.json.shown_at.balance.on_hand, b.on_hand);
  // the health view: every connection closed, nothing queued, latency measured
  const sync = (await br.api.get(`${br.base}/sync`)).json;
  for (const c of sync.connections) {
    assert.equal(c.circuit, 'closed');
    assert.equal(c.queue_depth, 0);
    assert.ok(c.last_push_ok_at);
    assert.ok(c.pushes_total > 0);
  }
  assert.ok(await countOrders(br, br.conns.amazon.id) > 0);
});

test('push lag is measured, not injected: Amazon to when it applied a push, not to the read-back that saw it', { timeout: 90000 }, async () => {
  // Amazon applies 3 s after accepting; the read-back comes 8 s after that.  Measured to the read-back the lag
  // would be 8 s or more; measured to the apply (its lastUpdatedDate, whole seconds) it is 2 to 3 s.
  const br = await channelBrand(stack, P, sim, { skus: ['A', 'B'], stock: 10, accounts: { amazon: { apply_delay_ms: 3000 } } });
  const conn = async (kind) => (await br.api.get(`${br.base}/connections/${br.conns[kind].id}`)).json;
  await waitFor(async () => (await br.api.get(`${br.base}/listings?limit=50`)).json.items.every((l) => l.in_sync && l.pushed_qty === 10),
    { what: 'the first pushes acknowledged', timeout: 30000 });
  await sleep(11000);
  await runNow(br, ['read_back']);
  await waitFor(async () => (await conn('amazon')).push_lag.samples >= 2, { what: 'the read-back to see the applied pushes', timeout: 30000 });
  const amazon = (await conn('amazon')).push_lag;
  assert.ok(amazon.p50_ms >= 1500 && amazon.p99_ms <= 4500, JSON.stringify(amazon));
  // Shopify shows a number as it answers: its samples are the calls' round trips
  const shopify = (await conn('shopify')).push_lag;
  assert.ok(shopify.samples >= 2 && shopify.p99_ms < 3000, JSON.stringify(shopify));
  // the health view shows the same figures
  const h = (await br.api.get(`${br.base}/sync`)).json.connections.find((c) => c.connection_id === br.conns.amazon.id);
  assert.deepEqual(h.push_lag, (await conn('amazon')).push_lag);
});

test('the worker stops cleanly on SIGTERM', async () => {
  const r = await worker.stop();
  assert.equal(r.code, 0);
  assert.ok(worker.logs.some((l) => l.includes('"worker stopped"')));
});
