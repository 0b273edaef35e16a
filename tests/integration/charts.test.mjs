// charts.test.mjs — the chart series (tenants/charts.c) against what happened:
// a brand with a Shopify, an Amazon and a Walmart account on the simulators
// sells through two channels and by hand; then the stock series is the
// SKU's movements and each channel's acknowledged pushes, units sold per
// channel per day are those sales on today's date of the brand's time zone,
// push lag is the connection's own samples, sell-through and days of cover
// follow their definitions.  Another brand's SKU or connection is 404, a
// bad window 422.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from './lib/stack.mjs';
import { startSyncStack, channelBrand, converge, runNow, balance } from './lib/sync.mjs';

let stack, sim, P, br, other;
const TZ = 'Pacific/Kiritimati'; // UTC+14: its calendar day is not UTC's for 14 hours of every day
const STOCK = 40;

// today's date in a time zone, as the API writes dates
function today(tz) {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit' })
    .formatToParts(new Date());
  const v = (t) => parts.find((p) => p.type === t).value;
  return `${v('year')}-${v('month')}-${v('day')}`;
}

// every movement of a SKU, oldest first
async function movements(b, code) {
  const out = [];
  let cursor = null;
  do {
    const r = await b.api.get(`${b.base}/skus/${code}/history?limit=200${cursor ? `&cursor=${cursor}` : ''}`);
    assert.equal(r.status, 200, r.text);
    out.push(...r.json.items);
    cursor = r.json.next_cursor;
  } while (cursor);
  return out.reverse();
}

before(async () => {
  ({ stack, sim, P } = await startSyncStack());
  br = await channelBrand(stack, P, sim, { skus: ['A', 'B'], stock: STOCK });
  other = await channelBrand(stack, P, sim, { skus: ['A'], stock: 5 });
  assert.equal((await br.api.patch(br.base, { timezone: TZ })).status, 200);
  await stack.startWorker();
  await converge([br, other]);
  const [A, B] = br.skus;
  // by hand: a sale without a channel and a receipt
  assert.equal((await br.api.post(`${br.base}/movements`, { kind: 'sale', lines: [{ sku: A, qty: 3 }] })).status, 201);
  assert.equal((await br.api.post(`${br.base}/movements`, { kind: 'receipt', lines: [{ sku: B, qty: 10 }] })).status, 201);
  // through the channels: Shopify sells 2 of A, Amazon 1 of A and 4 of B
  const order = async (kind, lines) => {
    const o = await br.sim.post(`/_sim/accounts/${br.conns[kind].account.id}/orders`, { lines });
    assert.equal(o.status, 201, o.text);
  };
  await order('shopify', [{ sku: A, quantity: 2 }]);
  await order('amazon', [{ sku: A, quantity: 1 }, { sku: B, quantity: 4 }]);
  await waitFor(async () => {
    await runNow(br, ['poll_orders']);
    const sales = (await movements(br, A)).concat(await movements(br, B)).filter((m) => m.kind === 'sale' && m.channel_id);
    return sales.reduce((n, m) => n + m.qty, 0) === 7;
  }, { timeout: 60000, interval: 1000, what: 'the channel orders recorded as sales' });
  await converge([br]);
});
after(async () => { await stack?.stop(); });

test('stock series: the balance after every movement and what each channel was last sent', async () => {
  const [A] = br.skus;
  const r = await br.api.get(`${br.base}/skus/${A}/stock-series`);
  assert.equal(r.status, 200, r.text);
  const s = r.json;
  assert.equal(s.sku, A);
  assert.equal(s.days, 14);
  assert.equal(s.timezone, TZ);
  assert.equal(s.truncated, false);
  assert.equal(s.start, null, 'the SKU was created inside the window');
  const moves = await movements(br, A);
  assert.deepEqual(s.points.map((p) => [p.movement_id, p.kind, p.qty, p.on_hand, p.committed, p.available]),
    moves.map((m) => [m.id, m.kind, m.qty, m.on_hand_after, m.committed_after, m.on_hand_after - m.committed_after]));
  assert.deepEqual(s.points.map((p) => p.kind).sort(), ['receipt', 'sale', 'sale', 'sale']);
  const bal = await balance(br, A);
  const last = s.points.at(-1);
  assert.equal(last.on_hand, bal.on_hand);
  assert.equal(last.available, STOCK - 6);
  // one series per listing, named by its connection; the last quantity each acknowledged is what it shows now
  assert.deepEqual(s.channels.map((c) => c.channel).sort(), ['amazon', 'shopify', 'walmart']);
  const listings = (await br.api.get(`${br.base}/listings?limit=200`)).json.items;
  for (const c of s.channels) {
    assert.ok(c.connection, 'the connection is named');
    assert.ok(c.points.length >= 1, `${c.channel}: pushes in the window`);
    assert.equal(c.points[0].qty, STOCK, `${c.channel}: the first push published the receipt`);
    const l = listings.find((x) => x.id === c.listing_id);
    assert.ok(l, `${c.channel}: the listing ${c.listing_id}`);
    assert.equal(c.points.at(-1).qty, l.pushed_qty, `${c.channel}: the last acknowledged quantity is the listing's`);
    assert.equal(c.points.at(-1).qty, STOCK - 6, `${c.channel}: every channel was told of the six sold`);
    for (let i = 1; i < c.points.length; i++) assert.ok(c.points[i - 1].at <= c.points[i].at, 'oldest first');
  }
  // a shorter window holds the same (everything happened today)
  const one = (await br.api.get(`${br.base}/skus/${A}/stock-series?days=1`)).json;
  assert.equal(one.points.length, moves.length);
});

