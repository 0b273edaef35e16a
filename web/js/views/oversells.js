// oversells.js — #/brands/<id>/oversells: oversell incidents (a sale
// recorded past zero: sold on a channel that did not ask first), open ones
// by default (?state=resolved|all); operators and up resolve them with a
// resolution and a note.
import { api } from '../api.js';
import { h } from '../ui/dom.js';
import { createForm } from '../ui/form.js';
import { qty, statusBadge, time } from '../ui/format.js';
import { notify } from '../ui/notice.js';
import { panel, rowButton } from '../ui/page.js';
import { pagedTable } from '../ui/table.js';
import { link } from '../router.js';
import { canInventory } from '../session.js';
import { brandFrame } from './brand-frame.js';
import { skuLink } from './inventory.js';

export const RESOLUTIONS = [
  { value: 'cancelled_order', label: 'Order cancelled' },
  { value: 'restocked', label: 'Restocked' },
  { value: 'fulfilled_elsewhere', label: 'Fulfilled elsewhere' },
  { value: 'written_off', label: 'Written off' },
];
const resolutionLabel = (r) => RESOLUTIONS.find((x) => x.value === r)?.label || r;

const STATES = [
  { value: 'open', label: 'Open' },
  { value: 'resolved', label: 'Resolved' },
  { value: 'all', label: 'All' },
];

export async function render(ctx) {
  const { brand, body } = await brandFrame(ctx, 'oversells', 'Oversells');
  const base = `/api/v1/brands/${brand.id}/oversells`;
  const may = canInventory(brand.your_role);
  let state = STATES.some((s) => s.value === ctx.query.get('state')) ? ctx.query.get('state') : 'open';
  const first = await api.get(base, { state }); // a 403 or 404 fails the screen

  // One resolve form, shown under the table for the incident being resolved.
  let current = null;
  const resolveTitle = h('h3', { id: 'resolve-title' });
  const resolveForm = createForm({
    label: 'Resolve the incident',
    layout: 'inline',
    submitLabel: 'Resolve incident',
    fields: [
      { name: 'resolution', label: 'Resolution', type: 'select', required: true, value: '',
        options: [{ value: '', label: 'Choose how it was settled' }, ...RESOLUTIONS] },
      { name: 'note', label: 'Note', maxlength: 1000, placeholder: 'e.g. customer refunded, order 1042' },
    ],
    secondary: h('button', { type: 'button', class: 'button', text: 'Cancel', onclick: () => closeResolve() }),
    async onSubmit(v) {
      const body2 = { resolution: v.resolution };
      if (v.note) body2.note = v.note;
      const o = await api.post(`${base}/${encodeURIComponent(current.id)}/resolve`, body2);
      notify(`Oversell of ${o.sku} resolved: ${resolutionLabel(o.resolution)}`);
      if (state === 'open') table.remove(o);
      else table.update(o);
      closeResolve(false);
    },
  });
  const resolveBox = h('section', { class: 'subpanel', 'aria-labelledby': 'resolve-title', hidden: true }, resolveTitle, resolveForm.el);
  let opener = null;
  function openResolve(o, button) {
    current = o;
    opener = button;
    resolveForm.reset();
    resolveTitle.textContent = `Resolve: ${o.sku} short by ${o.qty_short}`;
    resolveBox.hidden = false;
    resolveForm.control('resolution').focus();
  }
  function closeResolve(refocus = true) {
    resolveBox.hidden = true;
    current = null;
    if (refocus && opener && opener.isConnected) opener.focus();
  }

  const table = pagedTable({
    caption: 'Oversell incidents, newest first',
    empty: () => (state === 'open' ? 'No open oversells.' : 'No oversells.'),
    rowClass: (o) => (o.state === 'resolved' ? 'row-muted' : null),
    columns: [
      { label: 'When', render: (o) => time(o.created_at) },
      { label: 'SKU', render: (o) => skuLink(brand.id, o.sku) },
      { label: 'Short by', class: 'num', render: (o) => h('span', { class: 'strong', text: qty(o.qty_short) }) },
      { label: 'Reference', render: (o) => o.reference || h('span', { class: 'muted', text: '—' }) },
      { label: 'Channel', render: (o) => (o.channel_id
        ? h('a', { href: link('/brands', brand.id, 'channels', o.channel_id), text: o.channel || 'a removed connection' })
        : h('span', { class: 'muted', text: 'recorded here' })) },
      { label: 'State', render: (o) => h('div', { class: 'cell-stack' }, statusBadge(o.state),
        o.resolution ? h('span', { class: 'small', text: resolutionLabel(o.resolution) }) : null,
        o.note ? h('span', { class: 'muted small', text: o.note }) : null,
        o.resolved_at ? time(o.resolved_at) : null) },
      { label: 'Actions', class: 'actions', render: (o) => (may && o.state === 'open'
        ? rowButton('Resolve', (ev) => openResolve(o, ev.currentTarget), { ariaLabel: `Resolve the oversell of ${o.sku}` })
        : null) },
    ],
    first,
    load: (cursor) => api.get(base, { state, cursor }),
  });

  const here = link('/brands', brand.id, 'oversells');
  const stateSelect = h('select', { class: 'select-compact', 'aria-label': 'Show incidents' },
    STATES.map((s) => h('option', { value: s.value, text: s.label, selected: s.value === state })));
  stateSelect.addEventListener('change', () => {
    state = stateSelect.value;
    history.replaceState(null, '', state === 'open' ? here : `${here}?state=${state}`);
    closeResolve(false);
    table.reload();
  });

  body.append(panel({
    title: 'Oversell incidents',
    description: 'A sale recorded past zero (it happened on a channel before the count reached it) opens an incident here; nothing goes silently negative.',
    actions: stateSelect,
  }, table.el, resolveBox));
}
