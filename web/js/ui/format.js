// format.js — how values look: roles, dates, statuses, short ids.
import { h } from './dom.js';

export const ROLE_LABELS = {
  viewer: 'Viewer',
  operator: 'Operator',
  brand_owner: 'Brand owner',
  portfolio_admin: 'Portfolio admin',
};

/** What each role may do, in one line (shown next to role pickers). */
export const ROLE_HINTS = {
  viewer: 'reads the brand and its audit log; changes nothing',
  operator: 'reads the brand and works on its inventory',
  brand_owner: 'everything in the brand: inventory, channels, members, tokens and settings',
  portfolio_admin: 'everything in every brand, plus people, brands and portfolio tokens',
};

export const roleLabel = (role) => ROLE_LABELS[role] || role || '—';

export function roleBadge(role) {
  return h('span', { class: ['badge', `badge-role-${role || 'none'}`], text: roleLabel(role) });
}

const STATUS_KINDS = {
  active: 'ok',
  accepted: 'ok',
  pending: 'warn',
  revoked: 'muted',
  expired: 'muted',
  archived: 'muted',
  disabled: 'danger',
  paused: 'warn',
  error: 'danger',
  open: 'danger',
  resolved: 'ok',
  confirmed: 'ok',
  released: 'muted',
};

export function statusBadge(status, label = status) {
  const text = String(label).charAt(0).toUpperCase() + String(label).slice(1);
  return h('span', { class: ['badge', `badge-${STATUS_KINDS[status] || 'muted'}`], text });
}

/** A person in a table: name (or a dash) over the email. */
export function personCell(p) {
  return h('div', { class: 'cell-stack' }, h('span', { class: 'strong', text: p.name || '—' }), h('span', { class: 'muted small', text: p.email }));
}

/** An account's status: disabled or active. */
export const accountStatus = (p) => statusBadge(p.disabled ? 'disabled' : 'active');

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const dateTimeSeconds = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

/** A <time> element in the reader's locale, with the exact instant on hover. */
export function time(iso, { seconds = false, empty = '—' } = {}) {
  if (!iso) return h('span', { class: 'muted', text: empty });
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return h('span', { text: iso });
  return h('time', { datetime: d.toISOString(), title: d.toISOString(), text: (seconds ? dateTimeSeconds : dateTime).format(d) });
}

/** The first block of a UUID, for showing an id that has no name. */
export const shortId = (id) => (id ? String(id).split('-')[0] : '');

export function plural(n, one, many = `${one}s`) {
  return `${n} ${n === 1 ? one : many}`;
}

/** "about 15 minutes" from seconds. */
export function duration(seconds) {
  const s = Math.max(1, Math.round(seconds));
  if (s < 90) return plural(s, 'second');
  const m = Math.round(s / 60);
  if (m < 90) return plural(m, 'minute');
  return plural(Math.round(m / 60), 'hour');
}

const numberFormat = new Intl.NumberFormat();

/** A quantity for display: grouped digits, '—' when there is none. */
export function qty(n, empty = '—') {
  if (n === null || n === undefined || n === '') return empty;
  const v = Number(n);
  return Number.isFinite(v) ? numberFormat.format(v) : String(n);
}

/** A signed change: "+5", "−2", "0". */
export function delta(n) {
  const v = Number(n) || 0;
  if (v > 0) return `+${numberFormat.format(v)}`;
  if (v < 0) return `−${numberFormat.format(-v)}`;
  return '0';
}

const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });

/** "in 4 minutes", "2 hours ago" for an instant, relative to now. */
export function fromNow(iso, now = Date.now()) {
  const d = new Date(iso).getTime();
  if (!Number.isFinite(d)) return '';
  const s = Math.round((d - now) / 1000);
  const a = Math.abs(s);
  if (a < 60) return relative.format(s, 'second');
  if (a < 3600) return relative.format(Math.round(s / 60), 'minute');
  if (a < 86400) return relative.format(Math.round(s / 3600), 'hour');
  return relative.format(Math.round(s / 86400), 'day');
}
