// listings.js — #/brands/<id>/listings: which SKU is which listing on which
// connection, with the quantity onecount wants the channel to show
// (desired), last pushed and last read back (seen), and the listing's state;
// filtered by connection, state, SKU and "out of sync" (?connection=&state=
// &sku=&out_of_sync=1).  The unmapped report lists SKU × connection pairs
// with no listing yet.  Operators and up map, pause, delete and auto-map.
import { api, getAll } from '../api.js';
import { h } from '../ui/dom.js';
import { filterForm } from '../ui/form.js';
import { confirmDialog } from '../ui/dialog.js';
import { qty, statusBadge, time } from '../ui/format.js';
import { notify } from '../ui/notice.js';
import { panel, rowButton, busy } from '../ui/page.js';
import { pagedTable } from '../ui/table.js';
import { link } from '../router.js';
import { canInventory } from '../session.js';
import { brandFrame } from './brand-frame.js';
import { automapButton } from './automap.js';
import { kindLabel, connectionFilterField } from './channel-kinds.js';
import { skuCodes, skuLink } from './inventory.js';
import { boundLabel } from './rules.js';

/**
 * Desired, pushed, seen: whether the channel has the latest, in words that
 * agree with the numbers beside them.  "In sync" only when the last push
 * landed and the channel, read after it, shows what was pushed (or has not
 * been read); a channel read showing another number says so, and a read
 * older than the push is not taken as the channel's answer to it.
 */
export function syncCell(l) {
  if (l.last_error) return h('div', { class: 'cell-stack' }, h('span', { class: 'badge badge-danger', text: 'Push failed' }), h('span', { class: 'muted small', text: l.last_error }));
  if (!l.in_sync) return h('span', { class: 'badge badge-warn', text: l.push_pending ? 'Pushing' : 'Waiting to push' });
  const seen = l.seen_qty === null || l.seen_qty === undefined ? null : Number(l.seen_qty);
  const pushed = l.pushed_qty === null || l.pushed_qty === undefined ? null : Number(l.pushed_qty);
  if (seen !== null && seen !== pushed) {
    const readBefore = l.seen_at && l.pushed_at && new Date(l.seen_at) < new Date(l.pushed_at);
    if (readBefore) return h('span', { class: 'badge badge-muted', text: 'Pushed; not read back since' });
    return h('div', { class: 'cell-stack' }, h('span', { class: 'badge badge-warn', text: 'Channel differs' }),
      h('span', { class: 'muted small', text: `it shows ${qty(seen)}, onecount pushed ${pushed === null ? 'nothing' : qty(pushed)}; the next read-back corrects it` }));
  }
  return h('span', { class: 'badge badge-ok', text: 'In sync' });
}

export async function listingAction(brand, l, action, { onDone }) {
  const base = `/api/v1/brands/${brand.id}/listings/${l.id}`;
  if (action === 'delete') {
    const ok = await confirmDialog({
      title: `Delete the listing of ${l.sku} on ${l.connection}?`,
      message: 'onecount stops managing this listing; the channel keeps it with whatever quantity it shows now. The SKU and its stock are not touched.',
      confirmLabel: 'Delete listing',
      danger: true,
    });
    if (!ok) return;
  }
  try {
    if (action === 'delete') {
      await api.del(base);
      notify(`Listing of ${l.sku} on ${l.connection} deleted`);
      await onDone(null);
    } else {
      const updated = await api.patch(base, action === 'repush' ? { repush: true } : { state: action });
      notify(action === 'repush' ? `Listing of ${l.sku} will be pushed again`
        : action === 'paused' ? `Listing of ${l.sku} on ${l.connection} paused` : `Listing of ${l.sku} on ${l.connection} resumed`);
      await onDone(updated);
    }
  } catch (err) {
    if (!err.handled) notify(err.message, { kind: 'error' });
  }
}

