// contract.test.mjs — every operation of web/openapi.json answers exactly
// what the document says, driven by the document itself: a new route (or a
// new field) is walked without editing this file.
//
// For every operation:
// - path parameters that are not what they should be (not a UUID, overlong,
//   percent-encoded bytes that are not UTF-8) and, for every JSON body, each
//   property (at every level) of the wrong type, null where it is not
//   nullable, huge numbers, invalid UTF-8, plus an unknown field, deep
//   nesting, an empty body and a body that is not an object.  Each answer
//   must be a 4xx the operation documents, in the one error shape with the
//   request id and the offending field's path where there is one; never a
//   5xx; the server still answers /healthz after every request; and no row
//   of any table was written.
// - one valid request, its objects made fresh from the parameter names
//   ({cid}: a new connection, {hid}: a new hold…), whose answer must have the
//   documented 2xx status and match the documented response schema.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHmac, randomUUID } from 'node:crypto';
import Ajv from 'ajv';
import { startStack, rawRequest, BIN, SOURCE_DIR } from './lib/stack.mjs';
import { brandWorld, token, signIn, unique, PASSWORD } from './lib/world.mjs';

const doc = JSON.parse(readFileSync(join(SOURCE_DIR, 'web/openapi.json'), 'utf8'));
const routes = JSON.parse(execFileSync(BIN, ['routes'], { encoding: 'utf8' }));

const operations = Object.entries(doc.paths).flatMap(([path, item]) => Object.entries(item)
  .filter(([m]) => m !== 'parameters')
  .map(([m, op]) => ({ path, method: m.toUpperCase(), op, params: [...(item.parameters || []), ...(op.parameters || [])].map(deref) })));

