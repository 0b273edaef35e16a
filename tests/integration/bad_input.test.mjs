// bad_input.test.mjs — bad input gets exactly what the schema says: a 4xx in
// the one error shape naming the field, never a crash, a 5xx or a row.
// (contract.test.mjs walks every operation of web/openapi.json the same way;
// these are the cases found by hand, each with its exact answer.)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { startStack, startServer, rawRequest } from './lib/stack.mjs';
import { brandWorld, tokenClient } from './lib/world.mjs';

let stack, P, A, api, base, conn;
before(async () => {
  stack = await startStack();
  let sku;
  ({ P, A, api, base, sku } = await brandWorld(stack, 'portfolio_admin'));
  const c = await api.post(`${base}/connections`, {
    kind: 'shopify', name: 'Shop', base_url: 'http://127.0.0.1:9/shopify/acme',
    settings: { shop: 'acme.myshopify.com', location_id: 'gid://shopify/Location/1' },
    credentials: { access_token: 'shpat_x' },
  });
  assert.equal(c.status, 201, c.text);
  conn = c.json;
  await sku('A-1', { qty: 5 });
  await sku('A-2');
});
after(async () => { await stack?.stop(); });

/** A refusal: the status, the one error shape with the request id, and the field named. */
function refused(r, status, field, message) {
  assert.equal(r.status, status, r.text);
  assert.match(r.headers.get('content-type') || '', /^application\/json/, r.text);
  assert.ok(r.json?.error, `error shape: ${r.text}`);
  // a 422 also lists every problem, the first being the error's own field and message
  const keys = ['code', 'field', 'message', 'request_id'];
  if (r.json.error.problems !== undefined) {
    assert.equal(status, 422, r.text);
    assert.deepEqual(r.json.error.problems[0], { field: r.json.error.field, message: r.json.error.message }, r.text);
    keys.push('problems');
  }
  assert.deepEqual(Object.keys(r.json.error).sort(), keys.sort(), r.text);
  assert.equal(typeof r.json.error.code, 'string');
  assert.equal(typeof r.json.error.message, 'string');
  assert.equal(r.json.error.request_id, r.headers.get('x-request-id'), `request_id in ${r.text}`);
  if (field !== undefined) assert.equal(r.json.error.field, field, r.text);
  if (message !== undefined) assert.match(r.json.error.message, message, r.text);
}

async function alive() {
  assert.equal(stack.server.proc.exitCode, null, 'serve exited');
  assert.equal(stack.server.proc.signalCode, null, 'serve was killed');
  const h = await fetch(`${stack.url}/healthz`);
  assert.equal(h.status, 200);
}

