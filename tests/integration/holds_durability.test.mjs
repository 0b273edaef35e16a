// holds_durability.test.mjs — a hold answered 201 is a promise: it is a
// committed row in PostgreSQL before the answer, so it survives a crash of
// serve, a Redis that loses its data, or both; and a Redis rebuilt from
// PostgreSQL never grants the same units twice.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { startStack, sleep, rawRequest } from './lib/stack.mjs';
import { portfolio, brand, token, tokenClient } from './lib/world.mjs';
import { redisProxy, scriptsContaining } from './lib/redisproxy.mjs';

let stack, P, A, tok, base;
const api = () => tokenClient(stack.url, tok);
before(async () => {
  stack = await startStack();
  P = await portfolio(stack);
  A = await brand(P);
  tok = (await token(P, A.id, 'operator')).token;
  base = `/api/v1/brands/${A.id}`;
});
after(async () => { await stack?.stop(); });

const mkSku = async (code, qty) => {
  assert.equal((await api().post(`${base}/skus`, { code })).status, 201);
  if (qty) assert.equal((await api().post(`${base}/movements`, { kind: 'receipt', sku: code, qty })).status, 201);
};
const stock = async (code) => (await stack.sql(`SELECT s.on_hand, s.committed, s.held FROM stock s JOIN skus k
  ON k.tenant_id = s.tenant_id AND k.id = s.sku_id WHERE k.tenant_id = $1 AND k.code = $2`, [A.id, code])).rows[0];

test('a hold answered 201 is already a committed row, its units in stock.held', async () => {
  await mkSku('D1', 5);
  for (let i = 0; i < 20; i++) {
    const h = await api().post(`${base}/holds`, { sku: 'D1', qty: 1, ttl_seconds: 60 });
    assert.equal(h.status, 201, h.text);
    // No waiting: the answer came after the commit.
    const row = (await stack.sql('SELECT state FROM holds WHERE tenant_id = $1 AND id = $2', [A.id, h.json.id])).rows[0];
    assert.equal(row?.state, 'active', `hold ${i} not in PostgreSQL when answered`);
    assert.equal(Number((await stock('D1')).held), 1);
    assert.equal((await api().post(`${base}/holds/${h.json.id}/release`, {})).status, 200);
  }
});

/** `n` units, `n` holds granted, then Redis loses everything: `more` concurrent holds must all be refused. */
async function lossTrial(code, n, more, lose) {
  await mkSku(code, n);
  const granted = await Promise.all(Array.from({ length: n }, () => api().post(`${base}/holds`, { sku: code, qty: 1, ttl_seconds: 300 })));
  for (const g of granted) assert.equal(g.status, 201, g.text);
  await lose();
  const after = await Promise.all(Array.from({ length: more }, () => api().post(`${base}/holds`, { sku: code, qty: 1, ttl_seconds: 300 })));
  const again = after.filter((r) => r.status === 201);
  for (const r of after) assert.ok([201, 409, 503].includes(r.status), `${r.status} ${r.text}`);
  assert.equal(again.length, 0, `${again.length} holds granted on ${n} units already held`);
  const s = await stock(code);
  assert.equal(Number(s.held), n);
  assert.ok(Number(s.on_hand) - Number(s.committed) - Number(s.held) >= 0, `available ${s.on_hand - s.committed - s.held}`);
  const b = (await api().get(`${base}/skus/${code}`)).json;
  assert.equal(b.available, 0);
  // Every granted hold is honoured.
  for (const g of granted) {
    const c = await api().post(`${base}/holds/${g.json.id}/confirm`, {});
    assert.equal(c.status, 201, c.text);
  }
  assert.equal(Number((await stock(code)).committed), n);
}

/** A connection to the test's Redis that sends FLUSHALL the moment it is asked (redis-cli takes milliseconds to start). */
async function flusher() {
  const sock = net.createConnection({ path: stack.redis.sock });
  await new Promise((resolve, reject) => sock.once('connect', resolve).once('error', reject));
  return {
    flush: () => new Promise((resolve) => { sock.once('data', resolve); sock.write('*1\r\n$8\r\nFLUSHALL\r\n'); }),
    close: () => sock.destroy(),
  };
}

