// inventory.test.mjs — SKUs, bundles, stock movements, holds and oversells
// through the console, as an operator would do them: create SKUs and a
// bundle, receive and adjust stock and see balances and history follow, a
// double click and a lost answer that post nothing twice, a hold created,
// confirmed and released, an oversell resolved, the ledger check; and a
// viewer who reads it all, changes nothing, and gets the server's 403 on a
// typed write address.  The tests run in order and share the brand.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, waitFor } from '../integration/lib/stack.mjs';
import { portfolio, brand, member } from '../integration/lib/world.mjs';
import { launch } from './browser.mjs';
import { consoleAs, go, idle, mainText, assertSound, screenshot, fillForm, tableRows, row, panelOf, takeApiErrors, notice, fieldError } from './lib/console.mjs';

let stack, browser, P, A, op, viewer, opUi, viewerUi, base;

before(async () => {
  stack = await startStack();
  browser = await launch();
  P = await portfolio(stack, 'Inventory Agency');
  A = await brand(P, 'Alpha Goods');
  base = `/api/v1/brands/${A.id}`;
  op = await member(stack, P, A.id, 'operator');
  viewer = await member(stack, P, A.id, 'viewer');
  opUi = await consoleAs(browser, stack.url, op);
  viewerUi = await consoleAs(browser, stack.url, viewer);
});
after(async () => {
  await browser?.close();
  await stack?.stop();
});

// The tabs' labels, without the counts some carry (Exceptions, Oversells, Alerts & drift).
const tabsOf = (page) => page.locator('nav.tabs .tab').evaluateAll((as) => as.map((a) => a.firstChild.textContent.trim()));
/** The figures of a SKU's balance: {'On hand': '12', …}. */
const figures = async (page) => Object.fromEntries(await page.locator('.figures .figure').evaluateAll((els) => els.map((e) => [e.querySelector('dt').textContent.trim(), e.querySelector('dd').textContent.trim()])));
const skuApi = async (code) => (await op.api.get(`${base}/skus/${encodeURIComponent(code)}`)).json;

