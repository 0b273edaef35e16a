// channel_accounts.test.mjs — one channel account, one active connection.
// The demo brand's Walmart credentials connected a second time and
// auto-mapped recorded one order as two sales.  Every connection gets its
// account identity from the channel (Shopify shop domain, Amazon seller and
// marketplace, Walmart API client); a second active connection to the same
// account is refused with a 409 anywhere in the database — naming the
// existing connection within the portfolio, saying only "already connected
// elsewhere" outside it — at create, update, test and re-activation; the
// worker pauses a duplicate it finds (made while the channel did not answer)
// before it takes in a single order; auto-map refuses it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { client, waitFor, sleep } from './lib/stack.mjs';
import { portfolio, brand, token, tokenClient, unique } from './lib/world.mjs';
import { startSyncStack, connectionBody, countOrders } from './lib/sync.mjs';

let stack, sim, simApi, P, Q;

before(async () => {
  ({ stack, sim, P } = await startSyncStack({ env: { ONECOUNT_WORKER_SCAN_MS: '300' } }));
  simApi = client(sim.url);
  Q = await portfolio(stack); // another agency
});
after(async () => { await stack?.stop(); });

async function ownerOf(p, name = unique('Brand')) {
  const b = await brand(p, name);
  const api = tokenClient(stack.url, (await token(p, b.id, 'brand_owner')).token);
  return { id: b.id, name, api, base: `/api/v1/brands/${b.id}` };
}

async function account(kind, extra = {}) {
  const a = await simApi.post('/_sim/accounts', { channel: kind, skus: [{ sku: 'DUP-1', quantity: 20 }], limits: 'unlimited',
    pending_ms: 0, ...extra });
  assert.equal(a.status, 201, a.text);
  return a.json;
}

const body = (kind, acct, name) => ({ ...connectionBody(kind, acct), name });

test('the connection shows the account the channel confirmed', async () => {
  const b = await ownerOf(P);
  for (const kind of ['shopify', 'amazon', 'walmart']) {
    const acct = await account(kind);
    const c = await b.api.post(`${b.base}/connections`, body(kind, acct, `${kind} one`));
    assert.equal(c.status, 201, c.text);
    assert.equal(c.json.account.kind, kind);
    assert.ok(c.json.account.verified_at);
    if (kind === 'shopify') assert.equal(c.json.account.id, acct.credentials.shop_domain);
    if (kind === 'amazon') {
      assert.equal(c.json.account.id, acct.credentials.seller_id);
      assert.deepEqual(c.json.account.marketplace_ids, [acct.credentials.marketplace_id]);
    }
    if (kind === 'walmart') assert.match(c.json.account.id, new RegExp(`${acct.credentials.client_id.slice(-4)}$`));
    assert.ok(!c.text.includes(acct.credentials.client_secret));
    assert.equal(c.json.account.keys, undefined, 'the keys stay inside');
  }
});

