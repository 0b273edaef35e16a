// imports.test.mjs — CSV imports and exports through the console: an
// operator checks a file first (the dry run lists every bad row with its
// line, column and reason, and writes nothing), then imports a clean file
// for real from the dry run's own screen, and pastes counts that apply at
// once; the job history lists every job; exports download as files, and a
// refused export says why; a viewer reads the history and downloads but
// cannot upload; a bundle file with a missing component is refused by line
// and column, then made; a listings file likewise, then exported back; a
// 50,000-row file's progress is followed in place.
// The tests run in order.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startStack } from '../integration/lib/stack.mjs';
import { portfolio, brand, member } from '../integration/lib/world.mjs';
import { launch } from './browser.mjs';
import { consoleAs, go, idle, rendered, mainText, assertSound, screenshot, panelOf, tableRows, takeApiErrors, notice } from './lib/console.mjs';

let stack, browser, P, A, base, op, viewer, opUi, viewerUi;
const jobs = {};

before(async () => {
  stack = await startStack();
  browser = await launch();
  P = await portfolio(stack, 'Import Agency');
  A = await brand(P, 'Gamma Goods');
  base = `/api/v1/brands/${A.id}`;
  op = await member(stack, P, A.id, 'operator');
  viewer = await member(stack, P, A.id, 'viewer');
  assert.equal((await op.api.post(`${base}/skus`, { code: 'TAKEN', title: 'Already here' })).status, 201);
  opUi = await consoleAs(browser, stack.url, op);
  viewerUi = await consoleAs(browser, stack.url, viewer, { viewport: { width: 390, height: 844 } });
});
after(async () => {
  await browser?.close();
  await stack?.stop();
});

const csvFile = (name, text) => ({ name, mimeType: 'text/csv', buffer: Buffer.from(text) });
const jobId = (page) => new URL(page.url()).hash.split('/').pop();
/** Waits until the job screen shows a finished job (it asks the server every second meanwhile). */
const finished = (page) => page.locator('#job .badge', { hasText: /^(Done|Failed|Checked: .*)$/ }).waitFor({ timeout: 30000 });

test('an operator checks a SKU file first: the dry run lists every bad row with its line, column and reason, and writes nothing', async () => {
  const { page } = opUi;
  await go(page, stack.url, `/brands/${A.id}/imports`);
  assert.match(await mainText(page), /No imports yet\./);
  const form = page.getByRole('form', { name: 'Import a CSV file' });
  assert.equal(await form.getByLabel('Dry run: check every row, write nothing').isChecked(), true, 'a dry run by default');
  assert.match(await form.innerText(), /Columns: code \(required\), title, barcode, archived/);
  // Nothing chosen: said before anything is sent.
  await form.getByRole('button', { name: 'Upload' }).click();
  await form.locator('.field-error:not([hidden])', { hasText: 'Choose a CSV file or paste its contents.' }).waitFor();

  await form.getByLabel('CSV file').setInputFiles(csvFile('skus.csv',
    'code,title,barcode\r\nOK-1,Fine,111\r\nTAKEN,Again,\r\nOK-1,Twice,\r\n,No code,\r\nOK-2,"Red, large",\r\n'));
  await form.getByRole('button', { name: 'Upload' }).click();
  await page.getByRole('heading', { name: 'SKUs import (dry run)' }).waitFor();
  await finished(page);
  jobs.bad = jobId(page);
  const job = await panelOf(page, 'SKUs import (dry run)').innerText();
  assert.match(job, /Checked: errors\s+Checked; nothing was written/);
  assert.match(job, /5 of 5 rows checked/);
  assert.match(job, /File\s+\d+ bytes \(skus\.csv\)/);
  assert.match(await panelOf(page, 'Problems').innerText(), /3 problems found; nothing was written\./);
  assert.deepEqual(await tableRows(page, 'Problems'), [
    ['3', 'code', 'A SKU with this code already exists in the brand.'],
    ['4', 'code', 'OK-1 appears twice in the file (first on line 2).'],
    ['5', 'code', 'A SKU code is required.'],
  ]);
  assert.equal(await page.locator('progress').getAttribute('max'), '5');
  assert.equal((await op.api.get(`${base}/skus/OK-1`)).status, 404, 'a dry run writes nothing');
  await screenshot(page, 'import-errors');
  await page.getByRole('link', { name: 'Fix the file and upload it again' }).click();
  await rendered(page);
  assert.equal(await page.getByLabel('What the file holds').inputValue(), 'skus');
  await assertSound(opUi, 'dry run with errors');
  assert.deepEqual(takeApiErrors(opUi), []);
});

