// sync-card.js — one connection's sync health, drawn so that it can be
// refreshed in place: the circuit, the push queue, the listings whose last
// push failed and how long the oldest has waited without a push getting
// through, the last successful push, latency, 429s, lags, parked order lines, open
// alerts (resolve: inventory), and the connection's routines with "Run now"
// (inventory) and their schedule (channels).  Used by the sync screen (one
// card per connection) and the connection screen (its own health).
//
// A refresh replaces figures and texts but keeps every button and the open
// edit form, so the focus of a keyboard user survives the auto-refresh.
import { api } from '../api.js';
import { h, replace, uid } from '../ui/dom.js';
import { createForm } from '../ui/form.js';
import { duration, fromNow, plural, qty, statusBadge } from '../ui/format.js';
import { notify } from '../ui/notice.js';
import { busy } from '../ui/page.js';
import { link } from '../router.js';
import { canChannels, canInventory } from '../session.js';
import { kindLabel } from './channel-kinds.js';
import { cadenceText } from './sop-words.js';
import { ALERTS, CIRCUITS, ROUTINES, alertLabel, circuitBadge, every, lagText, ms, routineDetail, routineLabel } from './sync-words.js';

/** A relative time ("2 minutes ago") with the instant on hover, or a muted word. */
export function ago(iso, empty = 'never') {
  if (!iso) return h('span', { class: 'muted', text: empty });
  const d = new Date(iso);
  return h('time', { datetime: d.toISOString(), title: d.toLocaleString(), text: fromNow(iso) });
}

function stat(label, value, { warn = false, key = null } = {}) {
  return h('div', { class: ['stat', warn ? 'stat-warn' : null], dataset: key ? { stat: key } : undefined },
    h('dt', { text: label }), h('dd', {}, value));
}

/** The figures of a health record (GET …/sync connections[], …/health). */
export function healthStats(brand, c) {
  const waiting = Number(c.queue_depth) || 0;
  const failures = Number(c.consecutive_failures) || 0;
  return h('dl', { class: 'stats' },
    stat('Waiting to push', `${qty(waiting)} of ${plural(Number(c.listings) || 0, 'listing')}`, { warn: waiting > 0, key: 'queue' }),
    stat('Oldest waiting', c.oldest_dirty_seconds === null || c.oldest_dirty_seconds === undefined
      ? h('span', { class: 'muted', text: 'nothing waiting' })
      : duration(Number(c.oldest_dirty_seconds)), { warn: Number(c.oldest_dirty_seconds) > 60, key: 'oldest' }),
    stat('Last successful push', ago(c.last_push_ok_at), { key: 'last-ok' }),
    stat('Push latency', ms(c.push_latency_ms), { key: 'latency' }),
    stat('Throttled (429)', `${qty(c.throttled_total)} of ${plural(Number(c.pushes_total) || 0, 'push', 'pushes')}`,
      { warn: Number(c.throttled_total) > 0, key: 'throttled' }),
    stat('Push lag', lagText(c.push_lag, c.push_lag_ms), { key: 'push-lag' }),
    stat('Order lag', ms(c.ingest_lag_ms), { key: 'ingest-lag' }),
    stat('Unmapped order lines', Number(c.unmapped_lines) > 0
      ? h('a', { href: `${link('/brands', brand.id, 'orders')}?show=unmapped`, text: qty(c.unmapped_lines) })
      : '0', { warn: Number(c.unmapped_lines) > 0, key: 'unmapped' }),
    Number(c.failing) > 0 ? stat('Listings failing', `${qty(c.failing)} (their last push failed)`, { warn: true, key: 'failing' }) : null,
    failures > 0 ? stat('Failed pushes in a row', qty(failures), { warn: true, key: 'failures' }) : null);
}

/**
 * The routines of one connection (or the brand-wide ones) as a table with
 * a shared edit form: {el, update(routines)}.  onChanged() after an action
 * (the owner refreshes).
 */
