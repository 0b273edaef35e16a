// charts.js — the charts of the brand's screens (ui/chart.js draws them):
//   the SKU page     stock over time (on hand, available, each channel's
//                    published quantity) and units sold per channel per day,
//                    with its sell-through and days of cover
//   the overview     units sold per channel per day, sell-through and days
//                    of cover for the brand and the SKUs that run out first
//   a connection     its push lag (p50, p99) per hour
// Each panel has a window picker (7, 14, 30 or 90 days) and reads one
// endpoint of the Charts API per chart (GET …/stock-series, …/sales,
// …/sell-through, …/connections/{cid}/push-lag).
import { api } from '../api.js';
import { h, replace, uid } from '../ui/dom.js';
import { plural, qty } from '../ui/format.js';
import { panel, errorPanel } from '../ui/page.js';
import { chart, alignSeries, zonedTime, dayLabel } from '../ui/chart.js';
import { kindLabel as channelLabel } from './channel-kinds.js';
import { kindLabel as movementLabel } from './inventory.js';

const WINDOWS = [7, 14, 30, 90];
const secs = (iso) => Math.floor(new Date(iso).getTime() / 1000);
const pct = (v) => (v === null || v === undefined ? '—' : `${(Number(v) * 100).toFixed(1).replace(/\.0$/, '')}%`);
const days = (v) => (v === null || v === undefined ? 'no sales in 14 days' : `${Number(v).toLocaleString()} days`);

/** A channel series' name: the connection's name, with its kind when the name does not say it. */
export function channelName(c) {
  if (!c.connection_id) return 'Without a channel';
  const kind = channelLabel(c.channel);
  return c.connection.toLowerCase().includes(String(kind).toLowerCase()) ? c.connection : `${c.connection} (${kind})`;
}

/**
 * A panel whose body is drawn by `draw(days)` (a node or nodes) and redrawn
 * when the window changes; a failure shows in place of the charts.
 */
function windowPanel({ title, description, id, dflt = 14 }, draw) {
  const selId = uid('window');
  const select = h('select', { id: selId, name: 'days' },
    WINDOWS.map((d) => h('option', { value: String(d), selected: d === dflt, text: `Last ${d} days` })));
  const out = h('div', { class: 'chart-body', 'aria-live': 'polite' });
  const load = async () => {
    out.setAttribute('aria-busy', 'true');
    try {
      replace(out, await draw(Number(select.value)));
    } catch (err) {
      replace(out, errorPanel(err, { title: 'The chart could not be read' }));
    } finally {
      out.removeAttribute('aria-busy');
    }
  };
  select.addEventListener('change', load);
  const picker = h('div', { class: 'chart-window' }, h('label', { for: selId, text: 'Window' }), select);
  const p = panel({ title, description, id, actions: picker }, out);
  p.ready = load();
  return p;
}

// --- a SKU ----------------------------------------------------------------------------------

function stockChart(s) {
  const tz = s.timezone;
  const from = secs(s.from), to = secs(s.to);
  // the balance in force when the window opened, each movement, and the balance now at the right edge
  const mAt = [], onHand = [], avail = [];
  if (s.start) { mAt.push(from); onHand.push(s.start.on_hand); avail.push(s.start.available); }
  for (const p of s.points) { mAt.push(secs(p.at)); onHand.push(p.on_hand); avail.push(p.available); }
  if (mAt.length) { mAt.push(to); onHand.push(onHand.at(-1)); avail.push(avail.at(-1)); }
  const inputs = [{ at: mAt, values: onHand }, { at: mAt, values: avail }];
  for (const c of s.channels) {
    const at = [], v = [];
    if (c.start) { at.push(from); v.push(c.start.qty); }
    for (const p of c.points) { at.push(secs(p.at)); v.push(p.qty); }
    if (at.length) { at.push(to); v.push(v.at(-1)); }
    inputs.push({ at, values: v });
  }
  const { x, values } = alignSeries(inputs);
  const names = new Map(s.channels.map((c) => [c.connection_id, channelName(c)]));
  const series = [
    { label: 'On hand', values: values[0], step: true, color: 0 },
    { label: 'Available', values: values[1], step: true, color: 1 },
    ...s.channels.map((c, i) => ({ label: `${channelName(c)} published`, values: values[2 + i], step: true, dash: true, color: 2 + i })),
  ];
  const last = s.points.at(-1) || s.start;
  const summary = last
    ? [`Now ${qty(last.on_hand)} on hand and ${qty(last.available)} available, after ${plural(s.points.length, 'movement')} in the last ${s.days} days`,
      s.channels.length
        ? `; channels were last sent: ${s.channels.map((c) => `${channelName(c)} ${qty((c.points.at(-1) || c.start)?.qty ?? null)}`).join(', ')}.`
        : '; not listed on any channel.',
      s.truncated ? ' Only the newest 2,000 movements are drawn.' : '']
    : null;
  // the numbers: every movement and every published quantity, oldest first, in the brand's time zone
  const rows = [
    ...s.points.map((p) => ({ t: p.at, r: [zonedTime(new Date(p.at), tz), `${movementLabel(p.kind)} ${qty(p.qty)}${p.channel_id && names.has(p.channel_id) ? ` on ${names.get(p.channel_id)}` : ''}`, qty(p.on_hand), qty(p.available), ''] })),
    ...s.channels.flatMap((c) => c.points.map((p) => ({ t: p.at, r: [zonedTime(new Date(p.at), tz), `${channelName(c)} published${p.status === 'pending' ? ' (accepted, applying)' : ''}`, '', '', qty(p.qty)] }))),
  ].sort((a, b) => (a.t < b.t ? -1 : a.t > b.t ? 1 : 0)).map((x) => x.r);
  return chart({
    title: `Stock of ${s.sku} and what each channel was sent`,
    // a SKU with no history before the window starts where its history does
    x, series, timezone: tz, xRange: [s.start || !x.length ? from : Math.max(from, x[0] - Math.max(1, (to - x[0]) * 0.05)), to], yLabel: 'Units',
    empty: `No movement and nothing published in the last ${s.days} days.`,
    summary,
    table: { caption: `Movements and published quantities of ${s.sku}, oldest first (${tz})`, columns: [`When (${tz})`, 'What', 'On hand', 'Available', 'Published'], rows, text: [1] },
  });
}

