// search-box.js — the search box in the header and the keyboard around it.
//
// The box searches every brand the user may read (GET
// /portfolios/{pid}/search) and opens #/search?q= with the hits.  `/`
// focuses it from anywhere except while typing in a field; Ctrl+K (⌘K on a
// Mac) opens the command palette (palette.js).  initSearch() wires both once;
// showSearch(on) shows the box while someone is signed in.
import { h } from './ui/dom.js';
import { navigate } from './router.js';
import { openPalette } from './palette.js';

let form = null;
let input = null;

/** True while the user types somewhere `/` is a character, not a command. */
export function typingInField(el = document.activeElement) {
  if (!el || el === document.body) return false;
  if (el.isContentEditable) return true;
  const tag = el.tagName;
  if (tag === 'TEXTAREA' || tag === 'SELECT') return true;
  if (tag !== 'INPUT') return false;
  return !['checkbox', 'radio', 'button', 'submit', 'reset', 'range', 'color', 'file'].includes(el.type);
}

export function initSearch(topbar) {
  if (form) return;
  input = h('input', {
    type: 'search', id: 'global-search-input', name: 'q', autocomplete: 'off', spellcheck: 'false',
    placeholder: 'Search every brand ( / )', minlength: 2, maxlength: 100, 'aria-keyshortcuts': '/',
  });
  form = h('form', { class: 'topbar-search', role: 'search', 'aria-label': 'Every brand', hidden: true },
    h('label', { for: 'global-search-input', class: 'visually-hidden', text: 'Search SKU codes, titles, channel SKUs and order numbers in every brand' }),
    input,
    h('button', { type: 'submit', class: 'button button-small', text: 'Go', title: 'Show what matches in every brand' }),
    h('button', {
      type: 'button', class: 'button button-small palette-open', text: 'Commands', 'aria-keyshortcuts': 'Control+K Meta+K',
      title: 'Jump to a screen, a brand or a SKU, or run a common action (Ctrl+K)',
      onclick: () => openPalette(),
    }));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const q = input.value.trim();
    if (q.length < 2) {
      input.setCustomValidity('Type at least 2 characters');
      input.reportValidity();
      return;
    }
    input.setCustomValidity('');
    navigate(`/search?q=${encodeURIComponent(q)}`);
  });
  input.addEventListener('input', () => input.setCustomValidity(''));
  topbar.append(form);

  document.addEventListener('keydown', (ev) => {
    if (form.hidden) return;
    if ((ev.key === 'k' || ev.key === 'K') && (ev.ctrlKey || ev.metaKey) && !ev.altKey && !ev.shiftKey) {
      ev.preventDefault();
      openPalette();
      return;
    }
    if (ev.key === '/' && !ev.ctrlKey && !ev.metaKey && !ev.altKey && !typingInField(ev.target) && !document.querySelector('dialog[open]')) {
      ev.preventDefault();
      input.focus();
      input.select();
    }
  });
}

/** Shows the box (signed in) or hides it; `q` fills it (the search screen's query). */
export function showSearch(on, q = null) {
  if (!form) return;
  form.hidden = !on;
  if (q !== null) input.value = q;
}