export function routineTable(brand, { caption, onChanged = () => {} }) {
  const mayRun = canInventory(brand.your_role);
  const mayEdit = canChannels(brand.your_role);
  const tbody = h('tbody');
  const empty = h('p', { class: 'muted', text: 'No routines.', hidden: true });
  const cols = ['Routine', 'Schedule', 'Next run', 'Last run', mayRun || mayEdit ? 'Actions' : null].filter(Boolean);
  const table = h('div', { class: 'table-wrap' }, h('table', { class: 'table routines' },
    h('caption', { class: 'visually-hidden', text: caption }),
    h('thead', {}, h('tr', {}, cols.map((c) => h('th', { scope: 'col', class: c === 'Actions' ? 'actions' : null, text: c })))),
    tbody));
  const rows = new Map(); // routine id → {tr, cells, routine}

  // --- the edit form: one per table, for the routine being edited ---------------------
  let editing = null;
  let opener = null;
  const editTitle = h('h3', { id: uid('routine-edit') });
  const form = mayEdit ? createForm({
    label: 'Edit the routine',
    layout: 'inline',
    submitLabel: 'Save routine',
    fields: [
      { name: 'interval_seconds', label: 'Interval (seconds)', type: 'number', required: true, min: 10, max: 604800, step: 1, inputmode: 'numeric',
        hintFor: (v) => (/^\d+$/.test(v) ? `Runs ${every(Number(v))}. From 10 seconds to 7 days (604800).` : 'From 10 seconds to 7 days (604800).') },
      { name: 'enabled', label: 'Enabled', type: 'checkbox' },
    ],
    secondary: h('button', { type: 'button', class: 'button', text: 'Cancel', onclick: () => closeEdit() }),
    async onSubmit(v) {
      const r = editing;
      const patch = {};
      const iv = /^-?\d+$/.test(v.interval_seconds) ? Number(v.interval_seconds) : v.interval_seconds;
      if (iv !== r.interval_seconds) patch.interval_seconds = iv;
      if (v.enabled !== r.enabled) patch.enabled = v.enabled;
      if (Object.keys(patch).length === 0) {
        notify('Nothing to save', { kind: 'info' });
        return;
      }
      const saved = await api.patch(`/api/v1/brands/${brand.id}/routines/${encodeURIComponent(r.id)}`, patch);
      notify(`${routineLabel(saved.kind)}${saved.connection ? ` of ${saved.connection}` : ''} now runs ${saved.enabled ? every(saved.interval_seconds) : 'never (turned off)'}`);
      const row = rows.get(saved.id);
      if (row) fill(row, { ...row.routine, ...saved });
      closeEdit();
      onChanged();
    },
  }) : null;
  const editBox = form ? h('section', { class: 'subpanel', 'aria-labelledby': editTitle.id, hidden: true }, editTitle, form.el) : null;

  function openEdit(r, button) {
    editing = r;
    opener = button;
    form.reset();
    form.set('interval_seconds', String(r.interval_seconds ?? ''));
    form.set('enabled', r.enabled);
    editTitle.textContent = `${routineLabel(r.kind)}${r.connection ? ` of ${r.connection}` : ''}: schedule`;
    editBox.hidden = false;
    form.control('interval_seconds').focus();
  }
  function closeEdit(refocus = true) {
    if (!editBox) return;
    editBox.hidden = true;
    editing = null;
    if (refocus && opener && opener.isConnected) opener.focus();
  }

  function nextRun(r) {
    if (r.running) return h('span', { class: 'badge badge-warn', text: 'Running now' });
    if (!r.enabled) return h('span', { class: 'muted', text: 'off' });
    if (new Date(r.next_run_at).getTime() <= Date.now()) return h('span', { text: 'due now' });
    return ago(r.next_run_at);
  }

  function lastRun(r) {
    if (!r.last_finished_at) return h('span', { class: 'muted', text: r.running ? 'first run in progress' : 'not run yet' });
    const words = routineDetail(r.kind, r.last_detail);
    return h('div', { class: 'cell-stack' },
      h('span', { class: 'inline-control' },
        r.last_status === 'error' ? h('span', { class: 'badge badge-danger', text: 'Failed' }) : h('span', { class: 'badge badge-ok', text: 'OK' }),
        ago(r.last_finished_at)),
      words ? h('span', { class: ['small', r.last_status === 'error' ? 'error-text' : 'muted'], text: words }) : null);
  }

  function actions(r) {
    const name = `${routineLabel(r.kind)}${r.connection ? ` of ${r.connection}` : ''}`;
    const run = mayRun ? h('button', { type: 'button', class: 'button button-small', text: 'Run now', 'aria-label': `Run ${name} now` }) : null;
    if (run) {
      run.addEventListener('click', () => busy(run, async () => {
        try {
          const res = await api.post(`/api/v1/brands/${brand.id}/routines/${encodeURIComponent(r.id)}/run`, {});
          notify(`${name} will run as soon as a worker is free`);
          const row = rows.get(res.id);
          if (row) fill(row, { ...row.routine, ...res });
          onChanged();
        } catch (err) {
          if (!err.handled) notify(err.message, { kind: 'error' });
        }
      }));
    }
    const edit = mayEdit ? h('button', { type: 'button', class: 'button button-small', text: 'Edit…', 'aria-label': `Edit the schedule of ${name}` }) : null;
    if (edit) edit.addEventListener('click', () => openEdit(rows.get(r.id).routine, edit));
    return h('div', { class: 'inline-control' }, run, edit);
  }

  function fill(row, r) {
    row.routine = r;
    const [what, sched, next, last] = row.cells;
    what.replaceChildren(h('div', { class: 'cell-stack' },
      h('span', { class: 'inline-control' }, h('strong', { text: r.kind === 'checklist' && r.title ? r.title : routineLabel(r.kind) }),
        r.enabled ? null : h('span', { class: 'badge badge-muted', text: 'Off' })),
      h('span', { class: 'muted small', text: ROUTINES[r.kind]?.text || '' })));
    sched.replaceChildren(r.enabled ? cadenceText(r) : h('span', { class: 'muted', text: `off (was ${cadenceText(r)})` }));
    next.replaceChildren(nextRun(r));
    last.replaceChildren(lastRun(r));
  }

  function update(routines) {
    const seen = new Set();
    for (const r of routines) {
      seen.add(r.id);
      let row = rows.get(r.id);
      if (!row) {
        const cells = ['Routine', 'Schedule', 'Next run', 'Last run'].map((label) => h('td', { 'data-label': label }));
        const tr = h('tr', { dataset: { routine: r.kind } }, cells,
          mayRun || mayEdit ? h('td', { class: 'actions', 'data-label': 'Actions' }, actions(r)) : null);
        row = { tr, cells, routine: r };
        rows.set(r.id, row);
      }
      fill(row, r);
      tbody.append(row.tr); // keeps the server's order; moving a node keeps its focus
    }
    for (const [id, row] of rows) {
      if (!seen.has(id)) {
        row.tr.remove();
        rows.delete(id);
        if (editing && editing.id === id) closeEdit(false);
      }
    }
    empty.hidden = routines.length > 0;
    table.hidden = routines.length === 0;
  }

  return { el: h('div', { class: 'routines-block' }, table, empty, editBox), update };
}

