// sim_amazon.test.mjs — the Amazon SP-API simulator: LWA tokens and their expiry,
// per-operation token buckets, PATCH accepted now and applied later, the
// JSON_LISTINGS_FEED lifecycle through a presigned URL, Orders v0 polling with
// NextToken, and returns through the Reports API.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSim, call, waitFor } from './lib/sim.mjs';
import { sleep } from './lib/stack.mjs';

let sim;
before(async () => { sim = await startSim(); });
after(async () => { await sim?.stop(); });

async function lwa(acct, overrides = {}) {
  const body = new URLSearchParams({
    grant_type: 'refresh_token',
    refresh_token: acct.credentials.refresh_token,
    client_id: acct.credentials.client_id,
    client_secret: acct.credentials.client_secret,
    ...overrides,
  });
  return call(acct.credentials.token_url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: body.toString() });
}

async function sp(acct) {
  const t = await lwa(acct);
  assert.equal(t.status, 200, t.text);
  const token = t.json.access_token;
  const h = (extra = {}) => ({ 'x-amz-access-token': token, 'content-type': 'application/json', ...extra });
  const mp = acct.credentials.marketplace_id;
  const listing = (sku) => `${acct.base_url}/listings/2021-08-01/items/${acct.credentials.seller_id}/${encodeURIComponent(sku)}?marketplaceIds=${mp}`;
  return {
    token,
    get: (path) => call(`${acct.base_url}${path}`, { headers: h() }),
    post: (path, body) => call(`${acct.base_url}${path}`, { method: 'POST', headers: h(), body: JSON.stringify(body) }),
    patch: (sku, quantity) => call(listing(sku), {
      method: 'PATCH', headers: h(),
      body: JSON.stringify({ productType: 'PRODUCT', patches: [{ op: 'replace', path: '/attributes/fulfillment_availability',
        value: [{ fulfillment_channel_code: 'DEFAULT', quantity }] }] }),
    }),
    quantity: async (sku) => {
      const r = await call(`${listing(sku)}&includedData=summaries,fulfillmentAvailability`, { headers: h() });
      assert.equal(r.status, 200, r.text);
      return r.json.fulfillmentAvailability[0].quantity;
    },
  };
}

test('LWA exchanges the refresh token for a bearer token; bad grants and clients are refused', async () => {
  const a = await sim.account({ channel: 'amazon', stock: { A: 1 } });
  const ok = await lwa(a);
  assert.equal(ok.status, 200);
  assert.match(ok.json.access_token, /^Atza\|/);
  assert.equal(ok.json.token_type, 'bearer');
  assert.equal(ok.json.expires_in, 3600);
  const grant = await lwa(a, { refresh_token: 'Atzr|nope' });
  assert.equal(grant.status, 400);
  assert.equal(grant.json.error, 'invalid_grant');
  const client = await lwa(a, { client_secret: 'wrong' });
  assert.equal(client.status, 401);
  assert.equal(client.json.error, 'invalid_client');
  const type = await lwa(a, { grant_type: 'password' });
  assert.equal(type.status, 400);
  assert.equal(type.json.error, 'unsupported_grant_type');
});

test('calls without a valid x-amz-access-token get 403 Unauthorized, expired tokens too', async () => {
  const a = await sim.account({ channel: 'amazon', stock: { A: 1 }, token_ttl_s: 1 });
  const url = `${a.base_url}/listings/2021-08-01/items/${a.credentials.seller_id}/A?marketplaceIds=${a.credentials.marketplace_id}`;
  const missing = await call(url);
  assert.equal(missing.status, 403);
  assert.equal(missing.json.errors[0].code, 'Unauthorized');
  assert.equal(missing.json.errors[0].message, 'Access to requested resource is denied.');
  assert.equal((await call(url, { headers: { 'x-amz-access-token': 'Atza|forged' } })).status, 403);
  const api = await sp(a);
  assert.equal((await api.get(`/listings/2021-08-01/items/${a.credentials.seller_id}/A?marketplaceIds=${a.credentials.marketplace_id}`)).status, 200);
  await sleep(1200);
  const expired = await call(url, { headers: { 'x-amz-access-token': api.token } });
  assert.equal(expired.status, 403);
  assert.match(expired.json.errors[0].details, /expired/);
  const other = await sim.account({ channel: 'amazon', stock: { A: 1 } });
  const otherApi = await sp(other);
  const cross = await call(url, { headers: { 'x-amz-access-token': otherApi.token } });
  assert.equal(cross.status, 403, 'a token of one seller does not open another seller\'s listings');
});

