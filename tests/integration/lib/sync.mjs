// sync.mjs — brands wired to simulator accounts, for the sync engine's tests
// and benchmarks: one Shopify, Amazon and Walmart account per brand, the
// connections made through the API with the credentials the simulator gave,
// listings mapped by SKU code, Shopify webhooks aimed at the server.
import assert from 'node:assert/strict';
import { startStack, client, waitFor, sleep } from './stack.mjs';
import { portfolio, brand, token, tokenClient, unique } from './world.mjs';

export const KINDS = ['shopify', 'amazon', 'walmart'];

/**
 * What the sync tests start from: startStack(opts), the channel simulators
 * (stack.startSim()) and a portfolio P.  Resolves to { stack, sim, P }; the
 * stack is stopped again when the rest fails to start.
 */
export async function startSyncStack(opts = {}) {
  const stack = await startStack(opts);
  try {
    const sim = await stack.startSim();
    const P = await portfolio(stack);
    return { stack, sim, P };
  } catch (e) {
    await stack.stop().catch(() => {});
    throw e;
  }
}

/** The connection body for a simulator account, as a person would fill it in. */
export function connectionBody(kind, account, extra = {}) {
  const c = account.credentials;
  const body = { kind, name: `${kind}-${account.id}`, base_url: account.base_url, settings: {},
    credentials: { client_id: c.client_id, client_secret: c.client_secret }, ...extra };
  if (kind === 'shopify') {
    body.settings = { shop: c.shop_domain, api_version: '2026-01', location_id: `gid://shopify/Location/${c.location_id}` };
    body.credentials.webhook_secret = c.webhook_secret;
  } else if (kind === 'amazon') {
    body.settings = { seller_id: c.seller_id, marketplace_ids: [c.marketplace_id], token_url: c.token_url };
    body.credentials.refresh_token = c.refresh_token;
  }
  body.settings.sim_account = account.id; // the simulator's request log shows through GET …/channel-log
  return body;
}

/**
 * A brand with `skus` received at `stock` units each and one account per
 * channel on `sim`; `settings` adds connection settings per kind (e.g.
 * {walmart: {feed_threshold: 1}}).  Returns { id, api, base, skus, conns: {kind: {id, account}} }.
 */
export async function channelBrand(stack, P, sim, { skus = ['A', 'B', 'C'], stock = 50, account = {},
  accounts = {}, rules = {}, settings = {}, webhooks = true, pollSeconds = 10 } = {}) {
  const b = await brand(P, unique('SyncBrand'));
  const api = tokenClient(stack.url, (await token(P, b.id, 'brand_owner')).token);
  const base = `/api/v1/brands/${b.id}`;
  const codes = skus.map((s) => `${s}-${b.id.slice(0, 6)}`);
  for (const code of codes) assert.equal((await api.post(`${base}/skus`, { code })).status, 201);
  const rec = await api.post(`${base}/movements`, { kind: 'receipt', lines: codes.map((sku) => ({ sku, qty: stock })) });
  assert.equal(rec.status, 201, rec.text);
  const simApi = client(sim.url);
  const conns = {};
  for (const kind of KINDS) {
    const spec = { channel: kind, skus: codes.map((sku) => ({ sku, quantity: 0 })), limits: 'unlimited', pending_ms: 0,
      apply_delay_ms: 200, feed_queue_ms: 200, feed_process_ms: 300, report_ms: 300, ...account, ...(accounts[kind] || {}) };
    const a = await simApi.post('/_sim/accounts', spec);
    assert.equal(a.status, 201, a.text);
    const body = connectionBody(kind, a.json, { rules, rate_scale: 100 });
    Object.assign(body.settings, settings[kind] || {});
    const c = await api.post(`${base}/connections`, body);
    assert.equal(c.status, 201, c.text);
    const m = await api.post(`${base}/connections/${c.json.id}/automap`, {});
    assert.equal(m.status, 200, m.text);
    conns[kind] = { id: c.json.id, account: a.json };
    if (kind === 'shopify' && webhooks) {
      const w = await simApi.patch(`/_sim/accounts/${a.json.id}`, { webhook: { url: `${stack.url}/api/v1/webhooks/shopify/${b.id}/${c.json.id}`,
        retry_base_ms: 300, max_attempts: 20 } });
      assert.equal(w.status, 200, w.text);
    }
  }
  const routines = (await api.get(`${base}/routines`)).json;
  for (const r of routines.filter((x) => ['poll_orders', 'poll_returns', 'read_back'].includes(x.kind))) {
    const u = await api.patch(`${base}/routines/${r.id}`, { interval_seconds: pollSeconds });
    assert.equal(u.status, 200, u.text);
  }
  return { id: b.id, api, base, skus: codes, conns, sim: simApi };
}