test('Redis flushed right after holds are granted: no unit is held twice (10 trials)', async () => {
  const f = await flusher();
  try {
    for (let t = 0; t < 10; t++) await lossTrial(`FL${t}`, 5, 20, f.flush);
  } finally { f.close(); }
  const v = await api().get(`${base}/ledger/verify`);
  assert.deepEqual(v.json.mismatches, []);
});

test('Redis flushed while granted holds are still on their way to PostgreSQL: the rebuild never grants them twice', async () => {
  // PostgreSQL is slow for this SKU (a transaction holds its stock row), so
  // whatever records holds there waits; Redis loses everything meanwhile and
  // is rebuilt from a PostgreSQL that does not have them yet.
  await mkSku('LAG', 5);
  const id = (await stack.sql('SELECT id FROM skus WHERE tenant_id = $1 AND code = $2', [A.id, 'LAG'])).rows[0].id;
  const f = await flusher();
  const lock = await stack.pool.connect();
  let all;
  try {
    await lock.query('BEGIN');
    await lock.query('SELECT 1 FROM stock WHERE tenant_id = $1 AND sku_id = $2 FOR UPDATE', [A.id, id]);
    const first = Array.from({ length: 5 }, () => api().post(`${base}/holds`, { sku: 'LAG', qty: 1, ttl_seconds: 300 }));
    await sleep(300);
    await f.flush();
    const second = Array.from({ length: 20 }, () => api().post(`${base}/holds`, { sku: 'LAG', qty: 1, ttl_seconds: 300 }));
    await sleep(300);
    await lock.query('COMMIT');
    all = await Promise.all([...first, ...second]);
  } finally {
    lock.release();
    f.close();
  }
  for (const r of all) assert.ok([201, 409].includes(r.status), `${r.status} ${r.text}`);
  const granted = all.filter((r) => r.status === 201);
  assert.equal(granted.length, 5, `${granted.length} holds granted on 5 units`);
  const s = await stock('LAG');
  assert.equal(Number(s.held), 5);
  for (const g of granted) assert.equal((await api().post(`${base}/holds/${g.json.id}/confirm`, {})).status, 201);
});

test('Redis restarted empty right after holds are granted: no unit is held twice', async () => {
  for (let t = 0; t < 3; t++) {
    await lossTrial(`RS${t}`, 5, 20, async () => {
      await stack.redis.restart();
      await sleep(300); // the server's Redis client reconnects with backoff; holds go to PostgreSQL meanwhile
    });
  }
});

test('PostgreSQL refuses a hold its balances cannot honour, whatever Redis says', async () => {
  await mkSku('G1', 3);
  const id = (await stack.sql('SELECT id FROM skus WHERE tenant_id = $1 AND code = $2', [A.id, 'G1'])).rows[0].id;
  const hold = (qty) => ({ tenant: A.id, id: randomUUID(), lines: [{ sku_id: Number(id), qty }], request: [{ sku: 'G1', qty }],
    hash: 'h', created_ms: Date.now(), expires_ms: Date.now() + 60000 });
  const c = await stack.pool.connect();
  try {
    await c.query("SELECT set_config('app.tenant_id', $1, false)", [A.id]);
    const out = (await c.query('SELECT holds_commit($1::jsonb) AS o', [JSON.stringify([hold(2), hold(2), hold(1)])])).rows[0].o;
    // In the order asked: 2 fits, the next 2 does not (1 left), the 1 fits.
    assert.deepEqual(out.map((o) => o.outcome), ['held', 'short', 'held']);
    assert.equal(out[1].available, 0); // what is left once the batch is done
    // The guard itself: no path of onecount's own may take available below zero.
    await assert.rejects(c.query('UPDATE stock SET held = held + 1 WHERE tenant_id = $1 AND sku_id = $2', [A.id, id]),
      /would leave -1 available/);
  } finally {
    await c.query("SELECT set_config('app.tenant_id', '', false)");
    c.release();
  }
  assert.equal(Number((await stock('G1')).held), 3);
});

