// stack.mjs — the integration-test fixture: real PostgreSQL, Redis, simulators
// and `onecount serve` on loopback, each test file with its own database,
// its own Redis (on a unix socket) and its own server (on a port the kernel
// picks), so test files can run in parallel and kill what they started.
//
// The shared PostgreSQL cluster is started once per ctest run by the
// `integration/setup` fixture (tests/integration/setup.sh) and described by
// $OC_ITEST_DIR/services.env.  Tests that need to stop PostgreSQL start a
// private cluster with startCluster().

import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync, rmSync, mkdirSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import pg from 'pg';
import assert from 'node:assert/strict';

const here = dirname(fileURLToPath(import.meta.url));
export const SOURCE_DIR = process.env.OC_SOURCE_DIR || resolve(here, '../../..');
export const BIN = process.env.OC_BIN || join(SOURCE_DIR, 'build/onecount');
const ITEST_DIR = process.env.OC_ITEST_DIR || join(SOURCE_DIR, 'build/itest');

const children = new Set();
function killAll() {
  for (const c of children) {
    try { c.kill('SIGKILL'); } catch { /* already gone */ }
  }
}
process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => { killAll(); process.exit(1); });

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export async function waitFor(fn, { timeout = 15000, interval = 50, what = 'condition' } = {}) {
  const until = Date.now() + timeout;
  let last;
  while (Date.now() < until) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) { last = e; }
    await sleep(interval);
  }
  throw new Error(`timed out waiting for ${typeof what === 'function' ? what() : what}${last ? `: ${last.message}` : ''}`);
}

function parseEnvFile(path) {
  const env = {};
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const m = line.match(/^(?:export )?([A-Z_]+)="?([^"]*)"?$/);
    if (m) env[m[1]] = m[2];
  }
  return env;
}

