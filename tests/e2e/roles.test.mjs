// roles.test.mjs — a portfolio admin builds a portfolio through the console:
// creates brands, invites an operator and a brand owner; each accepts the
// link in a browser of their own and sees exactly what their role allows.
// The tests run in order and share the people they create.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from '../integration/lib/stack.mjs';
import { portfolio, PASSWORD, unique } from '../integration/lib/world.mjs';
import { launch } from './browser.mjs';
import {
  consoleAs, freshConsole, go, idle, rendered, mainText, navText, assertSound, screenshot, confirm, fillForm,
  readSecret, tableRows, row, panelOf,
} from './lib/console.mjs';

let stack, browser, P, admin;
const brands = {};
const links = {};
const people = {
  operator: { name: 'Olive Operator', email: `${unique('olive')}@example.test` },
  owner: { name: 'Bree Owner', email: `${unique('bree')}@example.test` },
};

before(async () => {
  stack = await startStack();
  browser = await launch();
  P = await portfolio(stack, 'Northwind Agency');
  admin = await consoleAs(browser, stack.url, P, { permissions: ['clipboard-read', 'clipboard-write'] });
});
after(async () => {
  await browser?.close();
  await stack?.stop();
});

// The tabs' labels, without the counts some carry (Exceptions, Oversells, Alerts & drift).
const tabsOf = (page) => page.locator('nav.tabs .tab').evaluateAll((as) => as.map((a) => a.firstChild.textContent.trim()));
/** The tabs every role that reads a brand has (inventory and channels; writing them is per role). */
const READ_TABS = ['Overview', 'Exceptions', 'SKUs', 'Stock', 'Holds', 'Oversells', 'Imports', 'Channels', 'Listings', 'Sync', 'SOP', 'Orders', 'Alerts & drift'];

/** Opens an invitation link in a new browser and accepts it as a new account. */
async function acceptAsNew(link, { name, password = PASSWORD }) {
  const s = await freshConsole(browser, stack.url, link.slice(link.indexOf('#') + 1));
  await s.page.locator('h1', { hasText: 'Join onecount' }).waitFor();
  await s.page.getByLabel('Your name').fill(name);
  await s.page.getByLabel('Choose a password').fill(password);
  await s.page.getByRole('button', { name: 'Accept and sign in' }).click();
  return s;
}

test('an admin creates brands; the server\'s field errors show next to the field', async () => {
  const { page } = admin;
  assert.equal(await page.locator('main h1').innerText(), 'Northwind Agency');
  assert.match(await mainText(page), /No brands yet\. Create the first one\./);
  for (const name of ['Alpha Goods', 'Beta Wares']) {
    await page.getByRole('button', { name: 'New brand' }).click();
    await fillForm(page, { Name: name, 'Time zone': 'Europe/Berlin' });
    await page.getByRole('button', { name: 'Create brand' }).click();
    await page.locator('.notice', { hasText: `Brand “${name}” created.` }).waitFor();
  }
  await idle(page);
  const rows = await tableRows(page, 'Brands');
  assert.deepEqual(rows.map((r) => r.slice(0, 4)), [
    ['Alpha Goods', 'Portfolio admin', 'Europe/Berlin', 'Active'],
    ['Beta Wares', 'Portfolio admin', 'Europe/Berlin', 'Active'],
  ]);
  assert.match(await navText(page), /Alpha Goods\s+Beta Wares/);

  // A duplicate name: 409 with field "name", shown under the Name field.
  await page.getByRole('button', { name: 'New brand' }).click();
  await fillForm(page, { Name: 'Alpha Goods', 'Time zone': 'UTC' });
  await page.getByRole('button', { name: 'Create brand' }).click();
  const nameField = page.getByLabel('Name', { exact: true });
  await page.locator('.field-error', { hasText: 'A brand with this name already exists in the portfolio.' }).waitFor();
  assert.equal(await nameField.getAttribute('aria-invalid'), 'true');
  assert.match(await nameField.getAttribute('aria-describedby'), /-error/);
  // A time zone the server refuses: 422 with field "timezone".
  await fillForm(page, { Name: 'Gamma Home', 'Time zone': 'Not a zone!' });
  await page.getByRole('button', { name: 'Create brand' }).click();
  await page.locator('.field-error', { hasText: 'Time zone must be an IANA name such as Europe/Berlin.' }).waitFor();
  assert.equal(await page.getByLabel('Time zone').getAttribute('aria-invalid'), 'true');
  assert.equal(await nameField.getAttribute('aria-invalid'), null, 'the earlier error is cleared');
  await page.getByRole('button', { name: 'Cancel' }).click();
  assert.ok(admin.apiErrors.includes('409 /api/v1/portfolios/' + P.pid + '/brands'));
  await screenshot(page, 'admin-home');

  const list = await P.api.get(`/api/v1/portfolios/${P.pid}/brands`);
  for (const b of list.json.items) brands[b.name] = b;
  assert.deepEqual(Object.keys(brands), ['Alpha Goods', 'Beta Wares'], 'the failed attempts created nothing');
  await assertSound(admin, 'admin home');
});

