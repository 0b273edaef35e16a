// ledger.test.mjs — the master ledger end to end: SKUs and bundles,
// every movement kind, guards and oversell incidents, idempotency, history,
// point-in-time balances, and replay equal to the stored balances.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { startStack } from './lib/stack.mjs';
import { brandWorld, brand, token, tokenClient, unique } from './lib/world.mjs';

let stack, P, A, api, base, sku;
before(async () => {
  stack = await startStack();
  ({ P, A, api, base, sku } = await brandWorld(stack, 'operator'));
});
after(async () => { await stack?.stop(); });

const move = (body, headers) => api.post(`${base}/movements`, body, headers);
const get = async (code) => (await api.get(`${base}/skus/${encodeURIComponent(code)}`)).json;

test('SKUs: create, duplicate, bad codes, read with balances, update, list', async () => {
  const s = await sku('MUG-1', { barcode: '0123456789012' });
  assert.deepEqual({ on_hand: s.on_hand, committed: s.committed, held: s.held, available: s.available },
    { on_hand: 0, committed: 0, held: 0, available: 0 });
  const dup = await api.post(`${base}/skus`, { code: 'MUG-1' });
  assert.equal(dup.status, 409);
  assert.equal(dup.json.error.field, 'code');
  for (const code of ['', ' lead', 'trail ', 'x'.repeat(65), 'tab\there']) {
    const r = await api.post(`${base}/skus`, { code });
    assert.equal(r.status, 422, `code ${JSON.stringify(code)}`);
  }
  const up = await api.patch(`${base}/skus/MUG-1`, { title: 'Blue mug' });
  assert.equal(up.status, 200);
  assert.equal(up.json.title, 'Blue mug');
  const audit = await api.get(`${base}/audit?action=sku.update&object_id=MUG-1`);
  assert.equal(audit.json.items[0].summary.before.title, 'MUG-1');
  assert.equal(audit.json.items[0].summary.after.title, 'Blue mug');
  assert.equal((await api.get(`${base}/skus/NOPE`)).status, 404);
  const list = await api.get(`${base}/skus?q=MUG`);
  assert.ok(list.json.items.some((x) => x.code === 'MUG-1'));
});

test('every movement kind moves exactly the balances it should', async () => {
  await sku('K1');
  const steps = [
    [{ kind: 'receipt', sku: 'K1', qty: 10 }, { on_hand: 10, committed: 0, inspecting: 0 }],
    [{ kind: 'sale', sku: 'K1', qty: 3 }, { on_hand: 10, committed: 3, inspecting: 0 }],
    [{ kind: 'ship', sku: 'K1', qty: 2 }, { on_hand: 8, committed: 1, inspecting: 0 }],
    [{ kind: 'cancel', sku: 'K1', qty: 1 }, { on_hand: 8, committed: 0, inspecting: 0 }],
    [{ kind: 'return', sku: 'K1', qty: 1, disposition: 'restock' }, { on_hand: 9, committed: 0, inspecting: 0 }],
    [{ kind: 'return', sku: 'K1', qty: 1, disposition: 'damaged' }, { on_hand: 9, committed: 0, inspecting: 0 }],
    [{ kind: 'return', sku: 'K1', qty: 2, disposition: 'inspect' }, { on_hand: 9, committed: 0, inspecting: 2 }],
    [{ kind: 'return', sku: 'K1', qty: 1, disposition: 'restock', from_inspection: true }, { on_hand: 10, committed: 0, inspecting: 1 }],
    [{ kind: 'adjust', sku: 'K1', qty: -4, reason: 'damaged in store' }, { on_hand: 6, committed: 0, inspecting: 1 }],
    [{ kind: 'count', sku: 'K1', qty: 7 }, { on_hand: 7, committed: 0, inspecting: 1 }],
  ];
  for (const [body, want] of steps) {
    const r = await move(body);
    assert.equal(r.status, 201, `${JSON.stringify(body)}: ${r.text}`);
    const s = await get('K1');
    assert.deepEqual({ on_hand: s.on_hand, committed: s.committed, inspecting: s.inspecting }, want, JSON.stringify(body));
    assert.equal(s.available, s.on_hand - s.committed - s.held);
  }
  const hist = await api.get(`${base}/skus/K1/history`);
  assert.equal(hist.json.items.length, steps.length);
  assert.equal(hist.json.items[0].kind, 'count');
  assert.equal(hist.json.items[0].on_hand_delta, 1);
  assert.equal(hist.json.items.at(-1).kind, 'receipt');
});

