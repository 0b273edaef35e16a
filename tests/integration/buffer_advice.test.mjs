// buffer_advice.test.mjs — the buffer advisor (migration 0028, GET/POST
// /api/v1/brands/{bid}/connections/{cid}/buffer-advice[/apply]): per active
// listing, the buffer in force and where it comes from, the units expected
// to sell on the brand's OTHER channels during this channel's p99 push lag
// (λ), the suggestion ceil(λ), and for each choice the expected units
// oversold and stranded per stock-out under N ~ Poisson(λ) — checked here
// against sums computed independently in JavaScript.  Applying sets per-
// listing buffer rules within min/max, writes one audit record per change,
// and the channel receives the new quantity.  Lags and velocities are
// injected by SQL (the arithmetic is what is tested; measuring them is 0023's).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from './lib/stack.mjs';
import { startSyncStack, channelBrand, converge, channelView } from './lib/sync.mjs';
import { brand, token, tokenClient } from './lib/world.mjs';

let stack, P, sim, br, worker, other;
const HOUR_MS = 3600000;

before(async () => {
  ({ stack, sim, P } = await startSyncStack());
  br = await channelBrand(stack, P, sim, { skus: ['V1', 'V2'], stock: 20, webhooks: false, pollSeconds: 3600 });
  worker = await stack.startWorker();
  await converge([br]);
  const B = await brand(P);
  other = { api: tokenClient(stack.url, (await token(P, B.id, 'brand_owner')).token), base: `/api/v1/brands/${B.id}` };
});
after(async () => { await stack?.stop(); });

const sql = (text, params) => stack.pool.query(text, params);
const advice = async (cid, api = br.api, base = br.base) => api.get(`${base}/connections/${cid}/buffer-advice`);

/** P(N = k) for N ~ Poisson(lambda), by the recurrence from P(0) = e^-lambda. */
function pmf(lambda, kmax) {
  const p = [Math.exp(-lambda)];
  for (let k = 1; k <= kmax; k++) p.push(p[k - 1] * lambda / k);
  return p;
}
/** E[max(0, N − b)] and E[max(0, b − N)], summed over k = 0..200. */
function costs(lambda, b) {
  const p = pmf(lambda, 200);
  let over = 0, stranded = 0;
  p.forEach((pk, k) => { if (k > b) over += (k - b) * pk; if (k < b) stranded += (b - k) * pk; });
  return { over, stranded };
}

async function listingOf(kind, sku) {
  const r = await br.api.get(`${br.base}/listings?connection=${br.conns[kind].id}&sku=${encodeURIComponent(sku)}`);
  assert.equal(r.status, 200, r.text);
  return r.json.items[0];
}

let amazon, v1, v2;

