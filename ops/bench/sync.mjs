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
//  3. Oversell simulation (see oversell() below): 40 SKUs, half stocked to
//     sell out during the run and half not, sold by the simulators' seeded
//     generators on three policies at once — onecount (event-driven pushes,
//     automatic buffers from the lags and velocities onecount measured
//     itself during a warm-up, last units to the fastest channel), a naive
//     re-sync every 15 minutes, and (--pushes-only) pushes without buffers —
//     with the channel lags of CHANNELS.md, time compressed.  Oversold and
//     stranded units, sell-through, and the buffers onecount chose.
import { mkdtempSync } from 'node:fs';
import { tmpdir, cpus, totalmem, loadavg } from 'node:os';
import { join } from 'node:path';
import { startCluster, startStack, sleep, waitFor, client } from '../../tests/integration/lib/stack.mjs';
import { portfolio } from '../../tests/integration/lib/world.mjs';
import { channelBrand, KINDS } from '../../tests/integration/lib/sync.mjs';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const BRANDS = arg('brands', 100), SKUS = arg('skus', 10), RATE = arg('rate', 500), SECONDS = arg('seconds', 20);
const BURST = arg('burst', 1000), K = arg('compress', 30), SIM_SECONDS = arg('sim-seconds', 300);
const OSKUS = arg('oversell-skus', 40), WARMUP = arg('warmup-seconds', Math.round(SIM_SECONDS * 0.45));
const ONLY_OVERSELL = process.argv.includes('--only-oversell'), PUSHES_ONLY = process.argv.includes('--pushes-only');

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

  if (!ONLY_OVERSELL) await latencyAndCoalescing(stack, sim, P);

  // --- 3. oversell simulation ---------------------------------------------------------------
  log('');
  await oversell(stack, sim);
} finally {
  await cleanup();
}

async function latencyAndCoalescing(stack, sim, P) {
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
}


/**
 * 3. The oversell simulation (issue 13, "buffers that size themselves").
 *
 * Channels as in CHANNELS.md and the model of ARCHITECTURE.md: of a SKU's
 * sales, Shopify takes 1/3 (orders by webhook at once, pushes applied as
 * they are answered), Amazon 1/2 (listings applied 300 s after they are
 * accepted, orders polled), Walmart 1/6 (every push an inventory feed
 * applied 1,800 s later, orders polled).  Time runs K times faster.
 *
 * Nothing about lag or velocity is written by SQL: onecount measures both
 * itself, from the simulators' generators selling for real — push lag as
 * each connection's distribution (0023: p99 from the ring of samples, taken
 * when a push is answered applied, when Amazon says it applied it, or when
 * a read-back sees a Walmart feed's number), ingest lag from the orders it
 * takes in, velocity by the brand's `velocity` routine over the hours it
 * has watched.  The routines run at the default SOP's cadences divided by
 * K, set through the API (PATCH …/routines/{id}); the API refuses intervals
 * under 10 s, so a cadence that compresses below that (polling Amazon and
 * Walmart orders every 60 s is 1 s here) is kept at 10 s and the routine is
 * also asked to run at its compressed cadence (POST …/routines/{id}/run) —
 * there is no API for a shorter interval.  Walmart's `feed_threshold: 1`
 * (every push a feed, as big catalogues are pushed) is a connection setting
 * given when the connection is made.
 *
 * SKUs: OSKUS, each selling r_i units per (simulated) hour over all
 * channels, r_i from 30 to 75.  Over the run's H simulated hours the expected
 * demand is D_i = r_i × H.  Even SKUs get 0.7 × D_i units (they sell out
 * about 70 % into the run, so after the warm-up); odd SKUs get D_i / 0.6
 * (demand about 60 % of the stock: they never sell out).
 *
 * Warm-up: the first WARMUP seconds of the same run.  Stock is sized so
 * that no SKU can run out in it (checked and printed): it is where onecount
 * observes pushes and sales before any stock-out can happen.  Every policy
 * sells the same seeded streams for the whole run (same seed per channel,
 * same rates in the same SKU order: the simulators' generators draw the
 * same arrival times whether or not a buyer finds stock).
 *
 * Policies, each on its own three simulator accounts:
 *   onecount    event-driven pushes, every listing's buffer "auto"
 *               (auto_buffer(): p99 of the SKU's sales on all channels during
 *               the connection's p99 push lag + ingest lag), the last 3 units
 *               only on Shopify (the fastest);
 *   pushes only event-driven pushes, no buffers, no last-units rule (with
 *               --pushes-only: a second brand doubles onecount's load);
 *   naive       a job every 15 (simulated) minutes reads every channel's
 *               sales and sets every channel to what is left, instantly.
 *
 * Figures per policy, over all SKUs (demand_i = buyers who came, sold or
 * turned away; sold_i counts only units that were in stock):
 *   oversold  Σ max(0, sold_i − stock_i)                 (and the SKUs)
 *   stranded  Σ min(stock_i − sold_i, turned away_i)     units a buyer came
 *             for and did not get although they were left at the end
 *   sell-through = Σ min(sold_i, stock_i) / Σ min(stock_i, demand_i)
 *             (= 1 − stranded / Σ min(stock_i, demand_i))
 */