/** Starts a private cluster (for tests that stop and start PostgreSQL). */
export function startCluster(dir = mkdtempSync(join(tmpdir(), 'oc-pg-'))) {
  chmodSync(dir, 0o755); // PostgreSQL runs as another user when the tests run as root
  execFileSync(join(SOURCE_DIR, 'ops/services.sh'), ['start', '--dir', dir, '--fast'], { stdio: ['ignore', 'ignore', 'inherit'] });
  const env = parseEnvFile(join(dir, 'services.env'));
  const cluster = {
    dir,
    env,
    private: true, // no template database: each database is migrated
    superUrl: (db) => `postgresql://postgres@/${db}?host=${dir}/run&port=${env.OC_PG_PORT}`,
    appUrl: (db) => `postgresql://onecount_app:${env.OC_APP_PASSWORD}@127.0.0.1:${env.OC_PG_PORT}/${db}`,
    ownerUrl: (db) => `postgresql://onecount_owner:${env.OC_OWNER_PASSWORD}@127.0.0.1:${env.OC_PG_PORT}/${db}`,
    pgStop() { // to start it again: its files stay wherever they are
      execFileSync(join(SOURCE_DIR, 'ops/services.sh'), ['stop', '--keep', '--dir', dir], { stdio: ['ignore', 'ignore', 'ignore'] });
    },
    pgStart() {
      execFileSync(join(SOURCE_DIR, 'ops/services.sh'), ['start', '--dir', dir, '--fast'], { stdio: ['ignore', 'ignore', 'inherit'] });
    },
    destroy() {
      try {
        execFileSync(join(SOURCE_DIR, 'ops/services.sh'), ['stop', '--dir', dir], { stdio: ['ignore', 'ignore', 'ignore'] });
      } catch { /* best effort */ }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return cluster;
}

let sharedCluster;
/** The cluster started by the ctest fixture (started here when run standalone). */
export function shared() {
  if (sharedCluster) return sharedCluster;
  if (!existsSync(join(ITEST_DIR, 'services.env'))) {
    execFileSync(join(here, '../setup.sh'), [ITEST_DIR], { stdio: ['ignore', 'ignore', 'inherit'] });
  }
  const env = parseEnvFile(join(ITEST_DIR, 'services.env'));
  sharedCluster = {
    dir: ITEST_DIR,
    env,
    superUrl: (db) => `postgresql://postgres@/${db}?host=${ITEST_DIR}/run&port=${env.OC_PG_PORT}`,
    appUrl: (db) => `postgresql://onecount_app:${env.OC_APP_PASSWORD}@127.0.0.1:${env.OC_PG_PORT}/${db}`,
    ownerUrl: (db) => `postgresql://onecount_owner:${env.OC_OWNER_PASSWORD}@127.0.0.1:${env.OC_PG_PORT}/${db}`,
  };
  return sharedCluster;
}

/** Runs one statement as the superuser (setup and inspection only). */
export async function superQuery(cluster, db, text, params = []) {
  const c = new pg.Client({ connectionString: cluster.superUrl(db) });
  await c.connect();
  try { return await c.query(text, params); } finally { await c.end(); }
}

/** A fresh, migrated database for one test file (cloned from the fixture's template). */
export async function createDatabase(cluster, { migrate = false } = {}) {
  const name = `t_${randomBytes(6).toString('hex')}`;
  if (migrate) {
    await superQuery(cluster, 'postgres', `CREATE DATABASE ${name} OWNER onecount_owner`);
    await superQuery(cluster, name, 'REVOKE ALL ON SCHEMA public FROM PUBLIC; ALTER SCHEMA public OWNER TO onecount_owner');
    runMigrate(cluster.ownerUrl(name));
  } else {
    await superQuery(cluster, 'postgres', `CREATE DATABASE ${name} TEMPLATE onecount_template OWNER onecount_owner`);
  }
  return name;
}

export async function dropDatabase(cluster, name) {
  await superQuery(cluster, 'postgres', `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
}

export function runMigrate(ownerUrl, extraEnv = {}) {
  return execFileSync(BIN, ['migrate'], {
    env: { ...process.env, ONECOUNT_MIGRATE_DATABASE_URL: ownerUrl, ONECOUNT_DATABASE_URL: ownerUrl,
      ONECOUNT_MIGRATIONS_DIR: join(SOURCE_DIR, 'migrations'), ...extraEnv },
    encoding: 'utf8',
  });
}

/** A private Redis listening only on a unix socket in its own folder. */
export async function startRedis() {
  const dir = mkdtempSync(join(tmpdir(), 'oc-redis-'));
  const sock = join(dir, 'redis.sock');
  const spawnRedis = () => {
    const p = spawn('redis-server', ['--port', '0', '--unixsocket', sock, '--unixsocketperm', '700', '--dir', dir,
      '--save', '', '--appendonly', 'no', '--databases', '4'], { stdio: ['ignore', 'ignore', 'inherit'] });
    children.add(p);
    return p;
  };
  let proc = spawnRedis();
  await waitFor(() => existsSync(sock), { what: 'redis socket' });
  const redis = {
    dir, sock, proc,
    url: `unix:${sock}`,
    cli(...args) {
      return execFileSync('redis-cli', ['-s', sock, ...args], { encoding: 'utf8' }).trim();
    },
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode === null && proc.signalCode === null) {
        const done = new Promise((r) => proc.once('exit', r));
        proc.kill(signal);
        await done;
      }
      children.delete(proc);
    },
    /** Starts it again on the same socket, empty (it keeps nothing on disk): a restart or failover that lost data. */
    async restart(signal = 'SIGKILL') {
      await redis.stop(signal);
      rmSync(sock, { force: true });
      proc = spawnRedis();
      redis.proc = proc;
      await waitFor(() => existsSync(sock), { what: 'redis socket' });
    },
    async destroy() {
      await redis.stop('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return redis;
}

/**
 * The environment `onecount <command>` runs with in the tests: the database and
 * Redis given, loopback ports the kernel picks (written to files in `dir`),
 * the checkout's web and migrations folders, a fresh master key, then `env`.
 */
export function serverEnv({ databaseUrl, redisUrl, env = {}, threads = 2, command = 'serve', dir }) {
  const portFile = join(dir, `${command}.port`);
  const metricsPortFile = join(dir, `${command}.metrics.port`);
  return {
    ...process.env,
    ONECOUNT_DATABASE_URL: databaseUrl,
    ONECOUNT_REDIS_URL: redisUrl,
    ONECOUNT_LISTEN: '127.0.0.1:0',
    ONECOUNT_PORT_FILE: portFile,
    ONECOUNT_THREADS: String(threads),
    ONECOUNT_DATA_DIR: dir,
    ONECOUNT_WEB_DIR: join(SOURCE_DIR, 'web'),
    ONECOUNT_MIGRATIONS_DIR: join(SOURCE_DIR, 'migrations'),
    ONECOUNT_LOG_LEVEL: 'info',
    ONECOUNT_MASTER_KEY: randomBytes(32).toString('base64'),
    ONECOUNT_METRICS_LISTEN: '127.0.0.1:0', // serve's own metrics listener, on a port the kernel picks
    ONECOUNT_METRICS_PORT_FILE: metricsPortFile,
    ...env,
  };
}

/** Starts `onecount serve` (or another subcommand) and waits for it to listen. */
export async function startServer({ databaseUrl, redisUrl, env = {}, threads = 2, command = 'serve', dir, ownDir = !dir } = {}) {
  dir = dir || mkdtempSync(join(tmpdir(), 'oc-serve-'));
  mkdirSync(dir, { recursive: true });
  const portFile = join(dir, `${command}.port`);
  const metricsPortFile = join(dir, `${command}.metrics.port`);
  rmSync(portFile, { force: true });
  rmSync(metricsPortFile, { force: true });
  const fullEnv = serverEnv({ databaseUrl, redisUrl, env, threads, command, dir });
  if (command === 'worker') fullEnv.ONECOUNT_LOG_LEVEL = 'info'; // it says when it is ready
  const proc = spawn(BIN, [command], { env: fullEnv, stdio: ['ignore', 'ignore', 'pipe'] });
  children.add(proc);
  const logs = [];
  let partial = '';
  proc.stderr.on('data', (chunk) => {
    partial += chunk.toString();
    const lines = partial.split('\n');
    partial = lines.pop();
    for (const l of lines) {
      logs.push(l);
      if (process.env.OC_TEST_VERBOSE) process.stderr.write(`[${command}] ${l}\n`);
    }
  });
  const exited = new Promise((r) => proc.once('exit', (code, signal) => r({ code, signal })));
  // `worker` listens nowhere: it is ready once it says so.
  const ready = command === 'worker'
    ? () => logs.some((l) => l.includes('"worker running"')) && -1
    : () => existsSync(portFile) && Number(readFileSync(portFile, 'utf8'));
  const port = await Promise.race([
    waitFor(ready, { what: `${command} to start` }),
    exited.then(({ code }) => { throw new Error(`${command} exited with ${code} before it was ready:\n${logs.join('\n')}`); }),
  ]);
  // serve's metrics listener (metrics_listen), when it has one: its port file is written before the API's.
  const metricsPort = command === 'serve' && existsSync(metricsPortFile)
    ? Number(readFileSync(metricsPortFile, 'utf8')) : undefined;
  const server = {
    proc, port, dir, logs, exited,
    url: `http://127.0.0.1:${port}`,
    metricsUrl: metricsPort ? `http://127.0.0.1:${metricsPort}` : undefined,
    /** The Prometheus text of serve's metrics listener. */
    async metrics(headers = {}) {
      const r = await fetch(`http://127.0.0.1:${metricsPort}/metrics`, { headers });
      assert(r.status === 200, `GET /metrics: ${r.status}`);
      return r.text();
    },
    /**
     * Stops the process; a SIGTERM must end in exit code 0 (sanitizer reports fail it).
     * Its folder goes too when this call made it, unless keepDir (a restart reuses it).
     */
    async stop(signal = 'SIGTERM', { keepDir = false } = {}) {
      const running = proc.exitCode === null && proc.signalCode === null;
      if (running) proc.kill(signal);
      const r = await exited;
      children.delete(proc);
      if (ownDir && !keepDir) rmSync(dir, { recursive: true, force: true });
      if (running && signal === 'SIGTERM' && r.code !== 0) {
        throw new Error(`${command} exited with ${r.code ?? r.signal} after SIGTERM:\n${logs.slice(-40).join('\n')}`);
      }
      return r;
    },
  };
  return server;
}

/** A small HTTP client with JSON in and out, cookies and default headers. */
export function client(baseUrl, defaults = {}) {
  const c = {
    headers: { ...defaults },
    cookies: {},
    async req(method, path, body, headers = {}) {
      const h = { ...c.headers, ...headers };
      const cookie = Object.entries(c.cookies).map(([k, v]) => `${k}=${v}`).join('; ');
      if (cookie) h.cookie = cookie;
      let payload;
      if (body !== undefined && body !== null) {
        if (typeof body === 'string' || body instanceof Uint8Array) payload = body;
        else { payload = JSON.stringify(body); h['content-type'] = h['content-type'] || 'application/json'; }
      }
      const res = await fetch(baseUrl + path, { method, headers: h, body: payload, redirect: 'manual' });
      for (const sc of res.headers.getSetCookie ? res.headers.getSetCookie() : []) {
        const [kv] = sc.split(';');
        const i = kv.indexOf('=');
        c.cookies[kv.slice(0, i)] = kv.slice(i + 1);
      }
      const text = await res.text();
      let json;
      try { json = text ? JSON.parse(text) : undefined; } catch { json = undefined; }
      return { status: res.status, headers: res.headers, text, json, body: json };
    },
    get: (p, h) => c.req('GET', p, undefined, h),
    post: (p, b, h) => c.req('POST', p, b, h),
    put: (p, b, h) => c.req('PUT', p, b, h),
    patch: (p, b, h) => c.req('PATCH', p, b, h),
    del: (p, h) => c.req('DELETE', p, undefined, h),
  };
  return c;
}

/**
 * startStack() on a private cluster of its own, for tests that stop and start
 * PostgreSQL (stack.cluster.pgStop(), pgStart()); stop() destroys the
 * cluster too.
 */
export async function startPrivateStack(opts = {}) {
  const cluster = startCluster();
  let stack;
  try {
    stack = await startStack({ ...opts, cluster });
  } catch (e) {
    cluster.destroy();
    throw e;
  }
  const stopStack = stack.stop;
  stack.stop = async () => {
    try {
      await stopStack();
    } finally {
      cluster.destroy();
    }
  };
  return stack;
}

/**
 * Sends `body` (a string or bytes) exactly as given, with `headers` and its
 * length and nothing else (fetch would re-encode it and add a content-type).
 * Answers {status, headers, text, json}; json is undefined when the text is
 * not JSON.  `agent: false` sends it on a connection of its own.
 */
export function rawRequest(baseUrl, method, path, { body, headers = {}, agent } = {}) {
  return new Promise((resolve, reject) => {
    const u = new URL(baseUrl);
    const h = { ...headers };
    if (body !== undefined) h['content-length'] = Buffer.byteLength(body);
    const req = httpRequest({ host: u.hostname, port: u.port, method, path, headers: h, agent }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json;
        try { json = JSON.parse(text); } catch { json = undefined; }
        resolve({ status: res.statusCode, headers: new Headers(res.headers), text, json });
      });
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

/**
 * The usual stack for one test file: a fresh migrated database in the
 * shared cluster, a private Redis and a server.  stop() tears all of it down.
 */
export async function startStack({ env = {}, threads = 2, cluster } = {}) {
  cluster = cluster || shared();
  // One key-encryption key for the stack, kept across server restarts.
  env = { ONECOUNT_MASTER_KEY: randomBytes(32).toString('base64'), ...env };
  const db = await createDatabase(cluster, { migrate: !!cluster.private });
  const redis = await startRedis();
  const databaseUrl = cluster.appUrl(db);
  const server = await startServer({ databaseUrl, redisUrl: redis.url, env, threads });
  const pool = new pg.Pool({ connectionString: cluster.superUrl(db), max: 4 });
  // An idle connection ended by PostgreSQL (a test that restarts it, the database dropped at stop) is an
  // error event on the pool, not the test's failure: the pool drops it and opens another when asked.
  pool.on('error', (e) => {
    if (!/terminating connection|Connection terminated|server closed the connection/.test(e.message)) throw e;
  });
  const stack = {
    cluster, db, redis, server, databaseUrl, pool,
    url: server.url,
    api: client(server.url),
    /** Runs SQL as the superuser: inspection and setup, never what the app does. */
    sql: (text, params) => pool.query(text, params),
    /** Starts `onecount worker` (same database and key); stop() it, or kill it with stop('SIGKILL'). */
    async startWorker(extraEnv = {}) {
      const w = await startServer({ databaseUrl, redisUrl: redis.url, env: { ...env, ...extraEnv }, command: 'worker' });
      stack.workers.push(w);
      return w;
    },
    /** Starts the channel simulators; returns the process with `url`. */
    async startSim(extraEnv = {}) {
      const s = await startServer({ databaseUrl, redisUrl: redis.url, env: { ...env, ...extraEnv }, command: 'sim' });
      stack.workers.push(s);
      return s;
    },
    workers: [],
    /** Stops the server (SIGTERM, or e.g. SIGKILL: a crash) and starts it again on a new port. */
    async restartServer(extraEnv = {}, { signal = 'SIGTERM' } = {}) {
      await stack.server.stop(signal, { keepDir: true });
      stack.server = await startServer({ databaseUrl, redisUrl: redis.url, env: { ...env, ...extraEnv }, threads,
        dir: stack.server.dir, ownDir: true });
      stack.url = stack.server.url;
      stack.api = client(stack.server.url);
      return stack.server;
    },
    async stop() {
      try {
        for (const w of stack.workers) await w.stop();
        await stack.server.stop();
      } finally {
        await pool.end().catch(() => {});
        await redis.destroy();
        await dropDatabase(cluster, db).catch(() => {});
      }
    },
  };
  return stack;
}
