// exception_actions.test.mjs — the fixes an exception item offers in place,
// driven through the console: a brand in New York's time zone wired to
// Shopify, Amazon and Walmart simulator accounts, with a running worker that
// refreshes exceptions every second and calls a listing stuck after 3
// seconds.  A Walmart outage leaves two listings behind: one is paused from
// its item (the listing's own screen then says "Paused") and, once Walmart
// is back, the other is pushed again from its item; both items close by
// themselves.  A buffer larger than the stock strands a SKU at 0 on Amazon:
// its buffer is set from the item, saved on the listing's rules and shown on
// the listing's screen, and the item closes.  An order line for a channel
// SKU nobody listed is mapped to an existing SKU from its item, which
// closes.  An item snoozed until a chosen date and time (the brand's wall
// clock) says "snoozed until" that time in the brand's zone and leaves the
// active queue.  The tests run in order.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, waitFor } from '../integration/lib/stack.mjs';
import { portfolio, member } from '../integration/lib/world.mjs';
import { channelBrand, converge, runNow } from '../integration/lib/sync.mjs';
import { launch } from './browser.mjs';
import { consoleAs, go, idle, assertSound, screenshot, panelOf, takeApiErrors, notice } from './lib/console.mjs';

const TZ = 'America/New_York';
const STOCK = 5;
let stack, sim, browser, P, br, base, op, ui;

before(async () => {
  const env = { ONECOUNT_EXCEPTIONS_CHECK_SECONDS: '1', ONECOUNT_STUCK_AFTER_SECONDS: '3', ONECOUNT_STUCK_CHECK_SECONDS: '1' };
  stack = await startStack({ env });
  sim = await stack.startSim();
  browser = await launch();
  P = await portfolio(stack);
  br = await channelBrand(stack, P, sim, { skus: ['A', 'B', 'C', 'D'], stock: STOCK });
  base = `/api/v1/brands/${br.id}`;
  assert.equal((await br.api.patch(base, { timezone: TZ })).status, 200);
  op = await member(stack, P, br.id, 'operator');
  await stack.startWorker();
  ui = await consoleAs(browser, stack.url, op);
  await converge([br]);
});
after(async () => {
  await browser?.close();
  await stack?.stop();
});

const code = (s) => br.skus[['A', 'B', 'C', 'D'].indexOf(s)];
const conn = (kind) => `${kind}-${br.conns[kind].account.id}`;
const queue = async (q = '') => {
  const r = await br.api.get(`${base}/exceptions${q}`);
  assert.equal(r.status, 200, r.text);
  return r.json;
};
const itemOf = async (id) => (await br.api.get(`${base}/exceptions/${id}`)).json;
const detailOf = (page) => page.locator('section#exception');
/** The live item of `kind` matching `pred`, once the worker's refresh has opened it. */
const opened = (kind, pred, what) => waitFor(async () => (await queue(`?kind=${kind}&state=all`)).items.find((x) => x.state !== 'resolved' && pred(x)),
  { what, timeout: 45000, interval: 500 });
const closesByItself = (id, what, timeout = 45000) => waitFor(async () => {
  const x = await itemOf(id);
  return x.state === 'resolved' && x.closed_by_itself && x;
}, { what, timeout, interval: 500 });
const listingOf = async (kind, sku) => (await br.api.get(`${base}/listings?connection=${br.conns[kind].id}&limit=200`)).json.items.find((l) => l.sku === sku);

/** Opens the item on the brand's queue (its address) and waits for its panel. */
async function openItem(page, x) {
  await go(page, stack.url, `/brands/${br.id}/exceptions?state=all&item=${x.id}`);
  const d = detailOf(page);
  await d.waitFor();
  return d;
}

