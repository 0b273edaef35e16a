// table.js — a table over a cursor-paginated list endpoint.
//
// pagedTable({caption, columns, load}) shows the first page, then a
// "Load more" button while the server returns a next_cursor.  A view that
// fetched the first page itself (so that a 403 fails the whole screen)
// passes it as `first`; reload() fetches again.  columns are
// {label, render(item, ctl) → node|string, class}; ctl.update(item) redraws
// a row in place after an action, ctl.reload() starts over from page one.
//
// Sorting: a column with `sort: 'name'` gets a header button; the server
// sorts (`load(cursor, sort)` is called with 'name' or '-name', the table
// reloads from page one; `sort` is the order shown first, `defaultSort` the
// list's own order, `onSort(sort)` hears changes, e.g. to keep them in the
// address).  A column with `sortValue(item)` on a table with
// `clientSort: true` (the whole list is on the page) sorts the rows in
// place.  The active column's <th> carries aria-sort.
//
// Selection: `select: {label(item)}` adds a checkbox per row (labelled
// label(item)) and one that selects every row on the page; ctl.selected()
// is the selected items, `onSelect(items)` hears each change.  bulkBar()
// below offers actions on them.
import { h, sentence } from './dom.js';

const ARROWS = { ascending: '▲', descending: '▼', none: '↕' };

