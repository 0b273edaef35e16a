// exceptions.test.mjs — the exception queue through the console, on real
// sync activity: a brand wired to Shopify, Amazon and Walmart simulator
// accounts with a running worker that refreshes exceptions every second
// (ONECOUNT_EXCEPTIONS_CHECK_SECONDS=1), and a second brand of the same
// portfolio.  An oversell made on Shopify opens an item within seconds, in
// words; an operator acknowledges it (taking it), snoozes it for an hour and
// wakes it; an admin assigns it to the operator, who finds it under "Me" and
// records the oversell's resolution in place, after which the item closes
// by itself.
// A Shopify outage opens a "channel failing" item, filtered by channel,
// which closes by itself when the channel is back.  A brand owner of the
// other brand sees only that brand's queue, resolves an item with a note
// (a missing note is refused under its field) and reopens it.  An order
// line for a channel SKU nobody listed opens an item whose fix, "Create a
// SKU from it", makes and maps the SKU; the item closes by itself.  A viewer
// reads the queue and an item on a narrow screen, with no way to change
// them.  The tests run in order.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, waitFor, sleep } from '../integration/lib/stack.mjs';
import { portfolio, member, brand } from '../integration/lib/world.mjs';
import { channelBrand, connectionBody, converge, runNow } from '../integration/lib/sync.mjs';
import { launch } from './browser.mjs';
import { consoleAs, go, idle, mainText, navText, assertSound, screenshot, panelOf, takeApiErrors, notice, fieldError, fillForm } from './lib/console.mjs';

let stack, sim, browser, P, br, other, base, op, viewer, owner2, adminUi, opUi, owner2Ui, viewerUi;
const STOCK = 5;
const item = {};

before(async () => {
  stack = await startStack({ env: { ONECOUNT_EXCEPTIONS_CHECK_SECONDS: '1' } });
  sim = await stack.startSim();
  browser = await launch();
  P = await portfolio(stack);
  br = await channelBrand(stack, P, sim, { skus: ['A', 'B', 'C', 'D', 'E', 'F'], stock: STOCK });
  base = `/api/v1/brands/${br.id}`;
  // One attempt per Shopify call, so the outage below fails each push at once.
  const shop = br.conns.shopify;
  const r = await br.api.patch(`${base}/connections/${shop.id}`, { settings: { ...connectionBody('shopify', shop.account).settings, max_attempts: 1 } });
  assert.equal(r.status, 200, r.text);
  br.name = (await br.api.get(base)).json.name;
  other = await brand(P);
  op = await member(stack, P, br.id, 'operator');
  owner2 = await member(stack, P, other.id, 'brand_owner');
  viewer = await member(stack, P, br.id, 'viewer');
  await stack.startWorker({ ONECOUNT_EXCEPTIONS_CHECK_SECONDS: '1' });
  adminUi = await consoleAs(browser, stack.url, P);
  opUi = await consoleAs(browser, stack.url, op);
  owner2Ui = await consoleAs(browser, stack.url, owner2);
  viewerUi = await consoleAs(browser, stack.url, viewer, { viewport: { width: 390, height: 844 } });
});
after(async () => {
  await browser?.close();
  await stack?.stop();
});

const code = (s) => br.skus[['A', 'B', 'C', 'D', 'E', 'F'].indexOf(s)];
const shopName = () => `shopify-${br.conns.shopify.account.id}`;
const items = async (client, path, query = '') => (await client.get(`${path}${query}`)).json;
const queueRows = (page) => panelOf(page, 'Exceptions').locator('tbody tr');
// The open item (its title changes as what it describes changes, e.g. the failures counted).
const detailOf = (page) => page.locator('section#exception');

/** Opens `hash` again and again until `check()` holds (the worker's refresh is background work). */
async function until(page, hash, check, what, timeout = 45000) {
  await waitFor(async () => {
    await go(page, stack.url, hash);
    return check();
  }, { what, timeout, interval: 1000 });
}