test('impossible movements are refused with nothing written', async () => {
  await sku('K2');
  await move({ kind: 'receipt', sku: 'K2', qty: 2 });
  const before = (await api.get(`${base}/skus/K2/history`)).json.items.length;
  const cases = [
    [{ kind: 'ship', sku: 'K2', qty: 1 }, 409, 'nothing_to_ship'],
    [{ kind: 'cancel', sku: 'K2', qty: 1 }, 409, 'nothing_to_cancel'],
    [{ kind: 'adjust', sku: 'K2', qty: -3, reason: 'lost' }, 409, 'negative_on_hand'],
    [{ kind: 'return', sku: 'K2', qty: 1, disposition: 'restock', from_inspection: true }, 409, 'nothing_in_inspection'],
    [{ kind: 'sale', sku: 'K2', qty: 3 }, 409, 'insufficient_stock'],
    [{ kind: 'sale', sku: 'NOPE', qty: 1 }, 422, 'unknown_sku'],
  ];
  for (const [body, status, code] of cases) {
    const r = await move(body);
    assert.equal(r.status, status, `${JSON.stringify(body)}: ${r.text}`);
    assert.equal(r.json.error.code, code);
  }
  assert.equal((await api.get(`${base}/skus/K2/history`)).json.items.length, before);
});

test('bad input names the field and writes nothing', async () => {
  await sku('K3');
  const bad = [
    [{}, 'kind'], [{ kind: 'steal', sku: 'K3', qty: 1 }, 'kind'], [{ kind: 'sale', sku: 'K3' }, 'qty'],
    [{ kind: 'sale', sku: 'K3', qty: '1' }, 'qty'], [{ kind: 'sale', sku: 'K3', qty: 1.5 }, 'qty'],
    [{ kind: 'sale', sku: 'K3', qty: 0 }, 'lines[0].qty'], [{ kind: 'sale', sku: 'K3', qty: -1 }, 'lines[0].qty'],
    [{ kind: 'sale', sku: 'K3', qty: 1e12 }, 'qty'], [{ kind: 'sale', sku: 'K3', qty: 1, extra: 1 }, 'extra'],
    [{ kind: 'adjust', sku: 'K3', qty: 1 }, 'reason'], [{ kind: 'adjust', sku: 'K3', qty: 0, reason: 'x' }, 'lines[0].qty'],
    [{ kind: 'return', sku: 'K3', qty: 1 }, 'disposition'], [{ kind: 'receipt', sku: 'K3', qty: 1, disposition: 'restock' }, 'disposition'],
    [{ kind: 'receipt', lines: [] }, 'lines'], [{ kind: 'receipt', lines: [{ sku: 'K3' }] }, 'lines[0].qty'],
    [{ kind: 'receipt', lines: ['K3'] }, 'lines[0]'], [{ kind: 'receipt', lines: [{ sku: 'K3', qty: 1 }], sku: 'K3', qty: 1 }, 'sku'],
    [{ kind: 'count', sku: 'K3', qty: -1 }, 'lines[0].qty'], [{ kind: 'receipt', sku: 'K3', qty: 1, allow_oversell: true }, 'allow_oversell'],
  ];
  for (const [body, field] of bad) {
    const r = await move(body);
    assert.equal(r.status, 422, `${JSON.stringify(body)}: ${r.text}`);
    assert.equal(r.json.error.field, field, JSON.stringify(body));
  }
  assert.equal((await api.get(`${base}/skus/K3/history`)).json.items.length, 0);
  const s = await get('K3');
  assert.equal(s.on_hand, 0);
});

