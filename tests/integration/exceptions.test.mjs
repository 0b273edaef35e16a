// exceptions.test.mjs — one exception queue per portfolio, and the dashboard.
// Against a real server, worker and simulators with the queue refreshed every
// second: an oversell, a channel outage and an unmapped order line appear as
// items (worst first, with words, counts per facet) within seconds and close
// themselves when their state clears; a person acknowledges, assigns, snoozes,
// resolves and reopens, each in the item's history and the audit log; a
// hand-resolved item stays resolved while its condition stays the same and
// opens again when it changes; a brand owner sees only their brand's queue;
// another tenant's item ids are 404; the dashboard counts what the queue shows.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { waitFor } from './lib/stack.mjs';
import { startSyncStack, channelBrand, converge, runNow } from './lib/sync.mjs';
import { startReceiver } from './lib/sim.mjs';
import { brand, member, unique } from './lib/world.mjs';

let stack, P, sim, br, other, hooks, hook, worker;

before(async () => {
  hooks = await startReceiver();
  ({ stack, sim, P } = await startSyncStack({ env: { ONECOUNT_NOTIFY_POLL_MS: '200',
    ONECOUNT_STUCK_AFTER_SECONDS: '3', ONECOUNT_STUCK_CHECK_SECONDS: '1', ONECOUNT_EXCEPTIONS_CHECK_SECONDS: '1' } }));
  hook = await P.api.post(`/api/v1/portfolios/${P.pid}/webhooks`, { name: 'Oversells',
    url: hooks.url, kinds: ['oversell'] });
  assert.equal(hook.status, 201, hook.text);
  br = await channelBrand(stack, P, sim, { skus: ['E1', 'E2'], stock: 20, webhooks: false });
  other = await channelBrand(stack, P, sim, { skus: ['F1'], stock: 5, webhooks: false });
  worker = await stack.startWorker();
  await converge([br, other]);
});
after(async () => {
  await stack?.stop();
  await hooks?.close();
});

const queue = async (api, path, q = '') => {
  const r = await api.get(`${path}/exceptions${q}`);
  assert.equal(r.status, 200, r.text);
  return r.json;
};
const find = (items, kind, pred = () => true) => items.find((x) => x.kind === kind && pred(x));