test('an oversell made on Shopify opens an item in the queue within seconds, in words', async () => {
  await converge([br]);
  const a = code('A');
  const o = await br.sim.post(`/_sim/accounts/${br.conns.shopify.account.id}/orders`, { sku: a, quantity: STOCK + 7, force: true });
  assert.equal(o.status, 201, o.text);
  const started = Date.now();
  await waitFor(async () => (await items(br.api, `${base}/exceptions`, '?kind=oversell')).items.length === 1, { what: 'the oversell item', timeout: 30000, interval: 250 });
  const found = (await items(br.api, `${base}/exceptions`, '?kind=oversell')).items[0];
  Object.assign(item, { id: found.id, title: found.title });
  assert.ok(Date.now() - started < 30000);
  assert.equal(found.state, 'open');
  assert.match(found.title, new RegExp(a));

  const { page } = adminUi;
  await until(page, '/portfolio/exceptions', async () => (await queueRows(page).filter({ hasText: found.title }).count()) === 1, 'the oversell in the queue');
  const cells = await queueRows(page).filter({ hasText: found.title }).evaluate((r) => [...r.cells].map((c) => c.innerText.trim()));
  assert.match(cells[0], /^.?\s*(Critical|Warning)$/, cells[0]);
  assert.match(cells[1], new RegExp(`^Oversold\\s+${found.title.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`));
  assert.equal(cells[2], br.name);
  assert.doesNotMatch(cells[3], /ago|NaN/, 'the age reads as a duration');
  assert.equal(cells[4], 'nobody yet');
  assert.equal(cells[5], 'Open');
  // Counts: the kind chip, the state chip and the navigation.
  const kindChip = page.locator('button.chip[data-facet="kind"][data-value="oversell"]');
  assert.match(await kindChip.innerText(), /^Oversold\s+1$/);
  assert.equal(await page.locator('button.chip[data-facet="state"][data-value="active"]').getAttribute('aria-pressed'), 'true');
  await page.locator('#sidebar a[href="#/portfolio/exceptions"] .count:not([hidden])').waitFor({ timeout: 35000 });
  assert.match(await navText(page), /Exceptions\s+\d+/);
  // Filtering by kind keeps the address.
  await kindChip.click();
  await idle(page);
  assert.match(page.url(), /kind=oversell/);
  assert.equal(await queueRows(page).count(), 1);
  await screenshot(page, 'exceptions-queue');
  await assertSound(adminUi, 'exception queue');
  assert.deepEqual(takeApiErrors(adminUi), []);
});

test('an operator opens the item, acknowledges it, snoozes it for an hour and wakes it; the history says so in words', async () => {
  const { page } = opUi;
  await go(page, stack.url, `/brands/${br.id}/exceptions`);
  await page.locator('.tab[aria-current="page"]', { hasText: 'Exceptions' }).waitFor();
  await page.getByRole('button', { name: `Open Oversold: ${item.title}` }).click();
  const detail = panelOf(page, item.title);
  await detail.waitFor();
  let text = await detail.innerText();
  assert.match(text, new RegExp(`Channel\\s+${shopName()}`));
  assert.match(text, new RegExp(`SKU\\s+${code('A')}`));
  assert.match(text, /Opened\s+\w{3} \d{1,2}, \d{4}, \d{2}:\d{2} UTC/, 'in the brand\'s time zone, named');
  assert.match(text, /History[\s\S]*Opened by onecount as critical/);
  assert.match(text, /Figures\s+Short by 7 units/);
  assert.match(page.url(), new RegExp(`item=${item.id}`));

  await detail.getByRole('button', { name: `Acknowledge Oversold: ${item.title}` }).click();
  await notice(page, `Acknowledged: ${item.title}`);
  await detail.locator('.history-list', { hasText: 'Acknowledged by operator' }).waitFor();
  // Acknowledging an item nobody owns takes it.
  await queueRows(page).filter({ hasText: item.title }).filter({ hasText: /operator \(me\)\s*Acknowledged/ }).waitFor({ timeout: 10000 });
  assert.equal(await detail.getByRole('button', { name: `Acknowledge Oversold: ${item.title}` }).count(), 0, 'acknowledged once');

  await detail.getByRole('button', { name: `Snooze Oversold: ${item.title}` }).click();
  const snooze = page.getByRole('form', { name: 'Snooze the exception' });
  assert.equal(await snooze.getByLabel('Until', { exact: true }).isVisible(), false, 'the date only for "until a date"');
  await snooze.getByLabel('Snooze for').selectOption({ label: '1 hour' });
  await snooze.getByRole('button', { name: 'Snooze' }).click();
  await notice(page, 'Snoozed until ');
  await detail.locator('.history-list', { hasText: /Snoozed by operator until/ }).waitFor();
  const snoozed = (await br.api.get(`${base}/exceptions/${item.id}`)).json;
  assert.equal(snoozed.state, 'snoozed');
  const hours = (new Date(snoozed.snoozed_until) - Date.now()) / 3600000;
  assert.ok(hours > 0.9 && hours <= 1.01, `snoozed for an hour: ${snoozed.snoozed_until}`);
  // Out of the active queue; under "Snoozed" with its count.
  await idle(page);
  assert.equal(await queueRows(page).filter({ hasText: item.title }).count(), 0);
  const snoozeChip = page.locator('button.chip[data-facet="state"][data-value="snoozed"]');
  // Every state chip carries its count (counts.by_state), not only the chosen one's.
  assert.match(await snoozeChip.innerText(), /^Snoozed\s+1$/, 'counted while "Active" is chosen');
  const stateChips = await page.locator('button.chip[data-facet="state"]').evaluateAll((bs) => bs.map((b) => [b.dataset.value, b.querySelector('.chip-count')?.textContent]));
  assert.deepEqual(stateChips.map(([v]) => v), ['active', 'open', 'acknowledged', 'snoozed', 'resolved', 'all']);
  for (const [v, n] of stateChips) assert.match(n || '', /^\d+$/, `the ${v} chip's count`);
  await snoozeChip.click();
  await idle(page);
  assert.match(await snoozeChip.innerText(), /^Snoozed\s+1$/);
  assert.equal(await snoozeChip.getAttribute('aria-pressed'), 'true');
  assert.match(await queueRows(page).filter({ hasText: item.title }).innerText(), /Snoozed\s+until \w{3} \d{1,2}, \d{4}, \d{2}:\d{2} UTC/);

  // Woken before its hour: acknowledged again, back in the queue.
  await detail.getByRole('button', { name: `Acknowledge Oversold: ${item.title}` }).click();
  await notice(page, `Acknowledged: ${item.title}`);
  await waitFor(async () => (await detail.locator('.history-list li', { hasText: 'Acknowledged by operator' }).count()) === 2, { what: 'the second acknowledgement' });
  assert.equal((await br.api.get(`${base}/exceptions/${item.id}`)).json.state, 'acknowledged');
  assert.equal(await detail.getByRole('button', { name: `Reopen Oversold: ${item.title}` }).count(), 0, 'only a resolved item reopens');
  await screenshot(page, 'exception-detail');
  await assertSound(opUi, 'exception detail');
  assert.deepEqual(takeApiErrors(opUi), []);
});

