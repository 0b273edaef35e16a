// audit-entries.js — how an audit entry reads: who did what to which object,
// and what changed (before → after when the server recorded both).
import { h } from '../ui/dom.js';
import { roleLabel, time } from '../ui/format.js';

export const ACTIONS = {
  'brand.create': 'Brand created',
  'brand.update': 'Brand updated',
  'member.update': 'Role changed',
  'member.remove': 'Member removed',
  'invitation.create': 'Invitation created',
  'invitation.accept': 'Invitation accepted',
  'invitation.revoke': 'Invitation revoked',
  'token.create': 'API token created',
  'token.revoke': 'API token revoked',
  'user.disable': 'User disabled',
  'sku.create': 'SKU created',
  'sku.update': 'SKU updated',
  'bundle.create': 'Bundle created',
  'bundle.update': 'Bundle components changed',
  'movement.receipt': 'Receipt recorded',
  'movement.sale': 'Sale recorded',
  'movement.ship': 'Shipment recorded',
  'movement.cancel': 'Cancellation recorded',
  'movement.return': 'Return recorded',
  'movement.adjust': 'Adjustment recorded',
  'movement.count': 'Count recorded',
  'hold.create': 'Units held',
  'hold.release': 'Hold released',
  'oversell.resolve': 'Oversell resolved',
  'connection.create': 'Channel connected',
  'connection.update': 'Connection changed',
  'connection.credentials': 'Credentials replaced',
  'connection.delete': 'Connection deleted',
  'connection.automap': 'SKUs auto-mapped',
  'rules.update': 'Brand rules changed',
  'listing.create': 'SKU mapped to a listing',
  'listing.update': 'Listing changed',
  'listing.delete': 'Listing deleted',
  'listing.buffer_advice': 'Buffer set from the advisor',
  'user.enable': 'User enabled',
  'import.create': 'File uploaded to be imported',
  'import.apply': 'Import applied',
  'alert.resolve': 'Alert resolved',
  'routine.update': 'Routine schedule changed',
  'checklist.assign': 'Checklist item assigned',
  'checklist.done': 'Checklist item done',
  'checklist.skipped': 'Checklist item skipped',
  'sop.update': 'SOP changed',
  'sop.override': 'Brand SOP override changed',
  'sop.restore': 'SOP version restored',
  'sop.handover': 'SOP handed over',
};

/** What kind of object an entry is about, in words. */
export const OBJECT_TYPES = {
  brand: 'Brand', user: 'Person', token: 'API token', invitation: 'Invitation', sku: 'SKU', movement: 'Movement',
  hold: 'Hold', oversell: 'Oversell', connection: 'Connection', listing: 'Listing', import: 'Import', routine: 'Routine',
  checklist_item: 'Checklist item', alert: 'Alert', sop: 'SOP', portfolio: 'Portfolio',
};

/** Object types the server names (object_name): a missing name means the object is gone. */
const NAMED = new Set(['sku', 'listing', 'connection', 'routine', 'movement', 'oversell', 'checklist_item', 'hold', 'import',
  'token', 'user', 'alert', 'sop', 'brand']);

/** An action in words: its label, or the action's own parts made readable ("widget.frobnicate" → "Widget frobnicate"). */
export function actionLabel(action) {
  if (ACTIONS[action]) return ACTIONS[action];
  const words = String(action || '').replace(/[._]/g, ' ').trim();
  return words ? words.charAt(0).toUpperCase() + words.slice(1) : '—';
}

/** Action prefixes offered by the filter. */
export const ACTION_PREFIXES = ['brand.', 'member.', 'invitation.', 'token.', 'user.', 'sku.', 'bundle.', 'movement.', 'hold.',
  'oversell.', 'connection.', 'rules.', 'listing.', ...Object.keys(ACTIONS)];

function personLabel(people, id) {
  const p = people.get(id);
  return p ? (p.name || p.email) : 'a former member';
}

function actorCell(e, people) {
  if (!e.actor_user && !e.actor_token) return h('span', { class: 'muted', text: 'system' });
  const p = e.actor_user ? people.get(e.actor_user) : null;
  return h('div', { class: 'cell-stack' },
    e.actor_user ? h('span', { text: personLabel(people, e.actor_user), title: p ? p.email : e.actor_user }) : null,
    e.actor_token ? h('span', { class: 'muted small', text: e.actor_token_name ? `via API token “${e.actor_token_name}”` : 'via a revoked API token' }) : null);
}

/** The object's display name and the summary key it came from (not repeated under Change). */
function objectName(e, people, brands) {
  const s = e.summary || {};
  if (e.object_type === 'user') {
    if (people.has(e.object_id)) return { name: personLabel(people, e.object_id) };
    return { name: s.email || null, key: 'email' };
  }
  if (e.object_type === 'brand') return brands.get(e.object_id) ? { name: brands.get(e.object_id) } : { name: s.name || null, key: 'name' };
  if (e.object_type === 'token') return { name: s.name || null, key: 'name' };
  if (e.object_type === 'invitation') return { name: s.email || null, key: 'email' };
  if (e.object_type === 'sku') return { name: e.object_name || e.object_id, key: 'code' };
  if (e.object_type === 'connection' && s.name) return { name: s.name, key: 'name' };
  return { name: null };
}