test('an operator creates SKUs and a bundle; the server\'s errors sit under their field', async () => {
  const { page } = opUi;
  await go(page, stack.url, `/brands/${A.id}`);
  assert.deepEqual(await tabsOf(page), ['Overview', 'Exceptions', 'SKUs', 'Stock', 'Holds', 'Oversells', 'Imports', 'Channels', 'Listings', 'Sync', 'SOP', 'Orders', 'Alerts & drift', 'Audit log']);
  await page.locator('nav.tabs').getByRole('link', { name: 'SKUs' }).click();
  await page.locator('.tab[aria-current="page"]', { hasText: 'SKUs' }).waitFor();
  await idle(page);
  assert.match(await mainText(page), /No SKUs yet\./);

  for (const [code, title] of [['TEE-BLK', 'Black tee'], ['MUG', 'Stoneware mug'], ['BULK', 'Bulk item']]) {
    await go(page, stack.url, `/brands/${A.id}/skus`);
    await page.getByRole('link', { name: 'New SKU' }).click();
    await page.getByRole('button', { name: 'Create SKU' }).waitFor();
    await fillForm(page, { Code: code, 'Title (optional)': title });
    await page.getByRole('button', { name: 'Create SKU' }).click();
    await notice(page, `SKU ${code} created.`);
    await page.locator('h2', { hasText: `SKU ${code}` }).waitFor();
    await idle(page);
  }
  assert.deepEqual(await figures(page), { 'On hand': '0', Committed: '0', Held: '0', Available: '0' });
  assert.match(page.url(), new RegExp(`#/brands/${A.id}/sku/BULK$`));

  // A code that exists: 409 with field "code", under Code.
  await go(page, stack.url, `/brands/${A.id}/skus/new`);
  await fillForm(page, { Code: 'MUG' });
  await page.getByRole('button', { name: 'Create SKU' }).click();
  await fieldError(page, 'A SKU with this code already exists in the brand.').waitFor();
  assert.equal(await page.getByLabel('Code', { exact: true }).getAttribute('aria-invalid'), 'true');

  // A bundle whose second component does not exist: 422 under that component's SKU.
  await go(page, stack.url, `/brands/${A.id}/skus`);
  await page.getByRole('link', { name: 'New bundle' }).click();
  await page.getByRole('button', { name: 'Create bundle' }).waitFor();
  await fillForm(page, { Code: 'GIFT-SET', 'Title (optional)': 'Gift set', 'SKU of component 1': 'TEE-BLK', 'Units per bundle of component 1': '2' });
  await page.getByRole('button', { name: 'Add component' }).click();
  await fillForm(page, { 'SKU of component 2': 'NOPE', 'Units per bundle of component 2': '1' });
  await page.getByRole('button', { name: 'Create bundle' }).click();
  await fieldError(page, 'No SKU NOPE in this brand.').waitFor();
  assert.equal(await page.getByLabel('SKU of component 2').getAttribute('aria-invalid'), 'true');
  assert.equal(await page.getByLabel('SKU of component 1').getAttribute('aria-invalid'), null);
  await page.getByLabel('SKU of component 2').fill('MUG');
  await page.getByRole('button', { name: 'Create bundle' }).click();
  await notice(page, 'Bundle GIFT-SET created.');
  await page.locator('h2', { hasText: 'Bundle GIFT-SET' }).waitFor();
  await idle(page);
  assert.deepEqual(await tableRows(page, 'Components'), [['MUG', '1', '0', '0'], ['TEE-BLK', '2', '0', '0']]);
  await screenshot(page, 'bundle');

  // Edit the components: two mugs to a set.
  assert.equal(await page.getByLabel('SKU of component 1').inputValue(), 'MUG');
  await page.getByLabel('Units per bundle of component 1').fill('2');
  await page.getByRole('button', { name: 'Save components' }).click();
  await notice(page, 'Components of GIFT-SET saved.');
  await idle(page);
  assert.deepEqual(await tableRows(page, 'Components'), [['MUG', '2', '0', '0'], ['TEE-BLK', '2', '0', '0']]);

  // The list, and a search by title.
  await go(page, stack.url, `/brands/${A.id}/skus`);
  assert.deepEqual((await tableRows(page, 'SKUs')).map((r) => r.slice(0, 3)),
    [['BULK', 'Bulk item', 'SKU'], ['GIFT-SET', 'Gift set', 'Bundle of 2'], ['MUG', 'Stoneware mug', 'SKU'], ['TEE-BLK', 'Black tee', 'SKU']]);
  await page.getByLabel('Code, title or barcode').fill('mug');
  await page.getByRole('button', { name: 'Search' }).click();
  await idle(page);
  assert.deepEqual((await tableRows(page, 'SKUs')).map((r) => r[0]), ['MUG']);
  assert.match(page.url(), /\?q=mug$/);

  // Edit a title.
  await go(page, stack.url, `/brands/${A.id}/sku/TEE-BLK`);
  await page.getByLabel('Title (optional)', { exact: true }).fill('Black tee, organic');
  await page.getByRole('button', { name: 'Save changes' }).click();
  await notice(page, 'TEE-BLK saved.');
  await idle(page);
  assert.match(await panelOf(page, 'SKU TEE-BLK').innerText(), /Title\s+Black tee, organic/);
  await assertSound(opUi, 'SKU screens');
  assert.deepEqual(takeApiErrors(opUi), [`409 ${base}/skus`, `422 ${base}/bundles`]);
});

