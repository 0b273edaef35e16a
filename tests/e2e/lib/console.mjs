// console.mjs — helpers for driving the web console in tests: sign in
// through the form, open a screen, check a screen is sound (no script
// errors, every control labelled, no "null"/"undefined" leaking into the
// text), and screenshots on request (OC_SCREENSHOTS=1, into screenshots/,
// which git ignores).
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openPage } from '../browser.mjs';
import { PASSWORD } from '../../integration/lib/world.mjs';

const here = dirname(fileURLToPath(import.meta.url));

/** A fresh browser context (its own cookies) on the console's sign-in screen. */
export async function freshConsole(browser, url, hash = '/login', contextOptions = {}) {
  const s = await openPage(browser, `${url}/#${hash}`, { context: contextOptions });
  await rendered(s.page);
  return s;
}

/**
 * A fresh browser context signed in through the form as `who` (a member or a
 * portfolio: anything with the `email` of a user whose password is the
 * tests' PASSWORD); `contextOptions` as for freshConsole.
 */
export async function consoleAs(browser, url, who, contextOptions = {}) {
  const s = await freshConsole(browser, url, '/login', contextOptions);
  await signIn(s.page, who.email, PASSWORD);
  return s;
}

/** Signs in through the form and waits for the signed-in layout. */
export async function signIn(page, email, password) {
  await page.getByLabel('E-mail').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('body.signed-in').waitFor();
  await rendered(page);
}

/** Opens #<hash> and waits until the screen's heading is there. */
export async function go(page, url, hash) {
  await page.goto(`${url}/#${hash}`);
  await rendered(page);
}

/** Waits until the console has rendered the current address (after redirects) and loaded its tables. */
export async function rendered(page) {
  await page.waitForFunction(() => document.documentElement.dataset.rendered === window.location.hash);
  await idle(page);
}

/** Waits until no screen, table, form or button action is at work. */
export async function idle(page) {
  // A button's action (busy()) that waits on a confirmation dialog is the
  // user's turn, not work in progress.
  await page.waitForFunction(() => (!document.querySelector('[aria-busy="true"]') || document.querySelector('dialog[open]')) &&
    ![...document.querySelectorAll('.table-status')].some((e) => e.textContent === 'Loading…'));
}

/** The main area's text, for "is it there / is it not" checks. */
export const mainText = (page) => page.locator('main').innerText();

/** The sidebar's text ('' when signed out). */
export const navText = (page) => page.locator('#sidebar').innerText();

/**
 * Fails when the screen has a problem a user would notice or a test should:
 * console errors or exceptions so far, an unlabelled form control, or a
 * null/undefined/[object Object] rendered as text.
 */
export async function assertSound(session, what = 'screen') {
  const { page, problems } = session;
  await idle(page);
  assert.deepEqual(problems, [], `${what}: console errors or exceptions`);
  const unlabelled = await page.evaluate(() => [...document.querySelectorAll('input, select, textarea')]
    .filter((el) => el.type !== 'hidden' && !el.closest('[hidden]'))
    .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby'))
    .map((el) => el.outerHTML));
  assert.deepEqual(unlabelled, [], `${what}: form controls without a label`);
  const text = await page.locator('body').innerText();
  assert.doesNotMatch(text, /\b(null|undefined|NaN)\b|\[object Object\]/, `${what}: a raw value leaked into the page`);
}

/**
 * The API's error answers since the last call, as "STATUS /path" (see
 * browser.mjs), without the 401 of the session check before signing in; the
 * list starts empty again, so each step can say exactly which it expected.
 */
export function takeApiErrors(session) {
  return session.apiErrors.splice(0).filter((e) => e !== '401 /api/v1/me');
}

/** Saves a full-page screenshot when OC_SCREENSHOTS is set (for looking at the layout). */
export async function screenshot(page, name) {
  if (!process.env.OC_SCREENSHOTS) return;
  const dir = join(here, '..', 'screenshots');
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: join(dir, `${name}.png`), fullPage: true });
}

/** Accepts the next confirmation dialog by clicking its confirm button. */
export async function confirm(page, label) {
  const dialog = page.locator('dialog[open]');
  await dialog.waitFor();
  await dialog.getByRole('button', { name: label }).click();
  await dialog.waitFor({ state: 'detached' });
}

/**
 * Fills a form field by field: {label: value}; selects get their option
 * label.  Only visible controls count (forms hide the fields of other
 * choices, such as another channel's credentials).
 */
export async function fillForm(scope, values) {
  for (const [label, value] of Object.entries(values)) {
    const control = scope.getByLabel(label, { exact: true }).filter({ visible: true });
    if (await control.evaluate((el) => el.tagName === 'SELECT')) await control.selectOption({ label: value });
    else await control.fill(value);
  }
}

/** Reads the secret of the "shown once" box (an invitation link or a token). */
export async function readSecret(page, about) {
  const box = page.locator('.secret', { hasText: about });
  await box.waitFor();
  return box.locator('input.secret-value').inputValue();
}

/** The panel (section) whose heading is exactly `title`. */
export function panelOf(page, title) {
  const exact = new RegExp(`^${title.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
  return page.locator('section.panel', { has: page.locator('h2', { hasText: exact }) });
}

/** The rows of the table in the panel titled `title`, as arrays of cell texts (a row's selection checkbox left out). */
export async function tableRows(page, title) {
  const panel = panelOf(page, title);
  await idle(page);
  return panel.locator('tbody tr').evaluateAll((rows) => rows.map((r) => [...r.cells]
    .filter((c) => !c.classList.contains('select-col')).map((c) => c.innerText.trim())));
}

/** The row of a panel's table that contains `text`. */
export function row(page, title, text) {
  return panelOf(page, title).locator('tbody tr', { hasText: text });
}

/** Waits for a notice with `text`, then dismisses it (so a later wait for the same words needs a new one). */
export async function notice(page, text) {
  await page.locator('.notice', { hasText: text }).first().waitFor();
  await page.evaluate((t) => {
    for (const n of document.querySelectorAll('#notices .notice')) if (n.textContent.includes(t)) n.remove();
  }, text);
}

/** A visible field error with `text`. */
export const fieldError = (page, text) => page.locator('.field-error:not([hidden])', { hasText: text });
