// schedule.js — #/portfolio/schedule: what the scheduler will run in the
// coming 24 hours (or 48, 72) across the brands the user sees, soonest
// first (GET …/portfolios/<pid>/schedule?hours=); filtered by brand
// (?hours=&brand=); steps that run more than a few times in the window
// are counted, not listed run by run.  Each run at the brand's wall time with its zone, the
// step, the connection and the cadence in words.
import { api } from '../api.js';
import { h, replace } from '../ui/dom.js';
import { filterForm } from '../ui/form.js';
import { plural } from '../ui/format.js';
import { pageHeader, panel } from '../ui/page.js';
import { link } from '../router.js';
import { portfolioId, session } from '../session.js';
import { cronWords, zoneTime } from './sop-words.js';
import { every, routineLabel } from './sync-words.js';

const OFTEN = 4;

/** The schedule's "cadence" ("0 7 * * *" or "every 600 s") in words. */
function cadenceWords(c) {
  const m = /^every (\d+) s$/.exec(c || '');
  if (m) return every(Number(m[1]));
  return cronWords(c) || c;
}

export async function render(ctx) {
  ctx.setTitle('Schedule', 'Portfolio');
  const here = '#/portfolio/schedule';
  const filters = { hours: ['24', '48', '72'].includes(ctx.query.get('hours')) ? ctx.query.get('hours') : '24', brand: ctx.query.get('brand') || '' };
  const url = `/api/v1/portfolios/${portfolioId()}/schedule`;
  let answer = await api.get(url, { hours: filters.hours }); // a 403 is the page's error
  const zone = (id) => session.brands.find((b) => b.id === id)?.timezone;

  ctx.root.append(pageHeader({
    title: 'Schedule',
    crumbs: [{ label: 'Portfolio', href: '#/' }, { label: 'Schedule' }],
    meta: h('span', { class: 'muted', text: 'What the SOP runs next in each brand, soonest first, at the brand\u2019s own time.' }),
  }));

  const out = h('div', {});
  const brandOptions = [{ value: '', label: 'All brands' }].concat(session.brands.map((b) => ({ value: b.id, label: b.name })));
  const form = filterForm({
    label: 'Which runs',
    submitLabel: 'Show',
    filters,
    here,
    fields: [
      { name: 'hours', label: 'Coming', type: 'select', required: true, value: filters.hours,
        options: [{ value: '24', label: '24 hours' }, { value: '48', label: '48 hours' }, { value: '72', label: '72 hours' }] },
      { name: 'brand', label: 'Brand', type: 'select', value: filters.brand, options: brandOptions },
    ],
    async apply() {
      answer = await api.get(url, { hours: filters.hours });
      draw();
    },
  });
  form.control('brand').value = filters.brand;

  function draw() {
    const items = answer.items.filter((x) => !filters.brand || x.brand_id === filters.brand);
    // Steps that run more than OFTEN times in the window would fill the list:
    // they are counted per step (first run, how many), the rest listed run by run.
    const count = new Map();
    for (const x of items) count.set(x.routine_id, (count.get(x.routine_id) || 0) + 1);
    const frequent = new Map();
    const listed = [];
    for (const x of items) {
      if (count.get(x.routine_id) > OFTEN) {
        if (!frequent.has(x.routine_id)) frequent.set(x.routine_id, { ...x, runs: count.get(x.routine_id) });
      } else listed.push(x);
    }
    const row = (x) => h('tr', { dataset: { step: x.step_key || x.kind, brand: x.brand_id } },
      h('td', { 'data-label': 'When' }, zoneTime(x.at, zone(x.brand_id))),
      h('td', { 'data-label': 'Brand' }, h('a', { href: link('/brands', x.brand_id, 'sop'), text: x.brand || x.brand_id })),
      h('td', { 'data-label': 'Step' }, h('div', { class: 'cell-stack' }, h('strong', { text: x.title || routineLabel(x.kind) }),
        h('span', { class: 'muted small', text: routineLabel(x.kind) }))),
      h('td', { 'data-label': 'Connection' }, x.connection || h('span', { class: 'muted', text: 'whole brand' })),
      h('td', { 'data-label': 'Cadence', text: cadenceWords(x.cadence) }));
    const table = (caption, rows, cols = ['When', 'Brand', 'Step', 'Connection', 'Cadence']) => h('div', { class: 'table-wrap' },
      h('table', { class: 'table schedule' }, h('caption', { class: 'visually-hidden', text: caption }),
        h('thead', {}, h('tr', {}, cols.map((c) => h('th', { scope: 'col', text: c })))), h('tbody', {}, rows)));
    replace(out,
      h('p', { class: 'muted', role: 'status', text: `${plural(listed.length, 'run')} in the coming ${filters.hours} hours${filters.brand ? '' : ' across your brands'}, soonest first.` }),
      listed.length ? table('Runs in the coming hours, soonest first', listed.map(row)) : h('p', { class: 'muted', text: 'Nothing scheduled in this window.' }),
      frequent.size ? [h('h3', { text: 'Steps that run often' }),
        h('p', { class: 'muted small', text: `Steps that run more than ${OFTEN} times in the window: their next run and how many runs fall in it.` }),
        table('Steps that run often', [...frequent.values()].map((x) => {
          const tr = row(x);
          tr.append(h('td', { 'data-label': 'Runs', text: String(x.runs) }));
          return tr;
        }), ['First run', 'Brand', 'Step', 'Connection', 'Cadence', 'Runs'])] : null);
  }
  draw();
  ctx.root.append(panel({ title: 'Coming runs', id: 'schedule' }, form.el, out));
}
