// sync.test.mjs — the sync screens through the console, on real sync
// activity: a brand wired to Shopify, Amazon and Walmart simulator accounts
// with a running worker (tests/integration/lib/sync.mjs).  After convergence
// every connection shows its circuit closed and nothing waiting; an operator
// runs a routine now, and a sale made on Walmart shows up in Orders and in
// the SKU's timeline with the pushes it caused on the other channels, and in
// "what did each channel show at…"; an order for a channel SKU without a
// listing is parked, alerted, and taken in through "Map"; a brand owner
// changes a routine's schedule (a bad interval is refused under its field)
// and tests a connection; a Shopify outage opens the circuit and an alert,
// which close again when the channel is back.  Viewers read every screen
// without any action, also on a narrow screen.  The tests run in order.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, waitFor } from '../integration/lib/stack.mjs';
import { portfolio, member } from '../integration/lib/world.mjs';
import { channelBrand, connectionBody, converge, runNow } from '../integration/lib/sync.mjs';
import { launch } from './browser.mjs';
import { consoleAs, go, idle, mainText, assertSound, screenshot, panelOf, tableRows, takeApiErrors, notice, fieldError } from './lib/console.mjs';

let stack, sim, browser, P, br, base, owner, op, viewer, ownerUi, opUi, viewerUi;
const STOCK = 20;
const sale = {};

before(async () => {
  stack = await startStack();
  sim = await stack.startSim();
  browser = await launch();
  P = await portfolio(stack);
  br = await channelBrand(stack, P, sim, { skus: ['A', 'B', 'C', 'D', 'E', 'F', 'G'], stock: STOCK });
  base = `/api/v1/brands/${br.id}`;
  // One attempt per Shopify call, so the outage below fails each push at once
  // (the worker's own circuit breaker is what the test is about).
  const shop = br.conns.shopify;
  const body = connectionBody('shopify', shop.account);
  const r = await br.api.patch(`${base}/connections/${shop.id}`, { settings: { ...body.settings, max_attempts: 1 } });
  assert.equal(r.status, 200, r.text);
  // Walmart's orders are read when someone asks (converge() and "Run now"), not on a timer.
  const polls = (await br.api.get(`${base}/routines`)).json.find((x) => x.connection_id === br.conns.walmart.id && x.kind === 'poll_orders');
  assert.equal((await br.api.patch(`${base}/routines/${polls.id}`, { interval_seconds: 3600 })).status, 200);
  owner = await member(stack, P, br.id, 'brand_owner');
  op = await member(stack, P, br.id, 'operator');
  viewer = await member(stack, P, br.id, 'viewer');
  await stack.startWorker();
  ownerUi = await consoleAs(browser, stack.url, owner);
  opUi = await consoleAs(browser, stack.url, op);
  viewerUi = await consoleAs(browser, stack.url, viewer, { viewport: { width: 390, height: 844 } });
});
after(async () => {
  await browser?.close();
  await stack?.stop();
});

const card = (page, kind) => page.locator(`section.sync-card[data-connection="${br.conns[kind].id}"]`);
const name = (kind) => `${kind}-${br.conns[kind].account.id}`;
const code = (s) => br.skus[['A', 'B', 'C', 'D', 'E', 'F', 'G'].indexOf(s)];
const health = async (kind) => (await br.api.get(`${base}/connections/${br.conns[kind].id}/health`)).json;

