// openapi_lint.test.mjs — web/openapi.json passes Redocly's recommended
// rules with no error and no warning (operationIds, servers, licence, a 4xx
// on every operation, examples that match their schemas, …).  Redocly CLI
// is a pinned devDependency (tests/package.json); linting reads nothing
// from the network, and its telemetry and update check are turned off.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { SOURCE_DIR } from './lib/stack.mjs';

const REDOCLY = join(SOURCE_DIR, 'tests/node_modules/.bin/redocly');

test('web/openapi.json passes `redocly lint` with the recommended rules, no warning', () => {
  assert.ok(existsSync(REDOCLY), 'install the test packages first: ops/setup.sh --test');
  let out;
  try {
    out = execFileSync(REDOCLY, ['lint', '--extends=recommended', '--format=json', join(SOURCE_DIR, 'web/openapi.json')], {
      cwd: join(SOURCE_DIR, 'tests'), // no redocly.yaml there: the recommended rules as they come
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true', CI: 'true' },
      timeout: 120000,
    });
  } catch (e) {
    out = e.stdout; // exits 1 on errors; the report says which
  }
  const report = JSON.parse(out);
  const problems = report.problems.map((p) => `${p.severity} ${p.ruleId}: ${p.message} at ${p.location?.[0]?.pointer}`);
  assert.deepEqual(problems, []);
  assert.deepEqual(report.totals, { errors: 0, warnings: 0, ignored: 0 });
});
