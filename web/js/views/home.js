// home.js — the portfolio home: every brand's health at a glance first
// (GET …/portfolios/<pid>/dashboard: totals on top, then a row per brand,
// worst first: exceptions needing someone by severity and kind, each count
// a link to the queue filtered so; oversells; stock-outs and low stock;
// each channel's state and push lag; stranded units; sell-through),
// refreshed every 30 seconds while shown; then every brand the user can
// see, with their role in it; admins create brands here.  Archived brands
// are listed on request.
import { api } from '../api.js';
import { h, uid, append, replace } from '../ui/dom.js';
import { createForm } from '../ui/form.js';
import { roleBadge, statusBadge, time } from '../ui/format.js';
import { autoRefresh, refreshBar } from '../ui/poll.js';
import { notify } from '../ui/notice.js';
import { pageHeader, panel } from '../ui/page.js';
import { pagedTable } from '../ui/table.js';
import { link } from '../router.js';
import { session, isAdmin, portfolioId, refreshBrands, refreshSession } from '../session.js';
import { timeZones, defaultTimeZone } from '../timezones.js';
import { channelList, kindList, oversellText, sellThrough, severityLine, stockText, totalsFigures, worstFirst } from './health.js';

const HEALTH_EVERY = 30000;

/** The health table: a row per brand, worst first. */
function healthTable(brands) {
  const sorted = [...brands].sort(worstFirst);
  const cols = [
    ['Brand', (b) => h('div', { class: 'cell-stack' }, h('a', { href: link('/brands', b.brand_id), class: 'strong-link', text: b.name }), h('span', { class: 'muted small', text: b.timezone }))],
    ['Needs someone', (b) => h('div', { class: 'cell-stack' }, severityLine(b.brand_id, b.exceptions), kindList(b.brand_id, b.exceptions && b.exceptions.by_kind))],
    ['Oversells', oversellText],
    ['Stock', (b) => stockText(b)],
    ['Channels', channelList],
    ['Sell-through (30 days)', sellThrough],
  ];
  return h('div', { class: 'table-wrap' }, h('table', { class: 'table health-table' },
    h('caption', { class: 'visually-hidden', text: 'Brands, worst first' }),
    h('thead', {}, h('tr', {}, cols.map(([label, , cls]) => h('th', { scope: 'col', class: cls, text: label })))),
    h('tbody', {}, sorted.map((b) => h('tr', { dataset: { brand: b.brand_id } }, cols.map(([label, fn, cls]) => h('td', { class: cls, 'data-label': label }, fn(b))))))));
}

export async function render({ root, query, setTitle, alive }) {
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

  // Health first: what needs someone, brand by brand.
  const healthBody = h('div', { class: 'health-body' });
  const dashboardUrl = `/api/v1/portfolios/${portfolioId()}/dashboard`;
  const drawHealth = (d) => {
    if (!d.brands.length) {
      replace(healthBody, h('p', { class: 'muted', text: 'No brand to watch yet.' }));
      return;
    }
    replace(healthBody, totalsFigures(d.totals || {}), healthTable(d.brands));
  };
  try {
    drawHealth(await api.get(dashboardUrl));
  } catch (err) {
    replace(healthBody, h('p', { class: 'error-text', text: `The brands' health could not be read: ${err.message}` }));
  }
  const bar = refreshBar(null, { what: 'the health of your brands', every: HEALTH_EVERY });
  const poller = autoRefresh({
    every: HEALTH_EVERY,
    alive,
    // A refresh leaves the panel alone while someone is in it (focus stays on the link they reached).
    run: async () => {
      const d = await api.get(dashboardUrl);
      if (!healthBody.contains(document.activeElement)) drawHealth(d);
    },
    onDone: () => bar.mark(),
    onError: (err) => bar.fail(err),
  });
  bar.bind(poller);
  bar.mark();

  append(root, [
    pageHeader({
      title: me.portfolio.name,
      crumbs: [{ label: 'Portfolio' }],
      meta: h('span', { class: 'muted', text: isAdmin() ? 'You are a portfolio admin: you see every brand.' : 'The brands you belong to.' }),
      actions: newButton,
    }),
    createPanel,
    panel({
      title: 'Health',
      id: 'health',
      description: 'Every brand, worst first. Each count opens the exception queue filtered to it.',
      actions: h('a', { href: '#/portfolio/exceptions', class: 'button', text: 'Open the exception queue' }),
    }, healthBody, bar.el),
    panel({
      title: 'Brands',
      actions: h('label', { for: archivedId, class: 'toggle' }, archivedToggle, ' Show archived brands'),
    }, table.el)]);
}