export function pagedTable({ caption, columns, load, first = null, empty = 'Nothing here yet.', key = (item) => item.id, rowClass = null,
  sort = '', defaultSort = '', onSort = null, clientSort = false, select = null, onSelect = null }) {
  const tbody = h('tbody');
  const status = h('p', { class: 'table-status', role: 'status' });
  const more = h('button', { type: 'button', class: 'button', text: 'Load more', hidden: true });
  let current = sort || defaultSort; // 'name' or '-name'
  const items = new Map(); // key → item as shown
  const selected = new Set(); // keys
  const heads = [];
  const selectAll = select ? h('input', { type: 'checkbox', class: 'row-select', 'aria-label': 'Select every row on this page' }) : null;
  const sortName = (c) => c.sort || (clientSort && c.sortValue ? c.label : null);
  const headerRow = h('tr', {},
    select ? h('th', { scope: 'col', class: 'select-col' }, selectAll) : null,
    columns.map((c) => {
      const name = sortName(c);
      if (!name) return h('th', { scope: 'col', class: c.class, text: c.label });
      const arrow = h('span', { class: 'sort-arrow', 'aria-hidden': 'true' });
      const button = h('button', { type: 'button', class: 'sort-button' }, h('span', { text: c.label }), arrow);
      const th = h('th', { scope: 'col', class: [c.class, 'sortable'] }, button);
      heads.push({ name, th, button, arrow, column: c });
      button.addEventListener('click', () => setSort(current === name ? `-${name}` : name));
      return th;
    }));
  const table = h('table', { class: 'table' },
    caption ? h('caption', { class: 'visually-hidden', text: caption }) : null,
    h('thead', {}, headerRow),
    tbody);
  const el = h('div', { class: 'table-block' }, h('div', { class: 'table-wrap' }, table), h('div', { class: 'table-footer' }, status, more));
  const rows = new Map();
  const emptyText = () => (typeof empty === 'function' ? empty() : empty);
  let cursor = null;
  let generation = 0;
  let count = 0;

  function showSort() {
    for (const hd of heads) {
      const state = current === hd.name ? 'ascending' : current === `-${hd.name}` ? 'descending' : 'none';
      if (state === 'none') hd.th.removeAttribute('aria-sort');
      else hd.th.setAttribute('aria-sort', state);
      hd.arrow.textContent = ARROWS[state];
      hd.button.title = state === 'ascending' ? `Sorted by ${hd.column.label}, ascending; press to sort descending`
        : `Sort by ${hd.column.label}${state === 'descending' ? ', ascending' : ''}`;
    }
  }

  function setSort(next) {
    current = next;
    showSort();
    if (onSort) onSort(next === defaultSort ? '' : next);
    if (clientSort) {
      sortRows();
      return null;
    }
    return ctl.reload();
  }

  /** Client-side: the rows on the page in the order of the current column (ties keep their order). */
  function sortRows() {
    const desc = current.startsWith('-');
    const hd = heads.find((x) => x.name === current.replace(/^-/, ''));
    if (!hd || !hd.column.sortValue) return;
    const val = hd.column.sortValue;
    const sorted = [...items.values()].map((item, i) => ({ item, i, v: val(item) }))
      .sort((a, b) => {
        const x = a.v ?? '';
        const y = b.v ?? '';
        const c = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y), undefined, { numeric: true, sensitivity: 'base' });
        return (desc ? -c : c) || a.i - b.i;
      });
    for (const { item } of sorted) tbody.append(rows.get(key(item)));
  }

  function selectionChanged() {
    if (!select) return;
    const onPage = [...rows.keys()];
    const n = onPage.filter((k) => selected.has(k)).length;
    selectAll.checked = n > 0 && n === onPage.length;
    selectAll.indeterminate = n > 0 && n < onPage.length;
    if (onSelect) onSelect(ctl.selected());
  }

  if (selectAll) {
    selectAll.addEventListener('change', () => {
      for (const [k, tr] of rows) {
        const box = tr.querySelector('input.row-select');
        if (selectAll.checked) selected.add(k); else selected.delete(k);
        if (box) box.checked = selectAll.checked;
      }
      selectionChanged();
    });
  }

  const ctl = {
    el,
    get count() { return count; },
    get sort() { return current; },
    setSort,
    /** The selected items, in the order shown. */
    selected() { return [...rows.keys()].filter((k) => selected.has(k)).map((k) => items.get(k)); },
    clearSelection() {
      selected.clear();
      for (const tr of rows.values()) {
        const box = tr.querySelector('input.row-select');
        if (box) box.checked = false;
      }
      selectionChanged();
    },
    update(item) {
      const old = rows.get(key(item));
      if (!old) return;
      // Keyboard users acting on the row keep their place: focus the new row.
      const active = document.activeElement;
      const hadFocus = old.contains(active) || !active || active === document.body;
      const tr = renderRow(item);
      old.replaceWith(tr);
      if (hadFocus) {
        tr.tabIndex = -1;
        tr.focus();
      }
    },
    remove(item) {
      const old = rows.get(key(item));
      if (old) old.remove();
      rows.delete(key(item));
      items.delete(key(item));
      selected.delete(key(item));
      count -= 1;
      if (count === 0) status.textContent = emptyText();
      selectionChanged();
    },
    /** Starts over from page one; `page` is that page when the caller fetched it (so its refusal reaches a form). */
    reload(page = null) {
      if (page) first = page;
      generation += 1;
      cursor = null;
      count = 0;
      rows.clear();
      items.clear();
      const had = selected.size > 0;
      selected.clear();
      tbody.replaceChildren();
      if (had) selectionChanged();
      return fetchPage(generation);
    },
  };

  function renderRow(item) {
    const k = key(item);
    let box = null;
    if (select) {
      box = h('input', { type: 'checkbox', class: 'row-select', 'aria-label': select.label(item), checked: selected.has(k) });
      box.addEventListener('change', () => {
        if (box.checked) selected.add(k); else selected.delete(k);
        selectionChanged();
      });
    }
    const tr = h('tr', { class: [rowClass ? rowClass(item) : null, selected.has(k) ? 'row-selected' : null] },
      select ? h('td', { class: 'select-col', 'data-label': 'Select' }, box) : null,
      columns.map((c) => h('td', { class: c.class, 'data-label': c.label }, c.render(item, ctl))));
    rows.set(k, tr);
    items.set(k, item);
    return tr;
  }

  async function fetchPage(gen) {
    more.hidden = true;
    status.textContent = 'Loading…';
    el.setAttribute('aria-busy', 'true');
    try {
      let page;
      if (first && !cursor) {
        page = first;
        first = null;
      } else {
        page = await load(cursor, clientSort ? '' : (current === defaultSort ? '' : current));
      }
      if (gen !== generation) return;
      // A row already shown is not shown twice; a page of nothing new ends the
      // list, so a cursor that does not advance cannot loop for ever.
      const fresh = page.items.filter((item) => !rows.has(key(item)));
      for (const item of fresh) tbody.append(renderRow(item));
      count += fresh.length;
      cursor = page.next_cursor || null;
      if (cursor && page.items.length > 0 && fresh.length === 0) {
        cursor = null;
        console.warn(`pagination repeated itself: ${page.items.length} entries seen before`);
      }
      more.hidden = !cursor;
      status.textContent = count === 0 ? emptyText() : '';
      if (clientSort && current) sortRows();
      selectionChanged();
    } catch (err) {
      if (gen !== generation) return;
      status.replaceChildren(h('span', { class: 'error-text', text: sentence(err.message) }), ' ',
        h('button', { type: 'button', class: 'button button-small', text: 'Try again', onclick: () => fetchPage(gen) }));
    } finally {
      el.removeAttribute('aria-busy');
    }
  }

  more.addEventListener('click', () => fetchPage(generation));
  showSort();
  ctl.reload();
  return ctl;
}