/** The summary key that only repeats the object's name (not shown again under Change). */
function repeatedKey(e, people, brands) {
  const { name, key } = objectName(e, people, brands);
  if (key) return key;
  const s = e.summary || {};
  return Object.keys(s).find((k) => k !== 'before' && k !== 'after' && String(s[k]) === name) || null;
}

function objectCell(e, people, brands) {
  const { name } = objectName(e, people, brands);
  const type = OBJECT_TYPES[e.object_type] || actionLabel(e.object_type);
  return h('div', { class: 'cell-stack' },
    h('span', { text: name || e.object_name || (NAMED.has(e.object_type) ? `a ${type.toLowerCase()} since removed` : type) }),
    h('span', { class: 'muted small', text: type }));
}

/** A summary's field in words: its own name without underscores, or the console's word for it. */
const KEY_WORDS = {
  interval_seconds: 'interval (seconds)', external_sku: 'channel SKU', credential_fields: 'credentials set',
  on_hand: 'on hand', qty: 'quantity', step_key: 'step', restored_from: 'restored from version', days_of_cover: 'days of cover',
};
export function keyWords(k) {
  return KEY_WORDS[k] || String(k).replace(/_id$/, '').replace(/_/g, ' ');
}

function valueText(key, v, brands) {
  if (v === null || v === undefined) return 'none';
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  if ((key === 'role' || key === 'before' || key === 'after') && typeof v === 'string') return roleLabel(v);
  if (key === 'brand_id') return brands.get(v) || 'another brand';
  if (Array.isArray(v)) {
    // lines and components: "A1 × 2, B2 × 1"
    if (v.every((x) => x && typeof x === 'object' && 'sku' in x)) return v.map((x) => `${x.sku} × ${x.qty}`).join(', ');
    return v.map((x) => valueText('', x, brands)).join(', ');
  }
  if (typeof v === 'object') {
    // credential fields: which are set, never values (the server records only names)
    if (key === 'credential_fields') return Object.keys(v).join(', ') || 'none';
    const parts = Object.entries(v).map(([k, x]) => `${keyWords(k)} ${valueText(k, x, brands)}`);
    return parts.length ? parts.join(', ') : 'none';
  }
  return String(v);
}

/** Before/after objects (a SKU's title, a connection's rules): only what changed, "title: A → B". */
function objectChange(before, after, brands) {
  const keys = [...new Set([...Object.keys(before || {}), ...Object.keys(after || {})])];
  const changed = keys.filter((k) => JSON.stringify((before || {})[k]) !== JSON.stringify((after || {})[k]));
  if (changed.length === 0) return h('span', { class: 'muted', text: 'no change' });
  return h('div', { class: 'cell-stack' }, changed.map((k) => h('span', { class: 'change' },
    `${keyWords(k)}: `,
    h('span', { class: 'change-before', text: valueText(k, (before || {})[k], brands) }),
    h('span', { class: 'change-arrow', 'aria-label': 'changed to', text: ' → ' }),
    h('span', { class: 'change-after', text: valueText(k, (after || {})[k], brands) }))));
}

/** The summary as text: "Viewer → Brand owner", or "name: X · archived: yes". */
export function summaryCell(e, brands = new Map(), omit = null) {
  const s = e.summary || {};
  const keys = Object.keys(s).filter((k) => k !== omit);
  if (keys.length === 0) return h('span', { class: 'muted', text: '—' });
  if (('before' in s || 'after' in s) && (typeof s.before === 'object' || typeof s.after === 'object') && s.before !== null) {
    return objectChange(s.before, s.after, brands);
  }
  if ('before' in s || 'after' in s) {
    const rest = keys.filter((k) => k !== 'before' && k !== 'after');
    return h('div', { class: 'cell-stack' },
      h('span', { class: 'change' },
        h('span', { class: 'change-before', text: valueText('before', s.before, brands) }),
        h('span', { class: 'change-arrow', 'aria-label': 'changed to', text: ' → ' }),
        h('span', { class: 'change-after', text: valueText('after', s.after, brands) })),
      rest.length ? h('span', { class: 'muted small', text: rest.map((k) => `${keyWords(k)}: ${valueText(k, s[k], brands)}`).join(' · ') }) : null);
  }
  return h('span', { text: keys.map((k) => `${keyWords(k)}: ${valueText(k, s[k], brands)}`).join(' · ') });
}

export function actionCell(e) {
  return h('div', { class: 'cell-stack' },
    h('span', { text: actionLabel(e.action) }),
    h('code', { class: 'muted small', text: e.action, title: 'What to type in “Action starts with”' }));
}

/** Table columns for audit entries; withBrand adds the brand (or "Portfolio") column. */
export function auditColumns({ people, brands, withBrand = false }) {
  return [
    { label: 'When', render: (e) => time(e.at, { seconds: true }) },
    withBrand ? { label: 'Brand', render: (e) => (e.brand_id ? (brands.get(e.brand_id) || 'a brand you cannot see') : h('span', { class: 'muted', text: 'Portfolio' })) } : null,
    { label: 'Actor', render: (e) => actorCell(e, people) },
    { label: 'Action', render: (e) => actionCell(e) },
    { label: 'Object', render: (e) => objectCell(e, people, brands) },
    { label: 'Change', render: (e) => summaryCell(e, brands, repeatedKey(e, people, brands)) },
  ].filter(Boolean);
}

/** Row keys: ids repeat across the brand and portfolio logs, so the brand is part of it. */
export const auditKey = (e) => `${e.brand_id || 'p'}:${e.id}`;
