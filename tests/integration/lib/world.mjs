// world.mjs — builds the people and brands tests need, through the real
// CLI and API: a portfolio with an admin, brands, and users of each role
// who joined by invitation and signed in.
import { execFileSync } from 'node:child_process';
import assert from 'node:assert/strict';
import { BIN, client } from './stack.mjs';

export const PASSWORD = 'correct horse battery staple';

let seq = 0;
export const unique = (p) => `${p}-${process.pid}-${++seq}-${Math.random().toString(36).slice(2, 8)}`;

/** `onecount admin …` against the stack's database; returns stdout. */
export function admin(stack, args, input) {
  return execFileSync(BIN, ['admin', ...args], {
    env: { ...process.env, ONECOUNT_DATABASE_URL: stack.databaseUrl },
    input,
    encoding: 'utf8',
  }).trim();
}

/** Signs in and returns a client that sends the CSRF header on writes. */
export async function signIn(url, email, password = PASSWORD) {
  const c = client(url);
  const r = await c.post('/api/v1/auth/login', { email, password });
  assert.equal(r.status, 200, `login ${email}: ${r.text}`);
  c.headers['x-csrf-token'] = r.json.csrf_token;
  c.me = r.json;
  return c;
}

/** A client authenticated by an API token. */
export function tokenClient(url, token) {
  return client(url, { authorization: `Bearer ${token}` });
}

/** A new portfolio with a signed-in admin. */
export async function portfolio(stack, name = unique('Agency')) {
  const pid = admin(stack, ['create-portfolio', name]);
  const email = `${unique('admin')}@example.test`;
  const uid = admin(stack, ['create-user', '--portfolio', pid, '--email', email, '--name', 'Admin', '--password-stdin'],
    `${PASSWORD}\n`);
  const api = await signIn(stack.url, email);
  return { pid, uid, email, api, name };
}

export async function brand(p, name = unique('Brand')) {
  const r = await p.api.post(`/api/v1/portfolios/${p.pid}/brands`, { name });
  assert.equal(r.status, 201, r.text);
  return r.json;
}

/** Invites a user to a brand with a role (or portfolio_admin with no brand), accepts, signs in. */
export async function member(stack, p, brandId, role) {
  const email = `${unique(role)}@example.test`;
  const r = brandId
    ? await p.api.post(`/api/v1/brands/${brandId}/invitations`, { email, role })
    : await p.api.post(`/api/v1/portfolios/${p.pid}/invitations`, { email, role });
  assert.equal(r.status, 201, r.text);
  const acc = await client(stack.url).post('/api/v1/invitations/accept', { token: r.json.token, name: role, password: PASSWORD });
  assert.equal(acc.status, 201, acc.text);
  const api = await signIn(stack.url, email);
  return { email, uid: acc.json.user_id, api };
}

export async function token(p, brandId, role, name = unique('token')) {
  const r = brandId
    ? await p.api.post(`/api/v1/brands/${brandId}/tokens`, { name, role })
    : await p.api.post(`/api/v1/portfolios/${p.pid}/tokens`, { name, role });
  assert.equal(r.status, 201, r.text);
  return r.json;
}

/**
 * One brand to test in: a new portfolio P with its brand A, and `api`, a
 * client of A in `role` (a portfolio_admin works portfolio-wide): by an API
 * token, or by a member who joined by invitation and signed in when
 * `signedIn`.  `base` is A's API path; `sku(code, { qty, ...fields })`
 * creates a SKU (its title the code unless given) and receives `qty` units,
 * failing the test unless both answer 201; it resolves to the SKU as created.
 */
export async function brandWorld(stack, role = 'operator', { signedIn = false } = {}) {
  const P = await portfolio(stack);
  const A = await brand(P);
  const brandId = role === 'portfolio_admin' ? null : A.id;
  const api = signedIn ? (await member(stack, P, brandId, role)).api
    : tokenClient(stack.url, (await token(P, brandId, role)).token);
  const base = `/api/v1/brands/${A.id}`;
  async function sku(code, { qty = 0, ...fields } = {}) {
    const r = await api.post(`${base}/skus`, { code, title: code, ...fields });
    assert.equal(r.status, 201, r.text);
    if (qty) {
      const m = await api.post(`${base}/movements`, { kind: 'receipt', sku: code, qty });
      assert.equal(m.status, 201, m.text);
    }
    return r.json;
  }
  return { P, A, api, base, sku };
}