async function oversell(stack, simProc) {
  const sim = { url: simProc.url, api: client(simProc.url) };
  const H = (SIM_SECONDS * K) / 3600;
  const ch = {
    shopify: { share: 1 / 3, pushS: 0, ingest: 'webhooks' },
    amazon: { share: 1 / 2, pushS: 300, ingest: 'polled every 60 s' },
    walmart: { share: 1 / 6, pushS: 1800, ingest: 'polled every 60 s' },
  };
  const ms = (s) => Math.max(1, Math.round((s * 1000) / K));
  const accounts = {
    shopify: {},
    amazon: { apply_delay_ms: ms(ch.amazon.pushS) },
    walmart: { feed_queue_ms: Math.round(ms(ch.walmart.pushS) / 3), feed_process_ms: Math.round((2 * ms(ch.walmart.pushS)) / 3) },
  };
  const rate = Array.from({ length: OSKUS }, (_, i) => 30 + 5 * ((i * 7) % 10)); // units per simulated hour
  const above = (i) => i % 2 === 0;
  const stock = rate.map((r, i) => Math.round(above(i) ? 0.7 * r * H : (r * H) / 0.6));
  const names = Array.from({ length: OSKUS }, (_, i) => `O${String(i).padStart(2, '0')}`);

  // --- the two onecount brands ---
  const P2 = await portfolio(stack);
  const settings = { walmart: { feed_threshold: 1 } };
  const mk = (rules) => channelBrand(stack, P2, sim, { skus: names, stock: 1, accounts, rules, settings, pollSeconds: 10 });
  const one = await mk({ buffer: 'auto' });
  const bare = PUSHES_ONLY ? await mk({}) : null; // doubles onecount's load: only when asked
  const brands = bare ? { onecount: one, pushes: bare } : { onecount: one };
  const sop = { poll_orders: 60, poll_orders_shopify: 300, poll_returns: 900, read_back: 600, velocity: 3600 };
  const driven = []; // routines run at a compressed cadence below the API's 10 s floor
  for (const br of Object.values(brands)) {
    const rec = await br.api.post(`${br.base}/movements`, { kind: 'receipt', lines: br.skus.map((sku, i) => ({ sku, qty: stock[i] - 1 })) });
    if (rec.status !== 201) throw new Error(`receipt: ${rec.text}`);
    for (const r of (await br.api.get(`${br.base}/routines`)).json) {
      const every = sop[r.step_key];
      if (!every || r.interval_seconds == null) continue;
      const s = every / K;
      const u = await br.api.patch(`${br.base}/routines/${r.id}`, { interval_seconds: Math.max(10, Math.round(s)) });
      if (u.status !== 200) throw new Error(`routine ${r.step_key}: ${u.text}`);
      if (s < 10) driven.push({ br, id: r.id, every: s * 1000, next: 0 });
    }
    // the channels show the stock before onecount's first numbers land (a Walmart feed takes minutes)
    for (const kind of KINDS)
      await sim.api.put(`/_sim/accounts/${br.conns[kind].account.id}/stock`, Object.fromEntries(br.skus.map((sku, i) => [sku, stock[i]])));
  }
  await one.api.put(`${one.base}/rules`, { last_units: { threshold: 3, connection_id: one.conns.shopify.id } });

  // --- the naive baseline's accounts ---
  const naive = {};
  for (const kind of KINDS) {
    const a = (await sim.api.post('/_sim/accounts', { channel: kind, skus: names.map((sku, i) => ({ sku, quantity: stock[i] })),
      limits: 'unlimited', pending_ms: 0, ...accounts[kind] })).json;
    naive[kind] = a.id;
  }
  const ids = { naive };
  for (const [p, br] of Object.entries(brands)) ids[p] = Object.fromEntries(KINDS.map((k) => [k, br.conns[k].account.id]));

  const worker = await stack.startWorker();
  const dirty = async () => Number((await stack.sql('SELECT count(*) AS n FROM listings WHERE tenant_id = ANY($1) AND desired_version > pushed_version',
    [Object.values(brands).map((b) => b.id)])).rows[0].n);
  await waitFor(async () => (await dirty()) === 0, { timeout: 120000, what: 'the first pushes' });

  // --- the same seeded streams for every policy, started together ---
  const gen = (kind) => ({ rates: Object.fromEntries(rate.map((r, i) => [i, { per_hour: r * ch[kind].share * K }])),
    units_per_order: 1, seed: 1000 + KINDS.indexOf(kind), running: true });
  const codes = { naive: names };
  for (const [p, br] of Object.entries(brands)) codes[p] = br.skus;
  const specs = [];
  for (const [p, acc] of Object.entries(ids))
    for (const kind of KINDS) {
      const g = gen(kind);
      g.rates = Object.fromEntries(Object.entries(g.rates).map(([i, v]) => [codes[p][i], v]));
      specs.push([acc[kind], g]);
    }
  const load0 = loadavg()[0];
  await Promise.all(specs.map(([id, g]) => sim.api.put(`/_sim/accounts/${id}/generator`, g)));
  const start = Date.now();
  const period = ms(15 * 60);
  let nextSync = start + period, warm = null;
  const stats = async (id) => (await sim.api.get(`/_sim/accounts/${id}/stats`)).json.accounts[0].skus;
  const perSku = async (p) => {
    const out = codes[p].map(() => ({ sold: 0, lost: 0, by: {} }));
    for (const kind of KINDS)
      for (const s of await stats(ids[p][kind])) {
        const i = codes[p].indexOf(s.sku);
        if (i < 0) continue;
        out[i].sold += s.sold;
        out[i].lost += s.lost_arrivals;
        out[i].by[kind] = { sold: s.sold, lost: s.lost_arrivals };
      }
    return out;
  };
  while (Date.now() - start < SIM_SECONDS * 1000) {
    const now = Date.now();
    if (now >= nextSync) {
      nextSync += period;
      const views = {};
      for (const kind of KINDS) views[kind] = await stats(naive[kind]);
      for (const kind of KINDS) {
        const set = {};
        names.forEach((sku, i) => {
          const sold = KINDS.reduce((n, k) => n + views[k].find((x) => x.sku === sku).sold, 0);
          set[sku] = Math.max(stock[i] - sold, 0);
        });
        await sim.api.put(`/_sim/accounts/${naive[kind]}/stock`, set);
      }
    }
    for (const d of driven)
      if (now - start >= d.next) {
        d.next = now - start + d.every;
        d.br.api.post(`${d.br.base}/routines/${d.id}/run`, {}).catch(() => {});
      }
    if (!warm && now - start >= WARMUP * 1000) {
      warm = { at: now - start, advice: await adviceOf(one), conns: await lagsOf(one), sold: {} };
      for (const p of Object.keys(ids)) warm.sold[p] = await perSku(p);
    }
    await sleep(100);
  }
  await Promise.all(specs.map(([id]) => sim.api.post(`/_sim/accounts/${id}/generator/stop`, {})));
  const elapsed = Date.now() - start, load1 = loadavg()[0];
  const end = { advice: await adviceOf(one), conns: await lagsOf(one) };
  const velocity = (await stack.sql(`SELECT k.code, c.kind, v.units_per_hour FROM sku_velocity v
      JOIN skus k ON k.tenant_id = v.tenant_id AND k.id = v.sku_id
      JOIN channel_connections c ON c.tenant_id = v.tenant_id AND c.id = v.connection_id WHERE v.tenant_id = $1`, [one.id])).rows;
  const res = {};
  for (const p of Object.keys(ids)) res[p] = figures(await perSku(p), stock);
  await worker.stop();
  // how each channel's pushes went: answered applied ('ok') or accepted to apply later ('pending': an Amazon
  // listing, a Walmart feed), and the read-backs' findings
  const pushKinds = (await stack.sql(`SELECT c.kind, p.status, count(*) AS n FROM push_log p
      JOIN channel_connections c ON c.tenant_id = p.tenant_id AND c.id = p.connection_id
     WHERE p.tenant_id = $1 GROUP BY 1, 2 ORDER BY 1, 2`, [one.id])).rows;
  // how the order polls kept up: runs, their duration, and the orders each took in
  const polls = (await stack.sql(`SELECT c.kind, count(*) AS n, round(avg(extract(epoch FROM r.finished_at - r.started_at) * 1000)) AS avg_ms,
      round(max(extract(epoch FROM r.finished_at - r.started_at) * 1000)) AS max_ms, count(*) FILTER (WHERE r.status <> 'ok') AS bad,
      max(r.detail::text) FILTER (WHERE r.status <> 'ok') AS why
      FROM routine_runs r JOIN channel_connections c ON c.tenant_id = r.tenant_id AND c.id = r.connection_id
     WHERE r.tenant_id = $1 AND r.kind = 'poll_orders' GROUP BY 1 ORDER BY 1`, [one.id])).rows;
  const late = (await stack.sql(`SELECT c.kind, round(percentile_disc(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM o.first_seen_at - o.channel_created_at))::numeric, 1) AS p50,
      round(percentile_disc(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM o.first_seen_at - o.channel_created_at))::numeric, 1) AS p99, count(*) AS n
      FROM channel_orders o JOIN channel_connections c ON c.tenant_id = o.tenant_id AND c.id = o.connection_id
     WHERE o.tenant_id = $1 GROUP BY 1 ORDER BY 1`, [one.id]).catch((e) => ({ rows: [{ kind: `(${e.message})` }] }))).rows;
  const drifts = (await stack.sql(`SELECT c.kind, d.classification, count(*) AS n FROM drift_events d
      JOIN channel_connections c ON c.tenant_id = d.tenant_id AND c.id = d.connection_id
     WHERE d.tenant_id = $1 GROUP BY 1, 2 ORDER BY 1, 2`, [one.id])).rows;

  // --- report ---
  const nAbove = stock.filter((_, i) => above(i)).length;
  log(`3. oversell simulation: ${OSKUS} SKUs selling ${Math.min(...rate)}-${Math.max(...rate)} units per simulated hour each (Shopify 1/3, Amazon 1/2, Walmart 1/6);`);
  log(`   ${nAbove} SKUs stocked at 0.7 x their expected demand (sell out), ${OSKUS - nAbove} at demand / 0.6 (do not); ${stock.reduce((a, b) => a + b, 0)} units in all`);
  log(`   channel lags: Shopify push applied as answered, orders by webhook; Amazon applies a listing ${ch.amazon.pushS} s after accepting it, orders polled every 60 s;`);
  log(`   Walmart applies a feed ${ch.walmart.pushS} s after it is sent, orders polled every 60 s; routines at the default SOP's cadences / ${K}`);
  log(`   time compressed ${K}x: ${(elapsed / 1000).toFixed(0)} s here = ${((elapsed / 1000) * K / 3600).toFixed(2)} h of selling, the first ${(warm.at / 1000).toFixed(0)} s (${((warm.at / 1000) * K / 3600).toFixed(2)} h) the warm-up;`);
  log(`   load average (1 min) ${load0.toFixed(1)} at the start, ${load1.toFixed(1)} at the end, on ${cpus().length} cores shared with other work`);
  log(`   same seeded streams for every policy (buyers per SKU differ between policies by at most ${maxDemandDiff(res)})`);
  for (const p of Object.keys(ids)) {
    const out = warm.sold[p].filter((x, i) => x.lost > 0 || x.sold >= stock[i]).length;
    if (out) log(`   WARNING: ${p}: ${out} SKUs ran out (or turned a buyer away) during the warm-up`);
  }
  log('   sell-through = sum min(sold, stock) / sum min(stock, demand); stranded = sum min(stock left, buyers turned away); demand = buyers who came');
  log(`   ${'policy'.padEnd(44)} oversold units (SKUs)  stranded  sell-through  sold/stock  demand  turned away`);
  const row = (label, f) => log(`   ${label.padEnd(44)} ${String(f.oversold).padStart(6)} (${String(f.oversoldSkus).padStart(2)})  ${String(f.stranded).padStart(12)}  ${(100 * f.sellThrough).toFixed(2).padStart(10)} %  ${String(f.sold).padStart(5)}/${f.stock}  ${String(f.demand).padStart(6)}  ${String(f.lost).padStart(7)}`);
  row('naive: re-sync every 15 min', res.naive);
  if (res.pushes) row('pushes only: no buffers', res.pushes);
  row('onecount: auto buffers, last units to Shopify', res.onecount);
  for (const [p, f] of Object.entries(res))
    log(`     ${p}: sell-out SKUs ${f.groups.above.oversold} oversold / ${f.groups.above.stranded} stranded / ${(100 * f.groups.above.sellThrough).toFixed(2)} %;` +
      ` other SKUs ${f.groups.below.oversold} / ${f.groups.below.stranded} / ${(100 * f.groups.below.sellThrough).toFixed(2)} %`);
  const goalOver = res.onecount.oversold <= 0.01 * res.naive.oversold, goalThrough = res.onecount.sellThrough >= 0.99;
  log(`   goals: onecount oversold ${res.onecount.oversold} <= 1 % of naive's ${res.naive.oversold}: ${goalOver ? 'MET' : 'NOT MET'};` +
    ` sell-through ${(100 * res.onecount.sellThrough).toFixed(2)} % >= 99 %: ${goalThrough ? 'MET' : 'NOT MET'}`);
  for (const [when, snap] of [['end of warm-up', warm], ['end of run', end]]) {
    log(`   onecount measured (${when}):`);
    for (const kind of KINDS) {
      const c = snap.conns[kind];
      const b = snap.advice[kind].map((l) => l.current_buffer).sort((x, y) => x - y);
      const sg = snap.advice[kind].map((l) => l.suggested_buffer).sort((x, y) => x - y);
      log(`     ${kind.padEnd(8)} push lag p50/p90/p99 ${c.push_lag.p50_ms ?? '-'}/${c.push_lag.p90_ms ?? '-'}/${c.push_lag.p99_ms ?? '-'} ms (${c.push_lag.samples} samples; mean ${c.push_lag_ms ?? '-'}; true ${ch[kind].pushS ? `${ms(ch[kind].pushS)} ms` : 'as answered'}),` +
        ` ingest lag ${c.ingest_lag_ms ?? '-'} ms; auto buffer min/median/max ${b[0]}/${pct(b, 0.5)}/${b[b.length - 1]} (sum ${b.reduce((x, y) => x + y, 0)}),` +
        ` advisor suggests ${sg[0]}/${pct(sg, 0.5)}/${sg[sg.length - 1]}`);
    }
  }
  const vByKind = {};
  for (const v of velocity) (vByKind[v.kind] = vByKind[v.kind] || []).push(Number(v.units_per_hour) / K);
  for (const kind of KINDS) {
    const xs = vByKind[kind] || [];
    const truth = rate.reduce((a, r) => a + r * ch[kind].share, 0);
    log(`     velocity on ${kind}: measured ${xs.reduce((a, b) => a + b, 0).toFixed(0)} units per simulated hour over ${xs.length} SKUs (generators: ${truth.toFixed(0)})`);
  }
  log(`     onecount's pushes: ${pushKinds.map((r) => `${r.kind} ${r.status} ${r.n}`).join(', ')}`);
  log(`     order polls: ${polls.map((r) => `${r.kind} ${r.n} runs, ${r.avg_ms} ms on average, ${r.max_ms} ms at most${Number(r.bad) ? `, ${r.bad} not ok (${String(r.why).slice(0, 80)})` : ''}`).join('; ')}`);
  log(`     orders taken in after they were placed (s here): ${late.map((r) => `${r.kind} p50 ${r.p50} p99 ${r.p99} (${r.n})`).join(', ')}`);
  log(`     read-back findings: ${drifts.map((r) => `${r.kind} ${r.classification} ${r.n}`).join(', ') || 'none'}`);
  const worst = res.onecount.per.map((x, i) => ({ i, ...x })).filter((x) => x.oversold > 0 || x.stranded > 0);
  for (const x of worst.slice(0, 12))
    log(`     onecount ${names[x.i]} (stock ${stock[x.i]}, ${rate[x.i]}/h): oversold ${x.oversold}, stranded ${x.stranded}; ` +
      KINDS.map((k) => `${k} sold ${x.by[k].sold} turned away ${x.by[k].lost}`).join(', '));
}

