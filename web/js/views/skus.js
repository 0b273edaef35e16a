// skus.js — #/brands/<id>/skus: the brand's SKUs and bundles with their
// balances, by code; search by code prefix, title or barcode (?q=), by kind
// (?kind=simple|bundle), archived ones on request (?archived=1), sorted by a
// column header (?sort=, server-side).  Operators and up get the buttons to
// create SKUs and bundles, and act on the selected SKUs: adjust their stock
// (one movement of many lines, one transaction) or archive them (one call
// each).  Each row says what every channel shows now (published, last seen
// and when, marked when behind, failing, drifted or paused: an icon and a
// word, the full story in its tooltip; a long channel name cut short on
// screen, whole in that tooltip) beside on hand, committed, held, available
// and days of cover, all of it within a 1440 px wide window.
import { api } from '../api.js';
import { newKey } from '../ui/idempotency.js';
import { h } from '../ui/dom.js';
import { filterForm } from '../ui/form.js';
import { plural, qty, statusBadge } from '../ui/format.js';
import { panel } from '../ui/page.js';
import { pagedTable, bulkBar } from '../ui/table.js';
import { link, rememberQuery } from '../router.js';
import { canInventory } from '../session.js';
import { brandFrame } from './brand-frame.js';
import { skuLink } from './inventory.js';
import { zoneTime } from './sop-words.js';

/** A channel's status on a SKU row: an icon and a word (never colour alone). */
const CHANNEL_STATUS = {
  in_sync: { icon: '\u2713', word: 'in sync', cls: 'ch-ok' },
  behind: { icon: '\u25D4', word: 'behind', cls: 'ch-warn' },
  failing: { icon: '\u2715', word: 'failing', cls: 'ch-bad' },
  drifted: { icon: '\u2260', word: 'differs', cls: 'ch-bad' },
  paused: { icon: '\u2016', word: 'paused', cls: 'ch-muted' },
};

function channelTitle(c, tz) {
  const seenAt = c.seen_at ? zoneTime(c.seen_at, tz).textContent : null;
  const seen = c.seen === null || c.seen === undefined ? 'the channel has not been read yet' : `the channel showed ${qty(c.seen)}${seenAt ? ` at ${seenAt}` : ''}`;
  const pub = c.published === null || c.published === undefined ? 'nothing published yet' : `onecount publishes ${qty(c.published)}`;
  const pushed = c.pushed === null || c.pushed === undefined ? 'nothing pushed yet' : `last pushed ${qty(c.pushed)}`;
  const what = {
    in_sync: 'In sync',
    behind: 'Behind: the newest number is waiting to be pushed',
    failing: 'Failing: pushes to this channel do not get through',
    drifted: 'Differs: the channel shows another number than onecount pushed',
    paused: 'Paused: onecount pushes nothing to this listing',
  }[c.status] || c.status;
  return `${c.connection}: ${what}; ${pub}, ${pushed}, ${seen}.`;
}

function channelsCell(s, brand) {
  const chans = s.channels || [];
  if (!chans.length) return h('span', { class: 'muted', text: 'not listed' });
  return h('ul', { class: 'sku-channels' }, chans.map((c) => {
    const st = CHANNEL_STATUS[c.status] || { icon: '?', word: String(c.status || '').replace(/_/g, ' '), cls: 'ch-muted' };
    const shows = c.seen !== null && c.seen !== undefined ? c.seen : c.pushed;
    const figure = c.status === 'in_sync' || c.status === 'paused'
      ? `${qty(shows)}`
      : `${qty(shows)} \u2192 ${qty(c.published)}`;
    const title = channelTitle(c, brand.timezone);
    return h('li', { class: ['sku-channel', st.cls], title, dataset: { status: c.status } },
      c.listing_id
        ? h('a', { class: 'sku-channel-name', href: link('/brands', brand.id, 'listings', c.listing_id), text: c.connection, 'aria-label': title })
        : h('span', { class: 'sku-channel-name', text: c.connection }),
      h('span', { class: 'sku-channel-state' }, h('span', { 'aria-hidden': 'true', text: st.icon }), ` ${st.word}`),
      h('span', { class: 'sku-channel-qty', text: figure }));
  }));
}

function coverCell(s) {
  const d = s.days_of_cover;
  if (d === null || d === undefined) return h('span', { class: 'muted', title: 'No sales in the window to measure a rate', text: '—' });
  const v = Number(d);
  return h('span', { class: v < 7 ? 'strong warn-text' : null, title: `${v.toFixed(1)} days at the recent rate of sale`, text: v >= 100 ? '100+' : v.toFixed(v < 10 ? 1 : 0) });
}

const KIND_FILTER = [
  { value: '', label: 'SKUs and bundles' },
  { value: 'simple', label: 'SKUs only' },
  { value: 'bundle', label: 'Bundles only' },
];

/** One adjustment movement with a line per simple SKU (bundles have no stock of their own). */
async function adjustStock(brand, picked, delta, reason) {
  const simple = picked.filter((s) => s.kind === 'simple');
  const failed = picked.filter((s) => s.kind !== 'simple').map((s) => `${s.code}: a bundle has no stock of its own; adjust its components`);
  if (simple.length) {
    const body = { kind: 'adjust', reason, lines: simple.map((s) => ({ sku: s.code, qty: delta })) };
    await api.post(`/api/v1/brands/${brand.id}/movements`, body, { idempotencyKey: newKey('bulk-adjust') });
  }
  const change = delta > 0 ? `+${delta}` : String(delta);
  return { summary: `${plural(simple.length, 'SKU')} adjusted by ${change} (${reason}).${failed.length ? ` ${plural(failed.length, 'SKU')} skipped.` : ''}`, failed };
}

