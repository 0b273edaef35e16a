// tenancy_sweep.test.mjs — broken object-level authorization, swept: every
// route of the router's table that names a brand or a portfolio is called
// with another tenant's ids and must answer exactly what a random id gets
// (404), changing nothing of the other tenant.  New routes join by being in
// the table (`onecount routes`); a route with a parameter this file cannot
// fill fails the sweep until a provider is added below.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { startStack, waitFor, BIN } from './lib/stack.mjs';
import { portfolio, brand, member, token, tokenClient, unique } from './lib/world.mjs';

const routes = JSON.parse(execFileSync(BIN, ['routes'], { encoding: 'utf8' }));
// Public routes (channel webhooks) authenticate by their own signature, not a
// principal; the sync tests check they answer unknown and foreign alike.
const brandRoutes = routes.filter((r) => r.pattern.includes('{bid}') && r.perm !== 'public');
const portfolioRoutes = routes.filter((r) => r.pattern.includes('{pid}'));

let stack, P, Q, A, B, C, owner;
let objectsOf; // tenant label → { param: id }

// Plausible bodies, so handlers get past validation to the object lookup.
const bodies = {
  'PATCH /api/v1/brands/{bid}': { name: 'Swept' },
  'PATCH /api/v1/brands/{bid}/members/{uid}': { role: 'viewer' },
  'POST /api/v1/brands/{bid}/invitations': { email: 'swept@example.test', role: 'viewer' },
  'POST /api/v1/brands/{bid}/tokens': { name: 'swept', role: 'viewer' },
  'POST /api/v1/portfolios/{pid}/brands': { name: 'Swept' },
  'POST /api/v1/brands/{bid}/skus': { code: 'SWEPT' },
  'PATCH /api/v1/brands/{bid}/skus/{code}': { title: 'Swept' },
  'POST /api/v1/brands/{bid}/bundles': { code: 'SWEPT-B', components: [{ sku: 'SWEPT', qty: 1 }] },
  'PUT /api/v1/brands/{bid}/bundles/{code}': { components: [{ sku: 'SWEPT', qty: 1 }] },
  'POST /api/v1/brands/{bid}/movements': { kind: 'receipt', sku: 'SWEPT', qty: 1 },
  'POST /api/v1/brands/{bid}/oversells/{oid}/resolve': { resolution: 'written_off' },
  'POST /api/v1/brands/{bid}/holds': { sku: 'SWEPT', qty: 1 },
  'POST /api/v1/brands/{bid}/connections': { kind: 'walmart', name: 'Swept', settings: {}, credentials: { client_id: 'a', client_secret: 'b' } },
  'PATCH /api/v1/brands/{bid}/connections/{cid}': { name: 'Swept' },
  'PUT /api/v1/brands/{bid}/rules': { last_units: null },
  'POST /api/v1/brands/{bid}/listings': { connection_id: '00000000-0000-4000-8000-000000000000', sku: 'SWEPT' },
  'PATCH /api/v1/brands/{bid}/listings/{lid}': { rules: { buffer: 1 } },
  'POST /api/v1/portfolios/{pid}/invitations': { email: 'swept@example.test', role: 'portfolio_admin' },
  'POST /api/v1/portfolios/{pid}/tokens': { name: 'swept', role: 'viewer' },
  'PATCH /api/v1/brands/{bid}/routines/{rid}': { interval_seconds: 60 },
  'POST /api/v1/brands/{bid}/checklist/{kid}/assign': { user_id: null },
  'POST /api/v1/brands/{bid}/exceptions/{xid}/assign': { owner_id: null },
  'POST /api/v1/brands/{bid}/exceptions/{xid}/snooze': { hours: 1 },
  'POST /api/v1/brands/{bid}/exceptions/{xid}/resolve': { note: 'swept' },
};