test('receiving, adjusting and counting move the balances and the history; a missing reason shows under Reason', async () => {
  const { page } = opUi;
  await go(page, stack.url, `/brands/${A.id}/sku/TEE-BLK`);
  await page.getByRole('link', { name: 'Record movement' }).click();
  await page.getByRole('button', { name: 'Record receipt' }).waitFor();
  assert.equal(await page.getByLabel('SKU of line 1').inputValue(), 'TEE-BLK', 'the SKU comes along');
  await fillForm(page, { 'Units received of line 1': '12', 'Reference (optional)': 'PO-1001' });
  await page.getByRole('button', { name: 'Record receipt' }).click();
  await notice(page, 'Receipt recorded.');
  assert.deepEqual(await tableRows(page, 'Receipt recorded'), [['TEE-BLK', '12', '0', '0', '12']]);

  // An adjustment without its reason: the server's 422 lands under Reason.
  await page.getByLabel('Kind', { exact: true }).selectOption({ label: 'Adjustment' });
  await page.getByRole('button', { name: 'Record adjustment' }).waitFor();
  await fillForm(page, { 'SKU of line 1': 'TEE-BLK', 'Change of line 1': '-2' });
  await page.getByRole('button', { name: 'Record adjustment' }).click();
  await fieldError(page, 'An adjustment needs a reason (damaged, lost, found, correction…).').waitFor();
  assert.equal(await page.getByLabel('Reason', { exact: true }).getAttribute('aria-invalid'), 'true');
  // A change of zero: the server names the line's quantity.
  await fillForm(page, { 'Change of line 1': '0', Reason: 'damaged in transit' });
  await page.getByRole('button', { name: 'Record adjustment' }).click();
  await fieldError(page, 'Change of an adjustment is a non-zero change (negative removes units).').waitFor();
  assert.equal(await page.getByLabel('Change of line 1').getAttribute('aria-invalid'), 'true');
  await fillForm(page, { 'Change of line 1': '-2' });
  await page.getByRole('button', { name: 'Record adjustment' }).click();
  await notice(page, 'Adjustment recorded.');
  assert.deepEqual(await tableRows(page, 'Adjustment recorded'), [['TEE-BLK', '10', '0', '0', '10']]);

  // A count of two SKUs at once.
  await page.getByLabel('Kind', { exact: true }).selectOption({ label: 'Count' });
  await fillForm(page, { 'SKU of line 1': 'MUG', 'Units counted of line 1': '7' });
  await page.getByRole('button', { name: 'Add line' }).click();
  await fillForm(page, { 'SKU of line 2': 'BULK', 'Units counted of line 2': '0' });
  await page.getByRole('button', { name: 'Record count' }).click();
  await notice(page, 'Count recorded.');
  assert.deepEqual((await tableRows(page, 'Count recorded')).map((r) => r.slice(0, 2)).sort(), [['BULK', '0'], ['MUG', '7']]);
  await screenshot(page, 'movement-recorded');
  await assertSound(opUi, 'record a movement');

  // The SKU's screen: balance and history, newest first.
  await go(page, stack.url, `/brands/${A.id}/sku/TEE-BLK`);
  assert.deepEqual(await figures(page), { 'On hand': '10', Committed: '0', Held: '0', Available: '10' });
  const hist = await tableRows(page, 'History');
  assert.equal(hist.length, 2);
  assert.deepEqual(hist.map((r) => [r[1], r[2], r[3]]), [['Adjustment', '-2', '−2 → 10'], ['Receipt', '12', '+12 → 12']]);
  assert.match(hist[0][5], /Reason: damaged in transit/);
  assert.match(hist[1][5], /Reference: PO-1001/);
  assert.match(hist[0][6], /operator/);
  // Filter the history by kind.
  await page.getByLabel('Kind', { exact: true }).selectOption({ label: 'Receipt' });
  await page.getByRole('button', { name: 'Filter' }).click();
  await idle(page);
  assert.deepEqual((await tableRows(page, 'History')).map((r) => r[1]), ['Receipt']);

  // The bundle follows its components: min(10 / 2, 7 / 2) = 3.
  await go(page, stack.url, `/brands/${A.id}/sku/GIFT-SET`);
  assert.deepEqual(await figures(page), { Available: '3' });
  assert.deepEqual(await tableRows(page, 'Components'), [['MUG', '2', '7', '3'], ['TEE-BLK', '2', '10', '5']]);

  // A long history pages with "Load more" (25 a page).
  for (let i = 0; i < 30; i++) {
    const r = await op.api.post(`${base}/movements`, { kind: 'receipt', sku: 'BULK', qty: 1, reference: `R-${i}` });
    assert.equal(r.status, 201, r.text);
  }
  await go(page, stack.url, `/brands/${A.id}/sku/BULK`);
  assert.equal((await tableRows(page, 'History')).length, 25);
  await panelOf(page, 'History').getByRole('button', { name: 'Load more' }).click();
  await idle(page);
  const all = await tableRows(page, 'History');
  assert.equal(all.length, 31, '30 receipts and the count');
  assert.equal(new Set(all.map((r) => r[5])).size, 31, 'no row twice');
  assert.equal(await panelOf(page, 'History').getByRole('button', { name: 'Load more' }).isVisible(), false);

  // The brand's movements, filtered by SKU, and the ledger check.
  await go(page, stack.url, `/brands/${A.id}/stock`);
  await page.locator('.verify-result', { hasText: 'Consistent' }).waitFor();
  assert.match(await panelOf(page, 'Ledger check').innerText(), /Every balance matches its history: 4 SKUs checked, 34 movements replayed\./);
  await page.getByLabel('SKU (optional)', { exact: true }).fill('TEE-BLK');
  await page.getByRole('button', { name: 'Filter' }).click();
  await idle(page);
  assert.deepEqual((await tableRows(page, 'Movements')).map((r) => [r[1], r[2]]),
    [['Adjustment', 'TEE-BLK\nBlack tee, organic'], ['Receipt', 'TEE-BLK\nBlack tee, organic']], 'every row names its SKU, code and title');
  assert.match(page.url(), /\/stock\?sku=TEE-BLK$/);
  await screenshot(page, 'stock');
  await assertSound(opUi, 'stock');
  assert.deepEqual(takeApiErrors(opUi), [`422 ${base}/movements`, `422 ${base}/movements`], 'the two refused adjustments');
});

