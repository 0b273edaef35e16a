// sync_idle.test.mjs — an idle worker costs next to nothing, also when some of
// its listings cannot be pushed yet.  Three brands: one converged and quiet,
// one whose Amazon account fails every call (its listings back off and the
// connection's circuit opens), one with a paused connection and listings
// waiting behind it.  Once the setup's own transactions are published, the
// transactions PostgreSQL counts for the test's database over ten quiet
// seconds stay under ten a second: serve's and the worker's own periodic work
// and the failing connection's retries, not a claim loop (the worker used to
// claim every brand's listings again every millisecond: ~1,500
// transactions/s with nothing to push).  A count, not a timing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { sleep, waitFor, superQuery } from './lib/stack.mjs';
import { startSyncStack, channelBrand, converge } from './lib/sync.mjs';

let stack, P, sim;

before(async () => {
  ({ stack, sim, P } = await startSyncStack());
});
after(async () => { await stack?.stop(); });

/** Transactions PostgreSQL has published for the test's database (read from another database). */
async function xacts() {
  const r = await superQuery(stack.cluster, 'postgres',
    'SELECT xact_commit + xact_rollback AS n FROM pg_stat_database WHERE datname = $1', [stack.db]);
  return Number(r.rows[0].n);
}

test('idle, with listings it cannot push yet, the worker runs under ten transactions a second', async (t) => {
  const quiet = await channelBrand(stack, P, sim, { skus: ['Q1', 'Q2'], stock: 30, webhooks: false, pollSeconds: 3600 });
  const failing = await channelBrand(stack, P, sim, { skus: ['F1', 'F2'], stock: 30, webhooks: false, pollSeconds: 3600 });
  const paused = await channelBrand(stack, P, sim, { skus: ['P1', 'P2'], stock: 30, webhooks: false, pollSeconds: 3600 });
  await stack.startWorker();
  await converge([quiet, failing, paused]);

  // Amazon fails every call for `failing`; Walmart of `paused` is paused.
  const amz = failing.conns.amazon;
  assert.equal((await failing.sim.put(`/_sim/accounts/${amz.account.id}/faults`, { error_rate: 1, error_status: 503 })).status, 200);
  const wm = paused.conns.walmart;
  assert.equal((await paused.api.patch(`${paused.base}/connections/${wm.id}`, { status: 'paused' })).status, 200);
  for (const br of [failing, paused])
    for (const sku of br.skus)
      assert.equal((await br.api.post(`${br.base}/movements`, { kind: 'sale', sku, qty: 1 })).status, 201);
  await waitFor(async () => {
    const h = (await failing.api.get(`${failing.base}/connections/${amz.id}/health`)).json;
    return h.circuit === 'open' && h.queue_depth === 2;
  }, { timeout: 60000, interval: 500, what: 'the failing connection\'s circuit to open' });
  const behind = await stack.sql(`SELECT count(*)::int AS n FROM listings WHERE connection_id = $1
    AND desired_version > pushed_version`, [wm.id]);
  assert.equal(behind.rows[0].n, 2, 'the paused connection has listings waiting');

  // A backend publishes its counts within ten seconds of going idle: let the setup's be published first.
  await sleep(11000);
  const n0 = await xacts();
  await sleep(10000);
  const n1 = await xacts();
  t.diagnostic(`${n1 - n0} transactions in 10 quiet seconds`);
  assert.ok(n1 - n0 < 100, `${n1 - n0} transactions in 10 quiet seconds`);
});
