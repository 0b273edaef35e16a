// tokens_audit.test.mjs — API tokens in the console (the secret shown once,
// gone after a reload, revocation taking effect at once) and the audit logs
// that record it all: newest first, filtered by action, paged with a cursor.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from '../integration/lib/stack.mjs';
import { portfolio, brand, member, token, tokenClient } from '../integration/lib/world.mjs';
import { launch } from './browser.mjs';
import {
  consoleAs, go, idle, mainText, assertSound, screenshot, confirm, fillForm, readSecret, tableRows, row,
} from './lib/console.mjs';

let stack, browser, P, A, B, owner, operator, ownerUi, adminUi, secret;

before(async () => {
  stack = await startStack();
  browser = await launch();
  P = await portfolio(stack, 'Audit Agency');
  A = await brand(P, 'Alpha Goods');
  B = await brand(P, 'Beta Wares');
  owner = await member(stack, P, A.id, 'brand_owner');
  operator = await member(stack, P, A.id, 'operator');
  // The owner demotes the operator: an audited change with before and after.
  const r = await owner.api.patch(`/api/v1/brands/${A.id}/members/${operator.uid}`, { role: 'viewer' });
  assert.equal(r.status, 200, r.text);
  ownerUi = await consoleAs(browser, stack.url, owner, { permissions: ['clipboard-read', 'clipboard-write'] });
  adminUi = await consoleAs(browser, stack.url, P);
});
after(async () => {
  await browser?.close();
  await stack?.stop();
});

/** The [datetime] of every audit row shown, to check the order. */
const times = (page) => page.locator('main tbody tr time').evaluateAll((els) => els.map((e) => e.getAttribute('datetime')));
const isNewestFirst = (ts) => ts.every((t, i) => i === 0 || ts[i - 1] >= t);

test('a brand owner creates a token: the secret is shown once, works, and is gone after a reload', async () => {
  const { page } = ownerUi;
  await go(page, stack.url, `/brands/${A.id}/tokens`);
  const roles = await page.getByLabel('Role', { exact: true }).locator('option').allInnerTexts();
  assert.deepEqual(roles, ['Viewer', 'Operator', 'Brand owner'], 'brand token roles, none above the owner');
  await fillForm(page, { Name: 'Storefront', Role: 'Operator' });
  await page.getByRole('button', { name: 'Create token' }).click();
  secret = await readSecret(page, 'Storefront');
  assert.match(secret, /^oct_[A-Za-z0-9_-]{43}$/);
  const box = await page.locator('.secret').innerText();
  assert.match(box, /shown only this once and cannot be shown again/);
  assert.match(box, /acts as Operator in Alpha Goods/);
  await page.locator('.secret').getByRole('button', { name: 'Copy' }).click();
  await page.locator('.secret-status', { hasText: 'Copied to the clipboard.' }).waitFor();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), secret);
  await idle(page);
  const listed = await row(page, 'Tokens', 'Storefront').innerText();
  assert.match(listed, new RegExp(`Operator\\s+${secret.slice(0, 8)}…`));
  assert.match(listed, /never\s+Active/);
  await screenshot(page, 'token-created');
  await assertSound(ownerUi, 'tokens with a new secret');

  // The secret works as an API token, for this brand only.
  const api = tokenClient(stack.url, secret);
  assert.equal((await api.get(`/api/v1/brands/${A.id}`)).status, 200);
  assert.equal((await api.get(`/api/v1/brands/${B.id}`)).status, 404);

  // After a reload the secret is nowhere in the page; the list shows its use.
  await page.reload();
  await go(page, stack.url, `/brands/${A.id}/tokens`);
  assert.equal(await page.locator('.secret').count(), 0);
  assert.ok(!(await page.content()).includes(secret.slice(8)), 'the secret is not in the page');
  assert.doesNotMatch(await row(page, 'Tokens', 'Storefront').innerText(), /never/, 'last used is now a time');
  assert.equal(await page.locator('.secret-value').count(), 0);
});

test('revoking a token takes effect at once', async () => {
  const { page } = ownerUi;
  await page.getByRole('button', { name: 'Revoke token Storefront' }).click();
  await confirm(page, 'Revoke token');
  await row(page, 'Tokens', 'Storefront').locator('.badge', { hasText: 'Revoked' }).waitFor();
  assert.equal(await page.getByRole('button', { name: 'Revoke token Storefront' }).count(), 0);
  await page.locator('.notice', { hasText: 'Token “Storefront” revoked.' }).waitFor();
  assert.equal((await tokenClient(stack.url, secret).get(`/api/v1/brands/${A.id}`)).status, 401);
  assert.deepEqual(ownerUi.problems, []);
});

test('an admin creates and revokes a portfolio-wide token', async () => {
  const { page } = adminUi;
  await page.locator('#sidebar').getByRole('link', { name: 'API tokens' }).click();
  await page.locator('main h1', { hasText: 'API tokens' }).waitFor();
  await idle(page);
  const roles = await page.getByLabel('Role', { exact: true }).locator('option').allInnerTexts();
  assert.deepEqual(roles, ['Viewer', 'Operator', 'Portfolio admin']);
  await fillForm(page, { Name: 'Warehouse sync', Role: 'Viewer' });
  await page.getByRole('button', { name: 'Create token' }).click();
  const s = await readSecret(page, 'Warehouse sync');
  assert.match(await page.locator('.secret').innerText(), /acts as Viewer in every brand of the portfolio/);
  const api = tokenClient(stack.url, s);
  assert.equal((await api.get(`/api/v1/brands/${B.id}`)).status, 200, 'reaches every brand');
  await page.locator('.secret').getByRole('button', { name: 'Done' }).click();
  assert.equal(await page.locator('.secret').count(), 0, 'Done removes the secret');
  await idle(page);
  await page.getByRole('button', { name: 'Revoke token Warehouse sync' }).click();
  await confirm(page, 'Revoke token');
  await row(page, 'Tokens', 'Warehouse sync').locator('.badge', { hasText: 'Revoked' }).waitFor();
  assert.equal((await api.get(`/api/v1/brands/${B.id}`)).status, 401);
  await assertSound(adminUi, 'portfolio tokens');
});