/**
 * Actions on a table's selected rows: "3 listings selected", the action
 * buttons (disabled while none is selected or one runs), and the result in
 * words.  actions: [{label, run(items, progress) → {summary, failed?}}];
 * progress(text) says how far it got.  After an action the table reloads
 * unless the action says `keep: true`.  noun(n) names n rows.
 */
export function bulkBar({ table, noun, actions, label = 'Actions on the selected rows', extra = null }) {
  const count = h('span', { class: 'bulk-count', 'aria-live': 'polite' });
  const result = h('div', { class: 'bulk-result' });
  let running = false;
  const buttons = actions.map((a) => {
    const b = h('button', { type: 'button', class: ['button', 'button-small', a.danger ? 'button-danger' : null], text: a.label });
    b.addEventListener('click', async () => {
      const picked = table.selected();
      if (!picked.length || running) return;
      running = true;
      refresh();
      el.setAttribute('aria-busy', 'true');
      const progress = (text) => result.replaceChildren(h('p', { class: 'muted', role: 'status', text }));
      progress(`${a.label}: ${noun(picked.length)}…`);
      try {
        const out = await a.run(picked, progress);
        if (out === null) {
          result.replaceChildren();
        } else {
          const failed = out.failed || [];
          result.replaceChildren(h('div', { role: failed.length ? 'alert' : 'status', class: failed.length ? 'bulk-failed' : 'bulk-done' },
            h('p', { class: 'strong', text: out.summary }),
            failed.length ? h('ul', { class: 'bulk-failures' }, failed.map((f) => h('li', { text: f }))) : null));
          if (!a.keep && !out.keep) await table.reload();
        }
      } catch (err) {
        if (!(err.handled && err.status === 401)) {
          result.replaceChildren(h('p', { class: 'form-error', role: 'alert', text: `${a.label} failed: ${sentence(err.message)}` }));
        }
      } finally {
        running = false;
        el.removeAttribute('aria-busy');
        refresh();
      }
    });
    return b;
  });
  function refresh() {
    const n = table.selected().length;
    count.textContent = n ? `${noun(n)} selected` : 'None selected: tick rows to act on several at once';
    for (const b of buttons) b.disabled = running || n === 0;
  }
  const el = h('div', { class: 'bulk-bar', role: 'group', 'aria-label': label }, count, h('div', { class: 'button-row' }, extra, buttons), result);
  refresh();
  return { el, refresh, result };
}