function salesChart(s, what) {
  const shown = s.channels.filter((c) => c.total > 0 || c.connection_id);
  const series = shown.map((c, i) => ({ label: channelName(c), values: c.units, color: 2 + i, points: true }));
  const best = [...shown].sort((a, b) => b.total - a.total)[0];
  const summary = Number(s.total) > 0
    ? `${plural(Number(s.total), 'unit')} sold${what ? ` ${what}` : ''} from ${dayLabel(s.from)} to ${dayLabel(s.to)}: `
      + `${shown.filter((c) => c.total > 0).map((c) => `${channelName(c)} ${qty(c.total)}`).join(', ')}; most on ${channelName(best)}.`
    : null;
  return chart({
    title: `Units sold per channel per day${what ? ` ${what}` : ''}`,
    // days of the brand's calendar, one category each; nothing sold: the words say it, no chart of zeros
    x: Number(s.total) > 0 ? s.dates.map((_, i) => i) : [],
    categories: s.dates.map(dayLabel),
    categoryLabel: 'Day',
    series, yLabel: 'Units',
    empty: `Nothing sold${what ? ` ${what}` : ''} in the last ${s.days} days.`,
    summary,
    table: { caption: `Units sold per channel per day (${s.timezone})`, columns: ['Day', ...shown.map(channelName), 'All'],
      rows: s.dates.map((d, i) => [dayLabel(d), ...shown.map((c) => qty(c.units[i])), qty(shown.reduce((n, c) => n + Number(c.units[i]), 0))]) },
  });
}

function figures(f, d) {
  return h('dl', { class: 'figures chart-figures' },
    h('div', { class: 'chart-stat' }, h('dt', { text: `Sold in ${d} days` }), h('dd', { text: qty(f.units_sold) })),
    h('div', { class: 'chart-stat' }, h('dt', { text: 'Available now' }), h('dd', { text: qty(f.available) })),
    h('div', { class: 'chart-stat' }, h('dt', { text: 'Sell-through' }), h('dd', { text: pct(f.sell_through) })),
    h('div', { class: 'chart-stat' }, h('dt', { text: 'Days of cover' }), h('dd', { text: days(f.days_of_cover) })));
}

const DEFINITIONS = 'Sell-through: units sold in the window ÷ (units sold + units available now). '
  + 'Days of cover: units available now ÷ the average units sold per day over the last 14 days.';

/** The SKU page's charts: stock and published quantities, units sold per channel, sell-through. */
export function skuChartsPanel(brand, sku) {
  const base = `/api/v1/brands/${brand.id}`;
  const q = { sku: sku.code };
  return windowPanel({ title: 'Stock and sales over time', id: 'sku-charts',
    description: `On hand and available after every movement, the quantity each channel was last sent, and units sold per channel per day; times in ${brand.timezone}.` },
  async (d) => {
    const [stock, sales, st] = await Promise.all([
      api.get(`${base}/skus/${encodeURIComponent(sku.code)}/stock-series`, { days: d }),
      api.get(`${base}/sales`, { ...q, days: d }),
      api.get(`${base}/sell-through`, { ...q, days: d })]);
    const f = st.skus[0] || st.brand;
    return [figures(f, d), h('p', { class: 'muted small', text: DEFINITIONS }),
      h('div', { class: 'chart-grid' }, stockChart(stock), salesChart(sales, `of ${sku.code}`))];
  });
}

