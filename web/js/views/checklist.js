// checklist.js — #/portfolio/checklist: the SOP's human steps across the
// brands the user sees (GET …/portfolios/<pid>/checklist): open by default,
// "Mine" (assigned to me), one brand, overdue only (?state=&mine=1&brand=
// &overdue=1).  Each item: due time at the brand's wall time (overdue
// marked), the step with what "done" means and its instructions, role and
// assignee.  Operators and up of the item's brand complete it with a note,
// skip it, or assign it to a member (admins pick from the portfolio's
// people, brand owners from the brand's members, others take it
// themselves).  Portfolio admins hand over every step and open item of one
// person to another.
import { api, getAll } from '../api.js';
import { h, replace } from '../ui/dom.js';
import { createForm, filterForm } from '../ui/form.js';
import { plural, roleLabel, shortId, time } from '../ui/format.js';
import { notify } from '../ui/notice.js';
import { busy, pageHeader, panel, rowButton } from '../ui/page.js';
import { pagedTable } from '../ui/table.js';
import { link } from '../router.js';
import { canInventory, canManage, isAdmin, portfolioId, roleIn, session } from '../session.js';
import { zoneTime } from './sop-words.js';

const STATES = { open: 'Open', done: 'Done', skipped: 'Skipped' };

export async function render(ctx) {
  ctx.setTitle('Checklist', 'Portfolio');
  const pid = portfolioId();
  const url = `/api/v1/portfolios/${pid}/checklist`;
  const here = '#/portfolio/checklist';
  const q = ctx.query;
  const filters = {
    state: STATES[q.get('state')] ? q.get('state') : 'open',
    mine: q.get('mine') === '1',
    brand: q.get('brand') || '',
    overdue: q.get('overdue') === '1',
  };
  const query = (cursor) => ({ state: filters.state, assignee: filters.mine ? 'me' : '', brand_id: filters.brand, overdue: filters.overdue ? 'true' : '', cursor });
  const first = await api.get(url, query(null)); // a 403 is the page's error
  const admin = isAdmin();
  const me = session.me.user;
  const people = admin ? await getAll(`/api/v1/portfolios/${pid}/members`).catch(() => []) : [];
  const zone = (id) => session.brands.find((b) => b.id === id)?.timezone;
  const personLabel = (p) => (p.name ? `${p.name} (${p.email})` : p.email);

  ctx.root.append(pageHeader({
    title: 'Checklist',
    crumbs: [{ label: 'Portfolio', href: '#/' }, { label: 'Checklist' }],
    meta: h('span', { class: 'muted', text: 'The human steps of the SOP: each opens when its step falls due and is due some time later.' }),
  }));

  /** Who an item of this brand may be assigned to: [{value, label}]. */
  const brandMembers = new Map();
  async function candidates(brandId) {
    if (admin) {
      return people.filter((p) => !p.disabled && p.memberships.some((m) => m.brand_id === brandId || m.role === 'portfolio_admin'))
        .map((p) => ({ value: p.user_id, label: personLabel(p) }));
    }
    if (canManage(roleIn(brandId))) {
      if (!brandMembers.has(brandId)) brandMembers.set(brandId, await getAll(`/api/v1/brands/${brandId}/members`).catch(() => []));
      return brandMembers.get(brandId).filter((p) => !p.disabled).map((p) => ({ value: p.user_id, label: personLabel(p) }));
    }
    return [{ value: me.id, label: `Me (${me.name || me.email})` }];
  }

  // --- the action box: complete, skip or assign one item --------------------------------
  const actionBox = h('div', { class: 'checklist-action' });
  let tableCtl = null;
  function closeAction(opener) {
    replace(actionBox);
    if (opener && opener.isConnected) opener.focus();
  }
  function completeForm(item, state, opener) {
    const verb = state === 'done' ? 'Complete' : 'Skip';
    const form = createForm({
      label: `${verb} ${item.title}`,
      submitLabel: state === 'done' ? 'Mark done' : 'Skip this time',
      fields: [{ name: 'note', label: state === 'done' ? 'Note (what was done)' : 'Note (why it is skipped)', type: 'textarea', maxlength: 2000, required: state === 'skipped' }],
      secondary: h('button', { type: 'button', class: 'button', text: 'Cancel', onclick: () => closeAction(opener) }),
      async onSubmit(v) {
        const body = { state };
        if (v.note) body.note = v.note;
        const saved = await api.post(`/api/v1/brands/${item.brand_id}/checklist/${item.id}/complete`, body);
        notify(`${saved.title} (${saved.brand || 'brand'}) is ${saved.state === 'done' ? 'done' : 'skipped'}`);
        closeAction();
        await tableCtl.reload();
      },
    });
    replace(actionBox, h('section', { class: 'subpanel', 'aria-label': `${verb} ${item.title}` },
      h('h3', { text: `${verb}: ${item.title} — ${item.brand || ''}` }),
      item.done_when ? h('p', {}, h('strong', { text: 'Done when: ' }), item.done_when) : null, form.el));
    form.control('note').focus();
  }
  async function assignForm(item, opener) {
    const options = [{ value: '', label: `Nobody: anyone with the ${roleLabel(item.role).toLowerCase()} role` }].concat(await candidates(item.brand_id));
    const form = createForm({
      label: `Assign ${item.title}`,
      submitLabel: 'Assign',
      fields: [{ name: 'user_id', label: 'Assign to', type: 'select', options, value: item.assignee || '' }],
      secondary: h('button', { type: 'button', class: 'button', text: 'Cancel', onclick: () => closeAction(opener) }),
      async onSubmit(v) {
        const saved = await api.post(`/api/v1/brands/${item.brand_id}/checklist/${item.id}/assign`, { user_id: v.user_id || null });
        notify(saved.assignee ? `${saved.title} is assigned to ${saved.assignee_name || 'them'}` : `${saved.title} is for anyone with the role again`);
        closeAction();
        await tableCtl.reload();
      },
    });
    if (item.assignee && !options.some((o) => o.value === item.assignee)) form.control('user_id').append(h('option', { value: item.assignee, text: item.assignee_name || shortId(item.assignee) }));
    form.control('user_id').value = item.assignee || '';
    replace(actionBox, h('section', { class: 'subpanel', 'aria-label': `Assign ${item.title}` },
      h('h3', { text: `Assign: ${item.title} — ${item.brand || ''}` }), form.el));
    form.control('user_id').focus();
  }

  function actions(item) {
    if (item.state !== 'open' || !canInventory(roleIn(item.brand_id))) return null;
    const name = `${item.title} (${item.brand || 'brand'})`;
    return h('div', { class: 'inline-control' },
      rowButton('Complete…', (ev) => completeForm(item, 'done', ev.target), { ariaLabel: `Complete ${name}` }),
      rowButton('Skip…', (ev) => completeForm(item, 'skipped', ev.target), { ariaLabel: `Skip ${name}` }),
      rowButton('Assign…', (ev) => busy(ev.target, () => assignForm(item, ev.target)), { ariaLabel: `Assign ${name}` }));
  }

  tableCtl = pagedTable({
    caption: 'Checklist items, soonest due first',
    empty: () => (filters.state === 'open' ? 'Nothing to do: no open checklist item matches.' : 'No checklist item matches.'),
    rowClass: (x) => (x.overdue && x.state === 'open' ? 'row-overdue' : null),
    columns: [
      { label: 'Due', render: (x) => h('div', { class: 'cell-stack' }, zoneTime(x.due_at, zone(x.brand_id)),
        x.overdue && x.state === 'open' ? h('span', { class: 'badge badge-danger', text: 'Overdue' }) : null,
        x.state !== 'open' ? h('span', { class: ['badge', x.state === 'done' ? 'badge-ok' : 'badge-muted'], text: STATES[x.state] }) : null) },
      { label: 'Brand', render: (x) => h('a', { href: link('/brands', x.brand_id, 'sop'), text: x.brand || shortId(x.brand_id) }) },
      { label: 'Step', render: (x) => h('div', { class: 'cell-stack' }, h('strong', { text: x.title }),
        x.done_when ? h('span', { class: 'small' }, 'Done when: ', x.done_when) : null,
        x.instructions ? h('span', { class: 'muted small', text: x.instructions }) : null,
        x.note ? h('span', { class: 'small' }, 'Note: ', x.note) : null) },
      { label: 'Opened', render: (x) => zoneTime(x.opened_at, zone(x.brand_id)) },
      { label: 'Who', render: (x) => h('div', { class: 'cell-stack' },
        x.assignee ? h('span', { text: x.assignee === me.id ? `${x.assignee_name || 'me'} (me)` : x.assignee_name || shortId(x.assignee) })
          : h('span', { class: 'muted', text: `any ${roleLabel(x.role).toLowerCase()}` }),
        x.completed_by ? h('span', { class: 'muted small' }, `${STATES[x.state]} by ${x.completed_by_name || shortId(x.completed_by)} `, time(x.completed_at)) : null) },
      { label: 'Actions', class: 'actions', render: (x) => actions(x) },
    ],
    first,
    load: (cursor) => api.get(url, query(cursor)),
  });

  const brandOptions = [{ value: '', label: 'All brands' }].concat(session.brands.map((b) => ({ value: b.id, label: b.name })));
  const filter = filterForm({
    label: 'Which items',
    filters,
    here,
    fields: [
      { name: 'state', label: 'State', type: 'select', required: true, value: filters.state, options: Object.entries(STATES).map(([value, label]) => ({ value, label })) },
      { name: 'brand', label: 'Brand', type: 'select', value: filters.brand, options: brandOptions },
      { name: 'mine', label: 'Mine (assigned to me)', type: 'checkbox', value: filters.mine },
      { name: 'overdue', label: 'Overdue only', type: 'checkbox', value: filters.overdue },
    ],
    apply: async () => {
      closeAction();
      await tableCtl.reload();
    },
  });
  filter.control('brand').value = filters.brand;

  ctx.root.append(panel({ title: 'Checklist items', id: 'checklist' }, filter.el, tableCtl.el, actionBox));

  // --- hand-over (admins) ---------------------------------------------------------------
  if (admin) {
    const active = people.filter((p) => !p.disabled).map((p) => ({ value: p.user_id, label: personLabel(p) }));
    const result = h('p', { role: 'status', class: 'handover-result' });
    const form = createForm({
      label: 'Hand over',
      submitLabel: 'Hand over',
      fields: [
        { name: 'from_user_id', label: 'From', type: 'select', required: true, options: active },
        { name: 'to_user_id', label: 'To', type: 'select', required: true, options: active },
        { name: 'reason', label: 'Reason', required: true, maxlength: 500, hint: 'Kept with the SOP\u2019s new version and in the audit log.' },
      ],
      async onSubmit(v) {
        const r = await api.post(`/api/v1/portfolios/${pid}/sop/handover`, v);
        const from = active.find((p) => p.value === r.from_user_id)?.label || 'them';
        const to = active.find((p) => p.value === r.to_user_id)?.label || 'the other person';
        result.textContent = `Handed over from ${from} to ${to}: ${plural(r.steps, 'SOP step')} and ${plural(r.open_items, 'open item')} moved.`;
        notify(`${plural(r.steps, 'step')} and ${plural(r.open_items, 'open item')} handed over`);
        form.control('reason').value = '';
        await tableCtl.reload();
      },
    });
    ctx.root.append(panel({ title: 'Hand over', id: 'handover', description: 'When someone leaves or changes role: every SOP step assigned to them and every open checklist item they hold goes to another person, in one action.' }, form.el, result));
  }
}
