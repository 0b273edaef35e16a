// dashboard.test.mjs — the portfolio home, the brand overview and the SKU
// list on real sync activity: a brand wired to Shopify, Amazon and Walmart
// simulator accounts beside a quiet brand, with a worker that refreshes
// exceptions every second.  At rest the quiet brand needs nothing and every
// channel reads "in sync" on the SKU list, beside the ledger's columns.  An oversell made on Shopify
// and a Shopify outage appear on the home within seconds, the busy brand
// first, with totals on top, what the oversell costs, counts that link to
// the filtered queue, the
// channel marked failing, counts in the navigation and on the brand's tabs,
// the brand overview's top exceptions and the SKU list's mark on Shopify;
// when the oversell is settled and the channel is back, they close by
// themselves.  The tests run in order.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, waitFor, sleep } from '../integration/lib/stack.mjs';
import { portfolio, brand } from '../integration/lib/world.mjs';
import { channelBrand, connectionBody, converge } from '../integration/lib/sync.mjs';
import { launch } from './browser.mjs';
import { consoleAs, go, idle, assertSound, screenshot, panelOf, takeApiErrors } from './lib/console.mjs';

let stack, sim, browser, P, br, quiet, base, ui;
const STOCK = 5;
const SKUS = ['A', 'B', 'C', 'D', 'E', 'F'];

before(async () => {
  stack = await startStack({ env: { ONECOUNT_EXCEPTIONS_CHECK_SECONDS: '1' } });
  sim = await stack.startSim();
  browser = await launch();
  P = await portfolio(stack);
  quiet = await brand(P);
  br = await channelBrand(stack, P, sim, { skus: SKUS, stock: STOCK });
  base = `/api/v1/brands/${br.id}`;
  const shop = br.conns.shopify;
  const r = await br.api.patch(`${base}/connections/${shop.id}`, { settings: { ...connectionBody('shopify', shop.account).settings, max_attempts: 1 } });
  assert.equal(r.status, 200, r.text);
  br.name = (await br.api.get(base)).json.name;
  // A's unit cost, so the dashboard can say what its oversell costs.
  const uc = await br.api.patch(`${base}/skus/${br.skus[0]}`, { unit_cost: 4.5 });
  assert.equal(uc.status, 200, uc.text);
  await stack.startWorker({ ONECOUNT_EXCEPTIONS_CHECK_SECONDS: '1' });
  ui = await consoleAs(browser, stack.url, P, { viewport: { width: 1440, height: 900 } });
});
after(async () => {
  await browser?.close();
  await stack?.stop();
});

const code = (s) => br.skus[SKUS.indexOf(s)];
const name = (kind) => `${kind}-${br.conns[kind].account.id}`;
const healthRow = (page, bid) => panelOf(page, 'Health').locator(`tbody tr[data-brand="${bid}"]`);
const figure = (page, key) => panelOf(page, 'Health').locator(`.figure[data-figure="${key}"] dd`);

/** At 1440 px the SKU table fits its container: no sideways scrolling, every column in view. */
async function assertFits(page, what) {
  const wrap = panelOf(page, 'SKUs').locator('.table-wrap');
  const [scroll, client, viewport] = await wrap.evaluate((w) => [w.querySelector('table').scrollWidth, w.clientWidth, window.innerWidth]);
  assert.equal(viewport, 1440);
  assert.ok(scroll <= client, `${what}: the SKU table is ${scroll} px wide in ${client} px`);
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= document.documentElement.clientWidth), `${what}: the page scrolls sideways`);
}

async function until(page, hash, check, what, timeout = 45000) {
  await waitFor(async () => {
    await go(page, stack.url, hash);
    return check();
  }, { what, timeout, interval: 1000 });
}

test('at rest: every brand on the home, the quiet one needing nothing, every channel without failures', async () => {
  await converge([br]);
  const { page } = ui;
  await go(page, stack.url, '/');
  const rows = await panelOf(page, 'Health').locator('tbody tr').evaluateAll((trs) => trs.map((r) => r.dataset.brand));
  assert.deepEqual([...rows].sort(), [br.id, quiet.id].sort());
  const q = await healthRow(page, quiet.id).evaluate((r) => [...r.cells].map((c) => c.innerText.trim()));
  assert.equal(q[0].split('\n')[0], quiet.name);
  assert.match(q[1], /nothing needs anyone/);
  assert.equal(q[2], 'none open');
  assert.match(q[3], /^0 out of stock\s+0 low\s+0 units stranded$/);
  assert.equal(q[4], 'no channel yet');
  // The channel brand: three channels, none failing.
  const channels = await healthRow(page, br.id).locator('li.channel-line').evaluateAll((lis) => lis.map((l) => l.innerText.replace(/\s+/g, ' ')));
  assert.equal(channels.length, 3, JSON.stringify(channels));
  for (const kind of ['shopify', 'amazon', 'walmart']) {
    const line = channels.find((c) => c.startsWith(name(kind)));
    assert.ok(line, kind);
    assert.doesNotMatch(line, /failing/, kind);
    assert.match(line, /push lag (p99 [\d.,]+ (ms|s)|not measured yet)/, line);
  }

  await assertSound(ui, 'home at rest');
  assert.deepEqual(takeApiErrors(ui), []);
});

