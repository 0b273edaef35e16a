// foundation.test.mjs — the server runtime end to end: health, readiness
// flipping with PostgreSQL, errors, metrics, request ids, graceful shutdown.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { startStack, startPrivateStack, startRedis, startServer, serverEnv, client, waitFor, sleep, BIN } from './lib/stack.mjs';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { portfolio, brand } from './lib/world.mjs';

let stack;
before(async () => { stack = await startStack(); });
after(async () => { await stack?.stop(); });

test('healthz answers with security headers and a request id', async () => {
  const r = await stack.api.get('/healthz');
  assert.equal(r.status, 200);
  assert.deepEqual(r.json, { status: 'ok' });
  assert.match(r.headers.get('x-request-id'), /^[0-9a-f]{32}$/);
  assert.match(r.headers.get('content-security-policy'), /default-src 'self'/);
  assert.match(r.headers.get('content-security-policy'), /frame-ancestors 'none'/);
  assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
  assert.equal(r.headers.get('x-frame-options'), 'DENY');
  assert.equal(r.headers.get('referrer-policy'), 'no-referrer');
  assert.equal(r.headers.get('cache-control'), 'no-store');
});

test('a caller-supplied request id is kept, a hostile one replaced', async () => {
  const r = await stack.api.get('/healthz', { 'x-request-id': 'trace-abc_123' });
  assert.equal(r.headers.get('x-request-id'), 'trace-abc_123');
  const bad = await stack.api.get('/healthz', { 'x-request-id': 'evil"value' });
  assert.match(bad.headers.get('x-request-id'), /^[0-9a-f]{32}$/);
});

test('readyz reports every dependency and the schema version', async () => {
  const r = await stack.api.get('/readyz');
  assert.equal(r.status, 200);
  assert.equal(r.json.status, 'ready');
  assert.deepEqual(r.json.checks, { postgres: 'ok', redis: 'ok', migrations: 'ok' });
  assert.equal(r.json.schema_version, r.json.expected_schema_version);
  assert.ok(r.json.schema_version >= 1);
  // A migration below the latest that is not applied (merged late) makes the service not ready.
  const row = (await stack.sql('DELETE FROM onecount_migrations WHERE version = 2 RETURNING *')).rows[0];
  try {
    const gap = await stack.api.get('/readyz');
    assert.equal(gap.status, 503);
    assert.equal(gap.json.checks.migrations, 'pending');
    assert.equal(gap.json.schema_version, gap.json.expected_schema_version);
  } finally {
    await stack.sql('INSERT INTO onecount_migrations (version, name, sha256, applied_at) VALUES ($1, $2, $3, $4)',
      [row.version, row.name, row.sha256, row.applied_at]);
  }
  assert.equal((await stack.api.get('/readyz')).status, 200);
});

test('unknown API paths get the JSON 404, wrong methods a 405 with Allow', async () => {
  const r = await stack.api.get('/api/v1/no/such/thing');
  assert.equal(r.status, 404);
  assert.equal(r.json.error.code, 'not_found');
  assert.equal(typeof r.json.error.message, 'string');
  assert.equal(r.json.error.field, null);
  assert.equal(r.json.error.request_id, r.headers.get('x-request-id'));
  const m = await stack.api.req('DELETE', '/healthz');
  assert.equal(m.status, 405);
  assert.equal(m.headers.get('allow'), 'GET');
  assert.equal(m.json.error.code, 'method_not_allowed');
});

test('static console is served with the same headers', async () => {
  const r = await stack.api.get('/');
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /text\/html/);
  assert.match(r.text, /onecount/);
  assert.match(r.headers.get('content-security-policy'), /default-src 'self'/);
  assert.ok(r.headers.get('x-request-id'));
  const missing = await stack.api.get('/no-such-file.js');
  assert.equal(missing.status, 404);
});

test('metrics expose request counts, latency histograms and pool gauges on their own listener only', async () => {
  await stack.api.get('/healthz');
  await stack.api.get('/readyz');
  const r = await client(stack.server.metricsUrl).get('/metrics');
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /text\/plain/);
  assert.match(r.text, /onecount_http_requests_total\{route="\/healthz",method="GET",status="200"\} \d+/);
  assert.match(r.text, /onecount_http_request_duration_seconds_bucket\{route="\/readyz",method="GET",status="200",le="\+Inf"\} \d+/);
  assert.match(r.text, /onecount_db_pool_connections [1-9]/);
  assert.match(r.text, /onecount_db_pool_size 8/); // 2 threads × 4 connections
  assert.match(r.text, /onecount_redis_connections [1-9]/);
  assert.match(r.text, /onecount_db_transactions_total\{result="ok"\} [1-9]/);
  // Not on the public API listener (it names tenants): a 404 like any unknown path.
  const pub = await stack.api.get('/metrics');
  assert.equal(pub.status, 404);
  assert.doesNotMatch(pub.text, /onecount_/);
  // Nothing else is served on the metrics listener, whatever the Host header.
  assert.equal((await client(stack.server.metricsUrl).get('/api/v1')).status, 404);
  assert.equal((await client(stack.server.metricsUrl).get('/healthz', { host: 'default' })).status, 404);
  assert.equal((await client(stack.server.metricsUrl).post('/metrics', {})).status, 405);
  assert.equal((await stack.api.get('/metrics', { host: 'metrics' })).status, 404);
});

