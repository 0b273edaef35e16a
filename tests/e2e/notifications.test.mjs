// notifications.test.mjs — the Notifications screen in the browser: an admin
// adds a webhook endpoint (a bad address refused under its field), sees the
// signing secret once, presses "Send test" and sees the delivery in the log,
// received and signed by a real receiver through a real worker; a person
// chooses their own e-mail preferences.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { createHmac } from 'node:crypto';
import { startStack, waitFor } from '../integration/lib/stack.mjs';
import { portfolio, brand, member } from '../integration/lib/world.mjs';
import { startSmtpSink } from '../integration/lib/smtp_sink.mjs';
import { launch } from './browser.mjs';
import { consoleAs, go, idle, mainText, assertSound, screenshot, fillForm, readSecret, fieldError, navText } from './lib/console.mjs';

let stack, browser, sink, server, got, P, A, adminUi, op, opUi;

before(async () => {
  got = [];
  server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => { got.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') }); res.end('ok'); });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  sink = await startSmtpSink();
  stack = await startStack({ env: { ONECOUNT_SMTP_URL: sink.url, ONECOUNT_SMTP_FROM: 'alerts@onecount.test', ONECOUNT_NOTIFY_POLL_MS: '200' } });
  await stack.startWorker();
  browser = await launch();
  P = await portfolio(stack, 'Signal Agency');
  A = await brand(P, 'Alpha Goods');
  await brand(P, 'Beta Wares');
  op = await member(stack, P, A.id, 'operator');
  adminUi = await consoleAs(browser, stack.url, P, { permissions: ['clipboard-read', 'clipboard-write'] });
  opUi = await consoleAs(browser, stack.url, op);
});
after(async () => {
  await browser?.close();
  await stack?.stop();
  await sink?.close();
  await new Promise((r) => server.close(() => r()));
});

test('an admin adds an endpoint, sees its secret once, sends a test and sees it delivered in the log', async () => {
  const { page } = adminUi;
  assert.match(await navText(page), /Notifications/);
  await go(page, stack.url, '/portfolio/notifications');
  const form = page.getByRole('form', { name: 'Add a webhook endpoint' });
  // a bad address is refused under its field
  await fillForm(form, { Name: 'Ops pager', 'Address (URL)': 'ftp://hooks.example.test/x' });
  await page.getByRole('button', { name: 'Add endpoint' }).click();
  await fieldError(page, 'http:// or https://').waitFor();
  assert.equal(await page.locator('.secret').count(), 0);

  const url = `http://127.0.0.1:${server.address().port}/onecount`;
  await fillForm(form, { 'Address (URL)': url });
  // only credentials alerts of Alpha Goods
  const kinds = form.locator('fieldset', { has: page.locator('legend', { hasText: 'Which kinds' }) });
  await kinds.getByLabel('Every kind', { exact: true }).uncheck();
  await kinds.getByLabel('Credentials', { exact: true }).check();
  const brands = form.locator('fieldset', { has: page.locator('legend', { hasText: 'Which brands' }) });
  await brands.getByLabel('Every brand of the portfolio', { exact: true }).uncheck();
  await brands.getByLabel('Alpha Goods', { exact: true }).check();
  await form.getByLabel('How severe').selectOption({ label: 'Warnings and critical' });
  await page.getByRole('button', { name: 'Add endpoint' }).click();
  const secret = await readSecret(page, 'Ops pager');
  assert.match(secret, /^whsec_[0-9a-f]{64}$/);
  assert.match(await page.locator('.secret').innerText(), /shown only this once/);
  await page.locator('.secret').getByRole('button', { name: 'Copy' }).click();
  await page.locator('.secret-status', { hasText: 'Copied to the clipboard.' }).waitFor();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), secret);
  const card = page.getByRole('region', { name: 'Endpoint Ops pager' });
  await card.waitFor();
  assert.match(await card.innerText(), /Receives: Credentials · warnings and critical · Alpha Goods/);
  assert.match(await card.innerText(), /Nothing sent yet/);
  await screenshot(page, 'notifications-endpoint-added');
  await assertSound(adminUi, 'notifications with a new endpoint');

  await page.getByRole('button', { name: 'Send a test delivery to Ops pager' }).click();
  await card.locator('tbody tr', { hasText: 'Delivered' }).waitFor({ timeout: 15000 });
  const rowText = await card.locator('tbody tr').first().innerText();
  assert.match(rowText, /Test/);
  assert.match(rowText, /HTTP 200/);
  // the receiver got it, signed with the secret shown once
  const req = await waitFor(() => got.find((g) => g.headers['x-onecount-event'] === 'test'), { what: 'the test delivery' });
  const ts = req.headers['x-onecount-timestamp'];
  assert.equal(req.headers['x-onecount-signature'], `v1=${createHmac('sha256', secret).update(`${ts}.${req.body}`).digest('hex')}`);
  assert.equal(JSON.parse(req.body).id, req.headers['x-onecount-delivery']);
  await screenshot(page, 'notifications-delivered');

  // change it in place: a bad address is refused under its field; then every kind, critical only
  await page.getByRole('button', { name: 'Edit Ops pager' }).click();
  const edit = page.getByRole('form', { name: 'Change Ops pager' });
  await fillForm(edit, { 'Address (URL)': 'not an address' });
  await edit.getByRole('button', { name: 'Save changes' }).click();
  await edit.locator('.field-error:not([hidden])', { hasText: 'http:// or https://' }).waitFor();
  await fillForm(edit, { 'Address (URL)': url });
  await edit.locator('fieldset', { has: page.locator('legend', { hasText: 'Which kinds' }) })
    .getByLabel('Every kind', { exact: true }).check();
  await edit.getByLabel('How severe').selectOption({ label: 'Critical only' });
  await edit.getByRole('button', { name: 'Save changes' }).click();
  await page.getByRole('form', { name: 'Change Ops pager' }).waitFor({ state: 'detached' });
  await idle(page);
  assert.match(await card.innerText(), /Receives: every kind · critical only · Alpha Goods/);
  const changed = (await P.api.get(`/api/v1/portfolios/${P.pid}/webhooks`)).json.find((e) => e.name === 'Ops pager');
  assert.equal(changed.kinds, null);
  assert.equal(changed.min_severity, 'critical');
  assert.deepEqual(changed.brand_ids, changed.brands.map((b) => b.id));
  await assertSound(adminUi, 'notifications after an endpoint was changed');

  // after a reload the secret is nowhere
  await page.reload();
  await go(page, stack.url, '/portfolio/notifications');
  await idle(page);
  assert.equal(await page.locator('.secret').count(), 0);
  assert.ok(!(await page.content()).includes(secret.slice(6)));
  assert.match(await mainText(page), /Delivered/);
  await assertSound(adminUi, 'notifications after a reload');
});

