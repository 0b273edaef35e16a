// sops.test.mjs — the SOP (migration 0027): the default SOP a portfolio
// starts from and the schedule it makes for every brand; versions with who
// and why, all problems of an unsound document at once, a stale base
// refused, diff and restore; a brand's overrides (and a routine's own edit
// becoming one); the scheduler's claim — a due run claimed once by many
// workers at once, the catch-up policy, a checklist step opening its item;
// the checklist (assign, complete, overdue alert, hand-over); the coming
// day's schedule in the brand's time zone; the SQL actions' findings; and
// the portfolio wall.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from './lib/stack.mjs';
import { startSyncStack, channelBrand, converge, runNow } from './lib/sync.mjs';
import { brand, member, portfolio, signIn } from './lib/world.mjs';

let stack, P, sim, br, worker, other, Q;

before(async () => {
  ({ stack, sim, P } = await startSyncStack());
  br = await channelBrand(stack, P, sim, { skus: ['S1', 'S2'], stock: 20, webhooks: false, pollSeconds: 3600 });
  worker = await stack.startWorker();
  await converge([br]);
  other = await brand(P);
  Q = await portfolio(stack);
});
after(async () => { await stack?.stop(); });

const psop = () => `/api/v1/portfolios/${P.pid}/sop`;
const routinesOf = async (b = br) => (await P.api.get(`/api/v1/brands/${b.id}/routines`)).json;

/** Runs `fn(client)` as the app role inside the brand's tenancy. */
async function asBrand(brandId, sql, params = []) {
  const c = await stack.pool.connect();
  try {
    await c.query('BEGIN');
    await c.query("SELECT set_config('app.tenant_id', $1, true)", [brandId]);
    const r = await c.query(sql, params);
    await c.query('COMMIT');
    return r;
  } finally { c.release(); }
}

test('a portfolio starts from the default SOP; every brand has its schedule, per connection where the step is', async () => {
  const r = await P.api.get(psop());
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.version, 1);
  assert.equal(r.json.author, null, 'the default ships with onecount');
  const keys = r.json.document.steps.map((s) => s.key);
  for (const k of ['poll_orders', 'poll_returns', 'read_back', 'full_repush', 'velocity', 'unlisted_skus', 'low_stock',
    'connection_health', 'map_new_skus', 'review_oversells'])
    assert.ok(keys.includes(k), `default step ${k}`);
  const rs = await routinesOf();
  const conns = Object.values(br.conns);
  // per-connection steps: one routine per connection of a matching kind
  assert.equal(rs.filter((x) => x.step_key === 'read_back').length, conns.length);
  assert.equal(rs.filter((x) => x.step_key === 'poll_orders_shopify').length, 1);
  assert.equal(rs.filter((x) => x.step_key === 'poll_orders').length, conns.length - 1);
  assert.equal(rs.find((x) => x.step_key === 'poll_orders_shopify').connection_id, br.conns.shopify.id);
  // brand steps, with cron cadences, also on a brand with no connection yet
  const o = await routinesOf(other);
  const ck = o.find((x) => x.step_key === 'review_oversells');
  assert.equal(ck.kind, 'checklist');
  assert.equal(ck.cron, '30 9 * * 1-5');
  assert.equal(ck.interval_seconds, null);
  assert.equal(o.filter((x) => x.connection_id !== null).length, 0);
});

test('an unsound SOP is refused with every problem at once; nothing changes', async () => {
  const bad = { document: { steps: [
    { key: 'Bad Key', title: 'x', action: 'velocity', every_s: 60 },
    { key: 'two', title: 'Two', action: 'velocity', every_s: 60, cron: '0 * * * *' },
    { key: 'three', title: 'Three', action: 'low_stock', cron: '61 * * * *' },
    { key: 'three', title: 'Again', action: 'checklist', every_s: 600 },
  ] }, reason: 'bad' };
  const r = await P.api.put(psop(), bad);
  assert.equal(r.status, 422, r.text);
  const fields = r.json.error.problems.map((p) => p.field);
  assert.deepEqual(fields, ['document.steps[0].key', 'document.steps[1].cron', 'document.steps[2].cron',
    'document.steps[3].key', 'document.steps[3].checklist']);
  assert.equal(r.json.error.field, 'document.steps[0].key');
  assert.match(r.json.error.problems[2].message, /minute/);
  // types are checked before: a wrong type names its field
  const t = await P.api.put(psop(), { document: { steps: [{ key: 'k', every_s: 'often' }] }, reason: 'x' });
  assert.equal(t.status, 422);
  assert.equal(t.json.error.field, 'document.steps[0].every_s');
  const u = await P.api.put(psop(), { document: { steps: [{ key: 'k', bogus: 1 }] }, reason: 'x' });
  assert.equal(u.status, 422);
  assert.equal((await P.api.get(psop())).json.version, 1);
});