test('a clean dry run, then the same file for real from the job screen: the SKUs are there', async () => {
  const { page } = opUi;
  const form = page.getByRole('form', { name: 'Import a CSV file' });
  await form.getByLabel('CSV file').setInputFiles(csvFile('mugs.csv', 'code,title\nMUG-1,Blue mug\nMUG-2,"Red, large mug"\n'));
  await form.getByRole('button', { name: 'Upload' }).click();
  await page.getByRole('heading', { name: 'SKUs import (dry run)' }).waitFor();
  await finished(page);
  jobs.dry = jobId(page);
  assert.match(await panelOf(page, 'SKUs import (dry run)').innerText(), /Checked: no errors[\s\S]*Contents\s+2 SKUs/);
  assert.match(await panelOf(page, 'Problems').innerText(), /Every row is fine\./);
  assert.equal((await op.api.get(`${base}/skus/MUG-1`)).status, 404);

  await page.getByRole('button', { name: 'Import mugs.csv for real' }).click();
  await notice(page, 'The file is being imported');
  await page.getByRole('heading', { name: 'SKUs import', exact: true }).waitFor();
  await finished(page);
  jobs.real = jobId(page);
  assert.notEqual(jobs.real, jobs.dry);
  const job = await panelOf(page, 'SKUs import').innerText();
  assert.match(job, /Done\s+Applied/);
  assert.match(job, /2 of 2 rows applied/);
  assert.equal((await op.api.get(`${base}/skus/MUG-2`)).json.title, 'Red, large mug');
  await page.getByRole('link', { name: 'See the SKUs' }).click();
  await rendered(page);
  assert.match(await mainText(page), /MUG-1[\s\S]*MUG-2/);
  await assertSound(opUi, 'real import');
  assert.deepEqual(takeApiErrors(opUi), []);
});

test('counts pasted as text apply at once; the history lists every job, newest first', async () => {
  const { page } = opUi;
  await go(page, stack.url, `/brands/${A.id}/imports`);
  const form = page.getByRole('form', { name: 'Import a CSV file' });
  await form.getByLabel('What the file holds').selectOption({ label: 'Counts' });
  assert.match(await form.innerText(), /Columns: code, on_hand \(required\)/);
  await form.getByLabel('Or paste the CSV (optional)').fill('code,on_hand\nMUG-1,7\nMUG-2,3\n');
  await form.getByLabel('Dry run: check every row, write nothing').uncheck();
  await form.getByRole('button', { name: 'Upload' }).click();
  await page.getByRole('heading', { name: 'Counts import', exact: true }).waitFor();
  await finished(page);
  jobs.counts = jobId(page);
  assert.match(await panelOf(page, 'Counts import').innerText(), /Contents\s+2 SKUs counted, 10 units in all/);
  assert.equal((await op.api.get(`${base}/skus/MUG-1`)).json.on_hand, 7);

  await go(page, stack.url, `/brands/${A.id}/imports`);
  const history = await tableRows(page, 'Import history');
  assert.deepEqual(history.map((r) => [r[1].split('\n')[0], r[2], r[3], r[4]]), [
    ['Counts', 'Done', '2', '0'],
    ['SKUs', 'Done', '2', '0'],
    ['SKUs (dry run)', 'Checked: no errors', '2', '0'],
    ['SKUs (dry run)', 'Checked: errors', '5', '3'],
  ]);
  await screenshot(page, 'imports');
  await page.getByRole('link', { name: 'SKUs (dry run)' }).last().click();
  await rendered(page);
  assert.match(page.url(), new RegExp(`/imports/${jobs.bad}$`));
  await assertSound(opUi, 'history');
  assert.deepEqual(takeApiErrors(opUi), []);
});

