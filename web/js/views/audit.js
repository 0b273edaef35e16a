// audit.js — the audit log of a brand (anyone who reads the brand) or of the
// portfolio (admins: portfolio actions and every brand's), newest first,
// filtered by action prefix, actor, days (from/to, both included, in the
// brand's time zone; the portfolio's log without a brand in the browser's)
// and, for the portfolio, brand — kept in the address
// (#/…/audit?action=token.&actor=&from=&to=&brand=) — and downloaded as
// audit.csv with the same filters.
import { api, fetchFile } from '../api.js';
import { h, sentence } from '../ui/dom.js';
import { filterForm } from '../ui/form.js';
import { qty } from '../ui/format.js';
import { dayStart, dayAfterStart, browserZone } from '../ui/zoned.js';
import { pageHeader, panel } from '../ui/page.js';
import { pagedTable } from '../ui/table.js';
import { link } from '../router.js';
import { session } from '../session.js';
import { portfolioId } from '../session.js';
import { peopleDirectory, brandDirectory } from '../directory.js';
import { brandFrame } from './brand-frame.js';
import { ACTION_PREFIXES, auditColumns, auditKey } from './audit-entries.js';

export async function render(ctx) {
  const { root, route, query, params: params0 } = ctx;
  const isBrand = route.scope === 'brand';
  let body = root;
  let brand = null;
  let path;
  if (isBrand) {
    ({ brand, body } = await brandFrame(ctx, 'audit', 'Audit log'));
    path = `/api/v1/brands/${brand.id}/audit`;
  } else {
    ctx.setTitle('Audit log', 'Portfolio');
    root.append(pageHeader({ title: 'Audit log', crumbs: [{ label: 'Portfolio', href: '#/' }, { label: 'Audit log' }],
      meta: h('span', { class: 'muted', text: 'Everything done in the portfolio and in each of its brands.' }) }));
    path = `/api/v1/portfolios/${portfolioId()}/audit`;
    // Ask the server first: a non-admin who opens this address sees its 403, not an empty page.
    await api.get(path, { limit: 1 });
  }

  const [people, brands] = await Promise.all([
    peopleDirectory({ brandId: brand && brand.id, role: brand && brand.your_role }),
    brandDirectory(),
  ]);
  const f = {
    action: query.get('action') || '',
    actor: query.get('actor') || '',
    brand: isBrand ? '' : (query.get('brand') || ''),
    from: query.get('from') || '',
    to: query.get('to') || '',
  };
  const brandZone = (id) => (session.brands.find((b) => b.id === id) || {}).timezone;
  const zone = () => (isBrand ? brand.timezone : (f.brand && brandZone(f.brand))) || browserZone();
  const params = () => ({
    action: f.action || null,
    actor: f.actor || null,
    brand: f.brand || null,
    from: dayStart(f.from, zone()),
    to: dayAfterStart(f.to, zone()),
  });

  const table = pagedTable({
    caption: 'Audit entries, newest first',
    empty: () => {
      const n = Object.values(f).filter(Boolean).length;
      return n === 0 ? 'No entries yet.' : (n === 1 ? 'No entries match this filter.' : 'No entries match these filters.');
    },
    key: auditKey,
    columns: auditColumns({ people, brands, withBrand: !isBrand }),
    load: (cursor) => api.get(path, { ...params(), cursor, limit: 50 }),
  });

  const here = isBrand ? link('/brands', params0.bid, 'audit') : '#/portfolio/audit';
  const actorOptions = [{ value: '', label: 'Anyone' },
    ...[...people.entries()].map(([id, p]) => ({ value: id, label: p.name ? `${p.name} (${p.email})` : p.email }))
      .sort((a, b) => a.label.localeCompare(b.label))];
  if (f.actor && !people.has(f.actor)) actorOptions.push({ value: f.actor, label: `Someone else (${f.actor.split('-')[0]})` });
  const brandOptions = [{ value: '', label: 'The portfolio and every brand' },
    ...[...brands.entries()].map(([id, name]) => ({ value: id, label: name })).sort((a, b) => a.label.localeCompare(b.label))];
  const zoneNote = h('p', { class: 'muted small', 'aria-live': 'polite' });
  const showZone = () => { zoneNote.textContent = `Days run midnight to midnight in ${zone()}${isBrand ? ', the brand’s time zone' : (f.brand ? ', that brand’s time zone' : ', your browser’s time zone')}; both days are included.`; };
  showZone();
  const clear = h('button', { type: 'button', class: 'button', text: 'Clear' });
  const filter = filterForm({
    label: 'Filter audit entries',
    filters: f,
    here,
    apply: async () => {
      showZone();
      // the first page asked here, so a refused filter is said under its field
      await table.reload(await api.get(path, { ...params(), limit: 50 }));
    },
    fields: [
      { name: 'action', label: 'Action starts with', value: f.action, list: ACTION_PREFIXES, placeholder: 'e.g. token.' },
      { name: 'actor', label: 'Done by', type: 'select', value: f.actor, options: actorOptions, optional: false },
      isBrand ? null : { name: 'brand', label: 'Brand', type: 'select', value: f.brand, options: brandOptions, optional: false },
      { name: 'from', label: 'From day', type: 'date', value: f.from },
      { name: 'to', label: 'To day (included)', type: 'date', value: f.to },
    ].filter(Boolean),
    secondary: clear,
  });
  clear.addEventListener('click', () => {
    for (const name of ['action', 'actor', 'brand', 'from', 'to']) {
      const c = filter.control(name);
      if (c) c.value = '';
    }
    filter.el.requestSubmit();
  });

  // --- export: the same filters, as audit.csv ----------------------------------------------
  const exportPath = isBrand ? `/api/v1/brands/${brand.id}/exports/audit.csv` : `/api/v1/portfolios/${portfolioId()}/exports/audit.csv`;
  const exportSlot = h('div', { class: 'result-slot' });
  const exportButton = h('button', { type: 'button', class: 'button', text: 'Export these entries (CSV)' });
  exportButton.addEventListener('click', async () => {
    exportButton.disabled = true;
    exportSlot.replaceChildren(h('p', { class: 'muted', role: 'status', text: 'Preparing audit.csv…' }));
    try {
      const q = params();
      if (isBrand) delete q.brand;
      const { blob, filename } = await fetchFile(exportPath, q);
      const url = URL.createObjectURL(blob);
      const save = h('a', { href: url, download: filename, hidden: true });
      document.body.append(save);
      save.click();
      save.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60000);
      const rows = Math.max(0, (await blob.text()).split('\r\n').filter(Boolean).length - 1);
      exportSlot.replaceChildren(h('p', { class: 'muted', role: 'status', text: `${filename} downloaded: ${qty(rows)} ${rows === 1 ? 'entry' : 'entries'}, oldest first (${qty(blob.size)} bytes).` }));
    } catch (err) {
      if (!(err.handled && err.status === 401)) {
        exportSlot.replaceChildren(h('p', { class: 'form-error', role: 'alert', text: `The export was refused: ${sentence(err.message)}` }));
      }
    } finally {
      exportButton.disabled = false;
    }
  });

  body.append(panel({
    title: isBrand ? 'Audit log' : 'All activity',
    description: `Newest first. ${isBrand ? 'Times are in the brand’s time zone.' : 'Times are in your browser’s time zone.'} The export holds every entry these filters show, oldest first.`,
    actions: exportButton,
  }, filter.el, zoneNote, exportSlot, table.el));
}
