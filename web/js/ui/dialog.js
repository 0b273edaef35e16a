// dialog.js — a modal confirmation built on <dialog> (focus is kept inside,
// Escape cancels, focus returns to the button that opened it).
import { h } from './dom.js';

/**
 * Asks before doing something that cannot be undone.
 * Resolves true when confirmed, false when cancelled.
 */
export function confirmDialog({ title, message, confirmLabel = 'Confirm', danger = false }) {
  const opener = document.activeElement;
  return new Promise((resolve) => {
    const titleId = `dlg-title-${Date.now()}`;
    const cancel = h('button', { type: 'button', class: 'button', text: 'Cancel' });
    const ok = h('button', { type: 'button', class: ['button', danger ? 'button-danger' : 'button-primary'], text: confirmLabel });
    const dlg = h('dialog', { class: 'dialog', 'aria-labelledby': titleId },
      h('h2', { id: titleId, text: title }),
      message ? h('p', { text: message }) : null,
      h('div', { class: 'dialog-actions' }, cancel, ok));
    let answer = false;
    cancel.addEventListener('click', () => dlg.close());
    ok.addEventListener('click', () => {
      answer = true;
      dlg.close();
    });
    dlg.addEventListener('close', () => {
      dlg.remove();
      if (opener && typeof opener.focus === 'function' && opener.isConnected) opener.focus();
      resolve(answer);
    });
    document.body.append(dlg);
    dlg.showModal();
    cancel.focus();
  });
}
