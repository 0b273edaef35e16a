// holds.js — #/brands/<id>/holds: short-lived holds on units (a checkout
// that asked first), active ones by default (?state=confirmed|released|
// expired|all), with when each expires.  Operators and up confirm a hold
// (it becomes a sale) or release it.  ?created=<id> shows a hold just made
// even before the list has it (holds reach the list a moment later).
import { api, REPLAYED } from '../api.js';
import { h } from '../ui/dom.js';
import { fromNow, qty, statusBadge, time } from '../ui/format.js';
import { notify } from '../ui/notice.js';
import { panel, rowButton, busy } from '../ui/page.js';
import { pagedTable } from '../ui/table.js';
import { link } from '../router.js';
import { canInventory } from '../session.js';
import { brandFrame } from './brand-frame.js';
import { skuLink } from './inventory.js';

const STATES = [
  { value: 'active', label: 'Active' },
  { value: 'confirmed', label: 'Confirmed' },
  { value: 'released', label: 'Released' },
  { value: 'expired', label: 'Expired' },
  { value: 'all', label: 'All' },
];

/** When the hold ends: a time, and "in 4 minutes" while it runs. */
function expiryCell(hd) {
  const running = hd.state === 'active' && new Date(hd.expires_at).getTime() > Date.now();
  return h('div', { class: 'cell-stack' }, time(hd.expires_at, { seconds: true }),
    running ? h('span', { class: 'muted small expires-in', dataset: { expires: hd.expires_at }, text: `expires ${fromNow(hd.expires_at)}` }) : null);
}

function stateCell(hd) {
  const lapsed = hd.state === 'active' && new Date(hd.expires_at).getTime() <= Date.now();
  return h('div', { class: 'cell-stack' }, lapsed ? statusBadge('expired') : statusBadge(hd.state),
    hd.ended_at ? time(hd.ended_at) : null);
}

export async function render(ctx) {
  const { brand, body } = await brandFrame(ctx, 'holds', 'Holds');
  const base = `/api/v1/brands/${brand.id}/holds`;
  const may = canInventory(brand.your_role);
  let state = STATES.some((s) => s.value === ctx.query.get('state')) ? ctx.query.get('state') : 'active';
  const first = await api.get(base, { state }); // a 403 or 404 fails the screen
  const created = ctx.query.get('created');
  if (created && !first.items.some((x) => x.id === created)) {
    try {
      const hd = await api.get(`${base}/${encodeURIComponent(created)}`);
      if (state === 'all' || hd.state === state) first.items.unshift(hd);
    } catch {
      // not there (another brand's id, a typo): the list stays as the server has it
    }
  }

  async function confirmHold(hd, button, tbl) {
    await busy(button, async () => {
      let res;
      try {
        // One key per hold: confirming the same hold again can only replay the first confirmation.
        res = await api.post(`${base}/${hd.id}/confirm`, {}, { idempotencyKey: `confirm-${hd.id}` });
      } catch (err) {
        if (!err.handled) notify(err.message, { kind: 'error' });
        if (err.status === 409) refreshRow(hd, tbl);
        return;
      }
      const lines = hd.lines.map((l) => `${qty(l.qty)} × ${l.sku}`).join(', ');
      await refreshRow({ ...hd, state: 'confirmed', ended_at: new Date().toISOString() }, tbl);
      notify(res[REPLAYED] ? `This hold was already confirmed (sold ${lines})` : `Hold confirmed: sold ${lines}`);
    });
  }

  async function releaseHold(hd, button, tbl) {
    await busy(button, async () => {
      let res;
      try {
        res = await api.post(`${base}/${hd.id}/release`, {});
      } catch (err) {
        if (!err.handled) notify(err.message, { kind: 'error' });
        return;
      }
      await refreshRow(res, tbl);
      notify(res.state === 'released' ? 'Hold released; its units are available again' : `This hold had already ended (${res.state})`);
    });
  }

  /** Shows a hold's current state: gone from the list when it left the shown state. */
  async function refreshRow(fallback, tbl) {
    let hd = fallback;
    try {
      hd = await api.get(`${base}/${fallback.id}`);
    } catch {
      // keep what we know
    }
    if (state !== 'all' && hd.state !== state) tbl.remove(hd);
    else tbl.update(hd);
  }

  const table = pagedTable({
    caption: 'Holds, newest first',
    empty: () => (state === 'active' ? 'No active holds.' : 'No holds here.'),
    rowClass: (hd) => (hd.state === 'active' ? null : 'row-muted'),
    columns: [
      { label: 'Created', render: (hd) => time(hd.created_at, { seconds: true }) },
      { label: 'Lines', render: (hd) => h('ul', { class: 'chips' }, (hd.lines || []).map((l) => h('li', {}, skuLink(brand.id, l.sku, { strong: false }), ` × ${qty(l.qty)}`))) },
      { label: 'Reference', render: (hd) => hd.reference || h('span', { class: 'muted', text: '—' }) },
      { label: 'State', render: stateCell },
      { label: 'Expires', render: expiryCell },
      { label: 'Actions', class: 'actions', render: (hd, tbl) => (may && hd.state === 'active' && new Date(hd.expires_at).getTime() > Date.now()
        ? h('div', { class: 'inline-control' },
          rowButton('Confirm sale', (ev) => confirmHold(hd, ev.currentTarget, tbl), { ariaLabel: `Confirm hold ${hd.reference || hd.id} as a sale` }),
          rowButton('Release', (ev) => releaseHold(hd, ev.currentTarget, tbl), { danger: true, ariaLabel: `Release hold ${hd.reference || hd.id}` }))
        : null) },
    ],
    first,
    load: (cursor) => api.get(base, { state, cursor }),
  });

  // "expires in …" follows the clock while the screen is open.
  const tick = setInterval(() => {
    if (!table.el.isConnected) {
      clearInterval(tick);
      return;
    }
    for (const el of table.el.querySelectorAll('[data-expires]')) {
      const left = new Date(el.dataset.expires).getTime() - Date.now();
      el.textContent = left > 0 ? `expires ${fromNow(el.dataset.expires)}` : 'expired';
    }
  }, 5000);

  const here = link('/brands', brand.id, 'holds');
  const stateSelect = h('select', { class: 'select-compact', 'aria-label': 'Show holds' },
    STATES.map((s) => h('option', { value: s.value, text: s.label, selected: s.value === state })));
  stateSelect.addEventListener('change', () => {
    state = stateSelect.value;
    history.replaceState(null, '', state === 'active' ? here : `${here}?state=${state}`);
    table.reload();
  });
  const newHold = may ? h('a', { class: 'button button-primary', href: link('/brands', brand.id, 'holds', 'new'), text: 'New hold' }) : null;

  body.append(panel({
    title: 'Holds',
    description: 'A hold sets units aside for a few minutes (a checkout in progress): they are not available to anyone else until it is confirmed as a sale, released, or expires.',
    actions: [stateSelect, newHold],
  }, table.el));
}
