// directory.js — names for the ids the API returns (audit actors, brand ids
// in memberships and invitations), from the lists this user may read.
//
// Audit entries carry only user ids; a portfolio admin can name everyone
// (portfolio members), a brand owner the brand's members, anyone else only
// themselves.  Unknown ids are shown shortened.
import { getAll } from './api.js';
import { session, isAdmin, portfolioId, canManage } from './session.js';

/** Map user id → {name, email}; never rejects. */
export async function peopleDirectory({ brandId = null, role = null } = {}) {
  const map = new Map();
  const me = session.me;
  if (me) map.set(me.user.id, { name: me.user.name, email: me.user.email });
  try {
    let people = [];
    if (isAdmin()) people = await getAll(`/api/v1/portfolios/${portfolioId()}/members`);
    else if (brandId && canManage(role)) people = await getAll(`/api/v1/brands/${brandId}/members`);
    for (const p of people) map.set(p.user_id, { name: p.name, email: p.email });
  } catch {
    // Names are a convenience; the ids still identify the actors.
  }
  return map;
}

/** Map brand id → name, archived brands included; never rejects. */
export async function brandDirectory() {
  const map = new Map();
  for (const b of session.brands) map.set(b.id, b.name);
  try {
    const all = await getAll(`/api/v1/portfolios/${portfolioId()}/brands`, { include_archived: 'true' });
    for (const b of all) map.set(b.id, b.name);
  } catch {
    // fall back to the brands already known
  }
  return map;
}
