// listings.js — #/brands/<id>/listings: which SKU is which listing on which
// connection, with the quantity onecount wants the channel to show
// (desired), last pushed and last read back (seen), and the listing's state;
// filtered by connection, state, SKU and "out of sync" (?connection=&state=
// &sku=&out_of_sync=1), sorted by a column header (?sort=, server-side).
// The unmapped report lists SKU × connection pairs with no listing yet.
// Operators and up map, pause, delete and auto-map, and act on many at once:
// pause, resume and re-push (one call, POST listings/bulk) and set the
// buffer (one call per listing).
import { api, getAll } from '../api.js';
import { h } from '../ui/dom.js';
import { filterForm } from '../ui/form.js';
import { confirmDialog } from '../ui/dialog.js';
import { plural, qty, statusBadge, time } from '../ui/format.js';
import { notify } from '../ui/notice.js';
import { panel, rowButton, busy } from '../ui/page.js';
import { pagedTable, bulkBar } from '../ui/table.js';
import { link, rememberQuery } from '../router.js';
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

const BULK_WORDS = {
  pause: ['paused', 'already paused'],
  resume: ['resumed', 'already active'],
  repush: ['will be pushed again', ''],
};

/** POST listings/bulk and its answer in words: "3 listings paused. 1 already paused." and each failure. */
export async function bulkListings(brand, action, picked) {
  const res = await api.post(`/api/v1/brands/${brand.id}/listings/bulk`, { action, ids: picked.map((l) => l.id) });
  const byId = new Map(picked.map((l) => [l.id, l]));
  const name = (id) => (byId.has(id) ? `${byId.get(id).sku} on ${byId.get(id).connection}` : 'a listing');
  const [doneWord, sameWord] = BULK_WORDS[action];
  const parts = [];
  if (res.done.length) parts.push(`${plural(res.done.length, 'listing')} ${doneWord}.`);
  if (res.unchanged.length) parts.push(`${plural(res.unchanged.length, 'listing')} ${sameWord}: nothing to change.`);
  if (res.failed.length) parts.push(`${plural(res.failed.length, 'listing')} failed.`);
  return { summary: parts.join(' ') || 'Nothing to change.', failed: res.failed.map((f) => `${name(f.id)}: ${f.reason}`) };
}

/** Sets the buffer rule of each listing, one call each; failures in words. */
async function setBuffers(brand, picked, units, progress) {
  const failed = [];
  let done = 0;
  for (const [i, l] of picked.entries()) {
    progress(`Setting the buffer: ${i + 1} of ${picked.length}…`);
    try {
      await api.patch(`/api/v1/brands/${brand.id}/listings/${l.id}`, { rules: { ...(l.rules || {}), buffer: units } });
      done += 1;
    } catch (err) {
      if (err.handled && err.status === 401) throw err;
      failed.push(`${l.sku} on ${l.connection}: ${err.message}`);
    }
  }
  return {
    summary: `Buffer set to ${plural(units, 'unit')} on ${plural(done, 'listing')}.${failed.length ? ` ${plural(failed.length, 'listing')} failed.` : ''}`,
    failed,
  };
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
    sort: ctx.query.get('sort') || '',
  };
  const query = (cursor) => ({ connection: f.connection || null, state: f.state || null, sku: f.sku || null, out_of_sync: f.out_of_sync ? 'true' : null, sort: f.sort || null, cursor });
  const first = await api.get(base, query(null)); // a 403 or 404 fails the screen (and a bad filter says so)
  const [conns, codes] = await Promise.all([getAll(`/api/v1/brands/${brand.id}/connections`), skuCodes(brand.id)]);

  const here = link('/brands', brand.id, 'listings');
  let bar = null;
  const table = pagedTable({
    caption: 'Listings',
    empty: () => (f.connection || f.state || f.sku || f.out_of_sync ? 'No listings match these filters.' : 'No listings yet: map SKUs to channels below.'),
    rowClass: (l) => (l.state === 'paused' ? 'row-muted' : null),
    sort: f.sort,
    defaultSort: 'channel',
    onSort: (sort) => {
      f.sort = sort;
      rememberQuery(here, f);
    },
    select: may ? { label: (l) => `Select the listing of ${l.sku} on ${l.connection}` } : null,
    onSelect: () => bar && bar.refresh(),
    columns: [
      { label: 'SKU', sort: 'sku', render: (l) => skuLink(brand.id, l.sku) },
      { label: 'Channel', sort: 'channel', render: (l) => h('div', { class: 'cell-stack' },
        h('a', { href: link('/brands', brand.id, 'channels', l.connection_id), text: l.connection }),
        h('span', { class: 'muted small', text: kindLabel(l.kind) })) },
      { label: 'Listed as', render: (l) => h('div', { class: 'cell-stack' },
        h('a', { href: link('/brands', brand.id, 'listings', l.id), class: 'strong-link' }, h('code', { text: l.external_sku })),
        l.item_ref ? h('code', { class: 'muted small break', text: l.item_ref }) : null) },
      { label: 'Desired', class: 'num', sort: 'desired', render: (l) => h('div', { class: 'cell-stack' }, h('span', { class: 'strong', text: qty(l.desired_qty) }),
        l.why && l.why.bound_by ? h('span', { class: 'muted small', text: `by ${boundLabel(l.why.bound_by)}` }) : null) },
      { label: 'Pushed', class: 'num', sort: 'pushed', render: (l) => h('div', { class: 'cell-stack' }, qty(l.pushed_qty), time(l.pushed_at, { empty: 'never' })) },
      { label: 'Seen', class: 'num', sort: 'seen', render: (l) => h('div', { class: 'cell-stack' }, qty(l.seen_qty), time(l.seen_at, { empty: 'not read' })) },
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

  // --- many at once --------------------------------------------------------------------------
  if (may) {
    const bufferInput = h('input', { type: 'number', min: 0, step: 1, inputmode: 'numeric', class: 'input-narrow', id: 'bulk-buffer', value: '' });
    bar = bulkBar({
      table,
      label: 'Actions on the selected listings',
      noun: (n) => plural(n, 'listing'),
      actions: [
        { label: 'Pause', run: (picked) => bulkListings(brand, 'pause', picked) },
        { label: 'Resume', run: (picked) => bulkListings(brand, 'resume', picked) },
        { label: 'Push again', run: (picked) => bulkListings(brand, 'repush', picked) },
        { label: 'Set buffer',
          run: async (picked, progress) => {
            const units = Number(bufferInput.value);
            if (bufferInput.value === '' || !Number.isInteger(units) || units < 0) {
              bufferInput.setAttribute('aria-invalid', 'true');
              bufferInput.focus();
              return { summary: 'Type the buffer in whole units (0 or more) first.', failed: ['Buffer: a whole number of units is needed'] , keep: true };
            }
            bufferInput.removeAttribute('aria-invalid');
            return setBuffers(brand, picked, units, progress);
          } },
      ],
      extra: h('span', { class: 'inline-control' }, h('label', { for: 'bulk-buffer', text: 'Buffer (units)' }), bufferInput),
    });
  }

  // --- filters ------------------------------------------------------------------------------
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
    }, filter.el, bar ? bar.el : null, table.el),
    panel({ title: 'Unmapped', description: 'SKUs not yet on every channel: new SKUs, or ones never listed there.' }, unmapped.el),
    automapPanel);
}