test('after convergence every connection shows its circuit closed and nothing waiting to push', async () => {
  await converge([br]);
  const { page } = ownerUi;
  await go(page, stack.url, `/brands/${br.id}/sync`);
  assert.match(await panelOf(page, 'Sync status').innerText(), /Connections\s+3\s+Open alerts\s+0/i);
  for (const kind of ['shopify', 'amazon', 'walmart']) {
    const c = card(page, kind);
    await c.waitFor();
    const text = await c.innerText();
    assert.match(text, new RegExp(`^${name(kind)}`), kind);
    assert.match(text, /Circuit closed/, kind);
    assert.match(text, /Waiting to push\s+0 of 7 listings/i, kind);
    assert.match(text, /Oldest waiting\s+nothing waiting/i, kind);
    assert.match(text, /Last successful push\s+.*ago|Last successful push\s+now/i, kind);
    assert.doesNotMatch(text, /Open alerts/, kind);
    const routines = (await c.locator('tbody tr').evaluateAll((rows) => rows.map((r) => r.cells[0].innerText.split('\n')[0])));
    assert.deepEqual(routines, ['Connection health', 'Full re-push', 'Poll orders', 'Poll returns', 'Read back'], kind);
  }
  // Shopify shows a pushed number as it answers: its push lag is measured already, as a distribution.
  const lag = await card(page, 'shopify').locator('[data-stat="push-lag"] dd').innerText();
  assert.match(lag, /^p50 .+ · p90 .+ · p99 .+ \(\d+ push(es)?\)$/, lag);
  // The brand-wide routines (the default SOP's brand steps; checklist steps by their title), and the owner's actions.
  assert.deepEqual((await tableRows(page, 'Brand-wide routines')).map((r) => r[0].split('\n')[0]).sort(), ['Buffer review', 'Bundle components',
    'Check returns went back into the master', 'Low stock', 'Map new SKUs, bundles and kits on every channel',
    'Review oversells and their causes', 'Sales velocity', 'Unlisted SKUs']);
  assert.equal(await card(page, 'amazon').getByRole('button', { name: /^Run .* now$/ }).count(), 5);
  assert.equal(await card(page, 'amazon').getByRole('button', { name: /^Edit the schedule of / }).count(), 5);
  await screenshot(page, 'sync');
  await assertSound(ownerUi, 'sync screen');
  assert.deepEqual(takeApiErrors(ownerUi), []);
});

test('a connection on the simulator shows what its channel received: every request, with the quantities it set', async () => {
  const { page } = ownerUi;
  await go(page, stack.url, `/brands/${br.id}/channels/${br.conns.walmart.id}`);
  await panelOf(page, 'What the channel received').waitFor();
  // The newest 20 first; the rest (up to 200) on request.
  assert.ok((await tableRows(page, 'What the channel received')).length <= 20);
  const more = panelOf(page, 'What the channel received').getByRole('button', { name: /^Show more requests/ });
  while (await more.isVisible()) await more.click();
  const rows = await tableRows(page, 'What the channel received');
  assert.ok(rows.length > 0);
  // newest first; the first push set every SKU to the stock onecount published
  for (const c of br.skus) assert.ok(rows.some((r) => r[4].split(', ').includes(`${c} → ${STOCK}`)), `${c}: ${JSON.stringify(rows.slice(0, 3))}`);
  assert.ok(rows.every((r) => /^(GET|POST|PUT|PATCH|DELETE) \/(walmart|_sim)?/.test(r[1])), JSON.stringify(rows[0]));
  await page.getByRole('button', { name: 'Show newer requests' }).click();
  await idle(page);
  await assertSound(ownerUi, 'channel log');
  assert.deepEqual(takeApiErrors(ownerUi), []);
});

