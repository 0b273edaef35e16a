// templates.test.mjs — templates through the console (issue 13), against a
// real server and a brand wired to the channel simulator: a portfolio admin
// previews a rules template (Amazon buffer 3) on two brands and reads, per
// brand, the connection's rules from → to and the listings whose published
// quantity changes, and "nothing changes" for the brand without Amazon; the
// preview changed nothing (API); applying needs a reason and a confirmation,
// then the screen says what was applied and the connection's rules are
// {buffer: 3}; an SOP-overrides template with a bad cron shows the problem
// at the document, and a rules template's bad input at its field; the
// screen is admins' only (not in a brand owner's navigation).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from '../integration/lib/stack.mjs';
import { portfolio, brand, member } from '../integration/lib/world.mjs';
import { channelBrand } from '../integration/lib/sync.mjs';
import { launch } from './browser.mjs';
import { consoleAs, go, idle, navText, assertSound, screenshot, panelOf, takeApiErrors, notice, confirm } from './lib/console.mjs';

let stack, sim, browser, P, br, plain, owner, adminUi, ownerUi;

before(async () => {
  stack = await startStack();
  sim = await stack.startSim();
  browser = await launch();
  P = await portfolio(stack);
  br = await channelBrand(stack, P, sim, { skus: ['A', 'B'], stock: 20, webhooks: false, pollSeconds: 3600 });
  plain = await brand(P); // no connections at all
  owner = await member(stack, P, br.id, 'brand_owner');
  adminUi = await consoleAs(browser, stack.url, P);
  ownerUi = await consoleAs(browser, stack.url, owner);
});
after(async () => {
  await browser?.close();
  await stack?.stop();
});

const amazon = () => br.conns.amazon.id;
const connRules = async () => (await P.api.get(`/api/v1/brands/${br.id}/connections/${amazon()}`)).json.rules;
const desired = async () => (await P.api.get(`/api/v1/brands/${br.id}/listings?connection=${amazon()}`)).json.items
  .map((l) => [l.sku, l.desired_qty]).sort();
const brandResult = (page, id) => panelOf(page, 'What changes').locator(`section[data-brand="${id}"]`);

async function chooseBrands(page, ids) {
  const form = panelOf(page, 'Template');
  for (const id of ids) await form.locator(`input[type=checkbox][value="${id}"]`).check();
}

