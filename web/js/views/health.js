// health.js — a brand's health at a glance, from GET …/dashboard (the
// portfolio's, or one brand's): exceptions needing someone by severity and
// kind (each count links to the queue filtered so), stock-outs, low stock,
// oversells (open and units), stranded units, sell-through, and per
// channel its state, push lag and what waits.  Shared by the portfolio home
// and the brand overview.  Brands sort worst first.
import { h } from '../ui/dom.js';
import { duration, plural, qty } from '../ui/format.js';
import { link } from '../router.js';
import { kindLabel, KIND_ORDER, SEVERITIES } from './exception-words.js';
import { msText } from './sync-words.js';

const num = (v) => Number(v) || 0;

/** Worst first: critical items, failing channels, oversold units, stock-outs, then everything open. */
export function worstFirst(a, b) {
  const key = (x) => [num(x.exceptions?.critical), num(x.failing_connections), num(x.oversells?.units), num(x.stock_outs),
    num(x.exceptions?.warning), num(x.exceptions?.total), num(x.low_stock)];
  const ka = key(a);
  const kb = key(b);
  for (let i = 0; i < ka.length; i++) if (ka[i] !== kb[i]) return kb[i] - ka[i];
  return String(a.name || '').localeCompare(String(b.name || ''));
}

/** Where a count of the queue leads: the portfolio's queue for one brand, or the brand's own tab. */
export function queueHref(bid, filter = {}, { scoped = false } = {}) {
  const q = new URLSearchParams();
  if (!scoped) q.set('brand', bid);
  for (const [k, v] of Object.entries(filter)) if (v) q.set(k, v);
  const base = scoped ? link('/brands', bid, 'exceptions') : '#/portfolio/exceptions';
  return q.toString() ? `${base}?${q}` : base;
}

const countLink = (n, href, label) => (num(n) > 0 ? h('a', { href, class: 'count-link', 'aria-label': label, text: qty(n) }) : h('span', { class: 'muted', text: '0' }));

/** "2 critical · 1 warning" with links, or "nothing" when the brand is quiet. */
export function severityLine(bid, ex, opts = {}) {
  const parts = [];
  for (const s of ['critical', 'warning', 'info']) {
    const n = num(ex && ex[s]);
    if (n > 0) {
      parts.push(h('a', { href: queueHref(bid, { severity: s }, opts), class: ['sev-link', `sev-${s}`] },
        h('span', { class: 'severity-icon', 'aria-hidden': 'true', text: SEVERITIES[s].icon }), ` ${qty(n)} ${SEVERITIES[s].label.toLowerCase()}`));
    }
  }
  if (!parts.length) return h('span', { class: 'ok-text', text: '\u2713 nothing needs anyone' });
  return h('span', { class: 'sev-line' }, parts);
}

/** Each kind with open items, worst first, as links to the queue. */
export function kindList(bid, byKind, opts = {}) {
  const kinds = KIND_ORDER.filter((k) => num(byKind && byKind[k]) > 0);
  for (const k of Object.keys(byKind || {})) if (!kinds.includes(k) && num(byKind[k]) > 0) kinds.push(k);
  if (!kinds.length) return null;
  return h('ul', { class: 'kind-list' }, kinds.map((k) => h('li', {},
    h('a', { href: queueHref(bid, { kind: k }, opts), 'aria-label': `${qty(byKind[k])} ${kindLabel(k)}` },
      h('span', { class: 'kind-count', text: qty(byKind[k]) }), ` ${kindLabel(k)}`))));
}

/** One channel in a line: its name, an icon and words for its state, push lag (p99) and what waits. */
export function channelLine(c, bid) {
  let icon = '\u2713';
  let word = 'in sync';
  let cls = 'ch-ok';
  if (c.failing) {
    icon = '\u2715'; word = c.circuit === 'open' ? 'failing: pushes stopped for a while' : 'failing'; cls = 'ch-bad';
  } else if (c.status === 'paused') {
    icon = '\u2016'; word = 'paused'; cls = 'ch-muted';
  } else if (num(c.behind) > 0) {
    icon = '\u25D4'; word = `${plural(num(c.behind), 'listing')} waiting${c.oldest_behind_s !== null && c.oldest_behind_s !== undefined ? `, oldest ${duration(c.oldest_behind_s)}` : ''}`; cls = 'ch-warn';
  }
  const lag = c.push_lag_p99_ms !== null && c.push_lag_p99_ms !== undefined ? `push lag p99 ${msText(c.push_lag_p99_ms)}` : 'push lag not measured yet';
  return h('li', { class: ['channel-line', cls], dataset: { connection: c.id } },
    h('a', { href: link('/brands', bid, 'channels', c.id), text: c.name }),
    h('span', { class: 'channel-state' }, h('span', { 'aria-hidden': 'true', text: icon }), ` ${word}`),
    h('span', { class: 'muted small', text: lag }));
}