test('an operator runs a poll now: a sale made on Walmart shows in Orders, and the SKU timeline shows the pushes it caused', async () => {
  const { page } = opUi;
  const a = code('A');
  sale.before = new Date();
  await new Promise((r) => setTimeout(r, 1100)); // "at" has whole seconds in the picker
  const placed = await br.sim.post(`/_sim/accounts/${br.conns.walmart.account.id}/orders`, { sku: a, quantity: 2 });
  assert.equal(placed.status, 201, placed.text);
  sale.order = placed.json.id;

  await go(page, stack.url, `/brands/${br.id}/sync`);
  const wm = card(page, 'walmart');
  assert.equal(await wm.getByRole('button', { name: /^Edit the schedule/ }).count(), 0, 'schedules are channel work');
  assert.match(await wm.locator('tr[data-routine="poll_orders"]').innerText(), /every hour/);
  await wm.getByRole('button', { name: `Run Poll orders of ${name('walmart')} now` }).click();
  await notice(page, `Poll orders of ${name('walmart')} will run as soon as a worker is free`);
  // The card refreshes by itself: the poll ran and read the order.  (The poll and the card's refresh are
  // background work: 5 s on a quiet machine, 13-16 s with two suites at once, over 30 s once on a loaded CI.)
  await wm.locator('tr[data-routine="poll_orders"]', { hasText: /1 order read, 1 movement recorded/ }).waitFor({ timeout: 60000 });
  assert.match(await wm.locator('tr[data-routine="poll_orders"]').innerText(), /OK\s+\S+/);
  // The run is in the history too: the routine, the connection, when (brand time), how long, the outcome, what it did.
  const run = panelOf(page, 'Run history').locator('tbody tr', { hasText: /1 order read, 1 movement recorded/ })
    .filter({ hasText: name('walmart') }).first();
  await run.waitFor({ timeout: 30000 });
  const cells = await run.evaluate((r) => [...r.cells].map((c) => c.innerText.trim()));
  assert.equal(cells[0], 'Poll orders');
  assert.equal(cells[1], name('walmart'));
  assert.match(cells[2], /\d{1,2}:\d{2}:\d{2}/, cells[2]);
  assert.match(cells[3], /^[\d.,]+ (ms|s)$/, cells[3]);
  assert.equal(cells[4], 'OK');
  assert.match(cells[5], /^1 order read, 1 movement recorded/);
  await screenshot(page, 'sync-run-history');

  await go(page, stack.url, `/brands/${br.id}/orders`);
  const rows = await tableRows(page, 'Channel orders');
  assert.equal(rows.length, 1);
  assert.equal(rows[0][0].split('\n')[0], sale.order);
  assert.match(rows[0][0], new RegExp(`${name('walmart')} · Walmart`));
  assert.match(rows[0][1], /^Open/);
  assert.match(rows[0][4], new RegExp(`${a}\\s+× 2\\s+Channel: 2 ordered, 0 shipped, 0 cancelled\\s+Ledger: sold 2`));
  // Filter by the channel's order id.
  await page.getByLabel('Channel order id (optional)').fill('nope');
  await page.getByRole('button', { name: 'Filter' }).click();
  await idle(page);
  assert.match(await mainText(page), /No orders match these filters\./);
  assert.match(page.url(), /external_id=nope/);

  // Every channel converges on 20 - 2 = 18; the timeline says how.
  await converge([br]);
  await go(page, stack.url, `/brands/${br.id}/sku/${a}`);
  const timeline = await tableRows(page, 'Timeline');
  const saleRow = timeline.find((r) => r[1] === 'Movement' && /Sale of 2/.test(r[3]));
  assert.ok(saleRow, 'the sale is on the timeline');
  assert.equal(saleRow[2], name('walmart'));
  assert.match(saleRow[3], /Reference: walmart:/);
  for (const kind of ['shopify', 'amazon']) {
    const push = timeline.find((r) => r[1] === 'Push' && r[2] === name(kind) && /Sent 18/.test(r[3]));
    assert.ok(push, `a push of 18 to ${kind}`);
    assert.match(push[3], /Acknowledged|Accepted, applying/);
    assert.match(push[3], /round trip \d+ ms/);
  }
  assert.ok(timeline.some((r) => r[1] === 'Push' && /Sent 20/.test(r[3])), 'the first pushes of 20 are further down');

  // What each channel showed before the sale, and now.
  const picker = panelOf(page, 'What did each channel show?');
  const local = (d) => page.evaluate((iso) => {
    const x = new Date(iso);
    const p = (n) => String(n).padStart(2, '0');
    // As the browser writes it: no seconds when they are zero (fill() compares).
    const s = x.getSeconds() ? `:${p(x.getSeconds())}` : '';
    return `${x.getFullYear()}-${p(x.getMonth() + 1)}-${p(x.getDate())}T${p(x.getHours())}:${p(x.getMinutes())}${s}`;
  }, d.toISOString());
  await picker.getByLabel('Date and time').fill(await local(sale.before));
  await picker.getByRole('button', { name: 'Show' }).click();
  const report = picker.locator('.report[aria-label="What each channel showed"]');
  await report.waitFor();
  assert.match(await report.innerText(), new RegExp(`The balance was ${STOCK} on hand, 0 committed`));
  let shown = await picker.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => [tr.cells[0].innerText.split('\n')[0], tr.cells[1].innerText]));
  assert.deepEqual(shown.map((s) => s[1]), ['20', '20', '20'], JSON.stringify(shown));
  assert.match(page.url(), /\?at=/);
  await picker.getByLabel('Date and time').fill(await local(new Date(Date.now() + 2000)));
  await picker.getByRole('button', { name: 'Show' }).click();
  await picker.locator('.report', { hasText: 'The balance was 20 on hand, 2 committed' }).waitFor();
  shown = await picker.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => [tr.cells[0].innerText.split('\n')[0], tr.cells[1].innerText]));
  for (const kind of ['shopify', 'amazon']) assert.deepEqual(shown.find((s) => s[0] === name(kind)), [name(kind), '18'], kind);
  // The address keeps the moment: a reload shows it again.
  await page.reload();
  await panelOf(page, 'What did each channel show?').locator('.report', { hasText: '2 committed' }).waitFor();
  await screenshot(page, 'sku-timeline');
  await assertSound(opUi, 'orders and timeline');
  assert.deepEqual(takeApiErrors(opUi), []);
});

