// alerts.js — #/brands/<id>/alerts: the brand's alerts (open by default,
// ?state=resolved|all, ?connection=) with "Resolve" for operators and up
// (an alert whose cause persists opens again), and drift: differences the
// read-backs found between what a channel shows and what onecount pushed,
// each explained in words with the action taken (?drift=open|healed|all).
// With no open alert it says every listing is in sync only when the sync
// status says so; otherwise how many listings wait, fail, or drifted.
import { api, getAll } from '../api.js';
import { h } from '../ui/dom.js';
import { qty } from '../ui/format.js';
import { notify } from '../ui/notice.js';
import { panel, rowButton, busy } from '../ui/page.js';
import { pagedTable } from '../ui/table.js';
import { link, rememberQuery } from '../router.js';
import { canInventory } from '../session.js';
import { brandFrame } from './brand-frame.js';
import { connectionFilterOptions } from './channel-kinds.js';
import { skuLink } from './inventory.js';
import { ago } from './sync-card.js';
import { ALERTS, DRIFT, DRIFT_ACTIONS, alertLabel, driftLabel, notInSync } from './sync-words.js';

const ALERT_STATES = [
  { value: 'open', label: 'Open' },
  { value: 'resolved', label: 'Resolved' },
  { value: 'all', label: 'All' },
];
const DRIFT_STATES = [
  { value: 'all', label: 'All' },
  { value: 'open', label: 'Not healed' },
  { value: 'healed', label: 'Healed' },
];

function select(label, options, value, onChange) {
  const el = h('select', { class: 'select-compact', 'aria-label': label },
    options.map((o) => h('option', { value: o.value, text: o.label, selected: o.value === value })));
  el.addEventListener('change', () => onChange(el.value));
  return el;
}

function connCell(brand, id, name) {
  if (!id) return h('span', { class: 'muted', text: 'the brand' });
  return h('a', { href: link('/brands', brand.id, 'channels', id), text: name || 'a connection' });
}

