// table.js — a table over a cursor-paginated list endpoint.
//
// pagedTable({caption, columns, load}) shows the first page, then a
// "Load more" button while the server returns a next_cursor.  A view that
// fetched the first page itself (so that a 403 fails the whole screen)
// passes it as `first`; reload() fetches again.  columns are
// {label, render(item, ctl) → node|string, class}; ctl.update(item) redraws
// a row in place after an action, ctl.reload() starts over from page one.
import { h, sentence } from './dom.js';

export function pagedTable({ caption, columns, load, first = null, empty = 'Nothing here yet.', key = (item) => item.id, rowClass = null }) {
  const tbody = h('tbody');
  const status = h('p', { class: 'table-status', role: 'status' });
  const more = h('button', { type: 'button', class: 'button', text: 'Load more', hidden: true });
  const table = h('table', { class: 'table' },
    caption ? h('caption', { class: 'visually-hidden', text: caption }) : null,
    h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col', class: c.class, text: c.label })))),
    tbody);
  const el = h('div', { class: 'table-block' }, h('div', { class: 'table-wrap' }, table), h('div', { class: 'table-footer' }, status, more));
  const rows = new Map();
  const emptyText = () => (typeof empty === 'function' ? empty() : empty);
  let cursor = null;
  let generation = 0;
  let count = 0;

  const ctl = {
    el,
    get count() { return count; },
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
      count -= 1;
      if (count === 0) status.textContent = emptyText();
    },
    reload() {
      generation += 1;
      cursor = null;
      count = 0;
      rows.clear();
      tbody.replaceChildren();
      return fetchPage(generation);
    },
  };

  function renderRow(item) {
    const tr = h('tr', { class: rowClass ? rowClass(item) : null },
      columns.map((c) => h('td', { class: c.class, 'data-label': c.label }, c.render(item, ctl))));
    rows.set(key(item), tr);
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
        page = await load(cursor);
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
    } catch (err) {
      if (gen !== generation) return;
      status.replaceChildren(h('span', { class: 'error-text', text: sentence(err.message) }), ' ',
        h('button', { type: 'button', class: 'button button-small', text: 'Try again', onclick: () => fetchPage(gen) }));
    } finally {
      el.removeAttribute('aria-busy');
    }
  }

  more.addEventListener('click', () => fetchPage(generation));
  ctl.reload();
  return ctl;
}
