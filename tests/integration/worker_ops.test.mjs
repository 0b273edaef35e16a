// worker_ops.test.mjs — the worker's operations listener: on a port of its
// own (ONECOUNT_WORKER_LISTEN, port 0 by default, the port written to
// <data dir>/worker.port and logged), /healthz, /readyz (PostgreSQL
// reachable, LISTEN in place, the scan answering) and /metrics (Prometheus
// text of the worker's counters, which move as it works).  A worker whose
// database is unreachable stays alive but not ready.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, waitFor } from './lib/stack.mjs';
import { startSyncStack, channelBrand, converge } from './lib/sync.mjs';

let stack, P, sim;

before(async () => {
  ({ stack, sim, P } = await startSyncStack());
});
after(async () => { await stack?.stop(); });

/** The worker's ops address, from the port file it writes into its data folder. */
async function opsUrl(w) {
  const file = join(w.dir, 'worker.port');
  const port = await waitFor(() => existsSync(file) && Number(readFileSync(file, 'utf8')), { what: 'worker.port' });
  assert.ok(w.logs.some((l) => l.includes('"listening"') && l.includes('"worker"') && l.includes(`:${port}/`)),
    'the worker logs the address it listens on');
  return `http://127.0.0.1:${port}`;
}

/** One sample of the Prometheus text: `name{labels}` → value. */
function sample(text, series) {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

test('the worker serves /healthz, /readyz and /metrics on its own port; its counters move as it works', async () => {
  const w = await stack.startWorker();
  const url = await opsUrl(w);
  const health = await fetch(`${url}/healthz`);
  assert.equal(health.status, 200);
  assert.deepEqual(await health.json(), { status: 'ok' });

  const ready = await waitFor(async () => {
    const r = await fetch(`${url}/readyz`);
    return r.status === 200 && r.json();
  }, { what: 'the worker to be ready' });
  assert.equal(ready.status, 'ready');
  assert.equal(ready.checks.postgres, 'ok');
  assert.equal(ready.checks.listen, 'ok');
  assert.equal(ready.checks.scan, 'ok');

  const m0 = await (await fetch(`${url}/metrics`)).text();
  assert.match(m0, /^# TYPE onecount_worker_listings_pushed_total counter$/m);
  assert.match(m0, /^# TYPE onecount_db_transactions_total counter$/m);
  assert.doesNotMatch(m0, /brand=|tenant=/, 'no series per brand');
  const pushed0 = sample(m0, 'onecount_worker_listings_pushed_total{result="ok"}');
  assert.equal(typeof pushed0, 'number');

  const br = await channelBrand(stack, P, sim, { skus: ['M1', 'M2'], stock: 10, webhooks: false });
  await converge([br]);
  const m1 = await (await fetch(`${url}/metrics`)).text();
  assert.ok(sample(m1, 'onecount_worker_listings_pushed_total{result="ok"}') >= pushed0 + 6, 'six listings pushed');
  assert.ok(sample(m1, 'onecount_db_transactions_total{result="ok"}') > sample(m0, 'onecount_db_transactions_total{result="ok"}'));
  assert.ok(sample(m1, 'onecount_worker_push_claims_total') > 0);

  // Only what is served here, only GET and HEAD, errors in the one shape.
  const nf = await fetch(`${url}/api/v1/brands`);
  assert.equal(nf.status, 404);
  assert.equal((await nf.json()).error.code, 'not_found');
  const post = await fetch(`${url}/metrics`, { method: 'POST', body: '{}' });
  assert.equal(post.status, 405);
  const err = (await post.json()).error;
  assert.equal(err.code, 'method_not_allowed');
  assert.ok(err.request_id);
  await w.stop();
});

test('a worker that cannot reach PostgreSQL is alive but not ready', async () => {
  const w = await startServer({ databaseUrl: 'postgresql://onecount_app:x@127.0.0.1:1/none', redisUrl: stack.redis.url,
    command: 'worker' });
  try {
    const url = await opsUrl(w);
    assert.equal((await fetch(`${url}/healthz`)).status, 200);
    const r = await fetch(`${url}/readyz`);
    assert.equal(r.status, 503);
    const body = await r.json();
    assert.equal(body.status, 'not_ready');
    assert.notEqual(body.checks.postgres, 'ok');
  } finally {
    await w.stop();
  }
});

test('a fixed port and a port file of your own are honoured', async () => {
  const probe = await startServer({ databaseUrl: stack.databaseUrl, redisUrl: stack.redis.url, command: 'worker' });
  const free = Number(readFileSync(join(probe.dir, 'worker.port'), 'utf8'));
  await probe.stop('SIGTERM', { keepDir: true }); // its port is free again; its folder holds our port file
  const file = join(probe.dir, 'mine.port');
  const w = await stack.startWorker({ ONECOUNT_WORKER_LISTEN: `127.0.0.1:${free}`, ONECOUNT_WORKER_PORT_FILE: file });
  await waitFor(() => existsSync(file), { what: 'the port file' });
  assert.equal(Number(readFileSync(file, 'utf8')), free);
  assert.equal((await fetch(`http://127.0.0.1:${free}/healthz`)).status, 200);
  await w.stop();
  rmSync(probe.dir, { recursive: true, force: true });
});
