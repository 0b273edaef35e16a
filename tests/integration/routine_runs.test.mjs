// routine_runs.test.mjs — every run of a routine is recorded (migration
// 0025, GET /api/v1/brands/{bid}/routine-runs): a run the worker makes
// appears with its outcome, its evidence (orders ingested, …) and its
// timings; a run whose worker died (its lease lapsed with the run still
// 'running') is marked interrupted by the next claim, which runs the routine
// again at once (also when the worker is really killed with SIGKILL
// mid-run); the list filters by kind, connection and status, pages, and
// refuses bad filters naming the field; another brand sees none of it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from './lib/stack.mjs';
import { startSyncStack, channelBrand, converge, runNow } from './lib/sync.mjs';
import { brand, token, tokenClient } from './lib/world.mjs';

let stack, P, sim, br, worker;

before(async () => {
  // Short leases: a killed worker's routine is taken over within seconds.
  ({ stack, sim, P } = await startSyncStack({ env: { ONECOUNT_WORKER_LEASE_SECONDS: '3' } }));
  br = await channelBrand(stack, P, sim, { skus: ['R1', 'R2'], stock: 20, webhooks: false, pollSeconds: 3600 });
  worker = await stack.startWorker();
  await converge([br]);
});
after(async () => { await stack?.stop(); });

/** The brand's runs matching `query` (a query string without '?'), first page. */
async function runs(query = '', api = br.api, base = br.base) {
  const r = await api.get(`${base}/routine-runs${query ? `?${query}` : ''}`);
  assert.equal(r.status, 200, r.text);
  return r.json.items;
}

test('a run of a routine through the worker is recorded: outcome, evidence, timings; the routine keeps its last_*', async () => {
  const shop = br.conns.shopify;
  const o = await br.sim.post(`/_sim/accounts/${shop.account.id}/orders`, { lines: [{ sku: br.skus[0], quantity: 2 }] });
  assert.equal(o.status, 201, o.text);
  const t0 = Date.now();
  await runNow(br, ['poll_orders']);
  const run = await waitFor(async () => (await runs(`kind=poll_orders&connection_id=${shop.id}&status=ok`))
    .find((x) => Date.parse(x.started_at) >= t0 - 2000 && x.detail?.orders >= 1), { what: 'a poll run that took the order in' });
  assert.equal(run.kind, 'poll_orders');
  assert.equal(run.connection_id, shop.id);
  assert.match(run.connection, /^shopify-/);
  assert.equal(run.attempt, 1);
  assert.ok(run.worker.length > 0, 'the worker that ran it');
  assert.ok(Date.parse(run.due_at) <= Date.parse(run.started_at) + 1000, 'due before it started');
  assert.ok(Date.parse(run.finished_at) >= Date.parse(run.started_at));
  assert.ok(run.duration_ms >= 0 && run.duration_ms < 60000, `duration ${run.duration_ms}`);
  assert.equal(typeof run.detail.movements, 'number');
  const routine = (await br.api.get(`${br.base}/routines`)).json.find((r) => r.id === run.routine_id);
  assert.equal(routine.last_status, 'ok', 'the routine still shows its latest run');
  assert.equal(typeof routine.last_detail.orders, 'number');
});

