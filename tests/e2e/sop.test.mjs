// sop.test.mjs — the SOP through the console (issue 13), against a real
// server with a running worker and a brand wired to the channel simulator:
// the portfolio's SOP reads in words; an admin changes a cadence with a
// reason, sees version 2 with the reason, its diff, and restores version 1;
// a draft with several problems shows each at its step and field; a save
// based on a stale version is shown as a conflict with a reload; a
// checklist step is added and a step removed; the schedule of the coming
// day in the brand's time; a checklist item made due by SQL is assigned to
// an operator, who sees it under "Mine", overdue, and completes it with a
// note; a hand-over reports what moved; a brand owner overrides a cadence
// for the brand and one connection on the brand's SOP tab; the run history
// tells the new actions' findings and a missed run in words.  In order.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, waitFor } from '../integration/lib/stack.mjs';
import { portfolio, member } from '../integration/lib/world.mjs';
import { channelBrand, converge, runNow } from '../integration/lib/sync.mjs';
import { launch } from './browser.mjs';
import { consoleAs, go, idle, mainText, assertSound, screenshot, panelOf, takeApiErrors, notice, confirm, rendered } from './lib/console.mjs';

let stack, sim, browser, P, br, owner, op, adminUi, ownerUi, opUi;

before(async () => {
  stack = await startStack();
  sim = await stack.startSim();
  browser = await launch();
  P = await portfolio(stack);
  br = await channelBrand(stack, P, sim, { skus: ['A', 'B'], stock: 20, webhooks: false, pollSeconds: 3600 });
  owner = await member(stack, P, br.id, 'brand_owner');
  op = await member(stack, P, br.id, 'operator');
  await stack.startWorker();
  await converge([br]);
  adminUi = await consoleAs(browser, stack.url, P);
  ownerUi = await consoleAs(browser, stack.url, owner);
  opUi = await consoleAs(browser, stack.url, op);
});
after(async () => {
  await browser?.close();
  await stack?.stop();
});

/** Opens a screen afresh (go() to the address already shown would not render it again). */
async function open(page, hash) {
  if (new URL(page.url()).hash === `#${hash}`) {
    await page.reload();
    await rendered(page);
  } else await go(page, stack.url, hash);
}

const psop = () => `/api/v1/portfolios/${P.pid}/sop`;
const routines = async () => (await P.api.get(`/api/v1/brands/${br.id}/routines`)).json;
const stepRow = (page, key) => panelOf(page, 'Steps').locator(`tbody tr[data-step="${key}"]`);
const cellTexts = (loc) => loc.locator('td').evaluateAll((cells) => cells.map((c) => c.innerText.trim()));

async function editStep(page, key, fill) {
  await stepRow(page, key).getByRole('button', { name: /^Edit / }).click();
  const ed = page.locator('#sop-step-editor');
  await ed.waitFor();
  await fill(ed);
  await ed.getByRole('button', { name: 'Apply to the draft' }).click();
  await ed.waitFor({ state: 'hidden' });
}

async function save(page, reason) {
  const s = panelOf(page, 'Save');
  await s.getByLabel('Reason for the change').fill(reason);
  await s.getByRole('button', { name: 'Save new version' }).click();
  await idle(page);
}