export async function render(ctx) {
  const { brand, body } = await brandFrame(ctx, 'alerts', 'Alerts and drift');
  const base = `/api/v1/brands/${brand.id}`;
  const may = canInventory(brand.your_role);
  const pick = (v, list, dflt) => (list.some((s) => s.value === v) ? v : dflt);
  const f = {
    state: pick(ctx.query.get('state'), ALERT_STATES, 'open'),
    drift: pick(ctx.query.get('drift'), DRIFT_STATES, 'all'),
    connection: ctx.query.get('connection') || '',
  };
  const alertQuery = (cursor) => ({ state: f.state, connection: f.connection || null, cursor });
  const driftQuery = (cursor) => ({ state: f.drift, connection: f.connection || null, cursor });
  // The sync status behind "no open alerts": null when it could not be read (then nothing is claimed).
  let sync = null;
  const loadSync = () => api.get(`${base}/sync`).then((s) => { sync = s; }, () => { sync = null; });
  const [firstAlerts, firstDrift, conns] = await Promise.all([
    api.get(`${base}/alerts`, alertQuery(null)), api.get(`${base}/drift`, driftQuery(null)), getAll(`${base}/connections`),
    loadSync()]);
  function noOpenAlerts() {
    if (!sync) return 'No open alerts.';
    const scope = f.connection ? sync.connections.find((c) => c.connection_id === f.connection) : sync;
    if (!scope) return 'No open alerts.';
    const words = notInSync(scope);
    if (words) return `No open alerts, but ${words}.`;
    return f.connection ? 'No open alerts. Every listing of this connection is in sync.' : 'No open alerts. Every listing is in sync.';
  }

  const here = link('/brands', brand.id, 'alerts');
  // A filter of the screen: the address remembers it (the defaults left out) and `tables` load again.
  const filterSelect = (label, options, name, ...tables) => select(label, options, f[name], (v) => {
    f[name] = v;
    rememberQuery(here, { state: f.state === 'open' ? '' : f.state, drift: f.drift === 'all' ? '' : f.drift, connection: f.connection });
    for (const t of tables) t.reload();
  });

  // --- alerts ------------------------------------------------------------------------------
  const alerts = pagedTable({
    caption: 'Alerts, newest first',
    empty: () => (f.state === 'open' ? noOpenAlerts() : 'No alerts.'),
    rowClass: (a) => (a.resolved_at ? 'row-muted' : null),
    columns: [
      { label: 'Opened', render: (a) => ago(a.opened_at) },
      { label: 'Connection', render: (a) => connCell(brand, a.connection_id, a.connection) },
      { label: 'Alert', render: (a) => h('div', { class: 'cell-stack' },
        h('strong', { text: alertLabel(a.kind) }), h('span', { text: a.message }),
        ALERTS[a.kind] ? h('span', { class: 'muted small', text: ALERTS[a.kind].text }) : null) },
      { label: 'State', render: (a) => (a.resolved_at
        ? h('div', { class: 'cell-stack' }, h('span', { class: 'badge badge-ok', text: 'Resolved' }), ago(a.resolved_at))
        : h('span', { class: 'badge badge-danger', text: 'Open' })) },
      { label: 'Actions', class: 'actions', render: (a, tbl) => (may && !a.resolved_at
        ? rowButton('Resolve', (ev) => busy(ev.currentTarget, async () => {
          try {
            const done = await api.post(`${base}/alerts/${encodeURIComponent(a.id)}/resolve`, {});
            notify(`Alert resolved: ${alertLabel(a.kind)}. It opens again if the cause is still there`);
            if (f.state === 'open') tbl.remove(a);
            else tbl.update({ ...a, ...done, connection: a.connection, connection_id: a.connection_id });
          } catch (err) {
            if (!err.handled) notify(err.message, { kind: 'error' });
          }
        }), { ariaLabel: `Resolve the alert: ${alertLabel(a.kind)}${a.connection ? ` on ${a.connection}` : ''}` })
        : null) },
    ],
    first: firstAlerts,
    // A first page reads the sync status again too, so "no open alerts" speaks of now.
    load: async (cursor) => (await Promise.all([api.get(`${base}/alerts`, alertQuery(cursor)), cursor ? null : loadSync()]))[0],
  });

  // --- drift ------------------------------------------------------------------------------
  const drift = pagedTable({
    caption: 'Drift found by read-backs, newest first',
    empty: () => (f.drift === 'open' ? 'No drift waiting to heal.' : 'No drift found: every channel showed what onecount pushed.'),
    rowClass: (d) => (d.healed_at ? 'row-muted' : null),
    columns: [
      { label: 'Found', render: (d) => ago(d.detected_at) },
      { label: 'SKU', render: (d) => skuLink(brand.id, d.sku) },
      { label: 'Connection', render: (d) => connCell(brand, d.connection_id, d.connection) },
      { label: 'Numbers', render: (d) => h('dl', { class: 'mini-details' },
        h('dt', { text: 'Channel showed' }), h('dd', { text: d.seen_qty === null ? 'nothing (unknown listing)' : qty(d.seen_qty) }),
        h('dt', { text: 'onecount pushed' }), h('dd', { text: qty(d.pushed_qty) }),
        h('dt', { text: 'onecount wants' }), h('dd', { text: qty(d.desired_qty) })) },
      { label: 'What happened', render: (d) => h('div', { class: 'cell-stack drift-what' },
        h('strong', { text: driftLabel(d.classification) }),
        h('span', { class: 'small', text: DRIFT[d.classification]?.text || '' }),
        d.detail ? h('span', { class: 'muted small', text: d.detail }) : null,
        h('span', { class: 'small' }, h('span', { class: 'muted', text: 'Action taken: ' }), DRIFT_ACTIONS[d.action] || d.action)) },
      { label: 'State', render: (d) => (d.healed_at
        ? h('div', { class: 'cell-stack' }, h('span', { class: 'badge badge-ok', text: 'Healed' }), ago(d.healed_at))
        : h('span', { class: 'badge badge-warn', text: 'Not healed' })) },
    ],
    first: firstDrift,
    load: (cursor) => api.get(`${base}/drift`, driftQuery(cursor)),
  });

  const connSelect = filterSelect('Connection', connectionFilterOptions(conns), 'connection', alerts, drift);
  body.append(
    h('div', { class: 'filter-row' }, h('span', { class: 'muted small', text: 'Show:' }), connSelect),
    panel({
      title: 'Alerts',
      description: 'Problems that need a person, or that onecount is working through: failing pushes, listings that have not reached their channel for too long, order lines with no listing, listings a channel does not know, credentials that stopped working.',
      actions: filterSelect('Show alerts', ALERT_STATES, 'state', alerts),
    }, alerts.el),
    panel({
      title: 'Drift',
      id: 'drift',
      description: 'Each time a channel is read back, a number that differs from what onecount pushed is explained and healed.',
      actions: filterSelect('Show drift', DRIFT_STATES, 'drift', drift),
    }, drift.el));
}
