// brand-overview.js — a brand at a glance: its health first (GET
// …/brands/<id>/dashboard: its top exceptions, worst first, each opening in
// the brand's queue; totals; exceptions by kind; oversells, stock, each
// channel's state and push lag; sell-through), refreshed every 30 seconds
// while shown; then its details, what the user's role allows here, how its
// channels keep up (listings waiting to be pushed and failing, open alerts,
// drift not healed: "in sync" only when none), the sales over time (units sold per channel per day, sell-through, days of
// cover: charts.js) and the latest activity.
import { api } from '../api.js';
import { h, replace, sentence } from '../ui/dom.js';
import { ROLE_HINTS, fromNow, plural, qty, roleLabel, time } from '../ui/format.js';
import { autoRefresh, refreshBar } from '../ui/poll.js';
import { panel } from '../ui/page.js';
import { link } from '../router.js';
import { peopleDirectory, brandDirectory } from '../directory.js';
import { brandFrame } from './brand-frame.js';
import { auditColumns, auditKey } from './audit-entries.js';
import { pagedTable } from '../ui/table.js';
import { channelList, kindList, oversellText, sellThrough, severityLine, totalsFigures } from './health.js';
import { kindLabel, severityBadge, stateBadge } from './exception-words.js';
import { zoneTime } from './sop-words.js';
import { brandChartsPanel } from './charts.js';

const HEALTH_EVERY = 30000;

/** The brand's top exceptions (the dashboard's "top"), each a link into its queue. */
function topList(brand, top) {
  if (!top || !top.length) return h('p', { class: 'ok-text', text: '\u2713 Nothing needs anyone in this brand right now.' });
  return h('ol', { class: 'top-exceptions' }, top.map((x) => h('li', { class: `row-severity-${x.severity}` },
    severityBadge(x.severity),
    h('span', { class: 'cell-stack' },
      h('a', { href: `${link('/brands', brand.id, 'exceptions')}?item=${encodeURIComponent(x.id)}`, class: 'strong', text: x.title }),
      h('span', { class: 'muted small' }, kindLabel(x.kind), ' · opened ', h('span', { title: zoneTime(x.opened_at, brand.timezone).textContent, text: fromNow(x.opened_at) }),
        ' · ', x.owner ? `owner ${x.owner.name || 'someone'}` : 'nobody on it yet')),
    stateBadge(x, (iso) => zoneTime(iso, brand.timezone)))));
}

function healthBlock(brand, d) {
  const opts = { scoped: true };
  return [
    h('h3', { text: 'Needs someone' }),
    topList(brand, d.top),
    totalsFigures(d, { bid: brand.id, scoped: true }),
    h('div', { class: 'grid-2 grid-plain' },
      details([
        ['Open exceptions', severityLine(brand.id, d.exceptions, opts)],
        ['By kind', kindList(brand.id, d.exceptions && d.exceptions.by_kind, opts) || h('span', { class: 'muted', text: 'none' })],
        ['Oversells', oversellText(d)],
        ['Stock', `${qty(Number(d.stock_outs) || 0)} out of stock, ${qty(Number(d.low_stock) || 0)} low, ${qty(Number(d.stranded_units) || 0)} units stranded`],
        ['Sell-through (30 days)', sellThrough(d)],
      ]),
      details([['Channels', channelList(d)]])),
  ];
}

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
  const dashUrl = `/api/v1/brands/${brand.id}/dashboard`;
  const [people, brands, sync, dash] = await Promise.all([peopleDirectory({ brandId: brand.id, role: brand.your_role }), brandDirectory(),
    api.get(`/api/v1/brands/${brand.id}/sync`).catch(() => null), api.get(dashUrl).catch((err) => err)]);
  const healthBody = h('div', { class: 'health-body' });
  if (dash instanceof Error) healthBody.append(h('p', { class: 'error-text', text: `The brand's health could not be read: ${dash.message}` }));
  else replace(healthBody, healthBlock(brand, dash));
  const bar = refreshBar(null, { what: 'the brand\u2019s health', every: HEALTH_EVERY });
  const poller = autoRefresh({
    every: HEALTH_EVERY,
    alive: ctx.alive,
    run: async () => {
      const d = await api.get(dashUrl);
      if (!healthBody.contains(document.activeElement)) replace(healthBody, healthBlock(brand, d));
    },
    onDone: () => bar.mark(),
    onError: (err) => bar.fail(err),
  });
  bar.bind(poller);
  bar.mark();
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
    panel({ title: 'Health', id: 'health', actions: h('a', { href: link('/brands', brand.id, 'exceptions'), text: 'Exception queue' }) }, healthBody, bar.el),
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
