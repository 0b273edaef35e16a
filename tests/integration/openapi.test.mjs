// openapi.test.mjs — the OpenAPI document is true to the route table, both ways.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, SOURCE_DIR } from './lib/stack.mjs';

const routes = JSON.parse(execFileSync(BIN, ['routes'], { encoding: 'utf8' }));
const doc = JSON.parse(readFileSync(join(SOURCE_DIR, 'web/openapi.json'), 'utf8'));

test('every route is documented with its method and permission', () => {
  for (const r of routes) {
    const op = doc.paths[r.pattern]?.[r.method.toLowerCase()];
    assert.ok(op, `${r.method} ${r.pattern} is missing from web/openapi.json`);
    assert.equal(op['x-perm'], r.perm, `${r.method} ${r.pattern}: x-perm`);
    for (const [, name] of r.pattern.matchAll(/\{(\w+)\}/g)) {
      const params = [...(doc.paths[r.pattern].parameters || []), ...(op.parameters || [])]
        .map((p) => (p.$ref ? doc.components.parameters[p.$ref.split('/').pop()] : p));
      assert.ok(params.some((p) => p.in === 'path' && p.name === name), `${r.method} ${r.pattern}: path parameter ${name}`);
    }
  }
});

test('nothing is documented that the server does not route', () => {
  const known = new Set(routes.map((r) => `${r.method} ${r.pattern}`));
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const m of Object.keys(item)) {
      if (m === 'parameters') continue;
      assert.ok(known.has(`${m.toUpperCase()} ${path}`), `${m.toUpperCase()} ${path} is documented but not routed`);
    }
  }
});

const operations = () => Object.entries(doc.paths).flatMap(([path, item]) =>
  Object.entries(item).filter(([m]) => m !== 'parameters').map(([m, op]) => ({ path, method: m.toUpperCase(), op })));

test('every operation has a unique camelCase operationId, a tag and a 4xx answer', () => {
  const seen = new Map();
  for (const { path, method, op } of operations()) {
    const where = `${method} ${path}`;
    assert.match(op.operationId || '', /^[a-z][a-zA-Z0-9]*$/, `${where}: operationId`);
    assert.ok(!seen.has(op.operationId), `${where}: operationId ${op.operationId} is also ${seen.get(op.operationId)}`);
    seen.set(op.operationId, where);
    assert.ok(op.tags?.length === 1 && doc.tags.some((t) => t.name === op.tags[0]), `${where}: a declared tag`);
    assert.ok(Object.keys(op.responses).some((s) => /^4\d\d$/.test(s)), `${where}: a 4xx answer`);
    assert.ok(op.responses['400'], `${where}: 400 (malformed path, query or body)`);
  }
});

test('every body the server takes is documented as it validates it: closed objects at every level', () => {
  const resolve = (s) => (s?.$ref ? doc.components.schemas[s.$ref.split('/').pop()] : s);
  const closed = (s, where) => {
    s = resolve(s);
    if (!s) return;
    if (s.type === 'object' && s.properties) {
      assert.equal(s.additionalProperties, false, `${where}: additionalProperties false`);
      for (const [k, p] of Object.entries(s.properties)) closed(p, `${where}.${k}`);
    }
    if (s.type === 'array') closed(s.items, `${where}[]`);
  };
  for (const r of routes) {
    const op = doc.paths[r.pattern][r.method.toLowerCase()];
    const where = `${r.method} ${r.pattern}`;
    const content = op.requestBody?.content || {};
    if (r.body === 'json') {
      assert.ok(content['application/json'], `${where}: a JSON request body`);
      closed(content['application/json'].schema, where);
      for (const s of ['413', '415', '422']) assert.ok(op.responses[s], `${where}: ${s}`);
    } else if (r.body === 'csv') {
      assert.ok(content['text/csv'], `${where}: a text/csv request body`);
    } else if (r.body === 'none') {
      assert.equal(op.requestBody, undefined, `${where} takes no body`);
    }
  }
});