test('a double click records once; a retry after a lost answer reuses its Idempotency-Key and records nothing twice', async () => {
  const { page } = opUi;
  const posts = [];
  const onRequest = (req) => {
    if (req.method() === 'POST' && new URL(req.url()).pathname === `${base}/movements`) posts.push(req.headers()['idempotency-key']);
  };
  page.on('request', onRequest);
  try {
    await go(page, stack.url, `/brands/${A.id}/stock/new?sku=MUG`);
    await fillForm(page, { 'Units received of line 1': '3' });
    await page.getByRole('button', { name: 'Record receipt' }).dblclick();
    await notice(page, 'Receipt recorded.');
    await idle(page);
    assert.equal(posts.length, 1, 'one POST for a double click');
    assert.match(posts[0], /^mv-[0-9a-f]{32}$/);
    assert.equal((await skuApi('MUG')).on_hand, 10);

    // The server records the next one, but its answer never reaches the browser.
    let dropped = 0;
    await page.route(`**${base}/movements`, async (route) => {
      if (dropped++ === 0) {
        const res = await route.fetch();
        assert.equal(res.status(), 201, 'the server recorded it');
        await route.abort('connectionreset');
      } else {
        await route.continue();
      }
    });
    await fillForm(page, { 'SKU of line 1': 'MUG', 'Units received of line 1': '4', 'Reference (optional)': 'PO-2002' });
    await page.getByRole('button', { name: 'Record receipt' }).click();
    await page.locator('.form-error', { hasText: 'Could not reach the server; check the connection and try again.' }).waitFor();
    assert.equal((await skuApi('MUG')).on_hand, 14, 'recorded once, though the console could not know');
    // The user tries again: same submission, same key; the server answers with what it recorded.
    await page.getByRole('button', { name: 'Record receipt' }).click();
    await notice(page, 'Receipt was already recorded; nothing was recorded twice.');
    assert.match(await panelOf(page, 'Receipt recorded').innerText(), /had already been recorded/);
    await page.unroute(`**${base}/movements`);
    assert.equal(posts.length, 3);
    assert.equal(posts[2], posts[1], 'the retry carries the same Idempotency-Key');
    assert.notEqual(posts[1], posts[0], 'a new submission gets a new key');
    assert.equal((await skuApi('MUG')).on_hand, 14, 'not 18');
    const hist = (await op.api.get(`${base}/skus/MUG/history?kind=receipt`)).json.items;
    assert.equal(hist.filter((m) => m.reference === 'PO-2002').length, 1);
  } finally {
    page.off('request', onRequest);
  }
  // The dropped answer is the one expected console error (the browser logs the failed fetch).
  const dropped = opUi.problems.filter((p) => /ERR_CONNECTION_RESET|ERR_FAILED/.test(p));
  assert.equal(dropped.length, opUi.problems.length, opUi.problems.join('\n'));
  opUi.problems.length = 0;
  await assertSound(opUi, 'after a retried receipt');
  assert.deepEqual(takeApiErrors(opUi), []);
});

