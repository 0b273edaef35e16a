// charts.test.mjs — the console's charts (uPlot, vendored under web/vendor)
// on a SKU's real history: a brand wired to Shopify, Amazon and Walmart
// simulator accounts with a running worker sells by hand and on Shopify;
// then the SKU page draws its stock and each channel's published quantity
// and its units sold per channel, the legend names the channels, and the
// numbers under each chart are the ones the API answered, times in the
// brand's time zone.  The brand overview draws units sold per channel per
// day and days of cover; a connection draws its push lag; a SKU without
// history says so in words.  No console error (the content security policy
// holds: a violation is one), every control labelled, light and dark.
// Screenshots with OC_SCREENSHOTS=1.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, waitFor } from '../integration/lib/stack.mjs';
import { portfolio, member } from '../integration/lib/world.mjs';
import { channelBrand, converge, runNow } from '../integration/lib/sync.mjs';
import { launch } from './browser.mjs';
import { consoleAs, go, assertSound, screenshot, idle } from './lib/console.mjs';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// one panel close up, beside the full-page screenshots (OC_SCREENSHOTS=1)
async function closeUp(locator, name) {
  if (!process.env.OC_SCREENSHOTS) return;
  const dir = join(dirname(fileURLToPath(import.meta.url)), 'screenshots');
  mkdirSync(dir, { recursive: true });
  await locator.screenshot({ path: join(dir, `${name}.png`) });
}

let stack, sim, browser, P, br, base, owner, ui;
const TZ = 'Asia/Tokyo';
const STOCK = 30;

