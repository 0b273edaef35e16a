// tables.test.mjs — the console's tables in Chromium: a column sorted by its
// header (mouse and keyboard, aria-sort, the order the server gives), bulk
// selection and a bulk pause of listings with the result in words, SKUs
// adjusted in bulk, orders filtered by days in the brand's time zone, and the
// audit log filtered by person and day and exported as CSV.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startStack } from '../integration/lib/stack.mjs';
import { portfolio, member } from '../integration/lib/world.mjs';
import { launch } from './browser.mjs';
import { consoleAs, go, idle, mainText, assertSound, screenshot, fillForm, panelOf } from './lib/console.mjs';

let stack, browser, P, A, ui, api, base, conn, op;
const shopify = (name, shop = 'acme') => ({
  kind: 'shopify', name, base_url: `http://127.0.0.1:9/shopify/${shop}`,
  settings: { shop: `${shop}.myshopify.com`, location_id: 'gid://shopify/Location/1' },
  credentials: { access_token: 'shpat_e2e_tables_secret' },
});
// code, title, on hand
const SKUS = [['MUG-RED', 'Red mug', 4], ['MUG-BLUE', 'Blue mug', 15], ['TEE-S', 'Tee small', 9], ['TEE-M', 'Tee medium', 1], ['CAP-1', 'Cap', 22]];

before(async () => {
  stack = await startStack();
  browser = await launch();
  P = await portfolio(stack, 'Tables Agency');
  api = P.api;
  const b = await api.post(`/api/v1/portfolios/${P.pid}/brands`, { name: 'Harbor Goods', timezone: 'America/New_York' });
  assert.equal(b.status, 201, b.text);
  A = b.json;
  base = `/api/v1/brands/${A.id}`;
  for (const [code, title, qty] of SKUS) {
    assert.equal((await api.post(`${base}/skus`, { code, title })).status, 201);
    assert.equal((await api.post(`${base}/movements`, { kind: 'receipt', sku: code, qty })).status, 201);
  }
  conn = (await api.post(`${base}/connections`, shopify('Harbor Shop'))).json;
  for (const [code] of SKUS) {
    const r = await api.post(`${base}/listings`, { connection_id: conn.id, sku: code, external_sku: `HS-${code}` });
    assert.equal(r.status, 201, r.text);
  }
  // Orders taken in around the New York midnight of 2 → 3 November (UTC-5 then):
  // 2026-11-03T03:30Z is still 2 November in New York.
  const orders = [['#1001', '2026-11-01T15:00:00Z'], ['#1002', '2026-11-02T18:00:00Z'], ['#1003', '2026-11-03T03:30:00Z'],
    ['#1004', '2026-11-03T06:00:00Z'], ['#1005', '2026-11-06T12:00:00Z']];
  for (const [id, at] of orders) {
    await stack.sql(`INSERT INTO channel_orders (tenant_id, connection_id, external_id, status, first_seen_at, last_seen_at)
                     VALUES ($1, $2, $3, 'open', $4, $4)`, [A.id, conn.id, id, at]);
  }
  // Parked lines on a second shop with no listings: TEE-S is a SKU's code, ZZ-UNKNOWN is nobody's.
  const market = (await api.post(`${base}/connections`, shopify('Harbor Market', 'market'))).json;
  assert.ok(market.id, JSON.stringify(market));
  const o = await stack.sql(`INSERT INTO channel_orders (tenant_id, connection_id, external_id, status, first_seen_at, last_seen_at)
                             VALUES ($1, $2, 'M-1', 'open', '2026-11-04T12:00:00Z', '2026-11-04T12:00:00Z') RETURNING id`, [A.id, market.id]);
  for (const [line, sku, q] of [['1', 'TEE-S', 3], ['2', 'ZZ-UNKNOWN', 1], ['3', 'AA-GHOST', 2]]) {
    await stack.sql(`INSERT INTO channel_order_lines (tenant_id, order_id, external_line_id, connection_id, channel_sku, qty)
                     VALUES ($1, $2, $3, $4, $5, $6)`, [A.id, o.rows[0].id, line, market.id, sku, q]);
  }
  op = await member(stack, P, A.id, 'operator');
  assert.equal((await op.api.post(`${base}/skus`, { code: 'OP-SKU', title: 'Made by the operator' })).status, 201);
  ui = await consoleAs(browser, stack.url, P);
});
after(async () => {
  await browser?.close();
  await stack?.stop();
});

const codes = (page) => panelOf(page, 'SKUs').locator('tbody tr td:nth-child(2)').allInnerTexts();
const header = (page, name) => page.locator('th', { has: page.getByRole('button', { name, exact: true }) });

