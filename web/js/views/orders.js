// orders.js — #/brands/<id>/orders: channel orders as onecount took them
// in, newest first (?connection=&external_id=&from=&to=: days in the
// brand's time zone, both included), each line with what the
// channel says (ordered, shipped, cancelled) and what the ledger recorded
// for it (held, sold, shipped, cancelled); lines whose channel SKU has no
// listing are parked and flagged.  The "Unmapped" panel (?show=unmapped
// starts there) groups the parked
// lines per connection and channel SKU, with a "Map" link into the listing
// form (operators and up): the new listing takes the parked lines in.
import { api, getAll } from '../api.js';
import { h } from '../ui/dom.js';
import { filterForm } from '../ui/form.js';
import { plural, qty, statusBadge } from '../ui/format.js';
import { panel } from '../ui/page.js';
import { pagedTable, bulkBar } from '../ui/table.js';
import { link } from '../router.js';
import { canInventory } from '../session.js';
import { brandFrame } from './brand-frame.js';
import { kindLabel, connectionFilterField } from './channel-kinds.js';
import { skuCodes, skuLink } from './inventory.js';
import { ago } from './sync-card.js';
import { dayStart, dayAfterStart } from '../ui/zoned.js';

const ORDER_STATUS = {
  pending: ['Pending payment', 'badge-warn'],
  open: ['Open', 'badge-ok'],
  partial: ['Partly shipped', 'badge-ok'],
  shipped: ['Shipped', 'badge-muted'],
  cancelled: ['Cancelled', 'badge-muted'],
};

function orderBadge(status) {
  const [label, cls] = ORDER_STATUS[status] || [status, 'badge-muted'];
  return h('span', { class: ['badge', cls], text: label });
}

/** "sold 2 · shipped 1": what the ledger recorded for a line (zeros left out). */
export function recordedText(rec) {
  if (!rec) return 'nothing';
  const parts = ['held', 'sold', 'shipped', 'cancelled'].filter((k) => Number(rec[k]) > 0).map((k) => `${k} ${qty(rec[k])}`);
  return parts.length ? parts.join(' · ') : 'nothing yet';
}

/** The listing form for a parked channel SKU (the SKU guessed when a SKU has that very code). */
export function mapHref(brandId, connectionId, channelSku, codes = []) {
  const q = new URLSearchParams({ connection: connectionId, external_sku: channelSku });
  if (codes.includes(channelSku)) q.set('sku', channelSku);
  return `${link('/brands', brandId, 'listings', 'new')}?${q}`;
}

function lineItem(brand, o, l, may, codes) {
  return h('li', { class: ['order-line', l.parked ? 'order-line-parked' : null] },
    h('div', { class: 'order-line-head' },
      l.sku ? skuLink(brand.id, l.sku) : h('code', { text: l.channel_sku }),
      l.sku && l.sku !== l.channel_sku ? h('span', { class: 'muted small' }, 'as ', h('code', { text: l.channel_sku })) : null,
      h('span', { class: 'strong', text: `× ${qty(l.qty)}` }),
      l.parked ? h('span', { class: 'badge badge-warn', text: 'Parked: no listing' }) : null),
    h('div', { class: 'small' },
      h('span', { class: 'muted', text: 'Channel: ' }),
      `${qty(l.qty)} ordered, ${qty(l.qty_shipped)} shipped, ${qty(l.qty_cancelled)} cancelled`),
    h('div', { class: 'small' },
      h('span', { class: 'muted', text: 'Ledger: ' }),
      l.parked ? 'nothing until the channel SKU has a listing' : recordedText(l.recorded),
      l.parked && may ? [' ', h('a', {
        href: mapHref(brand.id, o.connection_id, l.channel_sku, codes),
        text: 'Map',
        'aria-label': `Map ${l.channel_sku} on ${o.connection}`,
      })] : null));
}

