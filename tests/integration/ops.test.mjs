// ops.test.mjs — the run scripts as a newcomer meets them: `ops/run.sh stop`
// stops everything a run of this checkout started and says what, or that
// nothing was running; as root, PostgreSQL's files stay in the data folder
// when they can, and when a parent folder keeps them out they live in
// /var/tmp only while the services run (and never outlive their folder).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, existsSync, readFileSync, readlinkSync, lstatSync, rmSync, statSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { BIN, SOURCE_DIR, waitFor } from './lib/stack.mjs';

const services = join(SOURCE_DIR, 'ops/services.sh');
const run = join(SOURCE_DIR, 'ops/run.sh');
const root = process.getuid() === 0;

function sh(cmd, args, env = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, ...env } });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stderr + r.stdout;
}
/** The same without blocking the event loop: the children this test started are reaped meanwhile. */
function shAsync(cmd, args, env = {}) {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { env: { ...process.env, ...env } });
    let out = '';
    p.stdout.on('data', (c) => { out += c; });
    p.stderr.on('data', (c) => { out += c; });
    p.on('error', reject);
    p.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${out}`))));
  });
}
/** 1 when the system user onecount (PostgreSQL's, as root) may enter `dir`. */
const enterable = (dir) => spawnSync('runuser', ['-u', 'onecount', '--', 'test', '-x', dir]).status === 0;
/** The first folder on the way to `dir` that user onecount cannot enter. */
function firstBlocked(dir) {
  let d = '';
  for (const part of dir.split('/').filter(Boolean)) {
    d += `/${part}`;
    if (!enterable(d)) return d;
  }
  return null;
}
/** A folder for the test's own folders that user onecount can reach (the temporary folder may be private). */
const reachableTmp = () => (enterable(tmpdir()) ? tmpdir() : '/tmp');
const alive = (pid) => { try { process.kill(pid, 0); return true; } catch { return false; } };

test('as root, a data folder under a private parent: the cluster lives in /var/tmp only while it runs', { skip: !root && 'needs root' }, async () => {
  const parent = mkdtempSync(join(tmpdir(), 'oc-ops-')); // mode 700: user onecount cannot enter
  const dir = join(parent, 'data');
  try {
    const out = sh(services, ['start', '--dir', dir, '--fast']);
    assert.match(out, new RegExp(`warning: PostgreSQL runs as user onecount, which cannot enter ${firstBlocked(dir)};`));
    const home = readlinkSync(join(dir, 'pg')).replace(/\/pg$/, '');
    assert.match(home, /^\/var\/tmp\/onecount-pg-[0-9a-f]{16}$/);
    assert.match(out, new RegExp(`its files go to ${home} .* DELETED when the services stop`));
    const stopped = sh(services, ['stop', '--dir', dir]);
    assert.match(stopped, /^stopped Redis \(127\.0\.0\.1:\d+, pid \d+\)$/m);
    assert.match(stopped, /^stopped PostgreSQL \(127\.0\.0\.1:\d+, data in /m);
    assert.match(stopped, new RegExp(`^removed ${home} `, 'm'));
    assert.equal(existsSync(home), false, 'nothing left in /var/tmp');
    assert.equal(existsSync(join(dir, 'pg')), false);
    assert.equal(sh(services, ['stop', '--dir', dir]), '', 'stopping again has nothing to say');

    // Its data folder deleted while the services run: the next start or stop
    // anywhere stops them and removes their files.
    sh(services, ['start', '--dir', dir, '--fast']);
    const home2 = readlinkSync(join(dir, 'pg')).replace(/\/pg$/, '');
    const pgPid = Number(readFileSync(join(home2, 'pg/postmaster.pid'), 'utf8').split('\n')[0]);
    const redisPid = Number(readFileSync(join(home2, 'run/redis.pid'), 'utf8'));
    assert.ok(alive(pgPid) && alive(redisPid));
    rmSync(parent, { recursive: true, force: true });
    const gc = sh(services, ['stop', '--dir', join(parent, 'data')]);
    assert.match(gc, new RegExp(`^removed ${home2} `, 'm'));
    assert.equal(existsSync(home2), false);
    await waitFor(() => !alive(pgPid) && !alive(redisPid), { what: 'the orphaned services to stop' });
  } finally {
    if (existsSync(join(dir, 'pg'))) spawnSync(services, ['stop', '--dir', dir]);
    rmSync(parent, { recursive: true, force: true });
  }
});

test('as root, a private data folder of its own: the cluster stays inside it', { skip: !root && 'needs root' }, () => {
  const parent = mkdtempSync(join(reachableTmp(), 'oc-ops-'));
  chmodSync(parent, 0o755);
  const dir = join(parent, 'data');
  mkdirSync(dir, { mode: 0o700 });
  try {
    const out = sh(services, ['start', '--dir', dir, '--fast']);
    assert.doesNotMatch(out, /warning/);
    assert.ok(lstatSync(join(dir, 'pg')).isDirectory(), 'pg/ is a folder in the data folder, not a link');
    assert.ok(existsSync(join(dir, 'pg/PG_VERSION')));
    assert.equal(statSync(dir).mode & 0o777, 0o710, 'the group (onecount) may only enter');
    assert.match(sh(services, ['stop', '--dir', dir]), /stopped PostgreSQL/);
    assert.ok(existsSync(join(dir, 'pg/PG_VERSION')), 'kept: it is in the data folder');
  } finally {
    spawnSync(services, ['stop', '--dir', dir]);
    rmSync(parent, { recursive: true, force: true });
  }
});

test('ops/run.sh stop stops everything a run of this checkout started, one line each; then nothing', async () => {
  const data = mkdtempSync(join(tmpdir(), 'oc-run-'));
  chmodSync(data, 0o755);
  const other = mkdtempSync(join(tmpdir(), 'oc-run-other-'));
  const started = [];
  const start = (args, dataDir, env = {}) => {
    const p = spawn(args[0], args.slice(1), { stdio: 'ignore', detached: true,
      env: { ...process.env, ONECOUNT_DATA_DIR: dataDir, ONECOUNT_LISTEN: '127.0.0.1:0', ONECOUNT_METRICS_LISTEN: 'off', ...env } });
    started.push(p);
    return p;
  };
  try {
    sh(services, ['start', '--dir', data, '--fast']);
    const env = Object.fromEntries(readFileSync(join(data, 'services.env'), 'utf8').split('\n')
      .map((l) => l.match(/^export ([A-Z_]+)="?([^"]*)"?$/)).filter(Boolean).map((m) => [m[1], m[2]]));
    // What a killed run leaves: the simulators, serve, and a run script still waiting.
    const sim = start([BIN, 'sim'], data);
    const serve = start([BIN, 'serve'], data, { ...env, ONECOUNT_MIGRATIONS_DIR: join(SOURCE_DIR, 'migrations'),
      ONECOUNT_WEB_DIR: join(SOURCE_DIR, 'web'), ONECOUNT_MASTER_KEY: randomBytes(32).toString('base64') });
    const fake = join(data, 'fake', 'ops');
    mkdirSync(fake, { recursive: true });
    writeFileSync(join(fake, 'run.sh'), "trap 'exit 0' TERM\nwhile :; do sleep 0.1; done\n");
    const script = start(['bash', join(fake, 'run.sh')], data);
    writeFileSync(join(data, 'run.pid'), `${script.pid}\n`);
    // A process of this checkout for another data folder is not ours to stop.
    const bystander = start([BIN, 'sim'], other);
    await waitFor(() => [sim, serve, script, bystander].every((p) => alive(p.pid)), { what: 'processes up' });
    await new Promise((r) => setTimeout(r, 500)); // (serve past its start-up)
    assert.ok([sim, serve, script, bystander].every((p) => alive(p.pid)), 'all still up');

    const out = await shAsync(run, ['stop'], { ONECOUNT_DATA_DIR: data });
    assert.match(out, new RegExp(`^stopped ops/run\\.sh \\(pid ${script.pid}\\)$`, 'm'));
    assert.match(out, new RegExp(`^stopped sim \\(pid ${sim.pid}\\)$`, 'm'));
    assert.match(out, new RegExp(`^stopped serve \\(pid ${serve.pid}\\)$`, 'm'));
    assert.match(out, /^stopped Redis \(127\.0\.0\.1:\d+, pid \d+\)$/m);
    assert.match(out, /^stopped PostgreSQL \(127\.0\.0\.1:\d+/m);
    await waitFor(() => [sim, serve, script].every((p) => p.exitCode !== null || p.signalCode !== null), { what: 'the stopped ones reaped' });
    assert.ok(alive(bystander.pid), 'the other folder\'s process runs on');
    assert.equal(existsSync(join(data, 'run.pid')), false);
    assert.equal((await shAsync(run, ['stop'], { ONECOUNT_DATA_DIR: data })).trim(), `nothing was running (data in ${data})`);
  } finally {
    for (const p of started) { try { process.kill(p.pid, 'SIGKILL'); } catch { /* gone */ } }
    spawnSync(services, ['stop', '--dir', data]);
    rmSync(data, { recursive: true, force: true });
    rmSync(other, { recursive: true, force: true });
  }
});
