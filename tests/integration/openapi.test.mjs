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