test('the brand audit log shows who did what, newest first, and filters by action', async () => {
  const { page } = adminUi;
  await go(page, stack.url, `/brands/${A.id}/audit`);
  const rows = await tableRows(page, 'Audit log');
  const actions = rows.map((r) => r[2].split('\n')[1]);
  assert.deepEqual(actions.slice(0, 3), ['token.revoke', 'token.create', 'member.update']);
  assert.ok(actions.includes('invitation.create'));
  assert.ok(isNewestFirst(await times(page)), 'newest first');
  // Actor, object and the change, in words.
  const [revoke, create, demote] = rows;
  assert.match(revoke[1], /^brand_owner/, 'actor by name');
  assert.match(revoke[2], /^API token revoked/);
  assert.match(revoke[3], /^Storefront\s+API token$/);
  assert.match(create[4], /^role: Operator$/);
  assert.match(demote[2], /^Role changed/);
  assert.match(demote[3], /^operator\s+Person$/, 'the member by name');
  assert.match(demote[4], /^Operator → Viewer$/, 'before and after');
  await screenshot(page, 'brand-audit');
  await assertSound(adminUi, 'brand audit');

  // Filter by prefix: kept in the address.
  await page.getByLabel('Action starts with').fill('token.');
  await page.getByRole('button', { name: 'Filter' }).click();
  await page.waitForFunction(() => window.location.hash.endsWith('?action=token.'));
  await idle(page);
  const filtered = await tableRows(page, 'Audit log');
  assert.deepEqual(filtered.map((r) => r[2].split('\n')[1]), ['token.revoke', 'token.create']);
  await page.reload();
  await go(page, stack.url, `/brands/${A.id}/audit?action=token.`);
  assert.equal(await page.getByLabel('Action starts with').inputValue(), 'token.');
  assert.equal((await tableRows(page, 'Audit log')).length, 2);
  await page.getByRole('button', { name: 'Clear' }).click();
  await page.waitForFunction(() => !window.location.hash.includes('?action='));
  await idle(page);
  assert.ok((await tableRows(page, 'Audit log')).length > 2);
  await page.getByLabel('Action starts with').fill('nothing.like.this');
  await page.getByRole('button', { name: 'Filter' }).click();
  await page.locator('.table-status', { hasText: 'No entries match this filter.' }).waitFor();
});

test('a viewer reads the brand audit log too', async () => {
  const s = await consoleAs(browser, stack.url, operator);
  await go(s.page, stack.url, `/brands/${A.id}/audit`);
  const rows = await tableRows(s.page, 'Audit log');
  assert.ok(rows.length >= 4);
  assert.match(rows.find((r) => r[2].includes('member.update'))[3], /^operator\s+Person$/, 'itself, by name');
  assert.deepEqual(s.apiErrors.filter((e) => !e.endsWith('/api/v1/me')), [], 'no forbidden lookups for names');
  await assertSound(s, 'viewer audit');
  await s.context.close();
});

test('the portfolio audit log merges the portfolio\'s entries with every brand\'s', async () => {
  const { page } = adminUi;
  await page.locator('#sidebar').getByRole('link', { name: 'Audit log' }).click();
  await page.locator('main h1', { hasText: 'Audit log' }).waitFor();
  await idle(page);
  const rows = await tableRows(page, 'All activity');
  const byAction = (a) => rows.filter((r) => r[3].endsWith(a));
  assert.equal(byAction('brand.create').length, 2);
  assert.match(byAction('brand.create')[0][1], /^Portfolio$/, 'portfolio entries say so in the brand column');
  assert.deepEqual(byAction('brand.create').map((r) => r[4].split('\n')[0]).sort(), ['Alpha Goods', 'Beta Wares']);
  assert.match(byAction('token.create').find((r) => r[4].startsWith('Storefront'))[1], /^Alpha Goods$/);
  assert.ok(byAction('token.create').some((r) => r[4].startsWith('Warehouse sync') && r[1] === 'Portfolio'));
  assert.equal(byAction('invitation.accept').length, 2);
  assert.ok(isNewestFirst(await times(page)));
  await screenshot(page, 'portfolio-audit');
  await assertSound(adminUi, 'portfolio audit');
});

test('long audit logs page with "Load more", without gaps or repeats', async () => {
  for (let i = 0; i < 55; i++) await token(P, B.id, 'viewer', `bulk-${String(i).padStart(2, '0')}`);
  const { page } = adminUi;
  await go(page, stack.url, `/brands/${B.id}/audit`);
  assert.equal((await tableRows(page, 'Audit log')).length, 50, 'one page of 50');
  const more = page.getByRole('button', { name: 'Load more' });
  assert.ok(await more.isVisible());
  await more.click();
  await idle(page);
  const rows = await tableRows(page, 'Audit log');
  assert.equal(rows.length, 55, 'every entry of the brand');
  const names = rows.map((r) => r[3].split('\n')[0]);
  assert.equal(new Set(names).size, 55, 'no repeats');
  assert.deepEqual(names.slice(0, 2), ['bulk-54', 'bulk-53']);
  assert.equal(names[54], 'bulk-00');
  assert.equal(await more.isVisible(), false, 'no more pages');
  assert.ok(isNewestFirst(await times(page)));
  assert.match(await mainText(page), /bulk-00/);
  assert.deepEqual(adminUi.problems, []);
});
