// exception_marks.test.mjs — the exception queue's refresh looks only at the
// brands that need it (migrations/0038): a brand nothing changed in is
// skipped round after round; a change (a sale past the stock) marks its brand
// in the same transaction and its item opens at the next round; a condition
// that becomes true by the clock alone (a checklist step falling due, a snooze
// ending) is refreshed at that moment although nothing was written; and a
// brand left alone is refreshed anyway after exceptions_full_seconds.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, waitFor, sleep } from './lib/stack.mjs';
import { portfolio, brand } from './lib/world.mjs';

let stack, P;
const brands = [];

before(async () => {
  stack = await startStack({ env: { ONECOUNT_EXCEPTIONS_CHECK_SECONDS: '1', ONECOUNT_EXCEPTIONS_FULL_SECONDS: '10' } });
  P = await portfolio(stack);
  for (let i = 0; i < 3; i++) brands.push(await brand(P));
  await stack.startWorker();
});
after(async () => { await stack?.stop(); });

const job = async () => (await stack.sql("SELECT last_detail, last_finished_at FROM worker_jobs WHERE kind = 'exceptions'")).rows[0];
const refreshedAt = async (b) =>
  (await stack.sql('SELECT refreshed_at FROM brand_health WHERE tenant_id = $1', [b.id])).rows[0]?.refreshed_at;
const items = async (b, q = '') => {
  const r = await P.api.get(`/api/v1/brands/${b.id}/exceptions${q}`);
  assert.equal(r.status, 200, r.text);
  return r.json.items;
};

/** Waits for a round of the job that finished after `since` and returns its detail. */
async function roundAfter(since) {
  return waitFor(async () => {
    const j = await job();
    return j.last_finished_at && j.last_finished_at > since ? j.last_detail : null;
  }, { timeout: 15000, what: 'a round of the exceptions job' });
}

test('brands nothing changed in are skipped; a sale past the stock is seen at the next round', async () => {
  // every brand is refreshed once (never refreshed), then the quiet ones are skipped
  await waitFor(async () => (await Promise.all(brands.map(refreshedAt))).every(Boolean), { what: 'a first refresh of each brand' });
  const quiet = await waitFor(async () => {
    const d = (await job()).last_detail;
    return d && d.skipped === brands.length && d.refreshed === 0 ? d : null;
  }, { timeout: 20000, what: 'a round that skips every brand' });
  assert.equal(quiet.opened, 0);
  const before = await refreshedAt(brands[1]);
  // brand 0 sells past its stock: its brand is marked with the sale, and only it is refreshed
  const b = brands[0];
  assert.equal((await P.api.post(`/api/v1/brands/${b.id}/skus`, { code: 'M1' })).status, 201);
  const sale = await P.api.post(`/api/v1/brands/${b.id}/movements`, { kind: 'sale', sku: 'M1', qty: 2, allow_oversell: true, reference: 'ORDER-1' });
  assert.equal(sale.status, 201, sale.text);
  const item = await waitFor(async () => (await items(b)).find((x) => x.kind === 'oversell'), { timeout: 10000, what: 'the oversell item' });
  assert.match(item.title, /^Oversold 2 × M1/);
  assert.equal(String(await refreshedAt(brands[1])), String(before), 'a quiet brand was not refreshed meanwhile');
});

test('a checklist step falling due opens its item at its time, with nothing written then', async () => {
  const b = brands[1];
  const due = (await stack.sql(`INSERT INTO checklist_items (tenant_id, step_key, title, role, due_at)
    VALUES ($1, 'count_shelf', 'Count the shelf', 'operator', now() + interval '4 seconds') RETURNING due_at`, [b.id])).rows[0].due_at;
  // the insert marks the brand: its next refresh keeps the due time
  await waitFor(async () => {
    const r = (await stack.sql('SELECT next_due FROM brand_health WHERE tenant_id = $1', [b.id])).rows[0];
    return r && r.next_due && r.next_due.getTime() === due.getTime();
  }, { what: 'the due time kept as the brand\'s next refresh' });
  assert.equal((await items(b)).filter((x) => x.kind === 'checklist_overdue').length, 0, 'not due yet');
  const item = await waitFor(async () => (await items(b)).find((x) => x.kind === 'checklist_overdue'),
    { timeout: 10000, what: 'the overdue checklist item' });
  assert.match(item.title, /Count the shelf/);
  assert.ok(Date.now() >= due.getTime(), 'opened once due, not before');
  // at its time, not at the next full refresh (10 s)
  assert.ok(Date.now() - due.getTime() < 4000, `opened ${Date.now() - due.getTime()} ms after it fell due`);
});

test('a snoozed item comes back when the snooze ends, with nothing else written', async () => {
  const b = brands[0];
  const item = (await items(b)).find((x) => x.kind === 'oversell');
  const until = new Date(Date.now() + 4000).toISOString();
  const r = await P.api.post(`/api/v1/brands/${b.id}/exceptions/${item.id}/snooze`, { until });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.state, 'snoozed');
  assert.equal((await items(b)).filter((x) => x.id === item.id).length, 0, 'a snoozed item leaves the active queue');
  const back = await waitFor(async () => (await items(b)).find((x) => x.id === item.id), { timeout: 12000, what: 'the item back' });
  assert.equal(back.state, 'open');
  assert.ok(Date.now() >= Date.parse(until));
  assert.ok(Date.now() - Date.parse(until) < 4000, `back ${Date.now() - Date.parse(until)} ms after the snooze ended`);
  const hist = (await P.api.get(`/api/v1/brands/${b.id}/exceptions/${item.id}`)).json.history.map((h) => h.action);
  assert.ok(hist.includes('snooze_ended'), hist.join(','));
});

test('a brand left alone is refreshed anyway after exceptions_full_seconds', async () => {
  const b = brands[2];
  const first = await refreshedAt(b);
  await sleep(1000);
  const again = await waitFor(async () => {
    const t = await refreshedAt(b);
    return t > first ? t : null;
  }, { timeout: 20000, what: 'the full refresh of a quiet brand' });
  assert.ok(again - first >= 9000, `refreshed ${again - first} ms later: not before the 10 s`);
});
