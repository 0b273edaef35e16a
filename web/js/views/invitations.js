// invitations.js — what brand and portfolio invitation screens share: the
// acceptance link shown once, the dates of an invitation, and the list of
// invitations with its Revoke button.
import { api } from '../api.js';
import { h } from '../ui/dom.js';
import { confirmDialog } from '../ui/dialog.js';
import { roleBadge, roleLabel, statusBadge, time } from '../ui/format.js';
import { notify } from '../ui/notice.js';
import { rowButton, busy } from '../ui/page.js';
import { secretBox } from '../ui/secret.js';
import { pagedTable } from '../ui/table.js';

/** The full acceptance link for an invitation's accept_url ("/#/accept?token=…"). */
export function acceptLink(inv) {
  return new URL(inv.accept_url, window.location.href).href;
}

/** The "link shown once" box for a new invitation. */
export function invitationSecret(inv, where) {
  return secretBox({
    title: `Invitation for ${inv.email}`,
    label: 'Acceptance link',
    secret: acceptLink(inv),
    warning: `Send this link to ${inv.email}. It is shown only this once, works once, and expires ${new Date(inv.expires_at).toLocaleDateString()}. Anyone who has it can join ${where} as ${roleLabel(inv.role)}.`,
  });
}

/** When it was sent, and until when it can be accepted. */
export function invitationDates(inv) {
  return h('div', { class: 'cell-stack' },
    time(inv.created_at),
    inv.status === 'pending' ? h('span', { class: 'muted small' }, 'expires ', time(inv.expires_at)) : null);
}

/**
 * After a new invitation: `form` empty again (its role back to operator), the
 * link shown once in `slot` (focused, for copying) and `table` reloaded.
 */
export function showNewInvitation(inv, where, { form, slot, table }) {
  form.reset();
  form.set('role', 'operator');
  slot.replaceChildren(invitationSecret(inv, where));
  slot.querySelector('.secret-value').focus();
  table.reload();
}

/** Revokes a pending invitation after a confirmation; redraws its row. */
function revokeButton(path, i, table) {
  return rowButton('Revoke', async (ev) => {
    const ok = await confirmDialog({ title: `Revoke the invitation for ${i.email}?`, message: 'The link stops working at once.', confirmLabel: 'Revoke invitation', danger: true });
    if (!ok) return;
    await busy(ev.target, async () => {
      try {
        table.update(await api.del(`${path}/${i.id}`));
        notify(`Invitation for ${i.email} revoked`);
      } catch (err) {
        if (!err.handled) notify(err.message, { kind: 'error' });
      }
    });
  }, { danger: true, ariaLabel: `Revoke invitation for ${i.email}` });
}

/**
 * The invitations of `path` (a brand's or the portfolio's invitations
 * collection), pending ones with a Revoke button; `brandColumn`
 * (a column) stands between Role and Status.
 */
export function invitationsTable(path, { brandColumn = null } = {}) {
  return pagedTable({
    caption: 'Invitations',
    empty: 'No invitations yet.',
    rowClass: (i) => (i.status === 'pending' ? null : 'row-muted'),
    columns: [
      { label: 'E-mail', render: (i) => i.email },
      { label: 'Role', render: (i) => roleBadge(i.role) },
      ...(brandColumn ? [brandColumn] : []),
      { label: 'Status', render: (i) => statusBadge(i.status) },
      { label: 'Sent', render: (i) => invitationDates(i) },
      { label: 'Actions', class: 'actions', render: (i, table) => (i.status === 'pending' ? revokeButton(path, i, table) : null) },
    ],
    load: (cursor) => api.get(path, { cursor }),
  });
}
