// channels.test.mjs — channel connections, rules and listings through the
// console: a brand owner connects Shopify (the simulator's address as its
// base URL), Amazon and Walmart with the fields each needs, and never sees a
// stored secret again; tests, pauses, replaces credentials, edits rules (a
// bad value is refused under its field), sets the brand's last-units rule;
// an operator maps SKUs (Shopify's inventory item is optional), reads the
// unmapped report and auto-maps with its report; the operator cannot touch
// connections and a viewer cannot change anything, each getting the
// server's 403 on a typed address.  The tests run in order.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from '../integration/lib/stack.mjs';
import { startSim } from '../integration/lib/sim.mjs';
import { portfolio, brand, member } from '../integration/lib/world.mjs';
import { launch } from './browser.mjs';
import { consoleAs, go, idle, rendered, mainText, assertSound, screenshot, confirm, fillForm, tableRows, panelOf, takeApiErrors, notice, fieldError } from './lib/console.mjs';

const SECRET = 'shpat_DO_NOT_SHOW_7f3a9c51';
const SECRET2 = 'shpat_REPLACED_0b8e44d2';
const AMZ_SECRET = 'amzn-secret-4c1d9e';
let stack, sim, browser, P, A, base, owner, op, viewer, ownerUi, opUi, viewerUi;
const conns = {};

before(async () => {
  stack = await startStack();
  sim = await startSim();
  browser = await launch();
  P = await portfolio(stack, 'Channel Agency');
  A = await brand(P, 'Alpha Goods');
  base = `/api/v1/brands/${A.id}`;
  owner = await member(stack, P, A.id, 'brand_owner');
  op = await member(stack, P, A.id, 'operator');
  viewer = await member(stack, P, A.id, 'viewer');
  for (const [code, n] of [['A1', 10], ['A2', 6], ['A3', 0]]) {
    assert.equal((await owner.api.post(`${base}/skus`, { code, title: `Item ${code}` })).status, 201);
    if (n) assert.equal((await owner.api.post(`${base}/movements`, { kind: 'receipt', sku: code, qty: n })).status, 201);
  }
  ownerUi = await consoleAs(browser, stack.url, owner);
  opUi = await consoleAs(browser, stack.url, op);
  viewerUi = await consoleAs(browser, stack.url, viewer);
});
after(async () => {
  await browser?.close();
  await sim?.stop();
  await stack?.stop();
});


/** Fails if a secret is anywhere in the page: its text, its markup, an input's value, or storage. */
async function assertNoSecret(page, secrets, where) {
  const found = await page.evaluate((list) => {
    const hay = [document.documentElement.outerHTML, document.body.innerText,
      ...[...document.querySelectorAll('input, textarea')].map((i) => i.value),
      JSON.stringify({ ...localStorage }), JSON.stringify({ ...sessionStorage })].join('\n');
    return list.filter((s) => hay.includes(s));
  }, secrets);
  assert.deepEqual(found, [], `${where}: a stored secret is visible`);
}

