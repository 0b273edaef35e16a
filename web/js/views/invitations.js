// invitations.js — what brand and portfolio invitation screens share: the
// acceptance link shown once, and the dates of an invitation.
import { h } from '../ui/dom.js';
import { roleLabel, time } from '../ui/format.js';
import { secretBox } from '../ui/secret.js';

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
