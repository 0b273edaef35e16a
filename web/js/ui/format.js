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

// One date format everywhere: "Dec 7, 2026, 14:03 CET" (seconds where a
// screen needs them), in the brand's time zone on a brand's screens (the
// brand frame sets it; see setDisplayZone) and the reader's elsewhere, the
// zone always named so no time is ambiguous.
const FORMAT = { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZoneName: 'short' };
const formatters = new Map();
let displayZone = null;

function formatter(zone, seconds) {
  const key = `${zone || ''}|${seconds}`;
  if (!formatters.has(key)) {
    const opts = seconds ? { ...FORMAT, second: '2-digit' } : FORMAT;
    let f;
    try {
      f = new Intl.DateTimeFormat(undefined, { ...opts, timeZone: zone || undefined });
    } catch {
      f = new Intl.DateTimeFormat(undefined, opts); // a zone this browser does not know: the reader's
    }
    formatters.set(key, f);
  }
  return formatters.get(key);
}

/** The zone times are shown in from now on (an IANA name; null: the reader's). The router resets it per screen. */
export function setDisplayZone(zone) {
  displayZone = zone || null;
}

/** The zone times are shown in now (null: the reader's). */
export const currentZone = () => displayZone;

/** The wall-clock fields of an instant in a zone (the reader's when the zone is unknown). */
function wallParts(ms, zone) {
  const opts = { hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' };
  let f;
  try {
    f = new Intl.DateTimeFormat('en-US', { ...opts, timeZone: zone || undefined });
  } catch {
    f = new Intl.DateTimeFormat('en-US', opts);
  }
  return Object.fromEntries(f.formatToParts(new Date(ms)).map((x) => [x.type, x.value]));
}

/**
 * A datetime-local value ("2026-12-07T14:03", with seconds on request) for
 * an instant, on the wall clock of the screen's zone (or `zone`), so a
 * date picker speaks the same time as the tables beside it; '' for none.
 */
export function wallFromIso(iso, { seconds = false, zone = displayZone } = {}) {
  if (!iso) return '';
  const ms = new Date(iso).getTime();
  if (!Number.isFinite(ms)) return '';
  const p = wallParts(ms, zone);
  return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}${seconds ? `:${p.second}` : ''}`;
}

/** The instant (RFC 3339) a datetime-local value means on the wall clock of the screen's zone (or `zone`); '' for none. */
export function isoFromWall(value, { zone = displayZone } = {}) {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?/.exec(value || '');
  if (!m) return '';
  const wall = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +(m[6] || 0));
  const offset = (ms) => {
    const p = wallParts(ms, zone);
    return Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute, +p.second) - ms;
  };
  // the zone's offset at that moment (twice: a guess near a change of offset is off by it)
  let t = wall - offset(wall);
  t = wall - offset(t);
  return new Date(t).toISOString();
}

/** An instant as text in the one format, in `zone` (default: the screen's zone). */
export function instantText(iso, { seconds = false, zone = displayZone } = {}) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return formatter(zone, seconds).format(d);
}

/** A <time> element in the one format and the screen's zone (or `zone`), how long ago and the exact instant on hover. */
export function time(iso, { seconds = false, empty = '—', zone = displayZone } = {}) {
  if (!iso) return h('span', { class: 'muted', text: empty });
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return h('span', { text: iso });
  return h('time', { datetime: d.toISOString(), title: `${fromNow(iso)} · ${d.toISOString()}`, text: instantText(iso, { seconds, zone }) });
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

/**
 * A measured time from milliseconds, the one way the console shows them:
 * "840 ms" under a second, "42.7 s" under a minute, then "about 3 minutes".
 */
export function durationMs(v) {
  const x = Number(v);
  if (!Number.isFinite(x)) return '—';
  if (x < 1000) return `${numberFormat.format(Math.round(x))} ms`;
  if (x < 60000) return `${(x / 1000).toFixed(1)} s`;
  return duration(x / 1000);
}

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