test('a hold shows its expiry, holds the units, and is confirmed as a sale; another is released', async () => {
  const { page } = opUi;
  await go(page, stack.url, `/brands/${A.id}/holds`);
  assert.match(await mainText(page), /No active holds\./);
  await page.getByRole('link', { name: 'New hold' }).click();
  await page.getByRole('button', { name: 'Hold units' }).waitFor();
  // More than there is: the server's 409 names the lines.
  await fillForm(page, { 'SKU of line 1': 'TEE-BLK', 'Units of line 1': '500', 'Hold for (seconds)': '600', 'Reference (optional)': 'cart-42' });
  await page.getByRole('button', { name: 'Hold units' }).click();
  await page.locator('.lines .field-error', { hasText: 'TEE-BLK has 10 available for holds.' }).waitFor();
  await fillForm(page, { 'Units of line 1': '2' });
  await page.getByRole('button', { name: 'Hold units' }).click();
  await notice(page, 'Units held.');
  const held = row(page, 'Holds', 'cart-42');
  await held.waitFor();
  await idle(page);
  assert.match(await held.innerText(), /TEE-BLK\s+× 2\s+cart-42\s+Active/);
  assert.match(await held.innerText(), /expires in (10|9) minutes/);
  await screenshot(page, 'holds');

  // The SKU shows the units held (the hold reaches PostgreSQL a moment later).
  await waitFor(async () => (await skuApi('TEE-BLK')).held === 2, { what: 'the hold mirrored' });
  await go(page, stack.url, `/brands/${A.id}/sku/TEE-BLK`);
  assert.deepEqual(await figures(page), { 'On hand': '10', Committed: '0', Held: '2', Available: '8' });

  await go(page, stack.url, `/brands/${A.id}/holds`);
  await page.getByRole('button', { name: 'Confirm hold cart-42 as a sale' }).click();
  await notice(page, 'Hold confirmed: sold 2 × TEE-BLK.');
  await idle(page);
  assert.equal(await row(page, 'Holds', 'cart-42').count(), 0, 'no longer active');
  await page.getByLabel('Show holds').selectOption('confirmed');
  await idle(page);
  assert.match(await row(page, 'Holds', 'cart-42').innerText(), /Confirmed/);
  const tee = await skuApi('TEE-BLK');
  assert.deepEqual([tee.on_hand, tee.committed, tee.held, tee.available], [10, 2, 0, 8]);

  // A second hold, released.
  await go(page, stack.url, `/brands/${A.id}/holds/new?sku=MUG`);
  await fillForm(page, { 'Units of line 1': '1', 'Reference (optional)': 'cart-43' });
  await page.getByRole('button', { name: 'Hold units' }).click();
  await notice(page, 'Units held.');
  await row(page, 'Holds', 'cart-43').waitFor();
  await idle(page);
  await page.getByRole('button', { name: 'Release hold cart-43' }).click();
  await notice(page, 'Hold released; its units are available again.');
  await idle(page);
  assert.equal(await row(page, 'Holds', 'cart-43').count(), 0);
  await page.getByLabel('Show holds').selectOption('all');
  await idle(page);
  assert.match(await row(page, 'Holds', 'cart-43').innerText(), /Released/);
  await waitFor(async () => (await skuApi('MUG')).held === 0, { what: 'the release' });
  await assertSound(opUi, 'holds');
  assert.deepEqual(takeApiErrors(opUi), [`409 ${base}/holds`], 'only the hold of more than there is');
});