test('the SOP reads in words: version, author, steps with cadence, catch-up, scope and checklist', async () => {
  const { page } = adminUi;
  await open(page, '/portfolio/sop');
  assert.match(await page.locator('#sidebar').innerText(), /Routine\s+Checklist\s+Schedule\s+SOP/i);
  const cur = await panelOf(page, 'Current version').innerText();
  assert.match(cur, /Version\s+v1/);
  assert.match(cur, /By\s+onecount default/);
  assert.match(cur, /Reason\s+the default SOP that ships with onecount/);
  const [velocity, low, map, review, shopify] = await Promise.all(['velocity', 'low_stock', 'map_new_skus', 'review_oversells', 'poll_orders_shopify']
    .map((k) => cellTexts(stepRow(page, k))));
  assert.match(velocity[0], /^Measure sales velocity/);
  assert.match(velocity[1], /^Sales velocity: measures units sold per hour/);
  assert.equal(velocity[2], 'every hour');
  assert.match(low[2], /^daily at 07:10 \(brand time\)\n10 7 \* \* \*$/);
  assert.match(map[2], /^Mondays at 09:00 \(brand time\)/);
  assert.match(review[2], /^Weekdays at 09:30 \(brand time\)/);
  assert.equal(map[3], 'report missed, wait for next');
  assert.equal(velocity[3], 'run once, counting missed runs');
  assert.match(shopify[4], /Shopify connections/);
  assert.match(review[5], /Role\s+Operator\s+Due after\s+4 hours\s+Done when\s+every open oversell has a resolution recorded\s+Assignee\s+anyone with the operator role/);
  await screenshot(page, 'sop');
  await assertSound(adminUi, 'SOP screen');
  // an operator reads it and changes nothing
  await open(opUi.page, '/portfolio/sop');
  assert.equal(await opUi.page.getByRole('button', { name: /^Edit / }).count(), 0);
  assert.equal(await panelOf(opUi.page, 'Save').count(), 0);
  await assertSound(opUi, 'SOP screen (operator)');
  assert.deepEqual(takeApiErrors(adminUi), []);
});

test('an admin changes a cadence with a reason: version 2 with the reason, its diff, restore version 1', async () => {
  const { page } = adminUi;
  await open(page, '/portfolio/sop');
  await editStep(page, 'velocity', async (ed) => {
    await ed.getByLabel('Interval (seconds)').fill('1800');
    assert.match(await ed.innerText(), /Runs every 30 minutes/);
  });
  assert.equal((await cellTexts(stepRow(page, 'velocity')))[2], 'every 30 minutes');
  assert.match(await panelOf(page, 'Save').innerText(), /The draft differs from version 1/);
  await save(page, 'velocity twice an hour');
  await notice(page, 'Saved as version 2');
  assert.match(await panelOf(page, 'Current version').innerText(), /Version\s+v2[\s\S]*By\s+Admin[\s\S]*Reason\s+velocity twice an hour/);
  // the schedule follows
  assert.equal((await routines()).find((r) => r.step_key === 'velocity').interval_seconds, 1800);
  const versions = panelOf(page, 'Versions');
  const rows = await versions.locator('tbody tr').evaluateAll((rs) => rs.map((r) => [...r.cells].map((c) => c.innerText.trim())));
  assert.deepEqual(rows.map((r) => r.slice(0, 2).concat(r[3])), [['v2', 'Admin', 'velocity twice an hour'],
    ['v1', 'onecount default', 'the default SOP that ships with onecount']]);
  // the diff, field by field
  await versions.getByLabel('From version').selectOption('1');
  await versions.getByLabel('To version').selectOption('2');
  await versions.getByRole('button', { name: 'Show changes' }).click();
  await idle(page);
  const diff = await versions.locator('.sop-diff').innerText();
  assert.match(diff, /Changes from version 1 to version 2/);
  assert.match(diff, /Changed \(1\)\s+velocity: Interval every hour \(3600 s\) → every 30 minutes \(1800 s\)/);
  assert.doesNotMatch(diff, /Added|Removed|Catch-up|Enabled/, 'only the field that was changed');
  // view version 1
  await versions.getByRole('button', { name: 'View version 1' }).click();
  await idle(page);
  assert.match(await versions.locator('.version-detail').innerText(), /Version 1: the default SOP[\s\S]*Measure sales velocity[\s\S]*every hour/);
  await screenshot(page, 'sop-versions');
  // restore version 1: a reason, a confirmation, version 3
  await versions.getByRole('button', { name: 'Restore version 1' }).click();
  await versions.getByLabel('Reason for restoring').fill('back to hourly');
  await versions.locator('.version-detail').getByRole('button', { name: 'Restore version 1' }).click();
  await confirm(page, 'Restore');
  await notice(page, 'Version 1 restored as version 3');
  await idle(page);
  assert.match(await panelOf(page, 'Current version').innerText(), /Version\s+v3[\s\S]*Reason\s+back to hourly[\s\S]*Restored from\s+v1/);
  assert.equal((await cellTexts(stepRow(page, 'velocity')))[2], 'every hour');
  assert.match((await versions.locator('tbody tr').first().innerText()), /v3[\s\S]*back to hourly[\s\S]*v1/);
  assert.equal((await routines()).find((r) => r.step_key === 'velocity').interval_seconds, 3600);
  await assertSound(adminUi, 'SOP after restore');
  assert.deepEqual(takeApiErrors(adminUi), []);
});

