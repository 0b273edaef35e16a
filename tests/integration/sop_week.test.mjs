// sop_week.test.mjs — the default SOP run on the simulators for a week,
// time compressed: the portfolio's schedule of the coming 168 hours (the
// API's) is walked in order, each run brought forward to now and run by the
// real worker against the simulators (the first two occurrences of every
// routine, so each step runs and runs again).  The expected runs appear
// with their evidence, every human step opens its checklist item, a new SKU
// listed nowhere is found, and a return made on Shopify flows back into the
// master.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from './lib/stack.mjs';
import { startSyncStack, channelBrand, converge } from './lib/sync.mjs';

let stack, P, sim, br;

before(async () => {
  ({ stack, sim, P } = await startSyncStack());
  br = await channelBrand(stack, P, sim, { skus: ['W1', 'W2'], stock: 10, webhooks: false, pollSeconds: 3600 });
  await stack.startWorker();
  await converge([br]);
});
after(async () => { await stack?.stop(); });

async function asBrand(sql, params) {
  const c = await stack.pool.connect();
  try {
    await c.query('BEGIN');
    await c.query("SELECT set_config('app.tenant_id', $1, true)", [br.id]);
    const r = await c.query(sql, params);
    await c.query('COMMIT');
    return r;
  } finally { c.release(); }
}

test('a week of the default SOP: every step runs, human steps open, a new SKU is found, a return comes back', async () => {
  const [w1] = br.skus;
  // the week's events: a SKU created and listed nowhere; a Shopify sale of 2 units, shipped, one returned and restocked
  assert.equal((await br.api.post(`${br.base}/skus`, { code: 'NEWBIE', title: 'New this week' })).status, 201);
  const shop = br.conns.shopify.account.id;
  const o = await br.sim.post(`/_sim/accounts/${shop}/orders`, { lines: [{ sku: w1, quantity: 2 }] });
  assert.equal(o.status, 201, o.text);
  assert.equal((await br.sim.post(`/_sim/accounts/${shop}/orders/${o.json.id}/fulfill`, {})).status, 200);
  const ret = await br.sim.post(`/_sim/accounts/${shop}/orders/${o.json.id}/return`, { line: 0, quantity: 1, restock_type: 'return' });
  assert.equal(ret.status, 200, ret.text);

  // the week as the API schedules it: each routine's first two runs, in order
  const sched = await br.api.get(`${br.base}/schedule?hours=168&per_routine=2`);
  assert.equal(sched.status, 200, sched.text);
  const seen = new Map();
  const walk = sched.json.items.filter((x) => {
    const n = (seen.get(x.routine_id) || 0) + 1;
    seen.set(x.routine_id, n);
    return n <= 2;
  });
  const steps = new Set(walk.map((x) => x.step_key));
  for (const k of ['poll_orders', 'poll_orders_shopify', 'poll_returns', 'read_back', 'full_repush', 'velocity', 'unlisted_skus',
    'bundle_components', 'low_stock', 'connection_health', 'buffer_review', 'map_new_skus', 'review_oversells', 'returns_restocked'])
    assert.ok(steps.has(k), `the week's schedule has ${k}`);
  const runsOf = async (rid) => (await br.api.get(`${br.base}/routine-runs?limit=200`)).json.items.filter((x) => x.routine_id === rid);
  for (const x of walk) {
    const before = (await runsOf(x.routine_id)).length;
    await asBrand('UPDATE routines SET next_run_at = now() WHERE tenant_id = $1 AND id = $2', [br.id, x.routine_id]);
    await waitFor(async () => {
      const rs = await runsOf(x.routine_id);
      return rs.length > before && rs.every((r) => r.status !== 'running');
    }, { what: `a run of ${x.step_key} (${x.connection || 'brand'})`, timeout: 30000 });
  }

  // every run of the week ended ok, with its evidence
  const runs = (await br.api.get(`${br.base}/routine-runs?limit=200`)).json.items;
  const walked = (rid) => walk.filter((x) => x.routine_id === rid).length;
  for (const rid of seen.keys()) {
    const rs = runs.filter((r) => r.routine_id === rid);
    assert.ok(rs.length >= walked(rid), `${rid}: ${rs.length} runs of ${walked(rid)}`);
    for (const r of rs) assert.equal(r.status, 'ok', `${r.kind}: ${JSON.stringify(r.detail)}`);
  }
  // the human steps opened a checklist item for each of their runs (a weekly one once, a daily one twice)
  const items = (await br.api.get(`${br.base}/checklist?state=open&limit=200`)).json.items;
  for (const k of ['map_new_skus', 'review_oversells', 'returns_restocked'])
    assert.equal(items.filter((i) => i.step_key === k).length, walk.filter((x) => x.step_key === k).length, k);
  // the new SKU is found, on every channel
  const unlisted = runs.find((r) => r.kind === 'unlisted_skus');
  assert.deepEqual(unlisted.detail.found.map((f) => f.sku), ['NEWBIE']);
  assert.equal(unlisted.detail.found[0].missing_on.length, 3);
  // the return came back into the master: restocked on hand
  const returned = await waitFor(async () => (await br.api.get(`${br.base}/skus/${w1}/history?kind=return&limit=50`)).json.items,
    { what: 'the return in the ledger' });
  assert.equal(returned.length, 1);
  const bal = (await br.api.get(`${br.base}/skus/${w1}`)).json;
  assert.equal(bal.on_hand, 10 - 2 + 1, JSON.stringify(bal));
  const polls = runs.filter((r) => r.kind === 'poll_returns' && r.connection_id === br.conns.shopify.id);
  assert.ok(polls.some((r) => r.detail.returns >= 1 || r.detail.movements >= 1), JSON.stringify(polls.map((r) => r.detail)));
});
