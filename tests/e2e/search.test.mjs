// search.test.mjs — the search box and the keyboard in Chromium: `/` goes to
// the search box (not while typing in a field), a SKU typed there is found
// in whichever brand holds it and opens; the command palette (Ctrl+K) is a
// labelled dialog with a listbox worked by the arrow keys, Enter and Escape;
// and a member of one brand never sees another brand's hits.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from '../integration/lib/stack.mjs';
import { portfolio, brand, member } from '../integration/lib/world.mjs';
import { launch } from './browser.mjs';
import { consoleAs, go, idle, rendered, mainText, assertSound, screenshot } from './lib/console.mjs';

let stack, browser, P, A, B, ui, viewerB;

before(async () => {
  stack = await startStack();
  browser = await launch();
  P = await portfolio(stack, 'Search Agency');
  A = await brand(P, 'Alpine Outfitters');
  B = await brand(P, 'Birch Home');
  for (const [b, code, title] of [[A, 'JKT-RAIN-M', 'Rain jacket, medium'], [A, 'JKT-RAIN-L', 'Rain jacket, large'], [B, 'LAMP-OAK', 'Oak lamp'],
    [B, 'JKT-HOOK', 'Jacket hook']]) {
    const r = await P.api.post(`/api/v1/brands/${b.id}/skus`, { code, title });
    assert.equal(r.status, 201, r.text);
  }
  viewerB = await member(stack, P, B.id, 'viewer');
  ui = await consoleAs(browser, stack.url, P);
});
after(async () => {
  await browser?.close();
  await stack?.stop();
});

test('`/` goes to the search box; a SKU typed there is found and opens', async () => {
  const { page } = ui;
  await go(page, stack.url, `/brands/${B.id}/skus`);
  // typing `/` into a field types it
  const filter = page.getByLabel('Code, title or barcode');
  await filter.focus();
  await page.keyboard.type('a/b');
  assert.equal(await filter.inputValue(), 'a/b');
  assert.notEqual(await page.evaluate(() => document.activeElement.id), 'global-search-input');
  // elsewhere it goes to the search box
  await page.locator('h1').click();
  await page.keyboard.press('/');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'global-search-input');
  assert.equal(await page.getByLabel('Search SKU codes, titles, channel SKUs and order numbers in every brand').inputValue(), '');
  await page.keyboard.type('jkt-rain-m');
  await page.keyboard.press('Enter');
  await rendered(page);
  assert.match(page.url(), /#\/search\?q=jkt-rain-m$/);
  const skus = page.locator('section.panel', { has: page.locator('h2', { hasText: /^SKUs/ }) });
  const hits = await skus.locator('li').allInnerTexts();
  assert.equal(hits.length, 1, hits.join('\n'));
  assert.match(hits[0], /JKT-RAIN-M\s+Rain jacket, medium\s+Alpine Outfitters/);
  assert.match(await mainText(page), /1 match for “jkt-rain-m”/);
  await screenshot(page, 'search-results');
  await assertSound(ui, 'search results');
  await skus.getByRole('link', { name: 'JKT-RAIN-M' }).click();
  await rendered(page);
  assert.match(page.url(), new RegExp(`#/brands/${A.id}/sku/JKT-RAIN-M$`));
  assert.equal(await page.locator('h1').innerText(), 'Alpine Outfitters');
  assert.match(await page.locator('.crumbs').innerText(), /JKT-RAIN-M/);

  // a prefix finds both brands' jackets, grouped, each naming its brand
  await page.keyboard.press('/');
  await page.keyboard.type('JKT');
  await page.keyboard.press('Enter');
  await rendered(page);
  const all = await skus.locator('li').allInnerTexts();
  assert.deepEqual(all.map((t) => t.split(/\s+/)[0]), ['JKT-HOOK', 'JKT-RAIN-L', 'JKT-RAIN-M']);
  assert.match(all[0], /Birch Home/);
});