test('a sale past zero opens an oversell incident; an operator resolves it; the ledger still adds up', async () => {
  const { page } = opUi;
  await go(page, stack.url, `/brands/${A.id}/stock/new?kind=sale&sku=MUG`);
  await fillForm(page, { 'Units sold of line 1': '20', 'Reference (optional)': 'order-9001' });
  // Without "it already happened", a sale never goes below zero.
  await page.getByRole('button', { name: 'Record sale' }).click();
  await page.locator('.lines .field-error', { hasText: 'MUG: not enough available once active holds are counted (14 free).' }).waitFor();
  await page.getByLabel('It already happened on a channel: record it even past zero (opens an oversell incident)').check();
  await page.getByRole('button', { name: 'Record sale' }).click();
  await notice(page, 'Sale recorded.');
  assert.match(await panelOf(page, 'Sale recorded').innerText(), /Oversold: MUG short by 6\./);
  await page.getByRole('link', { name: 'Open the oversell incidents' }).click();
  await page.locator('.tab[aria-current="page"]', { hasText: 'Oversells' }).waitFor();
  await idle(page);
  assert.match(await row(page, 'Oversell incidents', 'MUG').innerText(), /MUG\s+6\s+order-9001\s+recorded here\s+Open/);
  await page.getByRole('button', { name: 'Resolve the oversell of MUG' }).click();
  await page.getByRole('button', { name: 'Resolve incident' }).click();
  await fieldError(page, 'Resolution is required.').waitFor();
  await fillForm(page, { Resolution: 'Order cancelled', 'Note (optional)': 'customer refunded' });
  await page.getByRole('button', { name: 'Resolve incident' }).click();
  await notice(page, 'Oversell of MUG resolved: Order cancelled.');
  await idle(page);
  assert.match(await mainText(page), /No open oversells\./);
  await page.getByLabel('Show incidents').selectOption('all');
  await idle(page);
  assert.match(await row(page, 'Oversell incidents', 'MUG').innerText(), /Resolved\s+Order cancelled\s+customer refunded/);
  await screenshot(page, 'oversells');

  await go(page, stack.url, `/brands/${A.id}/stock`);
  await page.locator('.verify-result', { hasText: 'Consistent' }).waitFor();
  await assertSound(opUi, 'oversells and stock');
  assert.deepEqual(takeApiErrors(opUi), [`409 ${base}/movements`], 'only the guarded sale');
});