const count = async (table) => (await stack.sql(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n;

/** Sends raw bytes with the admin's token. */
const raw = (method, path, { body, headers = {} } = {}) =>
  rawRequest(stack.url, method, path, { body, headers: { ...api.headers, ...headers } });

test('PATCH a connection with "credentials": null is a 422 naming the field, and serve lives', async () => {
  const r = await api.patch(`${base}/connections/${conn.id}`, { credentials: null });
  refused(r, 422, 'credentials', /credentials must not be null/);
  await alive();
  const after = await api.get(`${base}/connections/${conn.id}`);
  assert.equal(after.json.credentials.set, true);
});

test('a movement with "lines": null is a 422 naming the field, not a 500 from SQL', async () => {
  const before = await count('movements');
  const r = await api.post(`${base}/movements`, { kind: 'receipt', lines: null });
  refused(r, 422, 'lines', /must not be null/);
  await alive();
  assert.equal(await count('movements'), before);
});

test('null is refused where the document does not say nullable, field named', async () => {
  const hid = randomUUID(), lid = randomUUID();
  const cases = [
    ['PATCH', base, { name: null }, 'name'],
    ['PATCH', base, { timezone: null }, 'timezone'],
    ['PATCH', base, { archived: null }, 'archived'],
    ['POST', `${base}/holds`, { sku: 'A-1', qty: 1, ttl_seconds: null }, 'ttl_seconds'],
    ['POST', `${base}/holds`, { sku: 'A-1', qty: null }, 'qty'],
    ['POST', `${base}/holds`, { lines: null }, 'lines'],
    ['POST', `${base}/movements`, { kind: 'receipt', sku: 'A-1', qty: 1, reference: null }, 'reference'],
    ['POST', `${base}/movements`, { kind: null, sku: 'A-1', qty: 1 }, 'kind'],
    ['POST', `${base}/movements`, { kind: 'receipt', lines: [{ sku: 'A-1', qty: null }] }, 'lines[0].qty'],
    ['POST', `${base}/skus`, { code: 'N-1', title: null }, 'title'],
    ['PATCH', `${base}/skus/A-1`, { title: null }, 'title'],
    ['PATCH', `${base}/skus/A-1`, { archived: null }, 'archived'],
    ['PATCH', `${base}/connections/${conn.id}`, { name: null }, 'name'],
    ['PATCH', `${base}/connections/${conn.id}`, { base_url: null }, 'base_url'],
    ['PATCH', `${base}/connections/${conn.id}`, { settings: null }, 'settings'],
    ['PATCH', `${base}/connections/${conn.id}`, { status: null }, 'status'],
    ['PATCH', `${base}/connections/${conn.id}`, { rules: null }, 'rules'],
    ['PATCH', `${base}/connections/${conn.id}`, { rate_scale: null }, 'rate_scale'],
    ['PATCH', `${base}/connections/${conn.id}`, { rules: { buffer: null } }, 'rules.buffer'],
    ['PATCH', `${base}/connections/${conn.id}`, { settings: { shop: 'acme.myshopify.com', api_version: null } }, 'settings.api_version'],
    ['PATCH', `${base}/listings/${lid}`, { item_ref: null }, 'item_ref'],
    ['PATCH', `${base}/listings/${lid}`, { location_ref: null }, 'location_ref'],
    ['PATCH', `${base}/listings/${lid}`, { external_sku: null }, 'external_sku'],
    ['PATCH', `${base}/listings/${lid}`, { repush: null }, 'repush'],
    ['PUT', `${base}/rules`, { last_units: { threshold: null, connection_id: conn.id } }, 'last_units.threshold'],
    ['POST', `/api/v1/portfolios/${P.pid}/brands`, { name: 'X', timezone: null }, 'timezone'],
    ['POST', `${base}/tokens`, { name: null, role: 'viewer' }, 'name'],
  ];
  const rows = await count('audit_log');
  for (const [method, path, body, field] of cases) {
    const r = await api.req(method, path, body);
    refused(r, 422, field, /must not be null/);
  }
  assert.equal(await count('audit_log'), rows, 'nothing was written');
  assert.equal(await count('holds'), 0);
  await alive();
});

test('where the document says nullable, null means what it documents', async () => {
  // a SKU's barcode: null clears it
  assert.equal((await api.patch(`${base}/skus/A-2`, { barcode: '123' })).json.barcode, '123');
  const cleared = await api.patch(`${base}/skus/A-2`, { barcode: null });
  assert.equal(cleared.status, 200, cleared.text);
  assert.equal(cleared.json.barcode, null);
  // the brand's last-units rule: null removes it (the console's "Remove rule")
  const set = await api.put(`${base}/rules`, { last_units: { threshold: 2, connection_id: conn.id } });
  assert.equal(set.status, 200, set.text);
  const gone = await api.put(`${base}/rules`, { last_units: null });
  assert.equal(gone.status, 200, gone.text);
  assert.equal(gone.json.last_units, null);
  // a rule's cap: null is "no cap" (a listing overrides its connection's cap with it)
  const capped = await api.patch(`${base}/connections/${conn.id}`, { rules: { cap: null, buffer: 'auto', share: 50.5 } });
  assert.equal(capped.status, 200, capped.text);
  assert.deepEqual(capped.json.rules, { cap: null, buffer: 'auto', share: 50.5 });
});

test('unknown fields are refused on every route, also those that take an empty body', async () => {
  const hid = randomUUID();
  const before = { holds: await count('holds'), audit: await count('audit_log'), listings: await count('listings') };
  const cases = [
    ['POST', `${base}/holds/${hid}/confirm`, { force: true }, 'force'],
    ['POST', `${base}/holds/${hid}/release`, { reason: 'x' }, 'reason'],
    ['POST', `${base}/connections/${conn.id}/test`, { deep: true }, 'deep'],
    ['POST', `${base}/connections/${conn.id}/automap`, { prefix: 'X' }, 'prefix'],
    ['POST', `${base}/alerts/1/resolve`, { note: 'x' }, 'note'],
    ['POST', `${base}/routines/${randomUUID()}/run`, { now: true }, 'now'],
    ['POST', `${base}/oversells/1/resolve`, { resolution: 'restocked', by: 'me' }, 'by'],
    ['PATCH', `${base}/connections/${conn.id}`, { rules: { colour: 'red' } }, 'rules.colour'],
    ['PUT', `${base}/rules`, { last_units: { threshold: 1, connection_id: conn.id, when: 'now' } }, 'last_units.when'],
    ['POST', `${base}/movements`, { kind: 'receipt', lines: [{ sku: 'A-1', qty: 1, note: 'x' }] }, 'lines[0].note'],
    ['PUT', `${base}/bundles/B-1`, { components: [{ sku: 'A-1', qty: 1, x: 1 }] }, 'components[0].x'],
  ];
  for (const [method, path, body, field] of cases) {
    const r = await api.req(method, path, body);
    refused(r, 422, field, /unknown field/);
  }
  // logout: a session's own route
  const out = await P.api.post('/api/v1/auth/logout', { everywhere: true });
  refused(out, 422, 'everywhere', /unknown field/);
  assert.equal((await P.api.get('/api/v1/me')).status, 200, 'the session still works');
  assert.deepEqual(before, { holds: await count('holds'), audit: await count('audit_log'), listings: await count('listings') });
  await alive();
});

test('a top-level sku or qty beside lines is refused, naming it; nothing is written', async () => {
  const before = { movements: await count('movements'), holds: await count('holds') };
  const line = [{ sku: 'A-1', qty: 1 }];
  refused(await api.post(`${base}/movements`, { kind: 'receipt', lines: line, qty: -1 }), 422, 'qty', /not both/);
  refused(await api.post(`${base}/movements`, { kind: 'receipt', lines: line, qty: 1 }), 422, 'qty', /not both/);
  refused(await api.post(`${base}/movements`, { kind: 'receipt', lines: line, sku: 'A-2' }), 422, 'sku', /not both/);
  refused(await api.post(`${base}/movements`, { kind: 'receipt', sku: 'A-1' }), 422, 'qty');
  refused(await api.post(`${base}/movements`, { kind: 'receipt', qty: 1 }), 422, 'sku');
  refused(await api.post(`${base}/holds`, { lines: line, qty: -1 }), 422, 'qty');
  refused(await api.post(`${base}/holds`, { lines: line, qty: 2 }), 422, 'qty', /not both/);
  refused(await api.post(`${base}/holds`, { lines: line, sku: 'A-1' }), 422, 'sku', /not both/);
  refused(await api.post(`${base}/movements`, { kind: 'receipt', lines: [{ sku: 'A-1', qty: 1 }, { sku: 'A-1', qty: 1 }, { sku: 'A-2', qty: 0 }] }),
    422, 'lines[2].qty');
  assert.deepEqual(before, { movements: await count('movements'), holds: await count('holds') });
});

test('huge and fractional numbers: 422 naming the field, or 400 where JSON cannot hold them', async () => {
  const before = await count('movements');
  const send = (text) => raw('POST', `${base}/movements`, { body: text, headers: { 'content-type': 'application/json' } });
  refused(await send('{"kind":"receipt","sku":"A-1","qty":1e300}'), 422, 'qty', /integer/);
  refused(await send('{"kind":"receipt","sku":"A-1","qty":-0.5}'), 422, 'qty', /integer/);
  refused(await send('{"kind":"receipt","sku":"A-1","qty":2.0}'), 422, 'qty', /integer/);
  refused(await send('{"kind":"receipt","sku":"A-1","qty":9223372036854775807}'), 422, 'qty', /between/);
  refused(await send('{"kind":"receipt","sku":"A-1","qty":-9223372036854775808}'), 422, 'qty', /between/);
  refused(await send('{"kind":"receipt","sku":"A-1","qty":9223372036854775808}'), 400, null, /too big integer/);
  refused(await send('{"kind":"receipt","sku":"A-1","qty":-9223372036854775809}'), 400, null, /too big negative integer/);
  refused(await send('{"kind":"receipt","sku":"A-1","qty":1e400}'), 400, null);
  refused(await api.patch(`${base}/connections/${conn.id}`, { rules: { share: 1e300 } }), 422, 'rules.share', /percentage/);
  refused(await api.patch(`${base}/connections/${conn.id}`, { rate_scale: 2.5 }), 422, 'rate_scale', /integer/);
  refused(await api.post(`${base}/holds`, { sku: 'A-1', qty: 1, ttl_seconds: 1e300 }), 422, 'ttl_seconds');
  assert.equal(await count('movements'), before);
  await alive();
});

test('invalid UTF-8 and NUL: in a body 400, in a path segment, a query or Idempotency-Key 4xx, never 5xx', async () => {
  const json = { 'content-type': 'application/json' };
  refused(await raw('POST', `${base}/skus`, { body: Buffer.from('{"code":"X\xff"}', 'latin1'), headers: json }), 400, null, /malformed JSON/);
  refused(await raw('POST', `${base}/skus`, { body: '{"code":"X\\u0000Y"}', headers: json }), 400, null);
  for (const path of [`${base}/skus/%FF`, `${base}/skus/%C3`, `${base}/skus/%C0%AF`, `${base}/skus/%ED%A0%80/history`,
    `${base}/connections/%FF`, `${base}/skus/%00`]) {
    refused(await raw('GET', path), 400, undefined);
  }
  for (const q of ['sku=%FF', 'cursor=%FF', 'limit=%00', '%FF=1', 'sku=%E2%82']) {
    const r = await raw('GET', `${base}/movements?${q}`);
    refused(r, 400, undefined, /query/);
  }
  for (const key of ['\xff\xfe', 'a b', '', 'x'.repeat(256)]) {
    const r = await raw('POST', `${base}/skus`, { body: '{"code":"IK-1"}', headers: { ...json, 'idempotency-key': Buffer.from(key, 'latin1').toString('latin1') } });
    refused(r, 400, null, /Idempotency-Key/);
  }
  assert.equal((await api.get(`${base}/skus/IK-1`)).status, 404, 'nothing was created');
  await alive();
});

test('deep nesting is a 400 with its position, and the server lives', async () => {
  const json = { 'content-type': 'application/json' };
  for (const body of ['['.repeat(10000) + ']'.repeat(10000), '{"a":'.repeat(10000) + '1' + '}'.repeat(10000),
    `{"kind":"receipt","sku":"A-1","qty":1,"reference":${'['.repeat(10000)}${']'.repeat(10000)}}`]) {
    refused(await raw('POST', `${base}/movements`, { body, headers: json }), 400, null, /depth/);
  }
  // deep but within the parser's limit, where the schema takes a free-form object
  const deep = `{"settings":${'{"a":'.repeat(500)}1${'}'.repeat(500)}}`;
  const r = await raw('PATCH', `${base}/connections/${conn.id}`, { body: deep, headers: json });
  assert.ok(r.status < 500, r.text);
  await alive();
});

test('a body that is not an object, or empty where fields are required, is refused', async () => {
  const json = { 'content-type': 'application/json' };
  for (const body of ['[]', '"x"', '1', 'null', 'true']) {
    refused(await raw('POST', `${base}/movements`, { body, headers: json }), 400, null, /JSON/);
  }
  refused(await raw('POST', `${base}/movements`, { body: '' }), 422, 'kind', /required/);
  refused(await raw('POST', `${base}/movements`, { body: '{}', headers: json }), 422, 'kind');
});

test('errors from the ledger carry the request id like every other error', async () => {
  const unknown = await api.post(`${base}/movements`, { kind: 'receipt', sku: 'NOPE', qty: 1 });
  refused(unknown, 422, 'lines[0].sku', /NOPE/);
  const short = await api.post(`${base}/movements`, { kind: 'sale', sku: 'A-2', qty: 3 });
  refused(short, 409, 'lines');
  const bundle = await api.post(`${base}/movements`, { kind: 'receipt', lines: [{ sku: 'A-1', qty: 1 }, { sku: 'NOPE-2', qty: 1 }] });
  refused(bundle, 422, 'lines[1].sku');
  const ship = await api.post(`${base}/movements`, { kind: 'ship', sku: 'A-2', qty: 1 });
  refused(ship, 409);
});

test('every 413 is the JSON error shape: a JSON body and a CSV upload over their limits', async () => {
  const small = await startServer({ databaseUrl: stack.databaseUrl, redisUrl: stack.redis.url,
    env: { ONECOUNT_MAX_BODY_BYTES: '1024', ONECOUNT_MAX_UPLOAD_BYTES: '4096' } });
  try {
    const c = tokenClient(small.url, api.headers.authorization.slice(7));
    const before = await count('movements');
    // over the JSON limit, under the upload ceiling: our handler answers
    const big = await c.post(`${base}/movements`, { kind: 'receipt', sku: 'A-1', qty: 1, reference: 'r'.repeat(2000) });
    refused(big, 413, null, /exceeds 1024 bytes/);
    // over the ceiling: h2o answers before any handler ran
    const huge = await c.post(`${base}/movements`, { kind: 'receipt', sku: 'A-1', qty: 1, reference: 'r'.repeat(10000) });
    refused(huge, 413, null, /too large/);
    const csv = await c.post(`${base}/imports?type=skus`, `code\n${'X-1\n'.repeat(3000)}`, { 'content-type': 'text/csv' });
    refused(csv, 413, null, /too large/);
    assert.equal(csv.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(await count('movements'), before);
    assert.equal(await count('import_jobs'), 0);
    assert.equal((await fetch(`${small.url}/healthz`)).status, 200);
  } finally {
    await small.stop();
  }
});

test('unknown API paths and methods answer the JSON error shape', async () => {
  refused(await api.get('/api/v1/nothing-here'), 404);
  refused(await api.get('/api/v2'), 404);
  refused(await api.req('DELETE', `${base}/rules`), 405);
  refused(await api.req('PUT', '/healthz'), 405);
});

test('a connection test the channel refuses is a documented 200 result, not a second error format', async () => {
  for (const body of [{}, undefined]) {
    const r = await api.post(`${base}/connections/${conn.id}/test`, body);
    assert.equal(r.status, 200, r.text);
    const t = r.json;
    assert.equal(t.ok, false);
    assert.match(t.checked_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.equal(typeof t.elapsed_ms, 'number');
    assert.deepEqual(t.steps.map((s) => [s.step, s.ok]), [['credentials', true], ['channel', false]]);
    assert.deepEqual(Object.keys(t.error).filter((k) => k !== 'channel_status').sort(), ['code', 'message', 'retryable']);
    assert.match(t.error.code, /^channel_(refused|unavailable|error)$/);
    assert.equal(typeof t.error.message, 'string');
    assert.equal(typeof t.error.retryable, 'boolean');
    assert.equal(t.account, undefined);
  }
  refused(await api.post(`${base}/connections/${randomUUID()}/test`, {}), 404);
});

test('a route that takes no body refuses one (an empty object aside)', async () => {
  const t = (await api.post(`${base}/tokens`, { name: 'to-revoke', role: 'viewer' })).json;
  const withBody = await api.req('DELETE', `${base}/tokens/${t.id}`, { everywhere: true });
  refused(withBody, 400, null, /takes no body/);
  refused(await raw('GET', `${base}/skus`, { body: '{"q":"x"}', headers: { 'content-type': 'application/json' } }), 400, null, /takes no body/);
  const ok = await api.req('DELETE', `${base}/tokens/${t.id}`, {});
  assert.equal(ok.status, 200, ok.text);
});

test('a forged cursor that reaches SQL is still a 422, never a 500', async () => {
  const cursor = Buffer.from('["not a time","x"]').toString('base64url');
  refused(await api.get(`${base}/holds?cursor=${cursor}`), 422);
  refused(await api.get(`${base}/movements?cursor=${Buffer.from('["x","y"]').toString('base64url')}`), 422);
  await alive();
});

test('every problem of a body at once: error.problems names each field (the first is error.field)', async () => {
  // connecting a channel with nothing filled in: kind, name, settings and credentials are all missing
  const r = await api.post(`${base}/connections`, {});
  refused(r, 422, 'kind', /kind is required/);
  assert.deepEqual(r.json.error.problems.map((p) => p.field), ['kind', 'name', 'settings', 'credentials']);
  // mistakes at every level: an unknown field, a wrong type, a line with two bad fields and a line that is not an object
  const m = await api.post(`${base}/movements`, { kind: 'sale', zz: 1, lines: [{ sku: 5, qty: 'x' }, 7] });
  assert.equal(m.status, 422, m.text);
  assert.deepEqual(m.json.error.problems.map((p) => p.field), ['zz', 'lines[0].sku', 'lines[0].qty', 'lines[1]']);
  for (const p of m.json.error.problems) assert.ok(p.message.length > 0);
  await alive();
});
