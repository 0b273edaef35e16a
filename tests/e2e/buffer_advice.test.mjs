// buffer_advice.test.mjs — the Buffer advisor on a connection's screen: an
// operator reads, per listing, the buffer in force, the suggestion (the units
// expected to sell on the other channels during this channel's p99 push lag)
// and the expected units oversold and held back for each choice; applies the
// suggestion on one row and then to every listing within bounds, and the
// buffer shown changes; bounds the server refuses show under their field; a
// viewer reads the advice without the apply controls.  Lag and sales are
// injected by SQL (what is tested is the screen); the tests run in order.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from '../integration/lib/stack.mjs';
import { portfolio, brand, member } from '../integration/lib/world.mjs';
import { launch } from './browser.mjs';
import { consoleAs, go, idle, assertSound, panelOf, takeApiErrors, notice, fieldError, fillForm } from './lib/console.mjs';

let stack, browser, P, A, base, owner, op, viewer, opUi, viewerUi, main, side;
const listing = {};

before(async () => {
  stack = await startStack();
  browser = await launch();
  P = await portfolio(stack, 'Advice Agency');
  A = await brand(P, 'Buffered Goods');
  base = `/api/v1/brands/${A.id}`;
  owner = await member(stack, P, A.id, 'brand_owner');
  op = await member(stack, P, A.id, 'operator');
  viewer = await member(stack, P, A.id, 'viewer');
  for (const code of ['E1', 'E2']) {
    assert.equal((await owner.api.post(`${base}/skus`, { code, title: `Item ${code}` })).status, 201);
    assert.equal((await owner.api.post(`${base}/movements`, { kind: 'receipt', sku: code, qty: 30 })).status, 201);
  }
  const conn = async (name) => {
    const r = await owner.api.post(`${base}/connections`, { kind: 'walmart', name, settings: {},
      credentials: { client_id: 'id', client_secret: 'secret' } });
    assert.equal(r.status, 201, r.text);
    return r.json.id;
  };
  main = await conn('Main store');
  side = await conn('Side store');
  for (const [code, rules] of [['E1', { buffer: 1 }], ['E2', {}]]) {
    const r = await owner.api.post(`${base}/listings`, { connection_id: main, sku: code, rules });
    assert.equal(r.status, 201, r.text);
    listing[code] = r.json.id;
  }
  // Main store's pushes take half an hour at p99; E1 sells 5 an hour on Side store: λ = 2.5, suggestion 3.
  await stack.sql('SELECT push_lag_record($1, $2, array_fill(1800000::bigint, ARRAY[1024]))', [A.id, main]);
  await stack.sql(`INSERT INTO sku_velocity (tenant_id, sku_id, connection_id, units_per_hour)
                   SELECT $1, k.id, $2, 5 FROM skus k WHERE k.tenant_id = $1 AND k.code = 'E1'`, [A.id, side]);
  opUi = await consoleAs(browser, stack.url, op);
  viewerUi = await consoleAs(browser, stack.url, viewer);
});
after(async () => {
  await browser?.close();
  await stack?.stop();
});

/** E[max(0, N − b)] and E[max(0, b − N)] for N ~ Poisson(λ), as the screen rounds them. */
function costs(lambda, b) {
  let p = Math.exp(-lambda), over = 0, stranded = 0;
  for (let k = 0; k <= 200; k++) {
    if (k > 0) p = p * lambda / k;
    if (k > b) over += (k - b) * p;
    if (k < b) stranded += (b - k) * p;
  }
  const r = (x) => (x === 0 ? '0' : x.toFixed(2).replace(/\.?0+$/, ''));
  return { over: r(over), stranded: r(stranded) };
}

const rowOf = (page, code) => panelOf(page, 'Buffer advisor').locator('tbody tr', { hasText: code });

