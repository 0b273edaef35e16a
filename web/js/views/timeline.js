// timeline.js — a SKU's timeline on its screen: movements, pushes (what
// was sent to each channel, what it acknowledged or refused, how long it
// took) and drift, newest first, page by page; and "what did each channel
// show at…": for a moment in time (?at= on the SKU's address), the last
// number each channel had acknowledged then and the balance it came from.
// GET /brands/{bid}/skus/{code}/timeline[?at=].
import { api } from '../api.js';
import { h, sentence } from '../ui/dom.js';
import { createForm } from '../ui/form.js';
import { durationMs, isoFromWall, qty, time, wallFromIso } from '../ui/format.js';
import { panel } from '../ui/page.js';
import { pagedTable } from '../ui/table.js';
import { link } from '../router.js';
import { kindLabel as channelLabel } from './channel-kinds.js';
import { kindLabel as movementLabel } from './inventory.js';
import { DRIFT, DRIFT_ACTIONS, driftLabel, pushBadge } from './sync-words.js';

const TYPES = {
  movement: ['Movement', 'tl-movement'],
  push: ['Push', 'tl-push'],
  drift: ['Drift', 'tl-drift'],
};

/** A datetime-local value with seconds from an instant, in the screen's zone (the brand's). */
export const localSeconds = (iso) => wallFromIso(iso, { seconds: true });

function channelCell(brand, id, names, fallback = null) {
  if (!id) return h('span', { class: 'muted', text: '—' });
  const name = fallback || names.get(id);
  return h('a', { href: link('/brands', brand.id, 'channels', id), text: name || 'a removed connection' });
}

function details(e) {
  if (e.type === 'movement') {
    return h('div', { class: 'cell-stack' },
      h('span', {}, h('strong', { text: movementLabel(e.kind) }), ` of ${qty(e.qty)}`),
      h('span', { class: 'small', text: `On hand after: ${qty(e.on_hand_after)} · committed after: ${qty(e.committed_after)}` }),
      e.reference ? h('span', { class: 'muted small', text: `Reference: ${e.reference}` }) : null,
      e.reason ? h('span', { class: 'muted small', text: `Reason: ${e.reason}` }) : null);
  }
  if (e.type === 'push') {
    const ack = e.status === 'ok' ? `the channel acknowledged ${qty(e.channel_qty ?? e.qty)}`
      : e.status === 'pending' ? 'the channel accepted it and applies it later'
        : e.status === 'stale' ? `the channel had ${qty(e.channel_qty)}, not the ${qty(e.expected)} expected, so it refused`
          : 'nothing changed on the channel';
    return h('div', { class: 'cell-stack' },
      h('span', { class: 'inline-control' }, h('span', {}, 'Sent ', h('strong', { text: qty(e.qty) })), pushBadge(e.status)),
      h('span', { class: 'small', text: sentence(ack) }),
      e.error && e.status !== 'stale' ? h('span', { class: 'error-text small', text: e.error }) : null,
      h('span', { class: 'muted small', text: [
        e.latency_ms !== null && e.latency_ms !== undefined ? `round trip ${durationMs(e.latency_ms)}` : null,
        `version ${qty(e.version)}`].filter(Boolean).join(' · ') }));
  }
  return h('div', { class: 'cell-stack' },
    h('strong', { text: driftLabel(e.classification) }),
    h('span', { class: 'small', text: `Channel showed ${e.seen_qty === null ? 'nothing' : qty(e.seen_qty)}; onecount had pushed ${qty(e.pushed_qty)} and wants ${qty(e.desired_qty)}.` }),
    h('span', { class: 'muted small', text: DRIFT[e.classification]?.text || '' }),
    h('span', { class: 'small' }, `${DRIFT_ACTIONS[e.action] || e.action}. `, e.healed_at ? ['Healed ', time(e.healed_at, { seconds: true }), '.'] : 'Not healed yet.'));
}