test('an order for a channel SKU without a listing is parked and alerted; "Map" takes it in', async () => {
  const { page } = opUi;
  const ghost = `H-${br.id.slice(0, 6)}`;
  assert.equal((await br.api.post(`${base}/skus`, { code: ghost })).status, 201);
  assert.equal((await br.api.post(`${base}/movements`, { kind: 'receipt', sku: ghost, qty: 10 })).status, 201);
  await br.sim.put(`/_sim/accounts/${br.conns.walmart.account.id}/stock`, { [ghost]: 5 });
  const o = await br.sim.post(`/_sim/accounts/${br.conns.walmart.account.id}/orders`, { sku: ghost, quantity: 1 });
  assert.equal(o.status, 201, o.text);
  await runNow(br, ['poll_orders']);
  await waitFor(async () => (await br.api.get(`${base}/orders/unmapped`)).json.length === 1, { what: 'the parked line' });

  // The sync card counts it, and links to it.
  await go(page, stack.url, `/brands/${br.id}/sync`);
  const wm = card(page, 'walmart');
  await wm.locator('[data-stat="unmapped"]', { hasText: '1' }).waitFor();
  await wm.locator('.alert-item', { hasText: 'Unmapped SKUs in orders' }).waitFor();
  await wm.locator('[data-stat="unmapped"] a').click();
  await page.locator('#unmapped-title:focus').waitFor();
  const parked = await tableRows(page, 'Unmapped');
  assert.equal(parked.length, 1);
  assert.deepEqual([parked[0][0].split('\n')[0], parked[0][1], parked[0][2], parked[0][3]], [name('walmart'), ghost, '1 line, 1 unit', o.json.id]);
  const order = (await tableRows(page, 'Channel orders')).find((r) => r[0].startsWith(o.json.id));
  assert.match(order[1], /Has parked lines/);
  assert.match(order[4], /Parked: no listing[\s\S]*Ledger: nothing until the channel SKU has a listing/);

  // The alert: resolving it is allowed (it opens again while the cause is there).
  await go(page, stack.url, `/brands/${br.id}/alerts`);
  const alert = (await tableRows(page, 'Alerts')).find((r) => /Unmapped SKUs in orders/.test(r[2]));
  assert.ok(alert, 'the unmapped SKU alert');
  assert.equal(alert[1], name('walmart'));
  assert.match(alert[2], /1 channel SKU\(s\) in orders have no listing/);
  await page.getByRole('button', { name: `Resolve the alert: Unmapped SKUs in orders on ${name('walmart')}` }).click();
  await notice(page, 'Alert resolved: Unmapped SKUs in orders');
  assert.ok(!(await tableRows(page, 'Alerts')).some((r) => /Unmapped SKUs/.test(r[2])));
  await page.getByLabel('Show alerts').selectOption('resolved');
  await idle(page);
  assert.match((await tableRows(page, 'Alerts')).find((r) => /Unmapped SKUs/.test(r[2]))[3], /^Resolved/);

  // Map it: the listing form comes filled in; the parked line is recorded at once.
  await go(page, stack.url, `/brands/${br.id}/orders?show=unmapped`);
  await page.getByRole('link', { name: `Map ${ghost} on ${name('walmart')}` }).first().click();
  await page.getByRole('button', { name: 'Map SKU' }).waitFor();
  assert.equal(await page.getByLabel('SKU', { exact: true }).inputValue(), ghost);
  assert.equal(await page.getByLabel('Channel SKU (optional)').inputValue(), ghost);
  await page.getByRole('button', { name: 'Map SKU' }).click();
  await notice(page, `${ghost} is listed on ${name('walmart')} as ${ghost}`);
  await go(page, stack.url, `/brands/${br.id}/orders`);
  assert.match(await panelOf(page, 'Unmapped').innerText(), /No parked order lines/);
  const taken = (await tableRows(page, 'Channel orders')).find((r) => r[0].startsWith(o.json.id));
  assert.match(taken[4], /Ledger: sold 1/);
  assert.doesNotMatch(taken[4], /Parked/);
  await assertSound(opUi, 'unmapped order lines');
  assert.deepEqual(takeApiErrors(opUi), []);
});

