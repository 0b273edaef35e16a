// chart.js — charts drawn by uPlot (web/vendor/uplot, vendored at a pinned
// version), the one place the console uses it.  A chart is a <figure>: its
// title, the plot (sized to its container, redrawn when the container or the
// colour scheme changes), uPlot's legend naming every series, a sentence
// that says what the chart shows, and the same numbers as a table under a
// "Show the numbers" disclosure, for screen readers and for copying.  With
// no data the figure says so in words and draws nothing.
//
// Times on the axis and in the legend are the brand's time zone (uPlot's
// tzDate).  Colours come from the stylesheet (--chart-1 … --chart-6, axis,
// grid: css/app.css), light or dark as the system is; nothing is styled from
// here (uPlot sizes its own canvas through the CSS object model, which the
// content security policy allows).
import uPlot from '../../vendor/uplot/uPlot.esm.js';
import { h } from './dom.js';

const DARK = typeof matchMedia === 'function' ? matchMedia('(prefers-color-scheme: dark)') : null;

function tokens(el) {
  const cs = getComputedStyle(el);
  const v = (name, dflt) => cs.getPropertyValue(name).trim() || dflt;
  return {
    series: [1, 2, 3, 4, 5, 6].map((i) => v(`--chart-${i}`, '#1f4e79')),
    axis: v('--chart-axis', '#5a6474'),
    grid: v('--chart-grid', '#dde1e7'),
    font: `12px ${v('--font', 'sans-serif')}`,
  };
}

/** "12 Mar 14:05" in `tz` (a Date or unix seconds). */
export function zonedTime(t, tz, { date = true, time = true } = {}) {
  const d = t instanceof Date ? t : new Date(t * 1000);
  const f = new Intl.DateTimeFormat(undefined, {
    timeZone: tz || undefined,
    ...(date ? { day: 'numeric', month: 'short' } : {}),
    ...(time ? { hour: '2-digit', minute: '2-digit' } : {}),
  });
  return f.format(d);
}

/** A calendar date "2026-03-12" as "12 Mar" (no time zone: it is a day of the brand's calendar). */
export function dayLabel(iso) {
  const [y, m, d] = iso.split('-').map(Number);
  return new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short', timeZone: 'UTC' }).format(new Date(Date.UTC(y, m - 1, d)));
}

function numbersTable(table) {
  // every column after the first holds numbers, except those named in table.text
  const numeric = (i) => i > 0 && !(table.text || []).includes(i);
  return h('details', { class: 'chart-numbers' },
    h('summary', { text: table.toggle || 'Show the numbers' }),
    h('div', { class: 'table-wrap' }, h('table', { class: 'table table-compact' },
      h('caption', { class: 'visually-hidden', text: table.caption }),
      h('thead', {}, h('tr', {}, table.columns.map((c, i) => h('th', { scope: 'col', class: numeric(i) ? 'num' : null, text: c })))),
      h('tbody', {}, table.rows.map((r) => h('tr', {}, r.map((c, i) => (i === 0
        ? h('th', { scope: 'row', text: c ?? '' })
        : h('td', { class: numeric(i) ? 'num' : null, 'data-label': table.columns[i], text: c ?? '' })))))))));
}

/**
 * A chart in a figure.
 *   title      the figure's caption (also the canvas's accessible name)
 *   x          the x values: unix seconds (time: true) or 0…n-1 (categories)
 *   series     [{label, values (same length as x, null = no value here), step, bars, points, dash}]
 *   timezone   IANA zone for a time axis
 *   categories labels of x for a category axis (bars per SKU, days), named `categoryLabel` in the legend
 *   xRange     [min, max] of a time axis (the window), else the data's
 *   yLabel     the y axis's name
 *   summary    a sentence (string or nodes): what the chart shows, in words
 *   table      {caption, columns, rows, text}: the numbers (`text`: indexes of columns that are words)
 *   empty      the words shown instead when there is nothing to draw
 *   height     the plot's height in pixels (260)
 *   xValue     how the legend writes an x value (default: the time in `timezone`)
 */
