// uiwords.test.mjs — what an operator tripped over in the console, each
// checked where it happened, against a real server, worker and channel
// simulators: forms report every problem at once under the form's own
// labels; channels, SKUs and audit objects by name, never by id; the
// brand-wide movement log names each SKU; status words that agree with the
// numbers beside them (a 503 is the channel unavailable, not a refusal; a
// read-back's counts add up; one duration and one date format, in the
// brand's time zone); the connection's rules before its long request log,
// which shows 20 rows until asked for more; the Shopify webhook address with
// a copy button; notices that cover nothing and stay on their screen; and a
// dark theme that follows the system.  The tests run in order.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, waitFor } from '../integration/lib/stack.mjs';
import { portfolio, member } from '../integration/lib/world.mjs';
import { channelBrand, runNow } from '../integration/lib/sync.mjs';
import { launch } from './browser.mjs';
import {
  consoleAs, go, idle, mainText, assertSound, screenshot, confirm, fillForm, tableRows, panelOf, takeApiErrors, notice, fieldError,
} from './lib/console.mjs';

const ZONE = 'Asia/Tokyo'; // the brand's; the browser reads New York time
let stack, sim, browser, P, br, owner, ownerUi;
const code = (s) => br.skus[['A', 'B'].indexOf(s)];

before(async () => {
  stack = await startStack();
  sim = await stack.startSim();
  browser = await launch();
  P = await portfolio(stack);
  br = await channelBrand(stack, P, sim, { skus: ['A', 'B'], stock: 20 });
  assert.equal((await br.api.patch(br.base, { timezone: ZONE })).status, 200);
  for (const [s, title] of [['A', 'Stoneware mug, 350 ml'], ['B', 'Linen tea towel']]) {
    const r = await br.api.patch(`${br.base}/skus/${code(s)}`, { title });
    assert.equal(r.status, 200, r.text);
  }
  owner = await member(stack, P, br.id, 'brand_owner');
  await stack.startWorker();
  ownerUi = await consoleAs(browser, stack.url, owner, { timezoneId: 'America/New_York' });
});
after(async () => {
  await browser?.close();
  await stack?.stop();
});

const visibleErrors = (page) => page.locator('.field-error:not([hidden])').allInnerTexts();

test('connecting a channel with nothing filled reports every missing field after one submit', async () => {
  const { page } = ownerUi;
  await go(page, stack.url, `/brands/${br.id}/channels/new`);
  await page.getByRole('button', { name: 'Connect channel' }).click();
  await fieldError(page, 'Name is required.').waitFor();
  assert.deepEqual((await visibleErrors(page)).sort(), ['Admin API access token is required.', 'Name is required.', 'Shop domain is required.']);
  for (const label of ['Name', 'Shop domain', 'Admin API access token']) {
    assert.equal(await page.getByLabel(label, { exact: true }).getAttribute('aria-invalid'), 'true', label);
  }
  assert.equal(await page.evaluate(() => document.activeElement.labels[0].textContent), 'Name', 'the first problem has the focus');
  // Filling one clears its message at the next submit, and the others stay.
  await fillForm(page, { Name: 'Second store' });
  await page.getByRole('button', { name: 'Connect channel' }).click();
  await fieldError(page, 'Shop domain is required.').waitFor();
  assert.deepEqual((await visibleErrors(page)).sort(), ['Admin API access token is required.', 'Shop domain is required.']);
  assert.deepEqual(takeApiErrors(ownerUi), [], 'nothing missing ever left the browser');
  await screenshot(page, 'uiwords-connect-all-missing');
  await assertSound(ownerUi, 'connect a channel');
});