test('bundles: availability from components, sales move components, a shared component counts once', async () => {
  await sku('CUP');
  await sku('SAUCER');
  const b = await api.post(`${base}/bundles`, { code: 'TEA-SET', title: 'Tea set', components: [{ sku: 'CUP', qty: 2 }, { sku: 'SAUCER', qty: 1 }] });
  assert.equal(b.status, 201, b.text);
  assert.equal(b.json.kind, 'bundle');
  await move({ kind: 'receipt', lines: [{ sku: 'CUP', qty: 5 }, { sku: 'SAUCER', qty: 4 }] });
  assert.equal((await get('TEA-SET')).available, 2); // min(5/2, 4/1) = 2
  const sale = await move({ kind: 'sale', sku: 'TEA-SET', qty: 1 });
  assert.equal(sale.status, 201, sale.text);
  assert.equal((await get('CUP')).committed, 2);
  assert.equal((await get('SAUCER')).committed, 1);
  const hist = await api.get(`${base}/skus/CUP/history?kind=sale`);
  assert.equal(hist.json.items[0].bundle, 'TEA-SET');
  // One order with the bundle and its component: CUP needs 2 + 2 = 4 > 3 left, so the whole order is refused.
  const order = await move({ kind: 'sale', lines: [{ sku: 'TEA-SET', qty: 1 }, { sku: 'CUP', qty: 2 }] });
  assert.equal(order.status, 409, order.text);
  assert.match(order.json.error.message, /CUP/);
  assert.equal((await get('CUP')).committed, 2, 'nothing moved');
  const ok = await move({ kind: 'sale', lines: [{ sku: 'TEA-SET', qty: 1 }, { sku: 'CUP', qty: 1 }] });
  assert.equal(ok.status, 201, ok.text);
  assert.equal((await get('CUP')).committed, 5);
  // Bundles hold no stock of their own; nesting, self-reference and unknown components are refused.
  assert.equal((await move({ kind: 'receipt', sku: 'TEA-SET', qty: 1 })).json.error.code, 'bundle_has_no_stock');
  const nested = await api.post(`${base}/bundles`, { code: 'BIG', components: [{ sku: 'TEA-SET', qty: 1 }] });
  assert.equal(nested.status, 422);
  assert.match(nested.json.error.message, /nested/);
  assert.equal((await api.post(`${base}/bundles`, { code: 'B2', components: [{ sku: 'NOPE', qty: 1 }] })).json.error.field, 'components[0].sku');
  assert.equal((await api.post(`${base}/bundles`, { code: 'B3', components: [{ sku: 'CUP', qty: 1 }, { sku: 'CUP', qty: 2 }] })).status, 422);
  const replace = await api.put(`${base}/bundles/TEA-SET`, { components: [{ sku: 'CUP', qty: 1 }, { sku: 'SAUCER', qty: 1 }] });
  assert.equal(replace.status, 200, replace.text);
  assert.deepEqual(replace.json.components.map((c) => [c.sku, c.qty]), [['CUP', 1], ['SAUCER', 1]]);
  assert.equal((await api.put(`${base}/bundles/CUP`, { components: [{ sku: 'SAUCER', qty: 1 }] })).status, 404);
});

test('a channel sale past zero is recorded and opens an oversell incident; resolving it is audited', async () => {
  await sku('LAST');
  await move({ kind: 'receipt', sku: 'LAST', qty: 1 });
  const guarded = await move({ kind: 'sale', sku: 'LAST', qty: 2 });
  assert.equal(guarded.status, 409);
  const r = await move({ kind: 'sale', sku: 'LAST', qty: 2, allow_oversell: true, reference: 'AMZ-111' });
  assert.equal(r.status, 201);
  assert.deepEqual(r.json.oversells, [{ sku: 'LAST', qty_short: 1 }]);
  assert.equal((await get('LAST')).available, -1);
  const inc = await api.get(`${base}/oversells`);
  const mine = inc.json.items.find((i) => i.reference === 'AMZ-111');
  assert.ok(mine);
  assert.equal(mine.qty_short, 1);
  assert.equal(mine.state, 'open');
  const res = await api.post(`${base}/oversells/${mine.id}/resolve`, { resolution: 'cancelled_order', note: 'customer refunded' });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json.state, 'resolved');
  assert.equal((await api.post(`${base}/oversells/${mine.id}/resolve`, { resolution: 'restocked' })).status, 404);
  assert.equal((await api.post(`${base}/oversells/${mine.id}/resolve`, { resolution: 'magic' })).status, 422);
});

