// exception-words.js — how the exception queue reads (the queue and the
// dashboard of GET …/exceptions and …/dashboard): each kind in words with
// what it means and what clears it, severities (an icon and a word, never
// colour alone), states, the history's actions, the in-place fixes, and a
// kind's detail numbers as sentences.  Shared by the queue, the portfolio
// home, the brand overview and the navigation counts.
import { h } from '../ui/dom.js';
import { plural, qty, roleLabel } from '../ui/format.js';

/** Kinds in the order the dashboard lists them (worst first). */
export const KINDS = {
  oversell: { label: 'Oversold', text: 'A sale was recorded past zero: a channel sold units onecount did not have. It closes when the incident is resolved.' },
  connection_failing: { label: 'Channel failing', text: 'Pushes to this channel keep failing, or it refuses onecount. It closes by itself once a push gets through.' },
  credentials_expiring: { label: 'Credentials expiring', text: 'The connection\u2019s credentials stop working soon; replace them on the connection.' },
  unmapped_line: { label: 'Order line not mapped', text: 'An order names a channel SKU without a listing; its lines wait until the SKU is mapped.' },
  listing_stuck: { label: 'Listing not reaching the channel', text: 'A listing has waited longer than it should for a push to get through. It closes by itself once it catches up.' },
  drift_unhealed: { label: 'Channel differs, not healed', text: 'A read-back found the channel showing another number than onecount pushed, and it has not healed.' },
  stranded_stockout: { label: 'Out of stock, units elsewhere', text: 'A channel shows none while units sit on another channel\u2019s share or behind a buffer.' },
  low_stock: { label: 'Low stock', text: 'Fewer days of cover than the SOP asks, at the recent rate of sale.' },
  sku_unlisted: { label: 'SKU not on a channel', text: 'An active SKU has no listing on one of the brand\u2019s channels.' },
  sop_run_failed: { label: 'Routine failed', text: 'A routine of the SOP ended in failure on its last run.' },
  checklist_overdue: { label: 'Checklist step overdue', text: 'A checklist step is past its due time; it closes when it is done or skipped.' },
};
export const KIND_ORDER = Object.keys(KINDS);
export const kindLabel = (k) => KINDS[k]?.label || String(k || '').replace(/_/g, ' ');

/** Severities, worst first; each has an icon and a word. */
export const SEVERITIES = {
  critical: { label: 'Critical', icon: '\u25B2', badge: 'badge-danger' },
  warning: { label: 'Warning', icon: '\u25C6', badge: 'badge-warn' },
  info: { label: 'Info', icon: '\u25CF', badge: 'badge-muted' },
};
export const SEVERITY_ORDER = Object.keys(SEVERITIES);

export function severityBadge(s) {
  const v = SEVERITIES[s] || { label: s, icon: '', badge: 'badge-muted' };
  return h('span', { class: ['badge', 'severity', `severity-${s}`, v.badge] },
    h('span', { class: 'severity-icon', 'aria-hidden': 'true', text: v.icon }), ` ${v.label}`);
}

/** States: active is the default filter (open and acknowledged). */
export const STATES = {
  active: { label: 'Needs someone', text: 'open or acknowledged' },
  open: { label: 'Open' },
  acknowledged: { label: 'Acknowledged' },
  snoozed: { label: 'Snoozed' },
  resolved: { label: 'Resolved' },
  all: { label: 'All' },
};
const STATE_BADGE = { open: 'badge-danger', acknowledged: 'badge-warn', snoozed: 'badge-muted', resolved: 'badge-ok' };

/** The item's state as a badge: "Snoozed until …", "Closed by itself". */
export function stateBadge(x, when = null) {
  let label = STATES[x.state]?.label || x.state;
  if (x.state === 'resolved' && (x.closed_by_itself || !x.resolved_by)) label = 'Closed by itself';
  const badge = h('span', { class: ['badge', STATE_BADGE[x.state] || 'badge-muted'], text: label });
  if (x.state === 'snoozed' && x.snoozed_until && when) return h('span', { class: 'cell-stack' }, badge, h('span', { class: 'small muted' }, 'until ', when(x.snoozed_until)));
  return badge;
}

