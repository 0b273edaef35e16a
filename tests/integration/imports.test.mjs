// imports.test.mjs — CSV imports and exports end to end: a dry run lists
// every bad row (line, column, reason) and writes nothing; a real run applies
// everything in one transaction or nothing; progress on a large file;
// bundles; counts through the ledger (replay still equals the balances);
// listings (created or updated as the listings API does them);
// exports that import back into a fresh brand; limits, idempotency, roles
// and the brand wall.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { startStack, waitFor } from './lib/stack.mjs';
import { brandWorld, brand, token, tokenClient } from './lib/world.mjs';

const UPLOAD_LIMIT = 4 << 20;
let stack, P, A, api;
before(async () => {
  stack = await startStack({ env: { ONECOUNT_MAX_UPLOAD_BYTES: String(UPLOAD_LIMIT) } });
  ({ P, A, api } = await brandWorld(stack, 'operator'));
});
after(async () => { await stack?.stop(); });

/** A brand of portfolio P with an operator client. */
async function freshBrand() {
  const b = await brand(P);
  return { id: b.id, api: tokenClient(stack.url, (await token(P, b.id, 'operator')).token) };
}

const field = (v) => (v == null ? '' : /[",\r\n]/.test(String(v)) ? `"${String(v).replaceAll('"', '""')}"` : String(v));
const csv = (rows) => rows.map((r) => r.map(field).join(',')).join('\r\n') + '\r\n';

function upload(bid, type, body, { dry = false, headers = {}, client = api } = {}) {
  return client.post(`/api/v1/brands/${bid}/imports?type=${type}&dry_run=${dry}`, body,
    { 'content-type': 'text/csv', ...headers });
}

/** Polls the job until it ends; `seen` collects every state observed on the way. */
async function finished(bid, id, { client = api, seen = [] } = {}) {
  return waitFor(async () => {
    const r = await client.get(`/api/v1/brands/${bid}/imports/${id}`);
    assert.equal(r.status, 200, r.text);
    seen.push({ status: r.json.status, rows_done: r.json.rows_done, rows_total: r.json.rows_total });
    return ['done', 'failed'].includes(r.json.status) && r.json;
  }, { timeout: 120000, interval: 10, what: `import ${id}` });
}

async function runImport(bid, type, body, opts = {}) {
  const r = await upload(bid, type, body, opts);
  assert.equal(r.status, 202, r.text);
  assert.equal(r.json.type, type);
  assert.equal(r.json.dry_run, !!opts.dry);
  return finished(bid, r.json.id, opts);
}

/** What the brand holds, as the superuser sees it: a change anywhere shows. */
async function snapshot(bid) {
  const q = async (sql) => (await stack.sql(sql, [bid])).rows[0];
  return {
    skus: await q(`SELECT count(*)::int AS n, md5(coalesce(string_agg(code || '|' || title || '|' || coalesce(barcode, '')
      || kind || (archived_at IS NULL)::text, ',' ORDER BY code), '')) AS h FROM skus WHERE tenant_id = $1`),
    components: (await q('SELECT count(*)::int AS n FROM bundle_components WHERE tenant_id = $1')).n,
    stock: await q(`SELECT count(*)::int AS n, coalesce(sum(on_hand), 0)::int AS on_hand, coalesce(max(version), 0)::int AS v
      FROM stock WHERE tenant_id = $1`),
    movements: (await q('SELECT count(*)::int AS n FROM movements WHERE tenant_id = $1')).n,
  };
}

const errorsOf = (job) => job.errors.map((e) => `${e.line}/${e.column}: ${e.reason}`);
function hasError(job, line, column, part) {
  assert.ok(job.errors.some((e) => e.line === line && e.column === column && e.reason.includes(part)),
    `no error ${line}/${column} ~ ${part} in:\n${errorsOf(job).join('\n')}`);
}

/** The job failed with each of `errors` ([line, column, part of the reason]) and,
 *  when `total` is given, with exactly that many errors. */
function failedWith(job, errors, total) {
  assert.equal(job.status, 'failed', JSON.stringify(job));
  for (const [line, column, part] of errors) hasError(job, line, column, part);
  if (total !== undefined) assert.equal(job.errors_total, total, errorsOf(job).join('\n'));
}

test('a dry run reports every bad row with its line, column and reason, and writes nothing', async () => {
  const { id: bid, api: c } = await freshBrand();
  assert.equal((await c.post(`/api/v1/brands/${bid}/skus`, { code: 'TAKEN' })).status, 201);
  const before = await snapshot(bid);
  const body = Buffer.concat([
    Buffer.from('\ufeffCode,Title,barcode\r\n'
      + 'OK-1,Fine,111\r\n' //                  2
      + 'TAKEN,Already there,\r\n' //           3 exists in the brand
      + 'OK-1,Again,\r\n' //                    4 duplicate in the file
      + ',No code,\r\n' //                      5 missing code
      + 'RAGGED,only two\r\n' //                6 ragged
      + '"QUOTED, OK","multi\nline ""title""",\r\n' // 7-8 fine (spans two lines)
      + 'LATIN,'),
    Buffer.from([0x63, 0x61, 0x66, 0xe9]), //  9 bad UTF-8 in the title
    Buffer.from(',\r\n'
      + ' LEAD,lead space,\r\n' //              10
      + `${'x'.repeat(65)},too long,\r\n` //    11
      + 'BARCODE,b,' + '9'.repeat(65) + '\r\n' // 12
      + 'STRAY"Q,x,\r\n'), //                   13
  ]);
  const job = await runImport(bid, 'skus', body, { dry: true, client: c });
  failedWith(job, [
    [3, 'code', 'already exists'],
    [4, 'code', 'OK-1 appears twice in the file (first on line 2)'],
    [5, 'code', 'required'],
    [6, null, 'the row has 2 fields; the header has 3'],
    [9, 'title', 'UTF-8'],
    [10, 'code', 'leading or trailing spaces'],
    [11, 'code', 'at most 64 characters'],
    [12, 'barcode', 'at most 64 characters'],
    [13, 'code', 'quote'],
  ], 9);
  assert.equal(job.rows_total, 11);
  assert.equal(job.rows_done, 11);
  assert.deepEqual(job.errors.map((e) => e.line), [...job.errors.map((e) => e.line)].sort((a, b) => a - b));
  assert.deepEqual(await snapshot(bid), before);

  // Header problems: an unknown column and a missing one, each named.
  const h = await runImport(bid, 'counts', 'sku,on_hand,colour\r\nA,1,red\r\n', { dry: true, client: c });
  failedWith(h, [[1, 'sku', 'unknown column'], [1, 'colour', 'unknown column'], [1, 'code', 'required column is missing']]);

  // A clean dry run is done, says what it would do, and still writes nothing.
  const ok = await runImport(bid, 'skus', 'code,title\nNEW-1,One\nNEW-2,Two\n', { dry: true, client: c });
  assert.equal(ok.status, 'done', JSON.stringify(ok));
  assert.deepEqual(ok.errors, []);
  assert.equal(ok.errors_total, 0);
  assert.equal(ok.summary.skus, 2);
  assert.deepEqual(await snapshot(bid), before);
});

test('more than 1000 bad rows: the first 1000 are listed, all are counted', async () => {
  const { id: bid, api: c } = await freshBrand();
  const rows = [['code', 'on_hand']];
  for (let i = 0; i < 1500; i++) rows.push([`NOPE-${i}`, i % 2 ? '-1' : '1']);
  const job = await runImport(bid, 'counts', csv(rows), { dry: true, client: c });
  assert.equal(job.status, 'failed');
  assert.equal(job.errors_total, 2250); // every row unknown, every other one negative too
  assert.equal(job.errors.length, 1000);
  assert.deepEqual(job.errors[0], { line: 2, column: 'code', reason: 'no SKU NOPE-0 in this brand' });
});

test('a job a stopped server left running shows as failed, having applied nothing', async () => {
  const { id: bid, api: c } = await freshBrand();
  const id = randomUUID();
  await stack.sql(`INSERT INTO import_jobs (tenant_id, id, type, dry_run, status, bytes, rows_total, rows_done, updated_at)
    VALUES ($1, $2, 'skus', false, 'applying', 10, 5, 2, now() - interval '20 minutes')`, [bid, id]);
  const job = (await c.get(`/api/v1/brands/${bid}/imports/${id}`)).json;
  assert.equal(job.status, 'failed');
  assert.match(job.errors[0].reason, /interrupted.*nothing was applied/);
  await stack.sql(`UPDATE import_jobs SET updated_at = now() WHERE id = $1`, [id]);
  assert.equal((await c.get(`/api/v1/brands/${bid}/imports/${id}`)).json.status, 'applying');
});

test('a real run applies every row in one transaction, or none', async () => {
  const { id: bid, api: c } = await freshBrand();
  const rows = [['code', 'title', 'barcode', 'archived']];
  for (let i = 0; i < 5000; i++) rows.push([`R-${String(i).padStart(5, '0')}`, `Row ${i}`, i % 2 ? `B${i}` : '', i % 100 === 0 ? 'true' : 'false']);
  const before = await snapshot(bid);

  // One bad row among 5,000: nothing is applied and the job says why.
  const bad = rows.map((r) => [...r]);
  bad[4000][0] = ' bad';
  const failed = await runImport(bid, 'skus', csv(bad), { client: c });
  failedWith(failed, [[4001, 'code', 'leading or trailing spaces']], 1);
  assert.deepEqual(await snapshot(bid), before);

  // A row that passes every check but fails while applying (a trigger stands in for a
  // concurrent writer): the rows of the earlier chunks are rolled back with it.
  await stack.sql(`CREATE FUNCTION test_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION 'refused by the test'; END $$`);
  await stack.sql(`CREATE TRIGGER test_refuse BEFORE INSERT ON skus FOR EACH ROW WHEN (NEW.code = 'R-04999')
    EXECUTE FUNCTION test_refuse()`);
  try {
    const rolled = await runImport(bid, 'skus', csv(rows), { client: c });
    assert.equal(rolled.status, 'failed', JSON.stringify(rolled));
    assert.equal(rolled.errors.length, 1);
    assert.equal(rolled.errors[0].line, null);
    assert.match(rolled.errors[0].reason, /nothing was applied/);
    assert.deepEqual(await snapshot(bid), before);
  } finally {
    await stack.sql('DROP TRIGGER test_refuse ON skus; DROP FUNCTION test_refuse()');
  }

  // The same file, now clean: every row, with its title, barcode and archived flag.
  const done = await runImport(bid, 'skus', csv(rows), { client: c });
  assert.equal(done.status, 'done', JSON.stringify(done.errors));
  assert.equal(done.rows_done, 5000);
  assert.equal(done.summary.skus, 5000);
  assert.ok(done.finished_at);
  const after = await snapshot(bid);
  assert.equal(after.skus.n, 5000);
  assert.equal(after.stock.n, 5000);
  const s = (await c.get(`/api/v1/brands/${bid}/skus/R-00001`)).json;
  assert.deepEqual({ title: s.title, barcode: s.barcode, archived: s.archived, on_hand: s.on_hand },
    { title: 'Row 1', barcode: 'B1', archived: false, on_hand: 0 });
  assert.equal((await c.get(`/api/v1/brands/${bid}/skus/R-00100`)).json.archived, true);
  const audit = (await c.get(`/api/v1/brands/${bid}/audit?action=import.apply`)).json.items;
  assert.equal(audit.length, 1);
  assert.equal(audit[0].object_id, done.id);

  // Importing it again: every row already exists.
  const again = await runImport(bid, 'skus', csv(rows.slice(0, 11)), { client: c });
  assert.equal(again.status, 'failed');
  assert.equal(again.errors_total, 10);
  hasError(again, 2, 'code', 'already exists');
});

test('progress is visible while a 50,000-row file is checked and applied', async () => {
  const { id: bid, api: c } = await freshBrand();
  const rows = [['code', 'title']];
  for (let i = 0; i < 50000; i++) rows.push([`BIG-${i}`, `Item ${i}`]);
  const seen = [];
  const job = await runImport(bid, 'skus', csv(rows), { client: c, seen });
  assert.equal(job.status, 'done', JSON.stringify(job.errors));
  assert.equal(job.rows_total, 50000);
  assert.equal(job.rows_done, 50000);
  const partial = seen.filter((s) => ['validating', 'applying'].includes(s.status) && s.rows_done > 0 && s.rows_done < 50000);
  assert.ok(partial.length > 0, `no progress seen before done: ${JSON.stringify(seen.slice(0, 20))}`);
  for (let i = 1; i < seen.length; i++) {
    if (seen[i].status === seen[i - 1].status) assert.ok(seen[i].rows_done >= seen[i - 1].rows_done, 'progress never goes back within a phase');
  }
  assert.equal((await snapshot(bid)).skus.n, 50000);

  // Counts for all of them: the ledger replays to the same balances.
  const counts = [['code', 'on_hand']];
  for (let i = 0; i < 50000; i++) counts.push([`BIG-${i}`, i % 13]);
  const cj = await runImport(bid, 'counts', csv(counts), { client: c });
  assert.equal(cj.status, 'done', JSON.stringify(cj.errors));
  const v = (await c.get(`/api/v1/brands/${bid}/ledger/verify`)).json;
  assert.deepEqual(v.mismatches, []);
  assert.equal(v.movements_replayed, 50000);
  assert.equal((await c.get(`/api/v1/brands/${bid}/skus/BIG-25`)).json.on_hand, 25 % 13);
});

test('bundles: every bad row reported, then a clean file creates them', async () => {
  const { id: bid, api: c } = await freshBrand();
  await runImport(bid, 'skus', 'code\nMUG\nLID\nSPOON\nCARD\n', { client: c });
  assert.equal((await c.post(`/api/v1/brands/${bid}/bundles`, { code: 'OLD-KIT', components: [{ sku: 'MUG', qty: 1 }] })).status, 201);
  const before = await snapshot(bid);
  const bad = 'bundle_code,bundle_title,component_code,qty\n'
    + 'KIT,Starter kit,MUG,1\n' //        2
    + 'KIT,,NOPE,1\n' //                  3 unknown component
    + 'KIT,,OLD-KIT,1\n' //               4 a bundle of the brand
    + 'GIFT,Gift,KIT,1\n' //              5 a bundle of this file
    + 'GIFT,,CARD,0\n' //                 6 qty
    + 'KIT,,MUG,2\n' //                   7 listed twice
    + 'OLD-KIT,,LID,1\n' //               8 the code exists
    + 'SELF,,SELF,1\n'; //                9 itself
  const job = await runImport(bid, 'bundles', bad, { client: c });
  failedWith(job, [
    [3, 'component_code', 'no SKU NOPE in this brand'],
    [4, 'component_code', 'OLD-KIT is a bundle'],
    [5, 'component_code', 'KIT is a bundle in this file'],
    [6, 'qty', 'from 1 to 10000'],
    [7, 'component_code', 'listed twice'],
    [8, 'bundle_code', 'already exists'],
    [9, 'component_code', 'cannot contain itself'],
  ], 7);
  assert.deepEqual(await snapshot(bid), before);

  const good = 'component_code,qty,bundle_code,bundle_title\nMUG,1,KIT,Starter kit\nCARD,1,GIFT,Gift\nLID,2,KIT,\n';
  const ok = await runImport(bid, 'bundles', good, { client: c });
  assert.equal(ok.status, 'done', JSON.stringify(ok.errors));
  assert.deepEqual(ok.summary, { bundles: 2, components: 3 });
  const kit = (await c.get(`/api/v1/brands/${bid}/skus/KIT`)).json;
  assert.equal(kit.kind, 'bundle');
  assert.equal(kit.title, 'Starter kit');
  assert.deepEqual(kit.components.map((x) => [x.sku, x.qty]), [['LID', 2], ['MUG', 1]]);
  // The catalog cache saw the new bundle: it sells its components.
  await c.post(`/api/v1/brands/${bid}/movements`, { kind: 'receipt', lines: [{ sku: 'MUG', qty: 5 }, { sku: 'LID', qty: 5 }] });
  const sale = await c.post(`/api/v1/brands/${bid}/movements`, { kind: 'sale', sku: 'KIT', qty: 2 });
  assert.equal(sale.status, 201, sale.text);
  assert.equal((await c.get(`/api/v1/brands/${bid}/skus/LID`)).json.committed, 4);
});

test('counts: count movements through the ledger; bad counts reported', async () => {
  const { id: bid, api: c } = await freshBrand();
  await runImport(bid, 'skus', 'code\nC-1\nC-2\nC-3\n', { client: c });
  await c.post(`/api/v1/brands/${bid}/bundles`, { code: 'C-B', components: [{ sku: 'C-1', qty: 1 }] });
  await c.post(`/api/v1/brands/${bid}/movements`, { kind: 'receipt', lines: [{ sku: 'C-1', qty: 10 }, { sku: 'C-2', qty: 4 }] });
  await c.post(`/api/v1/brands/${bid}/movements`, { kind: 'sale', sku: 'C-1', qty: 3 });
  // A refused hold makes the Redis gate cache C-3 with nothing on hand.
  assert.equal((await c.post(`/api/v1/brands/${bid}/holds`, { sku: 'C-3', qty: 1 })).status, 409);
  const before = await snapshot(bid);

  const bad = 'code,on_hand\nC-1,-2\nC-2,1.5\nC-3,\nNOPE,1\nC-B,4\nC-1,7\n';
  const job = await runImport(bid, 'counts', bad, { client: c });
  failedWith(job, [
    [2, 'on_hand', '0 or more'],
    [3, 'on_hand', 'whole number'],
    [4, 'on_hand', 'required'],
    [5, 'code', 'no SKU NOPE'],
    [6, 'code', 'C-B is a bundle'],
    [7, 'code', 'C-1 appears twice'],
  ], 6);
  assert.deepEqual(await snapshot(bid), before);

  const ok = await runImport(bid, 'counts', 'code,on_hand\nC-1,8\nC-2,4\nC-3,12\n', { client: c });
  assert.equal(ok.status, 'done', JSON.stringify(ok.errors));
  assert.deepEqual(ok.summary, { skus: 3, units: 24 });
  const c1 = (await c.get(`/api/v1/brands/${bid}/skus/C-1`)).json;
  assert.deepEqual({ on_hand: c1.on_hand, committed: c1.committed, available: c1.available }, { on_hand: 8, committed: 3, available: 5 });
  const hist = (await c.get(`/api/v1/brands/${bid}/skus/C-1/history`)).json.items;
  assert.equal(hist[0].kind, 'count');
  assert.equal(hist[0].qty, 8);
  assert.equal(hist[0].on_hand_delta, -2);
  assert.equal(hist[0].reference, `import:${ok.id}`);
  assert.equal((await c.get(`/api/v1/brands/${bid}/skus/C-2/history`)).json.items[0].on_hand_delta, 0);
  const v = (await c.get(`/api/v1/brands/${bid}/ledger/verify`)).json;
  assert.deepEqual(v.mismatches, []);
  // The hold gate sees the counted stock: the import told the Redis cache (right after it committed).
  await waitFor(async () => (await c.post(`/api/v1/brands/${bid}/holds`, { sku: 'C-3', qty: 12 })).status === 201,
    { timeout: 2000, what: 'the hold gate to see the count' });
  assert.equal((await c.post(`/api/v1/brands/${bid}/holds`, { sku: 'C-3', qty: 1 })).status, 409);
});

test('exports: CSV with the right headers, and an export imports into a fresh brand unchanged', async () => {
  const { id: bid, api: c } = await freshBrand();
  const skus = [['code', 'title', 'barcode', 'archived'],
    ['E-1', 'Plain', '4006381333931', 'false'],
    ['E-2', 'Comma, "quotes" and\nnewline', '', 'false'],
    ['E-3', 'Ünïcödé 📦', '', 'true'],
    ['E-4', '', '', 'false']];
  assert.equal((await runImport(bid, 'skus', csv(skus), { client: c })).status, 'done');
  assert.equal((await runImport(bid, 'bundles', 'bundle_code,bundle_title,component_code,qty\nE-KIT,"Kit, big",E-1,2\nE-KIT,,E-2,1\n', { client: c })).status, 'done');
  assert.equal((await runImport(bid, 'counts', 'code,on_hand\nE-1,5\nE-2,3\nE-3,7\n', { client: c })).status, 'done');

  const get = async (b, client, name, q = '') => {
    const r = await client.get(`/api/v1/brands/${b}/exports/${name}.csv${q}`);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers.get('content-type'), 'text/csv; charset=utf-8');
    assert.equal(r.headers.get('content-disposition'), `attachment; filename="${name}.csv"`);
    return r.text;
  };
  const skusCsv = await get(bid, c, 'skus');
  assert.equal(skusCsv.split('\r\n')[0], 'code,title,barcode,kind,on_hand,committed,held,available,archived');
  assert.ok(skusCsv.includes('E-2,"Comma, ""quotes"" and\nnewline",,simple,3,0,0,3,false\r\n'), skusCsv);
  assert.ok(skusCsv.includes('E-KIT,"Kit, big",,bundle,,,,2,false\r\n'), skusCsv);
  assert.ok(skusCsv.includes('E-3,Ünïcödé 📦,,simple,7,0,0,7,true\r\n'), skusCsv);
  const bundlesCsv = await get(bid, c, 'bundles');
  assert.equal(bundlesCsv, 'bundle_code,bundle_title,component_code,qty\r\nE-KIT,"Kit, big",E-1,2\r\nE-KIT,"Kit, big",E-2,1\r\n');
  const countsCsv = await get(bid, c, 'counts');
  assert.equal(countsCsv, 'code,on_hand\r\nE-1,5\r\nE-2,3\r\nE-3,7\r\nE-4,0\r\n');

  // Round trip: the three files into a fresh brand give the same three files back.
  const { id: fresh, api: f } = await freshBrand();
  for (const [type, body] of [['skus', skusCsv], ['bundles', bundlesCsv], ['counts', countsCsv]]) {
    const j = await runImport(fresh, type, body, { client: f });
    assert.equal(j.status, 'done', `${type}: ${JSON.stringify(j.errors)}`);
  }
  assert.equal(await get(fresh, f, 'skus'), skusCsv);
  assert.equal(await get(fresh, f, 'bundles'), bundlesCsv);
  assert.equal(await get(fresh, f, 'counts'), countsCsv);
  assert.deepEqual((await f.get(`/api/v1/brands/${fresh}/ledger/verify`)).json.mismatches, []);

  // Movements, oldest first, with from/to.
  const mv = (await get(bid, c, 'movements')).split('\r\n').filter(Boolean);
  assert.equal(mv[0], 'id,at,sku,kind,qty,on_hand_delta,committed_delta,inspecting_delta,on_hand_after,committed_after,'
    + 'disposition,reason,reference,channel_id,bundle,guarded,actor_user,actor_token,request_id');
  assert.equal(mv.length, 1 + 3);
  const first = mv[1].split(',');
  assert.deepEqual(first.slice(2, 6), ['E-1', 'count', '5', '5']);
  assert.match(first[1], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
  assert.equal((await get(bid, c, 'movements', '?from=2999-01-01T00:00:00Z')).split('\r\n').filter(Boolean).length, 1);
  assert.equal((await get(bid, c, 'movements', `?from=2000-01-01T00:00:00Z&to=2999-01-01T00:00:00Z`)).split('\r\n').filter(Boolean).length, 4);
  const badTime = await c.get(`/api/v1/brands/${bid}/exports/movements.csv?from=yesterday`);
  assert.equal(badTime.status, 422);
  assert.equal(badTime.json.error.field, 'from');

  // An empty brand exports its headers.
  const { id: empty, api: e } = await freshBrand();
  assert.equal(await get(empty, e, 'counts'), 'code,on_hand\r\n');
});

test('exports page through a large brand', async () => {
  const { id: bid, api: c } = await freshBrand();
  const rows = [['code', 'title']];
  for (let i = 0; i < 12001; i++) rows.push([`P-${String(i).padStart(5, '0')}`, `t${i}`]);
  assert.equal((await runImport(bid, 'skus', csv(rows), { client: c })).status, 'done');
  const r = await c.get(`/api/v1/brands/${bid}/exports/counts.csv`);
  const lines = r.text.split('\r\n').filter(Boolean);
  assert.equal(lines.length, 12002);
  assert.equal(new Set(lines).size, 12002);
  assert.equal(lines[12001], 'P-12000,0');
});

/** The brand's listings as the superuser sees them: any write shows (identifiers, desired quantity and version). */
async function listingsSnapshot(bid) {
  return (await stack.sql(`SELECT count(*)::int AS n, md5(coalesce(string_agg(connection_id || '|' || sku_id || '|'
    || external_sku || '|' || coalesce(item_ref, '') || '|' || coalesce(location_ref, '') || '|' || rules::text || '|'
    || coalesce(desired_qty::text, '') || '|' || desired_version, ',' ORDER BY id), '')) AS h
    FROM listings WHERE tenant_id = $1`, [bid])).rows[0];
}

test('listings: every bad row reported, then created and updated as the listings API does, and the export re-imports unchanged', async () => {
  const { id: bid, api: c } = await freshBrand();
  const base = `/api/v1/brands/${bid}`;
  for (const code of ['L-1', 'L-2', 'L-3']) assert.equal((await c.post(`${base}/skus`, { code })).status, 201);
  assert.equal((await c.post(`${base}/movements`, { kind: 'receipt', lines: [{ sku: 'L-1', qty: 10 }, { sku: 'L-2', qty: 4 }] })).status, 201);
  // Connections need the channels permission: the portfolio's owner makes them.
  const conn = async (b, body) => {
    const r = await P.api.post(`/api/v1/brands/${b}/connections`, body);
    assert.equal(r.status, 201, r.text);
    return r.json;
  };
  const shop = await conn(bid, { kind: 'shopify', name: 'Shop', base_url: 'http://127.0.0.1:9/shopify/x',
    settings: { shop: 'x.myshopify.com', location_id: 'gid://shopify/Location/1' }, credentials: { access_token: 't' } });
  const amz = await conn(bid, { kind: 'amazon', name: 'Amazon', settings: { seller_id: 'S1', marketplace_ids: ['ATVPDKIKX0DER'] },
    credentials: { client_id: 'a', client_secret: 'b', refresh_token: 'c' }, rules: { buffer: 2 } });
  const wm = await conn(bid, { kind: 'walmart', name: 'Walmart', settings: {}, credentials: { client_id: 'a', client_secret: 'b' } });
  const { id: other } = await freshBrand();
  const foreign = await conn(other, { kind: 'walmart', name: 'Foreign', settings: {}, credentials: { client_id: 'a', client_secret: 'b' } });
  const taken = await c.post(`${base}/listings`, { connection_id: wm.id, sku: 'L-3', external_sku: 'WM-TAKEN' });
  assert.equal(taken.status, 201, taken.text);
  const before = await listingsSnapshot(bid);

  const bad = csv([['connection', 'sku', 'external_sku', 'item_ref', 'location_ref'],
    ['Shop', 'L-1', 'SH-L1', 'gid://shopify/InventoryItem/11', ''], //  2 fine
    ['Nowhere', 'L-1', '', '', ''], //                                  3 unknown connection
    [foreign.id, 'L-2', '', '', ''], //                                 4 another brand's connection
    ['Amazon', 'NOPE', '', '', ''], //                                  5 unknown SKU
    ['Shop', 'L-1', '', '', ''], //                                     6 mapped twice in the file
    [shop.id, 'L-1', '', '', ''], //                                    7 again, the connection by its id
    ['Walmart', 'L-1', 'WM-TAKEN', '', ''], //                          8 another listing uses it
    ['Amazon', 'L-2', 'SH-X', '', ''], //                               9 fine
    ['Amazon', 'L-3', 'SH-X', '', ''], //                              10 external_sku twice on Amazon
    ['', 'L-2', '', '', '']]); //                                      11 no connection
  const dry = await runImport(bid, 'listings', bad, { dry: true, client: c });
  failedWith(dry, [
    [3, 'connection', 'no connection Nowhere in this brand'],
    [4, 'connection', `no connection ${foreign.id} in this brand`],
    [5, 'sku', 'no SKU NOPE in this brand'],
    [6, 'sku', 'L-1 is mapped to this connection twice in the file (first on line 2)'],
    [7, 'sku', 'L-1 is mapped to this connection twice in the file (first on line 2)'],
    [8, 'external_sku', 'another listing on this connection (SKU L-3) already uses external_sku WM-TAKEN'],
    [10, 'external_sku', 'external_sku SH-X is used twice on this connection in the file (first on line 9)'],
    [11, 'connection', 'a connection is required'],
  ], 8);
  assert.equal(dry.rows_total, 10);
  assert.deepEqual(await listingsSnapshot(bid), before);
  // A real run of the same file applies nothing either.
  assert.equal((await runImport(bid, 'listings', bad, { client: c })).status, 'failed');
  assert.deepEqual(await listingsSnapshot(bid), before);

  // A clean file: three new listings (the connection by its name or its id), one already mapped updated.
  const good = csv([['Connection', 'SKU', 'external_sku', 'item_ref', 'location_ref'],
    ['Shop', 'L-1', 'SH-L1', 'gid://shopify/InventoryItem/11', 'gid://shopify/Location/1'],
    [amz.id, 'L-1', '', '', ''],
    ['Amazon', 'L-2', 'AMZ-L2', '', ''],
    ['Walmart', 'L-3', 'WM-L3', '', '']]);
  const check = await runImport(bid, 'listings', good, { dry: true, client: c });
  assert.equal(check.status, 'done', JSON.stringify(check.errors));
  assert.deepEqual(check.summary, { listings: 4, created: 3, updated: 1, unchanged: 0 });
  assert.deepEqual(await listingsSnapshot(bid), before);
  const real = await runImport(bid, 'listings', good, { client: c });
  assert.equal(real.status, 'done', JSON.stringify(real.errors));
  assert.deepEqual(real.summary, { listings: 4, created: 3, updated: 1, unchanged: 0 });
  // Desired quantities were computed in the same transaction, as for POST /listings.
  const l1 = Object.fromEntries((await c.get(`${base}/skus/L-1`)).json.listings.map((l) => [l.connection, l]));
  assert.equal(l1.Shop.published_qty, 10);
  assert.equal(l1.Shop.external_sku, 'SH-L1');
  assert.equal(l1.Amazon.published_qty, 8, 'the Amazon buffer of 2');
  assert.equal(l1.Amazon.external_sku, 'L-1', 'external_sku defaults to the SKU code');
  assert.equal((await c.get(`${base}/skus/L-2`)).json.listings[0].published_qty, 2);
  const l3 = (await c.get(`${base}/listings/${taken.json.id}`)).json;
  assert.equal(l3.external_sku, 'WM-L3');
  const shopListing = (await c.get(`${base}/listings/${l1.Shop.id}`)).json;
  assert.equal(shopListing.item_ref, 'gid://shopify/InventoryItem/11');
  assert.equal(shopListing.location_ref, 'gid://shopify/Location/1');
  // One audit record for the import, as for the other types.
  const audit = (await P.api.get(`${base}/audit?limit=200`)).json.items.filter((a) => a.action === 'import.apply');
  assert.equal(audit.length, 1, JSON.stringify(audit));

  // The export: the same columns, by connection name then SKU; it re-imports as it is and changes nothing.
  const exp = await c.get(`${base}/exports/listings.csv`);
  assert.equal(exp.status, 200, exp.text);
  assert.equal(exp.headers.get('content-disposition'), 'attachment; filename="listings.csv"');
  assert.equal(exp.text, 'connection,sku,external_sku,item_ref,location_ref\r\n'
    + 'Amazon,L-1,L-1,,\r\nAmazon,L-2,AMZ-L2,,\r\n'
    + 'Shop,L-1,SH-L1,gid://shopify/InventoryItem/11,gid://shopify/Location/1\r\nWalmart,L-3,WM-L3,,\r\n');
  const after = await listingsSnapshot(bid);
  const again = await runImport(bid, 'listings', exp.text, { client: c });
  assert.equal(again.status, 'done', JSON.stringify(again.errors));
  assert.deepEqual(again.summary, { listings: 4, created: 0, updated: 0, unchanged: 4 });
  assert.deepEqual(await listingsSnapshot(bid), after);

  // Roles: a viewer reads the export but cannot import.
  const viewer = tokenClient(stack.url, (await token(P, bid, 'viewer')).token);
  assert.equal((await viewer.get(`${base}/exports/listings.csv`)).status, 200);
  assert.equal((await upload(bid, 'listings', exp.text, { client: viewer })).status, 403);
  assert.deepEqual(await listingsSnapshot(bid), after);
});

test('a listings import takes in parked order lines, and the hold gate hears of the sale', async () => {
  const { id: bid, api: c } = await freshBrand();
  const base = `/api/v1/brands/${bid}`;
  assert.equal((await c.post(`${base}/skus`, { code: 'P-1' })).status, 201);
  assert.equal((await c.post(`${base}/movements`, { kind: 'receipt', sku: 'P-1', qty: 10 })).status, 201);
  const wm = await P.api.post(`${base}/connections`, { kind: 'walmart', name: 'Walmart', settings: {},
    credentials: { client_id: 'a', client_secret: 'b' } });
  assert.equal(wm.status, 201, wm.text);
  // The gate caches the 10 units.
  const warm = await c.post(`${base}/holds`, { sku: 'P-1', qty: 10, ttl_seconds: 60 });
  assert.equal(warm.status, 201, warm.text);
  assert.equal((await c.post(`${base}/holds/${warm.json.id}/release`, {})).status, 200);
  // A channel order for a SKU the connection has no listing for waits, parked.
  const at = new Date().toISOString();
  const order = { id: `PO-${randomUUID()}`, status: 'open', created_at: at, updated_at: at, needs_ack: false,
    lines: [{ id: 'L1', sku: 'PARK-1', qty: 2 }] };
  const client = await stack.pool.connect();
  try {
    await client.query('BEGIN');
    await client.query("SELECT set_config('app.tenant_id', $1, true)", [bid]);
    await client.query('SELECT ingest_order($1, $2, $3)', [bid, wm.json.id, order]);
    await client.query('COMMIT');
  } finally { client.release(); }
  assert.equal((await c.get(`${base}/skus/P-1`)).json.committed, 0);
  const job = await runImport(bid, 'listings', csv([['connection', 'sku', 'external_sku'], ['Walmart', 'P-1', 'PARK-1']]), { client: c });
  assert.equal(job.status, 'done', JSON.stringify(job));
  assert.equal((await c.get(`${base}/skus/P-1`)).json.committed, 2, 'the parked sale was taken in');
  // 8 units are left to hold, not the 10 the gate cached.
  await waitFor(async () => {
    const h = await c.post(`${base}/holds`, { sku: 'P-1', qty: 9, ttl_seconds: 60 });
    if (h.status === 201) await c.post(`${base}/holds/${h.json.id}/release`, {});
    return h.status === 409;
  }, { timeout: 3000, what: 'a hold of 9 refused' });
  const fits = await c.post(`${base}/holds`, { sku: 'P-1', qty: 8, ttl_seconds: 60 });
  assert.equal(fits.status, 201, fits.text);
});

test('limits: 413 above the upload limit, 415 for another content type, 422 for bad parameters', async () => {
  const justOver = await upload(A.id, 'skus', 'code\n' + 'x'.repeat(UPLOAD_LIMIT - 4));
  assert.equal(justOver.status, 413);
  assert.equal(justOver.json.error.code, 'too_large');
  const json = await upload(A.id, 'skus', 'code\nX\n', { headers: { 'content-type': 'application/json' } });
  assert.equal(json.status, 415);
  assert.equal(json.json.error.code, 'unsupported_media_type');
  const noType = await api.post(`/api/v1/brands/${A.id}/imports`, 'code\nX\n', { 'content-type': 'text/csv' });
  assert.equal(noType.status, 422);
  assert.equal(noType.json.error.field, 'type');
  assert.equal((await upload(A.id, 'orders', 'code\nX\n')).json.error.field, 'type');
  const dry = await api.post(`/api/v1/brands/${A.id}/imports?type=skus&dry_run=maybe`, 'code\nX\n', { 'content-type': 'text/csv' });
  assert.equal(dry.json.error.field, 'dry_run');
  assert.equal((await upload(A.id, 'skus', '')).status, 422);
  // text/csv with a charset is fine.
  const ok = await upload(A.id, 'skus', 'code\nLIMIT-OK\n', { dry: true, headers: { 'content-type': 'text/csv; charset=utf-8' } });
  assert.equal(ok.status, 202, ok.text);
});

test('Idempotency-Key: a retry answers the same job; another file with the key is refused', async () => {
  const { id: bid, api: c } = await freshBrand();
  const key = randomUUID();
  const first = await upload(bid, 'skus', 'code\nIDEM-1\n', { client: c, headers: { 'idempotency-key': key } });
  assert.equal(first.status, 202);
  assert.match(first.headers.get('location'), new RegExp(`/imports/${first.json.id}$`));
  const retry = await upload(bid, 'skus', 'code\nIDEM-1\n', { client: c, headers: { 'idempotency-key': key } });
  assert.equal(retry.status, 202);
  assert.equal(retry.headers.get('idempotent-replayed'), 'true');
  assert.equal(retry.json.id, first.json.id);
  const other = await upload(bid, 'skus', 'code\nIDEM-2\n', { client: c, headers: { 'idempotency-key': key } });
  assert.equal(other.status, 422);
  assert.equal(other.json.error.code, 'idempotency_mismatch');
  const dryToo = await upload(bid, 'skus', 'code\nIDEM-1\n', { dry: true, client: c, headers: { 'idempotency-key': key } });
  assert.equal(dryToo.status, 422, 'the query string is part of what the key is bound to');
  assert.equal((await finished(bid, first.json.id, { client: c })).status, 'done');
  assert.equal((await c.get(`/api/v1/brands/${bid}/imports`)).json.items.length, 1);
});

test('jobs list newest first, paginated, without the errors', async () => {
  const { id: bid, api: c } = await freshBrand();
  const ids = [];
  for (let i = 0; i < 3; i++) ids.push((await runImport(bid, 'counts', 'code,on_hand\nNOPE,1\n', { dry: true, client: c })).id);
  const p1 = await c.get(`/api/v1/brands/${bid}/imports?limit=2`);
  assert.equal(p1.status, 200);
  assert.deepEqual(p1.json.items.map((j) => j.id), [ids[2], ids[1]]);
  assert.ok(p1.json.next_cursor);
  assert.equal(p1.json.items[0].errors, undefined);
  assert.equal(p1.json.items[0].errors_total, 1);
  const p2 = await c.get(`/api/v1/brands/${bid}/imports?limit=2&cursor=${encodeURIComponent(p1.json.next_cursor)}`);
  assert.deepEqual(p2.json.items.map((j) => j.id), [ids[0]]);
  assert.equal(p2.json.next_cursor, null);
  assert.equal((await c.get(`/api/v1/brands/${bid}/imports?type=skus`)).json.items.length, 0);
});

test("roles and the brand wall: viewers read, operators import; another brand's job is 404", async () => {
  const viewer = tokenClient(stack.url, (await token(P, A.id, 'viewer')).token);
  const denied = await upload(A.id, 'skus', 'code\nV-1\n', { client: viewer });
  assert.equal(denied.status, 403);
  assert.equal((await viewer.get(`/api/v1/brands/${A.id}/exports/skus.csv`)).status, 200);

  const { id: other, api: o } = await freshBrand();
  const theirs = await runImport(other, 'skus', 'code\nTHEIRS\n', { dry: true, client: o });
  const mine = await runImport(A.id, 'skus', 'code\nMINE\n', { dry: true });
  const foreign = await api.get(`/api/v1/brands/${A.id}/imports/${theirs.id}`);
  const random = await api.get(`/api/v1/brands/${A.id}/imports/${randomUUID()}`);
  assert.equal(foreign.status, 404);
  assert.deepEqual(foreign.json.error.message, random.json.error.message);
  assert.equal((await api.get(`/api/v1/brands/${A.id}/imports/not-a-uuid`)).status, 404);
  assert.equal((await api.get(`/api/v1/brands/${other}/imports/${theirs.id}`)).status, 404, 'a token of A cannot name brand B');
  assert.equal((await o.get(`/api/v1/brands/${A.id}/exports/skus.csv`)).status, 404);
  assert.equal((await api.get(`/api/v1/brands/${A.id}/imports/${mine.id}`)).json.id, mine.id);
  assert.ok(!(await api.get(`/api/v1/brands/${A.id}/imports`)).json.items.some((j) => j.id === theirs.id));
});