test('SKUs sort by a column header, with the mouse and the keyboard; the order is in the address', async () => {
  const { page } = ui;
  await go(page, stack.url, `/brands/${A.id}/skus`);
  assert.equal(await header(page, 'Code').getAttribute('aria-sort'), 'ascending', 'the list is by code to start with');
  assert.deepEqual(await codes(page), ['CAP-1', 'MUG-BLUE', 'MUG-RED', 'OP-SKU', 'TEE-M', 'TEE-S']);

  await page.getByRole('button', { name: 'Available', exact: true }).click();
  await idle(page);
  assert.equal(await header(page, 'Available').getAttribute('aria-sort'), 'ascending');
  assert.equal(await header(page, 'Code').getAttribute('aria-sort'), null);
  assert.deepEqual(await codes(page), ['OP-SKU', 'TEE-M', 'MUG-RED', 'TEE-S', 'MUG-BLUE', 'CAP-1']);

  // the keyboard: the header is a button, Enter sorts the other way
  await page.getByRole('button', { name: 'Available', exact: true }).focus();
  await page.keyboard.press('Enter');
  await idle(page);
  assert.equal(await header(page, 'Available').getAttribute('aria-sort'), 'descending');
  assert.deepEqual(await codes(page), ['CAP-1', 'MUG-BLUE', 'TEE-S', 'MUG-RED', 'TEE-M', 'OP-SKU']);
  assert.match(page.url(), /sort=-available/);
  await screenshot(page, 'skus-sorted');

  // the address keeps it: a reload shows the same order
  await page.reload();
  await page.waitForFunction(() => document.documentElement.dataset.rendered === window.location.hash);
  await idle(page);
  assert.equal(await header(page, 'Available').getAttribute('aria-sort'), 'descending');
  assert.deepEqual((await codes(page)).slice(0, 2), ['CAP-1', 'MUG-BLUE']);
  await assertSound(ui, 'sorted SKUs');
});

test('SKUs selected and adjusted in one movement; the result is said in words', async () => {
  const { page } = ui;
  await go(page, stack.url, `/brands/${A.id}/skus`);
  const bar = page.getByRole('group', { name: 'Actions on the selected SKUs' });
  assert.match(await bar.innerText(), /None selected/);
  assert.equal(await bar.getByRole('button', { name: 'Adjust stock' }).isDisabled(), true);
  await page.getByRole('checkbox', { name: 'Select MUG-RED' }).check();
  await page.getByRole('checkbox', { name: 'Select TEE-M' }).check();
  await bar.locator('.bulk-count', { hasText: '2 SKUs selected' }).waitFor();
  // nothing typed: both problems at once, nothing recorded
  await bar.getByRole('button', { name: 'Adjust stock' }).click();
  await bar.locator('.bulk-failed', { hasText: 'Nothing was adjusted.' }).waitFor();
  assert.match(await bar.innerText(), /Change \(units\): a whole number other than 0[\s\S]*Reason: say why/);
  await fillForm(bar, { 'Change (units, − removes)': '3', Reason: 'found in the back room' });
  await bar.getByRole('button', { name: 'Adjust stock' }).click();
  await bar.locator('.bulk-done', { hasText: '2 SKUs adjusted by +3 (found in the back room).' }).waitFor();
  await idle(page);
  const red = await api.get(`${base}/skus/MUG-RED`);
  assert.equal(Number(red.json.on_hand), 7);
  const tee = await api.get(`${base}/skus/TEE-M`);
  assert.equal(Number(tee.json.on_hand), 4);
  assert.equal(await bar.getByRole('button', { name: 'Adjust stock' }).isDisabled(), true, 'the selection starts over after the action');
  await screenshot(page, 'skus-bulk-adjusted');
  await assertSound(ui, 'SKUs after a bulk adjustment');
});