test('the metrics listener can ask for a bearer token, or be off', async () => {
  const locked = await startServer({ databaseUrl: stack.databaseUrl, redisUrl: stack.redis.url, threads: 1,
    env: { ONECOUNT_METRICS_TOKEN: 'scrape-secret-1' } });
  const off = await startServer({ databaseUrl: stack.databaseUrl, redisUrl: stack.redis.url, threads: 1,
    env: { ONECOUNT_METRICS_LISTEN: 'off' } });
  try {
    const none = await client(locked.metricsUrl).get('/metrics');
    assert.equal(none.status, 401);
    assert.equal(none.headers.get('www-authenticate'), 'Bearer');
    assert.equal((await client(locked.metricsUrl).get('/metrics', { authorization: 'Bearer wrong' })).status, 401);
    const ok = await client(locked.metricsUrl).get('/metrics', { authorization: 'Bearer scrape-secret-1' });
    assert.equal(ok.status, 200);
    assert.match(ok.text, /onecount_http_requests_total/);
    assert.equal(off.metricsUrl, undefined);
    assert.ok(!off.logs.some((l) => l.includes('"role":"metrics"')));
    assert.equal((await client(off.url).get('/metrics')).status, 404);
  } finally {
    await locked.stop();
    await off.stop();
  }
});

test('request log lines are JSON with method, path, status, latency and request id', async () => {
  const r = await stack.api.get('/healthz', { 'x-request-id': 'log-check-1' });
  assert.equal(r.status, 200);
  const line = await waitFor(() => stack.server.logs.find((l) => l.includes('log-check-1')), { what: 'log line' });
  const rec = JSON.parse(line);
  assert.equal(rec.method, 'GET');
  assert.equal(rec.path, '/healthz');
  assert.equal(rec.status, 200);
  assert.equal(typeof rec.ms, 'number');
  assert.equal(rec.request_id, 'log-check-1');
  assert.ok(rec.ts && rec.level);
});

test('readiness flips while PostgreSQL is down, the process stays up, and the pool reconnects', async () => {
  const own = await startPrivateStack();
  const { cluster, redis, server, api } = own;
  try {
    await waitFor(async () => (await api.get('/readyz')).status === 200, { what: 'ready' });

    cluster.pgStop();
    const down = await waitFor(async () => { const r = await api.get('/readyz'); return r.status === 503 && r; }, { what: 'not ready' });
    assert.equal(down.json.checks.postgres, 'unavailable');
    assert.equal(down.json.checks.redis, 'ok');
    assert.equal(down.headers.get('retry-after'), '1');
    assert.equal((await api.get('/healthz')).status, 200, 'the process stays up');

    cluster.pgStart();
    const up = await waitFor(async () => { const r = await api.get('/readyz'); return r.status === 200 && r; }, { what: 'ready again', timeout: 20000 });
    assert.equal(up.json.checks.postgres, 'ok');
    assert.ok(server.logs.some((l) => l.includes('database connection restored')));

    // Redis is an accelerator: without it the instance is degraded, still ready.
    await redis.stop();
    // (the pool may still be reconnecting some connections: wait for PostgreSQL ok and Redis seen down)
    const noRedis = await waitFor(async () => {
      const r = await api.get('/readyz');
      return r.json?.checks?.redis === 'unavailable' && r.json.checks.postgres === 'ok' && r;
    }, { what: 'redis down, PostgreSQL up' });
    assert.equal(noRedis.status, 200);
    assert.equal(noRedis.json.status, 'degraded');
    assert.equal(noRedis.json.checks.postgres, 'ok');
    // Both gone: not ready.
    cluster.pgStop();
    const none = await waitFor(async () => { const r = await api.get('/readyz'); return r.status === 503 && r; }, { what: 'nothing up' });
    assert.equal(none.json.status, 'not_ready');
    assert.deepEqual(none.json.checks, { postgres: 'unavailable', redis: 'unavailable', migrations: 'unknown' });
  } finally {
    await own.stop();
  }
});

