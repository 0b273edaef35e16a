// specs.mjs — the channels' published specifications (tests/specs/, see its
// README) as checks: an exchange the simulator recorded (request headers and
// body, answer status, headers and body; `POST /_sim/reset {"capture":true}`)
// is held against the operation it names.
//
//   Amazon (Swagger 2.0 models) and Walmart (OpenAPI 3.0 downloads): the
//   path and method exist; every query parameter sent is declared, every
//   required one (query and header) is sent, values have the declared type;
//   the JSON body matches the request schema; the status is a declared
//   answer and its JSON body matches the answer's schema (ajv, with the
//   specification as the schema document so every $ref resolves).
//   Shopify: the GraphQL query is valid against the Admin schema (SDL), its
//   variables coerce to the declared input types, and the answer's data has
//   the shape and scalar types the selection asks for.
//
// What the specifications do not cover is reported as `uncovered` and named
// by the test (Amazon's LWA token endpoint and presigned document URLs,
// Shopify's REST and OAuth endpoints: no machine-readable specification).
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { buildSchema, extendSchema, parse, validate as gqlValidate, getNamedType, isNonNullType, isListType,
  isScalarType, isEnumType, isObjectType, isAbstractType, typeFromAST } from 'graphql';
import { getVariableValues } from 'graphql/execution/values.js';

const DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'specs');

function load(rel) {
  const buf = readFileSync(join(DIR, rel));
  return rel.endsWith('.gz') ? gunzipSync(buf).toString('utf8') : buf.toString('utf8');
}

const SPECS = {
  amazon: ['amazon/listingsItems_2021-08-01.json.gz', 'amazon/feeds_2021-06-30.json.gz', 'amazon/ordersV0.json.gz',
    'amazon/reports_2021-06-30.json.gz'],
  // orders.json lost its header parameters (README): the other downloads' list is applied to it
  walmart: ['walmart/auth.json.gz', 'walmart/inventory.json.gz', 'walmart/returns.json.gz', 'walmart/orders.json.gz'],
};
const WALMART_HEADERS = [
  { in: 'header', name: 'Authorization', required: true, schema: { type: 'string' } },
  { in: 'header', name: 'WM_SEC.ACCESS_TOKEN', required: true, schema: { type: 'string' } },
  { in: 'header', name: 'WM_CONSUMER.CHANNEL.TYPE', required: false, schema: { type: 'string' } },
  { in: 'header', name: 'WM_QOS.CORRELATION_ID', required: true, schema: { type: 'string' } },
  { in: 'header', name: 'WM_SVC.NAME', required: true, schema: { type: 'string' } },
];

function escapePointer(s) { return s.replace(/~/g, '~0').replace(/\//g, '~1'); }

export function loadSpecs() {
  const ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false, discriminator: false });
  addFormats(ajv);
  const ops = [];
  for (const [channel, files] of Object.entries(SPECS)) {
    for (const rel of files) {
      const doc = JSON.parse(load(rel));
      const id = `spec:${rel}`;
      ajv.addSchema(doc, id);
      const later = rel === 'walmart/orders.json.gz' ? JSON.parse(load('walmart/orders-2023-07.json.gz')) : null;
      for (const [path, item] of Object.entries(doc.paths)) {
        for (const [method, op] of Object.entries(item)) {
          if (!['get', 'put', 'post', 'patch', 'delete'].includes(method)) continue;
          let params = [...(item.parameters || []), ...(op.parameters || [])];
          if (rel === 'walmart/orders.json.gz') {
            params = params.filter((p) => p.in !== 'header').concat(WALMART_HEADERS);
            // the later download adds getAllOrders' cursor parameters (README): only those are taken from it
            const extra = later?.paths?.[path]?.[method]?.parameters?.filter((p) => p.in === 'query'
              && !params.some((q) => q.in === 'query' && q.name === p.name)) ?? [];
            params = params.concat(extra);
          }
          const re = new RegExp(`^${path.replace(/\{[^}]+\}/g, '[^/]+')}$`);
          ops.push({ channel, rel, id, path, method: method.toUpperCase(), op, params, re,
            pointer: `${id}#/paths/${escapePointer(path)}/${method}` });
        }
      }
    }
  }
  // the JSON_LISTINGS_FEED document put to a presigned URL, and each of its messages
  ajv.addSchema(JSON.parse(load('amazon/listings-feed-schema-v2.json')), 'spec:listings-feed');
  ajv.addSchema(JSON.parse(load('amazon/listings-feed-message-schema-v2.json')), 'spec:listings-feed-message');
  const sdl = load('shopify/admin_schema.graphql.gz');
  const shopify = {};
  shopify[202510] = buildSchema(sdl, { assumeValidSDL: true });
  // 2026-01 (announced in Shopify's changelog of 2025-12-12; not in the published file, see the README):
  // changeFromQuantity on the rows and the @idempotent directive
  shopify[202601] = extendSchema(shopify[202510], parse(`
    directive @idempotent(key: String!) on FIELD
    extend input InventoryQuantityInput { changeFromQuantity: Int }
    extend input InventoryChangeInput { changeFromQuantity: Int }
    extend enum InventorySetQuantitiesUserErrorCode { CHANGE_FROM_QUANTITY_STALE }
    extend enum InventoryAdjustQuantitiesUserErrorCode { CHANGE_FROM_QUANTITY_STALE }`), { assumeValidSDL: true });
  return { ajv, ops, shopify };
}