test('a brand owner connects Shopify with the simulator\'s address; errors land under their fields; the secret is never shown again', async () => {
  const { page } = ownerUi;
  await go(page, stack.url, `/brands/${A.id}/channels`);
  assert.match(await mainText(page), /No channels connected yet\. Connect the first one\./);
  assert.match(await mainText(page), /Connect a channel first: the rule names the one connection/);
  await page.getByRole('link', { name: 'Connect a channel' }).click();
  await page.getByRole('button', { name: 'Connect channel' }).waitFor();
  // Shopify's fields, not Amazon's or Walmart's.
  assert.equal(await page.getByLabel('Shop domain').isVisible(), true);
  assert.equal(await page.getByLabel('Seller id').isVisible(), false);
  assert.equal(await page.getByLabel('Ship node (optional)').isVisible(), false);
  assert.equal(await page.getByLabel('Admin API access token').getAttribute('type'), 'password');

  await fillForm(page, { Name: 'US store', 'Base URL (optional)': `${sim.url}/shopify/acme`, 'Admin API access token': SECRET });
  // No shop: the console asks before the server would.
  await page.getByRole('button', { name: 'Connect channel' }).click();
  await fieldError(page, 'Shop domain is required.').waitFor();
  await fillForm(page, { 'Shop domain': 'acme.myshopify.com', 'Location (optional)': 'gid://shopify/Location/1',
    'Buffer (optional)': '2', 'Share (%) (optional)': '150' });
  // A share over 100: the server's 422 under Share.
  await page.getByRole('button', { name: 'Connect channel' }).click();
  await fieldError(page, 'Share is a percentage from 0 to 100.').waitFor();
  assert.equal(await page.getByLabel('Share (%) (optional)').getAttribute('aria-invalid'), 'true');
  // The client id path: the fields change with the choice.
  await page.getByLabel('Sign in with').selectOption({ label: 'App client id and secret' });
  assert.equal(await page.getByLabel('Admin API access token').isVisible(), false);
  assert.equal(await page.getByLabel('Client secret', { exact: true }).filter({ visible: true }).count(), 1);
  await page.getByLabel('Sign in with').selectOption({ label: 'Admin API access token' });
  await fillForm(page, { 'Share (%) (optional)': '50' });
  await page.getByRole('button', { name: 'Connect channel' }).click();
  await notice(page, 'US store connected; its credentials are sealed and will not be shown again.');
  await panelOf(page, 'US store').waitFor();
  await idle(page);
  conns.shop = page.url().split('/').pop();
  const text = await panelOf(page, 'US store').innerText();
  assert.match(text, /Channel\s+Shopify/);
  assert.match(text, /Status\s+Active/);
  assert.match(text, new RegExp(`Base URL\\s+${sim.url.replace(/[.]/g, '\\.')}/shopify/acme`));
  assert.match(text, /Rules\s+buffer 2 · share 50 %/);
  assert.match(text, /Shop domain\s+acme\.myshopify\.com/);
  assert.match(text, /Credentials\s+set\s+access_token/);
  await assertNoSecret(page, [SECRET], 'connection screen');
  await screenshot(page, 'connection');
  await page.reload();
  await panelOf(page, 'US store').waitFor();
  await idle(page);
  await assertNoSecret(page, [SECRET], 'connection screen after a reload');
  assert.equal(await page.locator('input[type="password"]:visible').count(), 0, 'no secret inputs until asked for');

  // The list.
  await go(page, stack.url, `/brands/${A.id}/channels`);
  const [listed] = await tableRows(page, 'Connections');
  assert.deepEqual(listed.slice(0, 3), ['US store', 'Shopify', 'Active']);
  assert.equal(listed[3], `${sim.url}/shopify/acme`);
  assert.match(listed[4], /set\s+access_token/);
  await assertNoSecret(page, [SECRET], 'connections list');
  assert.deepEqual(takeApiErrors(ownerUi), [`422 ${base}/connections`], 'the share over 100 (the missing shop never left the browser)');
  await assertSound(ownerUi, 'connect Shopify');
});

test('"Test connection" shows what the server answers; credentials are replaced on purpose; pause and resume', async () => {
  const { page } = ownerUi;
  await go(page, stack.url, `/brands/${A.id}/channels/${conns.shop}`);
  await page.getByRole('button', { name: 'Test connection' }).click();
  const report = page.locator('.report[aria-label="Test result"]');
  await report.waitFor();
  const answered = await report.innerText();
  // The server calls the simulator, which knows no shop "acme" nor this token: its answer, worded by its status, answered 200.
  assert.deepEqual(takeApiErrors(ownerUi), []);
  // An unknown shop is the channel rejecting the request (404: check the settings), not refusing credentials.
  assert.match(answered, /^Rejected\s+The channel rejected the request \(HTTP 404\); check the settings\n/);
  assert.match(answered, /Channel answered\s+(HTTP \d{3}|nothing \(no answer\))\s+Worth retrying\s+(yes|no): /);
  await screenshot(page, 'connection-tested');

  // Replacing credentials is an explicit action, and the form starts empty.
  await page.getByRole('button', { name: 'Replace credentials…' }).click();
  const box = panelOf(page, 'Credentials');
  assert.equal(await box.getByLabel('Admin API access token').inputValue(), '');
  await box.getByLabel('Admin API access token').fill(SECRET2);
  await box.getByLabel('Webhook signing secret (optional)').fill('whsec-1');
  await box.getByRole('button', { name: 'Replace credentials', exact: true }).click();
  await notice(page, 'Credentials replaced; the new ones are sealed and will not be shown.');
  await panelOf(page, 'US store').waitFor();
  await idle(page);
  assert.match(await panelOf(page, 'Credentials').innerText(), /set\s+access_token\s+set\s+webhook_secret/);
  await assertNoSecret(page, [SECRET, SECRET2, 'whsec-1'], 'after replacing credentials');
  const audit = await owner.api.get(`${base}/audit?action=connection.credentials`);
  assert.equal(audit.json.items.length, 1);
  assert.ok(!audit.text.includes(SECRET2));

  // Pause (asks first) and resume.
  await page.getByRole('button', { name: 'Pause', exact: true }).click();
  await confirm(page, 'Pause connection');
  await notice(page, 'US store paused.');
  await idle(page);
  assert.match(await panelOf(page, 'US store').innerText(), /Status\s+Paused/);
  await page.getByRole('button', { name: 'Resume' }).click();
  await notice(page, 'US store resumed.');
  await idle(page);
  assert.match(await panelOf(page, 'US store').innerText(), /Status\s+Active/);

  // Rules: a bad buffer is refused under Buffer; "auto" is fine.
  const rules = panelOf(page, 'Rules');
  await rules.getByLabel('Buffer (optional)').fill('lots');
  await rules.getByRole('button', { name: 'Save rules' }).click();
  await fieldError(page, 'Buffer is a number of units or "auto".').waitFor();
  assert.equal(await rules.getByLabel('Buffer (optional)').getAttribute('aria-invalid'), 'true');
  await rules.getByLabel('Buffer (optional)').fill('auto');
  await rules.getByLabel('Cap (optional)').fill('5');
  await rules.getByRole('button', { name: 'Save rules' }).click();
  await notice(page, 'Rules of US store saved; its listings are recomputed.');
  await idle(page);
  assert.match(await panelOf(page, 'US store').innerText(), /Rules\s+buffer auto · share 50 % · cap 5/);
  await assertSound(ownerUi, 'connection actions');
  assert.deepEqual(takeApiErrors(ownerUi), [`422 ${base}/connections/${conns.shop}`], 'the bad buffer');
});

