// portfolio-members.js — everyone in the portfolio with their memberships;
// disable a user (ends all their sessions); invite a portfolio admin or a
// member of any brand; list and revoke the portfolio's invitations.  Admins only.
import { api } from '../api.js';
import { h, sentence } from '../ui/dom.js';
import { createForm } from '../ui/form.js';
import { confirmDialog } from '../ui/dialog.js';
import { ROLE_HINTS, roleLabel, roleBadge, shortId, accountStatus, personCell, time } from '../ui/format.js';
import { notify } from '../ui/notice.js';
import { pageHeader, panel, rowButton, busy } from '../ui/page.js';
import { pagedTable } from '../ui/table.js';
import { link } from '../router.js';
import { session, portfolioId } from '../session.js';
import { brandDirectory } from '../directory.js';
import { showNewInvitation, invitationsTable } from './invitations.js';

const ROLES = ['viewer', 'operator', 'brand_owner', 'portfolio_admin'];

export async function render(ctx) {
  ctx.setTitle('People', 'Portfolio');
  const pid = portfolioId();
  ctx.root.append(pageHeader({ title: 'People', crumbs: [{ label: 'Portfolio', href: '#/' }, { label: 'People' }],
    meta: h('span', { class: 'muted', text: 'Everyone with an account in this portfolio, and the invitations sent.' }) }));
  const firstPeople = await api.get(`/api/v1/portfolios/${pid}/members`); // a 403 is the page's error
  const brands = await brandDirectory();
  const brandName = (id) => brands.get(id) || shortId(id);
  const myId = session.me.user.id;

  function membershipList(u) {
    if (!u.memberships.length) return h('span', { class: 'muted', text: 'no role' });
    return h('ul', { class: 'chips' }, u.memberships.map((m) => h('li', {},
      m.brand_id ? h('a', { href: link('/brands', m.brand_id, 'members'), text: brandName(m.brand_id) }) : h('span', { text: 'Portfolio' }),
      ' ', roleBadge(m.role))));
  }

  const people = pagedTable({
    caption: 'People',
    empty: 'Nobody yet.',
    key: (u) => u.user_id,
    rowClass: (u) => (u.disabled ? 'row-muted' : null),
    columns: [
      { label: 'Name', render: personCell },
      { label: 'Roles', render: (u) => membershipList(u) },
      { label: 'Status', render: accountStatus },
      { label: 'Joined', render: (u) => time(u.created_at) },
      { label: 'Actions', class: 'actions', render: (u, tbl) => (u.disabled || u.user_id === myId ? null : rowButton('Disable', async (ev) => {
        const ok = await confirmDialog({
          title: `Disable ${u.name || u.email}?`,
          message: 'They are signed out everywhere at once and can no longer sign in. Their API tokens stop working. There is no way to enable the account again from the console.',
          confirmLabel: 'Disable user',
          danger: true,
        });
        if (!ok) return;
        await busy(ev.target, async () => {
          try {
            await api.del(`/api/v1/portfolios/${pid}/members/${u.user_id}`);
            tbl.update({ ...u, disabled: true });
            notify(`${u.name || u.email} is disabled`);
          } catch (err) {
            if (!err.handled) notify(err.message, { kind: 'error' });
          }
        });
      }, { danger: true, ariaLabel: `Disable ${u.name || u.email}` })) },
    ],
    first: firstPeople,
    load: (cursor) => api.get(`/api/v1/portfolios/${pid}/members`, { cursor }),
  });

  // --- invitations ------------------------------------------------------------
  const activeBrands = session.brands.map((b) => ({ value: b.id, label: b.name }));
  const secretSlot = h('div', { class: 'secret-slot' });
  const form = createForm({
    label: 'Invite to the portfolio',
    layout: 'inline',
    submitLabel: 'Create invitation',
    fields: [
      { name: 'email', label: 'E-mail', type: 'email', required: true },
      { name: 'role', label: 'Role', type: 'select', required: true, value: 'operator',
        options: ROLES.map((r) => ({ value: r, label: roleLabel(r) })), hintFor: (r) => sentence(ROLE_HINTS[r]) },
      { name: 'brand_id', label: 'Brand', type: 'select', required: true, options: activeBrands },
    ],
    async onSubmit(values) {
      const body = { email: values.email, role: values.role };
      if (values.role !== 'portfolio_admin') body.brand_id = values.brand_id;
      const inv = await api.post(`/api/v1/portfolios/${pid}/invitations`, body);
      showNewInvitation(inv, inv.brand_id ? brandName(inv.brand_id) : 'the portfolio', { form, slot: secretSlot, table: invitations });
    },
  });
  function syncBrandField() {
    // A portfolio admin is invited without a brand; every other role needs one.
    form.wrap('brand_id').hidden = form.control('role').value === 'portfolio_admin';
  }
  form.control('role').addEventListener('change', syncBrandField);
  syncBrandField();

  const invitations = invitationsTable(`/api/v1/portfolios/${pid}/invitations`, {
    brandColumn: { label: 'Brand', render: (i) => (i.brand_id ? brandName(i.brand_id) : h('span', { class: 'muted', text: 'Portfolio' })) },
  });

  ctx.root.append(
    panel({ title: 'People' }, people.el),
    panel({ title: 'Invite someone', description: 'Invite a portfolio admin, or a member of any brand with any role.' }, form.el, secretSlot),
    panel({ title: 'Invitations' }, invitations.el));
}
