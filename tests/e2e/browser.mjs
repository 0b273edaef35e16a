// browser.mjs — launches Debian's Chromium through playwright-core for the
// console tests: headless, no sandbox (CI runs as root), and no background
// networking (the machine has no network beyond loopback).
import { chromium } from 'playwright-core';
import { existsSync } from 'node:fs';

export const CHROMIUM = process.env.OC_CHROMIUM || '/usr/bin/chromium';

export async function launch() {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}; run ops/setup.sh --test`);
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-default-apps', '--disable-extensions'],
  });
}

const API_ANSWER = /^Failed to load resource: the server responded with a status of (\d+)/;

/**
 * Opens a page that fails the test on any console error or uncaught exception
 * (CSP violations are console errors).  One kind of console error is not a
 * problem: Chromium logs every 4xx/5xx answer of the JSON API ("Failed to
 * load resource"), and the console gets such answers on purpose (401 before
 * sign-in, 422 for a bad field, 403, 410).  Those go to `apiErrors` as
 * "STATUS /path" so tests can assert exactly which ones happened; the same
 * line for any other URL (a missing script or stylesheet) stays a problem.
 */
export async function openPage(browser, url, { context: contextOptions = {} } = {}) {
  const context = await browser.newContext(contextOptions);
  const page = await context.newPage();
  const problems = [];
  const apiErrors = [];
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    const status = API_ANSWER.exec(m.text());
    const where = m.location()?.url ? new URL(m.location().url) : null;
    if (status && where && where.pathname.startsWith('/api/')) {
      apiErrors.push(`${status[1]} ${where.pathname}`);
      return;
    }
    problems.push(`console: ${m.text()}${where ? ` (${where.href})` : ''}`);
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  await page.goto(url);
  return { page, context, problems, apiErrors };
}
