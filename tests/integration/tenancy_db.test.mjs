// tenancy_db.test.mjs — the brand wall inside PostgreSQL itself: forced
// row-level security on every tenant table, an application role that owns
// nothing, and a tenant that never outlives its transaction on a pooled
// connection.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import pg from 'pg';
import { shared, createDatabase, dropDatabase, superQuery, BIN } from './lib/stack.mjs';

let cluster, db, tenantTables;
const A = '00000000-0000-4000-8000-00000000000a';
const B = '00000000-0000-4000-8000-00000000000b';

before(async () => {
  cluster = shared();
  db = await createDatabase(cluster);
  // Two brands with rows in every tenant table that can take a minimal row.
  await superQuery(cluster, db, `
    INSERT INTO portfolios (id, name) VALUES ('00000000-0000-4000-8000-000000000001', 'P');
    INSERT INTO brands (id, portfolio_id, name) VALUES ('${A}', '00000000-0000-4000-8000-000000000001', 'A'),
                                                      ('${B}', '00000000-0000-4000-8000-000000000001', 'B');
    INSERT INTO audit_log (tenant_id, action, object_type) SELECT t, 'seed', 'test'
      FROM unnest(ARRAY['${A}'::uuid, '${B}'::uuid]) t, generate_series(1, 20);`);
  tenantTables = (await superQuery(cluster, db, `
    SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
    WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY 1`)).rows.map((r) => r.relname);
});
after(async () => { await dropDatabase(cluster, db); });

test('every table with tenant_id forces row-level security and leads its primary key with tenant_id', async () => {
  assert.ok(tenantTables.length >= 1);
  const rows = (await superQuery(cluster, db, `
    SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,
      (SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
        WHERE i.indrelid = c.oid AND i.indisprimary) AS pk_first,
      (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid) AS policies
    FROM pg_class c WHERE c.relname = ANY($1) AND c.relnamespace = 'public'::regnamespace`, [tenantTables])).rows;
  for (const r of rows) {
    assert.equal(r.relrowsecurity, true, `${r.relname}: row-level security enabled`);
    assert.equal(r.relforcerowsecurity, true, `${r.relname}: row-level security forced`);
    assert.equal(r.pk_first, 'tenant_id', `${r.relname}: primary key starts with tenant_id`);
    assert.ok(Number(r.policies) >= 1, `${r.relname}: has a policy`);
  }
  // Foreign keys between tenant tables carry tenant_id.
  const fks = (await superQuery(cluster, db, `
    SELECT c.conname, src.relname AS src, dst.relname AS dst,
      (SELECT array_agg(a.attname) FROM pg_attribute a WHERE a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)) AS cols
    FROM pg_constraint c JOIN pg_class src ON src.oid = c.conrelid JOIN pg_class dst ON dst.oid = c.confrelid
    WHERE c.contype = 'f' AND src.relname = ANY($1) AND dst.relname = ANY($1)`, [tenantTables])).rows;
  for (const fk of fks) assert.ok(fk.cols.includes('tenant_id'), `${fk.conname} (${fk.src} → ${fk.dst}) includes tenant_id`);
});

test('the application role owns nothing and cannot bypass row-level security', async () => {
  const role = (await superQuery(cluster, db, `SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = 'onecount_app'`)).rows[0];
  assert.deepEqual(role, { rolsuper: false, rolbypassrls: false });
  const owned = (await superQuery(cluster, db, `
    SELECT c.relname FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner
    JOIN pg_namespace n ON n.oid = c.relnamespace WHERE r.rolname = 'onecount_app' AND n.nspname = 'public'`)).rows;
  assert.deepEqual(owned, []);
  // Append-only tables: no UPDATE or DELETE for the application.
  const grants = (await superQuery(cluster, db, `
    SELECT has_table_privilege('onecount_app', 'audit_log', 'UPDATE') AS u,
           has_table_privilege('onecount_app', 'audit_log', 'DELETE') AS d`)).rows[0];
  assert.deepEqual(grants, { u: false, d: false });
});

function appClient() {
  return new pg.Client({ connectionString: cluster.appUrl(db) });
}

test('with no tenant set every tenant table shows 0 rows; with A set, none of B', async () => {
  const c = appClient();
  await c.connect();
  try {
    for (const t of tenantTables) {
      const none = await c.query(`SELECT count(*)::int AS n FROM ${t}`);
      assert.equal(none.rows[0].n, 0, `${t} without a tenant`);
      await c.query('BEGIN');
      await c.query(`SELECT set_config('app.tenant_id', $1, true)`, [A]);
      const foreign = await c.query(`SELECT count(*)::int AS n FROM ${t} WHERE tenant_id <> $1`, [A]);
      const own = await c.query(`SELECT count(*)::int AS n FROM ${t}`);
      await c.query('COMMIT');
      assert.equal(foreign.rows[0].n, 0, `${t}: rows of another tenant visible`);
      if (t === 'audit_log') assert.equal(own.rows[0].n, 20);
    }
  } finally { await c.end(); }
});

test("inserting another brand's tenant_id while A is set fails, and so do updates across the wall", async () => {
  const c = appClient();
  await c.connect();
  try {
    await c.query('BEGIN');
    await c.query(`SELECT set_config('app.tenant_id', $1, true)`, [A]);
    await assert.rejects(c.query(`INSERT INTO audit_log (tenant_id, action, object_type) VALUES ($1, 'x', 'y')`, [B]),
      (e) => e.code === '42501');
    await c.query('ROLLBACK');
    const n = await superQuery(cluster, db, `SELECT count(*)::int AS n FROM audit_log WHERE tenant_id = $1`, [B]);
    assert.equal(n.rows[0].n, 20);
  } finally { await c.end(); }
});

test('10,000 transactions alternating brands over 2 pooled connections, with aborts, never see a foreign row', async () => {
  const pool = new pg.Pool({ connectionString: cluster.appUrl(db), max: 2 });
  let foreign = 0, aborted = 0, noTenantRows = 0;
  const one = async (i) => {
    const c = await pool.connect();
    try {
      const tenant = i % 2 ? A : B;
      switch (i % 5) {
        case 0: // a transaction that aborts after setting its tenant
          try {
            await c.query(`BEGIN; SELECT set_config('app.tenant_id', '${tenant}', true); SELECT 1/0; COMMIT;`);
          } catch { aborted++; await c.query('ROLLBACK'); }
          break;
        case 1: { // no tenant at all: must see nothing, whatever ran before on this connection
          const r = await c.query('SELECT count(*)::int AS n FROM audit_log');
          noTenantRows += r.rows[0].n;
          break;
        }
        default: { // a normal transaction
          const r = await c.query(`BEGIN; SELECT set_config('app.tenant_id', '${tenant}', true);
            SELECT count(*)::int AS n FROM audit_log WHERE tenant_id <> '${tenant}'; COMMIT;`);
          foreign += r[2].rows[0].n;
        }
      }
    } finally { c.release(); }
  };
  const N = 10000;
  let next = 0;
  await Promise.all([0, 1, 2, 3].map(async () => { while (next < N) await one(next++); }));
  await pool.end();
  assert.equal(foreign, 0);
  assert.equal(noTenantRows, 0);
  assert.equal(aborted, N / 5);
});

test('every SQL statement of the program prepares against the schema', () => {
  const out = execFileSync(BIN, ['util', 'check-sql'], {
    env: { ...process.env, ONECOUNT_DATABASE_URL: cluster.appUrl(db) }, encoding: 'utf8',
  });
  assert.match(out, /^\d+ statements, 0 bad$/m);
});
