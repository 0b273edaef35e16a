// sku.js — #/brands/<id>/sku/<code>: one SKU or bundle.  Its balance (on
// hand, committed, held, available), a bundle's components, what each
// channel listing may show and the rule that bound it, and its history
// (every movement, newest first, ?kind= to filter), its timeline of
// movements, pushes and drift, and what each channel showed at a moment
// (?at=; timeline.js), and charts of its stock and sales over time
// (charts.js).  Operators and up edit
// the title and barcode, a bundle's components, and archive it.
import { api, getAll } from '../api.js';
import { h } from '../ui/dom.js';
import { createForm } from '../ui/form.js';
import { confirmDialog } from '../ui/dialog.js';
import { lineEditor } from '../ui/lines.js';
import { qty, statusBadge, time } from '../ui/format.js';
import { notify } from '../ui/notice.js';
import { panel, busy } from '../ui/page.js';
import { pagedTable } from '../ui/table.js';
import { link, rememberQuery } from '../router.js';
import { canInventory } from '../session.js';
import { peopleDirectory } from '../directory.js';
import { brandFrame } from './brand-frame.js';
import { MOVEMENT_KINDS, balanceFigures, movementColumns, movementKey, skuCodes, skuHref, skuLink } from './inventory.js';
import { boundLabel, whySteps } from './rules.js';
import { kindLabel as channelLabel } from './channel-kinds.js';
import { timelinePanels } from './timeline.js';
import { skuChartsPanel } from './charts.js';
import { syncCell } from './listings.js';

function details(pairs) {
  return h('dl', { class: 'details' }, pairs.map(([k, v]) => [h('dt', { text: k }), h('dd', {}, v)]));
}

function listingsPanel(brand, sku, mayMap) {
  const rows = sku.listings || [];
  const map = mayMap
    ? h('a', { class: 'button button-small', href: `${link('/brands', brand.id, 'listings', 'new')}?sku=${encodeURIComponent(sku.code)}`, text: 'Map to a channel' })
    : null;
  if (rows.length === 0) {
    return panel({ title: 'On channels', actions: map }, h('p', { class: 'muted', text: 'Not listed on any channel yet.' }));
  }
  const table = h('table', { class: 'table' },
    h('caption', { class: 'visually-hidden', text: 'Published quantity per listing' }),
    h('thead', {}, h('tr', {}, ['Channel', 'Listed as', 'Published', 'Bound by', 'How', 'Pushed', 'Seen on channel', 'State']
      .map((c) => h('th', { scope: 'col', text: c })))),
    h('tbody', {}, rows.map((l) => h('tr', { class: l.state === 'paused' ? 'row-muted' : null },
      h('td', { 'data-label': 'Channel' }, h('div', { class: 'cell-stack' },
        h('a', { href: link('/brands', brand.id, 'channels', l.connection_id), class: 'strong-link', text: l.connection }),
        h('span', { class: 'muted small', text: channelLabel(l.kind) }))),
      h('td', { 'data-label': 'Listed as' }, h('a', { href: link('/brands', brand.id, 'listings', l.id) }, h('code', { text: l.external_sku }))),
      h('td', { 'data-label': 'Published', class: 'num' }, h('span', { class: 'strong', text: qty(l.published_qty) })),
      h('td', { 'data-label': 'Bound by' }, boundLabel(l.bound_by)),
      h('td', { 'data-label': 'How' }, whySteps(l.why)),
      h('td', { 'data-label': 'Pushed' }, h('div', { class: 'cell-stack' }, qty(l.pushed_qty), time(l.pushed_at, { empty: 'never' }))),
      h('td', { 'data-label': 'Seen on channel' }, h('div', { class: 'cell-stack' }, qty(l.seen_qty), time(l.seen_at, { empty: 'not read yet' }))),
      h('td', { 'data-label': 'State' }, h('div', { class: 'cell-stack' }, statusBadge(l.state),
        syncCell(l)))))));
  return panel({
    title: 'On channels',
    description: 'What each channel may show now, and the rule that decided it (buffer, share, cap, last units, floor).',
    actions: map,
  }, h('div', { class: 'table-wrap' }, table));
}