test('an admin previews a rules template on two brands, applies it with a reason', async () => {
  const { page } = adminUi;
  await go(page, stack.url, '/portfolio/templates');
  assert.match(await navText(page), /Routine\s+Checklist\s+Schedule\s+SOP\s+Templates/i);
  const rulesBefore = await connRules();
  const qtyBefore = await desired();
  assert.ok(qtyBefore.length >= 2 && qtyBefore.every(([, q]) => q > 3), JSON.stringify(qtyBefore));
  const form = panelOf(page, 'Template');
  await form.getByLabel('Set the rules of every Amazon connection').check();
  await form.getByLabel('Amazon buffer', { exact: true }).fill('3');
  await chooseBrands(page, [br.id, plain.id]);
  await form.getByRole('button', { name: 'Preview', exact: true }).click();
  await idle(page);
  const out = panelOf(page, 'What changes');
  await out.locator('[data-applied="false"]').waitFor();
  assert.match(await out.innerText(), /Preview for 2 brands: nothing is changed yet\s+1 of them would change/);
  const mine = brandResult(page, br.id);
  const conn = await mine.locator('[data-what="connections"]').innerText();
  assert.match(conn, /\(Amazon\): no rules → buffer 3/, conn);
  assert.match(await mine.locator('[data-what="listings"]').innerText(), new RegExp(`^The published quantity changes on ${qtyBefore.length} listings:$`));
  const rows = await mine.locator('tbody tr').evaluateAll((rs) => rs.map((r) => [...r.cells].map((c) => c.innerText.trim())));
  assert.deepEqual(rows.map((r) => [r[0], Number(r[2]), Number(r[3])]).sort(), qtyBefore.map(([sku, q]) => [sku, q, q - 3]));
  assert.equal(await brandResult(page, plain.id).locator('[data-what="nothing"]').innerText(), 'Nothing changes for this brand.');
  await screenshot(page, 'templates-preview');
  await assertSound(adminUi, 'templates preview');
  // changing the template marks the preview as no longer what Apply does
  await form.getByLabel('Amazon floor', { exact: true }).fill('1');
  assert.match(await out.locator('.stale').innerText(), /changed since this preview/);
  await form.getByLabel('Amazon floor', { exact: true }).fill('');
  // the preview changed nothing
  assert.deepEqual(await connRules(), rulesBefore);
  assert.deepEqual(await desired(), qtyBefore);

  // applying: the reason first, then a confirmation
  await form.getByRole('button', { name: 'Apply', exact: true }).click();
  const reasonErr = form.locator('[data-field="reason"] .problems');
  assert.match(await reasonErr.innerText(), /reason is kept/);
  assert.deepEqual(await connRules(), rulesBefore);
  await form.getByLabel('Reason for the change').fill('Amazon lags: hold 3 back');
  await form.getByRole('button', { name: 'Apply', exact: true }).click();
  await confirm(page, 'Apply');
  await notice(page, 'Applied to 2 brands');
  await out.locator('[data-applied="true"]').waitFor();
  assert.match(await out.innerText(), /Applied to 2 brands\s+1 of them changed, with the reason “Amazon lags: hold 3 back”/);
  assert.match(await brandResult(page, br.id).locator('[data-what="connections"]').innerText(), /no rules → buffer 3/);
  assert.equal(await brandResult(page, plain.id).locator('[data-what="nothing"]').innerText(), 'Nothing changed for this brand.');
  assert.equal(await reasonErr.count(), 0, 'the reason problem is gone');
  assert.deepEqual(await connRules(), { buffer: 3 });
  assert.deepEqual(await desired(), qtyBefore.map(([sku, q]) => [sku, q - 3]));
  const audit = (await P.api.get(`/api/v1/brands/${br.id}/audit?action=template.rules`)).json.items[0];
  assert.equal(audit.summary.reason, 'Amazon lags: hold 3 back');
  await screenshot(page, 'templates-applied');
  await assertSound(adminUi, 'templates applied');
  // previewing the same again: nothing left to change anywhere
  await form.getByRole('button', { name: 'Preview', exact: true }).click();
  await out.locator('[data-applied="false"]').waitFor();
  assert.equal(await out.locator('[data-what="nothing"]').count(), 2);
  assert.deepEqual(takeApiErrors(adminUi), []);
});