test('an oversell opens a critical item at the top of the queue; recording its resolution closes it by itself', async () => {
  const [sku] = br.skus;
  const cost = await br.api.patch(`${br.base}/skus/${sku}`, { unit_cost: 12.5 });
  assert.equal(cost.status, 200, cost.text);
  assert.equal(cost.json.unit_cost, 12.5);
  assert.equal((await br.api.patch(`${br.base}/skus/${sku}`, { unit_cost: -1 })).status, 422);
  const sale = await br.api.post(`${br.base}/movements`, { kind: 'sale', sku, qty: 23, allow_oversell: true, reference: 'ORDER-77' });
  assert.equal(sale.status, 201, sale.text);
  const item = await waitFor(async () => find((await queue(P.api, `/api/v1/portfolios/${P.pid}`, `?brand_id=${br.id}`)).items, 'oversell'),
    { timeout: 20000, what: 'the oversell item' });
  assert.equal(item.severity, 'critical');
  assert.equal(item.state, 'open');
  assert.equal(item.brand_id, br.id);
  assert.equal(item.sku, sku);
  assert.match(item.title, new RegExp(`^Oversold 3 × ${sku}.*ORDER-77`), item.title);
  assert.deepEqual(item.actions, ['resolve_oversell']);
  assert.ok(item.incident_id);
  const q = await queue(P.api, `/api/v1/portfolios/${P.pid}`, `?brand_id=${br.id}`);
  assert.equal(q.items[0].severity, 'critical', 'worst first');
  assert.ok(q.counts.by_kind.oversell >= 1);
  assert.ok(q.counts.by_severity.critical >= 1);
  assert.equal(q.counts.by_brand[br.id], q.counts.total);
  // the brand's dashboard values the oversell with the SKU's unit cost
  const dash = (await br.api.get(`${br.base}/dashboard`)).json;
  assert.deepEqual(dash.oversells, { open: 1, units: 3, cost: 37.5, uncosted_units: 0 });

  // the in-place fix: record the oversell's resolution; the item closes by itself
  const res = await br.api.post(`${br.base}/oversells/${item.incident_id}/resolve`, { resolution: 'cancelled_order', note: 'refunded' });
  assert.equal(res.status, 200, res.text);
  const closed = await waitFor(async () => {
    const x = (await br.api.get(`${br.base}/exceptions/${item.id}`)).json;
    return x.state === 'resolved' && x;
  }, { timeout: 20000, what: 'the oversell item to close' });
  assert.equal(closed.closed_by_itself, true);
  assert.equal(closed.resolved_by, null);
  assert.deepEqual(closed.history.map((h) => h.action), ['opened', 'closed']);

  // both were told to the webhook that asked for oversells, signed, in order
  const mine = (ds) => ds.filter((d) => d.json.payload?.exception_id === item.id);
  await hooks.wait((ds) => mine(ds).length >= 2, 'the opened and resolved notifications', 30000);
  const told = mine(hooks.deliveries);
  assert.deepEqual(told.map((d) => d.headers['x-onecount-event']), ['exception.opened', 'exception.resolved']);
  const [first] = told;
  const ts = first.headers['x-onecount-timestamp'];
  assert.equal(first.headers['x-onecount-signature'], `v1=${createHmac('sha256', hook.json.secret).update(`${ts}.${first.raw}`).digest('hex')}`);
  assert.equal(first.json.kind, 'oversell');
  assert.equal(first.json.severity, 'critical');
  assert.equal(first.json.brand.id, br.id);
  assert.match(first.json.title, /^Oversold 3 ×/);
  assert.match(told[1].json.title, /^Closed by itself: Oversold 3 ×/);
  assert.ok(hooks.deliveries.every((d) => d.json.kind === 'oversell'), 'only the kind the endpoint asked for');
  assert.ok(!find((await queue(br.api, br.base)).items, 'oversell'), 'gone from the active queue');
  assert.ok(find((await queue(br.api, br.base, '?state=resolved')).items, 'oversell', (x) => x.id === item.id));
});

test('a channel outage opens stuck-listing and failing-connection items that close when the channel is back', async () => {
  const wm = br.conns.walmart;
  assert.equal((await br.sim.put(`/_sim/accounts/${wm.account.id}/faults`, { error_rate: 1, error_status: 503 })).status, 200);
  const sku = br.skus[1];
  assert.equal((await br.api.post(`${br.base}/movements`, { kind: 'sale', sku, qty: 1 })).status, 201);
  const stuck = await waitFor(async () => find((await queue(br.api, br.base)).items, 'listing_stuck', (x) => x.connection_id === wm.id),
    { timeout: 30000, what: 'the stuck listing item' });
  assert.equal(stuck.sku, sku);
  assert.equal(stuck.connection, `walmart-${wm.account.id}`);
  assert.match(stuck.title, new RegExp(`^${sku} has not reached walmart-`), stuck.title);
  assert.deepEqual(stuck.actions, ['repush', 'pause_listing', 'open_connection']);
  const failing = await waitFor(async () => find((await queue(br.api, br.base, `?connection_id=${wm.id}`)).items, 'connection_failing'),
    { timeout: 30000, what: 'the failing connection item' });
  assert.equal(failing.severity, 'critical');
  assert.match(failing.title, /is failing/);
  // only this connection's items under the filter
  for (const x of (await queue(br.api, br.base, `?connection_id=${wm.id}`)).items) assert.equal(x.connection_id, wm.id);

  // the SKU list shows, on the SKU's row, Walmart failing beside the other channels
  const row = (await br.api.get(`${br.base}/skus?q=${encodeURIComponent(sku)}`)).json.items.find((x) => x.code === sku);
  const byKind = Object.fromEntries(row.channels.map((c) => [c.kind, c]));
  assert.deepEqual(Object.keys(byKind).sort(), ['amazon', 'shopify', 'walmart']);
  assert.equal(byKind.walmart.status, 'failing', JSON.stringify(byKind.walmart));
  assert.equal(byKind.walmart.published, row.available);
  assert.equal(byKind.walmart.pushed, row.available + 1);
  assert.equal(byKind.walmart.connection, `walmart-${wm.account.id}`);

  const dash = (await br.api.get(`${br.base}/dashboard`)).json;
  assert.ok(dash.exceptions.by_kind.listing_stuck >= 1, JSON.stringify(dash.exceptions));
  assert.ok(dash.failing_connections >= 1);
  const card = dash.connections.find((c) => c.id === wm.id);
  assert.equal(card.failing, true);
  assert.ok(card.behind >= 1);
  assert.ok(dash.top.some((x) => x.id === failing.id));

  assert.equal((await br.sim.del(`/_sim/accounts/${wm.account.id}/faults`)).status, 200);
  await converge([br], { timeout: 90000 });
  const healed = (await br.api.get(`${br.base}/skus?q=${encodeURIComponent(sku)}`)).json.items.find((x) => x.code === sku);
  for (const c of healed.channels) assert.equal(c.status === 'in_sync' || c.status === 'drifted', true, JSON.stringify(c));
  assert.ok(healed.channels.every((c) => c.published === healed.available && c.pushed === healed.available));
  await waitFor(async () => {
    const a = (await br.api.get(`${br.base}/exceptions/${stuck.id}`)).json;
    const b = (await br.api.get(`${br.base}/exceptions/${failing.id}`)).json;
    return a.state === 'resolved' && b.state === 'resolved';
  }, { timeout: 60000, what: 'both items to close by themselves' });
});

