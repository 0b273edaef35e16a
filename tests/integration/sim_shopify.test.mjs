// sim_shopify.test.mjs — the Shopify simulator: access tokens and their expiry,
// the REST leaky bucket and the GraphQL cost bucket, inventorySetQuantities with
// changeFromQuantity (CAS) and @idempotent, reads, REST inventory and orders with
// Link pagination, and signed webhooks with duplicates and retries.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { startSim, startReceiver, call, waitFor } from './lib/sim.mjs';
import { sleep } from './lib/stack.mjs';

let sim;
before(async () => { sim = await startSim(); });
after(async () => { await sim?.stop(); });

const SET = `mutation Set($input: InventorySetQuantitiesInput!, $key: String!) {
  inventorySetQuantities(input: $input) @idempotent(key: $key) {
    inventoryAdjustmentGroup { reason referenceDocumentUri changes { name delta quantityAfterChange item { id } } }
    userErrors { code field message }
  }
}`;

function shop(acct, version = '2026-01') {
  const base = `${acct.base_url}/admin/api/${version}`;
  const headers = { 'x-shopify-access-token': acct.credentials.access_token, 'content-type': 'application/json' };
  return {
    base,
    gql: (query, variables, extra = {}) =>
      call(`${base}/graphql.json`, { method: 'POST', headers: { ...headers, ...extra }, body: JSON.stringify({ query, variables }) }),
    get: (path, extra = {}) => call(`${base}/${path}`, { headers: { ...headers, ...extra } }),
    post: (path, body, extra = {}) => call(`${base}/${path}`, { method: 'POST', headers: { ...headers, ...extra }, body: JSON.stringify(body) }),
  };
}

const row = (sku, quantity, changeFromQuantity) => {
  const r = { inventoryItemId: sku.inventory_item_gid, locationId: sku.location_gid, quantity };
  if (changeFromQuantity !== undefined) r.changeFromQuantity = changeFromQuantity;
  return r;
};

async function available(acct, sku) {
  const r = await sim.ctl.get(`/_sim/accounts/${acct.id}/stock`);
  return r.json.stock[sku];
}

test('wrong, missing and unknown credentials are refused the Shopify way', async () => {
  const a = await sim.account({ channel: 'shopify', name: 'auth-shop', stock: { A: 1 } });
  const url = `${a.base_url}/admin/api/2026-01/inventory_levels.json?inventory_item_ids=${a.skus[0].inventory_item_id}`;
  const missing = await call(url);
  assert.equal(missing.status, 401);
  assert.match(missing.json.errors, /Invalid API key or access token/);
  assert.equal((await call(url, { headers: { 'x-shopify-access-token': 'shpat_nope' } })).status, 401);
  const ok = await call(url, { headers: { 'x-shopify-access-token': a.credentials.access_token } });
  assert.equal(ok.status, 200);
  assert.equal(ok.json.inventory_levels[0].available, 1);
  // another shop's token does not open this shop
  const b = await sim.account({ channel: 'shopify', name: 'auth-other', stock: { A: 1 } });
  assert.equal((await call(url, { headers: { 'x-shopify-access-token': b.credentials.access_token } })).status, 401);
  assert.equal((await call(`${sim.url}/shopify/no-such-shop/admin/api/2026-01/shop.json`)).status, 404);
  assert.equal((await call(url.replace('2026-01', '2026-02'), { headers: { 'x-shopify-access-token': a.credentials.access_token } })).status, 404);
});

