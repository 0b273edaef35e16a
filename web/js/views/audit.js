// audit.js — the audit log of a brand (anyone who reads the brand) or of the
// portfolio (admins: portfolio actions and every brand's), newest first,
// filtered by action prefix (kept in the address: #/…/audit?action=token.).
import { api } from '../api.js';
import { h } from '../ui/dom.js';
import { createForm } from '../ui/form.js';
import { pageHeader, panel } from '../ui/page.js';
import { pagedTable } from '../ui/table.js';
import { link } from '../router.js';
import { portfolioId } from '../session.js';
import { peopleDirectory, brandDirectory } from '../directory.js';
import { brandFrame } from './brand-frame.js';
import { ACTION_PREFIXES, auditColumns, auditKey } from './audit-entries.js';

export async function render(ctx) {
  const { root, route, query, params } = ctx;
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
  let action = query.get('action') || '';

  const table = pagedTable({
    caption: 'Audit entries, newest first',
    empty: () => (action ? 'No entries match this filter.' : 'No entries yet.'),
    key: auditKey,
    columns: auditColumns({ people, brands, withBrand: !isBrand }),
    load: (cursor) => api.get(path, { action, cursor, limit: 50 }),
  });

  const here = isBrand ? link('/brands', params.bid, 'audit') : '#/portfolio/audit';
  const clear = h('button', { type: 'button', class: 'button', text: 'Clear' });
  const filter = createForm({
    label: 'Filter audit entries',
    layout: 'inline',
    submitLabel: 'Filter',
    fields: [{ name: 'action', label: 'Action starts with', value: action, list: ACTION_PREFIXES, placeholder: 'e.g. token.' }],
    secondary: clear,
    async onSubmit(values) {
      action = values.action;
      history.replaceState(null, '', action ? `${here}?action=${encodeURIComponent(action)}` : here);
      await table.reload();
    },
  });
  clear.addEventListener('click', () => {
    filter.control('action').value = '';
    filter.el.requestSubmit();
  });

  body.append(panel({ title: isBrand ? 'Audit log' : 'All activity', description: isBrand ? 'Newest first. Times are in the brand’s time zone.' : 'Newest first. Times are in your browser’s time zone, named beside each.' },
    filter.el, table.el));
}