/** What each channel showed at a moment (shown_at of the timeline answer). */
export function shownAt(brand, s) {
  const b = s.balance;
  const channels = s.channels || [];
  return h('section', { class: 'report', 'aria-label': 'What each channel showed', role: 'status' },
    h('h3', {}, 'At ', time(s.at, { seconds: true })),
    h('p', {}, b
      ? ['The balance was ', h('strong', { text: `${qty(b.on_hand)} on hand` }), `, ${qty(b.committed)} committed (after the movement of `,
        time(b.movement_at, { seconds: true }), ').']
      : 'No movement of this SKU had happened yet: nothing on hand.'),
    channels.length === 0 ? h('p', { class: 'muted', text: 'The SKU is not listed on any channel.' })
      : h('div', { class: 'table-wrap' }, h('table', { class: 'table shown-at' },
        h('caption', { class: 'visually-hidden', text: 'What each channel showed then' }),
        h('thead', {}, h('tr', {}, ['Channel', 'Showing', 'Push', 'Pushed at'].map((c) => h('th', { scope: 'col', text: c })))),
        h('tbody', {}, channels.map((c) => h('tr', {},
          h('td', { 'data-label': 'Channel' }, h('div', { class: 'cell-stack' },
            h('a', { href: link('/brands', brand.id, 'channels', c.connection_id), text: c.connection }),
            h('span', { class: 'muted small', text: channelLabel(c.kind) }))),
          h('td', { 'data-label': 'Showing', class: 'num' }, c.showing === null || c.showing === undefined
            ? h('span', { class: 'muted', text: 'nothing pushed yet' }) : h('strong', { text: qty(c.showing) })),
          h('td', { 'data-label': 'Push' }, c.status ? pushBadge(c.status) : h('span', { class: 'muted', text: '—' })),
          h('td', { 'data-label': 'Pushed at' }, time(c.pushed_at, { seconds: true, empty: '—' }))))))));
}

/**
 * The timeline and the "at" picker for a SKU.  setAt(iso) keeps ?at= in the
 * address.  Resolves to the panels (the first page is fetched here, so a
 * failure shows in the panel rather than failing the SKU screen).
 */
export async function timelinePanels(brand, sku, { conns = [], at = '', setAt = () => {} }) {
  const base = `/api/v1/brands/${brand.id}/skus/${encodeURIComponent(sku.code)}/timeline`;
  const names = new Map(conns.map((c) => [c.id, c.name]));
  const table = pagedTable({
    caption: `Timeline of ${sku.code}, newest first`,
    empty: 'Nothing yet: no movement, push or drift of this SKU.',
    columns: [
      { label: 'When', render: (e) => time(e.at, { seconds: true }) },
      { label: 'What', render: (e) => h('span', { class: ['tl-type', TYPES[e.type]?.[1]], text: TYPES[e.type]?.[0] || e.type }) },
      { label: 'Channel', render: (e) => channelCell(brand, e.type === 'movement' ? e.channel_id : e.connection_id, names, e.type === 'movement' ? e.channel : e.connection) },
      { label: 'Details', render: (e) => details(e) },
    ],
    load: (cursor) => api.get(base, { cursor, limit: 25 }),
  });

  const result = h('div', { class: 'result-slot' });
  const form = createForm({
    label: 'What each channel showed at a moment',
    layout: 'inline',
    submitLabel: 'Show',
    fields: [{ name: 'at', label: 'Date and time', type: 'datetime-local', step: 1, required: true, value: at ? localSeconds(at) : '',
      hint: `In the brand\u2019s time zone (${brand.timezone}), to the second.` }],
    async onSubmit(v) {
      const iso = isoFromWall(v.at);
      if (!iso) {
        form.setError('at', 'Enter a date and a time');
        return;
      }
      await show(iso);
    },
  });
  async function show(iso) {
    result.replaceChildren(h('p', { class: 'muted', text: 'Looking it up…' }));
    try {
      const r = await api.get(base, { at: iso, limit: 1 });
      result.replaceChildren(shownAt(brand, r.shown_at));
      setAt(iso);
    } catch (err) {
      result.replaceChildren();
      throw err;
    }
  }
  if (at) {
    try {
      await show(at);
    } catch (err) {
      if (err.handled && err.status === 401) throw err;
      form.showError(err);
    }
  }
  return [
    panel({
      title: 'What did each channel show?',
      id: 'shown-at',
      description: 'Pick a moment: the last number each channel acknowledged (or, for a feed, accepted and was still applying) before then, and the balance it came from.',
    }, form.el, result),
    panel({
      title: 'Timeline',
      description: 'Movements, each push to each channel (sent, acknowledged or refused, round trip) and drift found by read-backs, newest first.',
    }, table.el),
  ];
}