test('the SKU list shows, on every row, what each channel shows now beside the ledger columns and days of cover', async () => {
  const { page } = ui;
  await go(page, stack.url, `/brands/${br.id}/skus`);
  const row = panelOf(page, 'SKUs').locator('tbody tr', { hasText: code('A') });
  const marks = await row.locator('li.sku-channel').evaluateAll((lis) => lis.map((l) => ({ status: l.dataset.status, text: l.innerText.replace(/\s+/g, ' '), title: l.title })));
  assert.equal(marks.length, 3, JSON.stringify(marks));
  for (const m of marks) {
    assert.equal(m.status, 'in_sync', JSON.stringify(m));
    assert.match(m.text, new RegExp(`✓ in sync ${STOCK}$`), m.text);
    assert.match(m.title, new RegExp(`In sync; onecount publishes ${STOCK}, last pushed ${STOCK}`), m.title);
  }
  // Column labels, without a sortable column's arrow.
  const headers = await panelOf(page, 'SKUs').locator('thead th').evaluateAll((ths) => ths.map((t) => {
    const arrow = t.querySelector('.sort-arrow');
    return t.textContent.replace(arrow ? arrow.textContent : '', '').trim();
  }));
  for (const hdr of ['On hand', 'Committed', 'Held', 'Available', 'Days of cover', 'Channels now']) assert.ok(headers.includes(hdr), hdr);
  await assertFits(page, 'at rest');
  await screenshot(page, 'skus-channels');
  // A long channel name is cut short on screen and whole in the tooltip: still no sideways scrolling.
  const amz = br.conns.amazon;
  const long = 'Amazon US \u2014 main seller account (merchant fulfilled)';
  assert.equal((await br.api.patch(`${base}/connections/${amz.id}`, { name: long })).status, 200);
  try {
    await go(page, stack.url, `/brands/${br.id}/listings`);
    await go(page, stack.url, `/brands/${br.id}/skus`);
    const mark = row.locator('li.sku-channel', { hasText: long });
    assert.ok((await mark.getAttribute('title')).startsWith(`${long}: In sync; onecount publishes ${STOCK}`));
    const label = mark.locator('.sku-channel-name');
    assert.equal(await label.getAttribute('aria-label'), await mark.getAttribute('title'), 'the link says it whole');
    assert.ok(await label.evaluate((a) => a.scrollWidth > a.clientWidth), 'the name is cut on screen');
    await assertFits(page, 'a long channel name');
    await screenshot(page, 'skus-channels-long-name');
  } finally {
    assert.equal((await br.api.patch(`${base}/connections/${amz.id}`, { name: name('amazon') })).status, 200);
  }
  await assertSound(ui, 'SKU list');
  assert.deepEqual(takeApiErrors(ui), []);
});