let v2;
test('a new version: who and why, every brand follows; a stale base is refused; diff; restore', async () => {
  const cur = (await P.api.get(psop())).json;
  const doc = structuredClone(cur.document);
  doc.steps = doc.steps.filter((s) => s.key !== 'unlisted_skus');
  doc.steps.find((s) => s.key === 'velocity').every_s = 1800;
  doc.steps.push({ key: 'count_fast_movers', title: 'Count the fast movers', action: 'checklist', cron: '0 8 * * 1',
    checklist: { role: 'operator', due_after_s: 7200, done_when: 'the ten fastest SKUs counted' } });
  const r = await P.api.put(psop(), { document: doc, reason: 'weekly counts; velocity twice an hour', base_version: 1 });
  assert.equal(r.status, 201, r.text);
  v2 = r.json;
  assert.equal(v2.version, 2);
  assert.equal(v2.author.user_id, P.uid);
  assert.equal(v2.reason, 'weekly counts; velocity twice an hour');
  assert.ok(v2.applied[br.id].changed >= 1 && v2.applied[br.id].added >= 1 && v2.applied[br.id].retired >= 1);
  for (const b of [br, other]) {
    const rs = await routinesOf(b);
    assert.equal(rs.find((x) => x.step_key === 'velocity').interval_seconds, 1800);
    const u = rs.find((x) => x.step_key === 'unlisted_skus');
    assert.equal(u.in_sop, false);
    assert.equal(u.enabled, false);
    assert.equal(rs.find((x) => x.step_key === 'count_fast_movers').cron, '0 8 * * 1');
  }
  // written on version 1 while the SOP is at 2: refused, naming who changed it
  const stale = await P.api.put(psop(), { document: cur.document, reason: 'late', base_version: 1 });
  assert.equal(stale.status, 409, stale.text);
  assert.match(stale.json.error.message, /version 2/);
  const vs = await P.api.get(`${psop()}/versions`);
  assert.deepEqual(vs.json.items.map((v) => v.version), [2, 1]);
  assert.equal(vs.json.items[1].reason, 'the default SOP that ships with onecount');
  const d = await P.api.get(`${psop()}/diff?from=1&to=2`);
  assert.equal(d.status, 200, d.text);
  assert.deepEqual(d.json.added.map((s) => s.key), ['count_fast_movers']);
  assert.deepEqual(d.json.removed.map((s) => s.key), ['unlisted_skus']);
  assert.deepEqual(d.json.changed, [{ key: 'velocity', fields: { every_s: { from: 3600, to: 1800 } } }]);
  assert.equal((await P.api.get(`${psop()}/diff?from=1&to=9`)).status, 404);
  assert.equal((await P.api.get(`${psop()}/diff?from=x&to=2`)).json.error.field, 'from');
  const one = await P.api.get(`${psop()}/versions/1`);
  assert.equal(one.json.document.steps.length, cur.document.steps.length);
  // restore 1: a new version 3 with version 1's document; the schedule follows
  const back = await P.api.post(`${psop()}/versions/1/restore`, { reason: 'back to the default' });
  assert.equal(back.status, 201, back.text);
  assert.equal(back.json.version, 3);
  assert.equal(back.json.restored_from, 1);
  const rs = await routinesOf();
  assert.equal(rs.find((x) => x.step_key === 'velocity').interval_seconds, 3600);
  assert.equal(rs.find((x) => x.step_key === 'unlisted_skus').in_sop, true);
  assert.equal(rs.find((x) => x.step_key === 'count_fast_movers').in_sop, false);
  const audit = await P.api.get(`/api/v1/portfolios/${P.pid}/audit?action=sop.`);
  assert.deepEqual(audit.json.items.map((a) => a.action).slice(0, 2), ['sop.restore', 'sop.update']);
});