// what the console writes for a time in the brand's zone (ui/chart.js zonedTime, the browser's default locale)
const zoned = (page, iso) => page.evaluate(([t, tz]) => new Intl.DateTimeFormat(undefined,
  { timeZone: tz, day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' }).format(new Date(t)), [iso, TZ]);
const num = (s) => (s === '' ? null : Number(s.replace(/[^\d-]/g, '')));
const connName = (kind) => `${kind}-${br.conns[kind].account.id}`;

before(async () => {
  stack = await startStack();
  sim = await stack.startSim();
  browser = await launch();
  P = await portfolio(stack);
  br = await channelBrand(stack, P, sim, { skus: ['A', 'B'], stock: STOCK });
  base = `/api/v1/brands/${br.id}`;
  assert.equal((await br.api.patch(base, { timezone: TZ })).status, 200);
  owner = await member(stack, P, br.id, 'brand_owner');
  await stack.startWorker();
  await converge([br]);
  const [A] = br.skus;
  assert.equal((await br.api.post(`${base}/movements`, { kind: 'sale', lines: [{ sku: A, qty: 2 }] })).status, 201);
  const o = await br.sim.post(`/_sim/accounts/${br.conns.shopify.account.id}/orders`, { lines: [{ sku: A, quantity: 3 }] });
  assert.equal(o.status, 201, o.text);
  await waitFor(async () => {
    await runNow(br, ['poll_orders']);
    const h = (await br.api.get(`${base}/skus/${A}/history?kind=sale`)).json.items;
    return h.reduce((n, m) => n + m.qty, 0) === 5;
  }, { timeout: 60000, interval: 1000, what: 'the Shopify order recorded as a sale' });
  await converge([br]);
  ui = await consoleAs(browser, stack.url, owner, { viewport: { width: 1400, height: 1000 } });
});
after(async () => {
  await browser?.close();
  await stack?.stop();
});

// the rows of a chart's "Show the numbers" table, opened
async function numbers(fig) {
  await fig.locator('summary', { hasText: 'Show the numbers' }).click();
  return fig.locator('.chart-numbers tbody tr').evaluateAll((rows) => rows.map((r) => [...r.cells].map((c) => c.innerText.trim())));
}

test('the SKU page draws the SKU\'s real stock history and what each channel was sent', async () => {
  const [A] = br.skus;
  const { page } = ui;
  await go(page, stack.url, `/brands/${br.id}/sku/${A}`);
  const panel = page.locator('#sku-charts');
  await panel.locator('canvas').first().waitFor();
  assert.equal(await panel.locator('canvas').count(), 2, 'a stock chart and a sales chart');
  const api = (await br.api.get(`${base}/skus/${A}/stock-series`)).json;
  const stockFig = panel.locator('figure.chart', { hasText: 'Stock of' });
  // the legend names every series: on hand, available, each channel
  const legend = await stockFig.locator('.u-legend').innerText();
  for (const s of ['On hand', 'Available', ...['shopify', 'amazon', 'walmart'].map((k) => `${connName(k)} published`)])
    assert.ok(legend.includes(s), `the legend names ${s}: ${legend}`);
  // the sentence and the table say what the API answered
  const summary = await stockFig.locator('.chart-summary').innerText();
  const last = api.points.at(-1);
  assert.ok(summary.includes(`Now ${last.on_hand} on hand and ${last.available} available, after ${api.points.length} movements`), summary);
  assert.equal(last.available, STOCK - 5);
  const rows = await numbers(stockFig);
  const header = await stockFig.locator('.chart-numbers thead').textContent();
  assert.ok(header.includes(`When (${TZ})`), header);
  const moves = rows.filter((r) => r[2] !== '');
  assert.deepEqual(moves.map((r) => [num(r[2]), num(r[3])]), api.points.map((p) => [p.on_hand, p.available]));
  assert.equal(moves[0][0], await zoned(page, api.points[0].at), 'times are the brand\'s');
  const published = rows.filter((r) => r[4] !== '');
  assert.equal(published.length, api.channels.reduce((n, c) => n + c.points.length, 0));
  for (const c of api.channels) {
    const mine = published.filter((r) => r[1].startsWith(`${c.connection} published`)).map((r) => num(r[4]));
    assert.deepEqual(mine, c.points.map((p) => p.qty), c.connection);
  }
  // units sold per channel: today's row has the sales
  const salesApi = (await br.api.get(`${base}/sales?sku=${A}`)).json;
  const salesFig = panel.locator('figure.chart', { hasText: 'Units sold per channel per day' });
  const salesLegend = await salesFig.locator('.u-legend').innerText();
  assert.ok(salesLegend.includes(connName('shopify')) && salesLegend.includes('Without a channel'), salesLegend);
  const salesRows = await numbers(salesFig);
  assert.equal(salesRows.length, salesApi.dates.length);
  const cols = await salesFig.locator('.chart-numbers thead th').allTextContents();
  const today = salesRows.at(-1);
  for (const c of salesApi.channels) {
    const name = c.connection ?? 'Without a channel';
    assert.equal(num(today[cols.findIndex((x) => x === name)]), c.units.at(-1), name);
  }
  assert.equal(num(today.at(-1)), 5);
  // sell-through and days of cover as the API has them
  const st = (await br.api.get(`${base}/sell-through?sku=${A}`)).json.skus[0];
  const figs = await panel.locator('.chart-figures').innerText();
  assert.ok(figs.includes(`${Math.round(st.sell_through * 1000) / 10}%`), `${figs} / ${st.sell_through}`);
  assert.ok(figs.includes(`${Number(st.days_of_cover).toLocaleString()} days`), figs);
  await assertSound(ui, 'SKU charts');
  await screenshot(page, 'charts-sku');
  await closeUp(panel, 'charts-sku-panel');
  // another window redraws from the API
  await panel.getByLabel('Window').selectOption({ label: 'Last 7 days' });
  await idle(page);
  await panel.locator('canvas').first().waitFor();
  assert.equal(await panel.locator('canvas').count(), 2);
  await assertSound(ui, 'SKU charts, 7 days');
});

test('a SKU without history says so in words', async () => {
  const { page } = ui;
  const code = `EMPTY-${br.id.slice(0, 6)}`;
  assert.equal((await br.api.post(`${base}/skus`, { code })).status, 201);
  await go(page, stack.url, `/brands/${br.id}/sku/${code}`);
  const panel = page.locator('#sku-charts');
  await panel.locator('.chart-empty').first().waitFor();
  assert.equal(await panel.locator('canvas').count(), 0);
  const text = await panel.innerText();
  assert.ok(text.includes('No movement and nothing published in the last 14 days.'), text);
  assert.ok(text.includes(`Nothing sold of ${code} in the last 14 days.`), text);
  await assertSound(ui, 'empty SKU charts');
});

test('the brand overview draws units sold per channel per day and days of cover', async () => {
  const { page } = ui;
  await go(page, stack.url, `/brands/${br.id}`);
  const panel = page.locator('#brand-charts');
  await panel.locator('canvas').first().waitFor();
  assert.equal(await panel.locator('canvas').count(), 2);
  const sales = (await br.api.get(`${base}/sales`)).json;
  const fig = panel.locator('figure.chart', { hasText: 'Units sold per channel per day' });
  const legend = await fig.locator('.u-legend').innerText();
  for (const k of ['shopify', 'amazon', 'walmart']) assert.ok(legend.includes(connName(k)), legend);
  const rows = await numbers(fig);
  assert.equal(num(rows.at(-1).at(-1)), sales.total);
  const st = (await br.api.get(`${base}/sell-through`)).json;
  const cover = panel.locator('figure.chart', { hasText: 'Days of cover' });
  const coverRows = await numbers(cover);
  assert.deepEqual(coverRows.map((r) => r[0]), st.skus.map((s) => s.sku));
  // the charts sit above the activity log, where an operator looks first
  const order = await page.locator('main section.panel h2').allInnerTexts();
  assert.ok(order.indexOf('Sales') < order.indexOf('Latest activity'), order.join(' / '));
  await assertSound(ui, 'overview charts');
  await screenshot(page, 'charts-overview');
  await closeUp(panel, 'charts-overview-panel');
});

test('a connection draws its push lag; dark theme too', async () => {
  const { page } = ui;
  const id = br.conns.shopify.id;
  await go(page, stack.url, `/brands/${br.id}/channels/${id}`);
  const panel = page.locator('#push-lag');
  await panel.locator('canvas').waitFor();
  const lag = (await br.api.get(`${base}/connections/${id}/push-lag`)).json;
  assert.ok(lag.samples > 0);
  const legend = await panel.locator('.u-legend').innerText();
  assert.ok(legend.includes('p50') && legend.includes('p99'), legend);
  const rows = await numbers(panel);
  assert.deepEqual(rows.map((r) => num(r[1])), lag.points.map((p) => p.samples));
  await assertSound(ui, 'push lag');
  await screenshot(page, 'charts-connection');
  await closeUp(panel, 'charts-connection-panel');
  // the same SKU page in a dark colour scheme
  const dark = await consoleAs(browser, stack.url, owner, { viewport: { width: 1400, height: 1000 }, colorScheme: 'dark' });
  await go(dark.page, stack.url, `/brands/${br.id}/sku/${br.skus[0]}`);
  await dark.page.locator('#sku-charts canvas').first().waitFor();
  const bg = await dark.page.locator('#sku-charts .chart-plot').first().evaluate((el) => getComputedStyle(el).backgroundColor);
  assert.equal(bg, 'rgb(20, 26, 34)', 'the plot is drawn on the dark chart background');
  await assertSound(dark, 'dark SKU charts');
  await screenshot(dark.page, 'charts-sku-dark');
  await closeUp(dark.page.locator('#sku-charts'), 'charts-sku-dark-panel');
  await dark.context.close();
});