test('an operator reads the advice in words and applies the suggestion on one row: the buffer shown changes', async () => {
  const { page } = opUi;
  await go(page, stack.url, `/brands/${A.id}/channels/${main}`);
  const panel = panelOf(page, 'Buffer advisor');
  await panel.waitFor();
  assert.match(await panel.innerText(), /push lag: p99 .* over 1,024 pushes/);
  const e1 = rowOf(page, 'E1');
  assert.equal((await e1.locator('td.current-buffer').innerText()).trim(), '1 unit, set on this listing');
  const suggested = await e1.locator('td.suggested-buffer').innerText();
  assert.match(suggested, /^3 units — 2\.5 expected to sell on other channels \(5 an hour\)/);
  for (const [b, label] of [[0, 'no buffer'], [1, 'now'], [2, 'one less'], [3, 'suggested'], [4, 'one more']]) {
    const want = costs(2.5, b);
    const line = (await e1.locator(`li[data-buffer="${b}"]`).innerText()).trim();
    assert.equal(line, `Buffer ${b} (${label}): ${want.over} oversold, ${want.stranded} held back for nothing`);
  }
  const e2 = rowOf(page, 'E2');
  assert.equal((await e2.locator('td.current-buffer').innerText()).trim(), 'none');
  assert.match(await e2.locator('td.suggested-buffer').innerText(),
    /^0 units — not measured yet: sales of this SKU on the other channels/);
  await assertSound(opUi, 'buffer advisor');

  await e1.getByRole('button', { name: 'Apply the suggested buffer to E1' }).click();
  await notice(page, '1 buffer changed: E1 1 → 3');
  await idle(page);
  await rowOf(page, 'E1').locator('td.current-buffer', { hasText: '3 units, set on this listing' }).waitFor();
  assert.equal((await rowOf(page, 'E1').locator('td').last().innerText()).trim(), 'Applied');
  assert.equal((await op.api.get(`${base}/listings/${listing.E1}`)).json.rules.buffer, 3, 'the server agrees');
  await assertSound(opUi, 'after applying one');
  assert.deepEqual(takeApiErrors(opUi), []);
});

test('bounds the server refuses show under their field; applied to all within bounds, every buffer shown changes', async () => {
  const { page } = opUi;
  const form = panelOf(page, 'Buffer advisor').locator('form');
  await fillForm(form, { 'At least (units) (optional)': '5', 'At most (units) (optional)': '1' });
  await form.getByRole('button', { name: 'Apply suggested to all' }).click();
  await fieldError(page, 'must not be more than max').waitFor();
  assert.equal(await form.getByLabel('At least (units) (optional)').getAttribute('aria-invalid'), 'true');
  assert.deepEqual(takeApiErrors(opUi), [`422 ${base}/connections/${main}/buffer-advice/apply`]);

  await fillForm(form, { 'At least (units) (optional)': '2', 'At most (units) (optional)': '', 'Reason (optional)': 'monthly review' });
  await form.getByRole('button', { name: 'Apply suggested to all' }).click();
  await notice(page, '1 buffer changed: E2 0 → 2');
  await idle(page);
  await rowOf(page, 'E2').locator('td.current-buffer', { hasText: '2 units, set on this listing' }).waitFor();
  assert.equal((await rowOf(page, 'E1').locator('td.current-buffer').innerText()).trim(), '3 units, set on this listing');
  const audit = (await owner.api.get(`${base}/audit?action=listing.buffer_advice`)).json.items;
  assert.deepEqual(audit.map((e) => [e.object_id, e.summary.to, e.summary.reason ?? null]).sort(),
    [[listing.E1, 3, null], [listing.E2, 2, 'monthly review']].sort());
  await assertSound(opUi, 'after applying all');
});

test('a viewer reads the advice without the apply controls', async () => {
  const { page } = viewerUi;
  await go(page, stack.url, `/brands/${A.id}/channels/${main}`);
  const panel = panelOf(page, 'Buffer advisor');
  await panel.waitFor();
  assert.equal((await rowOf(page, 'E1').locator('td.current-buffer').innerText()).trim(), '3 units, set on this listing');
  assert.equal(await panel.getByRole('button').count(), 0);
  assert.equal(await panel.locator('form').count(), 0);
  await assertSound(viewerUi, 'viewer');
});
