// holds.test.mjs — holds in Redis with PostgreSQL deciding: create,
// confirm, release, expiry; the last-unit race between sales and holds;
// Redis flushed, killed and restarted in the middle of a storm.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { startStack, waitFor, sleep } from './lib/stack.mjs';
import { brandWorld, brand, token, tokenClient } from './lib/world.mjs';

let stack, P, A, api, base, sku;
before(async () => {
  stack = await startStack();
  ({ P, A, api, base, sku } = await brandWorld(stack, 'operator'));
});
after(async () => { await stack?.stop(); });

const bal = async (code) => (await api.get(`${base}/skus/${code}`)).json;
const skuId = async (code) => (await stack.sql('SELECT id FROM skus WHERE tenant_id = $1 AND code = $2', [A.id, code])).rows[0].id;

/** Redis and PostgreSQL agree on a SKU: cached base and held units (once Redis has settled the commits). */
async function agree(code) {
  const id = await skuId(code);
  await waitFor(async () => {
    const pg = (await stack.sql('SELECT on_hand - committed AS base, held, version FROM stock WHERE tenant_id = $1 AND sku_id = $2', [A.id, id])).rows[0];
    const b = stack.redis.cli('GET', `oc:{${A.id}}:b:${id}`);
    const h = stack.redis.cli('GET', `oc:{${A.id}}:h:${id}`);
    if (b === '' || h === '') return true; // not cached: nothing to disagree with
    return Number(b.split(' ')[1]) === Number(pg.base) && Number(h) === Number(pg.held);
  }, { what: `Redis and PostgreSQL to agree on ${code}`, timeout: 10000 });
}

test('a hold reserves, shows in balances, and is released', async () => {
  await sku('H1', { qty: 5 });
  const h = await api.post(`${base}/holds`, { sku: 'H1', qty: 2, ttl_seconds: 60, reference: 'cart-1' });
  assert.equal(h.status, 201, h.text);
  assert.equal(h.json.state, 'active');
  assert.equal(h.json.reference, 'cart-1');
  // The fast path: reserved in Redis, committed in PostgreSQL before the answer.
  assert.equal(stack.redis.cli('HEXISTS', `oc:{${A.id}}:holds`, h.json.id), '1');
  assert.equal((await bal('H1')).held, 2);
  assert.equal((await bal('H1')).available, 3);
  const got = await api.get(`${base}/holds/${h.json.id}`);
  assert.equal(got.json.id, h.json.id);
  const list = await api.get(`${base}/holds`);
  assert.ok(list.json.items.some((x) => x.id === h.json.id));
  const short = await api.post(`${base}/holds`, { sku: 'H1', qty: 4 });
  assert.equal(short.status, 409);
  assert.equal(short.json.error.code, 'insufficient_stock');
  const rel = await api.post(`${base}/holds/${h.json.id}/release`, {});
  assert.equal(rel.status, 200, rel.text);
  assert.equal(rel.json.state, 'released');
  assert.equal((await bal('H1')).held, 0);
  assert.equal((await api.post(`${base}/holds/${h.json.id}/confirm`, {})).status, 409, 'a released hold cannot be confirmed');
  await agree('H1');
});

test('confirming turns a hold into a sale; a guarded sale cannot take held units', async () => {
  await sku('H2', { qty: 3 });
  const h = await api.post(`${base}/holds`, { sku: 'H2', qty: 2 });
  assert.equal(h.status, 201);
  const sale = await api.post(`${base}/movements`, { kind: 'sale', sku: 'H2', qty: 2 });
  assert.equal(sale.status, 409, 'two of three units are held');
  const c = await api.post(`${base}/holds/${h.json.id}/confirm`, {});
  assert.equal(c.status, 201, c.text);
  assert.equal(c.json.kind, 'sale');
  const b = await bal('H2');
  assert.deepEqual({ committed: b.committed, held: b.held, available: b.available }, { committed: 2, held: 0, available: 1 });
  assert.equal((await api.post(`${base}/holds/${h.json.id}/confirm`, {})).status, 409, 'only once');
  const hist = await api.get(`${base}/skus/H2/history?kind=sale`);
  assert.equal(hist.json.items[0].reference, `hold:${h.json.id}`);
  await agree('H2');
});