async function adviceOf(br) {
  const out = {};
  for (const kind of KINDS) out[kind] = (await br.api.get(`${br.base}/connections/${br.conns[kind].id}/buffer-advice`)).json.listings;
  return out;
}

async function lagsOf(br) {
  const out = {};
  for (const kind of KINDS) out[kind] = (await br.api.get(`${br.base}/connections/${br.conns[kind].id}`)).json;
  return out;
}

function figures(per, stock) {
  const sum = (idx) => {
    let oversold = 0, oversoldSkus = 0, stranded = 0, sold = 0, lost = 0, demand = 0, want = 0, st = 0;
    for (const i of idx) {
      const x = per[i], s = stock[i];
      const d = x.sold + x.lost;
      x.oversold = Math.max(0, x.sold - s);
      x.stranded = Math.min(Math.max(0, s - x.sold), x.lost);
      x.demand = d;
      oversold += x.oversold; oversoldSkus += x.oversold > 0 ? 1 : 0; stranded += x.stranded;
      sold += Math.min(x.sold, s); lost += x.lost; demand += d; want += Math.min(s, d); st += s;
    }
    return { oversold, oversoldSkus, stranded, sold, lost, demand, stock: st, sellThrough: want ? sold / want : 1 };
  };
  const all = per.map((_, i) => i);
  return { ...sum(all), per, groups: { above: sum(all.filter((i) => i % 2 === 0)), below: sum(all.filter((i) => i % 2 === 1)) } };
}

function maxDemandDiff(res) {
  const ps = Object.values(res);
  let d = 0;
  ps[0].per.forEach((_, i) => {
    const xs = ps.map((f) => f.per[i].demand);
    d = Math.max(d, Math.max(...xs) - Math.min(...xs));
  });
  return d;
}