test('stock series: at most 2,000 movements, the newest, and it says so', async () => {
  const code = `MANY-${br.id.slice(0, 6)}`;
  assert.equal((await br.api.post(`${br.base}/skus`, { code })).status, 201);
  const N = 2001;
  for (let i = 0; i < N; i += 20)
    await Promise.all(Array.from({ length: Math.min(20, N - i) }, async () => {
      const r = await br.api.post(`${br.base}/movements`, { kind: 'receipt', lines: [{ sku: code, qty: 1 }] });
      assert.equal(r.status, 201, r.text);
    }));
  const s = (await br.api.get(`${br.base}/skus/${code}/stock-series`)).json;
  assert.equal(s.truncated, true);
  assert.equal(s.points.length, 2000);
  // the same order as the SKU's history (time, then id): all but its oldest
  const all = await movements(br, code);
  assert.equal(all.length, N);
  assert.deepEqual(s.points.map((p) => p.movement_id), all.slice(1).map((m) => m.id));
  assert.equal(Math.max(...s.points.map((p) => p.on_hand)), N);
  assert.deepEqual(s.channels, []);
});

test('units sold per channel per day, brand-wide and per SKU, on the brand\'s calendar', async () => {
  const [A, B] = br.skus;
  const r = await br.api.get(`${br.base}/sales?days=7`);
  assert.equal(r.status, 200, r.text);
  const s = r.json;
  assert.equal(s.timezone, TZ);
  assert.equal(s.dates.length, 7);
  assert.equal(s.to, today(TZ));
  assert.equal(s.dates.at(-1), today(TZ));
  assert.equal(s.from, s.dates[0]);
  const by = Object.fromEntries(s.channels.map((c) => [c.channel ?? 'none', c]));
  assert.deepEqual(Object.keys(by).sort(), ['amazon', 'none', 'shopify', 'walmart']);
  assert.equal(by.none.connection, null);
  assert.equal(by.shopify.connection_id, br.conns.shopify.id);
  const zeros = Array(6).fill(0);
  assert.deepEqual(by.shopify.units, [...zeros, 2]);
  assert.deepEqual(by.amazon.units, [...zeros, 5]);
  assert.deepEqual(by.walmart.units, [...zeros, 0]);
  assert.deepEqual(by.none.units, [...zeros, 3]);
  assert.equal(s.total, 10);
  assert.equal(by.amazon.total, 5);
  // one SKU
  const a = (await br.api.get(`${br.base}/sales?days=7&sku=${encodeURIComponent(A)}`)).json;
  assert.equal(a.sku, A);
  const ba = Object.fromEntries(a.channels.map((c) => [c.channel ?? 'none', c.units.at(-1)]));
  assert.deepEqual(ba, { amazon: 1, shopify: 2, walmart: 0, none: 3 });
  const b = (await br.api.get(`${br.base}/sales?sku=${encodeURIComponent(B)}`)).json;
  assert.equal(b.dates.length, 14, 'the default window is 14 days');
  assert.deepEqual(Object.fromEntries(b.channels.map((c) => [c.channel ?? 'none', c.total])), { amazon: 4, shopify: 0, walmart: 0 },
    'no series for sales without a channel when there were none');
});