test('the admin invites an operator and a brand owner; each link is shown once with a copy button', async () => {
  const { page } = admin;
  await page.locator('#sidebar').getByRole('link', { name: 'Alpha Goods' }).click();
  await page.locator('main h1', { hasText: 'Alpha Goods' }).waitFor();
  await page.locator('nav.tabs').getByRole('link', { name: 'Members' }).click();
  await page.locator('.tab[aria-current="page"]', { hasText: 'Members' }).waitFor();
  assert.match(page.url(), new RegExp(`#/brands/${brands['Alpha Goods'].id}/members$`));

  for (const [who, role] of [['operator', 'Operator'], ['owner', 'Brand owner']]) {
    await fillForm(page, { 'E-mail': people[who].email, Role: role });
    await page.getByRole('button', { name: 'Create invitation' }).click();
    const link = await readSecret(page, people[who].email);
    assert.match(link, new RegExp(`^${stack.url}/#/accept\\?token=oci_[A-Za-z0-9_-]{43}$`));
    assert.match(await page.locator('.secret').innerText(), new RegExp(`shown only this once.*${role}`, 's'));
    await page.locator('.secret').getByRole('button', { name: 'Copy' }).click();
    await page.locator('.secret-status', { hasText: 'Copied to the clipboard.' }).waitFor();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), link);
    links[who] = link;
    await idle(page);
    assert.deepEqual((await row(page, 'Invitations', people[who].email).innerText()).split('\t').slice(0, 3).map((s) => s.trim()),
      [people[who].email, role, 'Pending']);
  }
  await screenshot(page, 'admin-invited');
  // The link lives only in the page: after a reload it is gone, and the list never shows it.
  await page.reload();
  await page.locator('.tab[aria-current="page"]', { hasText: 'Members' }).waitFor();
  await idle(page);
  assert.equal(await page.locator('.secret').count(), 0);
  const html = await page.content();
  for (const l of Object.values(links)) assert.ok(!html.includes(new URL(l).hash.split('=')[1]), 'token not in the page');
  await assertSound(admin, 'brand members (admin)');
});

