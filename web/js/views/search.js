// search.js — #/search?q=: what the search box in the header found in
// every brand the user may read — SKUs (code, title, barcode), channel SKUs
// and orders — grouped by kind, exact matches first, each linked to its
// screen and naming its brand.
import { api } from '../api.js';
import { h } from '../ui/dom.js';
import { plural, statusBadge, time } from '../ui/format.js';
import { pageHeader, panel } from '../ui/page.js';
import { link } from '../router.js';
import { portfolioId } from '../session.js';
import { showSearch } from '../search-box.js';
import { kindLabel } from './channel-kinds.js';

const LIMIT = 25;

function group(title, items, more, render, none) {
  return panel({
    title: `${title} (${items.length}${more ? '+' : ''})`,
    description: more ? `The first ${items.length}; type more of the code or number to narrow it.` : null,
  }, items.length
    ? h('ul', { class: 'search-hits' }, items.map((x) => h('li', { class: 'search-hit' }, render(x))))
    : h('p', { class: 'muted', text: none }));
}

const brandTag = (x) => h('span', { class: 'badge badge-muted', text: x.brand });

export async function render(ctx) {
  const q = (ctx.query.get('q') || '').trim();
  ctx.setTitle(q ? `Search: ${q}` : 'Search');
  showSearch(true, q);
  ctx.root.append(pageHeader({ title: q ? `Search for “${q}”` : 'Search', crumbs: [{ label: 'All brands', href: '#/' }, { label: 'Search' }],
    meta: h('span', { class: 'muted', text: 'In every brand you can read: SKU codes and titles, channel SKUs and order numbers.' }) }));
  if (q.length < 2) {
    ctx.root.append(panel({ title: 'Type at least two characters' },
      h('p', {}, 'Use the search box at the top of the page (press ', h('kbd', { text: '/' }), ' to get there).')));
    return;
  }
  const res = await api.get(`/api/v1/portfolios/${portfolioId()}/search`, { q, limit: LIMIT });
  const total = res.skus.length + res.listings.length + res.orders.length;
  ctx.root.append(
    h('p', { class: 'search-summary', role: 'status', text: total ? `${plural(total, 'match', 'matches')} for “${res.q}”.` : `Nothing matches “${res.q}”.` }),
    group('SKUs', res.skus, res.more.skus, (s) => [
      h('a', { href: link('/brands', s.brand_id, 'sku', s.code), class: 'strong-link' }, h('code', { text: s.code })),
      ' ', h('span', { text: s.title || 'untitled' }), ' ', brandTag(s),
      s.kind === 'bundle' ? h('span', { class: 'badge badge-muted', text: 'Bundle' }) : null,
      s.archived ? statusBadge('archived') : null,
    ], 'No SKU code, title or barcode matches.'),
    group('Channel SKUs', res.listings, res.more.listings, (l) => [
      h('a', { href: link('/brands', l.brand_id, 'listings', l.id), class: 'strong-link' }, h('code', { text: l.external_sku })),
      ' ', h('span', { class: 'muted', text: `${kindLabel(l.kind)} · ${l.connection} · SKU ` }),
      h('a', { href: link('/brands', l.brand_id, 'sku', l.sku) }, h('code', { text: l.sku })), ' ', brandTag(l),
      l.state === 'paused' ? statusBadge('paused') : null,
    ], 'No channel SKU matches.'),
    group('Orders', res.orders, res.more.orders, (o) => [
      h('a', { href: `${link('/brands', o.brand_id, 'orders')}?${new URLSearchParams({ external_id: o.external_id })}`, class: 'strong-link' },
        h('code', { text: o.external_id })),
      ' ', h('span', { class: 'muted', text: `${kindLabel(o.kind)} · ${o.connection} · ${o.status} · taken in ` }), time(o.at), ' ', brandTag(o),
    ], 'No order number matches.'));
  if (total === 0) {
    const input = document.getElementById('global-search-input');
    if (input) input.focus();
  }
}
