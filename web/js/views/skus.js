// skus.js — #/brands/<id>/skus: the brand's SKUs and bundles with their
// balances, by code; search by code prefix, title or barcode (?q=), by kind
// (?kind=simple|bundle), archived ones on request (?archived=1).  Operators
// and up get the buttons to create SKUs and bundles.
import { api } from '../api.js';
import { h } from '../ui/dom.js';
import { filterForm } from '../ui/form.js';
import { qty, statusBadge } from '../ui/format.js';
import { panel } from '../ui/page.js';
import { pagedTable } from '../ui/table.js';
import { link } from '../router.js';
import { canInventory } from '../session.js';
import { brandFrame } from './brand-frame.js';
import { skuLink } from './inventory.js';

const KIND_FILTER = [
  { value: '', label: 'SKUs and bundles' },
  { value: 'simple', label: 'SKUs only' },
  { value: 'bundle', label: 'Bundles only' },
];

function availableCell(s) {
  return h('span', { class: ['strong', Number(s.available) <= 0 ? 'error-text' : null], text: qty(s.available) });
}

export async function render(ctx) {
  const { brand, body } = await brandFrame(ctx, 'skus', 'SKUs');
  const base = `/api/v1/brands/${brand.id}/skus`;
  const filters = {
    q: ctx.query.get('q') || '',
    kind: ctx.query.get('kind') || '',
    archived: ctx.query.get('archived') === '1',
  };
  const query = (cursor) => ({ q: filters.q, kind: filters.kind || null, include_archived: filters.archived ? 'true' : null, cursor });
  const first = await api.get(base, query(null)); // a 403 or 404 fails the screen

  const table = pagedTable({
    caption: 'SKUs',
    empty: () => (filters.q || filters.kind ? 'No SKUs match this search.' : 'No SKUs yet.'),
    key: (s) => s.code,
    rowClass: (s) => (s.archived ? 'row-muted' : null),
    columns: [
      { label: 'Code', render: (s) => skuLink(brand.id, s.code) },
      { label: 'Title', render: (s) => s.title || h('span', { class: 'muted', text: 'untitled' }) },
      { label: 'Kind', render: (s) => (s.kind === 'bundle'
        ? h('span', { class: 'badge badge-muted', text: `Bundle of ${(s.components || []).length}` })
        : h('span', { class: 'muted', text: 'SKU' })) },
      { label: 'On hand', class: 'num', render: (s) => qty(s.on_hand) },
      { label: 'Committed', class: 'num', render: (s) => qty(s.committed) },
      { label: 'Held', class: 'num', render: (s) => qty(s.held) },
      { label: 'Available', class: 'num', render: availableCell },
      { label: 'Status', render: (s) => (s.archived ? statusBadge('archived') : statusBadge('active')) },
    ],
    first,
    load: (cursor) => api.get(base, query(cursor)),
  });

  const here = link('/brands', brand.id, 'skus');
  const clear = h('button', { type: 'button', class: 'button', text: 'Clear' });
  const search = filterForm({
    label: 'Search SKUs',
    submitLabel: 'Search',
    filters,
    here,
    apply: () => table.reload(),
    fields: [
      { name: 'q', label: 'Code, title or barcode', type: 'search', value: filters.q, placeholder: 'e.g. TEE- or “blue”', optional: false },
      { name: 'kind', label: 'Show', type: 'select', value: filters.kind, options: KIND_FILTER, optional: false },
      { name: 'archived', label: 'Include archived', type: 'checkbox', value: filters.archived },
    ],
    secondary: clear,
  });
  clear.addEventListener('click', () => {
    search.control('q').value = '';
    search.control('kind').value = '';
    search.control('archived').checked = false;
    search.el.requestSubmit();
  });

  const actions = canInventory(brand.your_role)
    ? [h('a', { class: 'button button-primary', href: link('/brands', brand.id, 'skus', 'new'), text: 'New SKU' }),
      h('a', { class: 'button', href: `${link('/brands', brand.id, 'skus', 'new')}?kind=bundle`, text: 'New bundle' })]
    : null;
  body.append(panel({
    title: 'SKUs',
    description: 'Available is on hand minus committed (sold, not shipped) minus held; a bundle has what its scarcest component allows.',
    actions,
  }, search.el, table.el));
}