test('a one-line sale (ledger_sale) and a sale line of a longer order (ledger_post) write the same rows and answers', async () => {
  for (const code of ['SAME1', 'SAME2', 'SAME-F']) {
    await sku(code);
    await move({ kind: 'receipt', sku: code, qty: 1 });
  }
  const extra = { allow_oversell: true, reference: 'SAME-REF', reason: 'walk-in' };
  const one = await move({ kind: 'sale', sku: 'SAME1', qty: 2, ...extra }, { 'idempotency-key': randomUUID() });
  const two = await move({ kind: 'sale', lines: [{ sku: 'SAME2', qty: 2 }, { sku: 'SAME-F', qty: 1 }], ...extra },
    { 'idempotency-key': randomUUID() });
  assert.equal(one.status, 201, one.text);
  assert.equal(two.status, 201, two.text);
  const line = (body, code) => {
    const b = body.balances.find((x) => x.sku === code);
    return { ...b, sku: 'X', sku_id: 0 };
  };
  assert.deepEqual(line(one.json, 'SAME1'), line(two.json, 'SAME2'));
  assert.deepEqual(one.json.oversells, [{ sku: 'SAME1', qty_short: 1 }]);
  assert.deepEqual(two.json.oversells, [{ sku: 'SAME2', qty_short: 1 }]);
  assert.equal(one.json.kind, 'sale');
  assert.equal(one.json.movements.length, 1);
  const rows = async (code) => (await stack.sql(
    `SELECT m.kind, m.qty, m.on_hand_delta, m.committed_delta, m.inspecting_delta, m.on_hand_after, m.committed_after,
            m.disposition, m.reason, m.reference, m.channel_id, m.bundle_sku_id, m.guarded,
            m.actor_user IS NOT NULL AS by_user, m.request_id IS NOT NULL AS with_request,
            o.qty_short, o.reference AS o_reference, o.channel_id AS o_channel,
            a.action, a.summary->'lines' AS audit_lines, a.summary->>'reference' AS audit_reference, k.body AS stored
       FROM movements m JOIN skus s ON s.tenant_id = m.tenant_id AND s.id = m.sku_id
       LEFT JOIN oversell_incidents o ON o.tenant_id = m.tenant_id AND o.movement_id = m.id
       LEFT JOIN LATERAL (SELECT * FROM audit_log a WHERE a.tenant_id = m.tenant_id AND a.object_type = 'movement'
                           AND a.object_id IN (SELECT min(id)::text FROM movements x WHERE x.tenant_id = m.tenant_id
                                                 AND x.request_id = m.request_id)) a ON true
       LEFT JOIN idempotency_keys k ON k.tenant_id = m.tenant_id AND k.body->'movements' @> to_jsonb(m.id)
      WHERE s.tenant_id = $1 AND s.code = $2 AND m.kind = 'sale'`, [A.id, code])).rows;
  const [r1] = await rows('SAME1');
  const [r2] = await rows('SAME2');
  assert.deepEqual(r1.stored, one.json, 'the stored answer is the answer');
  assert.deepEqual(r2.stored, two.json, 'the stored answer is the answer');
  assert.deepEqual(r1.audit_lines, [{ sku: 'SAME1', qty: 2 }]);
  assert.deepEqual(r2.audit_lines, [{ sku: 'SAME2', qty: 2 }, { sku: 'SAME-F', qty: 1 }]);
  const same = (r) => ({ ...r, stored: null, audit_lines: null });
  assert.deepEqual(same(r1), same(r2));
  assert.equal(r1.reason, 'walk-in');
  assert.equal(r1.qty_short, '1');
});