test('the advice: λ from other channels × p99 lag, ceil(λ), oversold and stranded per choice, exactly', async () => {
  amazon = br.conns.amazon.id;
  const [s1, s2] = br.skus;
  v1 = await listingOf('amazon', s1);
  v2 = await listingOf('amazon', s2);
  // V1: a listing rule of 1 unit; V2: the connection's automatic buffer
  assert.equal((await br.api.patch(`${br.base}/listings/${v1.id}`, { rules: { buffer: 1 } })).status, 200);
  assert.equal((await br.api.patch(`${br.base}/connections/${amazon}`, { rules: { buffer: 'auto' } })).status, 200);
  // Amazon's push lag: 1024 samples of one hour (p99 = 1 h); V1 sells 1.5/h on Shopify, 1/h on Walmart,
  // 7/h on Amazon itself (not counted: the advisor counts what sells elsewhere); V2 sells only on Amazon.
  await sql('SELECT push_lag_record($1, $2, array_fill($3::bigint, ARRAY[1024]))', [br.id, amazon, HOUR_MS]);
  const vel = [[s1, 'shopify', 1.5], [s1, 'walmart', 1.0], [s1, 'amazon', 7], [s2, 'amazon', 2]];
  for (const [code, kind, uph] of vel) {
    await sql(`INSERT INTO sku_velocity (tenant_id, sku_id, connection_id, units_per_hour)
               SELECT $1, k.id, $3, $4 FROM skus k WHERE k.tenant_id = $1 AND k.code = $2
               ON CONFLICT (tenant_id, sku_id, connection_id) DO UPDATE SET units_per_hour = excluded.units_per_hour`,
    [br.id, code, br.conns[kind].id, uph]);
  }
  const r = await advice(amazon);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.connection_id, amazon);
  assert.equal(r.json.push_lag_p99_ms, HOUR_MS);
  assert.deepEqual(r.json.listings.map((l) => l.sku), [s1, s2]);
  const [a1, a2] = r.json.listings;

  // V1: λ = (1.5 + 1) × 1 h = 2.5 → suggested 3
  assert.equal(a1.listing_id, v1.id);
  assert.equal(a1.current_buffer, 1);
  assert.equal(a1.current_setting, 1);
  assert.equal(a1.current_set_on, 'listing');
  assert.equal(a1.other_units_per_hour, 2.5);
  assert.equal(a1.push_lag_p99_ms, HOUR_MS);
  assert.ok(Math.abs(a1.expected_elsewhere - 2.5) < 1e-9, `λ ${a1.expected_elsewhere}`);
  assert.equal(a1.suggested_buffer, 3);
  assert.deepEqual(a1.not_measured, []);
  assert.deepEqual(a1.choices.map((c) => c.buffer), [0, 1, 2, 3, 4]);
  assert.deepEqual(a1.choices.map((c) => c.labels), [['none'], ['current'], ['suggested_minus_1'], ['suggested'], ['suggested_plus_1']]);
  for (const c of a1.choices) {
    const want = costs(2.5, c.buffer);
    assert.ok(Math.abs(c.expected_oversold - want.over) < 2e-6, `b=${c.buffer}: oversold ${c.expected_oversold} vs ${want.over}`);
    assert.ok(Math.abs(c.expected_stranded - want.stranded) < 2e-6, `b=${c.buffer}: stranded ${c.expected_stranded} vs ${want.stranded}`);
  }
  // a check on the JS itself: with no buffer the oversold units are λ, and oversold − stranded = λ − b
  assert.ok(Math.abs(costs(2.5, 0).over - 2.5) < 1e-12);
  assert.ok(Math.abs(costs(2.5, 3).over - costs(2.5, 3).stranded - (2.5 - 3)) < 1e-12);

  // V2: nothing sells elsewhere → not measured, suggested 0; in force: the automatic buffer
  const auto = Number((await sql('SELECT auto_buffer($1, k.id, $3) AS b FROM skus k WHERE k.tenant_id = $1 AND k.code = $2',
    [br.id, s2, amazon])).rows[0].b);
  assert.ok(auto > 0, 'Amazon\'s own sales size its automatic buffer');
  assert.equal(a2.current_buffer, auto);
  assert.equal(a2.current_setting, 'auto');
  assert.equal(a2.current_set_on, 'connection');
  assert.deepEqual(a2.not_measured, ['velocity']);
  assert.equal(a2.other_units_per_hour, null);
  assert.equal(a2.expected_elsewhere, 0);
  assert.equal(a2.suggested_buffer, 0);
  const none = a2.choices.find((c) => c.buffer === 0);
  assert.deepEqual(none.labels, ['suggested', 'none']);
  assert.equal(none.expected_oversold, 0);
  const cur = a2.choices.find((c) => c.labels.includes('current'));
  assert.equal(cur.expected_stranded, auto, 'with nothing selling elsewhere every held unit is stranded');
});

test('a connection without lag samples says so and suggests 0', async () => {
  const wal = br.conns.walmart.id;
  await sql('UPDATE channel_connections SET push_lag_p99_ms = NULL WHERE tenant_id = $1 AND id = $2', [br.id, wal]);
  const r = await advice(wal);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.listings.length, 2);
  for (const l of r.json.listings) {
    assert.ok(l.not_measured.includes('push_lag'), JSON.stringify(l));
    assert.equal(l.suggested_buffer, 0);
    assert.equal(l.expected_elsewhere, 0);
  }
});