test('listings: select all on the page, un-tick one, pause the rest in one call', async () => {
  const { page } = ui;
  await go(page, stack.url, `/brands/${A.id}/listings`);
  const bar = page.getByRole('group', { name: 'Actions on the selected listings' });
  const all = page.getByRole('checkbox', { name: 'Select every row on this page' });
  await all.check();
  await bar.locator('.bulk-count', { hasText: '5 listings selected' }).waitFor();
  await page.getByRole('checkbox', { name: 'Select the listing of CAP-1 on Harbor Shop' }).uncheck();
  await bar.locator('.bulk-count', { hasText: '4 listings selected' }).waitFor();
  assert.equal(await all.evaluate((el) => el.indeterminate), true, 'select-all shows a partial selection');
  const calls = [];
  page.on('request', (r) => { if (r.method() === 'POST' && r.url().includes('/listings')) calls.push(r.url()); });
  await bar.getByRole('button', { name: 'Pause' }).click();
  await bar.locator('.bulk-done', { hasText: '4 listings paused.' }).waitFor();
  await idle(page);
  assert.equal(calls.length, 1, 'one bulk call');
  assert.match(calls[0], /\/listings\/bulk$/);
  const listed = (await api.get(`${base}/listings?limit=200`)).json.items;
  assert.deepEqual(listed.filter((l) => l.state === 'paused').map((l) => l.sku).sort(), ['MUG-BLUE', 'MUG-RED', 'TEE-M', 'TEE-S']);
  assert.equal(listed.find((l) => l.sku === 'CAP-1').state, 'active');
  // the table shows it: the paused rows say so
  const text = await panelOf(page, 'Listings').innerText();
  assert.equal((text.match(/\bpaused\b/gi) || []).length >= 4, true, text);
  await screenshot(page, 'listings-bulk-paused');

  // pausing two again and resuming: the words say what changed and what did not
  await page.getByRole('checkbox', { name: 'Select the listing of MUG-RED on Harbor Shop' }).check();
  await page.getByRole('checkbox', { name: 'Select the listing of CAP-1 on Harbor Shop' }).check();
  await bar.getByRole('button', { name: 'Pause' }).click();
  await bar.locator('.bulk-done', { hasText: '1 listing paused. 1 listing already paused: nothing to change.' }).waitFor();
  await idle(page);
  // the buffer of two listings, one call each, with the count in words
  await page.getByRole('checkbox', { name: 'Select the listing of TEE-S on Harbor Shop' }).check();
  await page.getByRole('checkbox', { name: 'Select the listing of TEE-M on Harbor Shop' }).check();
  await bar.getByRole('button', { name: 'Set buffer' }).click();
  await bar.locator('.bulk-failed', { hasText: 'Type the buffer in whole units (0 or more) first.' }).waitFor();
  assert.equal(await bar.getByLabel('Buffer (units)').getAttribute('aria-invalid'), 'true');
  await bar.getByLabel('Buffer (units)').fill('2');
  await bar.getByRole('button', { name: 'Set buffer' }).click();
  await bar.locator('.bulk-done', { hasText: 'Buffer set to 2 units on 2 listings.' }).waitFor();
  await idle(page);
  const buffered = (await api.get(`${base}/listings?limit=200`)).json.items.filter((l) => l.rules && l.rules.buffer === 2).map((l) => l.sku).sort();
  assert.deepEqual(buffered, ['TEE-M', 'TEE-S']);
  // sort by SKU, descending, by the keyboard
  await page.getByRole('button', { name: 'SKU', exact: true }).focus();
  await page.keyboard.press('Enter');
  await idle(page);
  await page.getByRole('button', { name: 'SKU', exact: true }).press('Enter');
  await idle(page);
  assert.equal(await header(page, 'SKU').getAttribute('aria-sort'), 'descending');
  const skus = await panelOf(page, 'Listings').locator('tbody tr td:nth-child(2)').allInnerTexts();
  assert.deepEqual(skus, ['TEE-S', 'TEE-M', 'MUG-RED', 'MUG-BLUE', 'CAP-1']);
  await assertSound(ui, 'listings after bulk actions');
});

test('orders filter by days in the brand’s time zone', async () => {
  const { page } = ui;
  await go(page, stack.url, `/brands/${A.id}/orders`);
  const orderIds = () => panelOf(page, 'Channel orders').locator('tbody tr td:first-child code').allInnerTexts();
  assert.deepEqual(await orderIds(page), ['#1005', 'M-1', '#1004', '#1003', '#1002', '#1001']);
  const form = page.getByRole('form', { name: 'Filter orders' });
  await form.getByLabel('From day (America/New_York)').fill('2026-11-02');
  await form.getByLabel('To day (included)').fill('2026-11-02');
  await form.getByRole('button', { name: 'Filter' }).click();
  await idle(page);
  // 2 November in New York: 18:00Z on the 2nd and 03:30Z on the 3rd, not 06:00Z on the 3rd
  assert.deepEqual(await orderIds(page), ['#1003', '#1002']);
  assert.match(page.url(), /from=2026-11-02&to=2026-11-02/);
  await screenshot(page, 'orders-by-day');
  await form.getByLabel('From day (America/New_York)').fill('2026-11-03');
  await form.getByLabel('To day (included)').fill('2026-11-01');
  await form.getByRole('button', { name: 'Filter' }).click();
  await page.locator('.field-error:not([hidden])', { hasText: 'The first day is after the last' }).waitFor();
  assert.equal(await form.getByLabel('From day (America/New_York)').getAttribute('aria-invalid'), 'true');
  await assertSound(ui, 'orders by day');
});