export function chart({ title, x, series, timezone = null, categories = null, xRange = null, yLabel = '',
  summary = null, table = null, empty = 'Nothing to show yet.', height = 260, xValue = null, categoryLabel = 'SKU' }) {
  const hasData = x.length > 0 && series.some((s) => s.values.some((v) => v !== null && v !== undefined));
  const plot = h('div', { class: 'chart-plot', role: 'img', 'aria-label': title });
  const fig = h('figure', { class: 'chart' },
    h('figcaption', { class: 'chart-title', text: title }),
    hasData ? plot : h('p', { class: 'chart-empty muted', text: empty }),
    hasData && summary ? h('p', { class: 'chart-summary' }, summary) : null,
    hasData && table ? numbersTable(table) : null);
  if (!hasData) return fig;

  let u = null;
  let width = 0;
  const build = () => {
    if (u) u.destroy();
    const t = tokens(fig);
    const axis = { stroke: t.axis, font: t.font, labelFont: t.font, grid: { stroke: t.grid, width: 1 }, ticks: { stroke: t.grid, width: 1 } };
    const isTime = !categories;
    const opts = {
      width,
      height,
      title: undefined,
      tzDate: isTime && timezone ? (ts) => uPlot.tzDate(new Date(ts * 1e3), timezone) : undefined,
      scales: {
        x: isTime ? { time: true, ...(xRange ? { range: () => xRange } : {}) }
          : { time: false, range: () => [-0.6, categories.length - 0.4] },
        y: { range: (self, min, max) => [Math.min(0, min), max > 0 ? Math.ceil(max * 1.1) : 1] },
      },
      axes: [
        isTime ? { ...axis } : {
          ...axis,
          // one label per category while they fit (about 80 px each), else every n-th
          splits: (self) => {
            const step = Math.max(1, Math.ceil((categories.length * 80) / Math.max(1, self.bbox.width / devicePixelRatio)));
            return categories.map((_, i) => i).filter((i) => (categories.length - 1 - i) % step === 0);
          },
          values: (self, splits) => splits.map((i) => categories[i] ?? ''),
        },
        { ...axis, label: yLabel, labelSize: yLabel ? 20 : 0, size: 56 },
      ],
      legend: { show: true, live: true },
      cursor: { drag: { x: false, y: false }, points: { size: 7 } },
      series: [
        isTime
          ? { label: 'Time', value: (self, v) => (v == null ? '—' : xValue ? xValue(v) : zonedTime(v, timezone)) }
          : { label: categoryLabel, value: (self, v) => (v == null ? '—' : categories[Math.round(v)] ?? '') },
        ...series.map((s, i) => {
          const color = t.series[(s.color ?? i) % t.series.length];
          const paths = s.bars ? uPlot.paths.bars({ size: [0.6, 48] }) : s.step ? uPlot.paths.stepped({ align: 1 }) : undefined;
          return {
            label: s.label,
            stroke: color,
            fill: s.bars ? color : undefined,
            width: s.bars ? 1 : 2,
            dash: s.dash ? [6, 4] : undefined,
            paths,
            spanGaps: !s.bars,
            points: { show: s.points ?? !s.bars, size: 5, fill: color },
            value: (self, v) => (v == null ? '—' : `${s.format ? s.format(v) : v}`),
          };
        }),
      ],
    };
    u = new uPlot(opts, [x, ...series.map((s) => s.values)], plot);
  };
  const ro = new ResizeObserver((entries) => {
    const w = Math.floor(entries[0].contentRect.width);
    if (w > 0 && w !== width) {
      width = w;
      if (u) u.setSize({ width, height });
      else build();
    }
  });
  ro.observe(plot);
  if (DARK) {
    const again = () => {
      if (!fig.isConnected) {
        DARK.removeEventListener('change', again);
        ro.disconnect();
        return;
      }
      if (u) build();
    };
    DARK.addEventListener('change', again);
  }
  return fig;
}

/**
 * Joins series sampled at different moments onto one x axis (uPlot's data is
 * aligned): each input {at: [unix seconds], values: []}; a series has null
 * where it has no point of its own (drawn as a step line across it).
 */
export function alignSeries(inputs) {
  const xs = [...new Set(inputs.flatMap((s) => s.at))].sort((a, b) => a - b);
  const pos = new Map(xs.map((t, i) => [t, i]));
  const out = inputs.map((s) => {
    const v = new Array(xs.length).fill(null);
    s.at.forEach((t, i) => { v[pos.get(t)] = s.values[i]; });
    return v;
  });
  return { x: xs, values: out };
}