test('Idempotency-Key: replay, mismatch, per-brand scope, and 50 concurrent duplicates with one effect', async () => {
  await sku('IDEM');
  await move({ kind: 'receipt', sku: 'IDEM', qty: 100 });
  const key = randomUUID();
  const first = await move({ kind: 'sale', sku: 'IDEM', qty: 1 }, { 'idempotency-key': key });
  assert.equal(first.status, 201);
  const again = await move({ kind: 'sale', sku: 'IDEM', qty: 1 }, { 'idempotency-key': key });
  assert.equal(again.status, 201);
  assert.equal(again.headers.get('idempotent-replayed'), 'true');
  assert.deepEqual(again.json, first.json);
  const other = await move({ kind: 'sale', sku: 'IDEM', qty: 2 }, { 'idempotency-key': key });
  assert.equal(other.status, 422);
  assert.equal(other.json.error.code, 'idempotency_mismatch');
  assert.equal((await get('IDEM')).committed, 1);
  // The same key in another brand is another request.
  const B = await brand(P);
  const bapi = tokenClient(stack.url, (await token(P, B.id, 'operator')).token);
  assert.equal((await bapi.post(`/api/v1/brands/${B.id}/skus`, { code: 'IDEM' })).status, 201);
  await bapi.post(`/api/v1/brands/${B.id}/movements`, { kind: 'receipt', sku: 'IDEM', qty: 5 });
  const b1 = await bapi.post(`/api/v1/brands/${B.id}/movements`, { kind: 'sale', sku: 'IDEM', qty: 1 }, { 'idempotency-key': key });
  assert.equal(b1.status, 201);
  assert.notEqual(b1.headers.get('idempotent-replayed'), 'true');
  // 50 at once with one key: one effect; everyone gets the same answer or 409 while it is in flight.
  const k2 = randomUUID();
  const results = await Promise.all(Array.from({ length: 50 }, () => move({ kind: 'sale', sku: 'IDEM', qty: 1 }, { 'idempotency-key': k2 })));
  const ok = results.filter((r) => r.status === 201);
  assert.ok(ok.length >= 1);
  for (const r of results) assert.ok(r.status === 201 || r.status === 409, `status ${r.status}: ${r.text}`);
  for (const r of ok) assert.deepEqual(r.json, ok[0].json);
  assert.equal((await get('IDEM')).committed, 2, 'exactly one more sale');
  // Other POSTs honour the key too.
  const k3 = randomUUID();
  const s1 = await api.post(`${base}/skus`, { code: 'IDEM-SKU' }, { 'idempotency-key': k3 });
  const s2 = await api.post(`${base}/skus`, { code: 'IDEM-SKU' }, { 'idempotency-key': k3 });
  assert.equal(s1.status, 201);
  assert.equal(s2.status, 201);
  assert.equal(s2.headers.get('idempotent-replayed'), 'true');
  assert.equal((await api.post(`${base}/skus`, { code: 'OTHER' }, { 'idempotency-key': k3 })).status, 422);
});

test('an Idempotency-Key older than its 24 hours is a new request again, on every path (its row not yet pruned)', async () => {
  await sku('IDOLD');
  await move({ kind: 'receipt', sku: 'IDOLD', qty: 10 });
  for (const body of [{ kind: 'sale', sku: 'IDOLD', qty: 1 }, { kind: 'receipt', sku: 'IDOLD', qty: 1 }]) {
    const key = randomUUID();
    assert.equal((await move(body, { 'idempotency-key': key })).status, 201);
    await stack.sql("UPDATE idempotency_keys SET created_at = now() - interval '25 hours' WHERE tenant_id = $1 AND key = $2", [A.id, key]);
    const again = await move(body, { 'idempotency-key': key });
    assert.equal(again.status, 201, again.text);
    assert.notEqual(again.headers.get('idempotent-replayed'), 'true');
    const replay = await move(body, { 'idempotency-key': key });
    assert.equal(replay.headers.get('idempotent-replayed'), 'true');
  }
  const b = await get('IDOLD');
  assert.equal(b.committed, 2);
  assert.equal(b.on_hand, 12);
});

