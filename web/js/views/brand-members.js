// brand-members.js — who belongs to a brand and with which role; change a
// role, remove a member; invite someone by e-mail (the acceptance link is
// shown once), list and revoke invitations.  Brand owners and admins only.
import { api } from '../api.js';
import { h, sentence } from '../ui/dom.js';
import { createForm } from '../ui/form.js';
import { confirmDialog } from '../ui/dialog.js';
import { ROLE_HINTS, roleBadge, roleLabel, accountStatus, personCell, time } from '../ui/format.js';
import { notify } from '../ui/notice.js';
import { panel, rowButton, busy } from '../ui/page.js';
import { pagedTable } from '../ui/table.js';
import { session, grantableBrandRoles, refreshSession } from '../session.js';
import { brandFrame } from './brand-frame.js';
import { showNewInvitation, invitationsTable } from './invitations.js';

export async function render(ctx) {
  const { brand, body } = await brandFrame(ctx, 'members', 'Members');
  const firstMembers = await api.get(`/api/v1/brands/${brand.id}/members`); // a 403 is the screen's error
  const myId = session.me.user.id;
  const myRole = brand.your_role;
  const grantable = grantableBrandRoles(myRole);
  const roleOptions = grantable.map((r) => ({ value: r, label: roleLabel(r) }));

  // --- members --------------------------------------------------------------
  function roleControl(m) {
    if (m.via === 'portfolio') return h('div', { class: 'cell-stack' }, roleBadge(m.role), h('span', { class: 'muted small', text: 'through the portfolio' }));
    if (m.user_id === myId && myRole !== 'portfolio_admin') return h('div', { class: 'cell-stack' }, roleBadge(m.role), h('span', { class: 'muted small', text: 'you' }));
    const select = h('select', { 'aria-label': `Role of ${m.name || m.email}`, class: 'select-compact' },
      grantable.map((r) => h('option', { value: r, text: roleLabel(r), selected: r === m.role })));
    const apply = h('button', { type: 'button', class: 'button button-small', text: 'Change', disabled: true, 'aria-label': `Change role of ${m.name || m.email}` });
    select.addEventListener('change', () => { apply.disabled = select.value === m.role; });
    apply.addEventListener('click', () => busy(apply, async () => {
      try {
        const res = await api.patch(`/api/v1/brands/${brand.id}/members/${m.user_id}`, { role: select.value });
        notify(`${m.name || m.email} is now ${roleLabel(res.role)}`);
        members.update({ ...m, role: res.role });
      } catch (err) {
        select.value = m.role;
        if (!err.handled) notify(err.message, { kind: 'error' });
      }
    }));
    return h('div', { class: 'inline-control' }, select, apply);
  }

  function memberActions(m) {
    if (m.via === 'portfolio') return null;
    const self = m.user_id === myId;
    return rowButton('Remove', async (ev) => {
      const ok = await confirmDialog({
        title: self ? `Leave ${brand.name}?` : `Remove ${m.name || m.email} from ${brand.name}?`,
        message: self ? 'You will lose access to this brand at once.' : 'They lose access to this brand at once. Their account stays, with any other brands.',
        confirmLabel: self ? 'Leave brand' : 'Remove member',
        danger: true,
      });
      if (!ok) return;
      await busy(ev.target, async () => {
        try {
          await api.del(`/api/v1/brands/${brand.id}/members/${m.user_id}`);
        } catch (err) {
          if (!err.handled) notify(err.message, { kind: 'error' });
          return;
        }
        notify(`${m.name || m.email} was removed from ${brand.name}`);
        members.remove(m);
        if (self) {
          await refreshSession();
          ctx.navigate('/');
        }
      });
    }, { danger: true, ariaLabel: `Remove ${m.name || m.email}` });
  }

  const members = pagedTable({
    caption: 'Members',
    empty: 'No members yet.',
    key: (m) => m.user_id,
    rowClass: (m) => (m.disabled ? 'row-muted' : null),
    columns: [
      { label: 'Name', render: personCell },
      { label: 'Role', render: (m) => roleControl(m) },
      { label: 'Status', render: accountStatus },
      { label: 'Member since', render: (m) => time(m.since) },
      { label: 'Actions', class: 'actions', render: (m) => memberActions(m) },
    ],
    first: firstMembers,
    load: (cursor) => api.get(`/api/v1/brands/${brand.id}/members`, { cursor }),
  });

  // --- invitations ------------------------------------------------------------
  const secretSlot = h('div', { class: 'secret-slot' });
  const inviteForm = createForm({
    label: 'Invite to the brand',
    layout: 'inline',
    submitLabel: 'Create invitation',
    fields: [
      { name: 'email', label: 'E-mail', type: 'email', required: true, autocomplete: 'off' },
      { name: 'role', label: 'Role', type: 'select', required: true, options: roleOptions, value: 'operator', hintFor: (r) => sentence(ROLE_HINTS[r]) },
    ],
    async onSubmit(values) {
      const inv = await api.post(`/api/v1/brands/${brand.id}/invitations`, values);
      showNewInvitation(inv, brand.name, { form: inviteForm, slot: secretSlot, table: invitations });
    },
  });

  const invitations = invitationsTable(`/api/v1/brands/${brand.id}/invitations`);

  body.append(
    panel({ title: 'Members', description: 'Portfolio admins reach every brand through the portfolio and are listed here too.' }, members.el),
    panel({ title: 'Invite someone', description: 'They get a link to create an account (or add this brand to the one they have).' },
      inviteForm.el, secretSlot),
    panel({ title: 'Invitations' }, invitations.el));
}