test('a run whose worker died is marked interrupted and the routine runs again at once', async () => {
  const wal = br.conns.walmart;
  const routine = (await br.api.get(`${br.base}/routines`)).json
    .find((r) => r.kind === 'read_back' && r.connection_id === wal.id);
  // What a worker killed mid-run leaves: its lease lapsed, its run still 'running', the next run an hour away.
  const client = await stack.pool.connect();
  let dead;
  try {
    await client.query('BEGIN');
    await client.query(`UPDATE routines SET lease_owner = 'dead-worker', lease_until = now() - interval '1 second',
                          next_run_at = now() + interval '1 hour' WHERE tenant_id = $1 AND id = $2`, [br.id, routine.id]);
    dead = (await client.query(`INSERT INTO routine_runs (tenant_id, routine_id, connection_id, kind, due_at, started_at,
                                  worker) VALUES ($1, $2, $3, 'read_back', now() - interval '2 minutes',
                                  now() - interval '1 minute', 'dead-worker') RETURNING id::text`,
    [br.id, routine.id, wal.id])).rows[0].id;
    await client.query(`SELECT pg_notify('oc_events', $1::text)`, [br.id]);
    await client.query('COMMIT');
  } finally { client.release(); }

  const lost = await waitFor(async () => (await runs(`status=interrupted&connection_id=${wal.id}`))
    .find((x) => x.id === dead), { timeout: 30000, what: 'the dead run marked interrupted' });
  assert.match(lost.detail.error, /dead-worker/);
  assert.ok(lost.finished_at, 'an interrupted run is closed');
  const again = await waitFor(async () => (await runs(`kind=read_back&connection_id=${wal.id}&status=ok`))
    .find((x) => x.routine_id === routine.id && x.attempt === 2), { timeout: 30000, what: 'the routine run again' });
  assert.ok(Date.parse(again.started_at) >= Date.parse(lost.started_at));
  assert.equal(typeof again.detail.checked, 'number', JSON.stringify(again.detail));
  const none = await runs(`status=running&connection_id=${wal.id}`);
  assert.ok(!none.some((x) => x.id === dead), 'the dead run is not running any more');
});

test('a dead worker\'s run of a routine turned off since is closed by the brand\'s next claim, not left running', async () => {
  const routine = (await br.api.get(`${br.base}/routines`)).json.find((r) => r.kind === 'full_repush' && r.connection_id === br.conns.amazon.id);
  const dead = (await stack.sql(`WITH r AS (UPDATE routines SET enabled = false, lease_owner = 'dead-worker',
                                   lease_until = now() - interval '1 second' WHERE tenant_id = $1 AND id = $2 RETURNING id)
                                 INSERT INTO routine_runs (tenant_id, routine_id, connection_id, kind, due_at, worker)
                                 SELECT $1, r.id, $3, 'full_repush', now(), 'dead-worker' FROM r RETURNING id::text`,
  [br.id, routine.id, br.conns.amazon.id])).rows[0].id;
  await runNow(br, ['poll_returns']); // any claim in the brand
  const lost = await waitFor(async () => (await runs('status=interrupted&kind=full_repush')).find((x) => x.id === dead),
    { timeout: 30000, what: 'the orphan run closed' });
  assert.match(lost.detail.error, /dead-worker/);
  const row = (await stack.sql('SELECT lease_owner, enabled FROM routines WHERE tenant_id = $1 AND id = $2', [br.id, routine.id])).rows[0];
  assert.deepEqual(row, { lease_owner: null, enabled: false }, 'its lease cleared, still off');
  await stack.sql('UPDATE routines SET enabled = true WHERE tenant_id = $1 AND id = $2', [br.id, routine.id]);
});