test('a confirm with an Idempotency-Key: a retry answers the same sale, another request under the key is refused', async () => {
  await sku('HK1', { qty: 3 });
  const h = await api.post(`${base}/holds`, { sku: 'HK1', qty: 2 });
  assert.equal(h.status, 201, h.text);
  const key = randomUUID();
  const c = await api.post(`${base}/holds/${h.json.id}/confirm`, {}, { 'idempotency-key': key });
  assert.equal(c.status, 201, c.text);
  // a retry (the answer lost on the way): the stored sale, not "hold ... is confirmed", and nothing sold twice
  const again = await api.post(`${base}/holds/${h.json.id}/confirm`, {}, { 'idempotency-key': key });
  assert.equal(again.status, 201, again.text);
  assert.equal(again.headers.get('idempotent-replayed'), 'true');
  assert.deepEqual(again.json.movements, c.json.movements);
  assert.equal((await bal('HK1')).committed, 2);
  // the key on another request: refused, whatever that request is
  const other = await api.post(`${base}/holds`, { sku: 'HK1', qty: 1 });
  assert.equal(other.status, 201, other.text);
  const mismatch = await api.post(`${base}/holds/${other.json.id}/confirm`, {}, { 'idempotency-key': key });
  assert.equal(mismatch.status, 422, mismatch.text);
  assert.equal(mismatch.json.error.code, 'idempotency_mismatch');
  assert.equal((await bal('HK1')).held, 1, 'the other hold is still active');
  assert.equal((await api.post(`${base}/holds/${other.json.id}/release`, {})).status, 200);
});

test('a confirmed or released hold reads as ended at once, on any connection', async () => {
  await sku('RYW', { qty: 1000 });
  // Many loops at once spread over the pool's connections (and so the
  // server's threads): the read right after each answer may land anywhere.
  const loop = async (i) => {
    for (let k = 0; k < 10; k++) {
      const h = await api.post(`${base}/holds`, { sku: 'RYW', qty: 1, ttl_seconds: 60 });
      assert.equal(h.status, 201);
      const end = (i + k) % 2 ? 'confirm' : 'release';
      const e = await api.post(`${base}/holds/${h.json.id}/${end}`, {});
      assert.equal(e.status, end === 'confirm' ? 201 : 200);
      const g = await api.get(`${base}/holds/${h.json.id}`);
      assert.equal(g.json.state, end === 'confirm' ? 'confirmed' : 'released', `${end}ed hold read back`);
    }
  };
  await Promise.all(Array.from({ length: 16 }, (_, i) => loop(i)));
  assert.equal((await bal('RYW')).held, 0);
  await agree('RYW');
});

/** Two SKU codes that share a slot of the server's per-thread SKU cache (FNV-1a of brand id + code, 131072 slots). */
function collidingCodes(brandId, prefix) {
  const slot = (code) => {
    let h = 2166136261;
    for (const ch of Buffer.from(brandId + code)) h = Math.imul(h ^ ch, 16777619) >>> 0;
    return h % 131072;
  };
  const seen = new Map();
  for (let i = 0; ; i++) {
    const code = `${prefix}${i}`, s = slot(code);
    if (seen.has(s)) return [seen.get(s), code];
    seen.set(s, code);
  }
}

test("a movement answers once the hold gate has its new quantity: a hold asked after the answer sees it", async () => {
  await sku('GATE1', { qty: 2 });
  const warm = await api.post(`${base}/holds`, { sku: 'GATE1', qty: 2, ttl_seconds: 60 });
  assert.equal(warm.status, 201, warm.text); // the gate now caches the base (2) and holds all of it
  assert.equal((await api.post(`${base}/holds/${warm.json.id}/release`, {})).status, 200);
  // Redis holds every write for a while: the receipt's answer must wait for the gate to take the new base.
  const pause = 400, t0 = Date.now();
  stack.redis.cli('CLIENT', 'PAUSE', String(pause), 'WRITE');
  const rec = await api.post(`${base}/movements`, { kind: 'receipt', sku: 'GATE1', qty: 3 });
  const waited = Date.now() - t0;
  assert.equal(rec.status, 201, rec.text);
  assert.ok(waited >= pause - 50, `the receipt was answered after ${waited} ms, before Redis took its new base`);
  const id = await skuId('GATE1');
  assert.equal(stack.redis.cli('GET', `oc:{${A.id}}:b:${id}`).split(' ')[1], '5');
  const all = await api.post(`${base}/holds`, { sku: 'GATE1', qty: 5, ttl_seconds: 60 });
  assert.equal(all.status, 201, all.text);
  assert.equal((await api.post(`${base}/holds/${all.json.id}/release`, {})).status, 200);
});