test('the command palette: Ctrl+K, arrows, Enter to go, Escape to close', async () => {
  const { page } = ui;
  await go(page, stack.url, '/');
  await page.locator('h1').click();
  await page.keyboard.press('Control+k');
  const dialog = page.getByRole('dialog', { name: 'Go to or do' });
  await dialog.waitFor();
  const box = dialog.getByRole('combobox');
  assert.equal(await page.evaluate(() => document.activeElement.getAttribute('role')), 'combobox');
  assert.equal(await box.getAttribute('aria-expanded'), 'true');
  const listbox = dialog.getByRole('listbox');
  assert.equal(await box.getAttribute('aria-controls'), await listbox.getAttribute('id'));
  await screenshot(page, 'palette-open');

  // Escape closes and gives the focus back
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'detached' });

  // a brand's screen by words, picked with the arrow keys
  await page.keyboard.press('Control+k');
  await dialog.waitFor();
  await page.keyboard.type('birch list');
  const options = listbox.getByRole('option');
  const labels = () => listbox.locator('[role="option"] .palette-label').allTextContents();
  assert.deepEqual(await labels(), ['Birch Home: Listings', 'Birch Home: Listings waiting to be pushed', 'Search every brand for “birch list”']);
  // fewer words, more options: every Birch Home screen and action, then the search
  await box.fill('birch');
  const texts = await labels();
  assert.ok(texts.length > 5 && texts.slice(0, -1).every((t) => t.startsWith('Birch Home')), texts.join(' | '));
  assert.equal(texts.at(-1), 'Search every brand for “birch”');
  assert.equal(await options.first().getAttribute('aria-selected'), 'true');
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('ArrowDown');
  const third = options.nth(2);
  assert.equal(await third.getAttribute('aria-selected'), 'true');
  assert.equal(await box.getAttribute('aria-activedescendant'), await third.getAttribute('id'));
  await page.keyboard.press('ArrowUp');
  const second = options.nth(1);
  assert.equal(await second.getAttribute('aria-selected'), 'true');
  const label = await second.locator('.palette-label').textContent();
  await page.keyboard.press('Enter');
  await dialog.waitFor({ state: 'detached' });
  await rendered(page);
  // the brand's screens in the order of its tabs: Overview, Exceptions, SKUs, …
  assert.equal(label, 'Birch Home: Exceptions');
  assert.match(page.url(), new RegExp(`#/brands/${B.id}/exceptions$`));

  // a SKU from the search API, in another brand, by its code
  await page.keyboard.press('Control+k');
  await dialog.waitFor();
  await page.keyboard.type('jkt-rain-l');
  await listbox.getByRole('option', { name: /JKT-RAIN-L — Rain jacket, large/ }).waitFor();
  assert.equal(await options.first().getAttribute('aria-selected'), 'true');
  assert.match(await options.first().innerText(), /SKU in Alpine Outfitters/);
  await screenshot(page, 'palette-sku');
  await assertSound(ui, 'the palette with search hits');
  await page.keyboard.press('Enter');
  await rendered(page);
  assert.match(page.url(), new RegExp(`#/brands/${A.id}/sku/JKT-RAIN-L$`));

  // an action: New SKU in Alpine Outfitters
  await page.keyboard.press('Meta+k');
  await dialog.waitFor();
  await page.keyboard.type('alpine new sku');
  await page.keyboard.press('Enter');
  await rendered(page);
  assert.match(page.url(), new RegExp(`#/brands/${A.id}/skus/new$`));
  await idle(page);
});

const box = (page) => page.getByRole('dialog', { name: 'Go to or do' }).getByRole('combobox');

test('a member of one brand finds only that brand’s SKUs', async () => {
  const s = await consoleAs(browser, stack.url, viewerB);
  const { page } = s;
  await page.keyboard.press('/');
  await page.keyboard.type('JKT');
  await page.keyboard.press('Enter');
  await rendered(page);
  const text = await mainText(page);
  assert.match(text, /JKT-HOOK/);
  assert.doesNotMatch(text, /JKT-RAIN|Alpine/);
  // the palette offers no screen of the other brand either
  await page.keyboard.press('Control+k');
  const dialog = page.getByRole('dialog', { name: 'Go to or do' });
  await dialog.waitFor();
  await page.keyboard.type('alpine');
  await dialog.locator('.palette-status', { hasText: '1 option' }).waitFor();
  assert.deepEqual(await dialog.locator('[role="option"] .palette-label').allTextContents(), ['Search every brand for “alpine”']);
  await box(page).fill('jkt-rain');
  await page.waitForResponse((r) => r.url().includes('/search?q=jkt-rain'));
  await page.waitForTimeout(100);
  assert.deepEqual(await dialog.locator('[role="option"] .palette-label').allTextContents(), ['Search every brand for “jkt-rain”'],
    'no SKU of Alpine Outfitters');
  await page.keyboard.press('Escape');
  await assertSound(s, 'search as a brand viewer');
  await s.context.close();
});