test('history filters and pages; the balance at a past moment is exact', async () => {
  await sku('TIME');
  await move({ kind: 'receipt', sku: 'TIME', qty: 10 });
  await new Promise((r) => setTimeout(r, 50));
  const t1 = new Date().toISOString();
  await new Promise((r) => setTimeout(r, 50));
  for (let i = 0; i < 6; i++) await move({ kind: 'sale', sku: 'TIME', qty: 1, reference: `O-${i}` });
  const at = await api.get(`${base}/skus/TIME/balance?at=${encodeURIComponent(t1)}`);
  assert.equal(at.status, 200, at.text);
  assert.deepEqual({ on_hand: at.json.on_hand, committed: at.json.committed, available: at.json.available },
    { on_hand: 10, committed: 0, available: 10 });
  assert.equal((await api.get(`${base}/skus/TIME/balance?at=${encodeURIComponent(new Date().toISOString())}`)).json.committed, 6);
  assert.equal((await api.get(`${base}/skus/TIME/balance`)).status, 422);
  assert.equal((await api.get(`${base}/skus/TIME/balance?at=yesterday`)).status, 422);
  const sales = await api.get(`${base}/skus/TIME/history?kind=sale&from=${encodeURIComponent(t1)}&limit=4`);
  assert.equal(sales.json.items.length, 4);
  assert.ok(sales.json.next_cursor);
  const rest = await api.get(`${base}/skus/TIME/history?kind=sale&limit=4&cursor=${sales.json.next_cursor}`);
  assert.equal(rest.json.items.length, 2);
  assert.deepEqual([...sales.json.items, ...rest.json.items].map((m) => m.reference), ['O-5', 'O-4', 'O-3', 'O-2', 'O-1', 'O-0']);
  const before = await api.get(`${base}/skus/TIME/history?to=${encodeURIComponent(t1)}`);
  assert.deepEqual(before.json.items.map((m) => m.kind), ['receipt']);
});

test('replay of 10,000 random movements equals the stored balances', async () => {
  const codes = Array.from({ length: 8 }, (_, i) => `R${i}`);
  for (const c of codes) await sku(c);
  await api.post(`${base}/bundles`, { code: 'R-BUNDLE', components: [{ sku: 'R0', qty: 1 }, { sku: 'R1', qty: 2 }] });
  let seed = 42;
  const rnd = (n) => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n; };
  const kinds = ['receipt', 'receipt', 'sale', 'sale', 'ship', 'cancel', 'return', 'adjust', 'count'];
  const bodies = [];
  for (let i = 0; i < 10000; i++) {
    const kind = kinds[rnd(kinds.length)];
    const code = kind === 'sale' && rnd(5) === 0 ? 'R-BUNDLE' : codes[rnd(codes.length)];
    const b = { kind, sku: code, qty: 1 + rnd(5) };
    if (kind === 'adjust') { b.qty = rnd(2) ? b.qty : -b.qty; b.reason = 'random'; }
    if (kind === 'count') b.qty = rnd(40);
    if (kind === 'return') b.disposition = ['restock', 'damaged', 'inspect'][rnd(3)];
    if (kind === 'sale' && rnd(3) === 0) b.allow_oversell = true;
    bodies.push(b);
  }
  let next = 0, created = 0, refused = 0;
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (next < bodies.length) {
      const r = await move(bodies[next++]);
      if (r.status === 201) created++;
      else if (r.status === 409) refused++;
      else assert.fail(`unexpected ${r.status}: ${r.text}`);
    }
  }));
  assert.equal(created + refused, 10000);
  assert.ok(created > 5000);
  const v = await api.get(`${base}/ledger/verify`);
  assert.equal(v.status, 200);
  assert.deepEqual(v.json.mismatches, []);
  assert.ok(v.json.movements_replayed >= created);
  const neg = await stack.sql('SELECT count(*)::int AS n FROM stock WHERE on_hand < 0');
  assert.equal(neg.rows[0].n, 0);
});