test('codes that share a cache slot resolve together: multi-line holds and guarded sales', async () => {
  const [a, b] = collidingCodes(A.id, 'COL');
  await sku(a, { qty: 5 });
  await sku(b, { qty: 5 });
  for (let round = 0; round < 3; round++) { // cold, then warm cache
    const h = await api.post(`${base}/holds`, { lines: [{ sku: a, qty: 1 }, { sku: b, qty: 1 }], ttl_seconds: 60 });
    assert.equal(h.status, 201, JSON.stringify(h.json));
    assert.equal((await api.post(`${base}/holds/${h.json.id}/release`, {})).status, 200);
  }
  // Hold all of `a`; a guarded multi-line sale that needs `a` must be refused, naming it.
  const all = await api.post(`${base}/holds`, { sku: a, qty: 5, ttl_seconds: 60 });
  assert.equal(all.status, 201);
  const sale = await api.post(`${base}/movements`, { kind: 'sale', lines: [{ sku: b, qty: 1 }, { sku: a, qty: 1 }] });
  assert.equal(sale.status, 409, JSON.stringify(sale.json));
  assert.match(sale.json.error.message, new RegExp(a));
  assert.equal((await bal(a)).on_hand, 5);
});

test('committing holds into PostgreSQL from two threads at once never deadlocks', async () => {
  // Two batches over the same 40 SKUs in opposite orders, as two server
  // threads may send them: holds_commit() must lock stock in one order.
  const codes = Array.from({ length: 40 }, (_, i) => `MIR${i}`);
  for (const c of codes) await sku(c, { qty: 50 });
  const ids = (await stack.sql('SELECT id FROM skus WHERE tenant_id = $1 AND code = ANY($2) ORDER BY id', [A.id, codes])).rows.map((r) => r.id);
  const batch = (order) => JSON.stringify(order.map((id) => ({
    tenant: A.id, id: randomUUID(), lines: [{ sku_id: Number(id), qty: 1 }], request: [], created_ms: Date.now(), expires_ms: Date.now() + 600000,
  })));
  const clients = [new pg.Client({ connectionString: stack.databaseUrl }), new pg.Client({ connectionString: stack.databaseUrl })];
  await Promise.all(clients.map((c) => c.connect()));
  try {
    const commit = async (c, order) => {
      await c.query('BEGIN');
      await c.query("SELECT set_config('app.tenant_id', $1, true)", [A.id]);
      const out = (await c.query('SELECT holds_commit($1::jsonb) AS o', [batch(order)])).rows[0].o;
      await c.query('COMMIT');
      assert.ok(out.every((o) => o.outcome === 'held'));
    };
    for (let round = 0; round < 20; round++)
      await Promise.all([commit(clients[0], ids), commit(clients[1], [...ids].reverse())]);
  } finally {
    await Promise.all(clients.map((c) => c.end()));
  }
  const held = (await stack.sql('SELECT sum(held)::int AS h FROM stock WHERE tenant_id = $1 AND sku_id = ANY($2)', [A.id, ids])).rows[0].h;
  assert.equal(held, 40 * 2 * 20);
});

test('the expiry sweep locks stock in the order the hold commit does: no deadlock', async () => {
  // Hold X (the lower id) is on the higher SKU, hold Y on the lower one.  A
  // transaction holds the lower SKU's row, as a hold commit part-way through its
  // batch does, while the sweep expires X and Y, then takes the higher SKU.
  // Ending the holds one by one locked the higher SKU first and deadlocked.
  await sku('EXP-LO', { qty: 5 });
  await sku('EXP-HI', { qty: 5 });
  const [lo, hi] = [await skuId('EXP-LO'), await skuId('EXP-HI')];
  assert.ok(Number(lo) < Number(hi));
  const x = `0${randomUUID().slice(1)}`, y = `f${randomUUID().slice(1)}`;
  const hold = (id, sku) => ({ tenant: A.id, id, lines: [{ sku_id: Number(sku), qty: 1 }], request: [], created_ms: Date.now(), expires_ms: Date.now() + 600000 });
  await stack.sql('SELECT holds_commit($1::jsonb)', [JSON.stringify([hold(x, hi), hold(y, lo)])]);
  const [commit, sweep] = [new pg.Client({ connectionString: stack.databaseUrl }), new pg.Client({ connectionString: stack.databaseUrl })];
  await Promise.all([commit.connect(), sweep.connect()]);
  try {
    for (const c of [commit, sweep]) {
      await c.query('BEGIN');
      await c.query("SELECT set_config('app.tenant_id', $1, true)", [A.id]);
    }
    await commit.query('UPDATE stock SET version = version + 1 WHERE tenant_id = $1 AND sku_id = $2', [A.id, lo]);
    // Due only inside the sweep's transaction: the server's own sweeper cannot take them.
    await sweep.query("UPDATE holds SET expires_at = now() - interval '1 second' WHERE tenant_id = $1 AND id = ANY($2::uuid[])", [A.id, [x, y]]);
    const expired = sweep.query('SELECT holds_expire() AS e').then(async (r) => { await sweep.query('COMMIT'); return r.rows[0].e; });
    await sleep(300); // the sweep is now waiting for the lower SKU's row (or, locking hold by hold, holds the higher one)
    await commit.query('UPDATE stock SET version = version + 1 WHERE tenant_id = $1 AND sku_id = $2', [A.id, hi]);
    await commit.query('COMMIT');
    const ended = (await expired).map((e) => e.id).sort();
    assert.deepEqual(ended, [x, y].sort());
  } finally {
    await Promise.all([commit.end(), sweep.end()]);
  }
  assert.equal((await bal('EXP-LO')).held, 0);
  assert.equal((await bal('EXP-HI')).held, 0);
});