test('an admin assigns the item to the operator, who finds it under "Me" and records the oversell\'s resolution in place; it closes by itself', async () => {
  const { page } = adminUi;
  await go(page, stack.url, `/portfolio/exceptions?item=${item.id}&item_brand=${br.id}`);
  const detail = panelOf(page, item.title);
  await detail.waitFor();
  await detail.getByRole('button', { name: `Assign Oversold: ${item.title}` }).click();
  const form = page.getByRole('form', { name: 'Assign the exception' });
  await form.getByLabel('Owner', { exact: true }).selectOption({ label: `operator (${op.email})` });
  await form.getByRole('button', { name: 'Assign' }).click();
  await notice(page, `${item.title} is assigned to operator`);
  await detail.locator('.history-list', { hasText: /Assigned by Admin to operator/ }).waitFor();
  assert.equal((await br.api.get(`${base}/exceptions/${item.id}`)).json.owner.id, op.uid);
  assert.deepEqual(takeApiErrors(adminUi), []);

  const ui = opUi.page;
  await go(ui, stack.url, '/portfolio/exceptions?owner=me');
  assert.equal(await ui.getByLabel('Owner', { exact: true }).inputValue(), 'me');
  const mine = queueRows(ui).filter({ hasText: item.title });
  assert.match(await mine.innerText(), /operator \(me\)/);
  await mine.getByRole('button', { name: /^Open / }).click();
  const d = panelOf(ui, item.title);
  await d.waitFor();
  await d.getByRole('button', { name: 'Record how the oversell was settled…' }).click();
  const settle = ui.getByRole('form', { name: 'Record how the oversell was settled' });
  await settle.getByRole('button', { name: 'Resolve incident' }).click();
  await fieldError(ui, 'Resolution is required.').waitFor();
  await fillForm(settle, { Resolution: 'Order cancelled', 'Note (optional)': 'customer refunded' });
  await settle.getByRole('button', { name: 'Resolve incident' }).click();
  await notice(ui, `Oversell of ${code('A')} resolved: Order cancelled`);
  // The incident is settled: the worker closes the item by itself within seconds.
  await waitFor(async () => (await br.api.get(`${base}/exceptions/${item.id}`)).json.state === 'resolved', { what: 'the item to close', timeout: 30000, interval: 250 });
  const closed = (await br.api.get(`${base}/exceptions/${item.id}`)).json;
  await until(ui, '/portfolio/exceptions?state=resolved', async () => (await queueRows(ui).filter({ hasText: item.title }).count()) === 1, 'the closed item');
  const stateCell = await queueRows(ui).filter({ hasText: item.title }).evaluate((r) => r.cells[r.cells.length - 2].innerText.trim());
  assert.equal(closed.resolved_by, null);
  assert.equal(stateCell, 'Closed by itself');
  await queueRows(ui).filter({ hasText: item.title }).getByRole('button', { name: /^Open / }).click();
  const hist = await panelOf(ui, item.title).locator('.history-list').innerText();
  assert.match(hist, /Closed by itself\s+the condition cleared/);
  assert.equal(await panelOf(ui, item.title).getByRole('button', { name: /^(Reopen|Resolve|Snooze|Assign) / }).count(), 0, 'a closed item has no moves');
  await go(ui, stack.url, '/portfolio/exceptions');
  assert.equal(await queueRows(ui).filter({ hasText: item.title }).count(), 0, 'no longer needs anyone');
  await assertSound(opUi, 'assigned and settled');
  assert.deepEqual(takeApiErrors(opUi), []);
});