test('kill -9 of serve under a hold storm: every hold answered 201 is in PostgreSQL and survives Redis loss too', async () => {
  await mkSku('K1', 1000000);
  const acked = [];
  const other = [];
  let stop = false;
  const client = api();
  const storm = Promise.all(Array.from({ length: 16 }, async () => {
    while (!stop) {
      let r;
      try {
        r = await client.post(`${base}/holds`, { sku: 'K1', qty: 1, ttl_seconds: 600 });
      } catch {
        break; // the server died under this request: its answer never came
      }
      if (r.status === 201) acked.push(r.json.id);
      else other.push(`${r.status} ${r.text}`);
    }
  }));
  await sleep(1500);
  await stack.restartServer({}, { signal: 'SIGKILL' });
  stop = true;
  await storm;
  assert.ok(acked.length > 100, `only ${acked.length} holds before the kill`);
  assert.deepEqual(other, []);
  const rows = (await stack.sql(`SELECT id::text FROM holds WHERE tenant_id = $1 AND state = 'active' AND id = ANY($2::uuid[])`,
    [A.id, acked])).rows.map((r) => r.id);
  const missing = acked.filter((id) => !rows.includes(id));
  assert.deepEqual(missing, [], `${missing.length} of ${acked.length} acknowledged holds lost`);
  // Redis loses its data too: the holds still answer, and their units stay held.
  stack.redis.cli('FLUSHALL');
  for (const id of acked.slice(-20)) {
    const g = await api().get(`${base}/holds/${id}`);
    assert.equal(g.status, 200, g.text);
    assert.equal(g.json.state, 'active');
  }
  const s = await stock('K1');
  assert.ok(Number(s.held) >= acked.length, `held ${s.held} < ${acked.length} acknowledged`);
  const b = (await api().get(`${base}/skus/K1`)).json;
  assert.equal(b.available, 1000000 - Number(s.held));
  const v = await api().get(`${base}/ledger/verify`);
  assert.deepEqual(v.json.mismatches, []);
});

test('a reservation whose request died before its commit stops counting by itself', async () => {
  // What a serve killed between Redis and PostgreSQL leaves: a reservation no row backs.
  await mkSku('O1', 2);
  const id = (await stack.sql('SELECT id FROM skus WHERE tenant_id = $1 AND code = $2', [A.id, 'O1'])).rows[0].id;
  const first = await api().post(`${base}/holds`, { sku: 'O1', qty: 1, ttl_seconds: 60 });
  assert.equal(first.status, 201); // the SKU's Redis entry exists now
  assert.equal((await api().post(`${base}/holds/${first.json.id}/release`, {})).status, 200);
  const orphan = randomUUID();
  const soon = Date.now() + 1500;
  stack.redis.cli('HSET', `oc:{${A.id}}:holds`, orphan, `${Date.now() + 3600000}|${id}:2`);
  stack.redis.cli('INCRBY', `oc:{${A.id}}:h:${id}`, '2');
  stack.redis.cli('ZADD', `oc:{${A.id}}:e:${id}`, String(soon), orphan);
  assert.equal((await api().post(`${base}/holds`, { sku: 'O1', qty: 1 })).status, 409);
  await sleep(soon - Date.now() + 100);
  const h = await api().post(`${base}/holds`, { sku: 'O1', qty: 2 });
  assert.equal(h.status, 201, h.text);
});

