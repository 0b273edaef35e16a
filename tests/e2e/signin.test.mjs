// signin.test.mjs — signing in and out of the console: the wrong-password
// message, throttling with its wait, landing where the user was going, a
// session that ends while in use, and signing out for good.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, sleep } from '../integration/lib/stack.mjs';
import { portfolio, brand, member, PASSWORD } from '../integration/lib/world.mjs';
import { launch } from './browser.mjs';
import { freshConsole, signIn, go, mainText, navText, assertSound, screenshot } from './lib/console.mjs';

let stack, browser, P, A;
before(async () => {
  stack = await startStack();
  browser = await launch();
  P = await portfolio(stack, 'Signin Agency');
  A = await brand(P, 'Alpha Goods');
});
after(async () => {
  await browser?.close();
  await stack?.stop();
});

test('a wrong password says "invalid email or password" and keeps the user on the form', async () => {
  const s = await freshConsole(browser, stack.url);
  const { page } = s;
  await page.getByLabel('E-mail').fill(P.email);
  await page.getByLabel('Password').fill('not the password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  const alert = page.locator('.form-error');
  await alert.waitFor({ state: 'visible' });
  assert.equal(await alert.innerText(), 'Invalid email or password.');
  assert.equal(await page.getByLabel('Password').inputValue(), '', 'the wrong password is cleared');
  assert.match(page.url(), /#\/login/);
  // An unknown account reads exactly the same.
  await page.getByLabel('E-mail').fill('nobody@example.test');
  await page.getByLabel('Password').fill('whatever it is');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForFunction(() => document.querySelector('form[aria-busy="false"]'));
  assert.equal(await alert.innerText(), 'Invalid email or password.');
  // Empty fields are caught before asking the server, next to the field, all at once (the password was cleared).
  await page.getByLabel('E-mail').fill('');
  await page.getByRole('button', { name: 'Sign in' }).click();
  assert.deepEqual(await page.locator('.field-error:visible').allInnerTexts(), ['E-mail is required.', 'Password is required.']);
  assert.equal(await page.getByLabel('E-mail').getAttribute('aria-invalid'), 'true');
  assert.deepEqual(s.apiErrors, ['401 /api/v1/me', '401 /api/v1/auth/login', '401 /api/v1/auth/login']);
  await assertSound(s, 'sign-in after failures');
  await s.context.close();
});

test('after repeated failures the form shows the throttling message with the wait', async () => {
  const m = await member(stack, P, A.id, 'viewer');
  const s = await freshConsole(browser, stack.url);
  const { page } = s;
  await page.getByLabel('E-mail').fill(m.email);
  for (let i = 0; i < 5; i++) {
    await page.getByLabel('Password').fill(`wrong-${i}`);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForFunction(() => document.querySelector('form[aria-busy="false"]'));
  }
  // Even the right password is refused now, with the server's wait.
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForFunction(() => /too many/i.test(document.querySelector('.form-error')?.textContent || ''));
  const text = await page.locator('.form-error').innerText();
  assert.match(text, /^Too many failed sign-ins; wait before trying again\. You can try again in \d+ (minutes?|seconds?)\.$/);
  assert.ok(s.apiErrors.includes('429 /api/v1/auth/login'));
  await screenshot(page, 'sign-in-throttled');
  await assertSound(s, 'throttled sign-in');
  await s.context.close();
});

test('signing in lands on the portfolio home, or on the page the user asked for', async () => {
  const s = await freshConsole(browser, stack.url);
  await signIn(s.page, P.email, PASSWORD);
  assert.match(s.page.url(), /#\/$/);
  assert.equal(await s.page.locator('main h1').innerText(), 'Signin Agency');
  assert.match(await navText(s.page), /Alpha Goods/);
  assert.match(await navText(s.page), /Admin\s+admin-.*@example\.test\s+Portfolio admin/, 'who am I');
  await assertSound(s, 'home');
  await s.context.close();

  const d = await freshConsole(browser, stack.url, `/brands/${A.id}/audit`);
  assert.match(d.page.url(), /#\/login\?next=/);
  await signIn(d.page, P.email, PASSWORD);
  await d.page.locator('.tab[aria-current="page"]', { hasText: 'Audit log' }).waitFor();
  assert.match(d.page.url(), new RegExp(`#/brands/${A.id}/audit$`));
  await d.context.close();
});

test('a session that ends while in use returns to sign-in, then back to the same page', async () => {
  const s = await freshConsole(browser, stack.url);
  await signIn(s.page, P.email, PASSWORD);
  await go(s.page, stack.url, `/brands/${A.id}/settings`);
  const user = await stack.sql('SELECT id FROM users WHERE email = $1', [P.email]);
  await stack.sql('UPDATE sessions SET revoked_at = now() WHERE user_id = $1', [user.rows[0].id]);
  await sleep(1100); // the server caches a principal for a second
  await s.page.getByLabel('Name').fill('Alpha Goods Renamed');
  await s.page.getByRole('button', { name: 'Save changes' }).click();
  await s.page.locator('h1', { hasText: 'Sign in to onecount' }).waitFor();
  assert.match(await s.page.locator('#notices').innerText(), /Your session has ended; sign in again/);
  assert.match(s.page.url(), new RegExp(`#/login\\?next=%2Fbrands%2F${A.id}%2Fsettings$`));
  await signIn(s.page, P.email, PASSWORD);
  await s.page.locator('.tab[aria-current="page"]', { hasText: 'Settings' }).waitFor();
  assert.equal(await s.page.getByLabel('Name').inputValue(), 'Alpha Goods', 'nothing was saved without a session');
  assert.deepEqual(s.problems, []);
  await s.context.close();
});

test('signing out ends the session: the console is gone after a reload', async () => {
  const s = await freshConsole(browser, stack.url);
  const { page } = s;
  await signIn(page, P.email, PASSWORD);
  await page.locator('#sidebar').getByRole('button', { name: 'Sign out' }).click();
  await page.locator('h1', { hasText: 'Sign in to onecount' }).waitFor();
  assert.match(await page.locator('#notices').innerText(), /You are signed out/);
  assert.equal(await page.locator('#sidebar').isVisible(), false);
  assert.equal((await page.context().cookies()).filter((c) => c.name === 'oc_session').length, 0, 'cookie cleared');
  await page.reload();
  await page.locator('h1', { hasText: 'Sign in to onecount' }).waitFor();
  await go(page, stack.url, '/');
  assert.match(page.url(), /#\/login/);
  assert.doesNotMatch(await mainText(page), /Alpha Goods/);
  assert.deepEqual(s.problems, []);
  await s.context.close();
});