/** What each history entry says. */
export const HISTORY = {
  opened: 'Opened',
  changed: 'Changed',
  acknowledged: 'Acknowledged',
  assigned: 'Assigned',
  snoozed: 'Snoozed',
  snooze_ended: 'Snooze ended; back in the queue',
  resolved: 'Resolved',
  closed: 'Closed by itself',
  reopened: 'Reopened',
};
export const historyLabel = (a) => HISTORY[a] || String(a || '').replace(/_/g, ' ');

/** The in-place fixes, as the buttons and links read. */
export const ACTIONS = {
  resolve_oversell: 'Record how the oversell was settled',
  map_line: 'Map the channel SKU to a SKU',
  create_sku: 'Create a SKU from it',
  repush: 'Push the listing again',
  pause_listing: 'Pause the listing',
  adjust_buffer: 'Adjust the buffer',
  open_connection: 'Open the connection',
  open_checklist: 'Open the checklist',
  open_runs: 'Open the run history',
  list_sku: 'List the SKU on the channel',
  open_sku: 'Open the SKU',
};

/** Phrases for the numbers and words of an item's detail (migrations/0033_exceptions.sql); at(iso) reads a time. */
const DETAIL_WORDS = {
  qty_short: (v) => `short by ${plural(Number(v), 'unit')}`,
  reference: (v) => `reference ${v}`,
  since: () => null, // the item's own "Opened" says it
  lines: (v) => plural(Number(v), 'order line'),
  units: (v) => `${plural(Number(v), 'unit')} waiting`,
  desired: (v) => `onecount wants ${qty(v)}`,
  pushed: (v) => `last pushed ${qty(v)}`,
  seen: (v) => `the channel shows ${qty(v)}`,
  behind_since: (v, at) => `waiting since ${at(v)}`,
  attempts: (v) => plural(Number(v), 'push attempt'),
  last_error: (v) => `last error: ${v}`,
  classification: () => null,
  detected_at: (v, at) => `found ${at(v)}`,
  why: () => null,
  status: (v) => (v === 'active' ? null : `connection ${v}`),
  circuit: (v) => (v === 'closed' ? null : v === 'open' ? 'pushes stopped for a while (circuit open)' : 'trying one push (circuit half-open)'),
  consecutive_failures: (v) => (Number(v) > 0 ? `${plural(Number(v), 'failed push', 'failed pushes')} in a row` : null),
  expires_at: (v, at) => `the authorization lapses ${at(v)}`,
  step_key: () => null,
  action: () => null,
  finished_at: (v, at) => `last run ended ${at(v)}`,
  error: (v) => `error: ${v}`,
  due_at: (v, at) => `due ${at(v)}`,
  role: (v) => `for the ${roleLabel(v).toLowerCase()} role`,
  missing_on: (v) => `missing on ${v.map((m) => m.connection).join(', ')}`,
  zero_on: (v) => `0 shown on ${v.map((m) => m.connection).join(', ')}`,
  available: (v) => `${qty(v)} available`,
  per_day: (v) => `selling ${qty(v)} a day`,
  days_of_cover: (v) => `${Number(v).toFixed(1)} days of cover`,
  threshold_days: (v) => `the SOP asks for ${qty(v)} days`,
};

const ID_LIKE = /(^id$|_id$|_ids$)/;

/** A kind's detail object as short phrases (ids are left out: the item names them); at(iso) writes a time. */
export function detailWords(detail, at = (iso) => iso) {
  if (!detail || typeof detail !== 'object') return [];
  const out = [];
  const times = []; // phrases with a time come after the numbers
  for (const [k, v] of Object.entries(detail)) {
    if (v === null || v === undefined || v === '' || ID_LIKE.test(k)) continue;
    if (DETAIL_WORDS[k]) {
      if (Array.isArray(v) && !v.length) continue;
      const w = DETAIL_WORDS[k](v, at);
      if (w) (/(_at|_since)$/.test(k) ? times : out).push(w);
    } else if (typeof v !== 'object') out.push(`${k.replace(/_/g, ' ')}: ${typeof v === 'number' ? qty(v) : String(v)}`);
  }
  return out.concat(times);
}