test('a viewer reads every inventory screen, finds nothing to change, and a typed write address answers 403', async () => {
  const { page } = viewerUi;
  await go(page, stack.url, `/brands/${A.id}/skus`);
  assert.deepEqual(await tabsOf(page), ['Overview', 'Exceptions', 'SKUs', 'Stock', 'Holds', 'Oversells', 'Imports', 'Channels', 'Listings', 'Sync', 'SOP', 'Orders', 'Alerts & drift', 'Audit log']);
  assert.equal((await tableRows(page, 'SKUs')).length, 4);
  assert.equal(await page.getByRole('link', { name: 'New SKU' }).count(), 0);
  assert.equal(await page.getByRole('link', { name: 'New bundle' }).count(), 0);

  await go(page, stack.url, `/brands/${A.id}/sku/TEE-BLK`);
  assert.deepEqual(await figures(page), { 'On hand': '10', Committed: '2', Held: '0', Available: '8' });
  assert.equal((await tableRows(page, 'History')).length, 3, 'the sale of the confirmed hold too');
  for (const name of ['Record movement', 'Hold units', 'Archive', 'Save changes']) {
    assert.equal(await page.getByRole(name === 'Record movement' || name === 'Hold units' ? 'link' : 'button', { name }).count(), 0, name);
  }
  await go(page, stack.url, `/brands/${A.id}/stock`);
  assert.equal(await page.getByRole('link', { name: 'Record a movement' }).count(), 0);
  await page.locator('.verify-result', { hasText: 'Consistent' }).waitFor();
  await go(page, stack.url, `/brands/${A.id}/holds?state=all`);
  assert.equal((await tableRows(page, 'Holds')).length, 2);
  assert.equal(await page.getByRole('button', { name: /Confirm|Release/ }).count(), 0);
  assert.equal(await page.getByRole('link', { name: 'New hold' }).count(), 0);
  await go(page, stack.url, `/brands/${A.id}/oversells?state=all`);
  assert.equal(await page.getByRole('button', { name: /Resolve/ }).count(), 0);
  // The audit log reads the inventory work: what changed, in words.
  await go(page, stack.url, `/brands/${A.id}/audit?action=sku.update`);
  assert.match(await row(page, 'Audit log', 'SKU updated').innerText(), /TEE-BLK[\s\S]*title: Black tee → Black tee, organic/);
  await go(page, stack.url, `/brands/${A.id}/audit?action=movement.`);
  assert.match(await mainText(page), /Adjustment recorded[\s\S]*lines: TEE-BLK × -2/);
  await assertSound(viewerUi, 'viewer inventory screens');

  for (const path of ['skus/new', 'skus/new?kind=bundle', 'stock/new', 'holds/new']) {
    await go(page, stack.url, `/brands/${A.id}/${path}`);
    await page.locator('.panel-error').waitFor();
    assert.match(await mainText(page), /Not allowed\s+Your role \(viewer\) may not do this; it needs inventory permission\./, path);
    assert.equal(await page.locator('main form button[type="submit"]').count(), 0, `${path}: no form`);
  }
  await screenshot(page, 'viewer-403');
  // An unknown SKU is the server's 404.
  await go(page, stack.url, `/brands/${A.id}/sku/NO-SUCH`);
  await page.locator('.panel-error', { hasText: 'No such SKU.' }).waitFor();
  assert.deepEqual(takeApiErrors(viewerUi), [`404 ${base}/skus/NO-SUCH`], 'write screens ask nothing of the server');
  // The server agrees with the console: the viewer's write is refused.
  assert.equal((await viewer.api.post(`${base}/skus`, { code: 'X' })).status, 403);
  assert.deepEqual(viewerUi.problems, []);
});

test('narrow screens: the SKU screen and the movement form fit a phone', async () => {
  const { page } = opUi;
  await page.setViewportSize({ width: 390, height: 844 });
  try {
    for (const path of [`/brands/${A.id}/sku/TEE-BLK`, `/brands/${A.id}/stock/new`, `/brands/${A.id}/holds?state=all`]) {
      await go(page, stack.url, path);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 1, `${path}: ${overflow}px wider than the screen`);
    }
    await screenshot(page, 'narrow-movement');
  } finally {
    await page.setViewportSize({ width: 1280, height: 720 });
  }
  await assertSound(opUi, 'narrow');
  assert.deepEqual(takeApiErrors(opUi), []);
});