test('exports download as files; a refused export says why', async () => {
  const { page } = opUi;
  await go(page, stack.url, `/brands/${A.id}/imports`);
  const exportsPanel = panelOf(page, 'Exports');
  const save = async (click) => {
    const [download] = await Promise.all([page.waitForEvent('download'), click()]);
    return { name: download.suggestedFilename(), text: readFileSync(await download.path(), 'utf8') };
  };
  const skus = await save(() => exportsPanel.getByRole('link', { name: 'Download SKUs' }).click());
  assert.equal(skus.name, 'skus.csv');
  assert.match(skus.text, /^code,title,barcode,kind,on_hand,committed,held,available,archived\r\n/);
  assert.match(skus.text, /\r\nMUG-1,Blue mug,,simple,7,0,0,7,false\r\n/);
  assert.match(skus.text, /\r\nMUG-2,"Red, large mug",,simple,3,0,0,3,false\r\n/);
  await exportsPanel.getByText('skus.csv downloaded').waitFor();
  const counts = await save(() => exportsPanel.getByRole('link', { name: 'Download counts' }).click());
  assert.equal(counts.text, 'code,on_hand\r\nMUG-1,7\r\nMUG-2,3\r\nTAKEN,0\r\n');
  // Movements of a period: everything so far, then a period with nothing in it.
  const all = await save(() => exportsPanel.getByRole('button', { name: 'Download movements.csv' }).click());
  assert.equal(all.name, 'movements.csv');
  assert.equal(all.text.trim().split('\r\n').length, 3, 'the header and the two counts');
  await exportsPanel.getByLabel('From (optional)').fill('2001-01-01T00:00');
  await exportsPanel.getByLabel('Until (optional)').fill('2001-01-02T00:00');
  const none = await save(() => exportsPanel.getByRole('button', { name: 'Download movements.csv' }).click());
  assert.equal(none.text.trim().split('\r\n').length, 1, 'only the header');

  // The server refusing (a brand too large to export at once): the reason, no file.
  await page.route('**/exports/bundles.csv', (route) => route.fulfill({ status: 422, headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ error: { code: 'too_large', message: 'the export is larger than 1048576 bytes; narrow it', field: null } }) }));
  await exportsPanel.getByRole('link', { name: 'Download bundles' }).click();
  await exportsPanel.getByRole('alert').filter({ hasText: 'The bundles export was refused: The export is larger than 1048576 bytes; narrow it.' }).waitFor();
  await page.unroute('**/exports/bundles.csv');
  assert.deepEqual(takeApiErrors(opUi), [`422 ${base}/exports/bundles.csv`]);
  await assertSound(opUi, 'exports');
});

test('a viewer reads the history and downloads exports, on a narrow screen, but cannot upload', async () => {
  const { page } = viewerUi;
  await go(page, stack.url, `/brands/${A.id}/imports`);
  assert.equal(await page.getByRole('form', { name: 'Import a CSV file' }).count(), 0);
  assert.equal((await tableRows(page, 'Import history')).length, 4);
  const [download] = await Promise.all([page.waitForEvent('download'), panelOf(page, 'Exports').getByRole('link', { name: 'Download counts' }).click()]);
  assert.equal(download.suggestedFilename(), 'counts.csv');
  await go(page, stack.url, `/brands/${A.id}/imports/${jobs.dry}`);
  await idle(page);
  assert.match(await mainText(page), /Checked: no errors/);
  assert.equal(await page.getByRole('button', { name: /for real/ }).count(), 0);
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= document.documentElement.clientWidth + 1), 'fits 390 px');
  await go(page, stack.url, `/brands/${A.id}/imports/00000000-0000-4000-8000-000000000000`);
  await page.locator('.panel-error', { hasText: 'No such import.' }).waitFor();
  const refused = await viewer.api.post(`${base}/imports?type=skus`, 'code\nX-1\n', { 'content-type': 'text/csv' });
  assert.equal(refused.status, 403, 'the server agrees');
  await assertSound(viewerUi, 'viewer imports');
  assert.deepEqual(takeApiErrors(viewerUi), [`404 ${base}/imports/00000000-0000-4000-8000-000000000000`]);
});