test('Amazon and Walmart ask for their own settings and credentials', async () => {
  const { page } = ownerUi;
  await go(page, stack.url, `/brands/${A.id}/channels/new?kind=amazon`);
  assert.equal(await page.getByLabel('Shop domain').isVisible(), false);
  await fillForm(page, { Name: 'Amazon US', 'Seller id': 'A1SELLER', 'LWA client id': 'amzn1.app', 'LWA client secret': AMZ_SECRET });
  await page.getByRole('button', { name: 'Connect channel' }).click();
  await fieldError(page, 'Marketplace ids is required.').waitFor();
  await fillForm(page, { 'Marketplace ids': 'ATVPDKIKX0DER, A2EUQ1WTGCTBG2', Region: 'North America', 'Refresh token': 'Atzr|refresh' });
  await page.getByRole('button', { name: 'Connect channel' }).click();
  await notice(page, 'Amazon US connected');
  await panelOf(page, 'Amazon US').waitFor();
  await idle(page);
  conns.amazon = page.url().split('/').pop();
  const text = await panelOf(page, 'Amazon US').innerText();
  assert.match(text, /Marketplace ids\s+ATVPDKIKX0DER, A2EUQ1WTGCTBG2/);
  assert.match(text, /Region\s+na/);
  assert.match(text, /set\s+client_id\s+set\s+client_secret\s+set\s+refresh_token/);
  await assertNoSecret(page, [AMZ_SECRET, 'Atzr|refresh'], 'Amazon connection');

  await go(page, stack.url, `/brands/${A.id}/channels/new`);
  await page.getByLabel('Channel', { exact: true }).selectOption({ label: 'Walmart' });
  assert.equal(await page.getByLabel('Seller id').isVisible(), false);
  await fillForm(page, { Name: 'Walmart', 'Ship node (optional)': 'NODE-7', 'Client id': 'wm-id', 'Client secret': 'wm-secret' });
  await page.getByRole('button', { name: 'Connect channel' }).click();
  await notice(page, 'Walmart connected');
  await panelOf(page, 'Walmart').waitFor();
  await idle(page);
  conns.walmart = page.url().split('/').pop();
  // Same name twice: the server's 409 under Name.
  await go(page, stack.url, `/brands/${A.id}/channels/new?kind=walmart`);
  await fillForm(page, { Name: 'Walmart', 'Client id': 'x', 'Client secret': 'y' });
  await page.getByRole('button', { name: 'Connect channel' }).click();
  await fieldError(page, 'A connection with this name already exists.').waitFor();
  await assertSound(ownerUi, 'Amazon and Walmart');
  assert.deepEqual(takeApiErrors(ownerUi), [`409 ${base}/connections`]);
});