test('a second active connection to one account is refused: by name in the portfolio, "elsewhere" outside it', async () => {
  const b1 = await ownerOf(P, unique('Acme'));
  const b2 = await ownerOf(P);
  const b3 = await ownerOf(Q);
  for (const kind of ['shopify', 'amazon', 'walmart']) {
    const acct = await account(kind);
    const first = await b1.api.post(`${b1.base}/connections`, body(kind, acct, `${kind} main`));
    assert.equal(first.status, 201, first.text);
    // the same brand, another brand of the portfolio: the existing connection and its brand are named
    for (const b of [b1, b2]) {
      const again = await b.api.post(`${b.base}/connections`, body(kind, acct, `${kind} again`));
      assert.equal(again.status, 409, again.text);
      assert.equal(again.json.error.code, 'duplicate_account');
      assert.ok(again.json.error.request_id);
      assert.match(again.json.error.message, new RegExp(`"${kind} main" in brand "${b1.name}"`));
    }
    // another portfolio learns nothing about whose it is
    const other = await b3.api.post(`${b3.base}/connections`, body(kind, acct, `${kind} theirs`));
    assert.equal(other.status, 409, other.text);
    assert.equal(other.json.error.message, 'this account is already connected elsewhere');
    assert.ok(!other.text.includes(b1.name) && !other.text.includes(`${kind} main`));
    // nothing was created
    for (const b of [b1, b2, b3])
      assert.equal((await b.api.get(`${b.base}/connections`)).json.items.filter((c) => c.kind === kind).length, b === b1 ? 1 : 0);
  }
  // Amazon: the same seller in another marketplace is another account
  const amz = await account('amazon');
  assert.equal((await b1.api.post(`${b1.base}/connections`, body('amazon', amz, 'amazon US'))).status, 201);
  const ca = body('amazon', amz, 'amazon CA');
  ca.settings.marketplace_ids = ['A2EUQ1WTGCTBG2'];
  await simApi.patch(`/_sim/accounts/${amz.id}`, { marketplace_ids: [amz.credentials.marketplace_id, 'A2EUQ1WTGCTBG2'] });
  const r = await b1.api.post(`${b1.base}/connections`, ca);
  assert.equal(r.status, 201, r.text);
  // …but one that names both overlaps both
  const both = body('amazon', amz, 'amazon both');
  both.settings.marketplace_ids = [amz.credentials.marketplace_id, 'A2EUQ1WTGCTBG2'];
  assert.equal((await b2.api.post(`${b2.base}/connections`, both)).status, 409);
});

test('update and re-activation: credentials that reach another connection\'s account, or un-pausing one, are refused', async () => {
  const b = await ownerOf(P);
  const a1 = await account('walmart');
  const a2 = await account('walmart');
  const c1 = (await b.api.post(`${b.base}/connections`, body('walmart', a1, 'WM one'))).json;
  const c2 = (await b.api.post(`${b.base}/connections`, body('walmart', a2, 'WM two'))).json;
  const swap = await b.api.patch(`${b.base}/connections/${c2.id}`, { credentials: { client_id: a1.credentials.client_id,
    client_secret: a1.credentials.client_secret } });
  assert.equal(swap.status, 409, swap.text);
  assert.match(swap.json.error.message, /"WM one"/);
  // pause the first, then the second may take that account; the first may not come back
  assert.equal((await b.api.patch(`${b.base}/connections/${c1.id}`, { status: 'paused' })).status, 200);
  const moved = await b.api.patch(`${b.base}/connections/${c2.id}`, { credentials: { client_id: a1.credentials.client_id,
    client_secret: a1.credentials.client_secret } });
  assert.equal(moved.status, 200, moved.text);
  const back = await b.api.patch(`${b.base}/connections/${c1.id}`, { status: 'active' });
  assert.equal(back.status, 409, back.text);
  assert.match(back.json.error.message, /"WM two"/);
  assert.equal((await b.api.get(`${b.base}/connections/${c1.id}`)).json.status, 'paused');
});

test('a duplicate made while the channel did not answer: "test" refuses it and pauses it; auto-map refuses it', async () => {
  const b = await ownerOf(P);
  const acct = await account('shopify');
  assert.equal((await b.api.post(`${b.base}/connections`, body('shopify', acct, 'Shop main'))).status, 201);
  await simApi.put(`/_sim/accounts/${acct.id}/faults`, { error_rate: 1, error_status: 503 });
  const dup = await b.api.post(`${b.base}/connections`, body('shopify', acct, 'Shop copy'));
  assert.equal(dup.status, 201, dup.text);
  assert.equal(dup.json.account, null, 'not confirmed: the channel did not answer');
  await simApi.del(`/_sim/accounts/${acct.id}/faults`);
  const t = await b.api.post(`${b.base}/connections/${dup.json.id}/test`, {});
  assert.equal(t.status, 409, t.text);
  assert.match(t.json.error.message, /"Shop main"/);
  const now = (await b.api.get(`${b.base}/connections/${dup.json.id}`)).json;
  assert.equal(now.status, 'paused');
  assert.match(now.status_detail, /already connected as "Shop main"/);
  assert.equal(now.account.id, acct.credentials.shop_domain);
  const m = await b.api.post(`${b.base}/connections/${dup.json.id}/automap`, {});
  assert.equal(m.status, 409, m.text);
  assert.equal((await b.api.get(`${b.base}/listings?connection=${dup.json.id}`)).json.items.length, 0);
  const alerts = (await b.api.get(`${b.base}/alerts`)).json.items;
  assert.ok(alerts.some((a) => a.kind === 'duplicate_account' && a.connection_id === dup.json.id), JSON.stringify(alerts));
});