test('an order line nobody maps opens an item; mapping the listing closes it', async () => {
  const acct = br.conns.shopify.account.id;
  await br.sim.put(`/_sim/accounts/${acct}/stock`, { 'GHOST-EX': 5 });
  assert.equal((await br.sim.post(`/_sim/accounts/${acct}/orders`, { sku: 'GHOST-EX', quantity: 2 })).status, 201);
  await runNow(br, ['poll_orders']);
  const item = await waitFor(async () => find((await queue(br.api, br.base)).items, 'unmapped_line', (x) => x.channel_sku === 'GHOST-EX'),
    { timeout: 30000, what: 'the unmapped line item' });
  assert.equal(item.connection_id, br.conns.shopify.id);
  assert.match(item.title, /^1 order line on shopify-.* names GHOST-EX, which no listing maps \(2 units waiting\)$/, item.title);
  assert.deepEqual(item.actions, ['map_line', 'create_sku']);
  assert.equal((await br.api.post(`${br.base}/skus`, { code: 'GHOST-EX' })).status, 201);
  assert.equal((await br.api.post(`${br.base}/movements`, { kind: 'receipt', sku: 'GHOST-EX', qty: 10 })).status, 201);
  const l = await br.api.post(`${br.base}/listings`, { connection_id: br.conns.shopify.id, sku: 'GHOST-EX' });
  assert.equal(l.status, 201, l.text);
  await waitFor(async () => (await br.api.get(`${br.base}/exceptions/${item.id}`)).json.state === 'resolved',
    { timeout: 20000, what: 'the unmapped line item to close' });
});

