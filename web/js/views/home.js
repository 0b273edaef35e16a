// home.js — the portfolio home: every brand the user can see, with their
// role in it; admins create brands here.  Archived brands are listed on
// request.
import { api } from '../api.js';
import { h, uid, append } from '../ui/dom.js';
import { createForm } from '../ui/form.js';
import { roleBadge, statusBadge, time } from '../ui/format.js';
import { notify } from '../ui/notice.js';
import { pageHeader, panel } from '../ui/page.js';
import { pagedTable } from '../ui/table.js';
import { link } from '../router.js';
import { session, isAdmin, portfolioId, refreshBrands, refreshSession } from '../session.js';
import { timeZones, defaultTimeZone } from '../timezones.js';

export function render({ root, query, setTitle }) {
  const me = session.me;
  setTitle('Brands');
  // Roles may have changed since sign-in (someone granted a brand): keep the navigation current.
  refreshSession().catch(() => {});
  let showArchived = query.get('archived') === '1';

  const table = pagedTable({
    caption: 'Brands',
    empty: isAdmin() ? 'No brands yet. Create the first one.' : 'You are not a member of any brand yet.',
    rowClass: (b) => (b.archived ? 'row-muted' : null),
    columns: [
      { label: 'Brand', render: (b) => h('a', { href: link('/brands', b.id), class: 'strong-link', text: b.name }) },
      { label: 'Your role', render: (b) => roleBadge(b.your_role) },
      { label: 'Time zone', render: (b) => b.timezone },
      { label: 'Status', render: (b) => (b.archived ? statusBadge('archived') : statusBadge('active')) },
      { label: 'Created', render: (b) => time(b.created_at) },
    ],
    load: (cursor) => api.get(`/api/v1/portfolios/${portfolioId()}/brands`, { include_archived: showArchived ? 'true' : null, cursor }),
  });

  const archivedId = uid('archived');
  const archivedToggle = h('input', { type: 'checkbox', id: archivedId, checked: showArchived });
  archivedToggle.addEventListener('change', () => {
    showArchived = archivedToggle.checked;
    history.replaceState(null, '', showArchived ? '#/?archived=1' : '#/');
    table.reload();
  });

  let createPanel = null;
  let newButton = null;
  if (isAdmin()) {
    const form = createForm({
      label: 'New brand',
      submitLabel: 'Create brand',
      layout: 'inline',
      fields: [
        { name: 'name', label: 'Name', required: true, maxlength: 200 },
        { name: 'timezone', label: 'Time zone', required: true, value: defaultTimeZone(), list: timeZones(), hint: 'IANA name, e.g. Europe/Berlin' },
      ],
      secondary: h('button', { type: 'button', class: 'button', text: 'Cancel', onclick: () => closeCreate() }),
      async onSubmit(values) {
        const brand = await api.post(`/api/v1/portfolios/${portfolioId()}/brands`, values);
        form.reset();
        form.control('timezone').value = defaultTimeZone();
        closeCreate();
        await Promise.all([refreshBrands(), table.reload()]);
        notify(`Brand “${brand.name}” created`);
      },
    });
    createPanel = panel({ title: 'New brand', id: 'new-brand' }, form.el);
    createPanel.hidden = true;
    newButton = h('button', { type: 'button', class: 'button button-primary', text: 'New brand', 'aria-expanded': 'false', 'aria-controls': 'new-brand' });
    newButton.addEventListener('click', () => {
      createPanel.hidden = false;
      newButton.setAttribute('aria-expanded', 'true');
      form.control('name').focus();
    });
    function closeCreate() {
      createPanel.hidden = true;
      newButton.setAttribute('aria-expanded', 'false');
      newButton.focus();
    }
  }

  append(root, [
    pageHeader({
      title: me.portfolio.name,
      crumbs: [{ label: 'Portfolio' }],
      meta: h('span', { class: 'muted', text: isAdmin() ? 'You are a portfolio admin: you see every brand.' : 'The brands you belong to.' }),
      actions: newButton,
    }),
    createPanel,
    panel({
      title: 'Brands',
      actions: h('label', { for: archivedId, class: 'toggle' }, archivedToggle, ' Show archived brands'),
    }, table.el)]);
}