test('graceful shutdown finishes the request in flight and stops accepting', async () => {
  const own = await startServer({ databaseUrl: stack.databaseUrl, redisUrl: stack.redis.url, threads: 1,
    env: { ONECOUNT_SHUTDOWN_TIMEOUT_MS: '10000' } });
  // Hold a lock the readiness query needs, so a request is in flight when SIGTERM arrives.
  const blocker = new pg.Client({ connectionString: stack.cluster.superUrl(stack.db) });
  await blocker.connect();
  await blocker.query('BEGIN');
  await blocker.query('LOCK TABLE onecount_migrations IN ACCESS EXCLUSIVE MODE');
  const api = client(own.url);
  const pending = api.get('/readyz');
  await sleep(300);
  own.proc.kill('SIGTERM');
  // New connections are refused once the listener is closed (within a loop tick or two).
  await waitFor(async () => { try { await fetch(own.url + '/healthz'); return false; } catch { return true; } },
    { what: 'listener closed', timeout: 5000 });
  assert.equal(own.proc.exitCode, null, 'still running while the request is in flight');
  await blocker.query('COMMIT');
  await blocker.end();
  const r = await pending;
  assert.equal(r.status, 200, JSON.stringify(r.json) + own.logs.join('\n'));
  assert.equal(r.json.status, 'ready');
  const { code } = await own.exited;
  assert.equal(code, 0);
  assert.ok(own.logs.some((l) => l.includes('"stopped"')));
  await own.stop(); // (it has stopped: this removes its folder)
});

/** Starts `onecount <command>` and sends it SIGTERM the moment it first writes to its log; answers how it ended. */
async function stopWhileStarting(command) {
  const dir = mkdtempSync(join(tmpdir(), 'oc-early-'));
  try {
    const env = serverEnv({ databaseUrl: stack.databaseUrl, redisUrl: stack.redis.url, command, dir });
    const proc = spawn(BIN, [command], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    proc.stderr.on('data', (d) => {
      if (!log) proc.kill('SIGTERM');
      log += d;
    });
    const [code, signal] = await new Promise((r) => proc.once('exit', (c, s) => r([c, s])));
    return { code, signal, log };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('a SIGTERM while serve or the simulators are still starting stops them cleanly (exit 0), never kills them', async () => {
  // serve's first line ("listening") comes while it still starts its threads: a SIGTERM then went to a thread
  // that did not block it (the work pool's) and the process died by the signal; the simulators listened before
  // they had their handler.
  for (let i = 0; i < 10; i++) {
    for (const command of ['serve', 'sim']) {
      const r = await stopWhileStarting(command);
      assert.equal(r.signal, null, `${command} (try ${i}) was killed by ${r.signal}:\n${r.log}`);
      assert.equal(r.code, 0, `${command} (try ${i}) exited with ${r.code}:\n${r.log}`);
    }
  }
});

test('while Redis is down the instance stays ready (degraded) and sales and holds go on', async () => {
  const redis = await startRedis();
  const server = await startServer({ databaseUrl: stack.databaseUrl, redisUrl: redis.url, threads: 2 });
  try {
    const own = { ...stack, url: server.url };
    const P = await portfolio(own);
    const B = await brand(P);
    const base = `/api/v1/brands/${B.id}`;
    assert.equal((await P.api.post(`${base}/skus`, { code: 'R1', title: 'x' })).status, 201);
    assert.equal((await P.api.post(`${base}/movements`, { kind: 'receipt', lines: [{ sku: 'R1', qty: 10 }] })).status, 201);
    const up = await client(server.url).get('/readyz');
    assert.equal(up.status, 200);
    assert.equal(up.json.status, 'ready');
    await redis.stop();
    const r = await waitFor(async () => { const x = await client(server.url).get('/readyz'); return x.json?.checks?.redis !== 'ok' && x; },
      { what: 'redis seen down' });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.status, 'degraded');
    assert.deepEqual(r.json.checks, { postgres: 'ok', redis: 'unavailable', migrations: 'ok' });
    assert.equal(r.headers.get('retry-after'), null);
    const sale = await P.api.post(`${base}/movements`, { kind: 'sale', lines: [{ sku: 'R1', qty: 1 }] });
    assert.equal(sale.status, 201, sale.text);
    const hold = await P.api.post(`${base}/holds`, { sku: 'R1', qty: 1 });
    assert.equal(hold.status, 201, hold.text);
  } finally {
    await server.stop();
    await redis.destroy();
  }
});
