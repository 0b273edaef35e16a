// console.test.mjs — the web console in a real Chromium.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from '../integration/lib/stack.mjs';
import { launch, openPage } from './browser.mjs';

let stack, browser;
before(async () => {
  stack = await startStack();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await stack?.stop();
});

test('the console loads under its content security policy without errors', async () => {
  const { page, context, problems } = await openPage(browser, stack.url + '/');
  assert.match(await page.title(), /onecount/);
  assert.equal(await page.locator('h1').first().textContent(), 'onecount');
  assert.deepEqual(problems, []);
  await context.close();
});