test('the brand\'s last-units rule: a bad threshold is refused under its field', async () => {
  const { page } = ownerUi;
  // A connection removed (elsewhere) while the form offers it: the server's 422 names it; it shows under the choice.
  const temp = await owner.api.post(`${base}/connections`, { kind: 'walmart', name: 'Temporary', settings: {}, credentials: { client_id: 'a', client_secret: 'b' } });
  assert.equal(temp.status, 201, temp.text);
  await go(page, stack.url, `/brands/${A.id}/channels`);
  const lu = panelOf(page, 'Last units');
  assert.match(await lu.innerText(), /No last-units rule/);
  await lu.getByLabel('Threshold (units)').fill('3');
  await lu.getByLabel('Only this connection shows them').selectOption({ label: 'Temporary (Walmart)' });
  assert.equal((await owner.api.del(`${base}/connections/${temp.json.id}`)).status, 200);
  await lu.getByRole('button', { name: 'Set rule' }).click();
  await fieldError(page, 'The connection does not exist in this brand.').waitFor();
  assert.equal(await lu.getByLabel('Only this connection shows them').getAttribute('aria-invalid'), 'true');
  await page.reload();
  await rendered(page);
  await lu.getByLabel('Threshold (units)').fill('-1');
  await lu.getByLabel('Only this connection shows them').selectOption({ label: 'Walmart (Walmart)' });
  await lu.getByRole('button', { name: 'Set rule' }).click();
  await fieldError(page, 'Threshold must be between 0 and 1000000000.').waitFor();
  assert.equal(await lu.getByLabel('Threshold (units)').getAttribute('aria-invalid'), 'true');
  await lu.getByLabel('Threshold (units)').fill('3');
  await lu.getByRole('button', { name: 'Set rule' }).click();
  await notice(page, 'Last-units rule saved; listings are recomputed.');
  await idle(page);
  assert.match(await panelOf(page, 'Last units').innerText(), /At or below 3 available, only Walmart shows stock; the others show 0\./);
  assert.deepEqual((await owner.api.get(`${base}/rules`)).json, { last_units: { threshold: 3, connection_id: conns.walmart } });
  await screenshot(page, 'channels');
  await assertSound(ownerUi, 'brand rules');
  assert.deepEqual(takeApiErrors(ownerUi), [`422 ${base}/rules`, `422 ${base}/rules`]);
});