test("a brand's overrides change its schedule only; a routine's own edit is one of them", async () => {
  // (the world's set-up already changed this brand's poll intervals: each change was a version of its overrides)
  const before = (await P.api.get(`/api/v1/brands/${br.id}/sop`)).json.override;
  assert.ok(before.version >= 1);
  const r = await P.api.put(`/api/v1/brands/${br.id}/sop`, { reason: 'this brand sells slowly', document: { steps: [
    { key: 'velocity', every_s: 7200 },
    { key: 'read_back', connection_id: br.conns.walmart.id, every_s: 120 },
    { key: 'weekly_call', title: 'Weekly call with the brand', action: 'checklist', cron: '0 15 * * 3',
      checklist: { role: 'brand_owner', due_after_s: 3600, done_when: 'notes sent' } },
  ] } });
  assert.equal(r.status, 201, r.text);
  const rs = await routinesOf();
  assert.equal(rs.find((x) => x.step_key === 'velocity').interval_seconds, 7200);
  assert.equal(rs.find((x) => x.step_key === 'read_back' && x.connection_id === br.conns.walmart.id).interval_seconds, 120);
  assert.equal(rs.find((x) => x.step_key === 'read_back' && x.connection_id === br.conns.amazon.id).interval_seconds, 600);
  assert.ok(rs.find((x) => x.step_key === 'weekly_call'));
  assert.equal((await routinesOf(other)).find((x) => x.step_key === 'velocity').interval_seconds, 3600, 'other brand untouched');
  const eff = (await P.api.get(`/api/v1/brands/${br.id}/sop`)).json;
  assert.equal(eff.override.version, before.version + 1);
  assert.equal(eff.effective.steps.find((s) => s.key === 'velocity').overridden, true);
  assert.equal(eff.effective.steps.find((s) => s.key === 'weekly_call').brand_step, true);
  // an override may not change a step's action, nor name another brand's connection
  const bad = await P.api.put(`/api/v1/brands/${br.id}/sop`, { reason: 'x', document: { steps: [
    { key: 'velocity', action: 'low_stock' },
    { key: 'read_back', connection_id: '00000000-0000-4000-8000-000000000000', every_s: 60 }] } });
  assert.equal(bad.status, 422);
  assert.deepEqual(bad.json.error.problems.map((p) => p.field), ['document.steps[0].action', 'document.steps[1].connection_id']);
  // the routine's own edit (PATCH) becomes version 2 of the overrides, keeping the rest
  const polls = rs.find((x) => x.step_key === 'poll_returns' && x.connection_id === br.conns.amazon.id);
  const p = await P.api.patch(`/api/v1/brands/${br.id}/routines/${polls.id}`, { interval_seconds: 1200 });
  assert.equal(p.status, 200, p.text);
  assert.equal(p.json.interval_seconds, 1200);
  const ov = (await P.api.get(`/api/v1/brands/${br.id}/sop`)).json.override;
  assert.equal(ov.version, before.version + 2);
  assert.match(ov.reason, /every 1200 s/);
  assert.equal(ov.document.steps.length, 4);
  const d = await P.api.get(`/api/v1/brands/${br.id}/sop/diff?from=${ov.version - 1}&to=${ov.version}`);
  assert.deepEqual(d.json.added, [{ key: 'poll_returns', connection_id: br.conns.amazon.id, every_s: 1200 }]);
});

test('a due run is claimed once by many workers claiming at the same moment', async () => {
  await worker.stop(); // the eight claims below are the only workers: none of the due runs is taken before them
  const b = await brand(P);
  await asBrand(b.id, 'UPDATE routines SET next_run_at = now() - interval \'1 second\' WHERE tenant_id = $1 AND kind <> \'checklist\'', [b.id]);
  const due = (await asBrand(b.id, 'SELECT count(*)::int AS n FROM routines WHERE tenant_id = $1 AND enabled AND next_run_at <= now()', [b.id])).rows[0].n;
  assert.ok(due >= 5, `${due} due`);
  const claims = await Promise.all(Array.from({ length: 8 }, (_, i) =>
    asBrand(b.id, 'SELECT routines_claim($1, $2, 8, 30) AS c', [b.id, `w${i}`])));
  const got = claims.flatMap((r) => r.rows[0].c.map((x) => x.id));
  assert.equal(new Set(got).size, got.length, 'none claimed twice');
  // each due run was claimed once
  const twice = (await asBrand(b.id, `SELECT routine_id, due_at, count(*)::int AS n FROM routine_runs
    WHERE tenant_id = $1 GROUP BY 1, 2 HAVING count(*) > 1`, [b.id])).rows;
  assert.deepEqual(twice, []);
  assert.equal(got.length, due, 'every due routine claimed');
  worker = await stack.startWorker();
});