test('a Walmart outage: one stuck listing is paused from its item, the other pushed again once Walmart is back; both items close by themselves', async () => {
  const wm = br.conns.walmart;
  const [a, b] = [code('A'), code('B')];
  assert.equal((await br.sim.put(`/_sim/accounts/${wm.account.id}/faults`, { error_rate: 1, error_status: 503 })).status, 200);
  let stuckA, stuckB;
  try {
    for (const sku of [a, b]) assert.equal((await br.api.post(`${base}/movements`, { kind: 'sale', sku, qty: 1 })).status, 201);
    stuckA = await opened('listing_stuck', (x) => x.sku === a && x.connection_id === wm.id, 'the stuck listing of A');
    stuckB = await opened('listing_stuck', (x) => x.sku === b && x.connection_id === wm.id, 'the stuck listing of B');
    assert.deepEqual(stuckB.actions, ['repush', 'pause_listing', 'open_connection']);

    // Pause B's listing from its item: the listing is paused, and the item (nothing is pushed to a paused
    // listing, so nothing is behind) closes by itself.
    const { page } = ui;
    let d = await openItem(page, stuckB);
    assert.match(await d.innerText(), new RegExp(`Channel\\s+${conn('walmart')}[\\s\\S]*SKU\\s+${b}`));
    await d.getByRole('button', { name: 'Pause the listing', exact: true }).click();
    await notice(page, `The listing of ${b} on ${conn('walmart')} is paused: onecount pushes nothing to it until it is resumed`);
    assert.equal((await br.api.get(`${base}/listings/${stuckB.listing_id}`)).json.state, 'paused');
    await closesByItself(stuckB.id, 'the paused listing\'s item to close');
    await d.locator('.history-list', { hasText: 'Closed by itself' }).waitFor({ timeout: 20000 });
    assert.equal(await d.getByRole('button', { name: /^(Push|Pause)/ }).count(), 0, 'a closed item offers no fix');
    // The listing's own screen says so, and offers to resume it.
    await go(page, stack.url, `/brands/${br.id}/listings/${stuckB.listing_id}`);
    const listing = panelOf(page, `${b} on ${conn('walmart')}`);
    assert.match(await listing.locator('dl.details').first().innerText(), /State\s+Paused/);
    assert.equal(await listing.getByRole('button', { name: 'Resume', exact: true }).count(), 1);
    await screenshot(page, 'exception-paused-listing');
    assert.equal((await itemOf(stuckA.id)).state, 'open', 'A is still stuck while Walmart is down');

    // Walmart comes back while A's item is open: push its listing again from the item.
    d = await openItem(page, stuckA);
    assert.equal((await br.sim.del(`/_sim/accounts/${wm.account.id}/faults`)).status, 200);
    await d.getByRole('button', { name: 'Push the listing again', exact: true }).click();
    await notice(page, `${a} will be pushed again to ${conn('walmart')}`);
  } finally {
    await br.sim.del(`/_sim/accounts/${wm.account.id}/faults`);
  }
  const audit = (await br.api.get(`${base}/audit?action=listing.update`)).json.items.filter((e) => e.object_id === stuckA.listing_id);
  assert.equal(audit.length, 1, 'the push asked for once, by the operator');
  // It reaches Walmart and the item closes by itself.
  await closesByItself(stuckA.id, 'the stuck listing\'s item to close', 90000);
  const l = (await br.api.get(`${base}/listings/${stuckA.listing_id}`)).json;
  assert.equal(l.pushed_qty, STOCK - 1);
  await waitFor(async () => (await br.sim.get(`/_sim/accounts/${wm.account.id}/stock`)).json.skus.find((s) => s.sku === a).quantity === STOCK - 1,
    { what: 'Walmart to show A\'s quantity' });
  const d = detailOf(ui.page);
  await d.locator('.history-list', { hasText: 'Closed by itself' }).waitFor({ timeout: 20000 });
  await assertSound(ui, 'pause and push again');
  assert.deepEqual(takeApiErrors(ui), []);
});

test('a buffer that strands a SKU at 0 on Amazon is adjusted from the item: saved on the listing\'s rules and shown there; the item closes', async () => {
  const c = code('C');
  const amz = await listingOf('amazon', c);
  const r = await br.api.patch(`${base}/listings/${amz.id}`, { rules: { buffer: 100 } });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.desired_qty, 0);
  const x = await opened('stranded_stockout', (i) => i.sku === c, 'the stranded stock-out');
  assert.equal(x.listing_id, amz.id);
  assert.deepEqual(x.actions, ['adjust_buffer']);

  const { page } = ui;
  const d = await openItem(page, x);
  await d.getByRole('button', { name: 'Adjust the buffer…', exact: true }).click();
  const form = page.getByRole('form', { name: 'Set the listing\u2019s buffer' });
  const field = form.getByLabel('Buffer (units, or auto)');
  assert.equal(await field.inputValue(), '100', 'the listing\'s buffer now');
  await field.fill('2');
  await form.getByRole('button', { name: 'Save buffer' }).click();
  await notice(page, `Buffer of ${c} on ${conn('amazon')} saved: it may now show ${STOCK - 2}`);
  const saved = (await br.api.get(`${base}/listings/${amz.id}`)).json;
  assert.equal(saved.rules.buffer, 2);
  assert.equal(saved.desired_qty, STOCK - 2);
  await closesByItself(x.id, 'the stranded stock-out to close');

  await go(page, stack.url, `/brands/${br.id}/listings/${amz.id}`);
  const why = panelOf(page, 'Why this number');
  assert.match(await why.innerText(), /This listing overrides\s+buffer 2\b/);
  assert.match(await why.innerText(), /Buffer of 2 held back: 3/);
  await assertSound(ui, 'buffer from the item');
  assert.deepEqual(takeApiErrors(ui), []);
});