export async function render(ctx) {
  const { brand, body } = await brandFrame(ctx, 'listings', 'Listings');
  const base = `/api/v1/brands/${brand.id}/listings`;
  const may = canInventory(brand.your_role);
  const f = {
    connection: ctx.query.get('connection') || '',
    state: ctx.query.get('state') || '',
    sku: ctx.query.get('sku') || '',
    out_of_sync: ctx.query.get('out_of_sync') === '1',
  };
  const query = (cursor) => ({ connection: f.connection || null, state: f.state || null, sku: f.sku || null, out_of_sync: f.out_of_sync ? 'true' : null, cursor });
  const first = await api.get(base, query(null)); // a 403 or 404 fails the screen (and a bad filter says so)
  const [conns, codes] = await Promise.all([getAll(`/api/v1/brands/${brand.id}/connections`), skuCodes(brand.id)]);

  const table = pagedTable({
    caption: 'Listings',
    empty: () => (f.connection || f.state || f.sku || f.out_of_sync ? 'No listings match these filters.' : 'No listings yet: map SKUs to channels below.'),
    rowClass: (l) => (l.state === 'paused' ? 'row-muted' : null),
    columns: [
      { label: 'SKU', render: (l) => skuLink(brand.id, l.sku) },
      { label: 'Channel', render: (l) => h('div', { class: 'cell-stack' },
        h('a', { href: link('/brands', brand.id, 'channels', l.connection_id), text: l.connection }),
        h('span', { class: 'muted small', text: kindLabel(l.kind) })) },
      { label: 'Listed as', render: (l) => h('div', { class: 'cell-stack' },
        h('a', { href: link('/brands', brand.id, 'listings', l.id), class: 'strong-link' }, h('code', { text: l.external_sku })),
        l.item_ref ? h('code', { class: 'muted small break', text: l.item_ref }) : null) },
      { label: 'Desired', class: 'num', render: (l) => h('div', { class: 'cell-stack' }, h('span', { class: 'strong', text: qty(l.desired_qty) }),
        l.why && l.why.bound_by ? h('span', { class: 'muted small', text: `by ${boundLabel(l.why.bound_by)}` }) : null) },
      { label: 'Pushed', class: 'num', render: (l) => h('div', { class: 'cell-stack' }, qty(l.pushed_qty), time(l.pushed_at, { empty: 'never' })) },
      { label: 'Seen', class: 'num', render: (l) => h('div', { class: 'cell-stack' }, qty(l.seen_qty), time(l.seen_at, { empty: 'not read' })) },
      { label: 'State', render: (l) => h('div', { class: 'cell-stack' }, statusBadge(l.state), syncCell(l)) },
      { label: 'Actions', class: 'actions', render: (l, tbl) => (may ? h('div', { class: 'inline-control' },
        rowButton(l.state === 'paused' ? 'Resume' : 'Pause', (ev) => busy(ev.currentTarget, () => listingAction(brand, l, l.state === 'paused' ? 'active' : 'paused',
          { onDone: (u) => tbl.update(u) })), { ariaLabel: `${l.state === 'paused' ? 'Resume' : 'Pause'} the listing of ${l.sku} on ${l.connection}` }),
        rowButton('Delete', (ev) => busy(ev.currentTarget, () => listingAction(brand, l, 'delete',
          { onDone: async () => { tbl.remove(l); await unmapped.reload(); } })), { danger: true, ariaLabel: `Delete the listing of ${l.sku} on ${l.connection}` }))
        : null) },
    ],
    first,
    load: (cursor) => api.get(base, query(cursor)),
  });

  // --- filters ------------------------------------------------------------------------------
  const here = link('/brands', brand.id, 'listings');
  const filter = filterForm({
    label: 'Filter listings',
    filters: f,
    here,
    apply: () => table.reload(),
    fields: [
      connectionFilterField(conns, f.connection),
      { name: 'state', label: 'State', type: 'select', value: f.state, optional: false,
        options: [{ value: '', label: 'Active and paused' }, { value: 'active', label: 'Active' }, { value: 'paused', label: 'Paused' }] },
      { name: 'sku', label: 'SKU', value: f.sku, list: codes, mono: true, placeholder: 'exact code' },
      { name: 'out_of_sync', label: 'Only those waiting to be pushed', type: 'checkbox', value: f.out_of_sync },
    ],
  });

  // --- unmapped report ---------------------------------------------------------------------------
  const unmapped = pagedTable({
    caption: 'SKUs not yet listed on a connection',
    empty: conns.length ? 'Every SKU is listed on every connection.' : 'No connections yet.',
    key: (u) => `${u.connection_id}/${u.sku}`,
    columns: [
      { label: 'SKU', render: (u) => skuLink(brand.id, u.sku) },
      { label: 'Connection', render: (u) => h('div', { class: 'cell-stack' },
        h('a', { href: link('/brands', brand.id, 'channels', u.connection_id), text: u.connection }),
        h('span', { class: 'muted small', text: kindLabel(u.kind) })) },
      { label: 'SKU created', render: (u) => time(u.created_at) },
      { label: 'Actions', class: 'actions', render: (u) => (may ? h('a', {
        class: 'button button-small',
        href: `${link('/brands', brand.id, 'listings', 'new')}?connection=${u.connection_id}&sku=${encodeURIComponent(u.sku)}`,
        text: 'Map',
        'aria-label': `Map ${u.sku} on ${u.connection}`,
      }) : null) },
    ],
    load: (cursor) => api.get(`${base}/unmapped`, { cursor }),
  });

  // --- auto-map --------------------------------------------------------------------------------
  let automapPanel = null;
  if (may && conns.length) {
    const slot = h('div', { class: 'result-slot' });
    automapPanel = panel({
      title: 'Auto-map by SKU code',
      description: 'Lists every SKU without a listing on a connection under its own code. On Shopify the inventory item is found by SKU when pushing; a SKU the shop does not have shows up under Alerts and drift.',
    }, h('div', { class: 'button-row' }, conns.map((c) => automapButton(brand, c, slot, async () => {
      await Promise.all([table.reload(), unmapped.reload()]);
    }, { text: `Auto-map ${c.name}` }))), slot);
  }

  const mapButton = may && conns.length ? h('a', { class: 'button button-primary', href: link('/brands', brand.id, 'listings', 'new'), text: 'Map a SKU' }) : null;
  body.append(
    panel({
      title: 'Listings',
      description: 'Desired is what onecount wants the channel to show now; pushed is what it last sent; seen is what the channel last reported.',
      actions: mapButton,
    }, filter.el, table.el),
    panel({ title: 'Unmapped', description: 'SKUs not yet on every channel: new SKUs, or ones never listed there.' }, unmapped.el),
    automapPanel);
}