test('parked order lines sort in the browser and map in bulk to the SKU of the same code', async () => {
  const { page } = ui;
  await go(page, stack.url, `/brands/${A.id}/orders`);
  const parked = panelOf(page, 'Unmapped');
  const skus = () => parked.locator('tbody tr td:nth-child(3)').allInnerTexts();
  await parked.getByRole('button', { name: 'Waiting', exact: true }).click();
  assert.equal(await header(page, 'Waiting').getAttribute('aria-sort'), 'ascending');
  assert.deepEqual(await skus(), ['ZZ-UNKNOWN', 'AA-GHOST', 'TEE-S']);
  await parked.getByRole('button', { name: 'Waiting', exact: true }).press('Enter');
  assert.deepEqual(await skus(), ['TEE-S', 'AA-GHOST', 'ZZ-UNKNOWN']);
  await parked.getByRole('button', { name: 'Channel SKU', exact: true }).click();
  assert.deepEqual(await skus(), ['AA-GHOST', 'TEE-S', 'ZZ-UNKNOWN']);

  const bar = page.getByRole('group', { name: 'Actions on the selected parked lines' });
  await page.getByRole('checkbox', { name: 'Select TEE-S on Harbor Market' }).check();
  await page.getByRole('checkbox', { name: 'Select ZZ-UNKNOWN on Harbor Market' }).check();
  await bar.locator('.bulk-count', { hasText: '2 channel SKUs selected' }).waitFor();
  await bar.getByRole('button', { name: 'Map each to the SKU of the same code' }).click();
  await bar.locator('.bulk-failed', { hasText: '1 channel SKU mapped: their parked lines are recorded now. 1 channel SKU not mapped.' }).waitFor();
  assert.match(await bar.innerText(), /ZZ-UNKNOWN on Harbor Market: no SKU has this code; map it by hand to the right SKU/);
  await idle(page);
  assert.deepEqual((await skus()).sort(), ['AA-GHOST', 'ZZ-UNKNOWN']);
  const listed = (await api.get(`${base}/listings?sku=TEE-S&limit=200`)).json.items.map((l) => `${l.connection}/${l.external_sku}`).sort();
  assert.deepEqual(listed, ['Harbor Market/TEE-S', 'Harbor Shop/HS-TEE-S']);
  await screenshot(page, 'orders-parked-mapped');
  await assertSound(ui, 'parked lines after a bulk map');
});

test('the audit log filters by person and day and exports what it shows', async () => {
  const { page } = ui;
  await go(page, stack.url, '/portfolio/audit');
  const form = page.getByRole('form', { name: 'Filter audit entries' });
  await form.getByLabel('Done by').selectOption({ label: `operator (${op.email})` });
  await form.getByLabel('Brand').selectOption({ label: 'Harbor Goods' });
  const today = new Intl.DateTimeFormat('en-CA', { timeZone: 'America/New_York' }).format(new Date());
  await form.getByLabel('From day').fill(today);
  await form.getByLabel('To day (included)').fill(today);
  await form.getByRole('button', { name: 'Filter' }).click();
  await idle(page);
  const rows = await page.locator('main tbody tr').allInnerTexts();
  assert.equal(rows.length, 1, rows.join('\n'));
  assert.match(rows[0], /SKU created/);
  assert.match(await page.locator('main').innerText(), /Days run midnight to midnight in America\/New_York, that brand’s time zone/);
  await screenshot(page, 'audit-filtered');

  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Export these entries (CSV)' }).click(),
  ]);
  assert.equal(download.suggestedFilename(), 'audit.csv');
  const csv = readFileSync(await download.path(), 'utf8');
  const lines = csv.trim().split('\r\n');
  assert.equal(lines[0], 'at,brand,actor,actor_id,action,object_type,object_id,summary,request_id');
  assert.equal(lines.length, 2, csv);
  assert.match(lines[1], new RegExp(`,Harbor Goods,operator <${op.email.replace(/[.+]/g, '\\$&')}>,${op.uid},sku\\.create,sku,OP-SKU,`));
  await page.locator('.result-slot', { hasText: 'audit.csv downloaded: 1 entry, oldest first' }).waitFor();
  assert.match(await mainText(page), /audit\.csv downloaded: 1 entry/);
  await assertSound(ui, 'filtered audit log');
});

