// alerts.test.mjs — the alerts screen says what is true.  With no open alert
// it says every listing is in sync only when every listing is; while
// listings wait (the worker stopped) or fail (Amazon down) it says how many,
// and the sync screen and the brand's overview count them too.  A listing
// failing for longer than ONECOUNT_STUCK_AFTER_SECONDS (3 here) is an alert
// naming its SKU, the connection and the channel's error; it closes by itself
// once the channel is back and the listing has caught up.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, waitFor } from '../integration/lib/stack.mjs';
import { portfolio, member } from '../integration/lib/world.mjs';
import { channelBrand, converge } from '../integration/lib/sync.mjs';
import { launch } from './browser.mjs';
import { consoleAs, go, mainText, assertSound, panelOf, tableRows, takeApiErrors, screenshot } from './lib/console.mjs';

let stack, sim, browser, P, br, worker, ui;

before(async () => {
  stack = await startStack({ env: { ONECOUNT_STUCK_AFTER_SECONDS: '3', ONECOUNT_STUCK_CHECK_SECONDS: '1' } });
  sim = await stack.startSim();
  browser = await launch();
  P = await portfolio(stack);
  br = await channelBrand(stack, P, sim, { skus: ['A', 'B'], stock: 50, webhooks: false });
  const op = await member(stack, P, br.id, 'operator');
  worker = await stack.startWorker();
  ui = await consoleAs(browser, stack.url, op);
});
after(async () => {
  await browser?.close();
  await stack?.stop();
});

test('no open alerts and every listing in sync: the screen says so', async () => {
  await converge([br]);
  const { page } = ui;
  await go(page, stack.url, `/brands/${br.id}/alerts`);
  const text = await panelOf(page, 'Alerts').innerText();
  assert.match(text, /No open alerts\. Every listing is in sync\./);
  await assertSound(ui, 'alerts, all in sync');
});

test('no open alerts while listings wait: the screens count them and claim nothing', async () => {
  await worker.stop();
  assert.equal((await br.api.post(`/api/v1/brands/${br.id}/movements`, { kind: 'sale', sku: br.skus[0], qty: 2 })).status, 201);
  const { page } = ui;
  await go(page, stack.url, `/brands/${br.id}/sync`);
  assert.match(await panelOf(page, 'Sync status').innerText(), /Listings waiting\s+3/i);
  await go(page, stack.url, `/brands/${br.id}/alerts`);
  const text = await panelOf(page, 'Alerts').innerText();
  assert.match(text, /No open alerts, but 3 listings are waiting to be pushed\./, text);
  assert.doesNotMatch(await mainText(page), /every channel is syncing|Every listing is in sync/i);
  await go(page, stack.url, `/brands/${br.id}`);
  assert.match(await panelOf(page, 'Sync').innerText(), /3 listings waiting to be pushed/);
  await screenshot(page, 'overview-waiting');
  await assertSound(ui, 'alerts, listings waiting');
});

test('a channel that keeps failing: the listings count as failing, then an alert names SKU, channel and error; it closes once they catch up', async () => {
  const amz = br.conns.amazon;
  assert.equal((await br.sim.put(`/_sim/accounts/${amz.account.id}/faults`, { error_rate: 1, error_status: 503 })).status, 200);
  worker = await stack.startWorker();
  const { page } = ui;
  await waitFor(async () => (await br.api.get(`/api/v1/brands/${br.id}/sync`)).json.listings_failing === 1,
    { timeout: 30000, what: 'the Amazon listing to fail' });
  // The alert may open before the first failed push has recorded its error; the next check names it.
  await waitFor(async () => (await br.api.get(`/api/v1/brands/${br.id}/alerts`)).json.items
    .some((a) => a.kind === 'listings_stuck' && /answered 503/.test(a.message)),
  { timeout: 30000, what: 'the stuck-listing alert naming the error' });
  await go(page, stack.url, `/brands/${br.id}/alerts`);
  const row = (await tableRows(page, 'Alerts')).find((r) => /Listings not reaching the channel/.test(r[2]));
  assert.ok(row, 'the alert is listed');
  assert.equal(row[1], `amazon-${amz.account.id}`);
  assert.match(row[2], new RegExp(`${br.skus[0]}[\\s\\S]*answered 503`), row[2]);
  assert.equal(row[3], 'Open');
  await screenshot(page, 'alerts-stuck');
  await go(page, stack.url, `/brands/${br.id}/sync`);
  assert.match(await panelOf(page, 'Sync status').innerText(), /Failing\s+1/i);

  assert.equal((await br.sim.del(`/_sim/accounts/${amz.account.id}/faults`)).status, 200);
  await converge([br], { timeout: 90000 });
  await waitFor(async () => !(await br.api.get(`/api/v1/brands/${br.id}/alerts`)).json.items.some((a) => a.kind === 'listings_stuck'),
    { timeout: 30000, what: 'the alert to close' });
  await go(page, stack.url, `/brands/${br.id}/alerts`); // from the sync screen: a fresh alerts screen
  assert.match(await panelOf(page, 'Alerts').innerText(), /No open alerts\. Every listing is in sync\./);
  await go(page, stack.url, `/brands/${br.id}/alerts?state=resolved`);
  const closed = (await tableRows(page, 'Alerts')).find((r) => /Listings not reaching the channel/.test(r[2]));
  assert.match(closed[3], /^Resolved/);
  await assertSound(ui, 'alerts after the outage');
  assert.deepEqual(takeApiErrors(ui), []);
});