export function channelList(b) {
  const conns = b.connections || [];
  if (!conns.length) return h('span', { class: 'muted', text: 'no channel yet' });
  return h('ul', { class: 'channel-lines' }, conns.map((c) => channelLine(c, b.brand_id)));
}

/** Stock-outs, low stock and stranded units, each on its line; the first two link to the SKU list. */
export function stockText(b) {
  const line = (n, words, { bad = false } = {}) => h('span', { class: ['nowrap', num(n) > 0 && bad ? 'error-text strong' : num(n) > 0 ? null : 'muted'], text: `${qty(num(n))} ${words}` });
  return h('span', { class: 'cell-stack' },
    num(b.stock_outs) > 0 ? h('a', { href: link('/brands', b.brand_id, 'skus'), class: 'error-text strong nowrap', text: `${qty(num(b.stock_outs))} out of stock` }) : line(0, 'out of stock'),
    line(b.low_stock, 'low'),
    line(b.stranded_units, 'units stranded'));
}

export const sellThrough = (b) => (b.sell_through_30d === null || b.sell_through_30d === undefined
  ? h('span', { class: 'muted', text: 'no sales yet' })
  : h('span', { class: 'cell-stack' }, h('span', { text: `${Math.round(Number(b.sell_through_30d) * 100)} %` }),
    h('span', { class: 'muted small nowrap', text: `${plural(num(b.units_sold_30d), 'unit')} sold` })));

const money = new Intl.NumberFormat(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });

/** Open oversells: incidents, units and, where SKUs carry a unit cost, what they cost (units without one said so). */
export function oversellText(b) {
  const o = b.oversells || {};
  if (num(o.open) === 0) return h('span', { class: 'muted', text: 'none open' });
  const cost = o.cost === null || o.cost === undefined ? null : Number(o.cost);
  const uncosted = num(o.uncosted_units);
  return h('span', { class: 'cell-stack' },
    h('a', { href: link('/brands', b.brand_id, 'oversells'), class: 'error-text strong nowrap', text: `${plural(num(o.open), 'open incident')}` }),
    h('span', { class: 'small nowrap', text: `${plural(num(o.units), 'unit')} oversold` }),
    cost !== null ? h('span', { class: 'small nowrap', dataset: { cost: String(cost) }, text: `cost ${money.format(cost)} at unit cost` }) : null,
    uncosted > 0 ? h('span', { class: 'muted small', text: `${plural(uncosted, 'unit')} without a unit cost` }) : null);
}

/** Figures for a set of totals (the portfolio's, or one brand's). */
export function totalsFigures(t, { bid = null, scoped = false } = {}) {
  const fig = (label, value, { warn = false, href = null, key } = {}) => h('div', { class: ['figure', warn ? 'figure-warn' : null], dataset: { figure: key } },
    h('dt', { text: label }), h('dd', {}, href && num(value) > 0 ? h('a', { href, text: qty(value) }) : qty(value)));
  // A brand's object ({exceptions: {total, critical}, oversells: {units}}) or the portfolio's totals
  // ({exceptions: n, critical: n, oversell_units: n}).
  const ex = typeof t.exceptions === 'number' ? { total: t.exceptions, critical: t.critical } : t.exceptions || {};
  const oversold = t.oversell_units ?? t.oversells?.units;
  const qh = (filter) => (bid ? queueHref(bid, filter, { scoped }) : `#/portfolio/exceptions${filter.severity ? `?severity=${filter.severity}` : ''}`);
  return h('dl', { class: 'figures health-figures' },
    fig('Needing someone', num(ex.total), { warn: num(ex.total) > 0, href: qh({}), key: 'exceptions' }),
    fig('Critical', num(ex.critical), { warn: num(ex.critical) > 0, href: qh({ severity: 'critical' }), key: 'critical' }),
    fig('Oversold units', num(oversold), { warn: num(oversold) > 0, key: 'oversold' }),
    fig('Out of stock', num(t.stock_outs), { warn: num(t.stock_outs) > 0, key: 'stock-outs' }),
    fig('Low stock', num(t.low_stock), { key: 'low-stock' }),
    fig('Failing channels', num(t.failing_connections), { warn: num(t.failing_connections) > 0, key: 'failing' }),
    fig('Stranded units', num(t.stranded_units), { key: 'stranded' }));
}
