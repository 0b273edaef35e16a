// palette.js — the command palette (Ctrl+K, ⌘K on a Mac): jump to any
// screen, brand or SKU, or start a common action, by typing.
//
// A modal <dialog> holding a combobox (the text box) and its listbox: the
// arrow keys (and Home, End) move through the options, Enter opens the
// highlighted one, Escape closes and focus returns where it was.  The
// options are the screens this user may open (portfolio and each brand's
// tabs), common actions per brand (new SKU, record stock, map a SKU, connect
// a channel), and — from two characters typed — the SKUs, channel SKUs and
// orders the search API finds in every brand the user reads.
import { api } from './api.js';
import { h, uid } from './ui/dom.js';
import { link, navigate } from './router.js';
import { session, isAdmin, portfolioId, canInventory, canChannels } from './session.js';
import { tabsFor } from './views/brand-frame.js';

const MAX_SHOWN = 40;

/** What can be done without typing a SKU: screens and actions, each {label, hint, href}. */
export function commands() {
  const out = [
    { label: 'All brands', hint: 'Screen', href: '#/' },
    { label: 'Checklist', hint: 'Routine', href: '#/portfolio/checklist' },
    { label: 'Schedule', hint: 'Routine', href: '#/portfolio/schedule' },
    { label: 'SOP', hint: 'Routine', href: '#/portfolio/sop' },
    { label: 'Your account', hint: 'Screen', href: '#/me' },
  ];
  if (isAdmin()) {
    out.push({ label: 'People', hint: 'Administration', href: '#/portfolio/members' },
      { label: 'API tokens', hint: 'Administration', href: '#/portfolio/tokens' },
      { label: 'Audit log', hint: 'Administration', href: '#/portfolio/audit' },
      { label: 'Templates', hint: 'Routine', href: '#/portfolio/templates' });
  }
  for (const b of session.brands) {
    for (const t of tabsFor(b.your_role)) {
      out.push({ label: t.path ? `${b.name}: ${t.label}` : b.name, hint: t.path ? 'Brand screen' : 'Brand', href: t.path ? link('/brands', b.id, t.path) : link('/brands', b.id) });
    }
    if (canInventory(b.your_role)) {
      out.push({ label: `${b.name}: New SKU`, hint: 'Action', href: link('/brands', b.id, 'skus', 'new') },
        { label: `${b.name}: Record stock (receipt, adjustment, count…)`, hint: 'Action', href: link('/brands', b.id, 'stock', 'new') },
        { label: `${b.name}: Map a SKU to a channel`, hint: 'Action', href: link('/brands', b.id, 'listings', 'new') },
        { label: `${b.name}: Map parked order lines`, hint: 'Action', href: `${link('/brands', b.id, 'orders')}?show=unmapped` },
        { label: `${b.name}: Listings waiting to be pushed`, hint: 'Action', href: `${link('/brands', b.id, 'listings')}?out_of_sync=1` });
    }
    if (canChannels(b.your_role)) {
      out.push({ label: `${b.name}: Connect a channel`, hint: 'Action', href: link('/brands', b.id, 'channels', 'new') });
    }
  }
  return out;
}

/** Options whose words contain every term typed (any case, any order). */
export function matching(options, q) {
  const terms = q.toLowerCase().split(/\s+/).filter(Boolean);
  if (!terms.length) return options;
  return options.filter((o) => {
    const text = `${o.label} ${o.hint}`.toLowerCase();
    return terms.every((t) => text.includes(t));
  });
}

/** The search API's hits as options. */
function hitOptions(res) {
  const brandName = (x) => x.brand;
  return [
    ...res.skus.map((s) => ({ label: `${s.code}${s.title ? ` — ${s.title}` : ''}`, hint: `SKU in ${brandName(s)}${s.archived ? ' (archived)' : ''}`,
      href: link('/brands', s.brand_id, 'sku', s.code) })),
    ...res.listings.map((l) => ({ label: `${l.external_sku} on ${l.connection}`, hint: `Channel SKU of ${l.sku} in ${brandName(l)}`,
      href: link('/brands', l.brand_id, 'listings', l.id) })),
    ...res.orders.map((o) => ({ label: `Order ${o.external_id} on ${o.connection}`, hint: `Order in ${brandName(o)}`,
      href: `${link('/brands', o.brand_id, 'orders')}?${new URLSearchParams({ external_id: o.external_id })}` })),
  ];
}

let open = null;