test('the list filters, pages newest first, and names a bad filter', async () => {
  await runNow(br, ['velocity', 'full_repush']);
  await waitFor(async () => (await runs('kind=velocity&status=ok')).length > 0, { what: 'a velocity run' });
  const all = await runs('limit=200');
  assert.ok(all.length >= 3);
  for (let i = 1; i < all.length; i++)
    assert.ok(all[i - 1].started_at >= all[i].started_at, 'newest first');
  for (const x of await runs('kind=velocity')) {
    assert.equal(x.kind, 'velocity');
    assert.equal(x.connection_id, null, 'a brand routine has no connection');
  }
  const amz = br.conns.amazon.id;
  const mine = await runs(`connection_id=${amz}`);
  assert.ok(mine.length > 0 && mine.every((x) => x.connection_id === amz));
  assert.ok((await runs('status=failed')).every((x) => x.status === 'failed'));

  const p1 = await br.api.get(`${br.base}/routine-runs?limit=2`);
  assert.equal(p1.json.items.length, 2);
  assert.ok(p1.json.next_cursor);
  const p2 = await br.api.get(`${br.base}/routine-runs?limit=2&cursor=${encodeURIComponent(p1.json.next_cursor)}`);
  assert.equal(p2.status, 200, p2.text);
  // The next page goes on after the cursor (runs the worker starts meanwhile come before it, not in it).
  const last = p1.json.items[1];
  assert.ok(p2.json.items.length > 0);
  for (const x of p2.json.items) {
    assert.ok(!p1.json.items.some((y) => y.id === x.id), 'no run twice');
    assert.ok(x.started_at < last.started_at || (x.started_at === last.started_at && x.id < last.id), 'older than page 1');
  }

  for (const [q, field] of [['kind=nope', 'kind'], ['status=done', 'status'], ['connection_id=12', 'connection_id'],
    ['limit=0', 'limit']]) {
    const r = await br.api.get(`${br.base}/routine-runs?${q}`);
    assert.equal(r.status, 422, `${q}: ${r.text}`);
    assert.equal(r.json.error.field, field, r.text);
  }
});

test('a worker killed with SIGKILL mid-run: its run is marked interrupted once the lease lapses, and the routine runs again', async () => {
  const wal = br.conns.walmart;
  // Walmart's order reads hang for 15 s: the poll is mid-run when the worker dies.
  assert.equal((await br.sim.put(`/_sim/accounts/${wal.account.id}/faults`, { latency_ms: 15000, match: '/orders' })).status, 200);
  const t0 = Date.now();
  await runNow(br, ['poll_orders']);
  const running = await waitFor(async () => (await runs(`kind=poll_orders&connection_id=${wal.id}&status=running`))
    .find((x) => Date.parse(x.started_at) >= t0 - 2000), { timeout: 20000, what: 'the poll running' });
  await worker.stop('SIGKILL');
  assert.equal((await br.sim.del(`/_sim/accounts/${wal.account.id}/faults`)).status, 200);
  worker = await stack.startWorker();
  const lost = await waitFor(async () => (await runs(`status=interrupted&connection_id=${wal.id}`))
    .find((x) => x.id === running.id), { timeout: 30000, what: 'the killed run marked interrupted' });
  assert.match(lost.detail.error, /stopped mid-run/);
  const again = await waitFor(async () => (await runs(`kind=poll_orders&connection_id=${wal.id}&status=ok`))
    .find((x) => x.routine_id === running.routine_id && x.attempt === running.attempt + 1), { timeout: 30000, what: 'the poll run again' });
  assert.notEqual(again.worker, running.worker, 'another worker ran it');
  assert.equal(typeof again.detail.orders, 'number');
});

test("another brand sees none of this brand's runs", async () => {
  const other = await brand(P);
  const api = tokenClient(stack.url, (await token(P, other.id, 'brand_owner')).token);
  const base = `/api/v1/brands/${other.id}`;
  // (the new brand has runs of its own — its SOP's brand steps — but none of this brand's)
  const mine = new Set((await br.api.get(`${br.base}/routines`)).json.map((r) => r.id));
  assert.deepEqual((await runs('', api, base)).filter((x) => mine.has(x.routine_id)), []);
  assert.deepEqual(await runs(`connection_id=${br.conns.shopify.id}`, api, base), []);
  const across = await api.get(`${br.base}/routine-runs`);
  assert.ok([403, 404].includes(across.status), across.text);
  // The tenant wall, below the API: the brand's runs are invisible under the other brand.
  const c = await stack.pool.connect();
  try {
    await c.query('BEGIN');
    await c.query('SET LOCAL ROLE onecount_app');
    await c.query(`SELECT set_config('app.tenant_id', $1, true)`, [other.id]);
    assert.equal((await c.query('SELECT count(*)::int AS n FROM routine_runs WHERE tenant_id = $1', [br.id])).rows[0].n, 0);
    await c.query('ROLLBACK');
  } finally { c.release(); }
});