test('bundles: a missing component is named by line and column; the fixed file makes the bundle', async () => {
  const { page } = opUi;
  await go(page, stack.url, `/brands/${A.id}/imports?type=bundles`);
  const form = page.getByRole('form', { name: 'Import a CSV file' });
  assert.equal(await form.getByLabel('What the file holds').inputValue(), 'bundles');
  assert.match(await form.innerText(), /Columns: bundle_code, component_code, qty \(required\), bundle_title/);
  const good = 'bundle_code,component_code,qty,bundle_title\nSET-1,MUG-1,1,Mug set\nSET-1,MUG-2,2,\n';
  await form.getByLabel('Or paste the CSV (optional)').fill(`${good}SET-2,NOPE,1,Bad set\n`);
  await form.getByRole('button', { name: 'Upload' }).click();
  await page.getByRole('heading', { name: 'Bundles import (dry run)' }).waitFor();
  await finished(page);
  assert.match(await panelOf(page, 'Bundles import (dry run)').innerText(), /Checked: errors[\s\S]*3 of 3 rows checked/);
  assert.deepEqual(await tableRows(page, 'Problems'), [['4', 'component_code', 'No SKU NOPE in this brand.']]);
  // A pasted file is kept for this tab too: nothing to import for real from an erroneous dry run.
  assert.equal(await page.getByRole('button', { name: /for real/ }).count(), 0);

  await page.getByRole('link', { name: 'Fix the file and upload it again' }).click();
  await rendered(page);
  assert.equal(await form.getByLabel('What the file holds').inputValue(), 'bundles');
  await form.getByLabel('Or paste the CSV (optional)').fill(good);
  await form.getByLabel('Dry run: check every row, write nothing').uncheck();
  await form.getByRole('button', { name: 'Upload' }).click();
  await page.getByRole('heading', { name: 'Bundles import', exact: true }).waitFor();
  await finished(page);
  assert.match(await panelOf(page, 'Bundles import').innerText(), /Done\s+Applied[\s\S]*2 of 2 rows applied[\s\S]*Contents\s+1 bundle with 2 components/);
  const set = (await op.api.get(`${base}/skus/SET-1`)).json;
  assert.equal(set.kind, 'bundle');
  assert.equal(set.title, 'Mug set');
  await assertSound(opUi, 'bundles import');
  assert.deepEqual(takeApiErrors(opUi), []);
});

test('listings: a file naming an unknown connection is refused by line and column; the fixed file maps the SKUs and exports back', async () => {
  const { page } = opUi;
  const wm = await P.api.post(`${base}/connections`, { kind: 'walmart', name: 'Walmart US', settings: {}, credentials: { client_id: 'a', client_secret: 'b' } });
  assert.equal(wm.status, 201, wm.text);
  await go(page, stack.url, `/brands/${A.id}/imports`);
  const form = page.getByRole('form', { name: 'Import a CSV file' });
  await form.getByLabel('What the file holds').selectOption({ label: 'Listings' });
  assert.match(await form.innerText(), /Columns: connection \(required: its id or its name\), sku \(required\), external_sku, item_ref, location_ref/);
  const good = 'connection,sku,external_sku\nWalmart US,MUG-1,WM-MUG-1\nWalmart US,MUG-2,\n';
  await form.getByLabel('Or paste the CSV (optional)').fill(`${good}Nowhere,MUG-2,\n`);
  await form.getByRole('button', { name: 'Upload' }).click();
  await page.getByRole('heading', { name: 'Listings import (dry run)' }).waitFor();
  await finished(page);
  assert.match(await panelOf(page, 'Listings import (dry run)').innerText(), /Checked: errors[\s\S]*3 of 3 rows checked/);
  assert.deepEqual(await tableRows(page, 'Problems'), [['4', 'connection', 'No connection Nowhere in this brand (give its id or its name).']]);
  assert.deepEqual((await op.api.get(`${base}/skus/MUG-1`)).json.listings, []);

  await page.getByRole('link', { name: 'Fix the file and upload it again' }).click();
  await rendered(page);
  assert.equal(await form.getByLabel('What the file holds').inputValue(), 'listings');
  await form.getByLabel('Or paste the CSV (optional)').fill(good);
  await form.getByLabel('Dry run: check every row, write nothing').uncheck();
  await form.getByRole('button', { name: 'Upload' }).click();
  await page.getByRole('heading', { name: 'Listings import', exact: true }).waitFor();
  await finished(page);
  assert.match(await panelOf(page, 'Listings import').innerText(),
    /Done\s+Applied[\s\S]*2 of 2 rows applied[\s\S]*Contents\s+2 listings, 2 created, 0 updated, 0 unchanged/);
  const mug = (await op.api.get(`${base}/skus/MUG-1`)).json.listings;
  assert.deepEqual(mug.map((l) => [l.connection, l.external_sku, l.published_qty]), [['Walmart US', 'WM-MUG-1', 7]]);
  await page.getByRole('link', { name: 'See the listings' }).click();
  await rendered(page);
  assert.match(await mainText(page), /MUG-1[\s\S]*MUG-2/);

  await go(page, stack.url, `/brands/${A.id}/imports`);
  const [download] = await Promise.all([page.waitForEvent('download'),
    panelOf(page, 'Exports').getByRole('link', { name: 'Download listings' }).click()]);
  assert.equal(download.suggestedFilename(), 'listings.csv');
  assert.equal(readFileSync(await download.path(), 'utf8'),
    'connection,sku,external_sku,item_ref,location_ref\r\nWalmart US,MUG-1,WM-MUG-1,,\r\nWalmart US,MUG-2,MUG-2,,\r\n');
  await assertSound(opUi, 'listings import');
  assert.deepEqual(takeApiErrors(opUi), []);
});