test('expiring offline tokens expire, refresh with rotation, and client credentials mint short tokens', async () => {
  const a = await sim.account({ channel: 'shopify', name: 'expiring', token_mode: 'expiring', token_ttl_s: 1, stock: { A: 1 } });
  assert.ok(a.credentials.refresh_token.startsWith('shprt_'));
  const s = shop(a);
  assert.equal((await s.get('shop.json')).status, 200);
  await sleep(1200);
  assert.equal((await s.get('shop.json')).status, 401, 'the token expired after token_ttl_s');

  const tokenUrl = `${a.base_url}/admin/oauth/access_token`;
  const form = (o) => ({ method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(o).toString() });
  const creds = { client_id: a.credentials.client_id, client_secret: a.credentials.client_secret };
  const bad = await call(tokenUrl, form({ ...creds, client_secret: 'wrong', grant_type: 'client_credentials' }));
  assert.equal(bad.status, 400);
  assert.equal(bad.json.error, 'invalid_client');

  const r1 = await call(tokenUrl, form({ ...creds, grant_type: 'refresh_token', refresh_token: a.credentials.refresh_token }));
  assert.equal(r1.status, 200, r1.text);
  assert.equal(r1.json.expires_in, 1);
  assert.notEqual(r1.json.refresh_token, a.credentials.refresh_token, 'refreshing rotates the refresh token');
  const fresh = shop({ ...a, credentials: { access_token: r1.json.access_token } });
  assert.equal((await fresh.get('shop.json')).status, 200);
  // the previous refresh token still works until the new one is used…
  const r2 = await call(tokenUrl, form({ ...creds, grant_type: 'refresh_token', refresh_token: a.credentials.refresh_token }));
  assert.equal(r2.status, 200);
  // …then using the newest retires the old one
  const r3 = await call(tokenUrl, form({ ...creds, grant_type: 'refresh_token', refresh_token: r2.json.refresh_token }));
  assert.equal(r3.status, 200);
  const r4 = await call(tokenUrl, form({ ...creds, grant_type: 'refresh_token', refresh_token: a.credentials.refresh_token }));
  assert.equal(r4.status, 400);
  assert.equal(r4.json.error, 'invalid_grant');

  const cc = await call(tokenUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...creds, grant_type: 'client_credentials' }) });
  assert.equal(cc.status, 200);
  assert.ok(cc.json.access_token.startsWith('shpat_'));
  assert.match(cc.json.scope, /write_inventory/);

  const code = await sim.ctl.post(`/_sim/accounts/${a.id}/auth_code`, {});
  const ac = await call(tokenUrl, form({ ...creds, code: code.json.code }));
  assert.equal(ac.status, 200);
  assert.ok(ac.json.refresh_token);
  assert.equal((await call(tokenUrl, form({ ...creds, code: code.json.code }))).status, 400, 'codes are single-use');
});

test('inventorySetQuantities applies, and a stale changeFromQuantity applies nothing', async () => {
  const a = await sim.account({ channel: 'shopify', name: 'cas-shop', stock: { A: 5, B: 7 }, limits: 'unlimited' });
  const [A, B] = a.skus;
  const s = shop(a);
  const ok = await s.gql(SET, { key: 'k-apply', input: { name: 'available', reason: 'correction', referenceDocumentUri: 'gid://onecount/Sync/1', quantities: [row(A, 12, 5)] } });
  assert.equal(ok.status, 200);
  const res = ok.json.data.inventorySetQuantities;
  assert.deepEqual(res.userErrors, []);
  assert.equal(res.inventoryAdjustmentGroup.reason, 'correction');
  assert.equal(res.inventoryAdjustmentGroup.referenceDocumentUri, 'gid://onecount/Sync/1');
  const avail = res.inventoryAdjustmentGroup.changes.find((c) => c.name === 'available');
  assert.deepEqual(avail, { name: 'available', delta: 7, quantityAfterChange: 12, item: { id: A.inventory_item_gid } });
  assert.equal(await available(a, 'A'), 12);
  assert.equal(ok.json.extensions.cost.requestedQueryCost, 11);

  // Two rows, one stale: HTTP 200, a userError on the stale row, and neither row applied.
  const stale = await s.gql(SET, { key: 'k-stale', input: { name: 'available', reason: 'correction', quantities: [row(B, 1, 7), row(A, 3, 5)] } });
  assert.equal(stale.status, 200);
  const st = stale.json.data.inventorySetQuantities;
  assert.equal(st.inventoryAdjustmentGroup, null);
  assert.equal(st.userErrors.length, 1);
  assert.equal(st.userErrors[0].code, 'CHANGE_FROM_QUANTITY_STALE');
  assert.deepEqual(st.userErrors[0].field, ['input', 'quantities', '1', 'changeFromQuantity']);
  assert.equal(await available(a, 'A'), 12);
  assert.equal(await available(a, 'B'), 7);

  // changeFromQuantity: null skips the check; inline literals work as well as variables.
  const inline = await s.gql(`mutation { inventorySetQuantities(input: {name: "available", reason: "correction",
      quantities: [{inventoryItemId: "${B.inventory_item_gid}", locationId: "${B.location_gid}", quantity: 2, changeFromQuantity: null}]})
      @idempotent(key: "k-inline") { userErrors { code } alias: inventoryAdjustmentGroup { changes { name quantityAfterChange } } } }`);
  assert.deepEqual(inline.json.data.inventorySetQuantities.userErrors, []);
  assert.equal(inline.json.data.inventorySetQuantities.alias.changes[0].quantityAfterChange, 2);
  assert.equal(await available(a, 'B'), 2);
});