test('the operator accepts, signs in, and sees its one brand read-only', async () => {
  // A password the server refuses comes back under the password field.
  const op = await acceptAsNew(links.operator, { name: people.operator.name, password: 'short' });
  const { page } = op;
  await page.locator('.field-error', { hasText: 'Password must be at least 10 characters.' }).waitFor();
  await page.getByLabel('Choose a password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Accept and sign in' }).click();
  await page.locator('body.signed-in').waitFor();
  await rendered(page);
  await page.locator('.notice', { hasText: 'Welcome to onecount; your account is ready.' }).waitFor();
  assert.match(page.url(), /#\/$/, 'lands on the portfolio home, the token out of the address');
  people.operator.session = op;

  const nav = await navText(page);
  assert.match(nav, /Alpha Goods/);
  assert.doesNotMatch(nav, /Beta Wares/, 'the other brand is not listed');
  assert.doesNotMatch(nav, /Administration|People|API tokens/i, 'no portfolio screens');
  assert.match(nav, /Olive Operator\s+\S+@example\.test\s+Operator of Alpha Goods/);
  const rows = await tableRows(page, 'Brands');
  assert.deepEqual(rows.map((r) => r.slice(0, 2)), [['Alpha Goods', 'Operator']]);
  assert.equal(await page.getByRole('button', { name: 'New brand' }).count(), 0);

  const A = brands['Alpha Goods'].id;
  await go(page, stack.url, `/brands/${A}`);
  assert.deepEqual(await tabsOf(page), [...READ_TABS, 'Audit log'], 'no members, tokens or settings');
  assert.match(await mainText(page), /This role\s+Reads the brand and works on its inventory\./);
  await screenshot(page, 'operator-brand');
  await assertSound(op, 'operator brand overview');

  // Typed addresses get the server's answer.
  await go(page, stack.url, `/brands/${A}/members`);
  await page.locator('.panel-error').waitFor();
  assert.match(await mainText(page), /Not allowed\s+Your role \(operator\) may not do this; it needs manage permission\./);
  await go(page, stack.url, `/brands/${A}/tokens`);
  await page.locator('.panel-error', { hasText: 'Your role (operator) may not do this' }).waitFor();
  await go(page, stack.url, `/brands/${A}/settings`);
  await page.locator('.panel-error', { hasText: 'Not allowed' }).waitFor();
  assert.equal(await page.getByRole('button', { name: 'Save changes' }).count(), 0);
  await go(page, stack.url, `/brands/${brands['Beta Wares'].id}`);
  await page.locator('.panel-error').waitFor();
  assert.match(await mainText(page), /Not found\s+No such brand\./);
  await go(page, stack.url, '/portfolio/members');
  await page.locator('.panel-error', { hasText: 'Your role (operator) may not do this; it needs admin permission.' }).waitFor();
  assert.deepEqual(op.problems, []);
});

test('the brand owner accepts and manages its brand\'s members, but no portfolio screens', async () => {
  const own = await acceptAsNew(links.owner, { name: people.owner.name });
  const { page } = own;
  await page.locator('body.signed-in').waitFor();
  await rendered(page);
  people.owner.session = own;
  const A = brands['Alpha Goods'].id;
  const nav = await navText(page);
  assert.match(nav, /Alpha Goods/);
  assert.doesNotMatch(nav, /Beta Wares|Administration/i);

  await go(page, stack.url, `/brands/${A}/members`);
  assert.deepEqual(await tabsOf(page), [...READ_TABS, 'Members', 'API tokens', 'Audit log', 'Settings']);
  // Own row and the admin's row cannot be changed here; the operator's can.
  assert.match(await row(page, 'Members', people.owner.email).innerText(), /Brand owner\s+you/);
  assert.equal(await row(page, 'Members', people.owner.email).locator('select').count(), 0);
  assert.match(await row(page, 'Members', P.email).innerText(), /Portfolio admin\s+through the portfolio/);
  assert.equal(await row(page, 'Members', P.email).getByRole('button').count(), 0);
  await page.getByLabel(`Role of ${people.operator.name}`, { exact: true }).selectOption('viewer');
  await page.getByRole('button', { name: `Change role of ${people.operator.name}` }).click();
  await page.locator('.notice', { hasText: `${people.operator.name} is now Viewer.` }).waitFor();
  assert.equal(await page.getByLabel(`Role of ${people.operator.name}`, { exact: true }).inputValue(), 'viewer');

  // Invite someone, then take it back.
  const email = `${unique('temp')}@example.test`;
  await fillForm(page, { 'E-mail': email, Role: 'Viewer' });
  await page.getByRole('button', { name: 'Create invitation' }).click();
  await readSecret(page, email);
  await idle(page);
  await page.getByRole('button', { name: `Revoke invitation for ${email}` }).click();
  await confirm(page, 'Revoke invitation');
  await row(page, 'Invitations', email).locator('.badge', { hasText: 'Revoked' }).waitFor();
  assert.equal(await page.getByRole('button', { name: `Revoke invitation for ${email}` }).count(), 0);

  // Settings are the owner's too.
  await go(page, stack.url, `/brands/${A}/settings`);
  await page.getByLabel('Time zone').fill('America/New_York');
  await page.getByRole('button', { name: 'Save changes' }).click();
  await page.locator('.notice', { hasText: 'Brand settings saved.' }).waitFor();
  await page.locator('.page-meta', { hasText: 'America/New_York' }).waitFor();
  await screenshot(page, 'owner-settings');
  await assertSound(own, 'brand owner settings');

  // Not the portfolio's screens, not the other brand.
  await go(page, stack.url, '/portfolio/audit');
  await page.locator('.panel-error', { hasText: 'Your role (brand_owner) may not do this; it needs admin permission.' }).waitFor();
  await go(page, stack.url, '/portfolio/tokens');
  await page.locator('.panel-error', { hasText: 'it needs admin permission' }).waitFor();
  await go(page, stack.url, `/brands/${brands['Beta Wares'].id}/members`);
  await page.locator('.panel-error', { hasText: 'No such brand.' }).waitFor();
  assert.deepEqual(own.problems, []);
});

