// sim_walmart.test.mjs — the Walmart simulator: Basic-auth tokens and the three
// required headers, per-API token buckets with x-current-token-count and
// x-next-replenish-time, inventory PUT/GET and cursor listing, inventory feeds
// (multipart and raw JSON), orders with nextCursor query strings, released
// orders, acknowledge, cancel, shipping, and returns.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { startSim, call, waitFor } from './lib/sim.mjs';
import { sleep } from './lib/stack.mjs';

let sim;
before(async () => { sim = await startSim(); });
after(async () => { await sim?.stop(); });

const basic = (a) => `Basic ${Buffer.from(`${a.credentials.client_id}:${a.credentials.client_secret}`).toString('base64')}`;

async function token(a, headers = {}) {
  return call(a.credentials.token_url, {
    method: 'POST',
    headers: { authorization: basic(a), 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json',
      'wm_qos.correlation_id': randomUUID(), 'wm_svc.name': 'Walmart Marketplace', ...headers },
    body: 'grant_type=client_credentials',
  });
}

async function wm(a) {
  const t = await token(a);
  assert.equal(t.status, 200, t.text);
  const h = (extra = {}) => ({ 'wm_sec.access_token': t.json.access_token, authorization: basic(a), 'wm_qos.correlation_id': randomUUID(),
    'wm_svc.name': 'Walmart Marketplace', accept: 'application/json', 'content-type': 'application/json', ...extra });
  return {
    token: t.json.access_token,
    get: (path, extra) => call(`${a.base_url}${path}`, { headers: h(extra) }),
    put: (path, body) => call(`${a.base_url}${path}`, { method: 'PUT', headers: h(), body: JSON.stringify(body) }),
    post: (path, body, extra) => call(`${a.base_url}${path}`, { method: 'POST', headers: h(extra), body: typeof body === 'string' ? body : JSON.stringify(body) }),
  };
}

