// secret.js — a secret the server shows once (an API token, an invitation
// link): displayed read-only with a copy button and a warning, kept only in
// this element (never stored), and gone when dismissed or the page reloads.
import { h, uid } from './dom.js';

export async function copyText(text, input) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // Clipboard API refused (permissions, insecure origin): fall back to selecting it.
    input.focus();
    input.select();
    try {
      return document.execCommand('copy');
    } catch {
      return false;
    }
  }
}

/** Returns the element; onDismiss runs after the user closes it. */
export function secretBox({ title, label, secret, warning, onDismiss }) {
  const id = uid('secret');
  const input = h('input', { id, type: 'text', class: 'secret-value', readOnly: true, value: secret, spellcheck: 'false', autocomplete: 'off' });
  const status = h('span', { class: 'secret-status', role: 'status', 'aria-live': 'polite' });
  const copy = h('button', { type: 'button', class: 'button button-primary', text: 'Copy' });
  const done = h('button', { type: 'button', class: 'button', text: 'Done' });
  const box = h('section', { class: 'secret', 'aria-label': title },
    h('h3', { text: title }),
    h('p', { class: 'secret-warning', text: warning }),
    h('label', { for: id, class: 'label', text: label }),
    h('div', { class: 'secret-row' }, input, copy),
    h('div', { class: 'secret-actions' }, status, done));
  input.addEventListener('focus', () => input.select());
  copy.addEventListener('click', async () => {
    const ok = await copyText(secret, input);
    status.textContent = ok ? 'Copied to the clipboard.' : 'Select the text and copy it yourself.';
  });
  done.addEventListener('click', () => {
    box.remove();
    if (onDismiss) onDismiss();
  });
  return box;
}

/**
 * A value to copy somewhere else (an address to paste into a channel's
 * settings): read-only, labelled, with a Copy button that says whether it worked.
 */
export function copyField({ label, value, hint = null }) {
  const id = uid('copy');
  const input = h('input', { id, type: 'text', class: 'secret-value', readOnly: true, value, spellcheck: 'false', autocomplete: 'off',
    'aria-describedby': hint ? `${id}-hint` : null });
  const status = h('span', { class: 'secret-status', role: 'status', 'aria-live': 'polite' });
  const copy = h('button', { type: 'button', class: 'button', text: 'Copy', 'aria-label': `Copy ${label}` });
  input.addEventListener('focus', () => input.select());
  copy.addEventListener('click', async () => {
    const ok = await copyText(value, input);
    status.textContent = ok ? 'Copied to the clipboard.' : 'Select the text and copy it yourself.';
  });
  return h('div', { class: 'field copy-field' },
    h('label', { for: id, class: 'label', text: label }),
    h('div', { class: 'secret-row' }, input, copy),
    hint ? h('p', { class: 'field-hint', id: `${id}-hint`, text: hint }) : null,
    status);
}