test('catch-up: a run missed while no worker ran is reported or run once, as its step says', async () => {
  const rs = await routinesOf();
  const report = rs.find((x) => x.step_key === 'full_repush' && x.connection_id === br.conns.shopify.id); // catch_up report
  const once = rs.find((x) => x.step_key === 'low_stock'); // catch_up once
  assert.equal(report.catch_up, 'report');
  assert.equal(once.catch_up, 'once');
  // the daily re-push was due three days ago: it and three more fell due since
  await asBrand(br.id, "UPDATE routines SET next_run_at = now() - interval '3 days 1 minute' WHERE tenant_id = $1 AND id = $2",
    [br.id, report.id]);
  // the cron step was due at its first firing after three days ago: two more have come since, three in all
  await asBrand(br.id, `UPDATE routines r SET next_run_at = cron_next(r.cron, 'UTC', now() - interval '3 days')
    WHERE tenant_id = $1 AND id = $2`, [br.id, once.id]);
  const runs = async (id) => (await P.api.get(`/api/v1/brands/${br.id}/routine-runs`)).json.items.filter((x) => x.routine_id === id);
  const missed = await waitFor(async () => (await runs(report.id)).find((x) => x.status === 'missed'), { what: 'the missed run' });
  assert.equal(missed.detail.policy, 'report');
  assert.equal(missed.detail.missed, 4);
  assert.ok(missed.detail.late_s >= 3 * 86400, `late ${missed.detail.late_s} s`);
  const ran = await waitFor(async () => (await runs(once.id)).find((x) => x.status === 'ok'), { what: 'the caught-up run' });
  assert.equal(ran.detail.policy, 'once');
  assert.equal(ran.detail.missed, 3, 'a daily step due three firings ago stands for three runs');
  assert.equal(typeof ran.detail.skus_checked, 'number', 'and it did its work');
  const after = (await routinesOf()).find((x) => x.id === report.id);
  assert.ok(Date.parse(after.next_run_at) > Date.now(), 'the next run is in the future, not a pile of past ones');
  assert.equal(after.last_status, 'missed');
});

