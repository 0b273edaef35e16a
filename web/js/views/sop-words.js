// sop-words.js — how the SOP reads (migrations/0027_sops.sql): a step's
// cadence in words ("every 10 minutes", "daily at 07:10 (brand time)",
// "Mondays at 09:00"), its action, catch-up and scope; the author of a
// version; a diff's changes, field by field.  Shared by the portfolio SOP,
// the brand's SOP tab, the schedule and the checklist.
import { h } from '../ui/dom.js';
import { duration, plural, roleLabel, time } from '../ui/format.js';
import { ROUTINES, every } from './sync-words.js';

const DAYS = ['Sundays', 'Mondays', 'Tuesdays', 'Wednesdays', 'Thursdays', 'Fridays', 'Saturdays', 'Sundays'];
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const two = (x) => String(x).padStart(2, '0');
const num = (x) => /^\d+$/.test(x);

function listWords(items) {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

/** The days of the week of a cron field ("1-5" → "weekdays"), or null when it is not plain. */
function dayWords(dow) {
  if (dow === '1-5') return 'weekdays';
  if (dow === '0,6' || dow === '6,0' || dow === '6-7') return 'weekends';
  const parts = dow.split(',');
  const out = [];
  for (const p of parts) {
    const r = /^([0-7])-([0-7])$/.exec(p);
    if (r) out.push(`${DAYS[Number(r[1])]} to ${DAYS[Number(r[2])]}`);
    else if (/^[0-7]$/.test(p)) out.push(DAYS[Number(p)]);
    else return null;
  }
  return listWords(out);
}

/**
 * A five-field cron in words, or null when it is not one of the plain
 * shapes (the raw cron is then the words).  Times are the brand's wall time.
 */
export function cronWords(cron) {
  const f = String(cron || '').trim().split(/\s+/);
  if (f.length !== 5) return null;
  const [m, hr, dom, mon, dow] = f;
  // out-of-range numbers are not read as times (the server names the problem)
  if ((num(m) && Number(m) > 59) || (num(hr) && Number(hr) > 23) || (num(dom) && (Number(dom) < 1 || Number(dom) > 31))) return null;
  const step = /^\*\/(\d+)$/;
  if (dom !== '*' || mon !== '*') {
    if (num(m) && num(hr) && num(dom) && dow === '*') {
      const at = `${two(hr)}:${two(m)}`;
      if (mon === '*') return `monthly on day ${dom} at ${at} (brand time)`;
      if (num(mon) && Number(mon) >= 1 && Number(mon) <= 12) return `every ${MONTHS[Number(mon) - 1]} ${dom} at ${at} (brand time)`;
    }
    return null;
  }
  if (m === '*' && hr === '*' && dow === '*') return 'every minute';
  if (step.test(m) && hr === '*' && dow === '*') return `every ${plural(Number(step.exec(m)[1]), 'minute')}`;
  if (num(m) && hr === '*' && dow === '*') return `hourly at ${two(m)} past the hour`;
  if (num(m) && step.test(hr) && dow === '*') return `every ${plural(Number(step.exec(hr)[1]), 'hour')} at ${two(m)} past (brand time)`;
  if (num(m) && num(hr)) {
    const at = `${two(hr)}:${two(m)}`;
    if (dow === '*') return `daily at ${at} (brand time)`;
    const days = dayWords(dow);
    if (days) return `${days.charAt(0).toUpperCase()}${days.slice(1)} at ${at} (brand time)`;
  }
  return null;
}

/** A step's (or routine's) cadence in words: every_s/interval_seconds or cron. */
export function cadenceText(s) {
  const secs = s.every_s ?? s.interval_seconds;
  if (s.cron) return cronWords(s.cron) || `at cron ${s.cron} (brand time)`;
  if (secs !== null && secs !== undefined) return every(secs);
  return '—';
}

/** The cadence in words with the raw cron beside it. */
export function cadenceCell(s) {
  if (!s.cron) return h('span', { text: cadenceText(s) });
  return h('div', { class: 'cell-stack' }, h('span', { text: cadenceText(s) }), h('code', { class: 'muted small', text: s.cron }));
}

/** What a step does, in words. */
export const actionText = (a) => (ROUTINES[a] ? `${ROUTINES[a].label}: ${ROUTINES[a].text}` : a || '—');

/** Catch-up in a few words, for tables. */
export const CATCH_UP_SHORT = {
  once: 'run once, counting missed runs',
  report: 'report missed, wait for next',
};
export const catchUpShort = (c) => CATCH_UP_SHORT[c || 'once'] || c;

export const CATCH_UP = {
  once: 'run once, saying how many runs were missed',
  report: 'record one missed run and wait for the next',
};
export const catchUpText = (c) => CATCH_UP[c || 'once'] || c;

/** A step's scope in words. */
export function scopeText(scope, brandName = (id) => id) {
  if (!scope || typeof scope !== 'object') return 'every brand';
  const parts = [];
  if (Array.isArray(scope.channel_kinds) && scope.channel_kinds.length) parts.push(`${listWords(scope.channel_kinds.map((k) => k.charAt(0).toUpperCase() + k.slice(1)))} connections`);
  if (Array.isArray(scope.brands) && scope.brands.length) parts.push(`brands ${listWords(scope.brands.map(brandName))}`);
  if (Array.isArray(scope.connections) && scope.connections.length) parts.push(plural(scope.connections.length, 'named connection'));
  return parts.length ? parts.join('; ') : 'every brand';
}

/** A checklist step's settings as short lines. */
export function checklistLines(c, personName = (id) => id) {
  if (!c) return null;
  return h('dl', { class: 'kv small' },
    h('dt', { text: 'Role' }), h('dd', { text: roleLabel(c.role) }),
    h('dt', { text: 'Due after' }), h('dd', { text: c.due_after_s ? duration(c.due_after_s) : '—' }),
    h('dt', { text: 'Done when' }), h('dd', { text: c.done_when || '—' }),
    h('dt', { text: 'Assignee' }), h('dd', { text: c.assignee ? personName(c.assignee) : `anyone with the ${roleLabel(c.role).toLowerCase()} role` }));
}

/** Who made a version. */
export function authorText(v) {
  if (!v.author) return 'onecount default';
  return v.author.name || (v.author.token_id ? 'an API token' : 'someone');
}

/** Field names of a step, in words. */
export const FIELD_LABELS = {
  key: 'Key',
  title: 'Title',
  action: 'Action',
  every_s: 'Interval',
  cron: 'Cron',
  start_after_s: 'First run after',
  catch_up: 'Catch-up',
  scope: 'Scope',
  params: 'Settings',
  checklist: 'Checklist',
  enabled: 'Enabled',
  connection_id: 'Connection',
  'checklist.role': 'Role',
  'checklist.due_after_s': 'Due after',
  'checklist.done_when': 'Done when',
  'checklist.instructions': 'Instructions',
  'checklist.assignee': 'Assignee',
};
export const fieldLabel = (f) => FIELD_LABELS[f] || f;

/** A field's value in a diff, in words. */
export function valueWords(field, v, personName = (id) => id) {
  if (v === undefined || v === null) return 'not set';
  if (field === 'every_s') return `${every(v)} (${v} s)`;
  if (field === 'cron') return `${cronWords(v) || 'cron'} (${v})`;
  if (field === 'catch_up') return catchUpText(v);
  if (field === 'enabled') return v ? 'on' : 'off';
  if (field === 'action') return ROUTINES[v]?.label || v;
  if (field === 'checklist' && typeof v === 'object') {
    return [v.role ? `role ${roleLabel(v.role)}` : null, v.due_after_s ? `due after ${duration(v.due_after_s)}` : null,
      v.done_when ? `done when “${v.done_when}”` : null, v.assignee ? `assigned to ${personName(v.assignee)}` : null]
      .filter(Boolean).join(', ') || 'empty';
  }
  if (field === 'scope' && typeof v === 'object') return scopeText(v);
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** An instant in a brand's time zone (its zone named), in the console's one date format. */
export function zoneTime(iso, timezone, { seconds = false } = {}) {
  return time(iso, { seconds, zone: timezone || null });
}