test("another process's catalog change reaches this server's SKU cache", async () => {
  // The code CAT1 is cached by holds on several connections (so on every
  // server thread); then, as another server process would, SQL gives the
  // code to a new SKU with nothing in stock.
  await sku('CAT1', { qty: 1000000 });
  const holds = async (n) => (await Promise.all(Array.from({ length: n }, () => api.post(`${base}/holds`, { sku: 'CAT1', qty: 1 })))).map((r) => r.status);
  assert.deepEqual(await holds(20), Array(20).fill(201));
  await stack.sql("UPDATE skus SET code = 'CAT1-OLD' WHERE tenant_id = $1 AND code = 'CAT1'", [A.id]);
  await stack.sql("INSERT INTO skus (tenant_id, code, title) VALUES ($1, 'CAT1', 'new')", [A.id]);
  await stack.sql('INSERT INTO stock (tenant_id, sku_id) SELECT tenant_id, id FROM skus WHERE tenant_id = $1 AND code = $2', [A.id, 'CAT1']);
  // Without the notification a thread's old mapping would stand for 30 s or more.
  await waitFor(async () => (await holds(10)).every((s) => s === 409),
    { what: 'every thread to see the new CAT1 (no stock)', timeout: 5000 });
});

test('holds of several brands are committed together, each into its own brand', async () => {
  const brands = [A, await brand(P), await brand(P)];
  const clients = await Promise.all(brands.map(async (b) => tokenClient(stack.url, (await token(P, b.id, 'operator')).token)));
  await Promise.all(brands.map(async (b, i) => {
    assert.equal((await clients[i].post(`/api/v1/brands/${b.id}/skus`, { code: 'MB1' })).status, 201);
    assert.equal((await clients[i].post(`/api/v1/brands/${b.id}/movements`, { kind: 'receipt', sku: 'MB1', qty: 50 })).status, 201);
  }));
  // Holds on all three brands at once: the commits cover several brands.
  const made = await Promise.all(brands.flatMap((b, i) => Array.from({ length: 5 * (i + 1) }, () =>
    clients[i].post(`/api/v1/brands/${b.id}/holds`, { sku: 'MB1', qty: 1 }))));
  assert.ok(made.every((r) => r.status === 201), JSON.stringify(made.map((r) => r.status)));
  for (const [i, b] of brands.entries()) {
    await waitFor(async () => (await clients[i].get(`/api/v1/brands/${b.id}/skus/MB1`)).json.held === 5 * (i + 1),
      { what: `brand ${i}'s holds committed` });
    const rows = await stack.sql("SELECT count(*)::int AS n FROM holds WHERE tenant_id = $1 AND state = 'active' AND lines->0->>'sku_id' = (SELECT id::text FROM skus WHERE tenant_id = $1 AND code = 'MB1')", [b.id]);
    assert.equal(rows.rows[0].n, 5 * (i + 1));
  }
});