function deref(x) {
  while (x && x.$ref) {
    const parts = x.$ref.replace(/^#\//, '').split('/');
    x = parts.reduce((o, k) => o[k], doc);
  }
  return x;
}

let stack, P, A, api, world;
before(async () => {
  stack = await startStack();
  ({ P, A, api } = await brandWorld(stack, 'portfolio_admin'));
  world = await makeWorld();
});
after(async () => { await stack?.stop(); });

// --- the world the requests act on ----------------------------------------------------------

const base = () => `/api/v1/brands/${A.id}`;
async function ok(r, status, what) {
  r = await r;
  assert.ok(status ? r.status === status : r.status < 300, `${what}: ${r.status} ${r.text}`);
  return r.json;
}
async function freshSku(stock = 100) {
  const code = unique('SKU');
  await ok(api.post(`${base()}/skus`, { code, title: code }), 201, 'sku');
  if (stock > 0) await ok(api.post(`${base()}/movements`, { kind: 'receipt', sku: code, qty: stock }), 201, 'receipt');
  return code;
}
async function freshConnection() {
  return (await ok(api.post(`${base()}/connections`, {
    kind: 'shopify', name: unique('Shop'), base_url: 'http://127.0.0.1:9/shopify/acme',
    settings: { shop: 'acme.myshopify.com', location_id: 'gid://shopify/Location/1' },
    credentials: { access_token: 'shpat_contract', webhook_secret: 'whsec_contract' },
  }), 201, 'connection')).id;
}
async function freshMember() {
  const email = `${unique('member')}@example.test`;
  const inv = await ok(api.post(`${base()}/invitations`, { email, role: 'viewer' }), 201, 'invitation');
  const acc = await ok(api.post('/api/v1/invitations/accept', { token: inv.token, name: 'M', password: PASSWORD }), 201, 'accept');
  return acc.user_id;
}
/** Makes a fresh object for a path parameter (`path` tells which kind, e.g. a bundle's {code}). */
const factories = {
  pid: async () => P.pid,
  bid: async () => A.id,
  code: async (path) => {
    if (!path.includes('/bundles/')) return freshSku();
    const code = unique('BUNDLE');
    await ok(api.post(`${base()}/bundles`, { code, components: [{ sku: await freshSku(), qty: 1 }] }), 201, 'bundle');
    return code;
  },
  uid: freshMember,
  iid: async (path) => (await ok(api.post(path.startsWith('/api/v1/portfolios') ? `/api/v1/portfolios/${P.pid}/invitations` : `${base()}/invitations`,
    { email: `${unique('inv')}@example.test`, role: 'viewer', ...(path.startsWith('/api/v1/portfolios') ? { brand_id: A.id } : {}) }), 201, 'invitation')).id,
  tid: async (path) => (await token(P, path.startsWith('/api/v1/portfolios') ? null : A.id, 'viewer')).id,
  hid: async () => (await ok(api.post(`${base()}/holds`, { sku: await freshSku(), qty: 1 }), 201, 'hold')).id,
  oid: async () => {
    const code = await freshSku(0);
    await ok(api.post(`${base()}/movements`, { kind: 'sale', sku: code, qty: 1, allow_oversell: true }), 201, 'oversold sale');
    const list = await ok(api.get(`${base()}/oversells?limit=200`), 200, 'oversells');
    return list.items.find((o) => o.sku === code).id;
  },
  cid: freshConnection,
  lid: async () => (await ok(api.post(`${base()}/listings`, { connection_id: world.cid, sku: await freshSku() }), 201, 'listing')).id,
  rid: async () => {
    const rs = await ok(api.get(`${base()}/routines`), 200, 'routines');
    return rs.find((r) => r.connection_id === world.cid).id;
  },
  aid: async () => String((await stack.sql(`INSERT INTO alerts (tenant_id, connection_id, kind, message) VALUES ($1, $2, $3, 'contract')
    RETURNING id`, [A.id, world.cid, unique('kind')])).rows[0].id),
  jid: async () => (await ok(api.post(`${base()}/imports?type=skus&dry_run=true`, `code\n${unique('IMP')}\n`, { 'content-type': 'text/csv' }), 202, 'import')).id,
  ver: async () => '1', // every portfolio has version 1 of its SOP (the default) and every brand version 1 of its overrides
  wid: async () => (await ok(api.post(`/api/v1/portfolios/${P.pid}/webhooks`, { name: unique('hook'),
    url: 'http://127.0.0.1:9/contract' }), 201, 'webhook endpoint')).id,
  kid: async () => (await stack.sql(`INSERT INTO checklist_items (tenant_id, step_key, title, role, due_at)
    VALUES ($1, 'contract', 'contract', 'operator', now() + interval '1 hour') RETURNING id`, [A.id])).rows[0].id,
  // …/reopen takes a resolved item (by hand, its condition still there); the rest an open one
  xid: async (path) => String((await stack.sql(`INSERT INTO exceptions (tenant_id, kind, subject, severity, title, state,
    resolved_at) VALUES ($1, 'sku_unlisted', $2, 'info', 'contract', $3, CASE WHEN $3 = 'resolved' THEN now() END)
    RETURNING id`, [A.id, unique('sku:'), path.endsWith('/reopen') ? 'resolved' : 'open'])).rows[0].id),
};

async function makeWorld() {
  const w = { cid: await freshConnection() };
  world = w; // the factories below read world.cid
  // one of each, reused by the refusals (which must leave them as they are)
  for (const name of Object.keys(factories)) if (name !== 'cid') w[name] = await factories[name]('/api/v1/brands/x/y');
  w.bundle = await factories.code('/bundles/');
  return w;
}

/** The path with its parameters filled: from the world (reused) or made fresh. */
async function fillPath(o, { fresh = false, override = {} } = {}) {
  let path = o.path;
  for (const [, name] of o.path.matchAll(/\{(\w+)\}/g)) {
    let v = override[name];
    if (v === undefined) {
      assert.ok(factories[name], `${o.method} ${o.path}: no factory for {${name}}: add one to contract.test.mjs`);
      v = fresh && !['pid', 'bid'].includes(name) ? await factories[name](o.path)
        : name === 'code' && o.path.includes('/bundles/') ? world.bundle : world[name];
    }
    path = path.replace(`{${name}}`, encodeURIComponent(v));
  }
  return path;
}

/** Required query parameters, with a valid value. */
function query(o) {
  const q = [];
  for (const p of o.params) {
    if (p.in !== 'query' || !p.required) continue;
    const s = deref(p.schema);
    q.push(`${p.name}=${encodeURIComponent(s.enum ? s.enum[0] : s.format === 'date-time' ? new Date().toISOString() : s.example ?? 'x')}`);
  }
  return q.length ? `?${q.join('&')}` : '';
}

// --- sending ---------------------------------------------------------------------------------

/** Sends raw bytes with the admin's token (a body is JSON unless said otherwise); answers {status, headers, text, json}. */
function send(method, path, { body, headers = {}, auth = api.headers } = {}) {
  const h = { ...auth, ...headers };
  if (body !== undefined) h['content-type'] = h['content-type'] || 'application/json';
  return rawRequest(stack.url, method, path, { body, headers: h });
}

let tables;
async function rowCounts() {
  if (!tables) {
    tables = (await stack.sql(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'
      AND table_type = 'BASE TABLE' ORDER BY 1`)).rows.map((r) => r.table_name);
  }
  // one row per table (json_build_object takes at most 100 arguments: 50 tables)
  const q = tables.map((t) => `SELECT '${t}' AS t, count(*)::int AS n FROM "${t}"`).join(' UNION ALL ');
  return Object.fromEntries((await stack.sql(q)).rows.map((r) => [r.t, r.n]));
}

async function alive(what) {
  assert.equal(stack.server.proc.exitCode, null, `serve exited after ${what}`);
  const h = await fetch(`${stack.url}/healthz`);
  assert.equal(h.status, 200, `healthz after ${what}`);
}

/** A refusal as the document says: documented 4xx, the error shape, the field named; returns what is wrong. */
function refusal(o, r, what, field, status) {
  const where = `${o.method} ${o.path} ${what}`;
  const text = r.text.slice(0, 300);
  if (r.status >= 500) return `${where}: ${r.status} ${text}`;
  if (r.status < 400) return `${where}: accepted (${r.status}) ${text}`;
  if (!o.op.responses[String(r.status)]) return `${where}: ${r.status} is not documented for the operation (${text})`;
  if (status && r.status !== status) return `${where}: ${r.status}, not ${status} (${text})`;
  const e = r.json?.error;
  if (!e) return `${where}: not the error shape: ${text}`;
  const members = r.status === 422 ? 'code,field,message,problems,request_id' : 'code,field,message,request_id';
  if (Object.keys(e).sort().join() !== members) return `${where}: error members ${Object.keys(e)}`;
  if (r.status === 422 && (!Array.isArray(e.problems) || e.problems[0]?.field !== e.field || e.problems[0]?.message !== e.message))
    return `${where}: error.problems does not start with the error's own field and message: ${text}`;
  if (e.request_id !== r.headers.get('x-request-id')) return `${where}: request_id ${e.request_id}`;
  if (field !== undefined && e.field !== field) return `${where}: field ${e.field}, not ${field} (${text})`;
  return null;
}

// --- values that are wrong for a schema --------------------------------------------------------

function wrongType(s) {
  s = deref(s);
  if (s.oneOf) return true; // rules.buffer: an integer or "auto"
  switch (s.type) {
    case 'string': return 12345;
    case 'integer': return '1';
    case 'number': return '1.5';
    case 'boolean': return 'true';
    case 'array': return {};
    case 'object': return [];
    default: return undefined;
  }
}

/** A valid value for a schema (for nested objects the example does not have). */
function sample(s) {
  s = deref(s);
  if (s.example !== undefined) return structuredClone(s.example);
  if (s.enum) return s.enum.find((v) => v !== null);
  if (s.oneOf) return sample(s.oneOf[0]);
  switch (s.type) {
    case 'string': return s.format === 'uuid' ? randomUUID() : 'x'.repeat(Math.max(1, s.minLength || 0));
    case 'integer': case 'number': return Math.max(1, s.minimum ?? 1);
    case 'boolean': return true;
    case 'array': return s.items ? [sample(s.items)] : [];
    case 'object': return Object.fromEntries((s.required || []).map((k) => [k, sample(s.properties[k])]));
    default: return null;
  }
}

/**
 * Every case for a body schema: [label, body text, expected field (undefined: any), status class].
 * Mutates one member at a time of a valid body, at every level.
 */
function bodyCases(schema, example) {
  const cases = [];
  const walk = (s, value, set, at) => {
    s = deref(s);
    if (s.type === 'object' && s.properties) {
      cases.push([`${at || 'body'}: an unknown field`, set({ ...value, zz_unknown: 1 }), at ? `${at}.zz_unknown` : 'zz_unknown']);
      for (const [k, ps0] of Object.entries(s.properties)) {
        const ps = deref(ps0), path = at ? `${at}.${k}` : k;
        const put = (v) => set({ ...value, [k]: v });
        const wt = wrongType(ps);
        if (wt !== undefined) cases.push([`${path}: wrong type`, put(wt), path]);
        if (!ps.nullable) cases.push([`${path}: null`, put(null), path]);
        if (ps.type === 'integer' || ps.type === 'number') {
          cases.push([`${path}: 1e300`, put(1e300), path]);
          cases.push([`${path}: -0.5`, ps.type === 'integer' ? put(-0.5) : put(-1e300), path]);
          for (const big of ['9223372036854775808', '-9223372036854775809']) {
            cases.push([`${path}: ${big}`, put('__BIG__').replace('"__BIG__"', big), null, 400]);
          }
        }
        if (ps.type === 'string' || ps.oneOf) {
          cases.push([`${path}: invalid UTF-8`, Buffer.concat(put('__UTF8__').split('"__UTF8__"')
            .flatMap((part, i) => (i ? [Buffer.from([0x22, 0xff, 0xfe, 0x22]), Buffer.from(part)] : [Buffer.from(part)]))), null, 400]);
        }
        if (ps.type === 'object' && ps.properties) {
          walk(ps, value[k] && typeof value[k] === 'object' ? value[k] : sample(ps), put, path);
        }
        if (ps.type === 'array' && deref(ps.items)?.properties) {
          const item0 = Array.isArray(value[k]) && value[k].length ? value[k][0] : sample(ps.items);
          const items = Array.isArray(value[k]) && value[k].length ? value[k] : [item0];
          walk(ps.items, item0, (v) => put([v, ...items.slice(1)]), `${path}[0]`);
        }
      }
    }
  };
  walk(schema, example, (v) => JSON.stringify(v), '');
  cases.push(['deep nesting', '['.repeat(10000) + ']'.repeat(10000), null, 400]);
  cases.push(['deep nesting in a member', JSON.stringify({ ...example, zz: '__DEEP__' }).replace('"__DEEP__"', '{"a":'.repeat(5000) + '1' + '}'.repeat(5000)), null, 400]);
  cases.push(['invalid UTF-8 body', Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]), null, 400]);
  for (const top of ['[]', '"x"', '1', 'null', '[{}]']) cases.push([`top level ${top}`, top, null, 400]);
  const required = deref(schema).required || [];
  if (required.length) cases.push(['empty body', '', undefined, 422], ['{}', '{}', undefined, 422]);
  return cases;
}

// --- the refusals --------------------------------------------------------------------------------

test('every operation refuses bad input with a documented 4xx, the error shape, and writes nothing', async () => {
  let sent = 0;
  const problems = [];
  for (const o of operations) {
    const q = query(o);
    const path = (await fillPath(o)) + q;
    const before = await rowCounts();
    const tried = async (what, req, field, status) => {
      const r = await send(o.method, req.path ?? path, req);
      sent++;
      const p = refusal(o, r, what, field, status);
      if (p) problems.push(p);
      await alive(`${o.method} ${o.path} ${what}`);
    };
    // path parameters
    for (const [, name] of o.path.matchAll(/\{(\w+)\}/g)) {
      if (name === 'pid' || name === 'bid') continue; // the tenant: not a UUID answers like no access (tested by the sweeps)
      const at = (v) => o.path.replace(`{${name}}`, v).replace(/\{(\w+)\}/g, (_, n) => encodeURIComponent(n === 'code' && o.path.includes('/bundles/') ? world.bundle : world[n])) + q;
      const s = deref(o.params.find((p) => p.in === 'path' && p.name === name)?.schema || {});
      if (s.format === 'uuid') await tried(`{${name}} not a UUID`, { path: at('not-a-uuid') });
      await tried(`{${name}} overlong`, { path: at('x'.repeat(3000)) });
      await tried(`{${name}} invalid UTF-8`, { path: at('%FF%FE') }, name, 400);
      await tried(`{${name}} NUL`, { path: at('a%00b') }, name, 400);
    }
    // a query parameter that is not UTF-8, on every operation
    await tried('query not UTF-8', { path: `${path}${q ? '&' : '?'}limit=%FF` }, 'limit', 400);
    // JSON bodies
    const media = o.op.requestBody?.content?.['application/json'];
    if (media && !o.path.startsWith('/api/v1/webhooks/')) {
      const schema = deref(media.schema);
      const example = structuredClone(media.example ?? schema.example ?? sample(schema));
      for (const [what, body, field, klass] of bodyCases(schema, example)) {
        await tried(what, { body }, field, klass);
      }
    } else if (o.op.requestBody?.content?.['application/json']) {
      // the webhook: anything unsigned is refused
      for (const body of ['{"zz":1}', '[]', Buffer.from([0xff])]) await tried('unsigned body', { body });
    } else if (!o.op.requestBody) {
      await tried('a body on a route that takes none', { body: '{"zz_unknown":1}' }, null, 400);
    }
    const after = await rowCounts();
    for (const t of Object.keys(after)) if (after[t] !== before[t]) problems.push(`${o.method} ${o.path}: ${t} went from ${before[t]} to ${after[t]} rows`);
  }
  assert.deepEqual(problems, []);
  assert.ok(sent > 800, `${sent} requests`);
});

// --- one valid request per operation -----------------------------------------------------------------

const ajv = new Ajv({ strict: false, allErrors: true });
ajv.addFormat('uuid', /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
ajv.addFormat('date-time', (s) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/.test(s) && !Number.isNaN(Date.parse(s)));
ajv.addFormat('email', /@/);
ajv.addSchema({ $id: 'openapi', components: doc.components });
const rewrite = (s) => JSON.parse(JSON.stringify(s).replaceAll('"#/components/', '"openapi#/components/'));

/** A valid body from the operation's example: names that must be unique or real are made so. */
async function validBody(o, example) {
  const sku = await freshSku();
  const fill = async (v, key) => {
    if (Array.isArray(v)) return Promise.all(v.map((x) => fill(x, key)));
    if (v && typeof v === 'object') {
      const out = {};
      for (const [k, x] of Object.entries(v)) out[k] = await fill(x, k);
      return out;
    }
    if (typeof v !== 'string') return v;
    switch (key) {
      case 'sku': return o.path.endsWith('/listings') ? freshSku() : sku;
      case 'code': case 'name': case 'external_sku': return unique(key.toUpperCase());
      case 'email': return o.path === '/api/v1/auth/login' ? P.email : `${unique('e')}@example.test`;
      case 'password': return PASSWORD;
      case 'connection_id': return world.cid;
      case 'brand_id': case 'brand_ids': return A.id;
      case 'from_user_id': return P.uid;
      case 'to_user_id': return freshMember();
      case 'token': {
        const inv = await ok(api.post(`${base()}/invitations`, { email: `${unique('inv')}@example.test`, role: 'viewer' }), 201, 'invitation');
        return inv.token;
      }
      default: return v;
    }
  };
  return fill(example);
}

test('a valid request to every operation answers its documented status and schema', async () => {
  const session = await signIn(stack.url, P.email); // for logout, the one session-only route
  const person = await signIn(stack.url, P.email); // a person's own preferences: a session, not a token
  const checked = [], problems = [];
  for (const o of operations) {
    const where = `${o.method} ${o.path}`;
    const path = (await fillPath(o, { fresh: true })) + query(o);
    let req = {};
    const content = o.op.requestBody?.content || {};
    if (content['application/json']) {
      const example = content['application/json'].example ?? deref(content['application/json'].schema).example;
      assert.ok(example !== undefined, `${where}: document an example request body`);
      req.body = JSON.stringify(await validBody(o, example));
    } else if (content['text/csv']) {
      req = { body: `code,title\n${unique('CSV')},x\n`, headers: { 'content-type': 'text/csv' } };
    }
    if (o.path === '/api/v1/auth/logout') req.auth = { cookie: Object.entries(session.cookies).map(([k, v]) => `${k}=${v}`).join('; '), 'x-csrf-token': session.headers['x-csrf-token'] };
    if (o.path.startsWith('/api/v1/webhooks/shopify/')) {
      const cid = path.split('/')[5];
      const body = JSON.stringify({ id: 1 });
      req = { body, auth: {}, headers: { 'x-shopify-hmac-sha256': createHmac('sha256', 'whsec_contract').update(body).digest('base64'),
        'x-shopify-topic': 'inventory_levels/update', 'x-shopify-event-id': randomUUID() } };
      assert.ok(cid);
    }
    if (o.path.endsWith('/notifications/me')) req.auth = { cookie: Object.entries(person.cookies).map(([k, v]) => `${k}=${v}`).join('; '), 'x-csrf-token': person.headers['x-csrf-token'] };
    if (o.op.security?.length === 0 && !o.path.startsWith('/api/v1/webhooks/')) req.auth = {};
    const r = await send(o.method, path, req);
    checked.push(where);
    if (process.env.OC_CONTRACT_VERBOSE) console.log(where, r.status, r.text.slice(0, 120));
    const want = Object.keys(o.op.responses).filter((s) => /^2\d\d$/.test(s));
    if (!want.includes(String(r.status))) {
      problems.push(`${where}: ${r.status} (documented ${want}): ${r.text.slice(0, 300)}`);
      continue;
    }
    const media = o.op.responses[String(r.status)].content || {};
    const type = (r.headers.get('content-type') || '').split(';')[0];
    if (media['application/json']) {
      const validate = ajv.compile(rewrite(media['application/json'].schema));
      if (type !== 'application/json') problems.push(`${where}: content type ${type}`);
      else if (!validate(r.json)) problems.push(`${where}: the answer does not match its schema: ${ajv.errorsText(validate.errors)}`);
    } else if (Object.keys(media).length > 0 && !Object.keys(media).some((m) => m.split(';')[0] === type)) {
      problems.push(`${where}: content type ${type}, documented ${Object.keys(media)}`);
    }
  }
  assert.deepEqual(problems, []);
  assert.equal(checked.length, routes.length);
});

test('every route of the server is an operation of the document, and the reverse', () => {
  assert.deepEqual(new Set(routes.map((r) => `${r.method} ${r.pattern}`)), new Set(operations.map((o) => `${o.method} ${o.path}`)));
});

test('no route answered without validating its body, and no bad input reached SQL', () => {
  const bad = stack.server.logs.filter((l) => /"body not validated"|"bad input reached SQL"/.test(l));
  assert.deepEqual(bad, [], 'a route skipped its field table, or input the validators let through reached SQL');
});