test('the worker pauses a duplicate before it takes in an order: one order is one sale', { timeout: 90000 }, async () => {
  const b = await ownerOf(P);
  assert.equal((await b.api.post(`${b.base}/skus`, { code: 'DUP-1' })).status, 201);
  assert.equal((await b.api.post(`${b.base}/movements`, { kind: 'receipt', sku: 'DUP-1', qty: 20 })).status, 201);
  const acct = await account('walmart');
  // both made while the channel was down: neither confirmed, both mapped
  await simApi.put(`/_sim/accounts/${acct.id}/faults`, { error_rate: 1, error_status: 503 });
  const ids = [];
  for (const name of ['Walmart', 'Walmart CA']) {
    const c = await b.api.post(`${b.base}/connections`, body('walmart', acct, name));
    assert.equal(c.status, 201, c.text);
    assert.equal((await b.api.post(`${b.base}/connections/${c.json.id}/automap`, {})).status, 200);
    ids.push(c.json.id);
  }
  await simApi.del(`/_sim/accounts/${acct.id}/faults`);
  const o = await simApi.post(`/_sim/accounts/${acct.id}/orders`, { sku: 'DUP-1', quantity: 1 });
  assert.equal(o.status, 201, o.text);
  await stack.startWorker();
  for (const r of (await b.api.get(`${b.base}/routines`)).json.filter((x) => x.kind === 'poll_orders'))
    await b.api.post(`${b.base}/routines/${r.id}/run`, {});
  await waitFor(async () => (await countOrders(b, ids[0])) + (await countOrders(b, ids[1])) >= 1, { what: 'the order' });
  await waitFor(async () => {
    const cs = (await b.api.get(`${b.base}/connections`)).json.items;
    return cs.filter((c) => c.status === 'paused').length === 1;
  }, { what: 'one of the two paused' });
  await sleep(1500); // a second ingestion, were there one, would have landed by now
  const sales = (await b.api.get(`${b.base}/skus/DUP-1/history?kind=sale&limit=50`)).json.items;
  if (sales.length !== 1) {
    // what each connection took in and when it was confirmed or paused, for whoever reads a failure
    const seen = await stack.sql(`SELECT c.name, c.status, c.status_detail, c.account_keys, c.account_verified_at,
        c.updated_at, (SELECT json_agg(json_build_object('order', o.external_id, 'first_seen', o.first_seen_at))
                         FROM channel_orders o WHERE o.tenant_id = c.tenant_id AND o.connection_id = c.id) AS orders,
        (SELECT json_agg(json_build_object('key', a.account_key, 'active', a.active)) FROM channel_accounts a
          WHERE a.tenant_id = c.tenant_id AND a.connection_id = c.id) AS accounts
      FROM channel_connections c WHERE c.id = ANY ($1::uuid[])`, [ids]);
    assert.fail(`${sales.length} sales for one order: ${JSON.stringify(sales)}\n${JSON.stringify(seen.rows, null, 1)}`);
  }
  assert.equal((await b.api.get(`${b.base}/skus/DUP-1`)).json.committed, 1);
  const cs = (await b.api.get(`${b.base}/connections`)).json.items;
  const paused = cs.find((c) => c.status === 'paused');
  assert.match(paused.status_detail, /already connected as "Walmart( CA)?"/);
  assert.equal((await countOrders(b, paused.id)), 0, 'the paused one took in nothing');
  const alerts = (await b.api.get(`${b.base}/alerts`)).json.items;
  assert.ok(alerts.some((a) => a.kind === 'duplicate_account' && a.connection_id === paused.id));
});