export function openPalette() {
  if (open) {
    open.input.focus();
    return;
  }
  const opener = document.activeElement;
  const titleId = uid('palette-title');
  const listId = uid('palette-list');
  const inputId = uid('palette-input');
  const input = h('input', {
    id: inputId, type: 'text', role: 'combobox', autocomplete: 'off', spellcheck: 'false',
    'aria-autocomplete': 'list', 'aria-expanded': 'true', 'aria-controls': listId,
    placeholder: 'A screen, a brand, a SKU or an action',
  });
  const list = h('ul', { id: listId, role: 'listbox', class: 'palette-list', 'aria-label': 'Screens, actions and search hits' });
  const status = h('p', { class: 'muted small palette-status', role: 'status', 'aria-live': 'polite' });
  const dlg = h('dialog', { class: 'dialog palette', 'aria-labelledby': titleId },
    h('h2', { id: titleId, text: 'Go to or do' }),
    h('label', { for: inputId, text: 'Type to filter; ↑ ↓ to choose, Enter to open, Escape to close' }),
    input, status, list);
  const base = commands();
  let shown = [];
  let active = 0;
  let hits = [];
  let searchSeq = 0;
  let timer = null;

  function draw() {
    const q = input.value.trim();
    const extra = q.length >= 2 ? [{ label: `Search every brand for “${q}”`, hint: 'Search', href: `#/search?${new URLSearchParams({ q })}` }] : [];
    // Hits that arrive while someone moves through the options keep their choice where it is;
    // untouched (the first option), the first option stays chosen, so new hits come first.
    const was = active > 0 && shown[active] ? shown[active].href : null;
    shown = [...hits, ...matching(base, q), ...extra].slice(0, MAX_SHOWN);
    if (was) active = Math.max(0, shown.findIndex((o) => o.href === was));
    if (active >= shown.length) active = Math.max(0, shown.length - 1);
    list.replaceChildren(...shown.map((o, i) => {
      const li = h('li', { id: `${listId}-${i}`, role: 'option', class: 'palette-option', 'aria-selected': i === active ? 'true' : 'false' },
        h('span', { class: 'palette-label', text: o.label }), h('span', { class: 'palette-hint muted small', text: o.hint }));
      li.addEventListener('mousedown', (ev) => ev.preventDefault()); // keep focus in the box
      li.addEventListener('click', () => choose(i));
      return li;
    }));
    if (shown.length) input.setAttribute('aria-activedescendant', `${listId}-${active}`);
    else input.removeAttribute('aria-activedescendant');
    status.textContent = shown.length ? `${shown.length} ${shown.length === 1 ? 'option' : 'options'}` : 'Nothing matches; try fewer words.';
    const el = list.children[active];
    if (el && el.scrollIntoView) el.scrollIntoView({ block: 'nearest' });
  }

  function move(to) {
    if (!shown.length) return;
    active = (to + shown.length) % shown.length;
    draw();
  }

  function choose(i) {
    const o = shown[i];
    if (!o) return;
    close(false);
    navigate(o.href.replace(/^#/, ''));
  }

  async function search(q) {
    const seq = ++searchSeq;
    try {
      const res = await api.get(`/api/v1/portfolios/${portfolioId()}/search`, { q, limit: 8 });
      if (seq !== searchSeq || !open) return;
      hits = hitOptions(res);
      draw();
    } catch {
      // the screens and actions stay; the search box in the header says why a search fails
    }
  }

  input.addEventListener('input', () => {
    active = 0;
    hits = [];
    draw();
    clearTimeout(timer);
    const q = input.value.trim();
    if (q.length >= 2) timer = setTimeout(() => search(q), 150);
    else searchSeq += 1;
  });
  input.addEventListener('keydown', (ev) => {
    if (ev.key === 'ArrowDown') { ev.preventDefault(); move(active + 1); }
    else if (ev.key === 'ArrowUp') { ev.preventDefault(); move(active - 1); }
    else if (ev.key === 'Home' && shown.length) { ev.preventDefault(); move(0); }
    else if (ev.key === 'End' && shown.length) { ev.preventDefault(); move(shown.length - 1); }
    else if (ev.key === 'Enter') { ev.preventDefault(); choose(active); }
  });

  function close(restore = true) {
    if (!open) return;
    open = null;
    clearTimeout(timer);
    if (dlg.open) dlg.close();
    dlg.remove();
    if (restore && opener && opener.isConnected && typeof opener.focus === 'function') opener.focus();
  }
  dlg.addEventListener('cancel', (ev) => {
    ev.preventDefault();
    close();
  });
  dlg.addEventListener('click', (ev) => {
    if (ev.target === dlg) close(); // a click on the backdrop
  });

  open = { input, close };
  document.body.append(dlg);
  dlg.showModal();
  draw();
  input.focus();
}

/** Closes the palette if it is open (a navigation elsewhere). */
export function closePalette() {
  if (open) open.close(false);
}