test('a Shopify outage opens a "channel failing" item, found by channel, which closes by itself when the channel is back', async () => {
  const shop = br.conns.shopify;
  assert.equal((await br.sim.put(`/_sim/accounts/${shop.account.id}/faults`, { error_rate: 1 })).status, 200);
  const failing = async () => (await items(br.api, `${base}/exceptions`, '?kind=connection_failing')).items;
  try {
    for (const s of ['B', 'C', 'D', 'E', 'F']) {
      if ((await failing()).length) break;
      assert.equal((await br.api.post(`${base}/movements`, { kind: 'receipt', sku: code(s), qty: 1 })).status, 201);
      await sleep(1500);
    }
    await waitFor(async () => (await failing()).length === 1, { what: 'the failing connection item', timeout: 30000, interval: 250 });
    const x = (await failing())[0];
    assert.equal(x.connection_id, shop.id);
    const { page } = adminUi;
    const row = () => queueRows(page).filter({ hasText: 'Channel failing' }).filter({ hasText: shopName() });
    await until(page, `/portfolio/exceptions?brand=${br.id}`, async () => (await row().count()) === 1, 'the outage in the queue');
    assert.match(await row().innerText(), /Critical[\s\S]*Channel failing\s+shopify-\S+ is failing: /);
    await page.getByLabel('Channel', { exact: true }).selectOption({ label: shopName() });
    await idle(page);
    assert.match(page.url(), new RegExp(`connection=${shop.id}`));
    const rows = await queueRows(page).evaluateAll((trs) => trs.map((r) => r.innerText));
    assert.ok(rows.length >= 1 && rows.some((r) => r.includes('Channel failing')), JSON.stringify(rows));
    assert.ok(rows.every((r) => r.includes(shopName())), JSON.stringify(rows));
    await row().getByRole('button', { name: /^Open / }).click();
    const detail = detailOf(page);
    await detail.waitFor();
    assert.match(await detail.innerText(), /Figures\s+[\s\S]*failed pushes? in a row/);
    assert.equal(await detail.getByRole('link', { name: 'Open the connection' }).getAttribute('href'), `#/brands/${br.id}/channels/${shop.id}`);
    await screenshot(page, 'exceptions-outage');
    item.outage = x;
  } finally {
    assert.equal((await br.sim.del(`/_sim/accounts/${shop.account.id}/faults`)).status, 200);
  }
  // The channel is back: the next push closes the circuit and the item closes by itself.
  assert.equal((await br.api.post(`${base}/movements`, { kind: 'receipt', sku: code('B'), qty: 1 })).status, 201);
  const { page } = adminUi;
  // The screen refreshes by itself (every 10 seconds): the row goes without a reload.
  await queueRows(page).filter({ hasText: 'Channel failing' }).waitFor({ state: 'detached', timeout: 60000 });
  const after = (await br.api.get(`${base}/exceptions/${item.outage.id}`)).json;
  assert.equal(after.state, 'resolved');
  assert.equal(after.resolved_by, null, 'closed by itself');
  assert.ok(after.history.some((e) => e.action === 'closed'), JSON.stringify(after.history));
  await assertSound(adminUi, 'outage item');
  assert.deepEqual(takeApiErrors(adminUi), []);
});