test('the operator, now a viewer, sees the change on the next screen', async () => {
  const { page } = people.operator.session;
  await go(page, stack.url, '/me');
  assert.match(await mainText(page), /Alpha Goods\s+Viewer/);
  assert.match(await navText(page), /Viewer of Alpha Goods/);
});

test('a used invitation link says it cannot be used', async () => {
  const s = await acceptAsNew(links.operator, { name: 'Someone Else' });
  await s.page.locator('h1', { hasText: 'This invitation cannot be used' }).waitFor();
  assert.match(await mainText(s.page), /This invitation was already used, revoked or has expired\./);
  assert.deepEqual(s.apiErrors, ['410 /api/v1/invitations/accept']);
  await assertSound(s, 'used invitation');
  await s.context.close();
});

test('portfolio invitations: an admin without a brand; an existing account adds a brand with its password', async () => {
  const { page } = admin;
  await page.locator('#sidebar').getByRole('link', { name: 'People' }).click();
  await page.locator('main h1', { hasText: 'People' }).waitFor();
  await idle(page);
  assert.match(await row(page, 'People', people.owner.email).innerText(), /Alpha Goods\s+Brand owner/);

  // A portfolio admin is invited without a brand: the field goes away.
  const newAdmin = { name: 'Ada Admin', email: `${unique('ada')}@example.test` };
  await page.getByLabel('Role', { exact: true }).selectOption({ label: 'Portfolio admin' });
  assert.equal(await page.getByLabel('Brand', { exact: true }).isVisible(), false);
  await page.getByLabel('E-mail').fill(newAdmin.email);
  await page.getByRole('button', { name: 'Create invitation' }).click();
  const adminLink = await readSecret(page, newAdmin.email);
  // The brand owner's e-mail, invited to the second brand as a viewer.
  await page.getByLabel('Role', { exact: true }).selectOption({ label: 'Viewer' });
  assert.equal(await page.getByLabel('Brand', { exact: true }).isVisible(), true);
  await fillForm(page, { 'E-mail': people.owner.email, Brand: 'Beta Wares' });
  await page.getByRole('button', { name: 'Create invitation' }).click();
  const ownerLink = await readSecret(page, people.owner.email);
  await idle(page);
  assert.match(await row(page, 'Invitations', newAdmin.email).innerText(), /Portfolio admin\s+Portfolio\s+Pending/);
  assert.match(await row(page, 'Invitations', people.owner.email).filter({ hasText: 'Pending' }).innerText(), /Viewer\s+Beta Wares\s+Pending/);
  await screenshot(page, 'admin-people');
  await assertSound(admin, 'people');

  const ada = await acceptAsNew(adminLink, { name: newAdmin.name });
  await ada.page.locator('body.signed-in').waitFor();
  await rendered(ada.page);
  assert.match(await navText(ada.page), /Alpha Goods\s+Beta Wares[\s\S]*Administration\s+People\s+API tokens\s+Notifications\s+Audit log/i);
  await ada.context.close();

  // The brand owner already has an account: a wrong password switches the form to "existing account".
  const s = await acceptAsNew(ownerLink, { name: 'Ignored Name', password: 'not my password' });
  await s.page.locator('.field-error', { hasText: 'This e-mail already has an account: give its password.' }).waitFor();
  assert.equal(await s.page.getByLabel('Your name').isVisible(), false);
  await s.page.getByLabel('Your current password').fill(PASSWORD);
  await s.page.getByRole('button', { name: 'Accept and sign in' }).click();
  await s.page.locator('.notice', { hasText: 'Invitation accepted; your new role is active.' }).waitFor();
  await s.page.locator('body.signed-in').waitFor();
  await rendered(s.page);
  assert.match(await navText(s.page), /Alpha Goods\s+Beta Wares/);
  assert.doesNotMatch(await navText(s.page), /Administration/i);
  const rows = await tableRows(s.page, 'Brands');
  assert.deepEqual(rows.map((r) => r.slice(0, 2)), [['Alpha Goods', 'Brand owner'], ['Beta Wares', 'Viewer']]);
  await go(s.page, stack.url, `/brands/${brands['Beta Wares'].id}`);
  assert.deepEqual(await tabsOf(s.page), [...READ_TABS, 'Audit log'], 'a viewer in the second brand');
  assert.deepEqual(s.problems, []);
  await s.context.close();
});