async function objects(p, b) {
  const m = await member(stack, p, b.id, 'viewer');
  const t = await token(p, b.id, 'viewer');
  const inv = await p.api.post(`/api/v1/brands/${b.id}/invitations`, { email: `${unique('i')}@example.test`, role: 'viewer' });
  const pt = await token(p, null, 'viewer');
  const pinv = await p.api.post(`/api/v1/portfolios/${p.pid}/invitations`, { email: `${unique('pi')}@example.test`, role: 'portfolio_admin' });
  // Inventory objects: a SKU and a bundle with codes no other brand has, an oversell incident, a hold.
  const code = unique('SKU'), bundle = unique('BND');
  const inv2 = tokenClient(stack.url, (await token(p, b.id, 'operator')).token);
  assert.equal((await inv2.post(`/api/v1/brands/${b.id}/skus`, { code })).status, 201);
  assert.equal((await inv2.post(`/api/v1/brands/${b.id}/bundles`, { code: bundle, components: [{ sku: code, qty: 1 }] })).status, 201);
  await inv2.post(`/api/v1/brands/${b.id}/movements`, { kind: 'receipt', sku: code, qty: 3 });
  const sale = await inv2.post(`/api/v1/brands/${b.id}/movements`, { kind: 'sale', sku: code, qty: 4, allow_oversell: true });
  assert.equal(sale.json.oversells.length, 1);
  const oid = (await inv2.get(`/api/v1/brands/${b.id}/oversells`)).json.items[0].id;
  const hold = await inv2.post(`/api/v1/brands/${b.id}/holds`, { sku: code, qty: 1, ttl_seconds: 3600 });
  await inv2.post(`/api/v1/brands/${b.id}/movements`, { kind: 'receipt', sku: code, qty: 5 });
  const hold2 = await inv2.post(`/api/v1/brands/${b.id}/holds`, { sku: code, qty: 1, ttl_seconds: 3600 });
  assert.equal(hold2.status, 201, hold2.text);
  const conn = await inv2.post(`/api/v1/brands/${b.id}/connections`, { kind: 'walmart', name: unique('WM'), settings: {},
    credentials: { client_id: 'id', client_secret: 'secret' } });
  const owner2 = tokenClient(stack.url, (await token(p, b.id, 'brand_owner')).token);
  const c2 = conn.status === 201 ? conn : await owner2.post(`/api/v1/brands/${b.id}/connections`, { kind: 'walmart',
    name: unique('WM'), settings: {}, credentials: { client_id: 'id', client_secret: 'secret' } });
  assert.equal(c2.status, 201, c2.text);
  const listing = await inv2.post(`/api/v1/brands/${b.id}/listings`, { connection_id: c2.json.id, sku: code });
  assert.equal(listing.status, 201, listing.text);
  // A connection comes with its routines; alerts come from the worker, so one is made directly.
  const rid = (await inv2.get(`/api/v1/brands/${b.id}/routines`)).json[0].id;
  const aid = String((await stack.sql(`INSERT INTO alerts (tenant_id, connection_id, kind, message)
    VALUES ($1, $2, 'swept', 'swept') RETURNING id`, [b.id, c2.json.id])).rows[0].id);
  // An import job, finished before the sweep fingerprints the brand.
  const imp = await inv2.post(`/api/v1/brands/${b.id}/imports?type=skus&dry_run=true`, `code\n${unique('IMP')}\n`,
    { 'content-type': 'text/csv' });
  assert.equal(imp.status, 202, imp.text);
  await waitFor(async () => (await inv2.get(`/api/v1/brands/${b.id}/imports/${imp.json.id}`)).json.status === 'done',
    { what: 'the import job' });
  // A checklist item: opened by the scheduler when its step is due; made directly here.
  const kid = (await stack.sql(`INSERT INTO checklist_items (tenant_id, step_key, title, role, due_at)
    VALUES ($1, 'swept', 'swept', 'operator', now() + interval '1 hour') RETURNING id`, [b.id])).rows[0].id;
  // An exception: opened by the worker's refresh from a condition; made directly here.
  const xid = String((await stack.sql(`INSERT INTO exceptions (tenant_id, kind, subject, severity, title)
    VALUES ($1, 'sku_unlisted', 'sku:swept', 'info', 'swept') RETURNING id`, [b.id])).rows[0].id);
  // A webhook endpoint of the portfolio.
  const hook = await p.api.post(`/api/v1/portfolios/${p.pid}/webhooks`, { name: unique('hook'), url: 'http://127.0.0.1:9/sweep' });
  assert.equal(hook.status, 201, hook.text);
  await new Promise((r) => setTimeout(r, 100)); // let the holds mirror into PostgreSQL
  return { bid: b.id, pid: p.pid, uid: m.uid, tid: t.id, iid: inv.json.id, ptid: pt.id, piid: pinv.json.id,
    code: bundle, oid, hid: hold2.json.id, firstHold: hold.status, cid: c2.json.id, lid: listing.json.id, rid, aid,
    jid: imp.json.id, kid, xid, wid: hook.json.id };
}