test('patchListingsItem answers ACCEPTED at once and the quantity shows after the apply delay', async () => {
  const a = await sim.account({ channel: 'amazon', stock: { 'SKU/1': 7 }, apply_delay_ms: 400 });
  const api = await sp(a);
  const r = await api.patch('SKU/1', 3);
  assert.equal(r.status, 200);
  assert.equal(r.json.status, 'ACCEPTED');
  assert.equal(r.json.sku, 'SKU/1');
  assert.deepEqual(r.json.issues, []);
  assert.ok(r.json.submissionId);
  assert.equal(await api.quantity('SKU/1'), 7, 'not applied yet');
  // Two quick patches apply in order: the last one wins.
  await api.patch('SKU/1', 5);
  await waitFor(async () => (await api.quantity('SKU/1')) === 5, { what: 'the delayed apply', timeout: 3000 });
  const listing = await api.get(`/listings/2021-08-01/items/${a.credentials.seller_id}/SKU%2F1?marketplaceIds=${a.credentials.marketplace_id}&includedData=summaries,attributes,fulfillmentAvailability`);
  assert.deepEqual(listing.json.summaries[0].status, ['BUYABLE', 'DISCOVERABLE']);
  assert.equal(listing.json.attributes.fulfillment_availability[0].quantity, 5);
  const bad = await api.patch('SKU/1', -1);
  assert.equal(bad.json.status, 'INVALID');
  assert.equal(bad.json.issues[0].severity, 'ERROR');
  const unknown = await api.patch('NOPE', 1);
  assert.equal(unknown.json.status, 'INVALID');
  const log = await sim.requests({ account: a.id, path: '/listings/' });
  const writes = log.requests.filter((x) => x.method === 'PATCH' && x.writes).map((x) => x.writes);
  assert.deepEqual(writes, [{ 'SKU/1': 3 }, { 'SKU/1': 5 }]);
});

test('per-operation token buckets return 429 QuotaExceeded with x-amzn-RateLimit-Limit, then refill', async () => {
  const a = await sim.account({ channel: 'amazon', stock: { A: 1 }, apply_delay_ms: 0 });
  const api = await sp(a);
  for (let i = 0; i < 5; i++) {
    const r = await api.patch('A', i);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('x-amzn-ratelimit-limit'), '5.0');
  }
  const over = await api.patch('A', 9);
  assert.equal(over.status, 429);
  assert.deepEqual(over.json.errors[0].code, 'QuotaExceeded');
  assert.equal(over.json.errors[0].message, 'You exceeded your quota for the requested resource.');
  assert.equal(over.headers.get('x-amzn-ratelimit-limit'), '5.0');
  assert.ok(over.headers.get('x-amzn-requestid'));
  assert.equal(await api.quantity('A'), 4, 'the throttled patch was not accepted');
  await sleep(250);
  assert.equal((await api.patch('A', 9)).status, 200, 'a token came back after 1/rate seconds');
  // getOrders has its own bucket: burst 20 at one per minute.
  for (let i = 0; i < 20; i++) assert.equal((await api.get(`/orders/v0/orders?MarketplaceIds=${a.credentials.marketplace_id}&CreatedAfter=2020-01-01T00:00:00Z`)).status, 200);
  const orders = await api.get(`/orders/v0/orders?MarketplaceIds=${a.credentials.marketplace_id}&CreatedAfter=2020-01-01T00:00:00Z`);
  assert.equal(orders.status, 429);
  assert.equal(orders.headers.get('x-amzn-ratelimit-limit'), '0.0167');
});