test('a person acknowledges, assigns, snoozes, resolves and reopens; each is in the history and the audit log', async () => {
  // GHOST-EX is listed on Shopify only: an info item says where it is missing
  const item = await waitFor(async () => find((await queue(br.api, br.base, '?kind=sku_unlisted')).items, 'sku_unlisted', (x) => x.sku === 'GHOST-EX'),
    { timeout: 20000, what: 'the unlisted SKU item' });
  assert.equal(item.severity, 'info');
  assert.match(item.title, /^GHOST-EX is not listed on amazon-.*, walmart-/, item.title);
  const base = `${br.base}/exceptions/${item.id}`;
  const meId = P.uid;

  let r = await P.api.post(`${base}/acknowledge`, { note: 'on it' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.state, 'acknowledged');
  assert.equal(r.json.owner.id, meId, 'acknowledging makes it yours when it had no owner');
  assert.equal((await P.api.post(`${base}/acknowledge`, {})).status, 409);

  r = await P.api.post(`${base}/assign`, { owner_id: '00000000-0000-0000-0000-000000000001' });
  assert.equal(r.status, 422, r.text);
  assert.equal(r.json.error.field, 'owner_id');
  r = await P.api.post(`${base}/assign`, { owner_id: null });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.owner, null);
  const mine = (await queue(P.api, `/api/v1/portfolios/${P.pid}`, `?owner=none&brand_id=${br.id}&kind=sku_unlisted`)).items;
  assert.ok(mine.some((x) => x.id === item.id));

  assert.equal((await P.api.post(`${base}/snooze`, {})).status, 422);
  assert.equal((await P.api.post(`${base}/snooze`, { hours: 0 })).status, 422);
  assert.equal((await P.api.post(`${base}/snooze`, { until: '2001-01-01T00:00:00Z' })).status, 422);
  r = await P.api.post(`${base}/snooze`, { hours: 4, note: 'after the photo shoot' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.state, 'snoozed');
  assert.ok(Date.parse(r.json.snoozed_until) > Date.now() + 3.9 * 3600e3);
  assert.ok(!(await queue(br.api, br.base)).items.some((x) => x.id === item.id), 'a snoozed item leaves the active queue');
  assert.ok((await queue(br.api, br.base, '?state=snoozed')).items.some((x) => x.id === item.id));

  assert.equal((await P.api.post(`${base}/resolve`, {})).status, 422, 'a note is required');
  r = await P.api.post(`${base}/resolve`, { note: 'will list on Amazon next month' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.state, 'resolved');
  assert.equal(r.json.resolved_by.id, meId);
  assert.equal((await P.api.post(`${base}/resolve`, { note: 'again' })).status, 409);
  // the condition is unchanged: it stays resolved through refreshes
  await new Promise((res) => setTimeout(res, 2500));
  assert.equal((await P.api.get(base)).json.state, 'resolved');

  r = await P.api.post(`${base}/reopen`, { note: 'changed my mind' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.state, 'open');
  assert.deepEqual(r.json.history.map((h) => h.action), ['opened', 'acknowledged', 'assigned', 'snoozed', 'resolved', 'reopened']);
  assert.equal(r.json.history[1].actor.id, meId);
  assert.equal(r.json.history[1].note, 'on it');

  // resolved by hand, it opens again when its condition changes: list it on Walmart (still missing on Amazon)
  assert.equal((await P.api.post(`${base}/resolve`, { note: 'later' })).status, 200);
  const l = await br.api.post(`${br.base}/listings`, { connection_id: br.conns.walmart.id, sku: 'GHOST-EX' });
  assert.equal(l.status, 201, l.text);
  const again = await waitFor(async () => {
    const x = (await P.api.get(base)).json;
    return x.state === 'open' && x;
  }, { timeout: 20000, what: 'the changed condition to reopen the item' });
  assert.doesNotMatch(again.title, /walmart/);
  assert.equal(again.history.at(-1).action, 'reopened');

  const audit = (await P.api.get(`/api/v1/brands/${br.id}/audit?limit=50`)).json.items.filter((a) => a.object_id === item.id);
  const actions = audit.map((a) => a.action).sort();
  for (const a of ['exception.acknowledge', 'exception.assign', 'exception.snooze', 'exception.resolve', 'exception.reopen'])
    assert.ok(actions.includes(a), `${a} audited: ${actions}`);
});

test('bad filters and ids are refused with words; another brand\'s item is 404', async () => {
  for (const q of ['?kind=nope', '?severity=loud', '?state=gone', '?owner=bob', '?brand_id=x', '?connection_id=1', '?limit=0', '?cursor=zzz']) {
    const r = await P.api.get(`/api/v1/portfolios/${P.pid}/exceptions${q}`);
    assert.equal(r.status, 422, `${q}: ${r.text}`);
    assert.ok(r.json.error.field, q);
  }
  assert.equal((await br.api.get(`${br.base}/exceptions?brand_id=${br.id}`)).status, 422);
  assert.equal((await br.api.get(`${br.base}/exceptions/abc`)).status, 404);
  assert.equal((await br.api.get(`${br.base}/exceptions/99999999999999999999`)).status, 404);
  assert.equal((await other.api.post(`${other.base}/skus`, { code: 'LONELY' })).status, 201);
  const theirs = await waitFor(async () => find((await queue(other.api, other.base)).items, 'sku_unlisted', (x) => x.sku === 'LONELY'),
    { timeout: 20000, what: 'an item in the other brand' });
  assert.equal((await br.api.get(`${br.base}/exceptions/${theirs.id}`)).status, 404);
  assert.equal((await br.api.post(`${br.base}/exceptions/${theirs.id}/acknowledge`, {})).status, 404);
  assert.equal((await other.api.get(`${other.base}/exceptions/${theirs.id}`)).status, 200);
});

test('counts.by_state counts every state under the other filters, whatever the state filter', async () => {
  // four SKUs listed nowhere: four info items of one kind in the other brand, then one acknowledged, one
  // snoozed, one resolved, one left open
  const codes = ['BYST-1', 'BYST-2', 'BYST-3', 'BYST-4'];
  for (const code of codes) assert.equal((await other.api.post(`${other.base}/skus`, { code })).status, 201);
  const kindQ = '?kind=sku_unlisted';
  const items = await waitFor(async () => {
    const open = (await queue(other.api, other.base, kindQ)).items.filter((x) => codes.includes(x.sku));
    return open.length === 4 && open;
  }, { timeout: 20000, what: 'four unlisted SKU items' });
  const before = (await queue(other.api, other.base, kindQ)).counts.by_state;
  assert.deepEqual(Object.keys(before).sort(), ['acknowledged', 'open', 'resolved', 'snoozed'], 'every state, zero included');
  assert.ok(before.open >= 4, JSON.stringify(before));
  const bySku = Object.fromEntries(items.map((x) => [x.sku, x]));
  const act = async (code, verb, body) => {
    const r = await P.api.post(`${other.base}/exceptions/${bySku[code].id}/${verb}`, body);
    assert.equal(r.status, 200, r.text);
  };
  await act('BYST-1', 'acknowledge', {});
  await act('BYST-2', 'snooze', { hours: 2 });
  await act('BYST-3', 'resolve', { note: 'not for the channels yet' });
  const want = { open: before.open - 3, acknowledged: before.acknowledged + 1, snoozed: before.snoozed + 1, resolved: before.resolved + 1 };

  // the same by_state under every state filter, the brand's queue and the portfolio's; total is the state's
  const sum = (o, ks) => ks.reduce((a, k) => a + o[k], 0);
  for (const state of ['active', 'open', 'acknowledged', 'snoozed', 'resolved', 'all']) {
    const q = `${kindQ}&state=${state}`;
    const mine = await queue(other.api, other.base, q);
    const port = await queue(P.api, `/api/v1/portfolios/${P.pid}`, `${q}&brand_id=${other.id}`);
    for (const r of [mine, port]) {
      assert.deepEqual(r.counts.by_state, want, `${state}: ${JSON.stringify(r.counts)}`);
      const expect = state === 'active' ? sum(want, ['open', 'acknowledged'])
        : state === 'all' ? sum(want, Object.keys(want)) : want[state];
      assert.equal(r.counts.total, expect, `${state}: total`);
      if (state !== 'active' && state !== 'all') assert.ok(r.items.every((x) => x.state === state), state);
    }
  }
  const snoozed = (await queue(other.api, other.base, `${kindQ}&state=snoozed`)).items;
  assert.ok(snoozed.some((x) => x.id === bySku['BYST-2'].id));
  const resolved = (await queue(other.api, other.base, `${kindQ}&state=resolved`)).items;
  assert.ok(resolved.some((x) => x.id === bySku['BYST-3'].id));

  // the other filters still apply: none of this kind is critical; the owner filter counts from the items
  const crit = (await queue(other.api, other.base, `${kindQ}&severity=critical`)).counts.by_state;
  assert.deepEqual(crit, { open: 0, acknowledged: 0, snoozed: 0, resolved: 0 });
  const me = await queue(P.api, `/api/v1/portfolios/${P.pid}`, `${kindQ}&brand_id=${other.id}&owner=me&state=open`);
  assert.deepEqual(me.counts.by_state, { open: 0, acknowledged: 1, snoozed: 0, resolved: 0 }, 'acknowledging made it mine');
  assert.equal(me.counts.total, 0);
  const nobody = await queue(P.api, `/api/v1/portfolios/${P.pid}`, `${kindQ}&brand_id=${other.id}&owner=none&state=resolved`);
  assert.deepEqual(nobody.counts.by_state, { ...want, acknowledged: want.acknowledged - 1 });
  assert.equal(nobody.counts.total, want.resolved);

  // waking and reopening move the counts back
  await act('BYST-2', 'acknowledge', {});
  await act('BYST-3', 'reopen', {});
  const back = (await queue(other.api, other.base, `${kindQ}&state=all`)).counts.by_state;
  assert.deepEqual(back, { open: want.open + 1, acknowledged: want.acknowledged + 1, snoozed: want.snoozed - 1, resolved: want.resolved - 1 });
});

test('a brand owner sees only their brand in the portfolio queue and the dashboard; pages walk the whole queue', async () => {
  const { api } = await member(stack, P, br.id, 'brand_owner');
  const q = await queue(api, `/api/v1/portfolios/${P.pid}`, '?state=all');
  assert.ok(q.items.length > 0);
  for (const x of q.items) assert.equal(x.brand_id, br.id);
  assert.deepEqual(Object.keys(q.counts.by_brand), [br.id]);
  const dash = (await api.get(`/api/v1/portfolios/${P.pid}/dashboard`)).json;
  assert.deepEqual(dash.brands.map((b) => b.brand_id), [br.id]);

  // the admin's dashboard has both brands, and its counts are the queue's
  const all = (await P.api.get(`/api/v1/portfolios/${P.pid}/dashboard`)).json;
  const ids = all.brands.map((b) => b.brand_id);
  assert.ok(ids.includes(br.id) && ids.includes(other.id));
  const active = await queue(P.api, `/api/v1/portfolios/${P.pid}`);
  assert.equal(all.totals.exceptions, active.counts.total);
  for (const b of all.brands) assert.equal(b.exceptions.total, active.counts.by_brand[b.brand_id] ?? 0);

  // pages of 1 walk every item once, worst first (the worker stopped: no item opens or closes meanwhile)
  await worker.stop();
  const seen = [];
  let cursor = null;
  do {
    const page = await queue(P.api, `/api/v1/portfolios/${P.pid}`, `?state=all&limit=1${cursor ? `&cursor=${cursor}` : ''}`);
    seen.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor && seen.length < 200);
  const full = await queue(P.api, `/api/v1/portfolios/${P.pid}`, '?state=all&limit=200');
  assert.deepEqual(seen.map((x) => x.id), full.items.map((x) => x.id));
  const rank = { critical: 0, warning: 1, info: 2 };
  for (let i = 1; i < seen.length; i++) assert.ok(rank[seen[i - 1].severity] <= rank[seen[i].severity]);
});

test('a new brand with no channels has an empty, healthy dashboard row', async () => {
  const b = await brand(P, unique('Quiet'));
  const all = (await P.api.get(`/api/v1/portfolios/${P.pid}/dashboard`)).json;
  const row = all.brands.find((x) => x.brand_id === b.id);
  assert.deepEqual([row.exceptions.total, row.stock_outs, row.oversells.units, row.stranded_units, row.failing_connections],
    [0, 0, 0, 0, 0]);
  assert.equal(row.sell_through_30d, null);
  assert.deepEqual(row.connections, []);
});
