// brand-frame.js — what every brand screen shares: the brand's header with
// the user's role in it, and the tabs that role may use (Exceptions,
// Oversells and Alerts with their open counts, counts.js).  Screens of one
// object (a SKU, a connection) and forms (a new SKU) sit under their tab and
// add their own breadcrumbs.
import { api } from '../api.js';
import { h } from '../ui/dom.js';
import { roleBadge, setDisplayZone, statusBadge } from '../ui/format.js';
import { pageHeader } from '../ui/page.js';
import { link } from '../router.js';
import { canManage } from '../session.js';
import { countBadge, watchBrand } from '../counts.js';

/** Tabs in display order; `manage` ones need brand_owner or portfolio_admin. */
const TABS = [
  { key: 'overview', label: 'Overview', path: '' },
  { key: 'exceptions', label: 'Exceptions', path: 'exceptions', count: 'exceptions' },
  { key: 'skus', label: 'SKUs', path: 'skus' },
  { key: 'stock', label: 'Stock', path: 'stock' },
  { key: 'holds', label: 'Holds', path: 'holds' },
  { key: 'oversells', label: 'Oversells', path: 'oversells', count: 'oversells' },
  { key: 'imports', label: 'Imports', path: 'imports' },
  { key: 'channels', label: 'Channels', path: 'channels' },
  { key: 'listings', label: 'Listings', path: 'listings' },
  { key: 'sync', label: 'Sync', path: 'sync' },
  { key: 'sop', label: 'SOP', path: 'sop' },
  { key: 'orders', label: 'Orders', path: 'orders' },
  { key: 'alerts', label: 'Alerts & drift', path: 'alerts', count: 'alerts' },
  { key: 'members', label: 'Members', path: 'members', manage: true },
  { key: 'tokens', label: 'API tokens', path: 'tokens', manage: true },
  { key: 'audit', label: 'Audit log', path: 'audit' },
  { key: 'settings', label: 'Settings', path: 'settings', manage: true },
];

export const tabsFor = (role) => TABS.filter((t) => !t.manage || canManage(role));

/**
 * Loads the brand and draws its header and tabs into ctx.root.
 * Resolves to {brand, body}: body is where the tab's content goes.
 * A brand the user cannot see answers 404, shown by the caller's error path.
 * crumbs: [{label, href}] after the tab's own (a SKU under SKUs).
 */
export async function brandFrame(ctx, active, title, { crumbs: extra = [] } = {}) {
  const brand = await api.get(`/api/v1/brands/${encodeURIComponent(ctx.params.bid)}`);
  ctx.setTitle(title, brand.name);
  setDisplayZone(brand.timezone); // every time on a brand's screens is in the brand's zone
  const tabs = tabsFor(brand.your_role);
  const current = TABS.find((t) => t.key === active);
  const body = h('div', { class: 'tab-body' });
  ctx.root.append(
    pageHeader({
      title: brand.name,
      crumbs: [{ label: 'Brands', href: '#/' }, { label: brand.name, href: link('/brands', brand.id) },
        current && current.key !== 'overview' ? { label: current.label, href: extra.length ? link('/brands', brand.id, current.path) : null } : null,
        ...extra].filter(Boolean),
      meta: [roleBadge(brand.your_role), brand.archived ? statusBadge('archived') : null, h('span', { class: 'muted', title: 'Times on this brand\u2019s screens are in its time zone', text: `Times in ${brand.timezone}` })],
    }),
    h('nav', { class: 'tabs', 'aria-label': `${brand.name} sections` },
      h('ul', {}, tabs.map((t) => h('li', {}, h('a', {
        href: t.path ? link('/brands', brand.id, t.path) : link('/brands', brand.id),
        class: 'tab',
        'aria-current': t.key === active ? 'page' : null,
      }, t.label, t.count ? countBadge(`tab:${brand.id}:${t.count}`, t.count) : null))))),
    body);
  // The Exceptions, Oversells and Alerts tabs carry their open counts, kept current while the brand is shown.
  watchBrand(ctx, brand.id);
  return { brand, body };
}