test('holds on bundles hold their components', async () => {
  await sku('HC1', { qty: 4 });
  await sku('HC2', { qty: 4 });
  assert.equal((await api.post(`${base}/bundles`, { code: 'HB', components: [{ sku: 'HC1', qty: 1 }, { sku: 'HC2', qty: 2 }] })).status, 201);
  const h = await api.post(`${base}/holds`, { lines: [{ sku: 'HB', qty: 2 }] });
  assert.equal(h.status, 201, h.text);
  await waitFor(async () => (await bal('HC2')).held === 4, { what: 'components held' });
  assert.equal((await bal('HC1')).held, 2);
  assert.equal((await bal('HB')).available, 0);
  assert.equal((await api.post(`${base}/holds`, { sku: 'HC2', qty: 1 })).status, 409);
  assert.equal((await api.post(`${base}/holds/${h.json.id}/confirm`, {})).status, 201);
  assert.equal((await bal('HC2')).committed, 4);
});

test('expired holds give their units back (the sweeper, not only key expiry)', async () => {
  await sku('H3', { qty: 2 });
  const h = await api.post(`${base}/holds`, { sku: 'H3', qty: 2, ttl_seconds: 1 });
  assert.equal(h.status, 201);
  await waitFor(async () => (await bal('H3')).held === 2, { what: 'committed' });
  await waitFor(async () => (await bal('H3')).held === 0, { what: 'expired by the sweeper', timeout: 8000 });
  const row = await stack.sql('SELECT state FROM holds WHERE tenant_id = $1 AND id = $2', [A.id, h.json.id]);
  assert.equal(row.rows[0].state, 'expired');
  assert.equal((await api.post(`${base}/holds/${h.json.id}/confirm`, {})).status, 409);
  assert.equal((await api.post(`${base}/holds`, { sku: 'H3', qty: 2 })).status, 201, 'the units are free again');
  await agree('H3');
});

test('holds: bad input and idempotent creation', async () => {
  await sku('H4', { qty: 5 });
  for (const [body, field] of [[{ sku: 'H4', qty: 0 }, 'qty'], [{ sku: 'H4' }, 'qty'], [{ sku: 'H4', qty: 1, ttl_seconds: 0 }, 'ttl_seconds'],
    [{ sku: 'H4', qty: 1, ttl_seconds: 3601 }, 'ttl_seconds'], [{ sku: 'NOPE', qty: 1 }, 'lines[0].sku'], [{ lines: [{ sku: 'H4', qty: -1 }] }, 'lines[0].qty']]) {
    const r = await api.post(`${base}/holds`, body);
    assert.equal(r.status, 422, `${JSON.stringify(body)}: ${r.text}`);
    assert.equal(r.json.error.field, field);
  }
  const key = randomUUID();
  const a = await api.post(`${base}/holds`, { sku: 'H4', qty: 1 }, { 'idempotency-key': key });
  const b = await api.post(`${base}/holds`, { sku: 'H4', qty: 1 }, { 'idempotency-key': key });
  assert.equal(a.status, 201);
  assert.equal(b.status, 201);
  assert.equal(b.json.id, a.json.id);
  assert.equal(b.headers.get('idempotent-replayed'), 'true');
  assert.equal((await api.post(`${base}/holds`, { sku: 'H4', qty: 2 }, { 'idempotency-key': key })).status, 422);
  await waitFor(async () => (await bal('H4')).held === 1, { what: 'one hold' });
  assert.equal((await api.get(`${base}/holds/${randomUUID()}`)).status, 404);
});

/** Hundreds of concurrent sales and holds on one unit: exactly one succeeds. */
async function lastUnitRace(code, rounds, contenders) {
  for (let round = 0; round < rounds; round++) {
    await api.post(`${base}/movements`, { kind: 'receipt', sku: code, qty: 1 });
    const results = await Promise.all(Array.from({ length: contenders }, (_, i) => (i % 2
      ? api.post(`${base}/holds`, { sku: code, qty: 1, ttl_seconds: 600 })
      : api.post(`${base}/movements`, { kind: 'sale', sku: code, qty: 1 }))));
    const won = results.filter((r) => r.status === 201);
    for (const r of results) assert.ok(r.status === 201 || r.status === 409, `${r.status}: ${r.text}`);
    assert.equal(won.length, 1, `round ${round}: ${won.length} winners`);
    // Whoever holds it keeps it: confirming the winning hold succeeds.
    const hold = won[0].json.id && won[0].json.state === 'active' ? won[0].json : null;
    if (hold) assert.equal((await api.post(`${base}/holds/${hold.id}/confirm`, {})).status, 201);
    const b = await bal(code);
    assert.ok(b.available >= 0, `available ${b.available}`);
    assert.equal(b.available, 0);
  }
}