test('a movement form puts every line\'s problem under it, and the server\'s words use the form\'s labels', async () => {
  const { page } = ownerUi;
  await go(page, stack.url, `/brands/${br.id}/stock/new?kind=receipt`);
  await page.getByRole('button', { name: 'Add line' }).click();
  await fillForm(page, { 'Units received of line 1': '3', 'SKU of line 2': code('B') });
  await page.getByRole('button', { name: 'Record receipt' }).click();
  await fieldError(page, 'SKU is required.').waitFor();
  assert.deepEqual((await visibleErrors(page)).sort(), ['SKU is required.', 'Units received must be a whole number.']);
  // The server refuses a negative receipt: its "qty must be…" is shown as the field's label.
  await fillForm(page, { 'SKU of line 1': code('A'), 'Units received of line 1': '-4', 'Units received of line 2': '2' });
  await page.getByRole('button', { name: 'Record receipt' }).click();
  await fieldError(page, 'Units received must be a positive whole number.').waitFor();
  assert.equal(await page.getByLabel('Units received of line 1').getAttribute('aria-invalid'), 'true');
  assert.doesNotMatch(await mainText(page), /\bQty\b|\bqty\b|lines\[/);
  assert.deepEqual(takeApiErrors(ownerUi), [`422 ${br.base}/movements`]);
  await assertSound(ownerUi, 'record a movement');
});

test('a file\'s problem names its column as the file does, not as a capitalised API name', async () => {
  const { page } = ownerUi;
  const r = await br.api.post(`${br.base}/imports?type=counts&dry_run=true`, `code,on_hand\n${code('A')},-1\n`, { 'content-type': 'text/csv' });
  assert.equal(r.status, 202, r.text);
  await waitFor(async () => ['done', 'failed'].includes((await br.api.get(`${br.base}/imports/${r.json.id}`)).json.status),
    { what: 'the dry run finished' });
  await go(page, stack.url, `/brands/${br.id}/imports/${r.json.id}`);
  const rows = await tableRows(page, 'Problems');
  assert.deepEqual(rows, [['2', 'on_hand', 'on_hand must be 0 or more.']]);
  assert.equal(await panelOf(page, 'Problems').locator('tbody td code', { hasText: 'on_hand' }).count(), 2, 'the column, as in the file');
  assert.doesNotMatch(await mainText(page), /On_hand/);
});

test('a channel sale is named by its connection in the movement log, which names every SKU; times are the brand\'s', async () => {
  const { page } = ownerUi;
  const wm = br.conns.walmart;
  const wmName = `walmart-${wm.account.id}`;
  const placed = await br.sim.post(`/_sim/accounts/${wm.account.id}/orders`, { sku: code('A'), quantity: 2 });
  assert.equal(placed.status, 201, placed.text);
  await runNow(br, ['poll_orders']);
  await waitFor(async () => (await br.api.get(`${br.base}/movements?kind=sale`)).json.items.length > 0,
    { timeout: 60000, what: 'the sale is recorded' });
  const sale = (await br.api.get(`${br.base}/movements?kind=sale`)).json.items[0];
  assert.equal(sale.channel, wmName, 'the API names the connection');
  assert.equal(sale.sku_title, 'Stoneware mug, 350 ml');

  await go(page, stack.url, `/brands/${br.id}/stock`);
  const rows = await tableRows(page, 'Movements');
  assert.ok(rows.length >= 3, JSON.stringify(rows));
  const head = await panelOf(page, 'Movements').locator('thead th').allInnerTexts();
  const skuCol = head.indexOf('SKU');
  assert.ok(skuCol > 0, `a SKU column: ${head}`);
  for (const r of rows) assert.match(r[skuCol], /^(A|B)-\w+\n(Stoneware mug, 350 ml|Linen tea towel)$/, `every row names its SKU: ${r}`);
  const saleRow = rows.find((r) => /Sale/.test(r[1]));
  assert.match(saleRow.join(' '), new RegExp(`On ${wmName}`));
  assert.doesNotMatch(await mainText(page), /Channel [0-9a-f]{8}\b/);
  // The brand's zone, named: Tokyo is GMT+9 whatever the reader's clock says.
  assert.match(saleRow[0], /GMT\+9/, saleRow[0]);
  assert.match(await mainText(page), new RegExp(`Times in ${ZONE}`));
  await screenshot(page, 'uiwords-movements');

  // A date filter speaks the brand's wall clock too: the sale's minute, typed as Tokyo time, finds it.
  const tokyo = new Intl.DateTimeFormat('en-CA', { timeZone: ZONE, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })
    .formatToParts(new Date(sale.at)).reduce((o, p) => ({ ...o, [p.type]: p.value }), {});
  await page.getByLabel('From (optional)', { exact: true }).fill(`${tokyo.year}-${tokyo.month}-${tokyo.day}T${tokyo.hour}:${tokyo.minute}`);
  await page.getByRole('button', { name: 'Filter' }).click();
  await idle(page);
  const from = new URL(page.url().replace('#', '')).searchParams.get('from');
  assert.equal(new Date(from).getTime(), Math.floor(new Date(sale.at).getTime() / 60000) * 60000, `from=${from} is the sale's minute`);
  assert.ok((await tableRows(page, 'Movements')).some((r) => /Sale/.test(r[1])));

  // The SKU's own history and timeline name the connection too.
  await go(page, stack.url, `/brands/${br.id}/sku/${code('A')}`);
  assert.doesNotMatch(await mainText(page), /Channel [0-9a-f]{8}\b/);
  assert.ok((await tableRows(page, 'Timeline')).some((r) => r[1] === 'Movement' && r[2] === wmName));
  await assertSound(ownerUi, 'movements');
  assert.deepEqual(takeApiErrors(ownerUi), []);
});

test('the audit log names its objects and labels every action in words', async () => {
  const { page } = ownerUi;
  await go(page, stack.url, `/brands/${br.id}/audit`);
  const rows = await tableRows(page, 'Audit log');
  assert.ok(rows.length >= 5);
  for (const r of rows) {
    const [label, apiName] = r[2].split('\n');
    assert.notEqual(label, apiName, `labelled in words: ${apiName}`);
    assert.doesNotMatch(label, /^[a-z_]+\.[a-z_]+$/, label);
    assert.doesNotMatch(r[3], /^[0-9a-f]{8}\b|\n(sku|listing|connection|user|token|routine|sop)$/, `object in words: ${r[3]}`);
    assert.doesNotMatch(r[3], /since removed/, `nothing here was removed: ${r[3]}`);
    assert.doesNotMatch(r[4], /(^|· |\n)[a-z]+_[a-z_]+:/, `what changed, in words: ${r[4]}`);
  }
  const conn = rows.find((r) => r[2].startsWith('Channel connected') && r[3].startsWith('shopify-'));
  assert.ok(conn, 'the connection by its name');
  assert.match(conn[3], /\nConnection$/);
  assert.ok(rows.some((r) => r[2].startsWith('SKU updated') && r[3] === `${code('A')} — Stoneware mug, 350 ml\nSKU`), 'a SKU by code and title');
  assert.ok(rows.some((r) => /via API token “/.test(r[1])), 'the token by its name');
  assert.ok(rows.some((r) => r[2].startsWith('Brand SOP override changed') && /^version \d+\nSOP$/.test(r[3])), 'an SOP by its version');
  assert.ok(rows.some((r) => r[2].startsWith('Routine schedule changed') && /^(walmart|amazon|shopify)-\d+\nRoutine$/.test(r[3])
    && /^interval \(seconds\): \d+ → 10$/.test(r[4])), 'a routine by its connection, the change in words');
  assert.ok(rows.some((r) => r[2].startsWith('File uploaded to be imported') && r[3] === 'Counts file of 1 row\nImport'), 'an import by its file');
  await screenshot(page, 'uiwords-audit');
  await assertSound(ownerUi, 'audit');
});

test('the Shopify connection: actions and rules first, the webhook address to copy, the request log last and short', async () => {
  const { page } = ownerUi;
  const shop = br.conns.shopify;
  // More than 20 requests on the channel's log (polls and read-backs ask it).
  const logged = async () => (await br.api.get(`${br.base}/connections/${shop.id}/channel-log`)).json.items.length;
  await waitFor(async () => {
    if (await logged() > 24) return true;
    await runNow(br, ['poll_orders', 'poll_returns', 'read_back']);
    await new Promise((r) => setTimeout(r, 500));
    return false;
  }, { timeout: 60000, what: 'more than 20 requests on the log' });
  await go(page, stack.url, `/brands/${br.id}/channels/${shop.id}`);
  await panelOf(page, 'What the channel received').waitFor();
  await idle(page);
  const titles = await page.locator('section.panel > header h2, section.panel h2').evaluateAll((hs) => [...new Set(hs.map((x) => x.textContent.trim()))]);
  const at = (t) => titles.indexOf(t);
  assert.ok(at('Rules') >= 0 && at('Rules') < at('Sync health') && at('Sync health') < at('What the channel received'), titles.join(' | '));
  assert.equal(titles[titles.length - 1], 'What the channel received', 'the long log is last');
  // The webhook address, with its copy button.
  const address = page.getByRole('textbox', { name: 'Webhook address' });
  assert.equal(await address.inputValue(), `${stack.url}/api/v1/webhooks/shopify/${br.id}/${shop.id}`);
  assert.equal(await address.getAttribute('readonly'), '');
  await page.context().grantPermissions(['clipboard-read', 'clipboard-write']);
  await page.getByRole('button', { name: 'Copy Webhook address' }).click();
  await page.locator('.secret-status', { hasText: /Copied to the clipboard\.|Select the text and copy it yourself\./ }).waitFor();
  // No internal setting, no raw key.
  const details = await panelOf(page, `shopify-${shop.account.id}`).innerText();
  assert.doesNotMatch(details, /sim_account|max_attempts|rate_scale/);
  // 20 requests until asked for more; one duration format.
  const log = panelOf(page, 'What the channel received');
  assert.equal(await log.locator('tbody tr').count(), 20, 'the newest 20');
  const more = log.getByRole('button', { name: /^Show more requests \(20 of \d+ shown\)$/ });
  await more.click();
  assert.ok((await log.locator('tbody tr').count()) > 20, 'more on request');
  assert.doesNotMatch(await mainText(page), /\d,\d{3} ms/, 'a second and more is in seconds');
  // The rarely used edit form is one click away.
  assert.equal(await page.getByRole('button', { name: 'Save changes' }).isVisible(), false);
  await page.getByRole('button', { name: 'Edit name, address and settings…' }).click();
  assert.equal(await page.getByRole('button', { name: 'Save changes' }).isVisible(), true);
  assert.match(await page.getByLabel('Shop domain').inputValue(), /\.myshopify\.com$/);
  // The rules sit high on the page: within the first two screens.
  const rulesTop = await panelOf(page, 'Rules').evaluate((el) => el.getBoundingClientRect().top + window.scrollY);
  assert.ok(rulesTop < 1600, `rules at ${rulesTop}px`);
  await screenshot(page, 'uiwords-connection');
  await assertSound(ownerUi, 'connection');
});

test('a 503 from the channel reads as unavailable, not refused', async () => {
  const { page } = ownerUi;
  const amz = br.conns.amazon;
  await go(page, stack.url, `/brands/${br.id}/channels/${amz.id}`);
  await br.sim.put(`/_sim/accounts/${amz.account.id}/faults`, { error_rate: 1 });
  const result = page.locator('.report[aria-label="Test result"]');
  try {
    await page.getByRole('button', { name: 'Test connection' }).click();
    await result.locator('text=Channel unavailable').waitFor({ timeout: 30000 });
  } finally {
    await br.sim.del(`/_sim/accounts/${amz.account.id}/faults`);
  }
  const text = await result.innerText();
  assert.match(text, /^Channel unavailable\s+The channel is unavailable right now \(HTTP 503\)/);
  assert.doesNotMatch(text, /Refused|did not let/);
  assert.match(text, /Took\s+[\d.]+ (ms|s)\b/);
});

test('status words agree with the numbers: read-back counts add up, "in sync" only when the channel agrees', async () => {
  const { page } = ownerUi;
  // The words of a read-back and of a listing, from the console's own modules.
  const words = await page.evaluate(async () => {
    const sw = await import('/js/views/sync-words.js');
    const fm = await import('/js/ui/format.js');
    return {
      seven: sw.readBackWords({ checked: 7, in_sync: 6, drift: 0 }),
      all: sw.readBackWords({ checked: 3, in_sync: 2, drift: 1 }),
      ms: [fm.durationMs(840), fm.durationMs(42735), fm.durationMs(185000)],
      refused: sw.channelFailureWords(401)[0],
      limited: sw.channelFailureWords(429)[0],
      down: sw.channelFailureWords(502)[0],
      network: sw.channelFailureWords(null)[0],
    };
  });
  assert.equal(words.seven, '7 listings checked: 6 in sync, 0 drifted, 1 not compared: a push to it is still on its way');
  assert.equal(words.all, '3 listings checked: 2 in sync, 1 drifted');
  assert.deepEqual(words.ms, ['840 ms', '42.7 s', '3 minutes']);
  assert.deepEqual([words.refused, words.limited, words.down, words.network], ['Refused', 'Rate limited', 'Channel unavailable', 'Not reached']);

  // A listing whose channel shows another number than was pushed does not say "in sync".
  const shop = br.conns.shopify;
  const listing = (await br.api.get(`${br.base}/listings?connection=${shop.id}`)).json.items.find((l) => l.sku === code('B'));
  await waitFor(async () => (await br.api.get(`${br.base}/listings/${listing.id}`)).json.in_sync, { timeout: 60000, what: 'B pushed' });
  // Someone edits the quantity on the channel; the read-back sees it.
  const set = await br.sim.put(`/_sim/accounts/${shop.account.id}/stock`, { [code('B')]: 999 });
  assert.equal(set.status, 200, set.text);
  await runNow(br, ['read_back']);
  await waitFor(async () => (await br.api.get(`${br.base}/listings/${listing.id}`)).json.seen_qty === 999,
    { timeout: 60000, what: 'the read-back saw 999' });
  await go(page, stack.url, `/brands/${br.id}/listings?connection=${shop.id}`);
  const rows = await tableRows(page, 'Listings');
  for (const r of rows) {
    const text = r.join(' | ');
    if (/In sync/.test(text)) {
      const nums = r.map((c) => c.split('\n')[0]);
      const head = await panelOf(page, 'Listings').locator('thead th').allInnerTexts();
      const pushed = nums[head.indexOf('Pushed')];
      const seen = nums[head.indexOf('Seen')];
      assert.ok(seen === '—' || seen === pushed, `"In sync" beside pushed ${pushed}, seen ${seen}`);
    }
  }
  await assertSound(ownerUi, 'listings');
});

test('notices cover nothing, can be dismissed, and do not follow to the next screen', async () => {
  const { page } = ownerUi;
  const wm = br.conns.walmart;
  await go(page, stack.url, `/brands/${br.id}/channels/${wm.id}`);
  await page.getByRole('button', { name: 'Pause', exact: true }).click();
  await confirm(page, 'Pause connection');
  const n = page.locator('.notice', { hasText: 'paused' });
  await n.waitFor();
  // Nothing that can be clicked lies under it.
  const covered = await page.evaluate(() => {
    const box = document.querySelector('.notice').getBoundingClientRect();
    return [...document.querySelectorAll('button, a, input, select, textarea')]
      .filter((el) => !el.closest('.notice') && el.offsetParent !== null)
      .filter((el) => {
        const r = el.getBoundingClientRect();
        return r.width && r.height && r.left < box.right && r.right > box.left && r.top < box.bottom && r.bottom > box.top;
      }).map((el) => el.outerHTML.slice(0, 80));
  });
  assert.deepEqual(covered, []);
  // It stays on its screen across a refresh of the same screen, and is gone on the next.
  await page.getByRole('button', { name: 'Resume', exact: true }).click();
  await page.locator('.notice', { hasText: 'resumed' }).waitFor();
  await page.locator('nav.tabs').getByRole('link', { name: 'Listings' }).click();
  await page.locator('main h2', { hasText: 'Listings' }).first().waitFor();
  await idle(page);
  assert.equal(await page.locator('.notice').count(), 0, 'the last screen\'s notices are gone');
  // A notice announcing the navigation it caused is kept once (connect → the connection).
  await go(page, stack.url, `/brands/${br.id}/channels/new?kind=walmart`);
  await fillForm(page, { Name: 'Walmart two', 'Base URL (optional)': `${sim.url}/walmart`, 'Client id': 'cid', 'Client secret': 'cs' });
  await page.getByRole('button', { name: 'Connect channel' }).click();
  await notice(page, 'Walmart two connected');
  // Dismissible by its button.
  await go(page, stack.url, `/brands/${br.id}/channels/${wm.id}`);
  await page.getByRole('button', { name: 'Pause', exact: true }).click();
  await confirm(page, 'Pause connection');
  await page.locator('.notice', { hasText: 'paused' }).waitFor();
  await page.locator('.notice', { hasText: 'paused' }).getByRole('button', { name: 'Dismiss' }).click();
  assert.equal(await page.locator('.notice').count(), 0);
  await page.getByRole('button', { name: 'Resume', exact: true }).click();
  await page.locator('.notice', { hasText: 'resumed' }).waitFor();
  await assertSound(ownerUi, 'notices');
});

test('the dark theme follows the system, with readable contrast', async () => {
  const s = await consoleAs(browser, stack.url, owner, { colorScheme: 'dark' });
  const { page } = s;
  await go(page, stack.url, `/brands/${br.id}/channels/${br.conns.shopify.id}`);
  await idle(page);
  const c = await page.evaluate(() => {
    const rgb = (v) => v.match(/\d+(\.\d+)?/g).slice(0, 3).map(Number);
    const lum = ([r, g, b]) => {
      const f = (x) => { const s = x / 255; return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4; };
      return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
    };
    const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
    const bgOf = (el) => {
      for (let e = el; e; e = e.parentElement) {
        const b = getComputedStyle(e).backgroundColor;
        if (b && !/rgba\(0, 0, 0, 0\)|transparent/.test(b)) return rgb(b);
      }
      return [255, 255, 255];
    };
    const pick = (sel) => document.querySelector(sel);
    const pairs = {};
    for (const [k, sel] of Object.entries({ body: 'main h1', panel: 'section.panel h2', muted: '.muted', link: 'main a', label: 'label', badge: '.badge', button: '.button-primary' })) {
      const el = pick(sel);
      if (el) pairs[k] = ratio(rgb(getComputedStyle(el).color), bgOf(el));
    }
    return { pageBg: rgb(getComputedStyle(document.body).backgroundColor), pairs };
  });
  assert.ok(c.pageBg.every((x) => x < 60), `a dark page: ${c.pageBg}`);
  for (const [k, r] of Object.entries(c.pairs)) assert.ok(r >= 4.5, `${k}: contrast ${r.toFixed(2)}`);
  assert.ok(Object.keys(c.pairs).length >= 6, JSON.stringify(c.pairs));
  await screenshot(page, 'uiwords-dark-connection');
  await go(page, stack.url, `/brands/${br.id}/stock`);
  await screenshot(page, 'uiwords-dark-movements');
  await assertSound(s, 'dark theme');
  await s.context.close();
});