test('a draft with several problems shows each at its step and under its field; nothing is saved', async () => {
  const { page } = adminUi;
  await open(page, '/portfolio/sop');
  await editStep(page, 'low_stock', (ed) => ed.getByLabel('Cron').fill('61 7 * * *'));
  await editStep(page, 'map_new_skus', (ed) => ed.getByLabel('Cron').fill('0 9 * * 9'));
  // a new step whose key another step has
  await page.getByRole('button', { name: 'Add a checklist step' }).click();
  const ed = page.locator('#sop-step-editor');
  await ed.getByLabel('Key').fill('velocity');
  await ed.getByLabel('Title').fill('Twice');
  await ed.getByRole('button', { name: 'Apply to the draft' }).click();
  await save(page, 'three mistakes');
  await page.locator('.form-error', { hasText: 'not saved: 3 problems' }).waitFor();
  assert.deepEqual(takeApiErrors(adminUi), [`422 ${psop()}`]);
  const problemsOf = (key) => stepRow(page, key).locator('.problems li').allInnerTexts();
  assert.match((await problemsOf('low_stock')).join('|'), /^Cron: Minute: 61 is out of 0-59\.?$/i);
  assert.match((await problemsOf('map_new_skus')).join('|'), /^Cron: Day-of-week: 9 is out of 0-7/i);
  assert.deepEqual(await panelOf(page, 'Steps').locator('tbody tr').last().locator('.problems li').allInnerTexts(),
    ['Key: The key velocity is used twice.']);
  assert.deepEqual(await problemsOf('poll_orders'), []);
  assert.equal(await panelOf(page, 'Steps').locator('tr.row-invalid').count(), 3);
  // the editor of a step shows its problem under the field
  await stepRow(page, 'low_stock').getByRole('button', { name: /^Edit / }).click();
  assert.match(await ed.locator('.field', { has: page.getByLabel('Cron') }).locator('.field-error').innerText(), /61 is out of 0-59/);
  await screenshot(page, 'sop-problems');
  await ed.getByRole('button', { name: 'Cancel' }).click();
  assert.equal((await P.api.get(psop())).json.version, 3, 'nothing saved');
  await assertSound(adminUi, 'SOP with problems');
  // a value out of range is refused by the first check alone: shown at its step too
  await panelOf(page, 'Save').getByRole('button', { name: 'Discard changes' }).click();
  await confirm(page, 'Discard');
  await editStep(page, 'velocity', (e) => e.getByLabel('Interval (seconds)').fill('5'));
  await save(page, 'too often');
  await page.locator('.form-error', { hasText: 'not saved: 1 problem' }).waitFor();
  assert.match((await problemsOf('velocity')).join('|'), /^Interval: .*10/);
  assert.deepEqual(takeApiErrors(adminUi), [`422 ${psop()}`]);
  // discard the draft
  await panelOf(page, 'Save').getByRole('button', { name: 'Discard changes' }).click();
  await confirm(page, 'Discard');
  assert.equal((await cellTexts(stepRow(page, 'velocity')))[2], 'every hour');
  assert.equal(await page.locator('.problems').count(), 0);
});

