// stock.js — #/brands/<id>/stock: the brand's movements, newest first,
// filtered by kind, SKU and time (kept in the address: ?kind=&sku=&from=&to=)
// with "Load more"; and the ledger check: every movement replayed and
// compared with the stored balances.  Operators and up record movements.
import { api } from '../api.js';
import { h, sentence } from '../ui/dom.js';
import { createForm } from '../ui/form.js';
import { plural } from '../ui/format.js';
import { panel } from '../ui/page.js';
import { pagedTable } from '../ui/table.js';
import { link, rememberQuery } from '../router.js';
import { canInventory } from '../session.js';
import { peopleDirectory } from '../directory.js';
import { brandFrame } from './brand-frame.js';
import { MOVEMENT_KINDS, isoFromLocal, localFromIso, movementColumns, movementKey, skuCodes, skuLink } from './inventory.js';

/** The ledger check's answer: all balances explained by their movements, or which are not. */
function verifyResult(r, brandId) {
  const mismatches = r.mismatches || [];
  if (mismatches.length === 0) {
    return h('p', { class: 'verify-ok', role: 'status' },
      h('span', { class: 'badge badge-ok', text: 'Consistent' }), ' ',
      `Every balance matches its history: ${plural(r.skus_checked, 'SKU')} checked, ${plural(r.movements_replayed, 'movement')} replayed.`);
  }
  const fig = (o, k) => (o && o[k] !== undefined ? String(o[k]) : '—');
  return h('div', { role: 'alert' },
    h('p', {}, h('span', { class: 'badge badge-danger', text: 'Mismatch' }), ' ',
      `${plural(mismatches.length, 'SKU')} of ${r.skus_checked} do not match their history (${plural(r.movements_replayed, 'movement')} replayed).`),
    h('div', { class: 'table-wrap' }, h('table', { class: 'table' },
      h('caption', { class: 'visually-hidden', text: 'Ledger mismatches' }),
      h('thead', {}, h('tr', {}, ['SKU', 'Stored on hand / committed / held', 'Replayed on hand / committed / held'].map((c) => h('th', { scope: 'col', text: c })))),
      h('tbody', {}, mismatches.map((m) => h('tr', {},
        h('td', { 'data-label': 'SKU' }, skuLink(brandId, m.sku)),
        h('td', { 'data-label': 'Stored' }, ['on_hand', 'committed', 'held'].map((k) => fig(m.stored, k)).join(' / ')),
        h('td', { 'data-label': 'Replayed' }, ['on_hand', 'committed', 'held'].map((k) => fig(m.replayed, k)).join(' / '))))))));
}

function ledgerPanel(brand) {
  const out = h('div', { class: 'verify-result', 'aria-live': 'polite' });
  const button = h('button', { type: 'button', class: 'button button-small', text: 'Verify again' });
  async function run() {
    button.disabled = true;
    out.setAttribute('aria-busy', 'true');
    out.replaceChildren(h('p', { class: 'muted', text: 'Replaying the ledger…' }));
    try {
      const r = await api.get(`/api/v1/brands/${brand.id}/ledger/verify`);
      out.replaceChildren(verifyResult(r, brand.id));
    } catch (err) {
      if (!err.handled || err.status === 503) out.replaceChildren(h('p', { class: 'error-text', text: sentence(err.message) }));
    } finally {
      out.removeAttribute('aria-busy');
      button.disabled = false;
    }
  }
  button.addEventListener('click', run);
  run();
  return panel({ title: 'Ledger check', description: 'Replays every movement and every active hold and compares the result with the stored balances.', actions: button }, out);
}

export async function render(ctx) {
  const { brand, body } = await brandFrame(ctx, 'stock', 'Stock');
  const base = `/api/v1/brands/${brand.id}/movements`;
  const f = {
    kind: ctx.query.get('kind') || '',
    sku: ctx.query.get('sku') || '',
    from: ctx.query.get('from') || '',
    to: ctx.query.get('to') || '',
  };
  const query = (cursor) => ({ kind: f.kind || null, sku: f.sku || null, from: f.from || null, to: f.to || null, cursor, limit: 50 });
  const first = await api.get(base, query(null)); // a 403 or 404 fails the screen
  const [people, codes] = await Promise.all([peopleDirectory({ brandId: brand.id, role: brand.your_role }), skuCodes(brand.id)]);

  const tableSlot = h('div');
  let table;
  function makeTable(firstPage) {
    table = pagedTable({
      caption: 'Movements, newest first',
      empty: () => (f.kind || f.sku || f.from || f.to ? 'No movements match these filters.' : 'No movements yet.'),
      key: movementKey,
      columns: movementColumns({ brandId: brand.id, people, perSku: true }),
      first: firstPage,
      load: (cursor) => api.get(base, query(cursor)),
    });
    tableSlot.replaceChildren(table.el);
  }
  makeTable(first);

  const here = link('/brands', brand.id, 'stock');
  const clear = h('button', { type: 'button', class: 'button', text: 'Clear' });
  const filter = createForm({
    label: 'Filter movements',
    layout: 'inline',
    submitLabel: 'Filter',
    fields: [
      { name: 'kind', label: 'Kind', type: 'select', value: f.kind, optional: false,
        options: [{ value: '', label: 'All kinds' }, ...MOVEMENT_KINDS.map((k) => ({ value: k.value, label: k.label }))] },
      { name: 'sku', label: 'SKU', value: f.sku, list: codes, mono: true, placeholder: 'any SKU' },
      { name: 'from', label: 'From', type: 'datetime-local', value: localFromIso(f.from) },
      { name: 'to', label: 'Until', type: 'datetime-local', value: localFromIso(f.to) },
    ],
    secondary: clear,
    async onSubmit(v) {
      const next = { kind: v.kind, sku: v.sku, from: isoFromLocal(v.from), to: isoFromLocal(v.to) };
      const page = await api.get(base, { kind: next.kind || null, sku: next.sku || null, from: next.from || null, to: next.to || null, limit: 50 });
      Object.assign(f, next);
      rememberQuery(here, f);
      makeTable(page);
    },
  });
  clear.addEventListener('click', () => {
    for (const n of ['kind', 'sku', 'from', 'to']) filter.control(n).value = '';
    filter.el.requestSubmit();
  });

  const actions = canInventory(brand.your_role)
    ? h('a', { class: 'button button-primary', href: link('/brands', brand.id, 'stock', 'new'), text: 'Record a movement' })
    : null;
  body.append(
    panel({
      title: 'Movements',
      description: 'Every change of stock, newest first. Each row names its SKU; filter by SKU (or open a SKU’s history) to see one SKU’s movements.',
      actions,
    }, filter.el, tableSlot),
    ledgerPanel(brand));
}