before(async () => {
  stack = await startStack();
  P = await portfolio(stack);
  Q = await portfolio(stack);
  A = await brand(P);
  B = await brand(P);
  C = await brand(Q);
  owner = await member(stack, P, A.id, 'brand_owner');
  objectsOf = { A: await objects(P, A), B: await objects(P, B), C: await objects(Q, C) };
});
after(async () => { await stack?.stop(); });

/** Fills a pattern: params named in `use` come from `objs`, the rest are random. */
function fill(pattern, values) {
  return pattern.replace(/\{(\w+)\}/g, (_, name) => {
    if (!(name in values)) throw new Error(`the sweep has no provider for path parameter {${name}} (${pattern})`);
    return values[name];
  });
}

// SOP versions are numbers within the path's portfolio or brand, not ids of their own: one no SOP has.
const NO_VERSION = '424242';

function providerFor(objs, pattern) {
  // Portfolio routes name portfolio-level tokens and invitations with the same parameter names.
  const portfolioLevel = pattern.startsWith('/api/v1/portfolios/');
  return { bid: objs.bid, pid: objs.pid, uid: objs.uid, tid: portfolioLevel ? objs.ptid : objs.tid,
    iid: portfolioLevel ? objs.piid : objs.iid, code: objs.code, oid: objs.oid, hid: objs.hid, cid: objs.cid, lid: objs.lid,
    rid: objs.rid, aid: objs.aid, jid: objs.jid, ver: NO_VERSION, kid: objs.kid, xid: objs.xid, wid: objs.wid };
}

function randomProvider() {
  return { bid: randomUUID(), pid: randomUUID(), uid: randomUUID(), tid: randomUUID(), iid: randomUUID(),
    code: `random-${randomUUID().slice(0, 8)}`, oid: String(1000000 + Math.floor(Math.random() * 1e6)), hid: randomUUID(),
    cid: randomUUID(), lid: randomUUID(), rid: randomUUID(), aid: String(1000000 + Math.floor(Math.random() * 1e6)),
    jid: randomUUID(), ver: NO_VERSION, kid: randomUUID(), xid: String(1000000 + Math.floor(Math.random() * 1e6)),
    wid: randomUUID() };
}

const shape = (r) => ({ status: r.status, code: r.json?.error?.code, message: r.json?.error?.message, field: r.json?.error?.field });

// Query strings a route needs to get past validation.
const queries = {
  'GET /api/v1/brands/{bid}/skus/{code}/balance': '?at=2030-01-01T00:00:00Z',
};

async function call(api, route, values) {
  const path = fill(route.pattern, values) + (queries[`${route.method} ${route.pattern}`] || '');
  const body = route.body === 'json' ? (bodies[`${route.method} ${route.pattern}`] || {}) : undefined;
  return api.req(route.method, path, body);
}

/** Fingerprint of everything that belongs to a brand or a portfolio, taken as the superuser. */
async function fingerprint(brandIds, portfolioIds) {
  const tables = (await stack.sql(`
    SELECT c.relname, bool_or(a.attname = 'tenant_id') AS t, bool_or(a.attname = 'brand_id') AS b,
           bool_or(a.attname = 'portfolio_id') AS p
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_attribute a ON a.attrelid = c.oid
    WHERE n.nspname = 'public' AND c.relkind = 'r' AND a.attnum > 0 GROUP BY c.relname ORDER BY 1`)).rows;
  const out = {};
  for (const t of tables) {
    const conds = [];
    if (t.t) conds.push('tenant_id = ANY($1::uuid[])');
    if (t.b) conds.push('brand_id = ANY($1::uuid[])');
    if (t.p) conds.push('portfolio_id = ANY($2::uuid[])');
    if (t.relname === 'brands') conds.push('id = ANY($1::uuid[])');
    if (t.relname === 'sessions') conds.push('user_id IN (SELECT id FROM users WHERE portfolio_id = ANY($2::uuid[]))');
    if (!conds.length) continue;
    const r = await stack.sql(`SELECT count(*)::int AS n, md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), '')) AS h
      FROM ${t.relname} x WHERE (${conds.join(' OR ')}) AND cardinality($1::uuid[]) >= 0
        AND cardinality($2::uuid[]) >= 0`, [brandIds, portfolioIds]);
    out[t.relname] = r.rows[0];
  }
  return out;
}