test('disabling a user signs it out of its open console', async () => {
  const { page } = admin;
  await go(page, stack.url, '/portfolio/members');
  await page.getByRole('button', { name: `Disable ${people.operator.name}` }).click();
  await confirm(page, 'Disable user');
  await row(page, 'People', people.operator.email).locator('.badge', { hasText: 'Disabled' }).waitFor();
  assert.equal(await page.getByRole('button', { name: `Disable ${P.email}` }).count(), 0);

  const op = people.operator.session;
  await op.page.locator('#sidebar').getByRole('link', { name: 'Alpha Goods' }).click();
  await op.page.locator('h1', { hasText: 'Sign in to onecount' }).waitFor();
  await op.page.getByLabel('E-mail').fill(people.operator.email);
  await op.page.getByLabel('Password').fill(PASSWORD);
  await op.page.getByRole('button', { name: 'Sign in' }).click();
  await op.page.locator('.form-error', { hasText: 'Invalid email or password.' }).waitFor();
  assert.deepEqual(op.problems, []);
});

test('an admin archives and unarchives a brand', async () => {
  const { page } = admin;
  const B = brands['Beta Wares'].id;
  await go(page, stack.url, `/brands/${B}/settings`);
  await page.getByRole('button', { name: 'Archive brand' }).click();
  await confirm(page, 'Archive brand');
  await page.locator('.notice', { hasText: 'Beta Wares is archived.' }).waitFor();
  await page.locator('.page-meta .badge', { hasText: 'Archived' }).waitFor();
  assert.doesNotMatch(await navText(page), /Beta Wares/);
  await go(page, stack.url, '/');
  assert.deepEqual((await tableRows(page, 'Brands')).map((r) => r[0]), ['Alpha Goods']);
  await page.getByLabel('Show archived brands').check();
  await panelOf(page, 'Brands').locator('tbody tr').nth(1).waitFor(); // the home's Health table lists active brands only
  assert.match(await row(page, 'Brands', 'Beta Wares').innerText(), /Archived/);
  assert.match(page.url(), /#\/\?archived=1$/);
  await go(page, stack.url, `/brands/${B}/settings`);
  await page.getByRole('button', { name: 'Unarchive brand' }).click();
  await confirm(page, 'Unarchive brand');
  await page.locator('.notice', { hasText: 'Beta Wares is active again.' }).waitFor();
  await page.locator('#sidebar').getByRole('link', { name: 'Beta Wares' }).waitFor();
  assert.deepEqual(admin.problems, []);
});

test('who am I, and signing out', async () => {
  const { page } = admin;
  await go(page, stack.url, '/me');
  const text = await mainText(page);
  assert.match(text, new RegExp(`E-mail\\s+${P.email.replace(/[.]/g, '\\.')}`));
  assert.match(text, /Northwind Agency[\s\S]*Portfolio role\s+Portfolio admin/);
  await assertSound(admin, 'account');
  await panelOf(page, 'You').waitFor();
  await page.locator('main').getByRole('button', { name: 'Sign out' }).click();
  await page.locator('h1', { hasText: 'Sign in to onecount' }).waitFor();
  const me = await page.request.get(`${stack.url}/api/v1/me`); // with the browser's cookies
  assert.equal(me.status(), 401);
  assert.deepEqual(admin.problems, []);
});