test('the last unit, hundreds of concurrent sales and holds, repeated: exactly one wins', async () => {
  await sku('RACE');
  await lastUnitRace('RACE', 8, 200);
  await agree('RACE');
  const v = await api.get(`${base}/ledger/verify`);
  assert.deepEqual(v.json.mismatches, []);
});

test('the same race through a bundle and its component', async () => {
  await sku('RC');
  assert.equal((await api.post(`${base}/bundles`, { code: 'RB', components: [{ sku: 'RC', qty: 1 }] })).status, 201);
  for (let round = 0; round < 5; round++) {
    await api.post(`${base}/movements`, { kind: 'receipt', sku: 'RC', qty: 1 });
    const results = await Promise.all(Array.from({ length: 120 }, (_, i) => [
      () => api.post(`${base}/movements`, { kind: 'sale', sku: 'RB', qty: 1 }),
      () => api.post(`${base}/movements`, { kind: 'sale', sku: 'RC', qty: 1 }),
      () => api.post(`${base}/holds`, { sku: 'RB', qty: 1 }),
      () => api.post(`${base}/holds`, { sku: 'RC', qty: 1 }),
    ][i % 4]()));
    const won = results.filter((r) => r.status === 201);
    assert.equal(won.length, 1, `round ${round}: ${won.map((r) => r.text).join('\n')}`);
    const hold = won[0].json.state === 'active' ? won[0].json : null;
    if (hold) assert.equal((await api.post(`${base}/holds/${hold.id}/confirm`, {})).status, 201);
    assert.equal((await bal('RC')).available, 0);
  }
  await agree('RC');
});

test('Redis flushed, then killed, in the middle of a hold storm: nothing oversold, nothing lost', async () => {
  await sku('STORM', { qty: 50 });
  const outcomes = { ok: [], refused: 0, other: [] };
  let stop = false;
  const storm = Promise.all(Array.from({ length: 8 }, async (_, w) => {
    let i = 0;
    while (!stop) {
      const r = i++ % 3 === 0
        ? await api.post(`${base}/movements`, { kind: 'sale', sku: 'STORM', qty: 1 })
        : await api.post(`${base}/holds`, { sku: 'STORM', qty: 1, ttl_seconds: 600 });
      if (r.status === 201) outcomes.ok.push(r.json);
      else if (r.status === 409) outcomes.refused++;
      else outcomes.other.push(`${r.status} ${r.text}`);
      if (outcomes.ok.length > 200) break;
    }
  }));
  await sleep(200);
  stack.redis.cli('FLUSHALL');
  await sleep(300);
  await stack.redis.stop('SIGKILL'); // Redis gone: PostgreSQL carries on alone
  await sleep(500);
  stop = true;
  await storm;
  assert.deepEqual(outcomes.other.filter((o) => !o.startsWith('503')), [], 'only 201, 409 or a retriable 503');
  const sales = outcomes.ok.filter((o) => o.kind === 'sale').length;
  const holds = outcomes.ok.filter((o) => o.state === 'active');
  // Every acknowledged sale is in the ledger; every acknowledged hold is either in PostgreSQL
  // or was lost with Redis (and then never blocks anything); nothing exceeds the 50 units.
  const b = await stack.sql(`SELECT on_hand, committed, held FROM stock s JOIN skus k ON k.tenant_id = s.tenant_id AND k.id = s.sku_id
                              WHERE k.tenant_id = $1 AND k.code = 'STORM'`, [A.id]);
  const { on_hand: onHand, committed, held } = b.rows[0];
  assert.equal(Number(committed), sales, 'every acknowledged sale is recorded once');
  assert.ok(Number(committed) + Number(held) <= Number(onHand), `oversold: ${committed} + ${held} > ${onHand}`);
  const stormId = await skuId('STORM');
  const known = await stack.sql(`SELECT count(*)::int AS n FROM holds WHERE tenant_id = $1 AND state = 'active'
                                  AND lines @> jsonb_build_array(jsonb_build_object('sku_id', $2::bigint))`, [A.id, stormId]);
  assert.ok(known.rows[0].n <= holds.length, `${known.rows[0].n} active holds in PostgreSQL, ${holds.length} acknowledged, ${sales} sales, ${outcomes.refused} refused`);
  // With Redis down, new holds and sales still work from PostgreSQL.
  const h = await api.post(`${base}/holds`, { sku: 'STORM', qty: 1 });
  assert.ok(h.status === 201 || h.status === 409, h.text);
  const v = await api.get(`${base}/ledger/verify`);
  assert.deepEqual(v.json.mismatches, []);
});
