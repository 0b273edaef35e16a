// sync.mjs — the sync engine's benchmark (run it through ops/bench/sync.sh).
//
// Everything runs on loopback: a private PostgreSQL cluster, Redis, `onecount
// serve`, `onecount worker` and `onecount sim`, all started here and stopped
// at the end.  Three measurements:
//
//  1. Sale-to-push latency: sales through the API at a steady rate across
//     many brands (each with a Shopify, an Amazon and a Walmart account on
//     the simulators, which add no latency); for every sale, the time from its
//     commit to the moment the last channel acknowledged a number computed
//     after it (push_log.desired_at >= the sale).  p50 / p99 / max.
//  2. Coalescing: a burst of sales of one SKU within about a second; pushes
//     each channel received for that SKU.
//  3. Oversell simulation: one sales stream per SKU and channel (the
//     simulators' generators, which sell only while the channel shows stock)
//     run twice in the same run — against onecount (event-driven pushes,
//     automatic buffers from measured lag and velocity, last units to the
//     fastest channel) and against a naive re-sync every 15 minutes — with
//     the channel lags of CHANNELS.md, time compressed.  Oversold units and
//     units stranded (stock left while a channel turned buyers away).
import { mkdtempSync } from 'node:fs';
import { tmpdir, cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { startCluster, startStack, sleep, waitFor, client } from '../../tests/integration/lib/stack.mjs';
import { portfolio } from '../../tests/integration/lib/world.mjs';
import { channelBrand, KINDS } from '../../tests/integration/lib/sync.mjs';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const BRANDS = arg('brands', 100), SKUS = arg('skus', 10), RATE = arg('rate', 500), SECONDS = arg('seconds', 20);
const BURST = arg('burst', 1000), K = arg('compress', 30), SIM_SECONDS = arg('sim-seconds', 150);

const log = (...a) => console.log(...a);
const pct = (xs, p) => xs.length ? xs[Math.min(xs.length - 1, Math.floor(p * xs.length))] : NaN;
const fmt = (x) => (Number.isFinite(x) ? x.toFixed(1) : '-');

const cluster = startCluster(mkdtempSync(join(tmpdir(), 'oc-bench-sync-')));

let stack;
const cleanup = async () => {
  try { await stack?.stop(); } catch (e) { console.error(e.message); }
  cluster.destroy();
};
process.on('SIGINT', () => cleanup().then(() => process.exit(130)));

try {
  const env = { ONECOUNT_LOG_LEVEL: 'warn', ONECOUNT_WORKER_SCAN_MS: '1000' };
  stack = await startStack({ cluster, env, threads: cpus().length });
  const sim = await stack.startSim();
  const P = await portfolio(stack);
  log(`machine: ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB; serve ${cpus().length} threads, one worker, one simulator process`);

  // --- 1. latency ------------------------------------------------------------------------
  const t0setup = Date.now();
  const brands = [];
  const skuNames = Array.from({ length: SKUS }, (_, i) => `L${i}`);
  for (let i = 0; i < BRANDS; i++)
    brands.push(await channelBrand(stack, P, sim, { skus: skuNames, stock: 1000000, webhooks: false, pollSeconds: 3600 }));
  log(`set up ${BRANDS} brands x ${SKUS} SKUs x 3 channels in ${((Date.now() - t0setup) / 1000).toFixed(0)} s`);
  const worker = await stack.startWorker();
  const dirty = async () => Number((await stack.sql(
    'SELECT count(*) AS n FROM listings WHERE desired_version > pushed_version')).rows[0].n);
  await waitFor(async () => (await dirty()) === 0, { timeout: 120000, what: 'the first pushes' });

  const t0 = new Date();
  let sent = 0, failed = 0;
  const failures = {}; // status (or error) -> count, printed with the figures
  const inflight = new Set();
  const tick = 50; // ms
  const started = Date.now();
  while (Date.now() - started < SECONDS * 1000) {
    const due = Math.floor(((Date.now() - started) / 1000) * RATE) - sent;
    for (let i = 0; i < due; i++) {
      const br = brands[Math.floor(Math.random() * brands.length)];
      const sku = br.skus[Math.floor(Math.random() * br.skus.length)];
      const p = br.api.post(`${br.base}/movements`, { kind: 'sale', sku, qty: 1 })
        .then((r) => {
          if (r.status === 201) return;
          failed++;
          const k = `${r.status} ${r.json?.error?.code ?? ''}`.trim();
          failures[k] = (failures[k] || 0) + 1;
        })
        .catch((e) => { failed++; failures[e.message] = (failures[e.message] || 0) + 1; })
        .finally(() => inflight.delete(p));
      inflight.add(p);
      sent++;
    }
    await sleep(tick);
  }
  await Promise.all([...inflight]);
  const t1 = new Date();
  const achieved = sent / ((t1 - t0) / 1000);
  await waitFor(async () => (await dirty()) === 0, { timeout: 300000, interval: 200, what: 'the pushes to drain' });
  const lat = (await stack.sql(`
    WITH s AS (SELECT m.tenant_id, m.sku_id, m.created_at FROM movements m
                WHERE m.kind = 'sale' AND m.created_at >= $1 AND m.created_at <= $2)
    SELECT extract(epoch FROM (
      SELECT max((SELECT min(p.sent_at) FROM push_log p WHERE p.tenant_id = l.tenant_id AND p.listing_id = l.id
                   AND p.status IN ('ok', 'pending') AND p.desired_at >= s.created_at))
        FROM listings l WHERE l.tenant_id = s.tenant_id AND l.sku_id = s.sku_id) - s.created_at) * 1000 AS ms
    FROM s`, [t0, t1])).rows.map((r) => Number(r.ms)).filter(Number.isFinite).sort((a, b) => a - b);
  const pushes = Number((await stack.sql(`SELECT count(*) AS n FROM push_log WHERE sent_at >= $1 AND status IN ('ok', 'pending')`, [t0])).rows[0].n);
  log('');
  log(`1. sale-to-push latency: ${sent} sales through POST /movements over ${SECONDS} s (${achieved.toFixed(0)}/s achieved, target ${RATE}/s), ${failed} failed,`);
  if (failed) log(`   failed: ${Object.entries(failures).map(([k, n]) => `${n} x ${k}`).join(', ')}`);
  log(`   ${BRANDS} brands x ${SKUS} SKUs, 3 channels each; ${pushes} listing pushes acknowledged (${(pushes / (sent * 3)).toFixed(2)} per sale per channel)`);
  log(`   commit of the sale -> last channel acknowledged: p50 ${fmt(pct(lat, 0.5))} ms  p99 ${fmt(pct(lat, 0.99))} ms  max ${fmt(lat[lat.length - 1])} ms  (n=${lat.length}; goal p99 < 250 ms: ${pct(lat, 0.99) < 250 ? 'MET' : 'NOT MET'})`);
  const warnings = {};
  for (const l of worker.logs.filter((x) => x.includes('"level":"warn"') || x.includes('"level":"error"'))) {
    const m = l.match(/"msg":"([^"]*)"/);
    const d = l.match(/"(?:detail|error)":"([^"]{0,80})/);
    const key = `${m ? m[1] : l.slice(0, 80)}${d ? ` (${d[1]})` : ''}`;
    warnings[key] = (warnings[key] || 0) + 1;
  }
  for (const [k, n] of Object.entries(warnings)) log(`   worker: ${n} x ${k}`);

  // --- 2. coalescing -----------------------------------------------------------------------
  const br = brands[0];
  const hot = br.skus[0];
  const c0 = new Date();
  const burst = [];
  for (let i = 0; i < BURST; i++) burst.push(br.api.post(`${br.base}/movements`, { kind: 'sale', sku: hot, qty: 1 }));
  const answers = await Promise.all(burst);
  const c1 = new Date();
  await waitFor(async () => (await dirty()) === 0, { timeout: 120000, what: 'the burst to drain' });
  const per = (await stack.sql(`SELECT c.kind, count(*) AS n FROM push_log p JOIN channel_connections c ON c.tenant_id = p.tenant_id
      AND c.id = p.connection_id JOIN skus k ON k.tenant_id = p.tenant_id AND k.id = p.sku_id
      WHERE p.tenant_id = $1 AND k.code = $2 AND p.sent_at >= $3 GROUP BY c.kind ORDER BY c.kind`, [br.id, hot, c0])).rows;
  log('');
  log(`2. coalescing: ${BURST} sales of one SKU in ${((c1 - c0) / 1000).toFixed(2)} s (${answers.filter((a) => a.status === 201).length} recorded)`);
  log(`   pushes per channel for that SKU: ${per.map((r) => `${r.kind} ${r.n}`).join(', ')}  (baseline, one push per sale: ${BURST})`);
  await worker.stop();

  // --- 3. oversell simulation ---------------------------------------------------------------
  log('');
  await oversell(stack, sim);
} finally {
  await cleanup();
}