test('a large file: the job screen follows the run in place, rows done of rows total, until it is applied', async () => {
  const { page } = opUi;
  const N = 50000;
  const rows = Array.from({ length: N }, (_, i) => `BIG-${String(i + 1).padStart(5, '0')},Item ${i + 1}`);
  await go(page, stack.url, `/brands/${A.id}/imports`);
  const form = page.getByRole('form', { name: 'Import a CSV file' });
  await form.getByLabel('CSV file').setInputFiles(csvFile('big.csv', `code,title\n${rows.join('\n')}\n`));
  await form.getByLabel('Dry run: check every row, write nothing').uncheck();
  // Every progress text the screen shows, from the job's first answer on.
  await page.evaluate(() => {
    window.progressSeen = [];
    const note = () => {
      const t = document.querySelector('#job .progress-label')?.textContent;
      if (t && t !== window.progressSeen[window.progressSeen.length - 1]) window.progressSeen.push(t);
    };
    new MutationObserver(note).observe(document.body, { childList: true, subtree: true, characterData: true });
  });
  await form.getByRole('button', { name: 'Upload' }).click();
  await page.getByRole('heading', { name: 'SKUs import', exact: true }).waitFor();
  await finished(page);
  const seen = await page.evaluate(() => window.progressSeen);
  const total = N.toLocaleString('en-US');
  assert.equal(seen[seen.length - 1], `${total} of ${total} rows applied`, JSON.stringify(seen));
  assert.ok(seen.length >= 2, `the screen changed while the job ran: ${JSON.stringify(seen)}`);
  for (const t of seen) assert.match(t, new RegExp(`^(Reading the file…|[\\d,]+ of ${total} rows (checked|applied))$`), t);
  // Checked, then applied; the count never goes back within a phase.
  const steps = seen.filter((t) => t !== 'Reading the file…').map((t) => [t.endsWith('applied') ? 1 : 0, Number(t.split(' of ')[0].replace(/,/g, ''))]);
  for (let i = 1; i < steps.length; i++) {
    assert.ok(steps[i][0] > steps[i - 1][0] || (steps[i][0] === steps[i - 1][0] && steps[i][1] >= steps[i - 1][1]), JSON.stringify(seen));
  }
  assert.equal(await page.locator('#job progress').getAttribute('max'), String(N));
  assert.equal(await page.locator('#job progress').evaluate((p) => p.value), N);
  assert.equal((await op.api.get(`${base}/skus/BIG-50000`)).json.title, 'Item 50000');
  await assertSound(opUi, 'large import');
  assert.deepEqual(takeApiErrors(opUi), []);
});
