// session.js — who is signed in, and what that lets them do.
//
// Holds the answer of GET /api/v1/me (user, portfolio, portfolio_role,
// memberships, csrf_token) and the brands the user can see.  The role
// helpers only decide what the console offers; the server decides what is
// allowed and the views show its 403 when the two disagree.
import { api, getAll, setCsrfToken, ApiError } from './api.js';
import { roleLabel } from './ui/format.js';

const ROLE_RANK = { viewer: 1, operator: 2, brand_owner: 3, portfolio_admin: 4 };
const listeners = new Set();

export const session = {
  me: null,
  brands: [], // visible, not archived: [{id, name, your_role, …}]
};

function changed() {
  for (const fn of listeners) fn(session);
}

/** Runs fn(session) whenever the user or the brand list changes. */
export function onSessionChange(fn) {
  listeners.add(fn);
}

/** Takes a /me (or sign-in) answer as the current session. */
export function setMe(me) {
  session.me = me;
  setCsrfToken(me ? me.csrf_token : null);
  changed();
}

/** Loads /me; resolves to it, or null when nobody is signed in. */
export async function loadSession() {
  try {
    const me = await api.get('/api/v1/me', null, { public: true });
    setMe(me);
    await refreshBrands();
    return me;
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      clearSession();
      return null;
    }
    throw err;
  }
}

/** Reloads /me and the brand list after something that may change them. */
export async function refreshSession() {
  const me = await api.get('/api/v1/me');
  session.me = me;
  setCsrfToken(me.csrf_token);
  await refreshBrands();
}

export async function refreshBrands() {
  if (!session.me) return;
  session.brands = await getAll(`/api/v1/portfolios/${session.me.portfolio.id}/brands`);
  changed();
}

export function clearSession() {
  session.me = null;
  session.brands = [];
  setCsrfToken(null);
  changed();
}

export const portfolioId = () => session.me?.portfolio?.id;
export const isAdmin = () => session.me?.portfolio_role === 'portfolio_admin';

/** The user's role in a brand, as far as the console knows. */
export function roleIn(brandId) {
  if (isAdmin()) return 'portfolio_admin';
  const m = session.me?.memberships?.find((x) => x.brand_id === brandId);
  return m ? m.role : null;
}

export const roleAtLeast = (role, min) => (ROLE_RANK[role] || 0) >= ROLE_RANK[min];

/** Settings, members, invitations and tokens of a brand: brand owners and admins. */
export const canManage = (role) => roleAtLeast(role, 'brand_owner');

/** SKUs, stock, holds, oversells, listings and the brand's rules: operators and up ("inventory"). */
export const canInventory = (role) => roleAtLeast(role, 'operator');

/** Channel connections (create, change, test, delete): brand owners and admins ("channels"). */
export const canChannels = (role) => roleAtLeast(role, 'brand_owner');

/**
 * The server's 403 for a role without a permission, as a value for
 * errorPanel(): the same words the API uses, for write screens opened by
 * address (their form would get exactly this answer).
 */
export function forbidden(role, perm) {
  return { status: 403, message: `your role (${role || 'none'}) may not do this; it needs ${perm} permission` };
}

/** Roles this user may hand out inside a brand (never above its own). */
export function grantableBrandRoles(role) {
  if (!canManage(role)) return [];
  return ['viewer', 'operator', 'brand_owner'];
}

/** One line describing the user's standing, for the "who am I" area. */
export function standing() {
  const me = session.me;
  if (!me) return '';
  if (isAdmin()) return 'Portfolio admin';
  const n = me.memberships.length;
  if (n === 1) return `${roleLabel(me.memberships[0].role)} of ${me.memberships[0].brand_name}`;
  return n === 0 ? 'No brand yet' : `Member of ${n} brands`;
}