test('an oversell and a Shopify outage appear on the home within seconds, worst first, and close by themselves when fixed', async () => {
  const { page } = ui;
  const shop = br.conns.shopify;
  const a = code('A');
  const o = await br.sim.post(`/_sim/accounts/${shop.account.id}/orders`, { sku: a, quantity: STOCK + 7, force: true });
  assert.equal(o.status, 201, o.text);
  const dash = async () => (await P.api.get(`/api/v1/portfolios/${P.pid}/dashboard`)).json.brands.find((b) => b.brand_id === br.id);
  const t0 = Date.now();
  // The sale comes in (Shopify's webhook) before the channel goes down.
  await waitFor(async () => (await dash()).oversells.open === 1, { what: 'the oversell', timeout: 30000, interval: 250 });
  assert.equal((await br.sim.put(`/_sim/accounts/${shop.account.id}/faults`, { error_rate: 1 })).status, 200);
  try {
    for (const s of ['B', 'C', 'D', 'E', 'F']) {
      if ((await dash()).failing_connections > 0) break;
      assert.equal((await br.api.post(`${base}/movements`, { kind: 'receipt', sku: code(s), qty: 1 })).status, 201);
      await sleep(1500);
    }
    await waitFor(async () => {
      const d = await dash();
      return d.oversells.open === 1 && d.failing_connections === 1 && d.exceptions.by_kind.oversell >= 1 && d.exceptions.by_kind.connection_failing >= 1;
    }, { what: 'the oversell and the outage on the dashboard', timeout: 30000, interval: 250 });
    const seconds = (Date.now() - t0) / 1000;
    assert.ok(seconds < 30, `${seconds} s`);

    await until(page, '/', async () => /Oversold/.test(await healthRow(page, br.id).innerText()), 'the home to show the oversell');
    // Worst first: the busy brand leads.
    const first = await panelOf(page, 'Health').locator('tbody tr').first().getAttribute('data-brand');
    assert.equal(first, br.id);
    const cells = await healthRow(page, br.id).evaluate((r) => [...r.cells].map((c) => c.innerText.trim()));
    assert.match(cells[1], /critical|warning/);
    assert.match(cells[1], /\d+ Oversold/);
    assert.match(cells[1], /\d+ Channel failing/);
    assert.match(cells[2], /^1 open incident\s+7 units oversold\s+cost 31\.50 at unit cost$/);
    const shopLine = await healthRow(page, br.id).locator(`li.channel-line[data-connection="${shop.id}"]`).innerText();
    assert.match(shopLine.replace(/\s+/g, ' '), new RegExp(`^${name('shopify')} ✕ failing`));
    // Totals on top.
    assert.equal(await figure(page, 'oversold').innerText(), '7');
    assert.equal(await figure(page, 'failing').innerText(), '1');
    assert.ok(Number(await figure(page, 'exceptions').innerText()) >= 2);
    // A count leads to the queue filtered to it.
    const oversellLink = healthRow(page, br.id).getByRole('link', { name: /Oversold$/ });
    assert.equal(await oversellLink.getAttribute('href'), `#/portfolio/exceptions?brand=${br.id}&kind=oversell`);
    // The navigation counts (refreshed every 30 seconds, or at once on a new page).
    await page.locator(`#sidebar a[href="#/brands/${br.id}"] .count:not([hidden])`).waitFor({ timeout: 35000 });
    await screenshot(page, 'home-health');
    await oversellLink.click();
    await page.locator('h1', { hasText: 'Exceptions' }).waitFor();
    await idle(page);
    const rows = await panelOf(page, 'Exceptions').locator('tbody tr').evaluateAll((trs) => trs.map((r) => r.innerText));
    assert.ok(rows.length >= 1 && rows.every((r) => /Oversold/.test(r)), JSON.stringify(rows));

    // The brand overview: its top exceptions first; the tabs carry counts.
    await go(page, stack.url, `/brands/${br.id}`);
    const health = panelOf(page, 'Health');
    const top = await health.locator('.top-exceptions li').allInnerTexts();
    assert.ok(top.some((t) => /Oversold/.test(t)) && top.some((t) => /Channel failing/.test(t)), JSON.stringify(top));
    await page.locator('.tab', { hasText: 'Exceptions' }).locator('.count:not([hidden])').waitFor({ timeout: 35000 });
    assert.equal(await page.locator('.tab', { hasText: 'Oversells' }).locator('.count').innerText(), '1');
    assert.match(await health.innerText(), /Channels[\s\S]*✕ failing/);
    await screenshot(page, 'brand-overview-health');

    // The SKU list marks what Shopify shows while it fails: the newest number has not reached it.
    const mark = () => panelOf(page, 'SKUs').locator('tbody tr', { hasText: code('B') }).locator('li.sku-channel', { hasText: name('shopify') });
    await until(page, `/brands/${br.id}/skus`, async () => ['failing', 'behind'].includes(await mark().getAttribute('data-status')),
      'the Shopify mark on the SKU list', 30000);
    assert.match((await mark().innerText()).replace(/\s+/g, ' '), /^shopify-\S+ (✕ failing|◔ behind) \d+ → \d+$/);
    assert.match(await mark().getAttribute('title'), /^shopify-\S+: (Failing|Behind): .*; onecount publishes \d+, last pushed \d+/);
    for (const kind of ['amazon', 'walmart']) {
      const other = panelOf(page, 'SKUs').locator('tbody tr', { hasText: code('B') }).locator('li.sku-channel', { hasText: name(kind) });
      assert.equal(await other.getAttribute('data-status'), 'in_sync', kind);
    }
    await assertFits(page, 'Shopify failing');
    await screenshot(page, 'skus-channels-outage');
    await assertSound(ui, 'health during the outage');
  } finally {
    assert.equal((await br.sim.del(`/_sim/accounts/${shop.account.id}/faults`)).status, 200);
  }

  // Fixed: the oversell settled, the channel back (the next push closes the circuit).
  const incident = (await br.api.get(`${base}/oversells?state=open`)).json.items[0];
  assert.equal((await br.api.post(`${base}/oversells/${incident.id}/resolve`, { resolution: 'cancelled_order' })).status, 200);
  assert.equal((await br.api.post(`${base}/movements`, { kind: 'receipt', sku: code('B'), qty: 1 })).status, 201);
  await waitFor(async () => {
    const d = await dash();
    return d.oversells.open === 0 && d.failing_connections === 0 && !d.exceptions.by_kind.oversell && !d.exceptions.by_kind.connection_failing;
  }, { what: 'the items to close', timeout: 60000, interval: 500 });
  await until(page, '/', async () => !/Oversold|Channel failing/.test(await healthRow(page, br.id).innerText()), 'the home to clear');
  assert.equal(await figure(page, 'oversold').innerText(), '0');
  assert.equal(await figure(page, 'failing').innerText(), '0');
  assert.doesNotMatch(await healthRow(page, br.id).locator(`li.channel-line[data-connection="${shop.id}"]`).innerText(), /failing/);
  await assertSound(ui, 'health after the fix');
  assert.deepEqual(takeApiErrors(ui), []);
});