export async function render(ctx) {
  const code = ctx.params.code;
  const { brand, body } = await brandFrame(ctx, 'skus', code, { crumbs: [{ label: code }] });
  const base = `/api/v1/brands/${brand.id}/skus/${encodeURIComponent(code)}`;
  const sku = await api.get(base); // 404 for an unknown code
  const may = canInventory(brand.your_role);
  const isBundle = sku.kind === 'bundle';

  // --- the SKU -----------------------------------------------------------------
  const archiveBtn = may ? h('button', { type: 'button', class: ['button', 'button-small', sku.archived ? null : 'button-danger-quiet'], text: sku.archived ? 'Unarchive' : 'Archive' }) : null;
  if (archiveBtn) {
    archiveBtn.addEventListener('click', () => busy(archiveBtn, async () => {
      const archiving = !sku.archived;
      const ok = await confirmDialog(archiving
        ? { title: `Archive ${sku.code}?`, message: 'It leaves the SKU list and is no longer offered for new listings. Its history, stock and listings stay; you can unarchive it.', confirmLabel: 'Archive SKU', danger: true }
        : { title: `Unarchive ${sku.code}?`, message: 'It returns to the SKU list.', confirmLabel: 'Unarchive SKU' });
      if (!ok) return;
      try {
        await api.patch(base, { archived: archiving });
      } catch (err) {
        if (!err.handled) notify(err.message, { kind: 'error' });
        return;
      }
      notify(archiving ? `${sku.code} is archived` : `${sku.code} is active again`);
      ctx.rerender();
    }));
  }
  const record = may && !isBundle
    ? h('a', { class: 'button button-small button-primary', href: `${link('/brands', brand.id, 'stock', 'new')}?sku=${encodeURIComponent(sku.code)}`, text: 'Record movement' })
    : null;
  const hold = may
    ? h('a', { class: 'button button-small', href: `${link('/brands', brand.id, 'holds', 'new')}?sku=${encodeURIComponent(sku.code)}`, text: 'Hold units' })
    : null;

  body.append(panel({
    title: `${isBundle ? 'Bundle' : 'SKU'} ${sku.code}`,
    id: 'sku',
    actions: [record, hold, archiveBtn],
  },
  h('div', { class: 'sku-summary' },
    details([
      ['Title', sku.title || h('span', { class: 'muted', text: 'untitled' })],
      ['Kind', isBundle ? 'Bundle (stock comes from its components)' : 'SKU'],
      isBundle ? null : ['Barcode', sku.barcode ? h('code', { text: sku.barcode }) : h('span', { class: 'muted', text: 'none' })],
      isBundle ? null : ['Unit cost', sku.unit_cost != null ? Number(sku.unit_cost).toFixed(2) : h('span', { class: 'muted', text: 'not set' })],
      ['Status', sku.archived ? statusBadge('archived') : statusBadge('active')],
      ['Created', time(sku.created_at)],
    ].filter(Boolean)),
    h('section', { class: 'balance', 'aria-label': 'Balance' }, balanceFigures(sku)))));

  // --- stock and sales over time (charts.js): right under the balance, where the numbers are ---------
  const charts = isBundle ? null : skuChartsPanel(brand, sku);
  if (charts) body.append(charts);

  // --- a bundle's components ------------------------------------------------------
  if (isBundle) {
    const comps = sku.components || [];
    body.append(panel({ title: 'Components', description: 'A bundle is available as many times as its scarcest component allows.' },
      comps.length === 0 ? h('p', { class: 'muted', text: 'No components.' }) : h('div', { class: 'table-wrap' }, h('table', { class: 'table' },
        h('caption', { class: 'visually-hidden', text: 'Components' }),
        h('thead', {}, h('tr', {}, ['Component', 'Units per bundle', 'Component available', 'Bundles it allows'].map((c) => h('th', { scope: 'col', text: c })))),
        h('tbody', {}, comps.map((c) => h('tr', {},
          h('td', { 'data-label': 'Component' }, skuLink(brand.id, c.sku)),
          h('td', { 'data-label': 'Units per bundle', class: 'num' }, qty(c.qty)),
          h('td', { 'data-label': 'Component available', class: 'num' }, qty(c.available)),
          h('td', { 'data-label': 'Bundles it allows', class: 'num' }, qty(Math.floor(Number(c.available) / Number(c.qty)))))))))));
  }

  // --- editing (operators and up) -------------------------------------------------------
  if (may) {
    const edit = createForm({
      label: 'Edit SKU',
      layout: 'inline',
      submitLabel: 'Save changes',
      fields: [
        { name: 'title', label: 'Title', value: sku.title || '', maxlength: 300 },
        isBundle ? null : { name: 'barcode', label: 'Barcode', value: sku.barcode || '', maxlength: 64, mono: true, hint: 'Empty removes it.' },
        isBundle ? null : { name: 'unit_cost', label: 'Unit cost', type: 'number', min: 0, step: '0.01', inputmode: 'decimal',
          value: sku.unit_cost != null ? String(sku.unit_cost) : '', hint: 'Empty: not known.' },
      ].filter(Boolean),
      async onSubmit(v) {
        const patch = {};
        if (v.title !== (sku.title || '')) patch.title = v.title;
        if (!isBundle && v.barcode !== (sku.barcode || '')) patch.barcode = v.barcode || null;
        if (!isBundle && v.unit_cost !== (sku.unit_cost != null ? String(sku.unit_cost) : '')) {
          patch.unit_cost = v.unit_cost === '' ? null : Number(v.unit_cost);
        }
        if (Object.keys(patch).length === 0) {
          notify('Nothing to save', { kind: 'info' });
          return;
        }
        await api.patch(base, patch);
        notify(`${sku.code} saved`);
        ctx.rerender();
      },
    });
    const editPanels = [panel({ title: 'Edit', description: 'The code cannot change: channels and history know the SKU by it.' }, edit.el)];
    if (isBundle) {
      const editor = lineEditor({
        name: 'components', legend: 'Components', skus: (await skuCodes(brand.id)).filter((c) => c !== sku.code),
        qtyLabel: 'Units per bundle', qtyMin: 1, maxLines: 50, itemLabel: 'component', addLabel: 'Add component',
        initial: (sku.components || []).map((c) => ({ sku: c.sku, qty: c.qty })),
      });
      const compForm = createForm({
        label: 'Edit components',
        submitLabel: 'Save components',
        fields: [{ name: 'components', type: 'custom', widget: editor }],
        async onSubmit(v) {
          await api.put(`/api/v1/brands/${brand.id}/bundles/${encodeURIComponent(sku.code)}`, { components: v.components });
          notify(`Components of ${sku.code} saved`);
          ctx.rerender();
        },
      });
      editPanels.push(panel({ title: 'Edit components', description: 'Replaces all components at once; listings of the bundle are recomputed.' }, compForm.el));
    }
    body.append(...editPanels);
  }

  body.append(listingsPanel(brand, sku, may));
  if (charts) await charts.ready;

  // --- timeline and "what did each channel show at…" ----------------------------------------
  const here = skuHref(brand.id, sku.code);
  const state = { kind: ctx.query.get('kind') || '', at: ctx.query.get('at') || '' };
  const remember = () => rememberQuery(here, state);
  const conns = await getAll(`/api/v1/brands/${brand.id}/connections`).catch(() => []);
  body.append(...await timelinePanels(brand, sku, { conns, at: state.at, setAt: (iso) => { state.at = iso; remember(); } }));

  // --- history --------------------------------------------------------------------------
  if (isBundle) {
    body.append(panel({ title: 'History' }, h('p', { class: 'muted' },
      'A bundle has no stock of its own. Its sales are in the history of each component, marked “as part of bundle ', h('code', { text: sku.code }), '”.')));
    return;
  }
  const people = await peopleDirectory({ brandId: brand.id, role: brand.your_role });
  const historyTable = pagedTable({
    caption: `History of ${sku.code}, newest first`,
    empty: () => (state.kind ? 'No movements of this kind.' : 'No movements yet.'),
    key: movementKey,
    columns: movementColumns({ brandId: brand.id, people }),
    load: (cursor) => api.get(`${base}/history`, { kind: state.kind || null, cursor, limit: 25 }),
  });
  const filter = createForm({
    label: 'Filter the history',
    layout: 'inline',
    submitLabel: 'Filter',
    fields: [{ name: 'kind', label: 'Kind', type: 'select', value: state.kind, optional: false,
      options: [{ value: '', label: 'All kinds' }, ...MOVEMENT_KINDS.map((k) => ({ value: k.value, label: k.label }))] }],
    async onSubmit(v) {
      state.kind = v.kind;
      remember();
      await historyTable.reload();
    },
  });
  body.append(panel({ title: 'History', description: 'Every movement of this SKU, newest first; each line shows what it changed and what it left.' },
    filter.el, historyTable.el));
}