test('@idempotent replays the original result and rejects the same key with other parameters', async () => {
  const a = await sim.account({ channel: 'shopify', name: 'idem-shop', stock: { A: 5 }, limits: 'unlimited' });
  const [A] = a.skus;
  const s = shop(a);
  const input = { name: 'available', reason: 'correction', quantities: [row(A, 9, 5)] };
  const first = await s.gql(SET, { key: 'same-key', input });
  assert.deepEqual(first.json.data.inventorySetQuantities.userErrors, []);
  // A merchant edits the stock on the channel; a retry of the same request must not apply again.
  await sim.ctl.put(`/_sim/accounts/${a.id}/stock`, { A: 4 });
  const replay = await s.gql(SET, { key: 'same-key', input });
  assert.deepEqual(replay.json.data, first.json.data, 'the original result comes back');
  assert.equal(await available(a, 'A'), 4, 'a replay applies nothing');
  const other = await s.gql(SET, { key: 'same-key', input: { ...input, quantities: [row(A, 8, 4)] } });
  const o = other.json.data.inventorySetQuantities;
  assert.equal(o.inventoryAdjustmentGroup, null);
  assert.equal(o.userErrors[0].code, 'IDEMPOTENCY_KEY_PARAMETER_MISMATCH');
  assert.equal(await available(a, 'A'), 4);
});