test('a person chooses their own e-mail; an operator sees no webhooks', async () => {
  const { page } = opUi;
  await go(page, stack.url, '/me');
  await page.getByRole('link', { name: 'Choose your notifications' }).click();
  await page.getByRole('heading', { name: 'Your notifications' }).waitFor();
  assert.doesNotMatch(await mainText(page), /Webhook endpoints/);
  await fillForm(page, { 'E-mail me': 'In a daily digest' });
  await page.getByLabel('Digest hour').fill('30');
  await page.getByLabel('Time zone').fill('Mars/Olympus');
  await page.getByRole('button', { name: 'Save preferences' }).click();
  // both problems at once, under their fields
  await fieldError(page, 'an hour of the day').waitFor();
  await page.getByLabel('Digest hour').fill('7');
  await page.getByRole('button', { name: 'Save preferences' }).click();
  await fieldError(page, 'not a time zone').waitFor();
  await page.getByLabel('Time zone').fill('Europe/Berlin');
  await page.getByLabel('How severe').selectOption({ label: 'Critical only' });
  await page.getByRole('button', { name: 'Save preferences' }).click();
  await page.getByRole('status').filter({ hasText: 'One digest a day' }).waitFor();
  assert.match(await mainText(page), /after 07:00 \(Europe\/Berlin\)/);
  await screenshot(page, 'notifications-preferences');
  await assertSound(opUi, 'preferences saved');
  const saved = await op.api.get(`/api/v1/portfolios/${P.pid}/notifications/me`);
  assert.equal(saved.json.email_mode, 'digest');
  assert.equal(saved.json.digest_hour, 7);
  assert.equal(saved.json.timezone, 'Europe/Berlin');
  assert.equal(saved.json.min_severity, 'critical');
  // the form shows what was saved
  await page.reload();
  await page.getByRole('heading', { name: 'Your notifications' }).waitFor();
  await idle(page);
  assert.equal(await page.getByLabel('How severe').inputValue(), 'critical');
});