test('a checklist step opens its item when due; assign, complete; overdue alerts and closes', async () => {
  const op = await member(stack, P, br.id, 'operator');
  const rs = await routinesOf();
  const step = rs.find((x) => x.step_key === 'review_oversells');
  await asBrand(br.id, "UPDATE routines SET next_run_at = now() WHERE tenant_id = $1 AND id = $2", [br.id, step.id]);
  const list = async (q = '') => (await P.api.get(`/api/v1/portfolios/${P.pid}/checklist${q}`)).json.items;
  const item = await waitFor(async () => (await list('?state=open')).find((x) => x.routine_id === step.id), { what: 'the checklist item' });
  assert.equal(item.title, 'Review oversells and their causes');
  assert.equal(item.role, 'operator');
  assert.equal(item.brand_id, br.id);
  assert.ok(Date.parse(item.due_at) - Date.parse(item.opened_at) >= 14400 * 1000 - 1000);
  const run = (await P.api.get(`/api/v1/brands/${br.id}/routine-runs?kind=checklist`)).json.items.find((x) => x.routine_id === step.id);
  assert.equal(run.status, 'ok');
  assert.equal(run.detail.checklist_item, item.id);
  // assign to the operator: "my checklist" shows it to them
  const a = await P.api.post(`/api/v1/brands/${br.id}/checklist/${item.id}/assign`, { user_id: op.uid });
  assert.equal(a.status, 200, a.text);
  assert.equal(a.json.assignee, op.uid);
  const mine = (await op.api.get(`/api/v1/portfolios/${P.pid}/checklist?assignee=me`)).json.items;
  assert.deepEqual(mine.map((x) => x.id), [item.id]);
  const stranger = await P.api.post(`/api/v1/brands/${br.id}/checklist/${item.id}/assign`, { user_id: Q.uid });
  assert.equal(stranger.status, 422);
  assert.equal(stranger.json.error.field, 'user_id');
  // overdue: an alert names it; completing it resolves the alert
  await asBrand(br.id, "UPDATE checklist_items SET due_at = now() - interval '1 minute' WHERE tenant_id = $1 AND id = $2", [br.id, item.id]);
  await asBrand(br.id, 'SELECT checklist_overdue($1)', [br.id]);
  const alert = (await P.api.get(`/api/v1/brands/${br.id}/alerts`)).json.items.find((x) => x.kind === 'checklist_overdue');
  assert.match(alert.message, /Review oversells/);
  assert.deepEqual((await list('?overdue=true')).map((x) => x.id), [item.id]);
  const done = await op.api.post(`/api/v1/brands/${br.id}/checklist/${item.id}/complete`, { note: 'two oversells, both lag' });
  assert.equal(done.status, 200, done.text);
  assert.equal(done.json.state, 'done');
  assert.equal(done.json.completed_by, op.uid);
  assert.equal(done.json.note, 'two oversells, both lag');
  const again = await P.api.post(`/api/v1/brands/${br.id}/checklist/${item.id}/complete`, {});
  assert.equal(again.status, 409);
  assert.match(again.json.error.message, /already completed/);
  assert.equal((await P.api.get(`/api/v1/brands/${br.id}/alerts`)).json.items.find((x) => x.kind === 'checklist_overdue'), undefined);
  const audit = (await P.api.get(`/api/v1/brands/${br.id}/audit?action=checklist.`)).json.items.map((x) => x.action);
  assert.deepEqual(audit.slice(0, 2), ['checklist.done', 'checklist.assign']);
  const bad = await P.api.post(`/api/v1/brands/${br.id}/checklist/${item.id}/complete`, { state: 'maybe' });
  assert.equal(bad.status, 422);
});

test('hand-over: every step and open item of one person goes to another in one action', async () => {
  const leaving = await member(stack, P, null, 'portfolio_admin');
  const taking = await member(stack, P, null, 'portfolio_admin');
  const cur = (await P.api.get(psop())).json;
  const doc = structuredClone(cur.document);
  doc.steps.find((s) => s.key === 'map_new_skus').checklist.assignee = leaving.uid;
  assert.equal((await P.api.put(psop(), { document: doc, reason: 'Sam maps SKUs', base_version: cur.version })).status, 201);
  const step = (await routinesOf(other)).find((x) => x.step_key === 'map_new_skus');
  await asBrand(other.id, 'UPDATE routines SET next_run_at = now() WHERE tenant_id = $1 AND id = $2', [other.id, step.id]);
  const item = await waitFor(async () => (await P.api.get(`/api/v1/brands/${other.id}/checklist?state=open`)).json.items
    .find((x) => x.routine_id === step.id), { what: 'the item' });
  assert.equal(item.assignee, leaving.uid);
  const h = await P.api.post(`/api/v1/portfolios/${P.pid}/sop/handover`, { from_user_id: leaving.uid, to_user_id: taking.uid, reason: 'Sam left' });
  assert.equal(h.status, 200, h.text);
  assert.equal(h.json.steps, 1);
  assert.ok(h.json.open_items >= 1);
  const now = (await P.api.get(psop())).json;
  assert.equal(now.document.steps.find((s) => s.key === 'map_new_skus').checklist.assignee, taking.uid);
  assert.match(now.reason, /hand-over from .* to .*: Sam left/);
  const moved = (await P.api.get(`/api/v1/brands/${other.id}/checklist/?state=open`.replace('/?', '?'))).json.items.find((x) => x.id === item.id);
  assert.equal(moved.assignee, taking.uid);
  const stranger = await P.api.post(`/api/v1/portfolios/${P.pid}/sop/handover`, { from_user_id: leaving.uid, to_user_id: Q.uid });
  assert.equal(stranger.status, 422);
  assert.equal(stranger.json.error.field, 'to_user_id');
});

