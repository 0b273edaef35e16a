// tables.test.mjs — what the console's tables and search stand on: ?sort= on
// the SKU and listing lists (every order, paged by cursor, 422 on an unknown
// column), bulk listing actions with per-listing results, from/to on orders
// and the audit log (422 with every problem), the audit log filtered by
// brand and actor and exported as CSV, and the search across brands, which
// never shows a brand the caller may not read.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from './lib/stack.mjs';
import { portfolio, brand, member, token, tokenClient, unique } from './lib/world.mjs';

let stack, P, A, B, api, base;
const shopify = (name) => ({
  kind: 'shopify', name, base_url: 'http://127.0.0.1:9/shopify/acme',
  settings: { shop: 'acme.myshopify.com', location_id: 'gid://shopify/Location/1' },
  credentials: { access_token: 'shpat_tables_test_secret' },
});

// code, title, units received (then 1 sold for the ones marked), so on hand and available differ in order
const SKUS = [
  ['TBL-ALPHA', 'Zebra mug', 5],
  ['TBL-BRAVO', 'apple crate', 12],
  ['TBL-CHARLIE', null, 0],
  ['TBL-DELTA', 'Mango tee', 7],
  ['TBL-ECHO', 'banana hat', 12],
  ['TBL-FOXTROT', 'Cherry jar', 3],
];

before(async () => {
  stack = await startStack();
  P = await portfolio(stack);
  A = await brand(P, unique('Alpha Goods'));
  B = await brand(P, unique('Bravo Goods'));
  api = P.api;
  base = `/api/v1/brands/${A.id}`;
  for (const [code, title, qty] of SKUS) {
    const r = await api.post(`${base}/skus`, title ? { code, title } : { code });
    assert.equal(r.status, 201, r.text);
    if (qty) assert.equal((await api.post(`${base}/movements`, { kind: 'receipt', sku: code, qty })).status, 201);
  }
  // a sale on BRAVO: on hand 12, available 11 — ECHO keeps 12 available
  const s = await api.post(`${base}/movements`, { kind: 'sale', sku: 'TBL-BRAVO', qty: 1 });
  assert.equal(s.status, 201, s.text);
});
after(async () => { await stack?.stop(); });