test('sell-through and days of cover follow their definitions', async () => {
  const [A, B] = br.skus;
  const r = await br.api.get(`${br.base}/sell-through`);
  assert.equal(r.status, 200, r.text);
  const s = r.json;
  const a = s.skus.find((x) => x.sku === A), b = s.skus.find((x) => x.sku === B);
  const availA = (await balance(br, A)).available, availB = (await balance(br, B)).available;
  assert.equal(availA, STOCK - 6);
  assert.equal(availB, STOCK + 10 - 4);
  const round = (v, d) => Math.round(v * 10 ** d) / 10 ** d;
  assert.equal(a.units_sold, 6);
  assert.equal(a.available, availA);
  assert.equal(a.sell_through, round(6 / (6 + availA), 4));
  assert.equal(a.days_of_cover, round(availA / (6 / 14), 1));
  assert.equal(b.units_sold, 4);
  assert.equal(b.sell_through, round(4 / (4 + availB), 4));
  assert.equal(b.days_of_cover, round(availB / (4 / 14), 1));
  assert.deepEqual(s.skus.map((x) => x.sku).slice(0, 2), [A, B], 'the SKU that runs out first comes first');
  assert.equal(s.brand.units_sold, 10);
  const rest = s.skus.slice(2).reduce((n, x) => n + x.available, 0); // SKUs without sales (the test above)
  assert.ok(s.skus.slice(2).every((x) => x.units_sold === 0 && x.days_of_cover === null && x.sell_through === (x.available ? 0 : null)));
  assert.equal(s.brand.available, availA + availB + rest);
  assert.equal(s.brand.sell_through, round(10 / (10 + availA + availB + rest), 4));
  assert.equal(s.brand.days_of_cover, round((availA + availB + rest) / (10 / 14), 1));
  assert.equal(s.skus_total, s.skus.length);
  const one = (await br.api.get(`${br.base}/sell-through?sku=${encodeURIComponent(A)}&days=3`)).json;
  assert.equal(one.days, 3);
  assert.deepEqual(one.skus.map((x) => x.sku), [A]);
  assert.equal(one.brand.units_sold, 6);
});

test('push lag per hour: the connection\'s own samples', async () => {
  for (const kind of ['shopify', 'amazon']) {
    const id = br.conns[kind].id;
    // Amazon applies later: its lag is measured by the read-back, from the channel's own time of applying
    await waitFor(async () => {
      if (kind === 'amazon') await runNow(br, ['read_back']);
      return (await br.api.get(`${br.base}/connections/${id}/health`)).json.push_lag.samples > 0;
    }, { timeout: 30000, interval: 1000, what: `${kind}: lag samples` });
    const r = await br.api.get(`${br.base}/connections/${id}/push-lag`);
    assert.equal(r.status, 200, r.text);
    const s = r.json;
    const health = (await br.api.get(`${br.base}/connections/${id}/health`)).json;
    assert.equal(s.connection, health.name);
    assert.equal(s.bucket, 'hour');
    assert.equal(s.days, 7);
    assert.ok(s.samples > 0, `${kind}: pushes were measured`);
    assert.equal(s.samples, health.push_lag.samples, `${kind}: every sample of the last 7 days`);
    assert.equal(s.points.reduce((n, p) => n + p.samples, 0), s.samples);
    for (const p of s.points) assert.ok(p.p50_ms <= p.p99_ms && p.p99_ms <= p.max_ms);
    if (s.points.length === 1) {
      assert.equal(s.points[0].p50_ms, health.push_lag.p50_ms);
      assert.equal(s.points[0].p99_ms, health.push_lag.p99_ms);
    }
    const d = (await br.api.get(`${br.base}/connections/${id}/push-lag?bucket=day&days=2`)).json;
    assert.equal(d.points.reduce((n, p) => n + p.samples, 0), s.samples);
    assert.ok(d.points.length <= 2);
  }
});

test('another brand\'s SKU or connection is not found; a bad window is 422', async () => {
  const [A] = br.skus;
  const foreignSku = other.skus[0], foreignConn = other.conns.shopify.id;
  for (const path of [`/skus/${foreignSku}/stock-series`, `/sales?sku=${foreignSku}`, `/sell-through?sku=${foreignSku}`,
    `/connections/${foreignConn}/push-lag`, `/skus/NOPE/stock-series`, `/sales?sku=NOPE`]) {
    const r = await br.api.get(`${br.base}${path}`);
    assert.equal(r.status, 404, `${path}: ${r.text}`);
  }
  // the other brand's own token cannot read this brand's series
  assert.equal((await other.api.get(`${br.base}/skus/${A}/stock-series`)).status, 404);
  for (const [path, field] of [[`/skus/${A}/stock-series?days=0`, 'days'], [`/skus/${A}/stock-series?days=91`, 'days'],
    ['/sales?days=abc', 'days'], ['/sales?days=', 'days'], ['/sales?sku=', 'sku'], ['/sell-through?days=1.5', 'days'],
    [`/connections/${br.conns.shopify.id}/push-lag?bucket=week`, 'bucket'],
    [`/connections/${br.conns.shopify.id}/push-lag?days=-1`, 'days']]) {
    const r = await br.api.get(`${br.base}${path}`);
    assert.equal(r.status, 422, `${path}: ${r.text}`);
    assert.equal(r.json.error.field, field, path);
  }
  assert.equal((await br.api.get(`${br.base}/sales?days=90`)).json.dates.length, 90);
});