test("the coming day's schedule, cron steps at the brand's wall time", async () => {
  const tzBrand = (await P.api.post(`/api/v1/portfolios/${P.pid}/brands`, { name: 'NY brand', timezone: 'America/New_York' })).json;
  const s = await P.api.get(`/api/v1/brands/${tzBrand.id}/schedule?hours=48`);
  assert.equal(s.status, 200, s.text);
  const lows = s.json.items.filter((x) => x.step_key === 'low_stock');
  assert.equal(lows.length, 2, 'daily, twice in 48 hours');
  for (const l of lows) {
    const wall = new Intl.DateTimeFormat('en-GB', { timeZone: 'America/New_York', hour: '2-digit', minute: '2-digit' }).format(new Date(l.at));
    assert.equal(wall, '07:10');
  }
  const times = s.json.items.map((x) => Date.parse(x.at));
  assert.deepEqual(times, [...times].sort((a, b) => a - b), 'soonest first');
  const all = await P.api.get(`/api/v1/portfolios/${P.pid}/schedule`);
  assert.ok(new Set(all.json.items.map((x) => x.brand_id)).size >= 3, 'across the portfolio');
  assert.equal((await P.api.get(`/api/v1/portfolios/${P.pid}/schedule?hours=0`)).status, 422);
  // a brand owner sees their brand's schedule only
  const owner = await member(stack, P, other.id, 'brand_owner');
  const mine = (await owner.api.get(`/api/v1/portfolios/${P.pid}/schedule`)).json.items;
  assert.ok(mine.length > 0);
  assert.deepEqual([...new Set(mine.map((x) => x.brand_id))], [other.id]);
});

test('the SQL actions find what the field guide asks for: a new SKU not listed everywhere, low stock', async () => {
  const r = await br.api.post(`${br.base}/skus`, { code: 'NEW-1', title: 'New thing' });
  assert.equal(r.status, 201, r.text);
  const t0 = Date.now();
  await runNow(br, ['unlisted_skus']);
  const run = await waitFor(async () => (await P.api.get(`/api/v1/brands/${br.id}/routine-runs?kind=unlisted_skus&status=ok`)).json.items
    .find((x) => Date.parse(x.started_at) >= t0 - 1000), { what: 'the unlisted_skus run' });
  assert.equal(run.detail.unlisted, 1);
  assert.equal(run.detail.found[0].sku, 'NEW-1');
  assert.equal(run.detail.found[0].missing_on.length, Object.keys(br.conns).length);
  const alert = (await P.api.get(`/api/v1/brands/${br.id}/alerts`)).json.items.find((x) => x.kind === 'sku_unlisted');
  assert.match(alert.message, /NEW-1/);
  // archived, it is no longer a finding, and the alert resolves
  assert.equal((await br.api.patch(`${br.base}/skus/NEW-1`, { archived: true })).status, 200);
  const t1 = Date.now();
  await runNow(br, ['unlisted_skus']);
  await waitFor(async () => (await P.api.get(`/api/v1/brands/${br.id}/routine-runs?kind=unlisted_skus&status=ok`)).json.items
    .find((x) => Date.parse(x.started_at) >= t1 - 1000 && x.detail.unlisted === 0), { what: 'the clean run' });
  assert.equal((await P.api.get(`/api/v1/brands/${br.id}/alerts`)).json.items.find((x) => x.kind === 'sku_unlisted'), undefined);
});