test('an Idempotency-Key retry after a crash adopts the reservation it left', async () => {
  await mkSku('I1', 3);
  const key = randomUUID();
  const a = await api().post(`${base}/holds`, { sku: 'I1', qty: 1 }, { 'idempotency-key': key });
  assert.equal(a.status, 201);
  // A concurrent burst with the same key: one hold, every answer names it.
  const burst = await Promise.all(Array.from({ length: 10 }, () => api().post(`${base}/holds`, { sku: 'I1', qty: 1 }, { 'idempotency-key': key })));
  for (const r of burst) {
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json.id, a.json.id);
  }
  assert.equal(Number((await stock('I1')).held), 1);
  // The same key on another body: refused, the hold untouched.
  const mismatch = await api().post(`${base}/holds`, { sku: 'I1', qty: 2 }, { 'idempotency-key': key });
  assert.equal(mismatch.status, 422, mismatch.text);
  assert.equal(Number((await stock('I1')).held), 1);
});

test('with Redis down a hold is made in PostgreSQL alone; a key retry replays it; Redis back counts it', async () => {
  await mkSku('PG1', 3);
  const warm = await api().post(`${base}/holds`, { sku: 'PG1', qty: 1 }); // the SKU's Redis entry exists
  assert.equal(warm.status, 201);
  await stack.redis.stop('SIGKILL');
  try {
    const key = randomUUID();
    const a = await api().post(`${base}/holds`, { sku: 'PG1', qty: 2 }, { 'idempotency-key': key });
    assert.equal(a.status, 201, a.text);
    const b = await api().post(`${base}/holds`, { sku: 'PG1', qty: 2 }, { 'idempotency-key': key });
    assert.equal(b.status, 201, b.text);
    assert.equal(b.json.id, a.json.id);
    assert.equal(b.headers.get('idempotent-replayed'), 'true');
    assert.equal((await api().post(`${base}/holds`, { sku: 'PG1', qty: 1 }, { 'idempotency-key': key })).status, 422);
    assert.equal((await api().post(`${base}/holds`, { sku: 'PG1', qty: 1 })).status, 409); // 3 of 3 held
  } finally {
    await stack.redis.restart();
  }
  await sleep(300);
  // Redis came back empty: rebuilt from PostgreSQL, which has all three units held.
  const r = await api().post(`${base}/holds`, { sku: 'PG1', qty: 1 });
  assert.equal(r.status, 409, r.text);
  assert.equal(Number((await stock('PG1')).held), 3);
});

/** A request on a connection of its own (serve hands each connection to one of its threads). */
const fresh = (method, path, body) => rawRequest(stack.url, method, path, { body: JSON.stringify(body), agent: false,
  headers: { authorization: `Bearer ${tok}`, 'content-type': 'application/json' } });

test('a hold released right after its 201 stays released, however late Redis hears of the commit', async () => {
  // After the commit, Redis is told the hold's real expiry (the settle).  Here every settle is held back 300 ms
  // on its connection, while the release goes at once, often through serve's other thread and Redis connection.
  // A 201 given before the settle landed let the late settle count the released hold again: its units stayed
  // held in Redis until the hold would have expired.
  const proxy = await redisProxy(stack.redis.sock, { delayMs: 300, slow: scriptsContaining('for i = 2, #ARGV, 3 do') });
  await stack.restartServer({ ONECOUNT_REDIS_URL: proxy.url });
  stack.redis.cli('SCRIPT', 'FLUSH'); // serve sends each script's source again: the proxy learns the settle's
  try {
    await mkSku('LATE1', 4);
    for (let i = 0; i < 16; i++) {
      const h = await fresh('POST', `${base}/holds`, { sku: 'LATE1', qty: 4, ttl_seconds: 120 });
      assert.equal(h.status, 201, `hold ${i}: ${h.text}`);
      const r = await fresh('POST', `${base}/holds/${h.json.id}/release`, {});
      assert.equal(r.status, 200, r.text);
    }
    await sleep(400); // every settle has landed
    const last = await fresh('POST', `${base}/holds`, { sku: 'LATE1', qty: 4, ttl_seconds: 120 });
    assert.equal(last.status, 201, last.text);
    assert.ok(proxy.held >= 16, `only ${proxy.held} settles went through the slow path`);
  } finally {
    await stack.restartServer();
    await proxy.close();
  }
});