test('reasons, names, items and version rules are validated', async () => {
  const a = await sim.account({ channel: 'shopify', name: 'valid-shop', stock: { A: 5 }, limits: 'unlimited' });
  const [A] = a.skus;
  const s = shop(a);
  const badReason = await s.gql(SET, { key: 'v1', input: { name: 'available', reason: 'because', quantities: [row(A, 1, 5)] } });
  assert.equal(badReason.json.data.inventorySetQuantities.userErrors[0].code, 'INVALID_REASON');
  const badName = await s.gql(SET, { key: 'v2', input: { name: 'committed', reason: 'correction', quantities: [row(A, 1, 5)] } });
  assert.equal(badName.json.data.inventorySetQuantities.userErrors[0].code, 'INVALID_NAME');
  const badItem = await s.gql(SET, { key: 'v3', input: { name: 'available', reason: 'correction', quantities: [{ ...row(A, 1, 5), inventoryItemId: 'gid://shopify/InventoryItem/1' }] } });
  assert.equal(badItem.json.data.inventorySetQuantities.userErrors[0].code, 'INVALID_INVENTORY_ITEM');
  const neg = await s.gql(SET, { key: 'v4', input: { name: 'available', reason: 'correction', quantities: [row(A, -1, 5)] } });
  assert.equal(neg.json.data.inventorySetQuantities.userErrors[0].code, 'INVALID_QUANTITY_NEGATIVE');
  assert.equal(await available(a, 'A'), 5);

  // 2026-04: changeFromQuantity and @idempotent are mandatory.
  const v4 = shop(a, '2026-04');
  const noCfq = await v4.gql(SET, { key: 'v5', input: { name: 'available', reason: 'correction', quantities: [row(A, 1)] } });
  assert.match(noCfq.json.errors[0].message, /changeFromQuantity/);
  assert.equal(noCfq.json.data.inventorySetQuantities, null);
  const noKey = await v4.gql(`mutation { inventorySetQuantities(input: {name: "available", reason: "correction", quantities: [{inventoryItemId: "${A.inventory_item_gid}", locationId: "${A.location_gid}", quantity: 1, changeFromQuantity: 5}]}) { userErrors { code } } }`);
  assert.match(noKey.json.errors[0].message, /@idempotent/);
  // 2025-10: compareQuantity, or ignoreCompareQuantity.
  const old = shop(a, '2025-10');
  const req = await old.gql(SET, { key: 'v6', input: { name: 'available', reason: 'correction', quantities: [row(A, 1)] } });
  assert.equal(req.json.data.inventorySetQuantities.userErrors[0].code, 'COMPARE_QUANTITY_REQUIRED');
  const cmp = await old.gql(SET, { key: 'v7', input: { name: 'available', reason: 'correction', quantities: [{ ...row(A, 1), compareQuantity: 4 }] } });
  assert.equal(cmp.json.data.inventorySetQuantities.userErrors[0].code, 'COMPARE_QUANTITY_STALE');
  // ignoreCompareQuantity belongs to the input as a whole: on a row, Shopify refuses the whole request
  // (InventoryQuantityInput has no such field) before anything runs
  const perRow = await old.gql(SET, { key: 'v8', input: { name: 'available', reason: 'correction', quantities: [{ ...row(A, 3), ignoreCompareQuantity: true }] } });
  assert.equal(perRow.status, 200);
  assert.equal(perRow.json.data, undefined, 'a request refused in validation has no data');
  assert.equal(perRow.json.errors[0].extensions.code, 'INVALID_VARIABLE');
  assert.match(perRow.json.errors[0].message, /^Variable \$input of type InventorySetQuantitiesInput! was provided invalid value for quantities\.0\.ignoreCompareQuantity \(Field is not defined on InventoryQuantityInput\)$/);
  assert.deepEqual(perRow.json.errors[0].extensions.problems[0].path, ['quantities', 0, 'ignoreCompareQuantity']);
  assert.equal(await available(a, 'A'), 5);
  const literal = await old.gql(`mutation { inventorySetQuantities(input: {name: "available", reason: "correction", quantities: [{inventoryItemId: "${A.inventory_item_gid}", locationId: "${A.location_gid}", quantity: 3, ignoreCompareQuantity: true}]}) { userErrors { code } } }`);
  assert.equal(literal.json.errors[0].extensions.code, 'argumentNotAccepted');
  assert.match(literal.json.errors[0].message, /InputObject 'InventoryQuantityInput' doesn't accept argument 'ignoreCompareQuantity'/);
  // a value of the wrong type and a missing required field are refused the same way
  const wrongType = await old.gql(SET, { key: 'v8b', input: { name: 'available', reason: 'correction', quantities: [{ ...row(A, 3), compareQuantity: '5' }] } });
  assert.match(wrongType.json.errors[0].message, /quantities\.0\.compareQuantity \(Could not coerce value to Int\)/);
  const missing = await old.gql(SET, { key: 'v8c', input: { name: 'available', quantities: [row(A, 3)], ignoreCompareQuantity: true } });
  assert.match(missing.json.errors[0].message, /for reason \(Expected value to not be null\)/);
  // changeFromQuantity does not exist before 2026-01, compareQuantity no longer in 2026-04
  const early = await old.gql(SET, { key: 'v8d', input: { name: 'available', reason: 'correction', quantities: [row(A, 3, 5)] } });
  assert.match(early.json.errors[0].message, /changeFromQuantity \(Field is not defined on InventoryQuantityInput\)/);
  const late = await v4.gql(SET, { key: 'v8e', input: { name: 'available', reason: 'correction', quantities: [{ ...row(A, 3, 5), compareQuantity: 5 }] } });
  assert.match(late.json.errors[0].message, /compareQuantity \(Field is not defined on InventoryQuantityInput\)/);
  assert.equal(await available(a, 'A'), 5);
  const ign = await old.gql(SET, { key: 'v8f', input: { name: 'available', reason: 'correction', ignoreCompareQuantity: true, quantities: [row(A, 3)] } });
  assert.deepEqual(ign.json.data.inventorySetQuantities.userErrors, []);
  assert.equal(await available(a, 'A'), 3);
  const parse = await s.gql('mutation { inventorySetQuantities(input: { ');
  assert.equal(parse.status, 200);
  assert.match(parse.json.errors[0].message, /Parse error|unterminated/);
});

test('GraphQL reads: inventoryItem levels with named quantities, and variants by SKU', async () => {
  const a = await sim.account({ channel: 'shopify', name: 'read-shop', stock: { 'RED-1': 6, 'BLUE-2': 0 }, limits: 'unlimited' });
  const [red] = a.skus;
  const s = shop(a);
  const q = await s.gql(`query Item($id: ID!) { inventoryItem(id: $id) { id sku inventoryLevels(first: 5) { nodes { location { id }
      quantities(names: ["on_hand", "available"]) { name quantity } } } } }`, { id: red.inventory_item_gid });
  const item = q.json.data.inventoryItem;
  assert.equal(item.sku, 'RED-1');
  assert.deepEqual(item.inventoryLevels.nodes[0], { location: { id: red.location_gid }, quantities: [{ name: 'on_hand', quantity: 6 }, { name: 'available', quantity: 6 }] });
  // unlimited: the query's cost, and no bucket to announce
  assert.ok(q.json.extensions.cost.requestedQueryCost > 0);
  assert.equal(q.json.extensions.cost.throttleStatus, undefined);
  const v = await s.gql('{ productVariants(first: 1, query: "sku:BLUE-2") { nodes { sku inventoryItem { id } } pageInfo { hasNextPage } } }');
  assert.deepEqual(v.json.data.productVariants, { nodes: [{ sku: 'BLUE-2', inventoryItem: { id: a.skus[1].inventory_item_gid } }], pageInfo: { hasNextPage: false } });
  const all = await s.gql('{ inventoryItems(first: 1) { edges { cursor node { sku } } pageInfo { hasNextPage endCursor } } }');
  assert.equal(all.json.data.inventoryItems.pageInfo.hasNextPage, true);
  const next = await s.gql('query($after: String) { inventoryItems(first: 1, after: $after) { nodes { sku } pageInfo { hasNextPage } } }', { after: all.json.data.inventoryItems.pageInfo.endCursor });
  assert.deepEqual(next.json.data.inventoryItems, { nodes: [{ sku: 'BLUE-2' }], pageInfo: { hasNextPage: false } });
});

test('the GraphQL cost bucket throttles with THROTTLED and extensions.cost, then restores', async () => {
  const a = await sim.account({ channel: 'shopify', name: 'gql-limit', stock: { A: 5 }, limits: { graphql: { burst: 30, rate: 20 } } });
  const [A] = a.skus;
  const s = shop(a);
  const input = (q) => ({ name: 'available', reason: 'correction', quantities: [row(A, q, null)] });
  const r1 = await s.gql(SET, { key: 'g1', input: input(1) });
  const r2 = await s.gql(SET, { key: 'g2', input: input(2) });
  assert.equal(r1.json.extensions.cost.throttleStatus.maximumAvailable, 30);
  assert.ok(r2.json.extensions.cost.throttleStatus.currentlyAvailable < 11);
  const r3 = await s.gql(SET, { key: 'g3', input: input(3) });
  assert.equal(r3.json.errors[0].extensions.code, 'THROTTLED');
  assert.equal(r3.json.extensions.cost.actualQueryCost, null);
  assert.equal(r3.json.extensions.cost.requestedQueryCost, 11);
  assert.equal(r3.json.extensions.cost.throttleStatus.restoreRate, 20);
  assert.equal(await available(a, 'A'), 2, 'a throttled mutation applies nothing');
  await sleep(600);
  const r4 = await s.gql(SET, { key: 'g3', input: input(3) });
  assert.deepEqual(r4.json.data.inventorySetQuantities.userErrors, []);
  assert.equal(await available(a, 'A'), 3);
});

test('the REST leaky bucket: 40 @ 2/s with X-Shopify-Shop-Api-Call-Limit, then 429 and Retry-After', async () => {
  const a = await sim.account({ channel: 'shopify', name: 'rest-limit', stock: { A: 5 } });
  const s = shop(a);
  const seen = [];
  for (let i = 0; i < 40; i++) {
    const r = await s.get('shop.json');
    assert.equal(r.status, 200);
    seen.push(r.headers.get('x-shopify-shop-api-call-limit'));
  }
  assert.equal(seen[0], '1/40');
  assert.match(seen[39], /^(39|40)\/40$/);
  const over = await s.get('shop.json');
  assert.equal(over.status, 429);
  assert.ok(Number(over.headers.get('retry-after')) > 0);
  assert.equal(over.headers.get('x-shopify-shop-api-call-limit'), '40/40');
  assert.match(over.json.errors, /Exceeded 2 calls per second/);
  await sleep(Number(over.headers.get('retry-after')) * 1000 + 100);
  assert.equal((await s.get('shop.json')).status, 200, 'the bucket leaks and lets requests through again');
});

test('REST inventory_levels set/adjust and Link-paginated listing', async () => {
  const a = await sim.account({ channel: 'shopify', name: 'rest-shop', stock: { A: 1, B: 2, C: 3 }, limits: 'unlimited' });
  const s = shop(a);
  const [A, B, C] = a.skus;
  const set = await s.post('inventory_levels/set.json', { location_id: A.location_id, inventory_item_id: A.inventory_item_id, available: 42 });
  assert.equal(set.status, 200);
  assert.equal(set.json.inventory_level.available, 42);
  assert.equal(set.headers.get('x-shopify-shop-api-call-limit'), null, 'unlimited: no call limit announced');
  const adj = await s.post('inventory_levels/adjust.json', { location_id: B.location_id, inventory_item_id: B.inventory_item_id, available_adjustment: -2 });
  assert.equal(adj.json.inventory_level.available, 0);
  const wrongLoc = await s.post('inventory_levels/set.json', { location_id: 1, inventory_item_id: A.inventory_item_id, available: 1 });
  assert.equal(wrongLoc.status, 422);
  const ids = [A, B, C].map((x) => x.inventory_item_id).join(',');
  const seen = [];
  let url = `${s.base}/inventory_levels.json?inventory_item_ids=${ids}&limit=2`;
  for (let page = 0; url && page < 5; page++) {
    const r = await call(url, { headers: { 'x-shopify-access-token': a.credentials.access_token } });
    assert.equal(r.status, 200);
    seen.push(...r.json.inventory_levels.map((l) => [l.inventory_item_id, l.available]));
    const m = /<([^>]+)>; rel="next"/.exec(r.headers.get('link') || '');
    url = m && m[1];
  }
  assert.deepEqual(seen, [[A.inventory_item_id, 42], [B.inventory_item_id, 0], [C.inventory_item_id, 3]]);
  const log = await sim.requests({ account: a.id, path: 'inventory_levels/set.json' });
  assert.deepEqual(log.requests.map((x) => [x.method, x.status, x.op, x.writes]),
    [['POST', 200, 'inventoryLevelsSet', { A: 42 }], ['POST', 422, 'inventoryLevelsSet', undefined]]);
});

test('orders.json polls by updated_at_min with page_info Link pagination', async () => {
  const a = await sim.account({ channel: 'shopify', name: 'orders-shop', stock: { A: 10 }, limits: 'unlimited' });
  const t0 = new Date(Date.now() - 2000).toISOString();
  for (let i = 0; i < 5; i++) assert.equal((await sim.ctl.post(`/_sim/accounts/${a.id}/orders`, { sku: 'A', quantity: 1 })).status, 201);
  const s = shop(a);
  const ids = [];
  let url = `${s.base}/orders.json?status=any&updated_at_min=${encodeURIComponent(t0)}&limit=2`;
  let pages = 0;
  while (url && pages < 10) {
    const r = await call(url, { headers: { 'x-shopify-access-token': a.credentials.access_token } });
    assert.equal(r.status, 200, r.text);
    for (const o of r.json.orders) {
      ids.push(o.id);
      assert.equal(o.line_items[0].sku, 'A');
      assert.equal(o.financial_status, 'paid');
      assert.equal(o.fulfillment_status, null);
      assert.match(o.name, /^#\d+$/);
    }
    const m = /<([^>]+)>; rel="next"/.exec(r.headers.get('link') || '');
    url = m && m[1];
    pages++;
  }
  assert.equal(pages, 3);
  assert.equal(new Set(ids).size, 5);
  assert.equal(await available(a, 'A'), 5, 'each order took a unit from available');
  const future = await s.get(`orders.json?status=any&updated_at_min=${encodeURIComponent(new Date(Date.now() + 60000).toISOString())}`);
  assert.deepEqual(future.json.orders, []);
});

test('webhooks are signed, duplicated with one event id, retried on failure, and cover the order lifecycle', async () => {
  let failFirst = 2;
  const rx = await startReceiver((d) => {
    if (d.headers['x-shopify-topic'] === 'orders/fulfilled' && failFirst > 0) { failFirst--; return 500; }
    return 200;
  });
  try {
    const a = await sim.account({ channel: 'shopify', name: 'hook-shop', stock: { A: 3 },
      webhook: { url: rx.url, duplicates: 1, retry_base_ms: 50, max_attempts: 4 } });
    const o = await sim.ctl.post(`/_sim/accounts/${a.id}/orders`, { sku: 'A', quantity: 2 });
    assert.equal(o.status, 201);
    const creates = await rx.wait((ds) => { const c = ds.filter((d) => d.headers['x-shopify-topic'] === 'orders/create'); return c.length >= 2 && c; });
    assert.equal(creates.length, 2, 'one duplicate');
    assert.equal(creates[0].headers['x-shopify-event-id'], creates[1].headers['x-shopify-event-id'], 'duplicates share the event id');
    assert.notEqual(creates[0].headers['x-shopify-webhook-id'], creates[1].headers['x-shopify-webhook-id']);
    for (const d of rx.deliveries) {
      const want = createHmac('sha256', a.credentials.client_secret).update(d.raw).digest('base64');
      assert.equal(d.headers['x-shopify-hmac-sha256'], want, 'HMAC-SHA256 of the raw body, base64, keyed by the app secret');
      assert.equal(d.headers['x-shopify-shop-domain'], 'hook-shop.myshopify.com');
      assert.equal(d.headers['x-shopify-api-version'], '2026-01');
      assert.ok(!Number.isNaN(Date.parse(d.headers['x-shopify-triggered-at'])));
    }
    const order = creates[0].json;
    assert.equal(String(order.id), o.json.id);
    assert.equal(order.line_items[0].quantity, 2);
    const inv = await rx.wait((ds) => ds.find((d) => d.headers['x-shopify-topic'] === 'inventory_levels/update'));
    assert.equal(inv.json.available, 1);
    assert.equal(inv.json.inventory_item_id, a.skus[0].inventory_item_id);

    // Fulfilment: the receiver fails twice, the third attempt of the same delivery succeeds.
    assert.equal((await sim.ctl.post(`/_sim/accounts/${a.id}/orders/${o.json.id}/fulfill`, {})).status, 200);
    const ful = await rx.wait((ds) => { const f = ds.filter((d) => d.headers['x-shopify-topic'] === 'orders/fulfilled' && d.status === 200); return f.length >= 2 && f; });
    const attempts = rx.deliveries.filter((d) => d.headers['x-shopify-webhook-id'] === ful[0].headers['x-shopify-webhook-id'] ||
      d.headers['x-shopify-webhook-id'] === ful[1].headers['x-shopify-webhook-id']);
    assert.equal(attempts.length, 4, 'two failures were retried with the same webhook id');
    assert.equal(ful[0].json.fulfillment_status, 'fulfilled');
    const log = await sim.ctl.get(`/_sim/webhooks?account=${a.id}`);
    assert.ok(log.json.deliveries.some((x) => x.result === 'retrying' && x.status === 500));
    assert.ok(log.json.deliveries.some((x) => x.topic === 'orders/fulfilled' && x.result === 'delivered' && x.attempt >= 2));

    // A return of one unit: refunds/create with restock_type "return", and the unit is back.
    assert.equal((await sim.ctl.post(`/_sim/accounts/${a.id}/orders/${o.json.id}/return`, { quantity: 1 })).status, 200);
    const refund = await rx.wait((ds) => ds.find((d) => d.headers['x-shopify-topic'] === 'refunds/create'));
    assert.equal(refund.json.refund_line_items[0].restock_type, 'return');
    assert.equal(refund.json.refund_line_items[0].quantity, 1);
    assert.equal(refund.json.order_id, order.id);
    assert.equal(await available(a, 'A'), 2);

    // A cancellation of another order: orders/cancelled and a refund with restock_type "cancel".
    const o2 = await sim.ctl.post(`/_sim/accounts/${a.id}/orders`, { sku: 'A', quantity: 1 });
    assert.equal((await sim.ctl.post(`/_sim/accounts/${a.id}/orders/${o2.json.id}/cancel`, {})).status, 200);
    const cancelled = await rx.wait((ds) => ds.find((d) => d.headers['x-shopify-topic'] === 'orders/cancelled'));
    assert.ok(cancelled.json.cancelled_at);
    const r2 = await rx.wait((ds) => ds.find((d) => d.headers['x-shopify-topic'] === 'refunds/create' && d.json.refund_line_items[0].restock_type === 'cancel'));
    assert.equal(r2.json.order_id, Number(o2.json.id));
    assert.equal(await available(a, 'A'), 2);
  } finally {
    await rx.close();
  }
});

test('deliveries to a dead endpoint stop after max_attempts', async () => {
  const a = await sim.account({ channel: 'shopify', name: 'dead-hook', stock: { A: 3 },
    webhook: { url: 'http://127.0.0.1:9/hooks', topics: ['orders/create'], retry_base_ms: 20, max_attempts: 3, timeout_ms: 500 } });
  await sim.ctl.post(`/_sim/accounts/${a.id}/orders`, { sku: 'A', quantity: 1 });
  const failed = await waitFor(async () => {
    const r = await sim.ctl.get(`/_sim/webhooks?account=${a.id}`);
    return r.json.deliveries.find((d) => d.result === 'failed') && r.json;
  }, { what: 'a failed delivery' });
  assert.equal(failed.deliveries.length, 3);
  assert.deepEqual(failed.deliveries.map((d) => d.attempt), [1, 2, 3]);
  assert.equal(failed.pending, 0);
});