test('JSON_LISTINGS_FEED: document, presigned PUT, IN_QUEUE → IN_PROGRESS → DONE, processing report', async () => {
  const a = await sim.account({ channel: 'amazon', stock: { A: 1, B: 2 }, feed_queue_ms: 300, feed_process_ms: 300 });
  const api = await sp(a);
  const doc = await api.post('/feeds/2021-06-30/documents', { contentType: 'application/json; charset=UTF-8' });
  assert.equal(doc.status, 201);
  assert.ok(doc.json.url.startsWith(`${sim.url}/amazon/_s3/`));
  const feed = {
    header: { sellerId: a.credentials.seller_id, version: '2.0', issueLocale: 'en_US' },
    messages: [
      { messageId: 1, sku: 'A', operationType: 'PATCH', productType: 'PRODUCT',
        patches: [{ op: 'replace', path: '/attributes/fulfillment_availability', value: [{ fulfillment_channel_code: 'DEFAULT', quantity: 10 }] }] },
      { messageId: 2, sku: 'B', operationType: 'PARTIAL_UPDATE', productType: 'PRODUCT',
        attributes: { fulfillment_availability: [{ fulfillment_channel_code: 'DEFAULT', quantity: 0 }] } },
      { messageId: 3, sku: 'MISSING', operationType: 'PATCH', productType: 'PRODUCT',
        patches: [{ op: 'replace', path: '/attributes/fulfillment_availability', value: [{ fulfillment_channel_code: 'DEFAULT', quantity: 4 }] }] },
    ],
  };
  const forged = await call(doc.json.url.replace(/X-Amz-Signature=[0-9a-f]+/, 'X-Amz-Signature=00'), { method: 'PUT', body: '{}' });
  assert.equal(forged.status, 403);
  const put = await call(doc.json.url, { method: 'PUT', headers: { 'content-type': 'application/json; charset=UTF-8' }, body: JSON.stringify(feed) });
  assert.equal(put.status, 200);
  const created = await api.post('/feeds/2021-06-30/feeds', { feedType: 'JSON_LISTINGS_FEED', marketplaceIds: [a.credentials.marketplace_id], inputFeedDocumentId: doc.json.feedDocumentId });
  assert.equal(created.status, 202);
  const id = created.json.feedId;
  const statuses = [];
  let last;
  // getFeed refills at 2/s with a burst of 15: poll at a pace the real API allows.
  await waitFor(async () => {
    last = await api.get(`/feeds/2021-06-30/feeds/${id}`);
    assert.equal(last.status, 200, last.text);
    if (statuses[statuses.length - 1] !== last.json.processingStatus) statuses.push(last.json.processingStatus);
    return last.json.processingStatus === 'DONE';
  }, { what: 'the feed to finish', timeout: 5000, interval: 100 });
  assert.deepEqual(statuses, ['IN_QUEUE', 'IN_PROGRESS', 'DONE']);
  assert.ok(last.json.processingEndTime);
  assert.equal(await api.quantity('A'), 10);
  assert.equal(await api.quantity('B'), 0);
  const resultDoc = await api.get(`/feeds/2021-06-30/documents/${last.json.resultFeedDocumentId}`);
  assert.equal(resultDoc.status, 200);
  const report = await call(resultDoc.json.url);
  assert.equal(report.status, 200);
  assert.equal(report.json.header.feedId, id);
  assert.deepEqual(report.json.summary, { errors: 1, warnings: 0, messagesProcessed: 3, messagesAccepted: 2, messagesInvalid: 1 });
  assert.equal(report.json.issues[0].messageId, 3);
  const log = await sim.requests({ account: a.id, path: '/feeds/2021-06-30/feeds' });
  assert.deepEqual(log.requests.find((x) => x.method === 'POST').writes, { A: 10, B: 0, MISSING: 4 });
});