test('a save based on a version someone else replaced is shown as a conflict, with a reload', async () => {
  const { page } = adminUi;
  await open(page, '/portfolio/sop');
  await editStep(page, 'velocity', (ed) => ed.getByLabel('Interval (seconds)').fill('7200'));
  // meanwhile, another admin's change
  const cur = (await P.api.get(psop())).json;
  const doc = structuredClone(cur.document);
  doc.steps.find((s) => s.key === 'connection_health').cron = '45 * * * *';
  assert.equal((await P.api.put(psop(), { document: doc, reason: 'health at :45', base_version: cur.version })).status, 201);
  await save(page, 'velocity every two hours');
  const box = page.locator('[role="alert"]', { hasText: 'Someone changed the SOP' });
  await box.waitFor();
  assert.match(await box.innerText(), /version 4/);
  assert.deepEqual(takeApiErrors(adminUi), [`409 ${psop()}`]);
  await screenshot(page, 'sop-conflict');
  await box.getByRole('button', { name: 'Reload the SOP' }).click();
  // the reload answers when it answers: wait for the newest version on screen, then read it
  await panelOf(page, 'Current version').filter({ hasText: 'health at :45' }).waitFor();
  await idle(page);
  assert.match(await panelOf(page, 'Current version').innerText(), /Version\s+v4[\s\S]*health at :45/);
  assert.equal((await cellTexts(stepRow(page, 'connection_health')))[2].split('\n')[0], 'hourly at 45 past the hour');
  assert.equal((await cellTexts(stepRow(page, 'velocity')))[2], 'every hour', 'the draft was replaced by the newest version');
  await assertSound(adminUi, 'SOP after a conflict');
});

test('an admin adds a checklist step and removes a step', async () => {
  const { page } = adminUi;
  await open(page, '/portfolio/sop');
  await page.getByRole('button', { name: 'Add a checklist step' }).click();
  const ed = page.locator('#sop-step-editor');
  await ed.getByLabel('Key').fill('count_fast_movers');
  await ed.getByLabel('Title').fill('Count the fast movers');
  await ed.getByLabel('Cron').fill('0 8 * * 1');
  await ed.getByLabel('Due after (seconds)').fill('7200');
  await ed.getByLabel('Done when').fill('the ten fastest SKUs counted');
  await ed.getByLabel('Assignee').selectOption(op.uid);
  await ed.getByRole('button', { name: 'Apply to the draft' }).click();
  await stepRow(page, 'bundle_components').getByRole('button', { name: 'Remove' }).click();
  await confirm(page, 'Remove step');
  assert.equal(await stepRow(page, 'bundle_components').count(), 0);
  const added = await cellTexts(stepRow(page, 'count_fast_movers'));
  assert.match(added[2], /^Mondays at 08:00 \(brand time\)/);
  assert.match(added[5], /Due after\s+2 hours\s+Done when\s+the ten fastest SKUs counted\s+Assignee\s+operator/);
  await save(page, 'weekly counts; no bundle check');
  await notice(page, 'Saved as version 5');
  const now = (await P.api.get(psop())).json;
  const step = now.document.steps.find((s) => s.key === 'count_fast_movers');
  assert.deepEqual(step.checklist, { role: 'operator', due_after_s: 7200, done_when: 'the ten fastest SKUs counted', assignee: op.uid });
  assert.equal(step.cron, '0 8 * * 1');
  assert.equal(now.document.steps.some((s) => s.key === 'bundle_components'), false);
  const rs = await routines();
  assert.ok(rs.find((r) => r.step_key === 'count_fast_movers' && r.in_sop));
  assert.equal(rs.find((r) => r.step_key === 'bundle_components').in_sop, false);
  // the diff names the added and removed steps
  const versions = panelOf(page, 'Versions');
  await versions.getByLabel('From version').selectOption('4');
  await versions.getByLabel('To version').selectOption('5');
  await versions.getByRole('button', { name: 'Show changes' }).click();
  await idle(page);
  const diff = await versions.locator('.sop-diff').innerText();
  assert.match(diff, /Added \(1\)\s+Count the fast movers \(count_fast_movers\) — Checklist step, Mondays at 08:00/);
  assert.match(diff, /Removed \(1\)\s+Find bundles whose components are not listed \(bundle_components\)/);
  await assertSound(adminUi, 'SOP after adding a step');
  assert.deepEqual(takeApiErrors(adminUi), []);
});