test("the SOP's buffer review: reports listings whose buffer differs from the advisor's, or applies it within bounds", async () => {
  const amazon = br.conns.amazon.id;
  const [s1] = br.skus;
  // Amazon's p99 push lag one hour; S1 sells 1.5/h on Shopify and 1/h on Walmart: λ = 2.5, suggested 3
  await asBrand(br.id, 'SELECT push_lag_record($1, $2, array_fill(3600000::bigint, ARRAY[1024]))', [br.id, amazon]);
  for (const [kind, uph] of [['shopify', 1.5], ['walmart', 1.0]])
    await asBrand(br.id, `INSERT INTO sku_velocity (tenant_id, sku_id, connection_id, units_per_hour)
      SELECT $1, k.id, $3, $4 FROM skus k WHERE k.tenant_id = $1 AND k.code = $2
      ON CONFLICT (tenant_id, sku_id, connection_id) DO UPDATE SET units_per_hour = excluded.units_per_hour`,
    [br.id, s1, br.conns[kind].id, uph]);
  const seen = new Set();
  const reviewRun = async (t0) => {
    const run = await waitFor(async () => (await P.api.get(`/api/v1/brands/${br.id}/routine-runs?kind=buffer_review`)).json.items
      .find((x) => Date.parse(x.started_at) >= t0 - 1000 && x.status !== 'running' && !seen.has(x.id)), { what: 'the buffer review run' });
    seen.add(run.id);
    return run;
  };
  let t0 = Date.now();
  await runNow(br, ['buffer_review']);
  const report = await reviewRun(t0);
  assert.equal(report.status, 'ok', JSON.stringify(report.detail));
  assert.equal(report.detail.apply, false);
  assert.equal(report.detail.applied, 0);
  const f = report.detail.found.find((x) => x.sku === s1 && x.connection.startsWith('amazon'));
  assert.deepEqual([f.current, f.suggested], [0, 3]);
  assert.ok(report.detail.not_measured >= 1, 'listings without a measured lag are counted apart');
  const alert = (await P.api.get(`/api/v1/brands/${br.id}/alerts`)).json.items.find((x) => x.kind === 'buffer_review');
  assert.match(alert.message, new RegExp(`${s1} on amazon-\\d+ \\(0, suggested 3\\)`));
  // the brand lets the review apply it, at most 2 units
  const cur = (await P.api.get(`/api/v1/brands/${br.id}/sop`)).json.override;
  const doc = { steps: [...cur.document.steps.filter((x) => x.key !== 'buffer_review'),
    { key: 'buffer_review', params: { apply: true, min: 0, max: 2 } }] };
  assert.equal((await P.api.put(`/api/v1/brands/${br.id}/sop`, { document: doc, reason: 'apply buffers up to 2', base_version: cur.version })).status, 201);
  t0 = Date.now();
  await runNow(br, ['buffer_review']);
  const applied = await reviewRun(t0);
  assert.equal(applied.detail.apply, true);
  assert.ok(applied.detail.applied >= 1, JSON.stringify(applied.detail));
  const listing = (await P.api.get(`/api/v1/brands/${br.id}/listings?connection=${amazon}`)).json.items.find((l) => l.sku === s1);
  assert.equal(listing.rules.buffer, 2, 'the suggestion, clamped to the bound');
  const audit = (await P.api.get(`/api/v1/brands/${br.id}/audit?action=listing.buffer_advice`)).json.items[0];
  assert.match(audit.summary.reason, /buffer review/);
  assert.equal((await P.api.get(`/api/v1/brands/${br.id}/alerts`)).json.items.find((x) => x.kind === 'buffer_review'), undefined);
});