test('an operator maps SKUs, reads the unmapped report and auto-maps with its report', async () => {
  const { page } = opUi;
  await go(page, stack.url, `/brands/${A.id}/listings`);
  assert.match(await mainText(page), /No listings yet/);
  const unmapped = await tableRows(page, 'Unmapped');
  assert.equal(unmapped.length, 9, '3 SKUs × 3 connections');
  assert.deepEqual(unmapped.map((r) => `${r[0]}@${r[1].split('\n')[0]}`).sort(),
    ['A1@Amazon US', 'A1@US store', 'A1@Walmart', 'A2@Amazon US', 'A2@US store', 'A2@Walmart', 'A3@Amazon US', 'A3@US store', 'A3@Walmart']);

  // Map A1 on the Shopify store: the inventory item may be given (without it the adapter finds it by SKU).
  await page.getByRole('link', { name: 'Map A1 on US store' }).click();
  await page.getByRole('button', { name: 'Map SKU' }).waitFor();
  assert.equal(await page.getByLabel('SKU', { exact: true }).inputValue(), 'A1');
  assert.match(await page.getByLabel('Shopify inventory item (optional)').evaluate((el) => el.closest('.field').innerText),
    /Empty: onecount finds it on the shop by the channel SKU\./);
  await fillForm(page, { 'Shopify inventory item (optional)': 'gid://shopify/InventoryItem/111', 'Channel SKU (optional)': 'SHOP-A1' });
  await page.getByRole('button', { name: 'Map SKU' }).click();
  await notice(page, 'A1 is listed on US store as SHOP-A1.');
  await panelOf(page, 'A1 on US store').waitFor();
  await idle(page);
  // 10 available; buffer auto (no sales yet: 0), share 50 % → 5, cap 5; 10 > 3, so last units does not apply.
  assert.match(await panelOf(page, 'A1 on US store').innerText(), /Desired\s+5\s+Bound by\s+the share/);
  assert.match(await panelOf(page, 'Why this number').innerText(), /Available: 10\s+Share of 50 %: 5/);

  // An override of this listing only.
  await page.getByLabel('Cap (optional)').fill('2');
  await page.getByRole('button', { name: 'Save listing' }).click();
  await notice(page, 'Listing saved: US store may now show 2 of A1.');
  await idle(page);
  assert.match(await panelOf(page, 'Why this number').innerText(), /Capped at 2[\s\S]*This listing overrides\s+cap 2/);
  await page.getByRole('button', { name: 'Pause' }).click();
  await notice(page, 'Listing of A1 on US store paused.');
  await idle(page);
  assert.match(await panelOf(page, 'A1 on US store').innerText(), /State\s+Paused/);
  await screenshot(page, 'listing');

  // Auto-map on Walmart maps all three; on the Shopify store the two not yet listed (found there by SKU).
  await go(page, stack.url, `/brands/${A.id}/listings`);
  await page.getByRole('button', { name: 'Auto-map Walmart by SKU code' }).click();
  const report = page.locator('.report[aria-label="Auto-map report for Walmart"]');
  await report.waitFor();
  assert.match(await report.innerText(), /Mapped 3 SKUs under their own codes:\s+A1\s+A2\s+A3/);
  await idle(page);
  await page.getByRole('button', { name: 'Auto-map US store by SKU code' }).click();
  const shopReport = page.locator('.report[aria-label="Auto-map report for US store"]');
  await shopReport.waitFor();
  assert.match(await shopReport.innerText(), /Mapped 2 SKUs under their own codes:\s+A2\s+A3/);
  await idle(page);
  assert.deepEqual((await tableRows(page, 'Unmapped')).map((r) => `${r[0]}@${r[1].split('\n')[0]}`).sort(),
    ['A1@Amazon US', 'A2@Amazon US', 'A3@Amazon US']);
  const listings = await tableRows(page, 'Listings');
  assert.deepEqual(listings.map((r) => [r[0], r[1].split('\n')[0]]),
    [['A1', 'US store'], ['A2', 'US store'], ['A3', 'US store'], ['A1', 'Walmart'], ['A2', 'Walmart'], ['A3', 'Walmart']]);
  // Walmart is the last-units channel: it shows what there is.
  assert.match(listings[3][3], /^10\s+by what is available$/);
  await screenshot(page, 'listings');

  // Map from the report; mapping it again is the server's 409 under Channel SKU.
  await page.getByRole('link', { name: 'Map A2 on Amazon US' }).click();
  await page.getByRole('button', { name: 'Map SKU' }).waitFor();
  assert.equal(await page.getByLabel('Shopify inventory item (optional)').isVisible(), false, 'only Shopify has one');
  await page.getByRole('button', { name: 'Map SKU' }).click();
  await notice(page, 'A2 is listed on Amazon US as A2.');
  await go(page, stack.url, `/brands/${A.id}/listings/new?connection=${conns.amazon}&sku=A2`);
  await page.getByRole('button', { name: 'Map SKU' }).click();
  await fieldError(page, 'This SKU or channel SKU is already listed on the connection.').waitFor();

  // Filters: one connection.
  await go(page, stack.url, `/brands/${A.id}/listings?connection=${conns.walmart}`);
  assert.deepEqual((await tableRows(page, 'Listings')).map((r) => r[0]), ['A1', 'A2', 'A3']);

  // The SKU shows each listing's number and what bound it.
  await go(page, stack.url, `/brands/${A.id}/sku/A1`);
  const onChannels = await tableRows(page, 'On channels');
  assert.deepEqual(onChannels.map((r) => [r[0].split('\n')[0], r[1], r[2], r[3]]),
    [['US store', 'SHOP-A1', '2', 'the cap'], ['Walmart', 'A1', '10', 'what is available']]);
  await assertSound(opUi, 'listings');
  assert.deepEqual(takeApiErrors(opUi), [`409 ${base}/listings`], 'the second mapping');
});