test('"Edit as JSON" changes the draft; JSON that does not parse is refused where it was typed', async () => {
  const { page } = adminUi;
  await open(page, '/portfolio/sop');
  await page.getByText('Edit as JSON (advanced)').click();
  const area = page.getByLabel('The draft document');
  await page.waitForFunction(() => document.getElementById('sop-json').value !== ''); // filled when it opens
  const doc = JSON.parse(await area.inputValue());
  assert.equal(doc.steps.length, (await P.api.get(psop())).json.document.steps.length);
  doc.steps.find((s) => s.key === 'velocity').every_s = 900;
  await area.fill(JSON.stringify(doc));
  await page.getByRole('button', { name: 'Apply JSON to the draft' }).click();
  assert.equal((await cellTexts(stepRow(page, 'velocity')))[2], 'every 15 minutes');
  assert.match(await panelOf(page, 'Save').innerText(), /The draft differs from version 5/);
  await area.fill('{"steps": [');
  await page.getByRole('button', { name: 'Apply JSON to the draft' }).click();
  assert.match(await page.locator('.sop-json .field-error').innerText(), /JSON/);
  assert.equal((await cellTexts(stepRow(page, 'velocity')))[2], 'every 15 minutes', 'the draft is unchanged');
  await assertSound(adminUi, 'SOP as JSON');
  await panelOf(page, 'Save').getByRole('button', { name: 'Discard changes' }).click();
  await confirm(page, 'Discard');
  assert.equal((await cellTexts(stepRow(page, 'velocity')))[2], 'every hour');
  assert.deepEqual(takeApiErrors(adminUi), []);
});

test("the schedule: the coming day's runs across brands at the brand's time, soonest first; 48 hours; one brand", async () => {
  const ny = (await P.api.post(`/api/v1/portfolios/${P.pid}/brands`, { name: 'NY brand', timezone: 'America/New_York' })).json;
  const { page } = adminUi;
  await page.reload(); // the brand list (with time zones) is read when the console starts
  await open(page, '/portfolio/schedule');
  const rows = () => page.locator('#schedule table').first().locator('tbody tr');
  assert.ok(await rows().filter({ has: page.locator(`td a[href="#/brands/${br.id}/sop"]`) }).count() > 0, 'runs of the first brand');
  const times = await rows().locator('time').evaluateAll((ts) => ts.map((t) => Date.parse(t.getAttribute('datetime'))));
  assert.deepEqual(times, [...times].sort((a, b) => a - b), 'soonest first');
  assert.match(await mainText(page), /Steps that run often[\s\S]*Take in Amazon and Walmart orders/);
  await page.getByLabel('Coming', { exact: true }).selectOption('48');
  await page.locator('#schedule').getByLabel(/^Brand/).selectOption(ny.id);
  await page.getByRole('button', { name: 'Show' }).click();
  await idle(page);
  assert.match(page.url(), /hours=48/);
  assert.equal(await rows().filter({ has: page.locator(`td a[href="#/brands/${br.id}/sop"]`) }).count(), 0, 'one brand only');
  const lows = rows().filter({ hasText: 'Find SKUs with less than a week of cover' });
  assert.equal(await lows.count(), 2, 'daily: twice in 48 hours');
  for (const w of await lows.locator('td:first-child').allInnerTexts()) {
    assert.match(w, /07:10/, w);
    assert.match(w, /EST|EDT|GMT-[45]/, w);
  }
  await screenshot(page, 'schedule');
  await assertSound(adminUi, 'schedule');
  assert.deepEqual(takeApiErrors(adminUi), []);
});