test('POST /v3/token takes Basic client credentials and the WM headers; API calls need all three headers', async () => {
  const a = await sim.account({ channel: 'walmart', stock: { A: 1 } });
  const t = await token(a);
  assert.equal(t.status, 200);
  assert.equal(t.json.token_type, 'Bearer');
  assert.equal(t.json.expires_in, 900);
  const bad = await token({ credentials: { ...a.credentials, client_secret: 'nope' } });
  assert.equal(bad.status, 401);
  assert.equal(bad.json.errors[0].code, 'UNAUTHORIZED.GMP_GATEWAY_API');
  const noSvc0 = await call(a.credentials.token_url, { method: 'POST', headers: { authorization: basic(a), 'wm_qos.correlation_id': randomUUID(),
    'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=client_credentials' });
  assert.equal(noSvc0.status, 400);
  const noCorr = await call(a.credentials.token_url, { method: 'POST', headers: { authorization: basic(a), 'wm_svc.name': 'Walmart Marketplace',
    'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=client_credentials' });
  assert.equal(noCorr.status, 400);

  const api = await wm(a);
  const url = `${a.base_url}/v3/inventory?sku=A`;
  const none = await call(url, { headers: { 'wm_qos.correlation_id': 'c1', 'wm_svc.name': 'Walmart Marketplace' } });
  assert.equal(none.status, 401);
  assert.equal(none.json.errors[0].code, 'UNAUTHORIZED.GMP_GATEWAY_API');
  const noSvc = await call(url, { headers: { 'wm_sec.access_token': api.token, 'wm_qos.correlation_id': 'c1' } });
  assert.equal(noSvc.status, 400);
  assert.equal(noSvc.json.errors[0].code, 'INVALID_REQUEST_HEADER.GMP_GATEWAY_API');
  // the specification requires the client's Basic authorization on every call, not only on the token's
  const noBasic = await call(url, { headers: { 'wm_sec.access_token': api.token, 'wm_qos.correlation_id': 'c1', 'wm_svc.name': 'Walmart Marketplace' } });
  assert.equal(noBasic.status, 401);
  assert.equal(noBasic.json.errors[0].code, 'UNAUTHORIZED.GMP_GATEWAY_API');
  const otherBasic = await api.get('/v3/inventory?sku=A', { authorization: basic({ credentials: { ...a.credentials, client_secret: 'nope' } }) });
  assert.equal(otherBasic.status, 401);
  const ok = await api.get('/v3/inventory?sku=A', { 'wm_qos.correlation_id': 'trace-1' });
  assert.equal(ok.status, 200);
  assert.equal(ok.headers.get('wm_qos.correlation_id'), 'trace-1');
  assert.deepEqual(ok.json, { sku: 'A', quantity: { unit: 'EACH', amount: 1 } });
});

test('tokens expire after token_ttl_s with 401', async () => {
  const a = await sim.account({ channel: 'walmart', stock: { A: 1 }, token_ttl_s: 1 });
  const api = await wm(a);
  assert.equal((await api.get('/v3/inventory?sku=A')).status, 200);
  await sleep(1200);
  const r = await api.get('/v3/inventory?sku=A');
  assert.equal(r.status, 401);
  assert.match(r.json.errors[0].info, /expired/);
  assert.equal((await (await wm(a)).get('/v3/inventory?sku=A')).status, 200, 'a new token works');
});

test('PUT /v3/inventory echoes, GET reads back, /v3/inventories pages with nextCursor', async () => {
  const stock = Object.fromEntries(Array.from({ length: 7 }, (_, i) => [`S-${i}`, i]));
  const a = await sim.account({ channel: 'walmart', stock, limits: 'unlimited' });
  const api = await wm(a);
  const put = await api.put('/v3/inventory?sku=S-3', { sku: 'S-3', quantity: { unit: 'EACH', amount: 30 } });
  assert.equal(put.status, 200);
  assert.deepEqual(put.json, { sku: 'S-3', quantity: { unit: 'EACH', amount: 30 } });
  // unlimited: no token count to announce (a client would take the real one for its own)
  assert.deepEqual([put.headers.get('x-current-token-count'), put.headers.get('x-next-replenish-time')], [null, null]);
  assert.equal((await api.get('/v3/inventory?sku=S-3')).json.quantity.amount, 30);
  assert.equal((await api.put('/v3/inventory?sku=S-3', { sku: 'S-3', quantity: { unit: 'EACH', amount: -1 } })).status, 400);
  assert.equal((await api.put('/v3/inventory?sku=NOPE', { sku: 'NOPE', quantity: { unit: 'EACH', amount: 1 } })).status, 404);
  const seen = [];
  let cursor = null;
  for (let page = 0; page < 10; page++) {
    const r = await api.get(`/v3/inventories?limit=3${cursor ? `&nextCursor=${encodeURIComponent(cursor)}` : ''}`);
    assert.equal(r.status, 200);
    assert.equal(r.json.meta.totalCount, 7);
    for (const inv of r.json.elements.inventories) seen.push([inv.sku, inv.nodes[0].availToSellQty.amount]);
    cursor = r.json.meta.nextCursor;
    if (!cursor) break;
  }
  assert.equal(seen.length, 7);
  assert.deepEqual(seen.find((s) => s[0] === 'S-3'), ['S-3', 30]);
  const one = await api.get('/v3/inventories/S-3');
  assert.equal(one.json.nodes[0].shipNode, a.credentials.ship_node);
  const multi = await api.put('/v3/inventories/S-3', { inventories: { nodes: [{ shipNode: a.credentials.ship_node, inputQty: { unit: 'EACH', amount: 12 } }] } });
  assert.equal(multi.json.nodes[0].status, 'Success');
  assert.equal((await api.get('/v3/inventory?sku=S-3')).json.quantity.amount, 12);
});

test('per-API buckets: x-current-token-count counts down, then 429 with Retry-After and x-next-replenish-time', async () => {
  const a = await sim.account({ channel: 'walmart', stock: { A: 1 }, limits: { inventory: { burst: 3, rate: 2 } } });
  const api = await wm(a);
  const counts = [];
  for (let i = 0; i < 3; i++) {
    const r = await api.get('/v3/inventory?sku=A');
    assert.equal(r.status, 200);
    counts.push(Number(r.headers.get('x-current-token-count')));
    assert.ok(Number(r.headers.get('x-next-replenish-time')) >= Date.now() - 1000);
  }
  assert.deepEqual(counts, [2, 1, 0]);
  const over = await api.put('/v3/inventory?sku=A', { sku: 'A', quantity: { unit: 'EACH', amount: 5 } });
  assert.equal(over.status, 429);
  assert.equal(over.json.errors[0].code, 'REQUEST_THRESHOLD_VIOLATED.GMP_GATEWAY_API');
  assert.ok(Number(over.headers.get('retry-after')) >= 1);
  assert.equal(over.headers.get('x-current-token-count'), '0');
  const replenish = Number(over.headers.get('x-next-replenish-time'));
  assert.ok(replenish > Date.now() - 100 && replenish < Date.now() + 2000);
  await sleep(600);
  const again = await api.put('/v3/inventory?sku=A', { sku: 'A', quantity: { unit: 'EACH', amount: 5 } });
  assert.equal(again.status, 200, 'tokens replenish');
  // The orders bucket is separate and still full.
  assert.equal((await api.get('/v3/orders')).status, 200);
});

test('inventory feeds, multipart or raw JSON: RECEIVED → INPROGRESS → PROCESSED with item details', async () => {
  const a = await sim.account({ channel: 'walmart', stock: { A: 1, B: 1 }, feed_queue_ms: 250, feed_process_ms: 250 });
  const api = await wm(a);
  const v14 = { InventoryHeader: { version: '1.4' }, Inventory: [{ sku: 'A', quantity: { unit: 'EACH', amount: 10 } }, { sku: 'ZZZ', quantity: { unit: 'EACH', amount: 3 } }] };
  const boundary = 'simBoundary7';
  const multipart = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="inv.json"\r\nContent-Type: application/json\r\n\r\n${JSON.stringify(v14)}\r\n--${boundary}--\r\n`;
  const sub = await api.post('/v3/feeds?feedType=inventory', multipart, { 'content-type': `multipart/form-data; boundary=${boundary}` });
  assert.equal(sub.status, 200, sub.text);
  assert.match(sub.json.feedId, /^[0-9A-F]{32}@/);
  const statuses = [];
  let last;
  await waitFor(async () => {
    last = await api.get(`/v3/feeds/${encodeURIComponent(sub.json.feedId)}?includeDetails=true`);
    assert.equal(last.status, 200, last.text);
    if (statuses[statuses.length - 1] !== last.json.feedStatus) statuses.push(last.json.feedStatus);
    return last.json.feedStatus === 'PROCESSED';
  }, { what: 'the feed', timeout: 4000, interval: 40 });
  assert.deepEqual(statuses, ['RECEIVED', 'INPROGRESS', 'PROCESSED']);
  assert.equal(last.json.itemsReceived, 2);
  assert.equal(last.json.itemsSucceeded, 1);
  assert.equal(last.json.itemsFailed, 1);
  const details = last.json.itemDetails.itemIngestionStatus;
  assert.deepEqual(details.map((d) => [d.sku, d.ingestionStatus]), [['A', 'SUCCESS'], ['ZZZ', 'DATA_ERROR']]);
  assert.equal((await api.get('/v3/inventory?sku=A')).json.quantity.amount, 10);

  const v15 = { inventoryHeader: { version: '1.5' }, inventory: [{ sku: 'B', shipNodes: [{ shipNode: a.credentials.ship_node, quantity: { unit: 'EACH', amount: 4 } }] }] };
  const raw = await api.post('/v3/feeds?feedType=MP_INVENTORY', v15);
  assert.equal(raw.status, 200);
  await waitFor(async () => (await api.get(`/v3/feeds/${encodeURIComponent(raw.json.feedId)}`)).json.feedStatus === 'PROCESSED', { what: 'the raw feed', timeout: 4000 });
  assert.equal((await api.get('/v3/inventory?sku=B')).json.quantity.amount, 4);
  const list = await api.get('/v3/feeds');
  assert.equal(list.json.totalResults, 2);
  const log = await sim.requests({ account: a.id, path: '/v3/feeds' });
  assert.deepEqual(log.requests.filter((x) => x.method === 'POST').map((x) => x.writes), [{ A: 10, ZZZ: 3 }, { B: 4 }]);
});

test('orders page through nextCursor query strings; acknowledge, cancel and ship change per-line statuses', async () => {
  const a = await sim.account({ channel: 'walmart', stock: { A: 20, B: 20 }, limits: 'unlimited' });
  const api = await wm(a);
  const pos = [];
  for (let i = 0; i < 5; i++) pos.push((await sim.ctl.post(`/_sim/accounts/${a.id}/orders`, { lines: [{ sku: 'A', quantity: 2 }, { sku: 'B', quantity: 1 }] })).json.id);
  const seen = [];
  let next = `?limit=2&createdStartDate=${encodeURIComponent(new Date(Date.now() - 60000).toISOString())}`;
  let pages = 0;
  while (next && pages < 10) {
    const r = await api.get(`/v3/orders${next}`);
    assert.equal(r.status, 200, r.text);
    pages++;
    assert.equal(r.json.list.meta.totalCount, 5);
    for (const o of r.json.list.elements.order) {
      seen.push(o.purchaseOrderId);
      assert.equal(typeof o.orderDate, 'number');
      const line = o.orderLines.orderLine[0];
      assert.equal(line.lineNumber, '1');
      assert.equal(line.item.sku, 'A');
      assert.equal(line.orderLineQuantity.amount, '2', 'quantities are strings');
      assert.equal(line.orderLineStatuses.orderLineStatus[0].status, 'Created');
    }
    next = r.json.list.meta.nextCursor;
    if (next) assert.ok(next.startsWith('?'), 'nextCursor is a ready-made query string');
  }
  assert.equal(pages, 3);
  assert.deepEqual(seen, pos);
  assert.equal((await api.get('/v3/inventory?sku=A')).json.quantity.amount, 10);

  const released = await api.get('/v3/orders/released?limit=200');
  assert.equal(released.json.list.elements.order.length, 5);
  const ack = await api.post(`/v3/orders/${pos[0]}/acknowledge`, '');
  assert.equal(ack.status, 200);
  assert.deepEqual(ack.json.order.orderLines.orderLine.map((l) => l.orderLineStatuses.orderLineStatus[0].status), ['Acknowledged', 'Acknowledged']);
  const after = await api.get('/v3/orders/released?limit=200');
  assert.deepEqual(after.json.list.elements.order.map((o) => o.purchaseOrderId), pos.slice(1), 'acknowledged orders leave the released queue');
  assert.equal((await api.post(`/v3/orders/${pos[0]}/acknowledge`, '')).status, 200, 're-acknowledging is allowed');

  const cancel = await api.post(`/v3/orders/${pos[1]}/cancel`, { orderCancellation: { orderLines: { orderLine: [{ lineNumber: '1',
    orderLineStatuses: { orderLineStatus: [{ status: 'Cancelled', cancellationReason: 'CUSTOMER_REQUESTED_SELLER_TO_CANCEL', statusQuantity: { unitOfMeasurement: 'EA', amount: '2' } }] } }] } } });
  assert.equal(cancel.status, 200, cancel.text);
  const lines = cancel.json.order.orderLines.orderLine;
  assert.equal(lines[0].orderLineStatuses.orderLineStatus[0].status, 'Cancelled');
  assert.equal(lines[1].orderLineStatuses.orderLineStatus[0].status, 'Created');
  assert.equal((await api.get('/v3/inventory?sku=A')).json.quantity.amount, 12, 'a cancelled line gives its units back');
  const tooMany = await api.post(`/v3/orders/${pos[2]}/cancel`, { orderCancellation: { orderLines: { orderLine: [{ lineNumber: '1',
    orderLineStatuses: { orderLineStatus: [{ status: 'Cancelled', statusQuantity: { unitOfMeasurement: 'EA', amount: '3' } }] } }] } } });
  assert.equal(tooMany.status, 400);
  const cancelled = await api.get(`/v3/orders?status=Cancelled&createdStartDate=${Date.now() - 60000}`);
  assert.deepEqual(cancelled.json.list.elements.order.map((o) => o.purchaseOrderId), [pos[1]]);

  const ship = await api.post(`/v3/orders/${pos[0]}/shipping`, { orderShipment: { orderLines: { orderLine: [
    { lineNumber: '1', orderLineStatuses: { orderLineStatus: [{ status: 'Shipped', statusQuantity: { unitOfMeasurement: 'EACH', amount: '2' } }] } },
    { lineNumber: '2', orderLineStatuses: { orderLineStatus: [{ status: 'Shipped', statusQuantity: { unitOfMeasurement: 'EACH', amount: '1' } }] } }] } } });
  assert.equal(ship.status, 200, ship.text);
  assert.ok(ship.json.order.orderLines.orderLine.every((l) => l.orderLineStatuses.orderLineStatus[0].status === 'Shipped'));
  await sleep(10); // lastModifiedStartDate is inclusive, to the millisecond
  const mark = Date.now();
  await sleep(10);
  await sim.ctl.post(`/_sim/accounts/${a.id}/orders/${pos[3]}/cancel`, {});
  const modified = await api.get(`/v3/orders?lastModifiedStartDate=${mark}`);
  assert.deepEqual(modified.json.list.elements.order.map((o) => o.purchaseOrderId), [pos[3]]);
  assert.equal((await api.get('/v3/orders/000')).status, 404);
});

test('/v3/returns lists returnOrderLines whose status moves from INITIATED to COMPLETED', async () => {
  const a = await sim.account({ channel: 'walmart', stock: { A: 5 }, limits: 'unlimited', report_ms: 300 });
  const api = await wm(a);
  const o = await sim.ctl.post(`/_sim/accounts/${a.id}/orders`, { sku: 'A', quantity: 2 });
  await sim.ctl.post(`/_sim/accounts/${a.id}/orders/${o.json.id}/fulfill`, {});
  assert.equal((await sim.ctl.post(`/_sim/accounts/${a.id}/orders/${o.json.id}/return`, { quantity: 1, reason: 'DAMAGED' })).status, 200);
  const r = await api.get('/v3/returns');
  assert.equal(r.status, 200);
  assert.equal(r.json.returnOrders.length, 1);
  const ret = r.json.returnOrders[0];
  assert.equal(ret.customerOrderId, o.json.name);
  const line = ret.returnOrderLines[0];
  assert.equal(line.purchaseOrderId, o.json.id);
  assert.equal(line.item.sku, 'A');
  assert.equal(line.quantity.measurementValue, 1);
  assert.equal(line.returnReason, 'DAMAGED');
  assert.equal(line.status, 'INITIATED');
  await waitFor(async () => (await api.get('/v3/returns?status=COMPLETED')).json.returnOrders.length === 1, { what: 'the return to complete', timeout: 3000 });
  assert.equal((await api.get('/v3/inventory?sku=A')).json.quantity.amount, 3, 'returns do not restock on their own');
});
