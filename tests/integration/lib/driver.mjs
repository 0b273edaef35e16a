// driver.mjs — runs the adapters' test driver (tests/adapters/driver.c) and
// talks to it: one JSON command per line in, one JSON answer per line out,
// matched by id.  Every call has a time limit, so a hung adapter fails the
// test instead of stalling the suite.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import assert from 'node:assert/strict';
import { BIN } from './stack.mjs';
import { startSim } from './sim.mjs';

export const DRIVER = process.env.OC_ADAPTER_DRIVER || join(dirname(BIN), 'tests', 'adapter_driver');

export function startDriver({ env = {}, logLevel = 'warn' } = {}) {
  if (!existsSync(DRIVER)) throw new Error(`adapter driver not built: ${DRIVER}`);
  const proc = spawn(DRIVER, [], {
    env: { ...process.env, ONECOUNT_LOG_LEVEL: logLevel, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const waiting = new Map();
  const events = [];
  const stderr = [];
  let nextId = 1;
  let partial = '';
  proc.stdout.on('data', (chunk) => {
    partial += chunk.toString();
    const lines = partial.split('\n');
    partial = lines.pop();
    for (const line of lines) {
      if (!line) continue;
      const msg = JSON.parse(line);
      if (msg.event) { events.push(msg); continue; }
      const w = waiting.get(msg.id);
      if (w) { waiting.delete(msg.id); w.resolve(msg); }
    }
  });
  proc.stderr.on('data', (chunk) => {
    stderr.push(chunk.toString());
    if (process.env.OC_TEST_VERBOSE) process.stderr.write(`[driver] ${chunk}`);
  });
  const exited = new Promise((r) => proc.once('exit', (code, signal) => {
    for (const w of waiting.values()) w.reject(new Error(`driver exited (${code ?? signal}):\n${stderr.join('')}`));
    waiting.clear();
    r({ code, signal });
  }));

  const d = {
    proc, events, stderr, exited,
    /** Sends a command and resolves to its answer (rejects after `timeout` ms). */
    send(cmd, timeout = 60000) {
      const id = nextId++;
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => {
          waiting.delete(id);
          reject(new Error(`driver: no answer to ${cmd.op} within ${timeout} ms`));
        }, timeout);
        waiting.set(id, {
          resolve: (m) => { clearTimeout(t); resolve(m); },
          reject: (e) => { clearTimeout(t); reject(e); },
        });
        proc.stdin.write(`${JSON.stringify({ ...cmd, id })}\n`);
      });
    },
    conn: (name, kind, spec) => d.send({ op: 'conn', name, kind, ...spec }),
    push: (conn, items, timeout) => d.send({ op: 'push', conn, items }, timeout),
    read: (conn, items, timeout) => d.send({ op: 'read', conn, items }, timeout),
    orders: (conn, cursor, timeout) => d.send({ op: 'fetch_orders', conn, cursor }, timeout),
    returns: (conn, cursor, timeout) => d.send({ op: 'fetch_returns', conn, cursor }, timeout),
    ack: (conn, ids, timeout) => d.send({ op: 'acknowledge', conn, ids }, timeout),
    test: (conn, timeout) => d.send({ op: 'test', conn }, timeout),
    /** Quits cleanly; the driver must exit 0 (sanitizer reports make it fail). */
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        await d.send({ op: 'quit' }, 10000).catch(() => {});
        proc.stdin.end();
      }
      const r = await Promise.race([exited, new Promise((res) => setTimeout(() => res(null), 10000))]);
      if (r === null) {
        proc.kill('SIGKILL');
        throw new Error('driver did not exit after quit');
      }
      if (r.code !== 0) throw new Error(`driver exited with ${r.code ?? r.signal}:\n${stderr.join('')}`);
      return r;
    },
  };
  return d;
}

/**
 * What the adapter tests run against: a simulator (lib/sim.mjs) and a driver.
 * `stop()` stops the driver first (it must exit 0), then the simulator.
 */
export async function startSimAndDriver() {
  const sim = await startSim();
  let d;
  try {
    d = startDriver();
  } catch (e) {
    await sim.stop();
    throw e;
  }
  return {
    sim, d,
    async stop() {
      await d.stop();
      await sim.stop();
    },
  };
}

/**
 * Creates a simulator account of channel `kind` (`account`: its spec) and
 * connects the driver to it as `name`; `conn(credentials)` gives the
 * connection's settings, secrets and rate_scale.  Fails the test unless the
 * driver accepts it; resolves to the account.
 */
export async function connectAccount({ sim, d }, kind, name, account, conn) {
  const acct = await sim.account({ channel: kind, ...account });
  const r = await d.conn(name, kind, { base_url: acct.base_url, ...conn(acct.credentials, acct) });
  assert.equal(r.ok, true, r.error);
  return acct;
}

/** Follows fetch_orders / fetch_returns pages until "more" is false; returns every record and the last cursor. */
export async function drain(d, op, conn, cursor, { key = op === 'fetch_orders' ? 'orders' : 'returns', max = 50 } = {}) {
  const all = [];
  const pages = [];
  for (let i = 0; i < max; i++) {
    const r = await d.send({ op, conn, cursor });
    if (!r.ok) throw new Error(`${op}: ${r.error ?? r.rc}`);
    pages.push(r.result[key].length);
    all.push(...r.result[key]);
    cursor = r.result.cursor;
    if (!r.result.more) return { records: all, cursor, pages };
  }
  throw new Error(`${op}: more than ${max} pages`);
}

/**
 * Replays request-log entries (with ts_ms) through a token bucket of
 * `burst` at `rate` per second and fails if they ever needed more tokens
 * than it had (`slack` absorbs the gap between the log's time stamp and the
 * moment the simulator took the token).
 */
export function assertRate(entries, { burst, rate, slack = 1.5 }) {
  const times = entries.map((e) => e.ts_ms).sort((a, b) => a - b);
  let tokens = burst;
  let last = times[0] ?? 0;
  let worst = tokens;
  for (const t of times) {
    tokens = Math.min(burst, tokens + ((t - last) / 1000) * rate);
    last = t;
    tokens -= 1;
    worst = Math.min(worst, tokens);
  }
  if (worst < -slack) throw new Error(`requests exceeded ${burst} @ ${rate}/s (bucket reached ${worst.toFixed(2)})`);
  return worst;
}