/** The brand overview's charts: units sold per channel per day; sell-through and days of cover. */
export function brandChartsPanel(brand) {
  const base = `/api/v1/brands/${brand.id}`;
  return windowPanel({ title: 'Sales', id: 'brand-charts',
    description: `Units sold per channel per day (days of ${brand.timezone}), sell-through and days of cover.` },
  async (d) => {
    const [sales, st] = await Promise.all([api.get(`${base}/sales`, { days: d }), api.get(`${base}/sell-through`, { days: d })]);
    const top = st.skus.slice(0, 15);
    const cover = chart({
      title: 'Days of cover of the SKUs that run out first',
      x: top.map((_, i) => i),
      categories: top.map((s) => s.sku),
      series: [{ label: 'Days of cover', values: top.map((s) => (s.days_of_cover === null ? null : Number(s.days_of_cover))), bars: true, color: 0 }],
      yLabel: 'Days',
      empty: `No SKU sold in the last 14 days, so none has a measured days of cover.`,
      summary: top.some((s) => s.days_of_cover !== null)
        ? `Fewest days of cover: ${top.filter((s) => s.days_of_cover !== null).slice(0, 3).map((s) => `${s.sku} ${days(s.days_of_cover)}`).join(', ')}.`
        : null,
      table: { caption: `Sell-through over ${d} days and days of cover per SKU`, columns: ['SKU', `Sold in ${d} days`, 'Available', 'Sell-through', 'Days of cover'],
        rows: st.skus.map((s) => [s.sku, qty(s.units_sold), qty(s.available), pct(s.sell_through), days(s.days_of_cover)]) },
    });
    return [figures(st.brand, d), h('p', { class: 'muted small', text: DEFINITIONS }),
      h('div', { class: 'chart-grid' }, salesChart(sales, ''), cover)];
  });
}

/** A connection's push lag per hour. */
export function pushLagPanel(brand, conn) {
  return windowPanel({ title: 'Push lag over time', id: 'push-lag', dflt: 7,
    description: 'How long a quantity took from being sent to showing on the channel: the median (p50) and the slowest 1% (p99) per hour.' },
  async (d) => {
    const s = await api.get(`/api/v1/brands/${brand.id}/connections/${conn.id}/push-lag`, { days: d, bucket: d > 14 ? 'day' : 'hour' });
    const x = s.points.map((p) => secs(p.at));
    // milliseconds while the slowest hour stays under two seconds, else seconds
    const inSeconds = s.points.some((p) => p.p99_ms >= 2000);
    const unit = (v) => (inSeconds ? Number(v) / 1000 : Number(v));
    const fmt = (v) => (inSeconds ? `${Number(v).toLocaleString(undefined, { maximumFractionDigits: 1 })} s` : `${Math.round(Number(v)).toLocaleString()} ms`);
    const sec = unit;
    const worst = s.points.reduce((m, p) => (p.p99_ms > (m?.p99_ms ?? -1) ? p : m), null);
    return chart({
      title: `Push lag of ${conn.name}, per ${s.bucket}`,
      x,
      series: [
        { label: 'p50', values: s.points.map((p) => sec(p.p50_ms)), color: 0, format: fmt },
        { label: 'p99', values: s.points.map((p) => sec(p.p99_ms)), color: 3, format: fmt },
      ],
      timezone: s.timezone, xRange: [secs(s.from), secs(s.to)], yLabel: inSeconds ? 'Seconds' : 'Milliseconds',
      empty: `No push measured in the last ${d} days.`,
      summary: worst ? `${plural(Number(s.samples), 'push', 'pushes')} measured in the last ${d} days; the slowest ${s.bucket} was ${zonedTime(new Date(worst.at), s.timezone)} with p99 ${fmt(sec(worst.p99_ms))}.` : null,
      table: { caption: `Push lag per ${s.bucket} (${s.timezone})`, columns: [`${s.bucket === 'day' ? 'Day' : 'Hour'} (${s.timezone})`, 'Pushes', 'p50', 'p99', 'Slowest'],
        rows: s.points.map((p) => [zonedTime(new Date(p.at), s.timezone, { time: s.bucket !== 'day' }), qty(p.samples), fmt(sec(p.p50_ms)), fmt(sec(p.p99_ms)), fmt(sec(p.max_ms))]) },
    });
  });
}