const validators = new Map();
function schemaCheck(specs, ref, value, where, problems) {
  let v = validators.get(ref);
  if (v === undefined) {
    try { v = specs.ajv.compile({ $ref: ref }); } catch (e) { v = e; }
    validators.set(ref, v);
  }
  if (v instanceof Error) { problems.push(`${where}: the schema does not compile (${v.message})`); return; }
  if (!v(value))
    for (const e of v.errors.slice(0, 5)) problems.push(`${where}${e.instancePath || ''}: ${e.message}${e.params?.allowedValues ? ` ${JSON.stringify(e.params.allowedValues)}` : ''}`);
}

function typeOk(value, schema) {
  if (!schema) return true;
  switch (schema.type) {
    case 'integer': return /^-?\d+$/.test(value);
    case 'number': return value !== '' && Number.isFinite(Number(value));
    case 'boolean': return value === 'true' || value === 'false';
    default: return true;
  }
}

/** Checks one recorded exchange; returns { problems: [...], uncovered: reason|null, op: 'name' }. */
export function checkExchange(specs, e) {
  const problems = [];
  if (e.channel === 'shopify') return checkShopify(specs, e, problems);
  const prefix = e.channel === 'amazon' ? '/amazon' : '/walmart';
  const path = e.path.startsWith(prefix) ? e.path.slice(prefix.length) : e.path;
  if (e.channel === 'amazon' && path.startsWith('/_s3/') && e.method === 'PUT' && e.request?.body?.json?.header) {
    const feed = e.request.body.json;
    schemaCheck(specs, 'spec:listings-feed', feed, 'amazon JSON_LISTINGS_FEED document', problems);
    for (const [i, m] of (feed.messages ?? []).entries())
      schemaCheck(specs, 'spec:listings-feed-message', m, `amazon JSON_LISTINGS_FEED message ${i}`, problems);
    return { problems, uncovered: null, op: 'amazon JSON_LISTINGS_FEED document' };
  }
  if (e.channel === 'amazon' && (path.startsWith('/auth/') || path.startsWith('/_s3/')))
    return { problems, uncovered: path.startsWith('/auth/') ? 'LWA token endpoint' : 'presigned document URL' };
  const candidates = specs.ops.filter((o) => o.channel === e.channel && o.re.test(path));
  const op = candidates.find((o) => o.method === e.method)
    // a literal path wins over a template (/v3/orders/released over /v3/orders/{purchaseOrderId})
    && candidates.filter((o) => o.method === e.method).sort((a, b) => (a.path.match(/\{/g) || []).length - (b.path.match(/\{/g) || []).length)[0];
  if (!op) {
    problems.push(`${e.method} ${path}: no such operation in the ${e.channel} specifications`);
    return { problems, uncovered: null };
  }
  const name = `${e.channel} ${op.op.operationId ?? `${op.method} ${op.path}`}`;
  const where = `${name} (${e.method} ${path})`;
  // query parameters
  const query = new URLSearchParams(e.query ?? '');
  const declared = op.params.filter((p) => p.in === 'query');
  for (const [k, v] of query) {
    const p = declared.find((d) => d.name === k);
    if (!p) { problems.push(`${where}: query parameter "${k}" is not in the specification`); continue; }
    const schema = p.schema ?? p; // OpenAPI 3 puts the type in schema, Swagger 2 on the parameter
    const values = schema.type === 'array' ? v.split(',') : [v];
    for (const x of values)
      if (!typeOk(x, schema.type === 'array' ? schema.items : schema)) problems.push(`${where}: query ${k}=${x} is not ${schema.type === 'array' ? schema.items?.type : schema.type}`);
    if (schema.enum && !schema.enum.includes(v)) problems.push(`${where}: query ${k}=${v} not one of ${schema.enum}`);
  }
  for (const p of declared) if (p.required && !query.has(p.name)) problems.push(`${where}: required query parameter "${p.name}" missing`);
  const headers = e.request?.headers ?? {};
  for (const p of op.params.filter((x) => x.in === 'header' && x.required))
    if (!(p.name.toLowerCase() in headers)) problems.push(`${where}: required header "${p.name}" missing`);
  if (e.channel === 'walmart' && headers.authorization !== undefined && !/^Basic /.test(headers.authorization))
    problems.push(`${where}: Authorization is not Basic`);
  if (e.channel === 'amazon' && !('x-amz-access-token' in headers))
    problems.push(`${where}: no x-amz-access-token (the reference client signs every call with it)`);
  // request body
  const reqBody = e.request?.body?.json;
  const bodyParam = op.params.find((p) => p.in === 'body');
  if (bodyParam && reqBody === undefined && bodyParam.required && !e.request?.body?.text)
    problems.push(`${where}: the required body is missing`);
  if (bodyParam && reqBody !== undefined)
    schemaCheck(specs, `${op.pointer}/parameters/${(op.op.parameters || []).indexOf(bodyParam)}/schema`, reqBody, `${where} request body`, problems);
  const rb = op.op.requestBody?.content?.['application/json'];
  if (rb && reqBody !== undefined) schemaCheck(specs, `${op.pointer}/requestBody/content/application~1json/schema`, reqBody, `${where} request body`, problems);
  // the answer
  const status = String(e.response?.status ?? e.status);
  const declaredAnswer = op.op.responses?.[status] ? status : op.op.responses?.default ? 'default' : null;
  const declaresErrors = Object.keys(op.op.responses || {}).some((c) => /^[45]/.test(c));
  if (!declaredAnswer && /^[45]/.test(status) && !declaresErrors) {
    // the operation declares no error answer at all: the specification is silent on it
    return { problems, uncovered: null, op: name, silent: `${name} ${status}` };
  }
  if (!declaredAnswer) {
    problems.push(`${where}: answered ${status}, which the specification does not declare (${Object.keys(op.op.responses || {})})`);
  } else {
    const resBody = e.response?.body?.json;
    const r = op.op.responses[declaredAnswer];
    if (r.schema && resBody !== undefined)
      schemaCheck(specs, `${op.pointer}/responses/${declaredAnswer}/schema`, resBody, `${where} ${status} answer`, problems);
    else if (r.content?.['application/json']?.schema && resBody !== undefined)
      schemaCheck(specs, `${op.pointer}/responses/${declaredAnswer}/content/application~1json/schema`, resBody, `${where} ${status} answer`, problems);
    else if ((r.schema || r.content?.['application/json']?.schema) && resBody === undefined && e.response?.body)
      problems.push(`${where}: the ${status} answer is not JSON`);
  }
  return { problems, uncovered: null, op: name };
}

function versionOf(path) {
  const m = /\/admin\/api\/(\d{4})-(\d{2})\//.exec(path);
  return m ? Number(m[1]) * 100 + Number(m[2]) : 0;
}

function checkShopify(specs, e, problems) {
  if (!e.path.endsWith('/graphql.json')) return { problems, uncovered: 'Shopify REST/OAuth (no published machine-readable specification)' };
  const version = versionOf(e.path);
  const schema = version >= 202601 ? specs.shopify[202601] : specs.shopify[202510];
  const where = `shopify graphql ${e.path.replace(/^.*\/admin\//, '')}`;
  const body = e.request?.body?.json;
  if (!body || typeof body.query !== 'string') { problems.push(`${where}: no query`); return { problems, uncovered: null }; }
  let doc;
  try { doc = parse(body.query); } catch (err) { problems.push(`${where}: does not parse: ${err.message}`); return { problems, uncovered: null }; }
  for (const err of gqlValidate(schema, doc)) problems.push(`${where}: ${err.message}`);
  const op = doc.definitions.find((d) => d.kind === 'OperationDefinition');
  const name = `shopify ${op?.operation ?? '?'} ${op?.name?.value ?? '(anonymous)'}`;
  if (problems.length === 0 && op) {
    const vars = getVariableValues(schema, op.variableDefinitions ?? [], body.variables ?? {});
    for (const err of vars.errors ?? []) problems.push(`${where} variables: ${err.message}`);
  }
  // the answer: what the selection asks for, with the schema's types
  const res = e.response?.body?.json;
  if (problems.length === 0 && op && res && res.data) {
    const root = op.operation === 'mutation' ? schema.getMutationType() : schema.getQueryType();
    checkSelection(schema, root, op.selectionSet, res.data, 'data', problems, where);
  } else if (res && !res.data && !res.errors) {
    problems.push(`${where}: the answer has neither data nor errors`);
  }
  return { problems, uncovered: null, op: name };
}

function checkValue(schema, type, sel, value, path, problems, where) {
  if (value === null || value === undefined) {
    if (isNonNullType(type)) problems.push(`${where} ${path}: null where ${type} is not nullable`);
    return;
  }
  if (isNonNullType(type)) return checkValue(schema, type.ofType, sel, value, path, problems, where);
  if (isListType(type)) {
    if (!Array.isArray(value)) { problems.push(`${where} ${path}: not a list (${type})`); return; }
    value.forEach((v, i) => checkValue(schema, type.ofType, sel, v, `${path}[${i}]`, problems, where));
    return;
  }
  if (isScalarType(type)) {
    const ok = { Int: Number.isInteger(value), Float: typeof value === 'number', String: typeof value === 'string',
      Boolean: typeof value === 'boolean', ID: typeof value === 'string' }[type.name];
    if (ok === false) problems.push(`${where} ${path}: ${JSON.stringify(value)} is not ${type.name}`);
    return;
  }
  if (isEnumType(type)) {
    if (!type.getValue(value)) problems.push(`${where} ${path}: ${JSON.stringify(value)} is not a ${type.name}`);
    return;
  }
  if (typeof value !== 'object') { problems.push(`${where} ${path}: not an object (${type})`); return; }
  let concrete = type;
  if (isAbstractType(type) && typeof value.__typename === 'string') concrete = schema.getType(value.__typename) ?? type;
  checkSelection(schema, concrete, sel, value, path, problems, where);
}

function checkSelection(schema, type, selectionSet, data, path, problems, where) {
  if (!selectionSet) return;
  for (const s of selectionSet.selections) {
    if (s.kind === 'InlineFragment') {
      const cond = s.typeCondition ? schema.getType(s.typeCondition.name.value) : type;
      // a fragment on another concrete type than the object's selects nothing of it
      if (isObjectType(type) && isObjectType(cond) && cond !== type) continue;
      checkSelection(schema, isObjectType(cond) ? cond : type, s.selectionSet, data, path, problems, where);
      continue;
    }
    if (s.kind !== 'Field') continue;
    const key = s.alias?.value ?? s.name.value;
    if (s.name.value === '__typename') continue;
    if (!(key in data)) {
      if (isObjectType(type)) problems.push(`${where} ${path}.${key}: selected but missing`);
      continue;
    }
    const fields = isObjectType(type) || type.getFields ? type.getFields() : {};
    const f = fields[s.name.value];
    if (!f) continue; // a field of a concrete type behind an abstract one: checked when the type is known
    checkValue(schema, f.type, s.selectionSet, data[key], `${path}.${key}`, problems, where);
  }
  if (isObjectType(type))
    for (const k of Object.keys(data))
      if (!selectionSet.selections.some((s) => s.kind !== 'Field' || (s.alias?.value ?? s.name.value) === k))
        problems.push(`${where} ${path}.${k}: answered but not selected`);
}

export { typeFromAST, getNamedType };
