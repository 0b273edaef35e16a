// rules.js — the published-quantity rules of a connection or a listing
// (buffer, share, cap, floor) as form fields, back into the API's object,
// as one line of text, and the server's explanation of a published quantity
// ("why": each rule that changed the number, in order).
import { h } from '../ui/dom.js';
import { qty } from '../ui/format.js';

/**
 * Form fields for a rules object; names are the API's error fields
 * ("rules.buffer"), so a 422 lands under the right input.
 */
export function ruleFields(current = {}, { prefix = 'rules', inherit = false } = {}) {
  const v = (k) => (current && current[k] !== undefined && current[k] !== null ? String(current[k]) : '');
  const empty = inherit ? 'Empty: the connection\u2019s rule applies.' : 'Empty: no such rule.';
  return [
    { name: `${prefix}.buffer`, label: 'Buffer', value: v('buffer'), mono: true, inputmode: 'text', maxlength: 12,
      hint: `Units held back from this channel, or "auto" (sized from the channel's lag and the other channels' sales). ${empty}` },
    { name: `${prefix}.share`, label: 'Share (%)', type: 'number', value: v('share'), min: 0, max: 100, step: 'any',
      hint: `Show only this percentage of what remains after the buffer. ${empty}` },
    { name: `${prefix}.cap`, label: 'Cap', type: 'number', value: v('cap'), min: 0, step: 1,
      hint: `Never show more than this many units. ${empty}` },
    { name: `${prefix}.floor`, label: 'Floor', type: 'number', value: v('floor'), min: 0, step: 1,
      hint: `Show 0 when fewer than this many units would be shown. ${empty}` },
  ];
}

/**
 * The rules object from form values: empty inputs are left out; whole
 * numbers become numbers; anything else is sent as typed so the server's
 * message explains it.
 */
export function rulesFromValues(values, prefix = 'rules') {
  const out = {};
  for (const k of ['buffer', 'share', 'cap', 'floor']) {
    const raw = values[`${prefix}.${k}`];
    if (raw === undefined || raw === '') continue;
    if (k === 'buffer' && raw.toLowerCase() === 'auto') out[k] = 'auto';
    else if (/^-?\d+(\.\d+)?$/.test(raw)) out[k] = Number(raw);
    else out[k] = raw;
  }
  return out;
}

const RULE_TEXT = {
  buffer: (v) => (v === 'auto' ? 'buffer auto' : `buffer ${qty(v)}`),
  share: (v) => `share ${v} %`,
  cap: (v) => (v === null ? null : `cap ${qty(v)}`),
  floor: (v) => `floor ${qty(v)}`,
};

const ORDER = ['buffer', 'share', 'cap', 'floor'];

/** "buffer 2 · share 50 % · cap 4" (in the order the rules apply), or the empty text. */
export function rulesText(rules, empty = 'none') {
  const entries = Object.entries(rules || {}).sort(([a], [b]) => (ORDER.indexOf(a) + 1 || 99) - (ORDER.indexOf(b) + 1 || 99));
  const parts = entries.map(([k, v]) => (RULE_TEXT[k] ? RULE_TEXT[k](v) : `${k} ${v}`)).filter(Boolean);
  return parts.length ? parts.join(' · ') : empty;
}

export const BOUND_LABELS = {
  available: 'what is available',
  none_available: 'nothing available',
  buffer: 'the buffer',
  share: 'the share',
  cap: 'the cap',
  last_units: 'the last-units rule',
  floor: 'the floor',
};

export const boundLabel = (b) => BOUND_LABELS[b] || b || '—';

function stepText(s) {
  switch (s.rule) {
    case 'available': return `Available: ${qty(s.qty)}`;
    case 'buffer': return `Buffer of ${qty(s.units)} held back: ${qty(s.qty)}`;
    case 'share': return `Share of ${s.percent} %: ${qty(s.qty)}`;
    case 'cap': return `Capped at ${qty(s.qty)}`;
    case 'last_units': return `Last units (at or below ${qty(s.threshold)}, another channel shows them): 0`;
    case 'floor': return `Below the floor of ${qty(s.below)}: 0`;
    default: return `${s.rule}: ${qty(s.qty)}`;
  }
}

/** The steps that led to a published quantity, as an ordered list. */
export function whySteps(steps) {
  if (!Array.isArray(steps) || steps.length === 0) return h('span', { class: 'muted', text: 'Not computed yet.' });
  return h('ol', { class: 'why-steps' }, steps.map((s) => h('li', { text: stepText(s) })));
}
