// console.test.mjs — the web console in a real Chromium: it loads under the
// content security policy, sends signed-out users to sign-in, shows the
// server being unavailable, and its sources keep the rules the CSP and the
// "escape all user data" rule need.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync, existsSync } from 'node:fs';
import { join, dirname, resolve, relative } from 'node:path';
import { startStack, SOURCE_DIR } from '../integration/lib/stack.mjs';
import { launch, openPage } from './browser.mjs';
import { assertSound, screenshot } from './lib/console.mjs';

let stack, browser;
before(async () => {
  stack = await startStack();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await stack?.stop();
});

test('the console loads under its content security policy and asks a signed-out user to sign in', async () => {
  const s = await openPage(browser, `${stack.url}/`);
  const { page, context, apiErrors } = s;
  const csp = (await page.request.get(`${stack.url}/`)).headers()['content-security-policy'];
  assert.match(csp, /script-src 'self'/, 'served with the strict CSP');
  assert.match(await page.title(), /onecount/);
  await page.locator('h1', { hasText: 'Sign in to onecount' }).waitFor();
  assert.match(page.url(), /#\/login$/);
  assert.ok(await page.getByLabel('E-mail').isVisible());
  assert.ok(await page.getByLabel('Password').isVisible());
  assert.equal(await page.locator('#sidebar').isVisible(), false, 'no navigation before sign-in');
  assert.deepEqual(apiErrors, ['401 /api/v1/me'], 'the only failed request is the session check');
  await assertSound(s, 'sign-in screen');
  await screenshot(page, 'sign-in');
  // The skip link moves focus to the content without touching the route.
  await page.locator('.skip-link').focus();
  await page.keyboard.press('Enter');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'main');
  assert.match(page.url(), /#\/login$/);
  await context.close();
});

test('a deep link remembers where the user wanted to go', async () => {
  const { page, context } = await openPage(browser, `${stack.url}/#/brands/00000000-0000-4000-8000-000000000000/members`);
  await page.locator('h1', { hasText: 'Sign in to onecount' }).waitFor();
  assert.match(page.url(), /#\/login\?next=%2Fbrands%2F00000000-0000-4000-8000-000000000000%2Fmembers$/);
  await context.close();
});

test('an unknown address says so', async () => {
  const s = await openPage(browser, `${stack.url}/#/no/such/screen`);
  await s.page.locator('h1', { hasText: 'Page not found' }).waitFor();
  await assertSound(s, 'not found');
  await s.context.close();
});

test('503 from the API shows the unavailable banner with the server\'s wait, and retry recovers', async () => {
  const s = await openPage(browser, 'about:blank');
  const { page, context } = s;
  let down = true;
  await page.route('**/api/v1/me', (route) => (down
    ? route.fulfill({ status: 503, headers: { 'content-type': 'application/json', 'retry-after': '7' },
      body: JSON.stringify({ error: { code: 'unavailable', message: 'the database is unavailable; retry shortly', field: null } }) })
    : route.continue()));
  await page.goto(`${stack.url}/`);
  const banner = page.locator('#banner');
  await banner.waitFor({ state: 'visible' });
  const text = await banner.innerText();
  assert.match(text, /temporarily unavailable/);
  assert.match(text, /The database is unavailable; retry shortly\./);
  assert.match(text, /Try again in 7 seconds/);
  await screenshot(page, 'unavailable');
  down = false;
  await banner.getByRole('button', { name: 'Retry now' }).click();
  await page.locator('h1', { hasText: 'Sign in to onecount' }).waitFor();
  assert.equal(await banner.isVisible(), false, 'the banner goes once the server answers');
  assert.deepEqual(s.problems, []);
  await context.close();
});

// --- the sources keep the rules the CSP and escaping need --------------------------

const WEB = join(SOURCE_DIR, 'web');
function files(dir, ext) {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p, ext) : p.endsWith(ext) ? [p] : [];
  });
}

test('console sources: no HTML strings, no inline style or script, no eval, only local modules', () => {
  const js = files(join(WEB, 'js'), '.js');
  assert.ok(js.length > 5, 'the console has its modules under web/js');
  const forbidden = [
    [/\binnerHTML\b|\bouterHTML\b|insertAdjacentHTML|document\.write|DOMParser|createContextualFragment|srcdoc/, 'HTML from strings (use textContent / h())'],
    [/\beval\s*\(|new\s+Function\s*\(|setTimeout\s*\(\s*['"`]/, 'code from strings (blocked by the CSP)'],
    [/\.style\.|setAttribute\(\s*['"]style['"]|cssText/, 'inline style (blocked by the CSP; use a class)'],
    [/https?:\/\//, 'an absolute URL (no CDN, no external service)'],
  ];
  for (const f of js) {
    const src = readFileSync(f, 'utf8');
    for (const [re, why] of forbidden) assert.doesNotMatch(src, re, `${relative(SOURCE_DIR, f)}: ${why}`);
    // import … from '…' and import('…'), not the word inside a string ('from' as a query key)
    for (const m of src.matchAll(/(?<![\w'"$.])(?:import|from)\s*\(?\s*['"]([^'"]+)['"]/g)) {
      assert.match(m[1], /^\.\.?\//, `${relative(SOURCE_DIR, f)}: imports ${m[1]}; only relative modules are served`);
      assert.ok(existsSync(resolve(dirname(f), m[1])), `${relative(SOURCE_DIR, f)}: imports missing ${m[1]}`);
    }
  }
  for (const f of files(WEB, '.html')) {
    const src = readFileSync(f, 'utf8');
    assert.doesNotMatch(src, /<style|\sstyle=|\son[a-z]+=/i, `${relative(SOURCE_DIR, f)}: inline style or handler`);
    for (const m of src.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)) {
      assert.match(m[1], /\ssrc=/, `${relative(SOURCE_DIR, f)}: inline script`);
      assert.equal(m[2].trim(), '', `${relative(SOURCE_DIR, f)}: inline script body`);
    }
  }
});
