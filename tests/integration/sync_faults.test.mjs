// sync_faults.test.mjs — the sync loop when things break: workers and the
// server killed with SIGKILL at random moments under load (two workers at
// once for part of it), a 429 storm, a channel outage.  The end state is the
// same as without faults: every order in once, the master equal to receipts
// minus net sales, every channel showing its published quantity, no listing
// pushed by two workers at the same time.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor, sleep } from './lib/stack.mjs';
import { portfolio, tokenClient } from './lib/world.mjs';
import { startSyncStack, channelBrand, converge, channelView, balance, KINDS, runNow } from './lib/sync.mjs';

const LEASE = 4; // seconds: a killed worker's claims are taken over this quickly
let stack, P, sim;

before(async () => {
  ({ stack, sim, P } = await startSyncStack({ env: { ONECOUNT_WORKER_LEASE_SECONDS: String(LEASE), ONECOUNT_WORKER_SCAN_MS: '300' } }));
});
after(async () => { await stack?.stop(); });

const rand = (a, b) => a + Math.random() * (b - a);

async function generators(brs, on, perSecond = 0.8) {
  for (const br of brs)
    for (const kind of KINDS) {
      const id = br.conns[kind].account.id;
      if (on) {
        const r = await br.sim.put(`/_sim/accounts/${id}/generator`, { all: { per_second: perSecond }, units_per_order: { min: 1, max: 2 },
          lifecycle: { cancel_fraction: 0.15, cancel_after_ms: 600, fulfill_after_ms: 1200 }, running: true });
        assert.equal(r.status, 200, r.text);
      } else {
        await br.sim.post(`/_sim/accounts/${id}/generator/stop`, {});
      }
    }
}

/** The ledger against the channels: receipts minus what they sold net of cancellations. */
async function assertMaster(br, stock) {
  const views = {};
  for (const kind of KINDS) views[kind] = await channelView(br, kind);
  for (const code of br.skus) {
    let net = 0;
    for (const kind of KINDS) net += views[kind][code].sold - views[kind][code].cancelled;
    const b = await balance(br, code);
    assert.equal(b.on_hand - b.committed, stock - net, `${code}: on hand ${b.on_hand}, committed ${b.committed}, channels sold net ${net}`);
  }
  assert.deepEqual((await br.api.get(`${br.base}/ledger/verify`)).json.mismatches, []);
}

test('SIGKILL of workers and of the server under load: same end state, no order lost or counted twice, no concurrent pushes', async () => {
  const brs = [];
  for (let i = 0; i < 2; i++) brs.push(await channelBrand(stack, P, sim, { skus: ['K1', 'K2', 'K3'], stock: 80 }));
  let w1 = await stack.startWorker();
  await converge(brs);
  await generators(brs, true);
  await sleep(rand(1000, 2500));
  await w1.stop('SIGKILL');
  const w2 = await stack.startWorker();
  const w3 = await stack.startWorker(); // two workers at once: they share the work through leases
  await sleep(rand(1000, 2500));
  await stack.server.stop('SIGKILL'); // webhooks fail meanwhile; Shopify delivers them again
  await sleep(rand(300, 1000));
  await stack.restartServer();
  for (const br of brs) br.api = tokenClient(stack.url, br.api.headers.authorization.slice(7));
  await sleep(rand(1000, 2000));
  await w2.stop('SIGKILL');
  await sleep(rand(500, 1500));
  await generators(brs, false);
  await sleep(2000);
  await converge(brs, { timeout: 90000 });
  for (const br of brs) await assertMaster(br, 80);
  // No listing was pushed by two workers at once: the acknowledged pushes of a listing never overlap in time.
  const rows = (await stack.sql(`SELECT listing_id, sent_at, latency_ms FROM push_log WHERE tenant_id = ANY($1) AND latency_ms IS NOT NULL
    ORDER BY listing_id, sent_at`, [brs.map((b) => b.id)])).rows;
  let overlaps = 0;
  for (let i = 1; i < rows.length; i++) {
    const a = rows[i - 1], b = rows[i];
    if (a.listing_id !== b.listing_id) continue;
    if (b.sent_at.getTime() - b.latency_ms < a.sent_at.getTime() - 5) overlaps++;
  }
  assert.equal(overlaps, 0, 'two pushes of one listing in flight at once');
  assert.ok(rows.length > 20);
  await w3.stop();
  P = await portfolio(stack); // the server moved to another port
});