test('a number changed on the channel is found by the read-back, explained under Alerts & drift, and healed', async () => {
  const { page } = opUi;
  const c = code('C');
  const shop = br.conns.shopify;
  const drifted = async (healed) => (await br.api.get(`${base}/drift?state=all`)).json.items
    .some((d) => d.sku === c && d.classification === 'channel_edit' && (!healed || d.healed_at));
  assert.equal((await br.sim.put(`/_sim/accounts/${shop.account.id}/stock`, { [c]: 99 })).status, 200);
  await runNow(br, ['read_back']);
  await waitFor(() => drifted(false), { what: 'the channel edit to be found', timeout: 30000 });
  await go(page, stack.url, `/brands/${br.id}/alerts`);
  const rows = (await tableRows(page, 'Drift')).filter((r) => r[1] === c);
  const row = rows.find((r) => /^Edited on the channel/.test(r[4]));
  assert.ok(row, `the channel edit of C: ${JSON.stringify(rows)}`);
  assert.equal(row[2], name('shopify'));
  assert.match(row[3], /Channel showed\s+99\s+onecount pushed\s+20\s+onecount wants\s+20/);
  assert.match(row[4], /^Edited on the channel\s+The channel shows more than onecount pushed/);
  assert.match(row[4], /Action taken: Pushed the number again$/);
  // Pushing 20 back over the channel's 99 is refused by compare-and-set until onecount starts from 99.
  const stale = rows.find((r) => /^Stale push/.test(r[4]));
  if (stale) {
    assert.match(stale[4], /compare-and-set refused/);
    assert.match(stale[4], /Action taken: Polled the channel\u2019s orders, then pushed again$/);
  }
  // The push puts 20 back; the next read-back finds it and heals the drift.
  await waitFor(async () => { await runNow(br, ['read_back']); return drifted(true); }, { what: 'the drift to heal', timeout: 30000, interval: 1000 });
  await page.getByLabel('Show drift').selectOption('healed');
  await idle(page);
  assert.match((await tableRows(page, 'Drift')).find((r) => r[1] === c && /^Edited on the channel/.test(r[4]))[5], /^Healed/);
  assert.match(page.url(), /drift=healed/);
  await screenshot(page, 'alerts-drift');
  await assertSound(opUi, 'drift');
  assert.deepEqual(takeApiErrors(opUi), []);
});