test('templates: a rule set or SOP overrides for many brands, previewed (nothing changes) then applied', async () => {
  const tp = `/api/v1/portfolios/${P.pid}/templates`;
  const amazon = br.conns.amazon.id;
  const connRules = async () => (await P.api.get(`/api/v1/brands/${br.id}/connections/${amazon}`)).json.rules;
  const desired = async () => (await P.api.get(`/api/v1/brands/${br.id}/listings?connection=${amazon}`)).json.items
    .map((l) => [l.sku, l.desired_qty]).sort();
  const rulesBefore = await connRules();
  const qtyBefore = await desired();
  const rules = { kind: 'rules', brand_ids: [br.id, other.id], rules: { connections: { amazon: { buffer: 5 } } } };
  const pv = await P.api.post(`${tp}/preview`, rules);
  assert.equal(pv.status, 200, pv.text);
  assert.equal(pv.json.applied, false);
  const mine = pv.json.brands.find((x) => x.brand_id === br.id);
  assert.deepEqual(mine.connections.map((c) => [c.kind, c.to]), [['amazon', { buffer: 5 }]]);
  assert.ok(mine.listings_changed >= 1);
  for (const l of mine.listings) assert.ok(l.to < l.from, `${l.sku}: ${l.from} → ${l.to}`);
  const theirs = pv.json.brands.find((x) => x.brand_id === other.id);
  assert.deepEqual([theirs.connections, theirs.listings_changed], [[], 0], 'a brand without Amazon: nothing changes');
  assert.deepEqual(await connRules(), rulesBefore, 'the preview changed nothing');
  assert.deepEqual(await desired(), qtyBefore);
  // applied: the same changes, kept, audited per brand
  const no = await P.api.post(`${tp}/apply`, rules);
  assert.equal(no.status, 422);
  assert.equal(no.json.error.field, 'reason');
  const ap = await P.api.post(`${tp}/apply`, { ...rules, reason: 'Amazon lags: hold 5 back everywhere' });
  assert.equal(ap.status, 200, ap.text);
  assert.deepEqual(ap.json.brands.find((x) => x.brand_id === br.id).listings, mine.listings, 'exactly what the preview said');
  assert.deepEqual(await connRules(), { buffer: 5 });
  const audit = (await P.api.get(`/api/v1/brands/${br.id}/audit?action=template.rules`)).json.items[0];
  assert.equal(audit.summary.reason, 'Amazon lags: hold 5 back everywhere');
  // SOP overrides: previewed per brand with the diff and the schedule's changes, then saved as a version each
  const sopT = { kind: 'sop', brand_ids: [br.id, other.id], document: { steps: [{ key: 'velocity', every_s: 900 }] } };
  const vBefore = (await P.api.get(`/api/v1/brands/${other.id}/sop`)).json.override.version;
  const sp = await P.api.post(`${tp}/preview`, sopT);
  assert.equal(sp.status, 200, sp.text);
  const o = sp.json.brands.find((x) => x.brand_id === other.id);
  assert.equal(o.schedule.changed, 1);
  assert.deepEqual(o.diff.added, [{ key: 'velocity', every_s: 900 }]);
  assert.equal((await P.api.get(`/api/v1/brands/${other.id}/sop`)).json.override.version, vBefore, 'the preview saved nothing');
  assert.equal((await routinesOf(other)).find((x) => x.step_key === 'velocity').interval_seconds, 3600);
  const sa = await P.api.post(`${tp}/apply`, { ...sopT, reason: 'velocity every 15 minutes' });
  assert.equal(sa.status, 200, sa.text);
  assert.equal((await P.api.get(`/api/v1/brands/${other.id}/sop`)).json.override.reason, 'velocity every 15 minutes');
  assert.equal((await routinesOf(other)).find((x) => x.step_key === 'velocity').interval_seconds, 900);
  // refusals: another portfolio's brand, an unsound document (every problem, named by brand)
  const foreign = await P.api.post(`${tp}/preview`, { ...sopT, brand_ids: [br.id, (await brand(Q)).id] });
  assert.equal(foreign.status, 422);
  assert.equal(foreign.json.error.field, 'brand_ids');
  const bad = await P.api.post(`${tp}/preview`, { ...sopT, document: { steps: [{ key: 'velocity', cron: '99 * * * *' }] } });
  assert.equal(bad.status, 422, bad.text);
  assert.equal(bad.json.error.field, 'document.steps[0].cron');
  assert.match(bad.json.error.message, /: minute/);
  const owner = await member(stack, P, br.id, 'brand_owner');
  assert.equal((await owner.api.post(`${tp}/preview`, rules)).status, 403);
});

test('another portfolio sees none of it', async () => {
  assert.equal((await Q.api.get(psop())).status, 404);
  assert.equal((await Q.api.put(psop(), { document: { steps: [] }, reason: 'x' })).status, 404);
  assert.equal((await Q.api.get(`/api/v1/brands/${br.id}/sop`)).status, 404);
  assert.equal((await Q.api.get(`/api/v1/brands/${br.id}/checklist`)).status, 404);
  const theirs = (await Q.api.get(`/api/v1/portfolios/${Q.pid}/sop`)).json;
  assert.equal(theirs.version, 1, 'their own SOP is untouched by ours');
});

test('a 201 is a promise: serve killed (SIGKILL) right after saving a version keeps the version and the schedule', async () => {
  const cur = (await P.api.get(psop())).json;
  const doc = structuredClone(cur.document);
  doc.steps.find((s) => s.key === 'low_stock').cron = '40 6 * * *';
  const saved = await P.api.put(psop(), { document: doc, reason: 'low stock before the morning call', base_version: cur.version });
  assert.equal(saved.status, 201, saved.text);
  await stack.restartServer({}, { signal: 'SIGKILL' });
  const api = await signIn(stack.url, P.email);
  const after = (await api.get(psop())).json;
  assert.equal(after.version, saved.json.version);
  assert.equal(after.reason, 'low stock before the morning call');
  const rs = (await api.get(`/api/v1/brands/${br.id}/routines`)).json;
  assert.equal(rs.find((x) => x.step_key === 'low_stock').cron, '40 6 * * *', 'the schedule was made in the same transaction');
});
