// brand-overview.js — a brand at a glance: its details, what the user's role
// allows here, how its channels keep up (listings waiting to be pushed and
// failing, open alerts, drift not healed: "in sync" only when none), and the
// sales over time (units sold per channel per day, sell-through, days of
// cover: charts.js) and the latest activity.
import { api } from '../api.js';
import { h, sentence } from '../ui/dom.js';
import { ROLE_HINTS, plural, qty, roleLabel, time } from '../ui/format.js';
import { panel } from '../ui/page.js';
import { link } from '../router.js';
import { peopleDirectory, brandDirectory } from '../directory.js';
import { brandFrame } from './brand-frame.js';
import { auditColumns, auditKey } from './audit-entries.js';
import { pagedTable } from '../ui/table.js';
import { brandChartsPanel } from './charts.js';

/** The sync summary's rows (GET …/sync), or a line saying it could not be read. */
function syncDetails(brand, s) {
  if (!s) return h('p', { class: 'muted', text: 'The sync status could not be read just now.' });
  if (s.connections.length === 0) return h('p', { class: 'muted', text: 'No channel connected yet: nothing is synced.' });
  const behind = Number(s.listings_behind) || 0;
  const failing = Number(s.listings_failing) || 0;
  const count = (n, href) => (n > 0 ? h('a', { href, text: qty(n) }) : '0');
  return details([
    ['Channels', plural(s.connections.length, 'connection')],
    ['Listings', behind > 0
      ? h('strong', { text: `${plural(behind, 'listing')} waiting to be pushed${failing > 0 ? `, ${failing} after failed pushes` : ''}` })
      : 'every listing in sync'],
    ['Open alerts', count(Number(s.open_alerts) || 0, link('/brands', brand.id, 'alerts'))],
    ['Drift not healed', count(Number(s.open_drift) || 0, `${link('/brands', brand.id, 'alerts')}?drift=open`)],
  ]);
}

function details(pairs) {
  return h('dl', { class: 'details' }, pairs.map(([k, v]) => [h('dt', { text: k }), h('dd', {}, v)]));
}

export async function render(ctx) {
  const { brand, body } = await brandFrame(ctx, 'overview', 'Overview');
  const [people, brands, sync] = await Promise.all([peopleDirectory({ brandId: brand.id, role: brand.your_role }), brandDirectory(),
    api.get(`/api/v1/brands/${brand.id}/sync`).catch(() => null)]);
  const recent = pagedTable({
    caption: 'Latest activity',
    empty: 'No activity yet.',
    key: auditKey,
    columns: auditColumns({ people, brands }),
    // Five entries here; the audit tab pages through the rest.
    load: async () => ({ ...(await api.get(`/api/v1/brands/${brand.id}/audit`, { limit: 5 })), next_cursor: null }),
  });
  const charts = brandChartsPanel(brand);
  body.append(
    h('div', { class: 'grid-2' },
      panel({ title: 'Details' }, details([
        ['Name', brand.name],
        ['Time zone', brand.timezone],
        ['Status', brand.archived ? 'Archived' : 'Active'],
        ['Created', time(brand.created_at)],
      ])),
      panel({ title: 'Your access' }, details([
        ['Role', roleLabel(brand.your_role)],
        ['This role', sentence(ROLE_HINTS[brand.your_role] || 'reads the brand')],
      ]))),
    panel({ title: 'Sync', actions: h('a', { href: link('/brands', brand.id, 'sync'), text: 'Sync status' }) }, syncDetails(brand, sync)),
    charts,
    panel({ title: 'Latest activity', actions: h('a', { href: link('/brands', brand.id, 'audit'), text: 'Full audit log' }) }, recent.el));
  await charts.ready;
}