/** Every item of a list, page by page with `limit`, following next_cursor. */
async function all(path, limit = 2) {
  const out = [];
  let cursor = null;
  for (let i = 0; i < 50; i++) {
    const sep = path.includes('?') ? '&' : '?';
    const r = await api.get(`${path}${sep}limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    assert.equal(r.status, 200, r.text);
    out.push(...r.json.items);
    cursor = r.json.next_cursor;
    if (!cursor) return out;
  }
  throw new Error('pagination did not end');
}

function cmp(a, b) { return a < b ? -1 : a > b ? 1 : 0; }

test('SKUs sort by code, title, on hand and available, both ways, across pages', async () => {
  const skus = (await all(`${base}/skus`, 200)).filter((s) => s.code.startsWith('TBL-'));
  assert.equal(skus.length, SKUS.length);
  const byName = {
    code: (s) => s.code,
    title: (s) => s.title || '',
    on_hand: (s) => Number(s.on_hand),
    available: (s) => Number(s.available),
  };
  for (const [col, val] of Object.entries(byName)) {
    for (const desc of [false, true]) {
      const want = [...skus].sort((x, y) => (desc ? -1 : 1) * (cmp(val(x), val(y)) || cmp(x.code, y.code))).map((s) => s.code);
      const got = (await all(`${base}/skus?q=TBL-&sort=${desc ? '-' : ''}${col}`, 2)).map((s) => s.code);
      assert.deepEqual(got, want, `sort=${desc ? '-' : ''}${col}`);
    }
  }
  // the two with 12 on hand: BRAVO has sold one, so available puts ECHO above it
  const avail = (await all(`${base}/skus?q=TBL-&sort=-available`, 2)).map((s) => s.code);
  assert.deepEqual(avail.slice(0, 2), ['TBL-ECHO', 'TBL-BRAVO']);
});

test('an unknown sort column is a 422 naming sort and the columns it takes', async () => {
  const r = await api.get(`${base}/skus?sort=price`);
  assert.equal(r.status, 422, r.text);
  assert.equal(r.json.error.field, 'sort');
  assert.match(r.json.error.message, /code, title, on_hand, available/);
  assert.equal(r.json.error.problems[0].field, 'sort');
  const l = await api.get(`${base}/listings?sort=-colour`);
  assert.equal(l.status, 422, l.text);
  assert.match(l.json.error.message, /channel, sku, desired, pushed, seen/);
  // a cursor of the default order is not one of another order
  const first = await api.get(`${base}/skus?limit=1`);
  const bad = await api.get(`${base}/skus?limit=1&sort=title&cursor=${first.json.next_cursor}`);
  assert.equal(bad.status, 422, bad.text);
  assert.equal(bad.json.error.field, 'cursor');
});

let conn, listings;
test('listings sort by SKU and desired quantity; bulk pause, resume and re-push answer per listing', async () => {
  conn = (await api.post(`${base}/connections`, shopify(unique('Shop')))).json;
  assert.ok(conn.id);
  for (const [code] of SKUS) {
    const r = await api.post(`${base}/listings`, { connection_id: conn.id, sku: code, external_sku: `CH-${code}` });
    assert.equal(r.status, 201, r.text);
  }
  listings = await all(`${base}/listings?connection=${conn.id}`, 200);
  assert.equal(listings.length, SKUS.length);
  const bySkuDesc = (await all(`${base}/listings?connection=${conn.id}&sort=-sku`, 2)).map((l) => l.sku);
  assert.deepEqual(bySkuDesc, SKUS.map(([c]) => c).sort().reverse());
  const want = [...listings].sort((x, y) => cmp(Number(x.desired_qty ?? -1), Number(y.desired_qty ?? -1)) || cmp(x.id, y.id))
    .map((l) => l.id);
  const byDesired = (await all(`${base}/listings?connection=${conn.id}&sort=desired`, 2)).map((l) => l.id);
  assert.deepEqual(byDesired, want);

  // A listing of another brand, and an id nobody has: reported failed, nothing else changes.
  const bConn = (await api.post(`/api/v1/brands/${B.id}/connections`, shopify(unique('ShopB')))).json;
  assert.equal((await api.post(`/api/v1/brands/${B.id}/skus`, { code: 'B-ONE' })).status, 201);
  const bl = (await api.post(`/api/v1/brands/${B.id}/listings`, { connection_id: bConn.id, sku: 'B-ONE' })).json;
  const nobody = '00000000-0000-4000-8000-000000000000';
  const three = listings.slice(0, 3).map((l) => l.id);
  const r = await api.post(`${base}/listings/bulk`, { action: 'pause', ids: [...three, bl.id, nobody] });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.requested, 5);
  assert.deepEqual(r.json.done, [...three].sort());
  assert.deepEqual(r.json.unchanged, []);
  assert.deepEqual(r.json.failed.map((f) => f.id).sort(), [bl.id, nobody].sort());
  assert.ok(r.json.failed.every((f) => f.reason === 'no such listing in this brand'));
  assert.equal(r.json.audited, 3);
  const paused = await all(`${base}/listings?connection=${conn.id}&state=paused`, 200);
  assert.deepEqual(paused.map((l) => l.id).sort(), [...three].sort());
  const other = await api.get(`/api/v1/brands/${B.id}/listings/${bl.id}`);
  assert.equal(other.json.state, 'active', "another brand's listing is not touched");

  // pausing again changes nothing; resuming two of them resumes those two only
  const again = await api.post(`${base}/listings/bulk`, { action: 'pause', ids: three });
  assert.deepEqual(again.json.done, []);
  assert.deepEqual(again.json.unchanged, [...three].sort());
  const res = await api.post(`${base}/listings/bulk`, { action: 'resume', ids: three.slice(0, 2) });
  assert.deepEqual(res.json.done, three.slice(0, 2).sort());
  assert.equal((await api.get(`${base}/listings/${three[2]}`)).json.state, 'paused');
  assert.equal((await api.get(`${base}/listings/${three[0]}`)).json.state, 'active');

  // re-push: the listing waits to be pushed again
  const rp = await api.post(`${base}/listings/bulk`, { action: 'repush', ids: [three[0]] });
  assert.deepEqual(rp.json.done, [three[0]]);
  assert.equal((await api.get(`${base}/listings/${three[0]}`)).json.in_sync, false);

  // each changed listing is audited
  const audit = await api.get(`${base}/audit?action=listing.update&limit=200`);
  const bulk = audit.json.items.filter((a) => a.summary.bulk === true);
  assert.equal(bulk.length, 3 + 2 + 1);
  assert.ok(bulk.some((a) => a.object_id === three[2] && a.summary.state === 'paused'));
});

test('bulk refuses a bad action and bad ids with every problem, and viewers', async () => {
  const r = await api.post(`${base}/listings/bulk`, { action: 'delete', ids: [] });
  assert.equal(r.status, 422, r.text);
  assert.deepEqual(r.json.error.problems.map((p) => p.field), ['action', 'ids']);
  const ids = await api.post(`${base}/listings/bulk`, { action: 'pause', ids: [listings[0].id, 'not-an-id'] });
  assert.equal(ids.status, 422);
  assert.equal(ids.json.error.problems[0].field, "ids");
  const many = await api.post(`${base}/listings/bulk`, { action: 'pause', ids: Array(201).fill(listings[0].id) });
  assert.equal(many.status, 422);
  const viewer = tokenClient(stack.url, (await token(P, A.id, 'viewer')).token);
  assert.equal((await viewer.post(`${base}/listings/bulk`, { action: 'pause', ids: [listings[0].id] })).status, 403);
});

test('orders filter by first seen from/to; bad times are a 422 listing each problem', async () => {
  const times = ['2026-11-01T10:00:00Z', '2026-11-02T23:30:00Z', '2026-11-03T00:00:00Z', '2026-11-05T12:00:00Z'];
  for (const [i, at] of times.entries()) {
    await stack.sql(`INSERT INTO channel_orders (tenant_id, connection_id, external_id, status, first_seen_at, last_seen_at)
                     VALUES ($1, $2, $3, 'open', $4, $4)`, [A.id, conn.id, `ORD-${1000 + i}`, at]);
  }
  const ids = async (q) => (await all(`${base}/orders?${q}`, 2)).map((o) => o.external_id);
  assert.deepEqual(await ids('from=2026-11-02T00:00:00Z&to=2026-11-03T00:00:00Z'), ['ORD-1001']);
  // a day in New York (UTC-5 in November) holds 23:30Z on the 2nd and 00:00Z on the 3rd
  assert.deepEqual(await ids(`from=${encodeURIComponent('2026-11-02T00:00:00-05:00')}&to=${encodeURIComponent('2026-11-03T00:00:00-05:00')}`),
    ['ORD-1002', 'ORD-1001']);
  assert.deepEqual(await ids('from=2026-11-03T00:00:00Z'), ['ORD-1003', 'ORD-1002']);
  assert.deepEqual(await ids('to=2026-11-01T10:00:00.000001Z'), ['ORD-1000']);

  const bad = await api.get(`${base}/orders?from=2026-13-01T00:00:00Z&to=yesterday`);
  assert.equal(bad.status, 422, bad.text);
  assert.deepEqual(bad.json.error.problems.map((p) => p.field), ['from', 'to']);
  assert.match(bad.json.error.problems[0].message, /RFC 3339/);
  for (const v of ['2026-02-30T00:00:00Z', '2026-11-01', '2026-11-01T10:00:00', '2026-11-01T25:00:00Z']) {
    const r = await api.get(`${base}/orders?from=${encodeURIComponent(v)}`);
    assert.equal(r.status, 422, `${v}: ${r.text}`);
    assert.equal(r.json.error.problems[0].field, 'from');
  }
  const backwards = await api.get(`${base}/orders?from=2026-11-05T00:00:00Z&to=2026-11-01T00:00:00Z`);
  assert.equal(backwards.status, 422);
  assert.match(backwards.json.error.message, /from must not be after to/);
});

test('the audit log filters by brand, actor and time, and exports what it shows as CSV', async () => {
  const op = await member(stack, P, B.id, 'operator');
  assert.equal((await op.api.post(`/api/v1/brands/${B.id}/skus`, { code: 'OP-MADE', title: 'Made by the operator' })).status, 201);
  const pa = `/api/v1/portfolios/${P.pid}/audit`;

  const onlyB = await all(`${pa}?brand=${B.id}`, 50);
  assert.ok(onlyB.length >= 3);
  assert.ok(onlyB.every((a) => a.brand_id === B.id), 'only brand B');
  const byOp = await all(`${pa}?actor=${op.uid}`, 50);
  assert.deepEqual(byOp.map((a) => a.action), ['sku.create', 'invitation.accept']);
  assert.ok(byOp.every((a) => a.actor_user === op.uid));
  const brandByOp = await all(`/api/v1/brands/${B.id}/audit?actor=${op.uid}`, 50);
  // the brand's log: the brand's records only (accepting the invitation is the portfolio's)
  assert.deepEqual(brandByOp.map((a) => a.object_id), byOp.filter((a) => a.brand_id === B.id).map((a) => a.object_id));
  assert.deepEqual(brandByOp.map((a) => a.object_id), ['OP-MADE']);

  // time: nothing before the portfolio existed, everything since
  const future = await all(`${pa}?from=2099-01-01T00:00:00Z`, 50);
  assert.equal(future.length, 0);
  const recent = await all(`${pa}?from=2020-01-01T00:00:00Z&to=2099-01-01T00:00:00Z`, 200);
  const everything = await all(pa, 200);
  assert.equal(recent.length, everything.length);
  const bad = await api.get(`${pa}?from=soon&actor=me`);
  assert.equal(bad.status, 422);
  assert.equal(bad.json.error.field, 'actor');

  // export: the same rows, oldest first, with names
  const csv = await api.get(`/api/v1/portfolios/${P.pid}/exports/audit.csv?brand=${B.id}`);
  assert.equal(csv.status, 200, csv.text);
  assert.match(csv.headers.get('content-type'), /^text\/csv/);
  assert.match(csv.headers.get('content-disposition'), /filename="audit.csv"/);
  const lines = csv.text.trim().split('\r\n');
  assert.equal(lines[0], 'at,brand,actor,actor_id,action,object_type,object_id,summary,request_id');
  assert.equal(lines.length - 1, onlyB.length, csv.text + JSON.stringify(onlyB.map((a) => a.action)));
  const times = lines.slice(1).map((l) => l.split(',')[0]);
  assert.deepEqual(times, [...times].sort(), 'oldest first');
  assert.ok(lines.slice(1).every((l) => l.split(',')[1] === B.name), 'every row names brand B');
  const opLine = lines.find((l) => l.includes(',sku.create,') && l.includes('OP-MADE'));
  assert.ok(opLine, csv.text);
  assert.ok(opLine.includes(`operator <${op.email}>`), opLine);

  const mine = await api.get(`/api/v1/brands/${B.id}/exports/audit.csv?actor=${op.uid}`);
  assert.equal(mine.status, 200);
  assert.equal(mine.text.trim().split('\r\n').length, 2);
  // the action prefix too: brand B's listing records only
  const lst = await api.get(`/api/v1/portfolios/${P.pid}/exports/audit.csv?brand=${B.id}&action=listing.`);
  const lstLines = lst.text.trim().split('\r\n').slice(1);
  assert.equal(lstLines.length, onlyB.filter((a) => a.action.startsWith('listing.')).length);
  assert.ok(lstLines.length >= 1 && lstLines.every((l) => l.includes(',listing.')), lst.text);
  const none = await api.get(`/api/v1/portfolios/${P.pid}/exports/audit.csv?from=2099-01-01T00:00:00Z`);
  assert.equal(none.text, 'at,brand,actor,actor_id,action,object_type,object_id,summary,request_id\r\n');
  // the portfolio's own records (brand.create) are in the unfiltered export, not in a brand's
  const whole = await api.get(`/api/v1/portfolios/${P.pid}/exports/audit.csv`);
  assert.equal(whole.text.trim().split('\r\n').length - 1, everything.length);
  assert.ok(whole.text.includes(',brand.create,'));
  assert.ok(!csv.text.includes(',brand.create,'));
  // a brand operator may not export the portfolio's log
  assert.equal((await op.api.get(`/api/v1/portfolios/${P.pid}/exports/audit.csv`)).status, 403);
});

test('search finds SKUs, channel SKUs and orders across brands, exact first, grouped and bounded', async () => {
  assert.equal((await api.post(`/api/v1/brands/${B.id}/skus`, { code: 'TBL-BRAVO-B', title: 'Bravo in brand B' })).status, 201);
  const s = `/api/v1/portfolios/${P.pid}/search`;
  const r = await api.get(`${s}?q=tbl-bravo`);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json.skus.map((k) => [k.code, k.brand]), [['TBL-BRAVO', A.name], ['TBL-BRAVO-B', B.name]]);
  assert.equal(r.json.skus[0].exact, true);
  const ch = await api.get(`${s}?q=ch-tbl-d`);
  assert.deepEqual(ch.json.listings.map((l) => [l.external_sku, l.sku, l.brand_id]), [['CH-TBL-DELTA', 'TBL-DELTA', A.id]]);
  const ord = await api.get(`${s}?q=ORD-100`);
  assert.deepEqual(ord.json.orders.map((o) => o.external_id), ['ORD-1003', 'ORD-1002', 'ORD-1001', 'ORD-1000']);
  assert.equal(ord.json.orders[0].connection, conn.name);
  // title words, any case
  const title = await api.get(`${s}?q=${encodeURIComponent('MANGO')}`);
  assert.deepEqual(title.json.skus.map((k) => k.code), ['TBL-DELTA']);
  // bounded per kind, and says there is more
  const few = await api.get(`${s}?q=tbl&limit=2`);
  assert.equal(few.json.skus.length, 2);
  assert.equal(few.json.more.skus, true);
  assert.equal(few.json.more.orders, false);
  // LIKE's wildcards are plain characters
  assert.equal((await api.get(`${s}?q=${encodeURIComponent('%%')}`)).json.skus.length, 0);
  assert.equal((await api.get(`${s}?q=${encodeURIComponent('T_L')}`)).json.skus.length, 0);
  const short = await api.get(`${s}?q=a&limit=0`);
  assert.equal(short.status, 422);
  assert.deepEqual(short.json.error.problems.map((p) => p.field), ['q', 'limit']);
});

test('search shows a brand member and a brand token only their brand', async () => {
  const s = `/api/v1/portfolios/${P.pid}/search?q=tbl-bravo`;
  const viewerB = await member(stack, P, B.id, 'viewer');
  const r = await viewerB.api.get(s);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json.skus.map((k) => k.code), ['TBL-BRAVO-B']);
  assert.ok([...r.json.listings, ...r.json.orders].every((x) => x.brand_id === B.id));
  const ordersFromB = await viewerB.api.get(`/api/v1/portfolios/${P.pid}/search?q=ORD-1`);
  assert.deepEqual(ordersFromB.json.orders, [], "brand A's orders are not B's viewer's");
  // a token of one brand reads that brand's routes only, not the portfolio's
  const tokA = tokenClient(stack.url, (await token(P, A.id, 'viewer')).token);
  assert.equal((await tokA.get(s)).status, 403);
  // a portfolio-wide viewer token reads every brand
  const tokP = tokenClient(stack.url, (await token(P, null, 'viewer')).token);
  const t = await tokP.get(s);
  assert.equal(t.status, 200, t.text);
  assert.deepEqual(t.json.skus.map((k) => k.code), ['TBL-BRAVO', 'TBL-BRAVO-B']);
  // another portfolio's admin sees nothing of P (the portfolio sweep checks the 403/404 too)
  const Q = await portfolio(stack);
  const q = await Q.api.get(`/api/v1/portfolios/${Q.pid}/search?q=tbl-bravo`);
  assert.equal(q.status, 200);
  assert.deepEqual(q.json.skus, []);
});

test('search on thousands of SKUs uses the prefix index under row-level security', async () => {
  await stack.sql(`INSERT INTO skus (tenant_id, code, title, kind)
                   SELECT $1, 'BULK-' || lpad(i::text, 5, '0'), 'Bulk item ' || i, 'simple' FROM generate_series(1, 5000) i`, [A.id]);
  await stack.sql('ANALYZE skus');
  const client = await stack.pool.connect();
  try {
    await client.query('SET ROLE onecount_app');
    await client.query(`SELECT set_config('app.tenant_id', $1, false)`, [A.id]);
    // the code arm of tenants/search.c as the application runs it
    const ex = await client.query(`EXPLAIN SELECT k.code FROM skus k WHERE k.tenant_id = ANY (current_tenants())
      AND k.code_search >= lower($1::text) AND k.code_search < lower($1::text) || chr(1114111)
      ORDER BY k.code_search LIMIT 11`, ['BULK-0420']);
    const text = ex.rows.map((x) => x['QUERY PLAN']).join('\n');
    assert.match(text, /Index (Only )?Scan using skus_code_search/, text);
    assert.doesNotMatch(text, /Seq Scan/, text);
    await client.query('RESET ROLE');
  } finally {
    client.release();
  }
  const r = await api.get(`/api/v1/portfolios/${P.pid}/search?q=bulk-0420`);
  assert.deepEqual(r.json.skus.map((k) => k.code), Array.from({ length: 10 }, (_, i) => `BULK-0420${i}`));
  assert.equal(r.json.more.skus, false);
});