test('a 429 storm: the worker backs off within the limits and converges once it passes', async () => {
  const br = await channelBrand(stack, P, sim, { skus: ['S1', 'S2'], stock: 40, accounts: { walmart: { limits: 'realistic' } } });
  const w = await stack.startWorker();
  await converge([br]);
  const acct = br.conns.walmart.account.id;
  const since = (await br.sim.get('/_sim/requests?limit=1')).json.latest_id;
  assert.equal((await br.sim.put(`/_sim/accounts/${acct}/faults`, { storm_seconds: 4 })).status, 200);
  // sales elsewhere keep changing what Walmart should show
  for (let i = 0; i < 6; i++) {
    await br.sim.post(`/_sim/accounts/${br.conns.shopify.account.id}/orders`, { sku: br.skus[i % 2], quantity: 1 });
    await sleep(500);
  }
  const log = (await br.sim.get(`/_sim/requests?account=${acct}&since=${since}&limit=1000`)).json.requests;
  const throttled = log.filter((r) => r.status === 429);
  assert.ok(throttled.length >= 1, 'the storm was felt');
  assert.ok(log.length <= 40, `${log.length} requests to a throttling channel in about 3 s`);
  await converge([br], { timeout: 60000 });
  const h = (await br.api.get(`${br.base}/connections/${br.conns.walmart.id}/health`)).json;
  assert.equal(h.circuit, 'closed');
  assert.equal(h.queue_depth, 0);
  await w.stop();
});

test('an outage opens the circuit and raises an alert; the connection recovers by itself', async () => {
  const br = await channelBrand(stack, P, sim, { skus: ['O1', 'O2'], stock: 40 });
  const w = await stack.startWorker();
  await converge([br]);
  const amz = br.conns.amazon;
  assert.equal((await br.sim.put(`/_sim/accounts/${amz.account.id}/faults`, { error_rate: 1, error_status: 503 })).status, 200);
  // every sale makes Amazon's number change; each push fails
  for (let i = 0; i < 8; i++) {
    await br.api.post(`${br.base}/movements`, { kind: 'sale', sku: br.skus[i % 2], qty: 1 });
    await sleep(400);
  }
  let seen;
  const open = await waitFor(async () => {
    const h = (await br.api.get(`${br.base}/connections/${amz.id}/health`)).json;
    seen = h;
    return h.circuit === 'open' && h;
  }, { what: () => `the circuit to open: ${JSON.stringify(seen)}`, timeout: 60000 });
  assert.ok(open.consecutive_failures >= 1);
  assert.ok(open.open_alerts.some((a) => a.kind === 'circuit_open'), JSON.stringify(open.open_alerts));
  assert.ok(open.queue_depth > 0);
  // the other channels are not held back by the broken one
  const shop = (await br.api.get(`${br.base}/connections/${br.conns.shopify.id}/health`)).json;
  assert.equal(shop.queue_depth, 0);
  assert.equal((await br.sim.del(`/_sim/accounts/${amz.account.id}/faults`)).status, 200);
  await converge([br], { timeout: 90000 });
  const healed = (await br.api.get(`${br.base}/connections/${amz.id}/health`)).json;
  assert.equal(healed.circuit, 'closed');
  assert.deepEqual(healed.open_alerts, []);
  const resolved = (await br.api.get(`${br.base}/alerts?state=resolved`)).json.items;
  assert.ok(resolved.some((a) => a.kind === 'circuit_open' && a.connection_id === amz.id));
  await runNow(br, ['read_back']);
  await w.stop();
});

test('push results that cannot be recorded hand their listings back, though the brand stays busy', async () => {
  const br = await channelBrand(stack, P, sim, { skus: ['R1'], stock: 10, webhooks: false });
  const w = await stack.startWorker();
  await converge([br]);
  const amz = br.conns.amazon, shop = br.conns.shopify;
  // Recording Amazon's pushes fails; Shopify's pushes hang, so the brand has work in flight throughout.
  await stack.sql(`CREATE FUNCTION refuse_push_log() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION 'push_log refused for this test'; END $$`);
  await stack.sql(`CREATE TRIGGER refuse_push_log BEFORE INSERT ON push_log FOR EACH ROW
    WHEN (NEW.connection_id = '${amz.id}') EXECUTE FUNCTION refuse_push_log()`);
  assert.equal((await br.sim.put(`/_sim/accounts/${shop.account.id}/faults`, { latency_ms: 15000 })).status, 200);
  try {
    assert.equal((await br.api.post(`${br.base}/movements`, { kind: 'receipt', sku: br.skus[0], qty: 5 })).status, 201);
    // Amazon got the push; recording it failed.
    await waitFor(async () => (await channelView(br, 'amazon'))[br.skus[0]].quantity === 15, { what: 'the push to Amazon' });
    await sleep(500);
    const row = async () => (await stack.sql(`SELECT pushed_version, desired_version FROM listings
      WHERE tenant_id = $1 AND connection_id = $2`, [br.id, amz.id])).rows[0];
    assert.ok(Number((await row()).pushed_version) < Number((await row()).desired_version), 'the push was not recorded');
    await stack.sql('DROP TRIGGER refuse_push_log ON push_log');
    // Shopify's push is still in flight (15 s); the Amazon listing is pushed again and recorded well before.
    await waitFor(async () => { const r = await row(); return r.pushed_version === r.desired_version; },
      { timeout: 6000, what: 'the Amazon listing pushed again and recorded while the brand is busy' });
    const sh = (await stack.sql(`SELECT pushed_version < desired_version AS behind FROM listings
      WHERE tenant_id = $1 AND connection_id = $2`, [br.id, shop.id])).rows[0];
    assert.equal(sh.behind, true, 'Shopify was still busy (its push in flight) while Amazon caught up');
  } finally {
    await stack.sql('DROP TRIGGER IF EXISTS refuse_push_log ON push_log');
    await stack.sql('DROP FUNCTION IF EXISTS refuse_push_log()');
    await br.sim.del(`/_sim/accounts/${shop.account.id}/faults`);
  }
  await converge([br], { timeout: 60000 });
  await w.stop();
});