test('apply within bounds: the listing rule changes, one audit record, the channel gets the new quantity', async () => {
  const r = await br.api.post(`${br.base}/connections/${amazon}/buffer-advice/apply`,
    { listing_ids: [v1.id], min: 0, max: 2, reason: 'weekly buffer review' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.connection_id, amazon);
  assert.deepEqual(r.json.changed, [{ listing_id: v1.id, sku: br.skus[0], from: 1, from_setting: 1, to: 2, suggested: 3 }]);
  assert.equal(r.json.unchanged, 0);
  const l = await listingOf('amazon', br.skus[0]);
  assert.equal(l.rules.buffer, 2);
  assert.equal(l.desired_qty, 20 - 2);
  // the audit record
  const audit = await br.api.get(`${br.base}/audit?action=listing.buffer_advice`);
  assert.equal(audit.status, 200, audit.text);
  const mine = audit.json.items.filter((e) => e.object_id === v1.id);
  assert.equal(mine.length, 1, JSON.stringify(audit.json.items));
  assert.equal(mine[0].object_type, 'listing');
  assert.equal(mine[0].summary.from, 1);
  assert.equal(mine[0].summary.to, 2);
  assert.equal(mine[0].summary.suggested, 3);
  assert.equal(mine[0].summary.reason, 'weekly buffer review');
  assert.equal(mine[0].summary.max, 2);
  // re-pushed: Amazon shows the new number
  await waitFor(async () => (await channelView(br, 'amazon'))[v1.external_sku]?.quantity === 18,
    { timeout: 30000, what: 'Amazon showing 18 units of V1' });
});

test('apply to all: suggestion clamped to min; applying again changes nothing', async () => {
  const r = await br.api.post(`${br.base}/connections/${amazon}/buffer-advice/apply`, { min: 1 });
  assert.equal(r.status, 200, r.text);
  const by = Object.fromEntries(r.json.changed.map((c) => [c.sku, c]));
  assert.equal(by[br.skus[0]].from, 2);
  assert.equal(by[br.skus[0]].to, 3);
  assert.equal(by[br.skus[1]].from_setting, 'auto');
  assert.equal(by[br.skus[1]].suggested, 0);
  assert.equal(by[br.skus[1]].to, 1);
  const again = await br.api.post(`${br.base}/connections/${amazon}/buffer-advice/apply`, { min: 1 });
  assert.equal(again.status, 200, again.text);
  assert.deepEqual(again.json.changed, []);
  assert.equal(again.json.unchanged, 2);
  const after = (await advice(amazon)).json.listings;
  assert.deepEqual(after.map((l) => [l.current_buffer, l.current_set_on]), [[3, 'listing'], [1, 'listing']]);
  await waitFor(async () => {
    const v = await channelView(br, 'amazon');
    return v[v1.external_sku]?.quantity === 17 && v[v2.external_sku]?.quantity === 19;
  }, { timeout: 30000, what: 'Amazon showing 17 and 19' });
});

test('roles: a viewer reads the advice, cannot apply; an operator applies', async () => {
  const viewer = tokenClient(stack.url, (await token(P, br.id, 'viewer')).token);
  assert.equal((await advice(amazon, viewer)).status, 200);
  const no = await viewer.post(`${br.base}/connections/${amazon}/buffer-advice/apply`, {});
  assert.equal(no.status, 403, no.text);
  const op = tokenClient(stack.url, (await token(P, br.id, 'operator')).token);
  const yes = await op.post(`${br.base}/connections/${amazon}/buffer-advice/apply`, { min: 1 });
  assert.equal(yes.status, 200, yes.text);
});

test('tenancy: another brand\'s connection answers 404 exactly like a random one', async () => {
  const random = '00000000-0000-4000-8000-000000000001';
  const theirs = await advice(amazon, other.api, other.base);
  const none = await advice(random, other.api, other.base);
  assert.equal(theirs.status, 404, theirs.text);
  assert.equal(none.status, 404);
  assert.equal(theirs.json.error.message, none.json.error.message);
  const ap = await other.api.post(`${other.base}/connections/${amazon}/buffer-advice/apply`, {});
  const ap2 = await other.api.post(`${other.base}/connections/${random}/buffer-advice/apply`, {});
  assert.equal(ap.status, 404, ap.text);
  assert.equal(ap2.status, 404);
  assert.equal(ap.json.error.message, ap2.json.error.message);
  // the brand's own path with the other brand's token: 403/404, never the advice
  const cross = await other.api.get(`${br.base}/connections/${amazon}/buffer-advice`);
  assert.ok([403, 404].includes(cross.status), cross.text);
  // a listing of another connection is not this connection's
  const shopV1 = await listingOf('shopify', br.skus[0]);
  const wrong = await br.api.post(`${br.base}/connections/${amazon}/buffer-advice/apply`, { listing_ids: [shopV1.id] });
  assert.equal(wrong.status, 422, wrong.text);
  assert.equal(wrong.json.error.field, 'listing_ids');
  assert.match(wrong.json.error.message, new RegExp(shopV1.id));
});

test('bad input: 422 naming the field, never 5xx, nothing changed', async () => {
  const url = `${br.base}/connections/${amazon}/buffer-advice/apply`;
  const before = (await advice(amazon)).json.listings.map((l) => l.current_buffer);
  const cases = [
    [{ min: 3, max: 1 }, 'min'],
    [{ min: -1 }, 'min'],
    [{ max: 'two' }, 'max'],
    [{ min: 1.5 }, 'min'],
    [{ listing_ids: 'all' }, 'listing_ids'],
    [{ listing_ids: ['not-a-uuid'] }, 'listing_ids'],
    [{ listing_ids: [null] }, 'listing_ids'],
    [{ listing_ids: ['00000000-0000-4000-8000-000000000002'] }, 'listing_ids'],
    [{ reason: '' }, 'reason'],
    [{ reason: 7 }, 'reason'],
    [{ bogus: 1 }, 'bogus'],
    [{ min: null }, 'min'],
  ];
  for (const [body, field] of cases) {
    const r = await br.api.post(url, body);
    assert.equal(r.status, 422, `${JSON.stringify(body)}: ${r.status} ${r.text}`);
    assert.equal(r.json.error.field, field, `${JSON.stringify(body)}: ${r.text}`);
  }
  const notUuid = await br.api.get(`${br.base}/connections/nope/buffer-advice`);
  assert.equal(notUuid.status, 404);
  assert.deepEqual((await advice(amazon)).json.listings.map((l) => l.current_buffer), before);
});

test('large λ (Stirling terms, the summing window) and a huge buffer set by hand stay exact', async () => {
  const shop = br.conns.shopify.id;
  const l = await listingOf('shopify', br.skus[0]);
  assert.equal((await br.api.patch(`${br.base}/listings/${l.id}`, { rules: { buffer: 1000000000 } })).status, 200);
  // V1 sells 7/h on Amazon and 1/h on Walmart: 8/h elsewhere; a p99 lag of 187.5 h makes λ = 1500.
  await sql('SELECT push_lag_record($1, $2, array_fill($3::bigint, ARRAY[1024]))', [br.id, shop, 187.5 * HOUR_MS]);
  const r = await advice(shop);
  assert.equal(r.status, 200, r.text);
  const a = r.json.listings.find((x) => x.listing_id === l.id);
  assert.equal(a.push_lag_p99_ms, 187.5 * HOUR_MS);
  assert.equal(a.other_units_per_hour, 8);
  assert.ok(Math.abs(a.expected_elsewhere - 1500) < 1e-9);
  assert.equal(a.suggested_buffer, 1500);
  // ln k! summed exactly, P(N = k) in logarithms, over k = 0..4000
  const lam = 1500, lnf = [0];
  for (let k = 1; k <= 4000; k++) lnf.push(lnf[k - 1] + Math.log(k));
  const cost = (b) => {
    let over = 0, stranded = 0;
    for (let k = 0; k <= 4000; k++) {
      const p = Math.exp(k * Math.log(lam) - lam - lnf[k]);
      if (k > b) over += (k - b) * p; else if (k < b) stranded += (b - k) * p;
    }
    return { over, stranded };
  };
  assert.deepEqual(a.choices.map((c) => c.buffer), [0, 1499, 1500, 1501, 1000000000]);
  for (const c of a.choices.filter((x) => x.buffer < 4000)) {
    const want = cost(c.buffer);
    assert.ok(Math.abs(c.expected_oversold - want.over) < 2e-6, `b=${c.buffer}: oversold ${c.expected_oversold} vs ${want.over}`);
    assert.ok(Math.abs(c.expected_stranded - want.stranded) < 2e-6, `b=${c.buffer}: stranded ${c.expected_stranded} vs ${want.stranded}`);
  }
  assert.ok(a.choices[2].expected_oversold > 10, 'at λ = 1500 a buffer of λ still oversells about σ/√(2π) units');
  const huge = a.choices[4];
  assert.deepEqual(huge.labels, ['current']);
  assert.equal(huge.expected_oversold, 0);
  assert.equal(huge.expected_stranded, 1000000000 - 1500);
});