/** Asks every routine of `kinds` of the brand to run now. */
export async function runNow(br, kinds) {
  const routines = (await br.api.get(`${br.base}/routines`)).json;
  for (const r of routines.filter((x) => kinds.includes(x.kind)))
    assert.equal((await br.api.post(`${br.base}/routines/${r.id}/run`, {})).status, 200);
}

/** Per SKU: what the channel account shows, and its sales statistics. */
export async function channelView(br, kind) {
  const id = br.conns[kind].account.id;
  const stock = (await br.sim.get(`/_sim/accounts/${id}/stock`)).json.skus;
  const stats = (await br.sim.get(`/_sim/accounts/${id}/stats`)).json.accounts[0].skus;
  return Object.fromEntries(stock.map((s) => [s.sku, { ...s, ...stats.find((x) => x.sku === s.sku) }]));
}

/**
 * Waits until onecount has taken in every order of every account, the
 * listings are all acknowledged, and every channel shows its published
 * quantity.  Returns the final views.
 */
export async function converge(brands, { timeout = 60000 } = {}) {
  let last = '';
  const t0 = Date.now();
  await waitFor(async () => {
    if (process.env.OC_SYNC_DEBUG && last) console.log(`${Date.now() - t0} ms: ${last}`);
    for (const br of brands) await runNow(br, ['poll_orders', 'poll_returns']);
    await sleep(300);
    for (const br of brands) {
      const sync = (await br.api.get(`${br.base}/sync`)).json;
      for (const c of sync.connections) {
        if (c.queue_depth > 0) {
          const stuck = (await br.api.get(`${br.base}/listings?connection=${c.connection_id}&out_of_sync=true&limit=5`)).json.items
            .map((l) => `${l.external_sku} v${l.pushed_version}/${l.desired_version} ${l.last_error ?? ''} x${l.attempts}`);
          last = `${c.kind} of ${br.id}: ${c.queue_depth} listings not acknowledged (${stuck.join('; ')}; ${c.last_error ?? ''})`;
          return false;
        }
      }
      const listings = (await br.api.get(`${br.base}/listings?limit=200`)).json.items;
      for (const kind of KINDS) {
        const view = await channelView(br, kind);
        // orders the channel holds that onecount has not recorded
        const total = (await br.sim.get(`/_sim/accounts/${br.conns[kind].account.id}/orders?limit=1`)).json.total;
        const mine = await countOrders(br, br.conns[kind].id);
        if (total > mine) { last = `${kind}: ${total} orders, onecount has ${mine}`; return false; }
        for (const l of listings.filter((x) => x.connection_id === br.conns[kind].id)) {
          const shown = view[l.external_sku]?.quantity;
          if (shown !== l.desired_qty) { last = `${kind} shows ${shown} of ${l.external_sku}, onecount publishes ${l.desired_qty}`; return false; }
        }
      }
    }
    return true;
  }, { timeout, interval: 500, what: () => `convergence (${last})` });
  if (process.env.OC_SYNC_DEBUG) console.log('converged; last blocker:', last);
}

/** How many orders of a connection onecount has recorded. */
export async function countOrders(br, connectionId) {
  let n = 0, cursor = null;
  do {
    const r = (await br.api.get(`${br.base}/orders?connection=${connectionId}&limit=200${cursor ? `&cursor=${cursor}` : ''}`)).json;
    n += r.items.length;
    cursor = r.next_cursor;
  } while (cursor);
  return n;
}

/** onecount's balance of a SKU. */
export async function balance(br, code) {
  const r = await br.api.get(`${br.base}/skus/${code}`);
  assert.equal(r.status, 200, r.text);
  return r.json;
}