test('the sweep covers every brand- and portfolio-scoped route of the table', () => {
  assert.ok(brandRoutes.length >= 10, `only ${brandRoutes.length} brand routes`);
  assert.ok(portfolioRoutes.length >= 5);
  for (const r of [...brandRoutes, ...portfolioRoutes]) fill(r.pattern, { ...randomProvider() }); // every parameter has a provider
});

test("a brand's user naming another brand of its portfolio gets the 404 of a random id, and nothing changes", async () => {
  const before = await fingerprint([B.id], []);
  for (const route of brandRoutes) {
    const foreign = await call(owner.api, route, providerFor(objectsOf.B, route.pattern));
    const random = await call(owner.api, route, randomProvider());
    assert.equal(foreign.status, 404, `${route.method} ${route.pattern} with brand B: ${foreign.text}`);
    assert.deepEqual(shape(foreign), shape(random), `${route.method} ${route.pattern}`);
  }
  assert.deepEqual(await fingerprint([B.id], []), before);
});

test("a portfolio admin naming another portfolio's brand gets the same 404, and nothing changes", async () => {
  const before = await fingerprint([C.id], [Q.pid]);
  for (const route of brandRoutes) {
    const foreign = await call(P.api, route, providerFor(objectsOf.C, route.pattern));
    const random = await call(P.api, route, randomProvider());
    assert.equal(foreign.status, 404, `${route.method} ${route.pattern} with brand C: ${foreign.text}`);
    assert.deepEqual(shape(foreign), shape(random), `${route.method} ${route.pattern}`);
  }
  assert.deepEqual(await fingerprint([C.id], [Q.pid]), before);
});

test("another brand's objects under one's own brand answer like random ids", async () => {
  const before = await fingerprint([B.id], []);
  for (const route of brandRoutes.filter((r) => (r.pattern.match(/\{/g) || []).length > 1)) {
    const own = providerFor(objectsOf.A, route.pattern);
    const foreign = await call(owner.api, route, { ...providerFor(objectsOf.B, route.pattern), bid: own.bid });
    const random = await call(owner.api, route, { ...randomProvider(), bid: own.bid });
    assert.deepEqual(shape(foreign), shape(random), `${route.method} ${route.pattern}`);
    assert.equal(foreign.status, 404, `${route.method} ${route.pattern}: ${foreign.text}`);
  }
  assert.deepEqual(await fingerprint([B.id], []), before);
});

test('another portfolio, and its objects, answer like random ids on portfolio routes', async () => {
  const before = await fingerprint([C.id], [Q.pid]);
  for (const route of portfolioRoutes) {
    const foreign = await call(P.api, route, providerFor(objectsOf.C, route.pattern));
    const random = await call(P.api, route, randomProvider());
    assert.equal(foreign.status, 404, `${route.method} ${route.pattern} with portfolio Q: ${foreign.text}`);
    assert.deepEqual(shape(foreign), shape(random), `${route.method} ${route.pattern}`);
    if ((route.pattern.match(/\{/g) || []).length > 1) {
      const mixed = await call(P.api, route, { ...providerFor(objectsOf.C, route.pattern), pid: P.pid });
      const mixedRandom = await call(P.api, route, { ...randomProvider(), pid: P.pid });
      assert.deepEqual(shape(mixed), shape(mixedRandom), `${route.method} ${route.pattern} with Q's objects`);
      assert.equal(mixed.status, 404);
    }
  }
  assert.deepEqual(await fingerprint([C.id], [Q.pid]), before);
});