test('an order line for a channel SKU nobody listed is mapped to an existing SKU from its item; the item closes by itself', async () => {
  // A SKU that exists but is not on Shopify yet, and a Shopify order naming another code for it.
  const sku = `MUG-${br.id.slice(0, 6)}`;
  const alias = `ALIAS-${br.id.slice(0, 6)}`;
  assert.equal((await br.api.post(`${base}/skus`, { code: sku, title: 'Blue mug' })).status, 201);
  assert.equal((await br.api.post(`${base}/movements`, { kind: 'receipt', sku, qty: 10 })).status, 201);
  const shop = br.conns.shopify;
  assert.equal((await br.sim.put(`/_sim/accounts/${shop.account.id}/stock`, { [alias]: 4 })).status, 200);
  assert.equal((await br.sim.post(`/_sim/accounts/${shop.account.id}/orders`, { sku: alias, quantity: 2 })).status, 201);
  await runNow(br, ['poll_orders']);
  const x = await opened('unmapped_line', (i) => i.channel_sku === alias, 'the unmapped line');

  const { page } = ui;
  const d = await openItem(page, x);
  await d.getByRole('button', { name: 'Map the channel SKU to a SKU…', exact: true }).click();
  const form = page.getByRole('form', { name: 'Map the channel SKU' });
  await form.getByLabel('SKU', { exact: true }).fill('NO-SUCH-SKU');
  await form.getByRole('button', { name: 'Map SKU' }).click();
  await page.locator('.field-error:not([hidden])').first().waitFor();
  assert.deepEqual(takeApiErrors(ui).map((e) => e.split(' ')[0]), ['404'], 'an unknown SKU is refused at its field');
  await form.getByLabel('SKU', { exact: true }).fill(sku);
  await form.getByRole('button', { name: 'Map SKU' }).click();
  await notice(page, `${sku} is listed on ${conn('shopify')} as ${alias}`);
  const l = await listingOf('shopify', sku);
  assert.equal(l.external_sku, alias);
  // The waiting line is recorded against the SKU: the item's condition is gone.
  await closesByItself(x.id, 'the unmapped line to close');
  await waitFor(async () => (await br.api.get(`${base}/orders/unmapped`)).json.length === 0, { what: 'the parked line recorded' });
  await d.locator('.history-list', { hasText: 'Closed by itself' }).waitFor({ timeout: 20000 });
  await screenshot(page, 'exception-mapped-line');
  await assertSound(ui, 'map a line to a SKU');
  assert.deepEqual(takeApiErrors(ui), []);
});

test('an item snoozed until a chosen date and time says so in the brand\'s zone and leaves the active queue', async () => {
  // D is listed everywhere; a new SKU listed nowhere opens an info item to snooze.
  const sku = `LATER-${br.id.slice(0, 6)}`;
  assert.equal((await br.api.post(`${base}/skus`, { code: sku })).status, 201);
  const x = await opened('sku_unlisted', (i) => i.sku === sku, 'the unlisted SKU');

  // Nine days on, 09:30 on New York's wall clock.
  const day = new Intl.DateTimeFormat('en-CA', { timeZone: TZ, year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date(Date.now() + 9 * 86400e3));
  const local = `${day}T09:30`;
  const { page } = ui;
  let d = await openItem(page, x);
  await d.getByRole('button', { name: /^Snooze / }).click();
  const form = page.getByRole('form', { name: 'Snooze the exception' });
  await form.getByLabel('Snooze for').selectOption({ label: 'Until a date…' });
  const until = form.getByLabel('Until', { exact: true });
  assert.equal(await until.isVisible(), true);
  assert.match(await form.innerText(), new RegExp(`In the brand\u2019s time zone \\(${TZ}\\)`));
  await until.fill(local);
  await form.getByRole('button', { name: 'Snooze', exact: true }).click();
  // Said in the brand's zone: that day at 09:30 New York time.
  const words = new Intl.DateTimeFormat('en-US', { timeZone: 'UTC', month: 'short', day: 'numeric', year: 'numeric' }).format(new Date(`${day}T12:00:00Z`));
  const shown = new RegExp(`Snoozed until ${words}, 09:30 (EST|EDT|GMT-[45]): ${x.title.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`);
  await page.locator('.notice', { hasText: shown }).first().waitFor();
  const saved = await itemOf(x.id);
  assert.equal(saved.state, 'snoozed');
  // The instant is 09:30 in New York on that day.
  const wall = new Intl.DateTimeFormat('en-CA', { timeZone: TZ, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' })
    .format(new Date(saved.snoozed_until)).replace(', ', 'T');
  assert.equal(wall, local, saved.snoozed_until);
  d = detailOf(page);
  await d.locator('.history-list', { hasText: /Snoozed by operator until/ }).waitFor();
  assert.match(await d.locator('.history-list').innerText(), new RegExp(`Snoozed by operator until ${words}, 09:30`));
  assert.match(await d.locator('.exception-badges').innerText(), new RegExp(`Snoozed\\s+until ${words}, 09:30`));

  // Not in the active queue; under "Snoozed", with the time on its row.
  await go(page, stack.url, `/brands/${br.id}/exceptions`);
  const rows = panelOf(page, 'Exceptions').locator('tbody tr');
  assert.equal(await rows.filter({ hasText: x.title }).count(), 0, 'gone from the active queue');
  const chip = page.locator('button.chip[data-facet="state"][data-value="snoozed"]');
  assert.match(await chip.innerText(), /^Snoozed\s+1$/);
  await chip.click();
  await idle(page);
  assert.match(await rows.filter({ hasText: x.title }).innerText(), new RegExp(`Snoozed\\s+until ${words}, 09:30`));
  await screenshot(page, 'exception-snoozed-until');
  await assertSound(ui, 'snoozed until a time');
  assert.deepEqual(takeApiErrors(ui), []);
});