let item;
test('an operator sees a checklist item that fell due, assigned to them, overdue, and completes it with a note', async () => {
  const step = (await routines()).find((r) => r.step_key === 'review_oversells');
  await stack.sql('UPDATE routines SET next_run_at = now() WHERE tenant_id = $1 AND id = $2', [br.id, step.id]);
  item = await waitFor(async () => (await P.api.get(`/api/v1/brands/${br.id}/checklist?state=open`)).json.items
    .find((x) => x.routine_id === step.id), { what: 'the checklist item' });
  // the admin assigns it to the operator
  const admin = adminUi.page;
  await open(admin, '/portfolio/checklist');
  const row = panelOf(admin, 'Checklist items').locator('tbody tr', { hasText: 'Review oversells and their causes' });
  assert.match(await row.innerText(), /any operator/);
  await row.getByRole('button', { name: /^Assign / }).click();
  const assign = admin.locator('section[aria-label^="Assign"]');
  await assign.getByLabel('Assign to').selectOption(op.uid);
  await assign.getByRole('button', { name: 'Assign' }).click();
  await notice(admin, 'is assigned to operator');
  await idle(admin);
  assert.equal((await P.api.get(`/api/v1/brands/${br.id}/checklist?state=open`)).json.items.find((x) => x.id === item.id).assignee, op.uid);
  await assertSound(adminUi, 'checklist (admin)');
  // it falls overdue
  await stack.sql("UPDATE checklist_items SET due_at = now() - interval '1 minute' WHERE tenant_id = $1 AND id = $2", [br.id, item.id]);
  const { page } = opUi;
  await open(page, '/portfolio/checklist?mine=1');
  assert.equal(await page.getByLabel('Mine (assigned to me)').isChecked(), true);
  const mine = panelOf(page, 'Checklist items').locator('tbody tr');
  assert.equal(await mine.count(), 1);
  const text = await mine.first().innerText();
  assert.match(text, /Overdue/);
  assert.match(text, /Review oversells and their causes/);
  assert.match(text, /Done when: every open oversell has a resolution recorded/);
  assert.match(text, /operator \(me\)/);
  assert.equal(await mine.first().evaluate((tr) => tr.classList.contains('row-overdue')), true);
  await screenshot(page, 'checklist');
  await assertSound(opUi, 'checklist (operator)');
  await mine.first().getByRole('button', { name: /^Complete / }).click();
  const box = page.locator('section[aria-label^="Complete"]');
  await box.getByLabel('Note (what was done)').fill('two oversells, both lag');
  await box.getByRole('button', { name: 'Mark done' }).click();
  await notice(page, 'is done');
  await idle(page);
  assert.match(await panelOf(page, 'Checklist items').innerText(), /Nothing to do/);
  const done = (await P.api.get(`/api/v1/brands/${br.id}/checklist?state=done`)).json.items.find((x) => x.id === item.id);
  assert.equal(done.completed_by, op.uid);
  assert.equal(done.note, 'two oversells, both lag');
  // the done list shows who did it and the note
  await page.getByLabel('State').selectOption('done');
  await page.getByRole('button', { name: 'Filter' }).click();
  await idle(page);
  assert.match(await panelOf(page, 'Checklist items').innerText(), /Done by operator/);
  assert.match(await panelOf(page, 'Checklist items').innerText(), /Note: two oversells, both lag/);
  await assertSound(opUi, 'checklist done');
  assert.deepEqual(takeApiErrors(opUi), []);
});