test('a brand owner changes a routine\'s schedule (a bad interval is refused under its field) and tests a connection', async () => {
  const { page } = ownerUi;
  await go(page, stack.url, `/brands/${br.id}/sync`);
  const am = card(page, 'amazon');
  await am.getByRole('button', { name: `Edit the schedule of Poll returns of ${name('amazon')}` }).click();
  const form = am.getByRole('form', { name: 'Edit the routine' });
  assert.equal(await form.getByLabel('Interval (seconds)').inputValue(), '10');
  await form.getByLabel('Interval (seconds)').fill('5');
  await form.getByRole('button', { name: 'Save routine' }).click();
  await fieldError(page, 'Interval (seconds) must be between 10 and 604800.').waitFor();
  assert.equal(await form.getByLabel('Interval (seconds)').getAttribute('aria-invalid'), 'true');
  // The auto-refresh keeps the form and what was typed.
  await page.waitForTimeout(5500);
  assert.equal(await form.getByLabel('Interval (seconds)').inputValue(), '5');
  await form.getByLabel('Interval (seconds)').fill('120');
  await form.getByRole('button', { name: 'Save routine' }).click();
  await notice(page, `Poll returns of ${name('amazon')} now runs every 2 minutes`);
  await am.locator('tr[data-routine="poll_returns"]', { hasText: 'every 2 minutes' }).waitFor();
  assert.equal(await form.isVisible(), false);
  // Turned off, then on again.
  await am.getByRole('button', { name: `Edit the schedule of Poll returns of ${name('amazon')}` }).click();
  await form.getByLabel('Enabled').uncheck();
  await form.getByRole('button', { name: 'Save routine' }).click();
  await notice(page, `Poll returns of ${name('amazon')} now runs never (turned off)`);
  await am.locator('tr[data-routine="poll_returns"]', { hasText: /Off[\s\S]*off \(was every 2 minutes\)/ }).waitFor();
  const routines = (await br.api.get(`${base}/routines`)).json;
  assert.equal(routines.find((r) => r.connection_id === br.conns.amazon.id && r.kind === 'poll_returns').enabled, false);
  await am.getByRole('button', { name: `Edit the schedule of Poll returns of ${name('amazon')}` }).click();
  await form.getByLabel('Enabled').check();
  await form.getByLabel('Interval (seconds)').fill('10');
  await form.getByRole('button', { name: 'Save routine' }).click();
  await notice(page, `Poll returns of ${name('amazon')} now runs every 10 seconds`);
  assert.deepEqual(takeApiErrors(ownerUi), [`422 ${base}/routines/${routines.find((r) => r.connection_id === br.conns.amazon.id && r.kind === 'poll_returns').id}`]);

  // The connection's own screen: its health, and "Test connection" both ways.
  await go(page, stack.url, `/brands/${br.id}/channels/${br.conns.amazon.id}`);
  const healthPanel = page.locator('section.sync-card');
  await healthPanel.waitFor();
  assert.match(await healthPanel.innerText(), /^Sync health[\s\S]*Circuit closed[\s\S]*Waiting to push\s+0 of 7 listings/i);
  await page.getByRole('button', { name: 'Test connection' }).click();
  const result = page.locator('.report[aria-label="Test result"]');
  await result.waitFor();
  assert.match(await result.innerText(), /Connected\s+The channel let onecount in[\s\S]*Account\s+\S+/);
  await br.sim.put(`/_sim/accounts/${br.conns.amazon.account.id}/faults`, { error_rate: 1 });
  try {
    await page.getByRole('button', { name: 'Test connection' }).click();
    await result.locator('text=Channel unavailable').waitFor({ timeout: 30000 });
  } finally {
    await br.sim.del(`/_sim/accounts/${br.conns.amazon.account.id}/faults`);
  }
  const refused = await result.innerText();
  // A 503 is the channel being unavailable, not a refusal of the credentials.
  assert.match(refused, /^Channel unavailable\s+The channel is unavailable right now \(HTTP 503\); this is on its side, not the credentials/);
  assert.doesNotMatch(refused, /Refused|did not let/);
  assert.match(refused, /Channel answered\s+HTTP 503/);
  assert.match(refused, /Worth retrying\s+yes: the channel may be busy or down/);
  await screenshot(page, 'connection-health');
  await assertSound(ownerUi, 'routine schedule and connection test');
  assert.deepEqual(takeApiErrors(ownerUi), []);
});