/** Archives each SKU, one call each; the ones already archived are left alone. */
async function archiveSkus(brand, picked, progress) {
  const failed = [];
  let done = 0;
  let same = 0;
  for (const [i, s] of picked.entries()) {
    progress(`Archiving ${i + 1} of ${picked.length}…`);
    if (s.archived) {
      same += 1;
      continue;
    }
    try {
      await api.patch(`/api/v1/brands/${brand.id}/skus/${encodeURIComponent(s.code)}`, { archived: true });
      done += 1;
    } catch (err) {
      if (err.handled && err.status === 401) throw err;
      failed.push(`${s.code}: ${err.message}`);
    }
  }
  const parts = [`${plural(done, 'SKU')} archived.`];
  if (same) parts.push(`${plural(same, 'SKU')} already archived.`);
  if (failed.length) parts.push(`${plural(failed.length, 'SKU')} failed.`);
  return { summary: parts.join(' '), failed };
}

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
    sort: ctx.query.get('sort') || '',
  };
  const query = (cursor) => ({ q: filters.q, kind: filters.kind || null, include_archived: filters.archived ? 'true' : null, sort: filters.sort || null, cursor });
  const first = await api.get(base, query(null)); // a 403 or 404 fails the screen
  const reports = first.items.length === 0 || first.items.some((s) => Array.isArray(s.channels));

  const here = link('/brands', brand.id, 'skus');
  const may = canInventory(brand.your_role);
  let bar = null;
  const table = pagedTable({
    caption: 'SKUs',
    sort: filters.sort,
    defaultSort: 'code',
    onSort: (sort) => {
      filters.sort = sort;
      rememberQuery(here, filters);
    },
    select: may ? { label: (s) => `Select ${s.code}` } : null,
    onSelect: () => bar && bar.refresh(),
    empty: () => (filters.q || filters.kind ? 'No SKUs match this search.' : 'No SKUs yet.'),
    key: (s) => s.code,
    rowClass: (s) => (s.archived ? 'row-muted' : null),
    columns: [
      { label: 'Code', sort: 'code', render: (s) => skuLink(brand.id, s.code) },
      { label: 'Title', sort: 'title', render: (s) => s.title || h('span', { class: 'muted', text: 'untitled' }) },
      { label: 'Kind', render: (s) => (s.kind === 'bundle'
        ? h('span', { class: 'badge badge-muted', text: `Bundle of ${(s.components || []).length}` })
        : h('span', { class: 'muted', text: 'SKU' })) },
      { label: 'On hand', class: 'num', sort: 'on_hand', render: (s) => qty(s.on_hand) },
      { label: 'Committed', class: 'num', render: (s) => qty(s.committed) },
      { label: 'Held', class: 'num', render: (s) => qty(s.held) },
      { label: 'Available', class: 'num', sort: 'available', render: availableCell },
      // A server that does not report them yet (no `channels` on its rows) gets no empty columns.
      reports ? { label: 'Days of cover', class: 'num', render: coverCell } : null,
      reports ? { label: 'Channels now', render: (s) => channelsCell(s, brand) } : null,
      { label: 'Status', render: (s) => (s.archived ? statusBadge('archived') : statusBadge('active')) },
    ].filter(Boolean),
    first,
    load: (cursor) => api.get(base, query(cursor)),
  });

  // Eleven columns at 1440 px: tighter cells and a compact channels cell (app.css, .sku-table).
  table.el.classList.add('sku-table');

  if (may) {
    const delta = h('input', { type: 'number', step: 1, inputmode: 'numeric', class: 'input-narrow', id: 'bulk-delta' });
    const reason = h('input', { type: 'text', maxlength: 200, id: 'bulk-reason', placeholder: 'e.g. found in the back room' });
    bar = bulkBar({
      table,
      label: 'Actions on the selected SKUs',
      noun: (n) => plural(n, 'SKU'),
      extra: [
        h('span', { class: 'inline-control' }, h('label', { for: 'bulk-delta', text: 'Change (units, − removes)' }), delta),
        h('span', { class: 'inline-control' }, h('label', { for: 'bulk-reason', text: 'Reason' }), reason),
      ],
      actions: [
        { label: 'Adjust stock',
          run: (picked) => {
            const n = Number(delta.value);
            const problems = [];
            if (delta.value === '' || !Number.isInteger(n) || n === 0) problems.push('Change (units): a whole number other than 0');
            if (!reason.value.trim()) problems.push('Reason: say why (damaged, lost, found, correction…)');
            for (const [el, bad] of [[delta, problems.some((p) => p.startsWith('Change'))], [reason, problems.some((p) => p.startsWith('Reason'))]]) {
              if (bad) el.setAttribute('aria-invalid', 'true'); else el.removeAttribute('aria-invalid');
            }
            if (problems.length) return { summary: 'Nothing was adjusted.', failed: problems, keep: true };
            return adjustStock(brand, picked, n, reason.value.trim());
          } },
        { label: 'Archive', danger: true, run: (picked, progress) => archiveSkus(brand, picked, progress) },
      ],
    });
  }

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

  const actions = may
    ? [h('a', { class: 'button button-primary', href: link('/brands', brand.id, 'skus', 'new'), text: 'New SKU' }),
      h('a', { class: 'button', href: `${link('/brands', brand.id, 'skus', 'new')}?kind=bundle`, text: 'New bundle' })]
    : null;
  body.append(panel({
    title: 'SKUs',
    description: 'Available is on hand minus committed (sold, not shipped) minus held; a bundle has what its scarcest component allows. Channels now: what each channel shows, and the number onecount is pushing when they differ (hover for the full story).',
    actions,
  }, search.el, bar ? bar.el : null, table.el));
}