test('hand-over: an admin moves every step and open item of one person to another and sees what moved', async () => {
  const leaving = await member(stack, P, null, 'portfolio_admin');
  const cur = (await P.api.get(psop())).json;
  const doc = structuredClone(cur.document);
  doc.steps.find((s) => s.key === 'map_new_skus').checklist.assignee = leaving.uid;
  assert.equal((await P.api.put(psop(), { document: doc, reason: 'Sam maps SKUs', base_version: cur.version })).status, 201);
  const step = (await routines()).find((r) => r.step_key === 'map_new_skus');
  await stack.sql('UPDATE routines SET next_run_at = now() WHERE tenant_id = $1 AND id = $2', [br.id, step.id]);
  await waitFor(async () => (await P.api.get(`/api/v1/brands/${br.id}/checklist?state=open`)).json.items
    .find((x) => x.routine_id === step.id), { what: 'the item' });
  const { page } = adminUi;
  await open(page, '/portfolio/checklist');
  const h = panelOf(page, 'Hand over');
  await h.getByLabel('From').selectOption(leaving.uid);
  await h.getByLabel('To').selectOption(P.uid);
  await h.getByLabel('Reason').fill('Sam left');
  await h.getByRole('button', { name: 'Hand over' }).click();
  await notice(page, 'handed over');
  assert.match(await h.locator('.handover-result').innerText(), /^Handed over from portfolio_admin .* to Admin .*: 1 SOP step and 1 open item moved\.$/);
  await idle(page);
  assert.match(await panelOf(page, 'Checklist items').locator('tbody tr', { hasText: 'Map new SKUs' }).innerText(), /Admin \(me\)/);
  const now = (await P.api.get(psop())).json;
  assert.equal(now.document.steps.find((s) => s.key === 'map_new_skus').checklist.assignee, P.uid);
  await screenshot(page, 'handover');
  await assertSound(adminUi, 'hand-over');
  assert.deepEqual(takeApiErrors(adminUi), []);
});

test("a brand owner overrides cadences on the brand's SOP tab, for the brand and one connection; versions and diff", async () => {
  const { page } = ownerUi;
  await open(page, `/brands/${br.id}/sop`);
  const before = (await owner.api.get(`/api/v1/brands/${br.id}/sop`)).json.override.version;
  const row = (key) => panelOf(page, 'Steps this brand runs').locator(`tbody tr[data-step="${key}"]`);
  assert.match(await row('velocity').innerText(), /as the portfolio/);
  await row('velocity').getByRole('button', { name: /^Override / }).click();
  let ed = page.locator('section[aria-labelledby="brand-sop-editor-title"]');
  await ed.getByLabel('Cadence').selectOption('every');
  await ed.getByLabel('Interval (seconds)').fill('7200');
  await ed.getByRole('button', { name: 'Apply to the draft' }).click();
  await row('connection_health').getByRole('button', { name: /^Override / }).click();
  ed = page.locator('section[aria-labelledby="brand-sop-editor-title"]');
  await ed.getByLabel('Where').selectOption(br.conns.walmart.id);
  await ed.getByLabel('Cadence').selectOption('every');
  await ed.getByLabel('Interval (seconds)').fill('120');
  await ed.getByRole('button', { name: 'Apply to the draft' }).click();
  const ov = panelOf(page, 'Overrides');
  assert.match(await ov.innerText(), /Measure sales velocity[^\n]*\(whole brand\): runs every 2 hours/);
  assert.match(await ov.innerText(), /Check each connection is healthy on walmart-[^:]*: runs every 2 minutes/);
  await ov.getByLabel('Reason for the change').fill('this brand sells slowly');
  await ov.getByRole('button', { name: 'Save overrides' }).click();
  await notice(page, `Saved as version ${before + 1}`);
  await idle(page);
  assert.match(await row('velocity').innerText(), /every 2 hours[\s\S]*Overridden/);
  assert.match(await row('connection_health').innerText(), /walmart-[^:]*: every 2 minutes/);
  const rs = await routines();
  assert.equal(rs.find((r) => r.step_key === 'velocity').interval_seconds, 7200);
  assert.equal(rs.find((r) => r.step_key === 'connection_health' && r.connection_id === br.conns.walmart.id).interval_seconds, 120);
  assert.equal(rs.find((r) => r.step_key === 'connection_health' && r.connection_id === br.conns.amazon.id).cron, '45 * * * *');
  const versions = panelOf(page, 'Versions');
  assert.match(await versions.locator('tbody tr').first().innerText(), new RegExp(`v${before + 1}\\s+brand_owner[\\s\\S]*this brand sells slowly`));
  await versions.getByLabel('From version').selectOption(String(before));
  await versions.getByLabel('To version').selectOption(String(before + 1));
  await versions.getByRole('button', { name: 'Show changes' }).click();
  await idle(page);
  const diff = await versions.locator('.sop-diff').innerText();
  assert.match(diff, /Added \(2\)/);
  assert.match(diff, /velocity — runs every 2 hours/);
  assert.match(diff, /connection_health on walmart-[^ ]* — runs every 2 minutes/);
  await screenshot(page, 'brand-sop');
  await assertSound(ownerUi, 'brand SOP');
  // a bad override shows its problem with the entry
  await row('velocity').getByRole('button', { name: /^Override / }).click();
  ed = page.locator('section[aria-labelledby="brand-sop-editor-title"]');
  await ed.getByLabel('Cadence').selectOption('cron');
  await ed.getByLabel('Cron').fill('0 25 * * *');
  await ed.getByRole('button', { name: 'Apply to the draft' }).click();
  await ov.getByLabel('Reason for the change').fill('bad hour');
  await ov.getByRole('button', { name: 'Save overrides' }).click();
  await page.locator('.form-error', { hasText: 'not saved: 1 problem' }).waitFor();
  assert.match(await ov.locator('li[data-entry="velocity"] .problems').innerText(), /^Cron: /);
  assert.deepEqual(takeApiErrors(ownerUi), [`422 /api/v1/brands/${br.id}/sop`]);
  // an operator reads the tab without editing
  await open(opUi.page, `/brands/${br.id}/sop`);
  assert.equal(await opUi.page.getByRole('button', { name: /^Override / }).count(), 0);
  await assertSound(opUi, 'brand SOP (operator)');
});