test('a Shopify outage opens the circuit and an alert; both close again when the channel is back', async () => {
  const { page } = ownerUi;
  const shop = br.conns.shopify;
  await go(page, stack.url, `/brands/${br.id}/sync`);
  const c = card(page, 'shopify');
  await c.getByText('Circuit closed').waitFor();
  assert.equal((await br.sim.put(`/_sim/accounts/${shop.account.id}/faults`, { error_rate: 1 })).status, 200);
  // Five failed pushes in a row open the circuit: a new number for five SKUs, one after the other.
  for (const s of ['B', 'C', 'D', 'E', 'F']) {
    if ((await health('shopify')).circuit === 'open') break;
    const before = (await health('shopify')).pushes_total;
    assert.equal((await br.api.post(`${base}/movements`, { kind: 'receipt', sku: code(s), qty: 1 })).status, 201);
    await waitFor(async () => (await health('shopify')).pushes_total > before, { what: `a failed push of ${s}`, timeout: 20000 });
  }
  // The screen refreshes by itself.
  await c.getByText('Circuit open').waitFor({ timeout: 20000 });
  const text = await c.innerText();
  assert.match(text, /Pushes kept failing, so onecount stopped pushing to this channel for a while/);
  assert.match(text, /Failed pushes in a row\s+[5-9]/i);
  assert.match(text, /Last push error: channel answered 503/);
  assert.match(text, /Open alerts[\s\S]*Pushes failing[\s\S]*pushes to this channel keep failing/);
  assert.match(await panelOf(page, 'Sync status').innerText(), /Open alerts\s+[1-9]/i);
  for (const kind of ['amazon', 'walmart']) assert.match(await card(page, kind).innerText(), /Circuit closed/, kind);
  await screenshot(page, 'sync-outage');
  await go(page, stack.url, `/brands/${br.id}/alerts`);
  const open = (await tableRows(page, 'Alerts')).find((r) => /Pushes failing/.test(r[2]));
  assert.ok(open, 'the circuit alert is listed');
  assert.equal(open[1], name('shopify'));
  assert.equal(open[3], 'Open');

  // The channel comes back; the next push closes the circuit and the alert.
  assert.equal((await br.sim.del(`/_sim/accounts/${shop.account.id}/faults`)).status, 200);
  assert.equal((await br.api.post(`${base}/movements`, { kind: 'receipt', sku: code('G'), qty: 1 })).status, 201);
  await go(page, stack.url, `/brands/${br.id}/sync`);
  await c.getByText('Circuit closed').waitFor({ timeout: 45000 });
  await c.locator('.alert-item', { hasText: 'Pushes failing' }).waitFor({ state: 'detached', timeout: 15000 });
  await go(page, stack.url, `/brands/${br.id}/alerts?state=resolved`);
  const closed = (await tableRows(page, 'Alerts')).find((r) => /Pushes failing/.test(r[2]));
  assert.ok(closed, 'the circuit alert is resolved');
  assert.match(closed[3], /^Resolved/);
  await assertSound(ownerUi, 'outage');
  assert.deepEqual(takeApiErrors(ownerUi), []);
});

