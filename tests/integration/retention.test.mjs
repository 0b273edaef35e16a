// retention.test.mjs — the logs that only grew are pruned.  Rows older than
// their retention window (push_log, channel_events processed that long ago,
// drift_events, routine_runs, idempotency keys past their 24 hours, exception items closed
// longer than 90 days with their history) are deleted by the
// worker's prune job in batches of ONECOUNT_PRUNE_BATCH_ROWS, newer rows and
// unprocessed events are kept, and the ledger's own records (movements, the
// audit log) are never touched.  The job is claimed once across workers:
// two workers started together prune once.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startStack, waitFor } from './lib/stack.mjs';
import { portfolio, brand, token, tokenClient } from './lib/world.mjs';

let stack, P;

before(async () => {
  stack = await startStack({ env: { ONECOUNT_PRUNE_BATCH_ROWS: '10' } });
  P = await portfolio(stack);
});
after(async () => { await stack?.stop(); });

const count = async (sql, params) => Number((await stack.sql(sql, params)).rows[0].n);

test('rows older than their window are pruned in batches, newer ones kept, once across two workers', async () => {
  const b = await brand(P);
  const api = tokenClient(stack.url, (await token(P, b.id, 'brand_owner')).token);
  assert.equal((await api.post(`/api/v1/brands/${b.id}/skus`, { code: 'R1' })).status, 201);
  assert.equal((await api.post(`/api/v1/brands/${b.id}/movements`, { kind: 'receipt', lines: [{ sku: 'R1', qty: 5 }] },
    { 'idempotency-key': 'fresh-key' })).status, 201);
  const conn = randomUUID(), listing = randomUUID();
  const t = b.id;
  // push_log: 35 rows 40 days old (window 30 days), 5 from today
  await stack.sql(`INSERT INTO push_log (tenant_id, listing_id, connection_id, sku_id, qty, desired_version, status, sent_at)
    SELECT $1, $2, $3, 1, g, g, 'ok', now() - interval '40 days' + g * interval '1 second' FROM generate_series(1, 35) g`, [t, listing, conn]);
  await stack.sql(`INSERT INTO push_log (tenant_id, listing_id, connection_id, sku_id, qty, desired_version, status)
    SELECT $1, $2, $3, 1, g, g, 'ok' FROM generate_series(1, 5) g`, [t, listing, conn]);
  // channel_events: 23 processed 10 days ago (window 7 days); 1 received as long ago and not processed yet
  // (the worker processes it now: kept, its window starts then)
  await stack.sql(`INSERT INTO channel_events (tenant_id, connection_id, event_id, topic, body, received_at, processed_at)
    SELECT $1, $2, 'old-' || g, 'orders/create', '{}', now() - interval '10 days', now() - interval '10 days'
    FROM generate_series(1, 23) g`, [t, conn]);
  await stack.sql(`INSERT INTO channel_events (tenant_id, connection_id, event_id, topic, body, received_at)
    VALUES ($1, $2, 'stuck', 'orders/create', '{}', now() - interval '10 days')`, [t, conn]);
  // drift_events: 12 found 40 days ago (window 30 days), 2 new
  await stack.sql(`INSERT INTO drift_events (tenant_id, listing_id, connection_id, sku_id, classification, action, detected_at)
    SELECT $1, $2, $3, 1, 'channel_edit', 'repush', now() - interval '40 days' FROM generate_series(1, 12) g`, [t, listing, conn]);
  await stack.sql(`INSERT INTO drift_events (tenant_id, listing_id, connection_id, sku_id, classification, action)
    SELECT $1, $2, $3, 1, 'channel_edit', 'repush' FROM generate_series(1, 2) g`, [t, listing, conn]);
  // routine_runs: 11 started 40 days ago (kept as long as drift: 30 days), 1 new
  const routine = (await stack.sql(`INSERT INTO routines (tenant_id, step_key, kind, interval_seconds, enabled)
    VALUES ($1, 'retention_test', 'velocity', 3600, false) RETURNING id`, [t])).rows[0].id;
  await stack.sql(`INSERT INTO routine_runs (tenant_id, routine_id, kind, due_at, started_at, finished_at, status, worker)
    SELECT $1, $2, 'velocity', now() - interval '40 days', now() - interval '40 days', now() - interval '40 days', 'ok', 'w'
    FROM generate_series(1, 11) g`, [t, routine]);
  const newRun = (await stack.sql(`INSERT INTO routine_runs (tenant_id, routine_id, kind, due_at, finished_at, status, worker)
    VALUES ($1, $2, 'velocity', now(), now(), 'ok', 'w') RETURNING id`, [t, routine])).rows[0].id;
  // idempotency keys: 14 from two days ago (honoured 24 hours), plus the fresh one above
  await stack.sql(`INSERT INTO idempotency_keys (tenant_id, key, request_hash, status, body, created_at)
    SELECT $1, 'old-' || g, 'h', 201, '{}', now() - interval '2 days' FROM generate_series(1, 14) g`, [t]);
  // exceptions: 13 items that closed 100 days ago (window 90 days), each with two history rows; one that
  // closed 10 days ago
  await stack.sql(`WITH x AS (INSERT INTO exceptions (tenant_id, kind, subject, severity, state, live, title, opened_at, resolved_at)
    SELECT $1, 'low_stock', 'retention:' || g, 'info', 'resolved', false, 'old item ' || g, now() - interval '101 days',
           now() - CASE WHEN g <= 13 THEN interval '100 days' ELSE interval '10 days' END
      FROM generate_series(1, 14) g RETURNING tenant_id, id)
    INSERT INTO exception_events (tenant_id, exception_id, action) SELECT tenant_id, id, a FROM x, unnest(ARRAY['opened', 'closed']) a`, [t]);
  const movements = await count('SELECT count(*) AS n FROM movements WHERE tenant_id = $1', [t]);
  const audit = await count('SELECT count(*) AS n FROM audit_log WHERE tenant_id = $1', [t]);
  await stack.sql(`UPDATE worker_jobs SET next_run_at = now(), lease_owner = NULL, lease_until = NULL WHERE kind = 'prune'`);
  const before = (await stack.sql(`SELECT last_finished_at FROM worker_jobs WHERE kind = 'prune'`)).rows[0].last_finished_at;

  const [w1, w2] = await Promise.all([stack.startWorker(), stack.startWorker()]);
  const job = await waitFor(async () => {
    const r = (await stack.sql(`SELECT * FROM worker_jobs WHERE kind = 'prune'`)).rows[0];
    return r.last_finished_at && String(r.last_finished_at) !== String(before) && r.lease_owner === null && r;
  }, { timeout: 30000, what: 'the prune job to finish' });
  assert.equal(job.last_status, 'ok', JSON.stringify(job.last_detail));

  assert.equal(await count('SELECT count(*) AS n FROM push_log WHERE tenant_id = $1', [t]), 5);
  assert.equal(await count(`SELECT count(*) AS n FROM push_log WHERE tenant_id = $1 AND sent_at < now() - interval '1 day'`, [t]), 0);
  assert.deepEqual((await stack.sql(`SELECT event_id FROM channel_events WHERE tenant_id = $1`, [t])).rows.map((r) => r.event_id), ['stuck']);
  assert.equal(await count('SELECT count(*) AS n FROM drift_events WHERE tenant_id = $1', [t]), 2);
  assert.equal(await count(`SELECT count(*) AS n FROM routine_runs WHERE tenant_id = $1 AND started_at < now() - interval '1 day'`, [t]), 0);
  assert.equal(await count('SELECT count(*) AS n FROM routine_runs WHERE tenant_id = $1 AND id = $2', [t, newRun]), 1);
  assert.deepEqual((await stack.sql('SELECT key FROM idempotency_keys WHERE tenant_id = $1', [t])).rows.map((r) => r.key), ['fresh-key']);
  assert.deepEqual((await stack.sql(`SELECT title FROM exceptions WHERE tenant_id = $1 AND subject LIKE 'retention:%'`, [t])).rows
    .map((r) => r.title), ['old item 14']);
  assert.equal(await count(`SELECT count(*) AS n FROM exception_events e JOIN exceptions x ON x.tenant_id = e.tenant_id
    AND x.id = e.exception_id WHERE e.tenant_id = $1 AND x.subject LIKE 'retention:%'`, [t]), 2);
  assert.equal(await count('SELECT count(*) AS n FROM exception_events WHERE tenant_id = $1', [t]),
    await count(`SELECT count(*) AS n FROM exception_events e WHERE tenant_id = $1
      AND EXISTS (SELECT 1 FROM exceptions x WHERE x.tenant_id = e.tenant_id AND x.id = e.exception_id)`, [t]));
  assert.equal(await count('SELECT count(*) AS n FROM movements WHERE tenant_id = $1', [t]), movements);
  assert.equal(await count('SELECT count(*) AS n FROM audit_log WHERE tenant_id = $1', [t]), audit);

  // In batches of 10: 35 rows took four statements, and so on.
  const d = job.last_detail;
  assert.deepEqual(d.push_log, { deleted: 35, batches: 4 });
  assert.deepEqual(d.channel_events, { deleted: 23, batches: 3 });
  assert.deepEqual(d.drift_events, { deleted: 12, batches: 2 });
  assert.deepEqual(d.idempotency_keys, { deleted: 14, batches: 2 });
  assert.deepEqual(d.routine_runs, { deleted: 11, batches: 2 });
  assert.deepEqual(d.exceptions, { deleted: 13, batches: 2 });

  // One of the two workers ran it.
  const runs = [];
  for (const w of [w1, w2]) {
    const file = join(w.dir, 'worker.port');
    await waitFor(() => existsSync(file), { what: 'worker.port' });
    const text = await (await fetch(`http://127.0.0.1:${Number(readFileSync(file, 'utf8'))}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith('onecount_worker_jobs_total{job="prune"} '));
    runs.push(Number(line?.split(' ')[1]));
  }
  assert.deepEqual(runs.sort(), [0, 1], `prune runs per worker: ${runs}`);
  const next = (await stack.sql(`SELECT next_run_at - last_started_at AS gap FROM worker_jobs WHERE kind = 'prune'`)).rows[0].gap;
  assert.equal(next.hours, 1, 'the next run is an hour later (ONECOUNT_PRUNE_INTERVAL_SECONDS)');
});