export async function render(ctx) {
  const { brand, body } = await brandFrame(ctx, 'orders', 'Orders');
  const base = `/api/v1/brands/${brand.id}/orders`;
  const may = canInventory(brand.your_role);
  const tz = brand.timezone || 'UTC';
  const f = {
    connection: ctx.query.get('connection') || '',
    external_id: ctx.query.get('external_id') || '',
    from: ctx.query.get('from') || '',
    to: ctx.query.get('to') || '',
  };
  const query = (cursor) => ({ connection: f.connection || null, external_id: f.external_id || null,
    from: dayStart(f.from, tz), to: dayAfterStart(f.to, tz), cursor, limit: 25 });
  const [first, parked, conns, codes] = await Promise.all([
    api.get(base, query(null)), api.get(`${base}/unmapped`), getAll(`/api/v1/brands/${brand.id}/connections`),
    may ? skuCodes(brand.id) : []]);

  const table = pagedTable({
    caption: 'Channel orders, newest first',
    empty: () => (f.connection || f.external_id || f.from || f.to ? 'No orders match these filters.' : 'No channel orders yet: they appear here as the channels are polled.'),
    rowClass: (o) => (o.status === 'cancelled' ? 'row-muted' : null),
    columns: [
      { label: 'Order', render: (o) => h('div', { class: 'cell-stack' },
        h('code', { class: 'strong', text: o.external_id }),
        h('span', { class: 'muted small' }, h('a', { href: link('/brands', brand.id, 'channels', o.connection_id), text: o.connection }), ` · ${kindLabel(o.kind)}`)) },
      { label: 'Status', render: (o) => h('div', { class: 'cell-stack' }, orderBadge(o.status),
        o.needs_ack && !o.acked_at ? h('span', { class: 'muted small', text: 'to acknowledge' }) : null,
        o.lines.some((l) => l.parked) ? h('span', { class: 'badge badge-warn', text: 'Has parked lines' }) : null) },
      { label: 'Placed', render: (o) => ago(o.channel_created_at, 'unknown') },
      { label: 'Taken in', render: (o) => h('div', { class: 'cell-stack' }, ago(o.first_seen_at),
        o.last_seen_at !== o.first_seen_at ? h('span', { class: 'muted small' }, 'last read ', ago(o.last_seen_at)) : null) },
      { label: 'Lines', render: (o) => (o.lines.length
        ? h('ul', { class: 'order-lines' }, o.lines.map((l) => lineItem(brand, o, l, may, codes)))
        : h('span', { class: 'muted', text: 'no lines' })) },
    ],
    first,
    load: (cursor) => api.get(base, query(cursor)),
  });

  const here = link('/brands', brand.id, 'orders');
  const filter = filterForm({
    label: 'Filter orders',
    filters: f,
    here,
    // the first page asked here, so a refused filter (a day range backwards) is said under its field
    apply: async () => table.reload(await api.get(base, query(null))),
    fields: [
      connectionFilterField(conns, f.connection),
      { name: 'external_id', label: 'Channel order id', value: f.external_id, mono: true, maxlength: 200, placeholder: 'exact id' },
      { name: 'from', label: `From day (${tz})`, type: 'date', value: f.from },
      { name: 'to', label: 'To day (included)', type: 'date', value: f.to },
    ],
  });

  // --- parked lines: the whole list is on the page, so it sorts in the browser --------------------------
  let bar = null;
  const parkedTable = pagedTable({
    caption: 'Parked order lines per connection and channel SKU',
    empty: 'No parked order lines: every channel SKU in the orders has a listing.',
    key: (p) => `${p.connection_id}/${p.channel_sku}`,
    clientSort: true,
    select: may ? { label: (p) => `Select ${p.channel_sku} on ${p.connection}` } : null,
    onSelect: () => bar && bar.refresh(),
    columns: [
      { label: 'Connection', sortValue: (p) => p.connection, render: (p) => h('div', { class: 'cell-stack' },
        h('a', { href: link('/brands', brand.id, 'channels', p.connection_id), text: p.connection }),
        h('span', { class: 'muted small', text: kindLabel(p.kind) })) },
      { label: 'Channel SKU', sortValue: (p) => p.channel_sku, render: (p) => h('code', { class: 'strong', text: p.channel_sku }) },
      { label: 'Waiting', sortValue: (p) => Number(p.units), render: (p) => `${plural(Number(p.lines), 'line')}, ${plural(Number(p.units), 'unit')}` },
      { label: 'Orders', render: (p) => h('ul', { class: 'chips' }, (p.orders || []).map((id) => h('li', {},
        h('a', { href: `${here}?${new URLSearchParams({ connection: p.connection_id, external_id: id })}` }, h('code', { text: id }))))) },
      { label: 'Since', sortValue: (p) => p.first_seen_at, render: (p) => ago(p.first_seen_at) },
      may ? { label: 'Actions', class: 'actions', render: (p) => h('a', {
        class: 'button button-small',
        href: mapHref(brand.id, p.connection_id, p.channel_sku, codes),
        text: 'Map',
        'aria-label': `Map ${p.channel_sku} on ${p.connection}`,
      }) } : null,
    ].filter(Boolean),
    first: { items: parked, next_cursor: null },
    load: async () => ({ items: await api.get(`${base}/unmapped`), next_cursor: null }),
  });
  if (may) {
    bar = bulkBar({
      table: parkedTable,
      label: 'Actions on the selected parked lines',
      noun: (n) => plural(n, 'channel SKU'),
      actions: [{
        label: 'Map each to the SKU of the same code',
        run: async (picked, progress) => {
          const failed = [];
          let done = 0;
          for (const [i, p] of picked.entries()) {
            progress(`Mapping ${i + 1} of ${picked.length}…`);
            if (!codes.includes(p.channel_sku)) {
              failed.push(`${p.channel_sku} on ${p.connection}: no SKU has this code; map it by hand to the right SKU`);
              continue;
            }
            try {
              await api.post(`/api/v1/brands/${brand.id}/listings`, { connection_id: p.connection_id, sku: p.channel_sku, external_sku: p.channel_sku });
              done += 1;
            } catch (err) {
              if (err.handled && err.status === 401) throw err;
              failed.push(`${p.channel_sku} on ${p.connection}: ${err.message}`);
            }
          }
          await table.reload();
          return { summary: `${plural(done, 'channel SKU')} mapped: their parked lines are recorded now.${failed.length ? ` ${plural(failed.length, 'channel SKU')} not mapped.` : ''}`, failed };
        },
      }],
    });
  }

  body.append(
    panel({ title: 'Channel orders', description: 'Every order as the channels reported it, and what onecount recorded for each line: held while unpaid, sold, shipped, cancelled.' },
      filter.el, table.el),
    panel({
      title: 'Unmapped',
      id: 'unmapped',
      description: 'Order lines whose channel SKU has no listing on that connection wait here; nothing is lost. Making the listing records them at once.',
    }, bar ? bar.el : null, parkedTable.el));
  if (ctx.query.get('show') === 'unmapped') {
    // From "Unmapped order lines" elsewhere: start at the parked lines.
    const heading = document.getElementById('unmapped-title');
    heading.tabIndex = -1;
    heading.focus();
  }
}