test('the sync screen refreshes itself only while it is shown, the tab visible and updates not paused', async () => {
  const { page } = viewerUi;
  const hits = [];
  const onRequest = (r) => { if (new URL(r.url()).pathname === `${base}/sync`) hits.push(Date.now()); };
  const quiet = async (what) => {
    hits.length = 0;
    await page.waitForTimeout(6000);
    assert.equal(hits.length, 0, what);
  };
  const setVisibility = (state) => page.evaluate((v) => {
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => v });
    document.dispatchEvent(new Event('visibilitychange'));
  }, state);
  page.on('request', onRequest);
  try {
    await go(page, stack.url, `/brands/${br.id}/sync`);
    hits.length = 0;
    await waitFor(() => hits.length >= 1, { what: 'a refresh while shown', timeout: 8000 });
    assert.match(await page.locator('.refresh-bar').innerText(), /Updated .*; the sync status refreshes every 5 seconds while this page is open\./);
    await setVisibility('hidden');
    await quiet('no refresh while the tab is hidden');
    await setVisibility('visible');
    await waitFor(() => hits.length >= 1, { what: 'a refresh as soon as the tab is visible again', timeout: 2000 });
    await page.getByRole('button', { name: 'Pause updates' }).click();
    assert.equal(await page.getByRole('button', { name: 'Resume updates' }).getAttribute('aria-pressed'), 'true');
    assert.match(await page.locator('.refresh-bar').innerText(), /Updates are paused\./);
    await quiet('no refresh while paused');
    await page.getByRole('button', { name: 'Resume updates' }).click();
    await waitFor(() => hits.length >= 1, { what: 'a refresh on resuming', timeout: 2000 });
    await go(page, stack.url, `/brands/${br.id}/orders`);
    await quiet('no refresh once the screen is left');
  } finally {
    page.off('request', onRequest);
  }
  await assertSound(viewerUi, 'auto-refresh');
});

test('a viewer reads every sync screen, on a narrow screen, and can change nothing', async () => {
  const { page } = viewerUi;
  const fits = () => page.evaluate(() => document.documentElement.scrollWidth <= document.documentElement.clientWidth + 1);
  for (const path of ['sync', 'orders', 'alerts', `sku/${code('A')}`, `channels/${br.conns.walmart.id}`]) {
    await go(page, stack.url, `/brands/${br.id}/${path}`);
    await idle(page);
    assert.equal(await page.getByRole('button', { name: /^Run |^Edit the schedule|^Resolve|Test connection/ }).count(), 0, path);
    assert.equal(await page.getByRole('link', { name: /^Map / }).count(), 0, path);
    assert.ok(await fits(), `${path}: no sideways scrolling at 390 px`);
  }
  await go(page, stack.url, `/brands/${br.id}/sync`);
  assert.match(await card(page, 'walmart').innerText(), /Circuit closed[\s\S]*Poll orders/);
  await screenshot(page, 'sync-narrow');
  // The server agrees.
  const routine = (await viewer.api.get(`${base}/routines`)).json[0];
  assert.equal((await viewer.api.post(`${base}/routines/${routine.id}/run`, {})).status, 403);
  assert.equal((await op.api.patch(`${base}/routines/${routine.id}`, { interval_seconds: 60 })).status, 403);
  await assertSound(viewerUi, 'viewer sync screens');
  assert.deepEqual(takeApiErrors(viewerUi), []);
});