test('problems land at their fields: a bad buffer, a last-units channel a brand lacks, an SOP document with a bad cron', async () => {
  const { page } = adminUi;
  await page.reload();
  await idle(page);
  const form = panelOf(page, 'Template');
  await chooseBrands(page, [br.id, plain.id]);
  // a buffer that is neither a number nor "auto"
  await form.getByLabel('Set the rules of every Shopify connection').check();
  await form.getByLabel('Shopify buffer', { exact: true }).fill('lots');
  await form.getByRole('button', { name: 'Preview', exact: true }).click();
  await idle(page);
  assert.match(await form.locator('[data-field="rules.connections.shopify.buffer"] .problems').innerText(), /^Buffer is a number of units or "auto"/);
  assert.equal(await form.getByLabel('Shopify buffer', { exact: true }).getAttribute('aria-invalid'), 'true');
  await form.getByLabel('Set the rules of every Shopify connection').uncheck();
  // a last-units rule on Walmart: the brand without connections refuses the whole run
  await form.getByLabel('Last-units rule', { exact: true }).selectOption('set');
  await form.getByLabel('At or below (units)').fill('2');
  await form.getByLabel('Channel that shows the last units').selectOption('walmart');
  await form.getByRole('button', { name: 'Preview', exact: true }).click();
  await idle(page);
  const lu = await form.locator('[data-field="rules.last_units.channel_kind"] .problems').innerText();
  assert.match(lu, new RegExp(`${plain.name} has no walmart connection`), lu);
  assert.equal(await panelOf(page, 'What changes').locator('section[data-brand]').count(), 0, 'no result for a refused run');
  // SOP overrides: the document replaces each brand's overrides; a bad cron shows at the document
  await form.getByLabel('SOP overrides', { exact: true }).check();
  assert.match(await form.innerText(), /REPLACES each brand’s current overrides/);
  await form.getByLabel('Overrides document (JSON)').fill(JSON.stringify({ steps: [{ key: 'velocity', cron: '99 * * * *' }, { key: 'low_stock', cron: '0 25 * * *' }] }));
  await form.getByRole('button', { name: 'Preview', exact: true }).click();
  await idle(page);
  const problems = form.locator('[data-field="document"] .problems li');
  const fields = await problems.evaluateAll((ls) => ls.map((l) => l.dataset.field));
  assert.ok(fields.includes('document.steps[0].cron'), JSON.stringify(fields));
  assert.ok(fields.includes('document.steps[1].cron'), JSON.stringify(fields));
  assert.match(await problems.first().innerText(), /^Step 1 \(velocity\), Cron: .*minute: 99/);
  assert.equal(await form.getByLabel('Overrides document (JSON)').getAttribute('aria-invalid'), 'true');
  await screenshot(page, 'templates-problems');
  await assertSound(adminUi, 'templates problems');
  // a sound document previews per brand: the diff and the schedule
  await form.getByLabel('Overrides document (JSON)').fill(JSON.stringify({ steps: [{ key: 'velocity', every_s: 900 }] }));
  await form.getByRole('button', { name: 'Preview', exact: true }).click();
  await panelOf(page, 'What changes').locator('[data-applied="false"]').waitFor();
  assert.equal(await form.locator('.problems').count(), 0, 'the old problems are gone');
  const pb = await brandResult(page, plain.id).innerText();
  assert.match(pb, /Added \(1\)\s+velocity — Interval every 15 minutes \(900 s\)/, pb);
  assert.match(pb, /Schedule: 0 routines added, 1 changed, 0 retired/, pb);
  // the brand with overrides of its own (the polls' cadence per connection) sees what it loses, by connection name
  const amazonName = (await P.api.get(`/api/v1/brands/${br.id}/connections/${amazon()}`)).json.name;
  const mb = await brandResult(page, br.id).innerText();
  assert.match(mb, new RegExp(`Removed: the brand loses \\(\\d+\\)[\\s\\S]*read_back on ${amazonName} — Interval every hour`), mb);
  await screenshot(page, 'templates-sop-preview');
  await assertSound(adminUi, 'templates SOP preview');
  assert.deepEqual(takeApiErrors(adminUi).sort(), Array(3).fill(`422 /api/v1/portfolios/${P.pid}/templates/preview`));
});

test('a brand owner has no templates screen', async () => {
  const { page } = ownerUi;
  await go(page, stack.url, '/');
  assert.doesNotMatch(await navText(page), /Templates/);
  await go(page, stack.url, '/portfolio/templates');
  const main = await page.locator('main').innerText();
  assert.match(main, /Not allowed\s+Your role \(brand_owner\) may not do this; it needs admin permission/, main);
  // the same words as the server's answer
  const api = await owner.api.post(`/api/v1/portfolios/${P.pid}/templates/preview`, { kind: 'rules', brand_ids: [br.id], rules: {} });
  assert.equal(api.status, 403);
  assert.ok(main.toLowerCase().includes(api.json.error.message.toLowerCase()), `${main} / ${api.json.error.message}`);
  assert.equal(await panelOf(page, 'Template').count(), 0);
  await assertSound(ownerUi, 'templates (brand owner)');
});