test('a brand owner sees only their brand\'s queue, resolves an item with a note and reopens it', async () => {
  // A sale recorded past zero in the other brand opens an oversell there.
  const m = await P.api.post(`/api/v1/brands/${other.id}/skus`, { code: 'MUG', title: 'Blue mug' });
  assert.equal(m.status, 201, m.text);
  assert.equal((await P.api.post(`/api/v1/brands/${other.id}/movements`, { kind: 'sale', sku: 'MUG', qty: 3, allow_oversell: true })).status, 201);
  const ob = `/api/v1/brands/${other.id}/exceptions`;
  await waitFor(async () => (await items(owner2.api, ob, '?kind=oversell')).items.length === 1, { what: 'the other brand\'s oversell', timeout: 30000, interval: 250 });
  const x = (await items(owner2.api, ob, '?kind=oversell')).items[0];

  // The API answers only for the owner's brand.
  const all = (await owner2.api.get(`/api/v1/portfolios/${P.pid}/exceptions?state=all`)).json;
  assert.ok(all.items.length >= 1);
  assert.ok(all.items.every((i) => i.brand_id === other.id), JSON.stringify(all.items.map((i) => i.brand)));
  assert.deepEqual(Object.keys(all.counts.by_brand).filter((b) => Number(all.counts.by_brand[b]) > 0), [other.id]);
  assert.equal((await owner2.api.get(`${base}/exceptions`)).status, 404);

  const { page } = owner2Ui;
  await go(page, stack.url, '/portfolio/exceptions');
  const text = await mainText(page);
  assert.ok(!text.includes(br.name), 'nothing of the other brand');
  const brandOptions = await page.getByLabel('Brand', { exact: true }).locator('option').evaluateAll((os) => os.map((o) => o.textContent));
  assert.deepEqual(brandOptions.map((o) => o.replace(/ \(\d+\)$/, '')), ['Every brand', other.name]);
  await go(page, stack.url, `/brands/${br.id}/exceptions`);
  assert.match(await mainText(page), /Not found/);
  assert.deepEqual(takeApiErrors(owner2Ui), [`404 /api/v1/brands/${br.id}`]);

  await go(page, stack.url, `/brands/${other.id}/exceptions?item=${x.id}`);
  const detail = panelOf(page, x.title);
  await detail.waitFor();
  await detail.getByRole('button', { name: `Resolve Oversold: ${x.title}` }).click();
  const form = page.getByRole('form', { name: 'Resolve the exception' });
  await form.getByRole('button', { name: 'Resolve' }).click();
  await fieldError(page, 'Note (what was done) is required.').waitFor();
  await form.getByLabel('Note (what was done)').fill('refunded the customer by hand');
  await form.getByRole('button', { name: 'Resolve' }).click();
  await notice(page, `Resolved: ${x.title}`);
  await detail.locator('.history-list', { hasText: 'Resolved by brand_owner' }).waitFor();
  assert.match(await detail.locator('.history-list').innerText(), /refunded the customer by hand/);
  const saved = (await owner2.api.get(`${ob}/${x.id}`)).json;
  assert.equal(saved.state, 'resolved');
  assert.equal(saved.resolved_by.id, owner2.uid);
  assert.equal(saved.note, 'refunded the customer by hand');
  // A second resolve is refused (409) by the server.
  assert.equal((await owner2.api.post(`${ob}/${x.id}/resolve`, { note: 'again' })).status, 409);
  await page.locator('button.chip[data-facet="state"][data-value="resolved"]').click();
  await idle(page);
  assert.match(await queueRows(page).filter({ hasText: x.title }).innerText(), /Resolved/);
  // The incident is still open, so the item can come back to the queue.
  await detail.getByRole('button', { name: `Reopen Oversold: ${x.title}` }).click();
  await page.getByRole('form', { name: 'Reopen the exception' }).getByLabel('Note (why) (optional)').fill('the refund bounced');
  await page.getByRole('button', { name: 'Reopen', exact: true }).click();
  await notice(page, `Reopened: ${x.title}`);
  await detail.locator('.history-list', { hasText: 'Reopened by brand_owner' }).waitFor();
  assert.match(await detail.locator('.history-list').innerText(), /the refund bounced/);
  assert.equal((await owner2.api.get(`${ob}/${x.id}`)).json.state, 'open');
  assert.doesNotMatch(await detail.innerText(), /Resolution note/, 'the old note stays in the history');
  await screenshot(page, 'exceptions-brand-owner');
  await assertSound(owner2Ui, 'brand owner queue');
  assert.deepEqual(takeApiErrors(owner2Ui), []);
});