test('the run history tells what the new steps found, a checklist item opened, and a missed run, in words', async () => {
  assert.equal((await br.api.post(`${br.base}/skus`, { code: 'NEW-1', title: 'New thing' })).status, 201);
  const t0 = Date.now();
  await runNow(br, ['unlisted_skus', 'low_stock']);
  await waitFor(async () => (await P.api.get(`/api/v1/brands/${br.id}/routine-runs?kind=unlisted_skus&status=ok`)).json.items
    .find((x) => Date.parse(x.started_at) >= t0 - 1000), { what: 'the unlisted_skus run' });
  // the daily re-push of Shopify was missed for three days: reported, not run
  const rep = (await routines()).find((r) => r.step_key === 'full_repush' && r.connection_id === br.conns.shopify.id);
  await stack.sql("UPDATE routines SET next_run_at = now() - interval '3 days 1 minute' WHERE tenant_id = $1 AND id = $2", [br.id, rep.id]);
  await waitFor(async () => (await P.api.get(`/api/v1/brands/${br.id}/routine-runs?status=missed`)).json.items.length > 0, { what: 'the missed run' });
  const { page } = ownerUi;
  await open(page, `/brands/${br.id}/sync`);
  const hist = panelOf(page, 'Run history');
  await waitFor(async () => /Unlisted SKUs/.test(await hist.innerText()), { what: 'the run in the history' });
  const text = await hist.innerText();
  assert.match(text, /Unlisted SKUs[^\n]*\n?[\s\S]*?SKUs checked, 1 unlisted SKU found: NEW-1 \(not on [^)]*walmart-/);
  assert.match(text, /Missed[\s\S]*?4 runs missed while no worker ran \(\d+ hours late\); waits for the next one/);
  assert.match(text, /Checklist step[\s\S]*?Opened a checklist item/);
  const brandWide = await panelOf(page, 'Brand-wide routines').innerText();
  assert.match(brandWide, /Low stock[\s\S]*Daily at 07:10|daily at 07:10 \(brand time\)/);
  await screenshot(page, 'sync-sop-runs');
  await assertSound(ownerUi, 'run history');
});