test("a full re-push locks a connection's listings in id order, as sales refreshing them do", async () => {
  await stack.sql('CREATE EXTENSION IF NOT EXISTS pgrowlocks');
  const br = await channelBrand(stack, P, sim, { skus: Array.from({ length: 12 }, (_, i) => `Q${i}`), stock: 5, webhooks: false });
  const cid = br.conns.walmart.id;
  const ids = (await stack.sql('SELECT id FROM listings WHERE tenant_id = $1 AND connection_id = $2 ORDER BY id', [br.id, cid]))
    .rows.map((r) => r.id);
  // The first listing in id order becomes the last in every other order a scan could take: the table's
  // (a new row version) and the connection's external SKUs.
  await stack.sql("UPDATE listings SET external_sku = 'ZZZ-' || external_sku WHERE tenant_id = $1 AND id = $2", [br.id, ids[0]]);
  const holder = await stack.pool.connect();
  const w = await stack.startWorker();
  try {
    await holder.query('BEGIN');
    await holder.query('SELECT 1 FROM listings WHERE tenant_id = $1 AND id = $2 FOR UPDATE', [br.id, ids[0]]);
    const rt = (await br.api.get(`${br.base}/routines`)).json.find((r) => r.kind === 'full_repush' && r.connection_id === cid);
    assert.equal((await br.api.post(`${br.base}/routines/${rt.id}/run`, {})).status, 200);
    // The re-push waits for the listing we hold ...
    const pid = await waitFor(async () => (await stack.sql(`SELECT pid FROM pg_stat_activity
      WHERE wait_event_type = 'Lock' AND query LIKE '%desired_version = l.desired_version + 1%'
         OR wait_event_type = 'Lock' AND query LIKE '%UPDATE listings SET desired_version%'`)).rows[0]?.pid,
    { what: 'the re-push waiting for the held listing' });
    // ... and, having started with it, holds no other listing meanwhile.
    const locked = (await stack.sql('SELECT count(*)::int AS n FROM pgrowlocks($1) WHERE $2 = ANY (pids)', ['listings', pid])).rows[0].n;
    assert.equal(locked, 0, `the re-push locked ${locked} listings before the first in id order`);
  } finally {
    await holder.query('ROLLBACK');
    holder.release();
  }
  await w.stop();
});

test('an ingestion takes its stock and listing locks before it moves anything, in the order every path takes them', async () => {
  await stack.sql('CREATE EXTENSION IF NOT EXISTS pgrowlocks');
  const br = await channelBrand(stack, P, sim, { skus: ['IA', 'IB'], stock: 10, webhooks: false });
  const [a, b] = br.skus; // b was created after a: the larger sku_id
  const ids = Object.fromEntries((await stack.sql('SELECT code, id FROM skus WHERE tenant_id = $1', [br.id])).rows.map((r) => [r.code, Number(r.id)]));
  assert.ok(ids[b] > ids[a]);
  const w = await stack.startWorker();
  await converge([br]);
  const acct = br.conns.walmart.account.id;
  // Two orders on one page: a's first, then b's, whose stock row we hold.
  assert.equal((await br.sim.post(`/_sim/accounts/${acct}/orders`, { sku: a, quantity: 1 })).status, 201);
  assert.equal((await br.sim.post(`/_sim/accounts/${acct}/orders`, { sku: b, quantity: 1 })).status, 201);
  const holder = await stack.pool.connect();
  try {
    await holder.query('BEGIN');
    await holder.query('SELECT 1 FROM stock WHERE tenant_id = $1 AND sku_id = $2 FOR UPDATE', [br.id, ids[b]]);
    const me = (await holder.query('SELECT pg_backend_pid() AS pid')).rows[0].pid;
    await runNow(br, ['poll_orders']);
    const pid = await waitFor(async () => (await stack.sql(
      'SELECT pid FROM pg_stat_activity WHERE $1 = ANY (pg_blocking_pids(pid))', [me])).rows[0]?.pid,
    { what: 'the ingestion waiting for the held stock row' });
    // Waiting for b's stock, it holds no listing yet: a's order moved nothing before every lock was taken.
    const locked = (await stack.sql('SELECT count(*)::int AS n FROM pgrowlocks($1) WHERE $2 = ANY (pids)', ['listings', pid])).rows[0].n;
    assert.equal(locked, 0, `the ingestion held ${locked} listings while it waited for a stock row`);
  } finally {
    await holder.query('ROLLBACK');
    holder.release();
  }
  await converge([br]);
  assert.equal((await balance(br, a)).committed + (await balance(br, b)).committed, 2);
  await w.stop();
});