test('Orders v0: CreatedAfter/LastUpdatedAfter, NextToken pages, Pending → Unshipped, Canceled, order items', async () => {
  const a = await sim.account({ channel: 'amazon', stock: { A: 10, B: 20 }, limits: 'unlimited', pending_ms: 300 });
  const api = await sp(a);
  const mp = a.credentials.marketplace_id;
  const start = new Date(Date.now() - 1000).toISOString();
  const ids = [];
  for (let i = 0; i < 5; i++) {
    const o = await sim.ctl.post(`/_sim/accounts/${a.id}/orders`, { lines: [{ sku: 'A', quantity: 1 }, { sku: 'B', quantity: 2 }] });
    assert.equal(o.status, 201, o.text);
    ids.push(o.json.id);
  }
  const first = await api.get(`/orders/v0/orders?MarketplaceIds=${mp}&CreatedAfter=${encodeURIComponent(start)}`);
  assert.equal(first.status, 200, first.text);
  assert.equal(first.headers.get('x-amzn-ratelimit-limit'), null, 'unlimited: no rate announced');
  const bad = await api.get(`/orders/v0/orders?MarketplaceIds=${mp}`);
  assert.equal(bad.status, 400);
  assert.equal(bad.json.errors[0].code, 'InvalidInput');
  const seen = [];
  let url = `/orders/v0/orders?MarketplaceIds=${mp}&CreatedAfter=${encodeURIComponent(start)}&MaxResultsPerPage=2`;
  let pages = 0;
  for (;;) {
    const r = await api.get(url);
    assert.equal(r.status, 200, r.text);
    pages++;
    for (const o of r.json.payload.Orders) {
      seen.push(o.AmazonOrderId);
      assert.match(o.AmazonOrderId, /^\d{3}-\d{7}-\d{7}$/);
      assert.equal(o.OrderStatus, 'Pending');
      assert.equal(o.FulfillmentChannel, 'MFN');
      assert.equal(o.NumberOfItemsUnshipped, 3);
    }
    assert.ok(r.json.payload.CreatedBefore);
    if (!r.json.payload.NextToken) break;
    url = `/orders/v0/orders?MarketplaceIds=${mp}&NextToken=${encodeURIComponent(r.json.payload.NextToken)}`;
  }
  assert.equal(pages, 3);
  assert.deepEqual(seen, ids);
  const items = await api.get(`/orders/v0/orders/${ids[0]}/orderItems`);
  assert.equal(items.json.payload.AmazonOrderId, ids[0]);
  assert.deepEqual(items.json.payload.OrderItems.map((i) => [i.SellerSKU, i.QuantityOrdered]), [['A', 1], ['B', 2]]);
  assert.equal(await api.quantity('A'), 5);

  await waitFor(async () => {
    const r = await api.get(`/orders/v0/orders?MarketplaceIds=${mp}&CreatedAfter=${encodeURIComponent(start)}`);
    return r.json.payload.Orders.every((o) => o.OrderStatus === 'Unshipped');
  }, { what: 'Pending orders to become Unshipped', timeout: 3000 });
  const mark = new Date().toISOString();
  await sleep(20);
  assert.equal((await sim.ctl.post(`/_sim/accounts/${a.id}/orders/${ids[1]}/cancel`, {})).status, 200);
  const changed = await api.get(`/orders/v0/orders?MarketplaceIds=${mp}&LastUpdatedAfter=${encodeURIComponent(mark)}`);
  assert.deepEqual(changed.json.payload.Orders.map((o) => [o.AmazonOrderId, o.OrderStatus]), [[ids[1], 'Canceled']]);
  assert.ok(changed.json.payload.LastUpdatedBefore);
  assert.equal(await api.quantity('A'), 6, 'a cancellation gives the unit back');
  const canceled = await api.get(`/orders/v0/orders?MarketplaceIds=${mp}&CreatedAfter=${encodeURIComponent(start)}&OrderStatuses=Canceled`);
  assert.equal(canceled.json.payload.Orders.length, 1);
  const notes = await sim.ctl.get(`/_sim/accounts/${a.id}/notifications`);
  assert.ok(notes.json.notifications.some((n) => n.NotificationType === 'ORDER_CHANGE' && n.Payload.OrderChangeNotification.AmazonOrderId === ids[1] &&
    n.Payload.OrderChangeNotification.Summary.OrderStatus === 'Canceled'));
});

test('returns come through the Reports API as tab-separated rows', async () => {
  const a = await sim.account({ channel: 'amazon', stock: { A: 10 }, limits: 'unlimited', report_ms: 200, pending_ms: 0 });
  const api = await sp(a);
  const o = await sim.ctl.post(`/_sim/accounts/${a.id}/orders`, { sku: 'A', quantity: 3 });
  assert.equal((await sim.ctl.post(`/_sim/accounts/${a.id}/orders/${o.json.id}/return`, {})).status, 409, 'unshipped units cannot be returned');
  assert.equal((await sim.ctl.post(`/_sim/accounts/${a.id}/orders/${o.json.id}/fulfill`, {})).status, 200);
  assert.equal((await sim.ctl.post(`/_sim/accounts/${a.id}/orders/${o.json.id}/return`, { quantity: 2, reason: 'DEFECTIVE' })).status, 200);
  const rep = await api.post('/reports/2021-06-30/reports', { reportType: 'GET_FLAT_FILE_RETURNS_DATA_BY_RETURN_DATE', marketplaceIds: [a.credentials.marketplace_id],
    dataStartTime: new Date(Date.now() - 3600000).toISOString() });
  assert.equal(rep.status, 202);
  const done = await waitFor(async () => { const r = await api.get(`/reports/2021-06-30/reports/${rep.json.reportId}`); return r.json.processingStatus === 'DONE' && r.json; },
    { what: 'the report', timeout: 3000 });
  const doc = await api.get(`/reports/2021-06-30/documents/${done.reportDocumentId}`);
  assert.equal(doc.json.reportDocumentId, done.reportDocumentId);
  const tsv = await call(doc.json.url);
  const [header, ...rows] = tsv.text.trim().split('\n').map((l) => l.split('\t'));
  const col = (name) => header.indexOf(name);
  assert.equal(rows.length, 1);
  assert.equal(rows[0][col('Order ID')], o.json.id);
  assert.equal(rows[0][col('Merchant SKU')], 'A');
  assert.equal(rows[0][col('Return quantity')], '2');
  assert.equal(rows[0][col('Return reason')], 'DEFECTIVE');
  assert.ok(rows[0][col('Return request status')]);
  const stock = await sim.ctl.get(`/_sim/accounts/${a.id}/stock`);
  assert.equal(stock.json.stock.A, 7, 'seller-fulfilled returns do not restock on their own');
});