/**
 * Channel lags (CHANNELS.md) and sales rates per SKU, as in the model of
 * ARCHITECTURE.md: Shopify 20/h, ingest 2 s, push 2 s; Amazon 30/h, ingest
 * 60 s (order polling), push 300 s (listings apply later); Walmart 10/h,
 * ingest 60 s, push 1,800 s (inventory feeds).  Time runs K times faster.
 */
async function oversell(stack, simProc) {
  const sim = { url: simProc.url, api: client(simProc.url) };
  const STOCK = 40, NSKU = 4;
  const ch = {
    shopify: { perHour: 20, ingestS: 2, pushS: 2 },
    amazon: { perHour: 30, ingestS: 60, pushS: 300 },
    walmart: { perHour: 10, ingestS: 60, pushS: 1800 },
  };
  const ms = (s) => Math.max(1, Math.round((s * 1000) / K));
  const accounts = {
    shopify: {},
    amazon: { apply_delay_ms: ms(ch.amazon.pushS) },
    walmart: { feed_queue_ms: Math.round(ms(ch.walmart.pushS) / 3), feed_process_ms: Math.round((2 * ms(ch.walmart.pushS)) / 3) },
  };
  const P2 = await portfolio(stack);
  // onecount: every listing buffered automatically; the last 3 units only on Shopify (the fastest)
  const one = await channelBrand(stack, P2, sim, { skus: Array.from({ length: NSKU }, (_, i) => `O${i}`), stock: STOCK,
    accounts, rules: { buffer: 'auto' }, pollSeconds: 3600 });
  const skus = one.skus; // the naive accounts sell the same codes
  for (const kind of KINDS) {
    const c = one.conns[kind];
    // what onecount would have measured from this brand's history: lags and velocity (in compressed time)
    await stack.sql(`UPDATE channel_connections SET push_lag_ms = $2, ingest_lag_ms = $3,
        settings = settings || $4::jsonb WHERE id = $1`,
      [c.id, ms(ch[kind].pushS), ms(ch[kind].ingestS), JSON.stringify(kind === 'walmart' ? { feed_threshold: 1 } : {})]);
    await stack.sql(`INSERT INTO sku_velocity (tenant_id, sku_id, connection_id, units_per_hour, measured_at)
        SELECT k.tenant_id, k.id, $2, $3, now() FROM skus k WHERE k.tenant_id = $1
        ON CONFLICT (tenant_id, sku_id, connection_id) DO UPDATE SET units_per_hour = excluded.units_per_hour`,
      [one.id, c.id, ch[kind].perHour * K]);
    // polling as often as the channel's ingest lag; Shopify's webhooks are immediate
    await stack.sql(`UPDATE routines SET interval_seconds = $2, next_run_at = now() WHERE connection_id = $1 AND kind = 'poll_orders'`,
      [c.id, Math.max(1, Math.round(ms(ch[kind].ingestS) / 1000))]);
    await stack.sql(`UPDATE routines SET enabled = false WHERE connection_id = $1 AND kind IN ('read_back', 'poll_returns')`, [c.id]);
  }
  await one.api.put(`${one.base}/rules`, { last_units: { threshold: 3, connection_id: one.conns.shopify.id } });
  await stack.sql('SELECT listings_refresh_brand($1)', [one.id]);
  const worker = await stack.startWorker();
  await waitFor(async () => Number((await stack.sql('SELECT count(*) AS n FROM listings WHERE tenant_id = $1 AND desired_version > pushed_version',
    [one.id])).rows[0].n) === 0, { timeout: 60000, what: 'the first pushes' });
  await sleep(ms(ch.walmart.pushS) + 2000); // the first Walmart feed applies

  // the naive baseline: the same accounts again, re-synced every 15 minutes by a job that reads every
  // channel's orders and sets every channel to what is left (instantly)
  const naive = {};
  for (const kind of KINDS) {
    const a = (await sim.api.post('/_sim/accounts', { channel: kind, skus: skus.map((sku) => ({ sku, quantity: STOCK })), limits: 'unlimited',
      pending_ms: 0, ...accounts[kind] })).json;
    naive[kind] = a.id;
  }
  // same streams: same seeds, same rates, started together
  const gen = (kind) => ({ all: { per_hour: ch[kind].perHour * K }, units_per_order: 1, seed: 1000 + KINDS.indexOf(kind), running: true });
  for (const kind of KINDS) {
    await sim.api.put(`/_sim/accounts/${one.conns[kind].account.id}/generator`, gen(kind));
    await sim.api.put(`/_sim/accounts/${naive[kind]}/generator`, gen(kind));
  }
  const start = Date.now();
  const period = ms(15 * 60);
  let nextSync = start + period;
  while (Date.now() - start < SIM_SECONDS * 1000) {
    if (Date.now() >= nextSync) {
      nextSync += period;
      const views = {};
      for (const kind of KINDS) views[kind] = (await sim.api.get(`/_sim/accounts/${naive[kind]}/stats`)).json.accounts[0].skus;
      for (const kind of KINDS) {
        const set = {};
        for (const sku of skus) {
          const sold = KINDS.reduce((n, k) => n + views[k].find((x) => x.sku === sku).sold, 0);
          set[sku] = Math.max(STOCK - sold, 0);
        }
        await sim.api.put(`/_sim/accounts/${naive[kind]}/stock`, set);
      }
    }
    await sleep(200);
  }
  for (const kind of KINDS) {
    await sim.api.post(`/_sim/accounts/${one.conns[kind].account.id}/generator/stop`, {});
    await sim.api.post(`/_sim/accounts/${naive[kind]}/generator/stop`, {});
  }
  const summary = async (ids) => {
    const per = {};
    for (const kind of KINDS)
      for (const s of (await sim.api.get(`/_sim/accounts/${ids[kind]}/stats`)).json.accounts[0].skus) {
        if (!skus.includes(s.sku)) continue;
        per[s.sku] = per[s.sku] || { sold: 0, lost: 0 };
        per[s.sku].sold += s.sold;
        per[s.sku].lost += s.lost_arrivals;
      }
    let oversold = 0, stranded = 0, sold = 0, lost = 0, oversoldSkus = 0;
    for (const sku of skus) {
      const x = per[sku];
      sold += x.sold;
      lost += x.lost;
      if (x.sold > STOCK) { oversold += x.sold - STOCK; oversoldSkus++; }
      if (x.lost > 0 && x.sold < STOCK) stranded += STOCK - x.sold;
    }
    return { oversold, oversoldSkus, stranded, sold, lost };
  };
  const a = await summary(Object.fromEntries(KINDS.map((k) => [k, one.conns[k].account.id])));
  const b = await summary(naive);
  log(`3. oversell simulation: ${NSKU} SKUs x ${STOCK} units, Shopify ${ch.shopify.perHour}/h + Amazon ${ch.amazon.perHour}/h + Walmart ${ch.walmart.perHour}/h per SKU,`);
  log(`   channel lags (ingest/push) Shopify ${ch.shopify.ingestS}/${ch.shopify.pushS} s, Amazon ${ch.amazon.ingestS}/${ch.amazon.pushS} s, Walmart ${ch.walmart.ingestS}/${ch.walmart.pushS} s;`);
  log(`   time compressed ${K}x: ${SIM_SECONDS} s here = ${((SIM_SECONDS * K) / 3600).toFixed(1)} h of selling; same seeded streams for both`);
  log(`   ${'policy'.padEnd(46)} oversold units (SKUs)   stranded units   sold of ${NSKU * STOCK}   buyers turned away`);
  log(`   ${'baseline: re-sync every 15 min'.padEnd(46)} ${String(b.oversold).padStart(6)} (${b.oversoldSkus})       ${String(b.stranded).padStart(8)}        ${String(b.sold).padStart(6)}        ${b.lost}`);
  log(`   ${'onecount: pushes at once, auto buffer, last units'.padEnd(46)} ${String(a.oversold).padStart(6)} (${a.oversoldSkus})       ${String(a.stranded).padStart(8)}        ${String(a.sold).padStart(6)}        ${a.lost}`);
  await worker.stop();
}