test('an order line for a channel SKU nobody listed opens an item; "Create a SKU from it" makes and maps the SKU, and the item closes by itself', async () => {
  const ghost = `G-${br.id.slice(0, 6)}`;
  const wm = br.conns.walmart;
  assert.equal((await br.sim.put(`/_sim/accounts/${wm.account.id}/stock`, { [ghost]: 5 })).status, 200);
  const o = await br.sim.post(`/_sim/accounts/${wm.account.id}/orders`, { sku: ghost, quantity: 1 });
  assert.equal(o.status, 201, o.text);
  await runNow(br, ['poll_orders']);
  const unmapped = async () => (await items(br.api, `${base}/exceptions`, '?kind=unmapped_line&state=all')).items.filter((i) => i.channel_sku === ghost);
  await waitFor(async () => (await unmapped()).length === 1, { what: 'the unmapped line item', timeout: 45000, interval: 500 });
  const x = (await unmapped())[0];
  assert.equal(x.connection_id, wm.id);

  const { page } = opUi;
  await go(page, stack.url, `/brands/${br.id}/exceptions?item=${x.id}`);
  const detail = detailOf(page);
  await detail.waitFor();
  assert.match(await detail.innerText(), new RegExp(`Channel SKU\\s+${ghost}[\\s\\S]*Figures\\s+1 order line; 1 unit waiting`));
  assert.equal(await detail.getByRole('button', { name: 'Map the channel SKU to a SKU…' }).count(), 1);
  await detail.getByRole('button', { name: 'Create a SKU from it…' }).click();
  const form = page.getByRole('form', { name: 'Create a SKU from the channel SKU' });
  assert.equal(await form.getByLabel('Code', { exact: true }).inputValue(), ghost, 'the channel SKU as its code');
  await form.getByLabel('Title (optional)').fill('Ghost mug');
  await form.getByRole('button', { name: 'Create SKU and map it' }).click();
  await notice(page, `SKU ${ghost} created and listed on walmart-${wm.account.id} as ${ghost}`);
  const sku = (await br.api.get(`${base}/skus/${ghost}`)).json;
  assert.equal(sku.title, 'Ghost mug');
  // The parked line is taken in, so the item's condition is gone: it closes by itself.
  await waitFor(async () => (await br.api.get(`${base}/orders/unmapped`)).json.length === 0, { what: 'the parked line recorded' });
  await waitFor(async () => (await br.api.get(`${base}/exceptions/${x.id}`)).json.state === 'resolved', { what: 'the item to close', timeout: 30000, interval: 250 });
  assert.equal((await br.api.get(`${base}/exceptions/${x.id}`)).json.closed_by_itself, true);
  await detail.locator('.history-list', { hasText: 'Closed by itself' }).waitFor({ timeout: 20000 });
  await assertSound(opUi, 'create the SKU from a line');
  assert.deepEqual(takeApiErrors(opUi), []);
});

test('a viewer reads the queue and an item on a narrow screen and can change nothing', async () => {
  const { page } = viewerUi;
  // Resolved items of the brand: the oversell that closed by itself, the outage.
  await go(page, stack.url, `/brands/${br.id}/exceptions?state=resolved`);
  const rows = await queueRows(page).evaluateAll((trs) => trs.map((r) => r.innerText));
  assert.ok(rows.some((r) => /Oversold/.test(r)) && rows.some((r) => /Channel failing/.test(r)), JSON.stringify(rows));
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= document.documentElement.clientWidth + 1), 'no sideways scrolling at 390 px');
  await queueRows(page).filter({ hasText: 'Channel failing' }).getByRole('button', { name: /^Open / }).click();
  const detail = detailOf(page);
  await detail.waitFor();
  assert.equal(await detail.getByRole('button', { name: /^(Acknowledge|Assign|Snooze|Resolve|Reopen|Record|Map|Create|Push|Pause|Adjust)/ }).count(), 0);
  assert.equal(await detail.getByRole('link', { name: 'Open the connection' }).count(), 1, 'the way to look further');
  assert.match(await detail.innerText(), /Closed by itself/);
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= document.documentElement.clientWidth + 1), 'the item fits too');
  await screenshot(page, 'exceptions-narrow');
  // The server agrees.
  assert.equal((await viewer.api.post(`${base}/exceptions/${item.id}/acknowledge`, {})).status, 403);
  await assertSound(viewerUi, 'viewer queue');
  assert.deepEqual(takeApiErrors(viewerUi), []);
});