test('an operator cannot manage connections and a viewer cannot change anything: typed addresses answer 403', async () => {
  const { page } = opUi;
  await go(page, stack.url, `/brands/${A.id}/channels`);
  assert.equal(await page.getByRole('link', { name: 'Connect a channel' }).count(), 0);
  assert.equal((await tableRows(page, 'Connections')).length, 3, 'operators see the connections');
  assert.equal(await panelOf(page, 'Last units').getByRole('button', { name: 'Save rule' }).count(), 1, 'the brand rule is inventory work');
  await go(page, stack.url, `/brands/${A.id}/channels/${conns.shop}`);
  for (const name of ['Test connection', 'Pause', 'Delete', 'Replace credentials…', 'Save rules']) {
    assert.equal(await page.getByRole('button', { name, exact: true }).count(), 0, name);
  }
  assert.equal(await page.getByRole('button', { name: 'Auto-map US store by SKU code' }).count(), 1);
  assert.match(await panelOf(page, 'US store').innerText(), /set\s+access_token\s+set\s+webhook_secret/);
  await assertNoSecret(page, [SECRET, SECRET2], 'operator on the connection');
  await go(page, stack.url, `/brands/${A.id}/channels/new`);
  await page.locator('.panel-error').waitFor();
  assert.match(await mainText(page), /Not allowed\s+Your role \(operator\) may not do this; it needs channels permission\./);
  assert.equal((await op.api.patch(`${base}/connections/${conns.shop}`, { status: 'paused' })).status, 403, 'the server agrees');
  assert.deepEqual(opUi.problems, []);
  assert.deepEqual(takeApiErrors(opUi), []);

  const v = viewerUi.page;
  await go(v, stack.url, `/brands/${A.id}/listings`);
  assert.equal((await tableRows(v, 'Listings')).length, 7);
  assert.equal(await v.getByRole('link', { name: 'Map a SKU' }).count(), 0);
  assert.equal(await v.getByRole('button', { name: /Pause|Delete|Auto-map/ }).count(), 0);
  assert.equal(await v.getByRole('link', { name: /^Map / }).count(), 0);
  await go(v, stack.url, `/brands/${A.id}/channels`);
  assert.equal(await v.getByRole('button', { name: /rule/ }).count(), 0);
  assert.match(await panelOf(v, 'Last units').innerText(), /At or below 3 available, only Walmart shows stock/);
  await go(v, stack.url, `/brands/${A.id}/channels/${conns.amazon}`);
  const buttons = await v.getByRole('button').allInnerTexts();
  assert.deepEqual(buttons.filter((b) => !['Sign out', 'Go', 'Commands', 'Pause updates', 'Refresh now'].includes(b)), [], 'read-only (the health panel\'s refresh controls and the search box in the header change nothing)');
  await assertNoSecret(v, [AMZ_SECRET], 'viewer on the connection');
  await assertSound(viewerUi, 'viewer channel screens');
  for (const [path, perm] of [['channels/new', 'channels'], ['listings/new', 'inventory']]) {
    await go(v, stack.url, `/brands/${A.id}/${path}`);
    await v.locator('.panel-error').waitFor();
    assert.match(await mainText(v), new RegExp(`Your role \\(viewer\\) may not do this; it needs ${perm} permission\\.`), path);
  }
  // Another brand's connection is not there at all.
  const B = await brand(P, 'Beta Wares');
  const other = await P.api.post(`/api/v1/brands/${B.id}/connections`, { kind: 'walmart', name: 'W', settings: {}, credentials: { client_id: 'a', client_secret: 'b' } });
  assert.equal(other.status, 201, other.text);
  await go(v, stack.url, `/brands/${A.id}/channels/${other.json.id}`);
  await v.locator('.panel-error', { hasText: 'No such connection.' }).waitFor();
  assert.deepEqual(viewerUi.problems, []);
  assert.deepEqual(takeApiErrors(viewerUi), [`404 ${base}/connections/${other.json.id}`]);
});

test('deleting a connection asks first and takes its listings with it', async () => {
  const { page } = ownerUi;
  await go(page, stack.url, `/brands/${A.id}/channels/${conns.amazon}`);
  await page.getByRole('button', { name: 'Delete', exact: true }).click();
  const dialog = page.locator('dialog[open]');
  await dialog.waitFor();
  assert.match(await dialog.innerText(), /Delete Amazon US\?[\s\S]*removed with its sealed credentials and its 1 listing\./);
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await dialog.waitFor({ state: 'detached' });
  assert.equal((await owner.api.get(`${base}/connections/${conns.amazon}`)).status, 200, 'cancel keeps it');
  await page.getByRole('button', { name: 'Delete', exact: true }).click();
  await confirm(page, 'Delete connection');
  await notice(page, 'Amazon US deleted.');
  await panelOf(page, 'Connections').waitFor();
  await idle(page);
  assert.deepEqual((await tableRows(page, 'Connections')).map((r) => r[0]), ['US store', 'Walmart']);
  const left = (await owner.api.get(`${base}/listings`)).json.items;
  assert.ok(left.every((l) => l.connection !== 'Amazon US'));
  await assertSound(ownerUi, 'after deleting');
  assert.deepEqual(takeApiErrors(ownerUi), []);
});