/**
 * A connection's health as a card: {el, update(health, routines)}; routines
 * are the health's own (shown as GET …/routines shows them: which is running).
 * title: the heading (default: the connection's name, linked to it).
 */
export function connectionCard(brand, first, firstRoutines, { title = null, onChanged = () => {} } = {}) {
  const headingId = uid('conn');
  const heading = h('h2', { id: headingId });
  const meta = h('div', { class: 'inline-control' });
  const circuitText = h('p', { class: 'circuit-text' });
  const statsSlot = h('div', {});
  const lastError = h('p', { class: 'last-error small', hidden: true });
  const alertList = h('ul', { class: 'alert-list' });
  const alertsBox = h('div', { class: 'card-alerts', hidden: true }, h('h3', { class: 'subheading', text: 'Open alerts' }), alertList);
  const alertItems = new Map();
  const mayResolve = canInventory(brand.your_role);
  const routines = routineTable(brand, { caption: `Routines of ${first.name}`, onChanged });
  const el = h('section', { class: 'panel sync-card', 'aria-labelledby': headingId, dataset: { connection: first.connection_id } },
    h('div', { class: 'panel-header' }, h('div', {}, heading, meta)),
    circuitText, statsSlot, lastError, alertsBox,
    h('h3', { class: 'subheading', text: 'Routines' }), routines.el);

  function alertItem(a) {
    const info = h('div', { class: 'cell-stack' });
    let resolve = null;
    if (mayResolve) {
      resolve = h('button', { type: 'button', class: 'button button-small', text: 'Resolve', 'aria-label': `Resolve the alert: ${alertLabel(a.kind)}` });
      resolve.addEventListener('click', () => busy(resolve, async () => {
        try {
          await api.post(`/api/v1/brands/${brand.id}/alerts/${encodeURIComponent(a.id)}/resolve`, {});
          notify(`Alert resolved: ${alertLabel(a.kind)}. It opens again if the cause is still there`);
          const li = alertItems.get(a.id);
          if (li) li.el.remove();
          alertItems.delete(a.id);
          alertsBox.hidden = alertItems.size === 0;
          onChanged();
        } catch (err) {
          if (!err.handled) notify(err.message, { kind: 'error' });
        }
      }));
    }
    return { el: h('li', { class: 'alert-item', dataset: { kind: a.kind } }, info, resolve), info };
  }

  function update(c, list) {
    heading.replaceChildren(title || h('a', { href: link('/brands', brand.id, 'channels', c.connection_id), text: c.name }));
    replace(meta,
      title ? h('span', { text: c.name }) : null,
      h('span', { class: 'muted', text: kindLabel(c.kind) }),
      circuitBadge(c.circuit),
      c.status !== 'active' ? statusBadge(c.status) : null);
    const paused = c.status === 'paused';
    circuitText.textContent = paused ? 'Paused: nothing is pushed to this channel and its routines wait until it is resumed.'
      : c.circuit === 'closed' ? '' : CIRCUITS[c.circuit]?.text || '';
    circuitText.hidden = !circuitText.textContent;
    circuitText.className = ['circuit-text', c.circuit !== 'closed' ? `circuit-text-${c.circuit}` : null].filter(Boolean).join(' ');
    statsSlot.replaceChildren(healthStats(brand, c));
    // The last error, while no push has succeeded since.
    const failing = c.last_error && (!c.last_push_ok_at || new Date(c.last_error_at) >= new Date(c.last_push_ok_at));
    lastError.hidden = !failing;
    lastError.replaceChildren(...(failing ? [h('strong', { text: 'Last push error: ' }), c.last_error, ' (', ago(c.last_error_at), ')'] : []));
    el.classList.toggle('sync-card-open', c.circuit === 'open');
    el.classList.toggle('sync-card-half', c.circuit === 'half_open');

    const seen = new Set();
    for (const a of c.open_alerts || []) {
      seen.add(a.id);
      let item = alertItems.get(a.id);
      if (!item) {
        item = alertItem(a);
        alertItems.set(a.id, item);
      }
      replace(item.info,
        h('span', { class: 'inline-control' }, h('strong', { text: alertLabel(a.kind) }), h('span', { class: 'muted small' }, 'opened ', ago(a.opened_at))),
        h('span', { class: 'small', text: a.message }),
        ALERTS[a.kind] ? h('span', { class: 'muted small', text: ALERTS[a.kind].text }) : null);
      alertList.append(item.el);
    }
    for (const [id, item] of alertItems) {
      if (!seen.has(id)) {
        item.el.remove();
        alertItems.delete(id);
      }
    }
    alertsBox.hidden = alertItems.size === 0;
    routines.update(list);
  }

  update(first, firstRoutines);
  return { el, update };
}
