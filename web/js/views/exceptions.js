// exceptions.js — the exception queue: #/portfolio/exceptions (every brand
// the reader sees) and #/brands/<id>/exceptions (one brand), from
// GET …/exceptions.  Filters (?brand=&connection=&kind=&severity=&owner=
// me|none|<uid>&state=active|open|acknowledged|snoozed|resolved|all) are
// chips and selects carrying the server's counts (each facet counted
// without its own filter).  Each row: severity (icon and word), the kind in
// words and the item's title, brand, age, owner, state; worst first as the
// server orders them.  "Open" shows the item (?item=<id>, with
// &item_brand=<bid> on the portfolio's queue): what it is, its history in
// the brand's time zone, and for operators and up the actions that move it
// (acknowledge, assign, snooze, resolve with a note, reopen) and the fix of
// its kind in place (record the oversell's resolution, map the line or
// create the SKU from it, push again, pause the listing, set its buffer,
// links to the connection, the checklist, the runs).  The queue refreshes
// every 10 seconds while shown; items close themselves when what they
// describe clears.
import { api, getAll } from '../api.js';
import { h, replace, sentence } from '../ui/dom.js';
import { createForm } from '../ui/form.js';
import { fromNow, plural, qty, roleLabel } from '../ui/format.js';
import { submission } from '../ui/idempotency.js';
import { notify } from '../ui/notice.js';
import { busy, pageHeader, panel, rowButton } from '../ui/page.js';
import { autoRefresh, refreshBar } from '../ui/poll.js';
import { pagedTable } from '../ui/table.js';
import { link } from '../router.js';
import { canInventory, canManage, isAdmin, portfolioId, roleIn, session } from '../session.js';
import { refreshCounts } from '../counts.js';
import { brandFrame } from './brand-frame.js';
import { skuCodes, skuLink } from './inventory.js';
import { RESOLUTIONS } from './oversells.js';
import { zoneTime } from './sop-words.js';
import {
  ACTIONS, KINDS, KIND_ORDER, SEVERITIES, SEVERITY_ORDER, STATES, detailWords, historyLabel, kindLabel, severityBadge, stateBadge,
} from './exception-words.js';

const EVERY = 10000;
const stamp = (x) => `${x.updated_at}|${x.state}|${x.owner ? x.owner.id : ''}|${x.seen_at}`;
const STATE_CHIPS = ['active', 'open', 'acknowledged', 'snoozed', 'resolved', 'all'];

/** A brand-time wall clock ("2026-12-08T09:00") as an instant in `tz`. */
export function zonedToIso(local, tz) {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(local || '');
  if (!m) return null;
  const wall = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5]);
  const offset = (t) => {
    let parts;
    try {
      parts = new Intl.DateTimeFormat('en-US', { timeZone: tz || undefined, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit',
        hour: '2-digit', minute: '2-digit', second: '2-digit' }).formatToParts(new Date(t));
    } catch {
      return -new Date(t).getTimezoneOffset() * 60000;
    }
    const p = Object.fromEntries(parts.map((x) => [x.type, x.value]));
    return Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour % 24, +p.minute, +p.second) - t;
  };
  let t = wall - offset(wall);
  t = wall - offset(t);
  return new Date(t).toISOString();
}

export async function render(ctx) {
  const scoped = !!ctx.params.bid;
  let brand = null;
  let body;
  if (scoped) {
    ({ brand, body } = await brandFrame(ctx, 'exceptions', 'Exceptions'));
  } else {
    ctx.setTitle('Exceptions', 'Portfolio');
    body = ctx.root;
  }
  const pid = portfolioId();
  const url = scoped ? `/api/v1/brands/${brand.id}/exceptions` : `/api/v1/portfolios/${pid}/exceptions`;
  const here = scoped ? link('/brands', brand.id, 'exceptions') : '#/portfolio/exceptions';
  const q = ctx.query;
  const f = {
    state: STATES[q.get('state')] ? q.get('state') : 'active',
    kind: KINDS[q.get('kind')] ? q.get('kind') : '',
    severity: SEVERITIES[q.get('severity')] ? q.get('severity') : '',
    brand: scoped ? '' : q.get('brand') || '',
    connection: q.get('connection') || '',
    owner: q.get('owner') || '',
  };
  const selected = { id: q.get('item') || '', brand: scoped ? brand.id : q.get('item_brand') || '' };
  const brandId = () => (scoped ? brand.id : f.brand);
  const params = (cursor = null, limit = null) => ({
    state: f.state, kind: f.kind || null, severity: f.severity || null, brand_id: scoped ? null : f.brand || null,
    connection_id: f.connection || null, owner: f.owner || null, limit, cursor,
  });
  const first = await api.get(url, params()); // a 403 or 404 (or a bad filter) is the screen's error
  let counts = first.counts || {};
  const me = session.me.user;
  const zone = (bid) => (brand && brand.id === bid ? brand.timezone : session.brands.find((b) => b.id === bid)?.timezone);
  const when = (iso, bid, opts) => zoneTime(iso, zone(bid), opts);
  const brandName = (x) => x.brand || session.brands.find((b) => b.id === x.brand_id)?.name || 'a brand';
  const mayAct = (x) => canInventory(scoped ? brand.your_role : roleIn(x.brand_id));

  // The address keeps the filters and the open item.
  function remember() {
    const out = new URLSearchParams();
    if (f.state !== 'active') out.set('state', f.state);
    for (const k of ['kind', 'severity', 'brand', 'connection', 'owner']) if (f[k]) out.set(k, f[k]);
    if (selected.id) {
      out.set('item', selected.id);
      if (!scoped) out.set('item_brand', selected.brand);
    }
    history.replaceState(null, '', out.toString() ? `${here}?${out}` : here);
  }

  if (!scoped) {
    ctx.root.append(pageHeader({
      title: 'Exceptions',
      crumbs: [{ label: 'Portfolio', href: '#/' }, { label: 'Exceptions' }],
      meta: h('span', { class: 'muted', text: 'What needs a person across your brands, worst first. Items open and close themselves from what they describe.' }),
    }));
  }

  // --- filters: chips with counts, and selects ----------------------------------------------
  const chipsEl = h('div', { class: 'facet-rows' });
  const selectsEl = h('div', { class: 'facet-selects' });

  function chip(group, value, label, n) {
    const on = f[group] === value;
    const b = h('button', { type: 'button', class: ['chip', on ? 'chip-on' : null], 'aria-pressed': on ? 'true' : 'false', dataset: { facet: group, value } },
      h('span', { text: label }), n === null ? null : h('span', { class: 'chip-count', text: qty(n) }));
    b.addEventListener('click', () => setFilter(group, value));
    return b;
  }
  function chipRow(label, chips) {
    const id = `facet-${label.toLowerCase().replace(/\W+/g, '-')}`;
    return h('div', { class: 'facet-row' }, h('span', { class: 'facet-label', id, text: label }),
      h('div', { class: 'chip-list', role: 'group', 'aria-labelledby': id }, chips));
  }
  function drawChips() {
    // The state chips count what the server counts per state (counts.by_state, under every filter but the
    // state: active is open + acknowledged, all the four); without it only the chosen state's count is
    // known (the total), and the others show none rather than a guess.
    const st = counts.by_state;
    const n = (k) => Number(st[k]) || 0;
    const stateN = st
      ? { active: n('open') + n('acknowledged'), open: n('open'), acknowledged: n('acknowledged'), snoozed: n('snoozed'), resolved: n('resolved'),
        all: n('open') + n('acknowledged') + n('snoozed') + n('resolved') }
      : {};
    stateN[f.state] = Number(counts.total) || 0;
    const sev = counts.by_severity || {};
    const kinds = counts.by_kind || {};
    const totalOf = (o) => Object.values(o).reduce((a, b) => a + (Number(b) || 0), 0);
    const shownKinds = KIND_ORDER.filter((k) => Number(kinds[k]) > 0 || f.kind === k);
    for (const k of Object.keys(kinds)) if (!KINDS[k] && Number(kinds[k]) > 0) shownKinds.push(k);
    replace(chipsEl,
      chipRow('State', STATE_CHIPS.map((s) => chip('state', s, STATES[s].label, stateN[s] === undefined ? null : Number(stateN[s]) || 0))),
      chipRow('Severity', [chip('severity', '', 'Any', totalOf(sev)), ...SEVERITY_ORDER.map((s) => chip('severity', s, SEVERITIES[s].label, Number(sev[s]) || 0))]),
      chipRow('Kind', [chip('kind', '', 'Every kind', totalOf(kinds)), ...shownKinds.map((k) => chip('kind', k, kindLabel(k), Number(kinds[k]) || 0))]));
  }

  // Owner and channel (and brand, on the portfolio's queue) are selects.
  const selectFor = (name, label, options, value) => {
    const id = `filter-${name}`;
    const sel = h('select', { id, class: 'select-compact', name }, options.map((o) => h('option', { value: o.value, text: o.label })));
    sel.value = value;
    if (sel.value !== value) {
      sel.append(h('option', { value, text: label === 'Owner' ? 'the chosen person' : 'the chosen one' }));
      sel.value = value;
    }
    sel.addEventListener('change', () => setFilter(name, sel.value));
    return h('div', { class: 'facet-select' }, h('label', { for: id, class: 'facet-label', text: label }), sel);
  }
  const people = isAdmin() ? await getAll(`/api/v1/portfolios/${pid}/members`).catch(() => []) : [];
  const personLabel = (p) => (p.name ? `${p.name} (${p.email})` : p.email);
  const connCache = new Map();
  async function connectionsOf(bid) {
    if (!bid) return [];
    if (!connCache.has(bid)) connCache.set(bid, await getAll(`/api/v1/brands/${bid}/connections`).catch(() => []));
    return connCache.get(bid);
  }
  async function drawSelects() {
    const byBrand = counts.by_brand || {};
    const parts = [];
    if (!scoped) {
      const brands = [...session.brands].sort((a, b) => (Number(byBrand[b.id]) || 0) - (Number(byBrand[a.id]) || 0) || a.name.localeCompare(b.name));
      parts.push(selectFor('brand', 'Brand', [{ value: '', label: 'Every brand' }, ...brands.map((b) => ({ value: b.id, label: `${b.name} (${qty(Number(byBrand[b.id]) || 0)})` }))], f.brand));
    }
    const conns = await connectionsOf(brandId());
    parts.push(selectFor('connection', 'Channel', brandId()
      ? [{ value: '', label: 'Every channel' }, ...conns.map((c) => ({ value: c.id, label: c.name }))]
      : [{ value: '', label: 'Every channel (choose a brand to pick one)' }], f.connection));
    parts.push(selectFor('owner', 'Owner', [{ value: '', label: 'Anyone or nobody' }, { value: 'me', label: 'Me' }, { value: 'none', label: 'Nobody yet' },
      ...people.filter((p) => !p.disabled && p.user_id !== me.id).map((p) => ({ value: p.user_id, label: personLabel(p) }))], f.owner));
    replace(selectsEl, parts);
  }

  async function setFilter(name, value) {
    f[name] = value;
    if (name === 'brand') f.connection = '';
    remember();
    await reloadAll();
  }

  // --- the table ---------------------------------------------------------------------------------
  const caption = h('p', { class: 'queue-summary', role: 'status' });
  function drawSummary() {
    const n = Number(counts.total) || 0;
    const what = f.state === 'active' ? 'needing someone' : f.state === 'all' ? 'in all' : STATES[f.state].label.toLowerCase();
    caption.textContent = `${plural(n, 'exception')} ${what}${f.kind ? ` · ${kindLabel(f.kind)}` : ''}${f.severity ? ` · ${SEVERITIES[f.severity].label}` : ''}.`;
  }

  let table = null;
  const ownerText = (x) => {
    if (!x.owner) return h('span', { class: 'muted', text: 'nobody yet' });
    return h('span', { text: x.owner.id === me.id ? `${x.owner.name || 'me'} (me)` : x.owner.name || 'someone' });
  };
  const columns = [
    { label: 'Severity', render: (x) => severityBadge(x.severity) },
    { label: 'What', render: (x) => h('div', { class: 'cell-stack' }, h('strong', { text: kindLabel(x.kind) }), h('span', { text: x.title })) },
    scoped ? null : { label: 'Brand', render: (x) => h('a', { href: link('/brands', x.brand_id), text: brandName(x) }) },
    { label: 'Age', render: (x) => h('span', { title: `opened ${zoneTime(x.opened_at, zone(x.brand_id)).textContent}`, text: fromNow(x.opened_at).replace(/ ago$/, '') }) },
    { label: 'Owner', render: ownerText },
    { label: 'State', render: (x) => stateBadge(x, (iso) => when(iso, x.brand_id)) },
    { label: 'Actions', class: 'actions', render: (x) => rowButton('Open', () => openItem(x.brand_id, x.id, true),
      { ariaLabel: `Open ${kindLabel(x.kind)}: ${x.title}` }) },
  ].filter(Boolean);
  // What the table shows, in order, and a stamp per item (a refresh redraws only changed rows).
  let listed = first.items.map((x) => x.id);
  const stamps = new Map(first.items.map((x) => [x.id, stamp(x)]));
  const load = async (cursor) => {
    const r = await api.get(url, params(cursor));
    if (!cursor) {
      counts = r.counts || counts;
      listed = [];
      stamps.clear();
    }
    for (const x of r.items) {
      if (!stamps.has(x.id)) listed.push(x.id);
      stamps.set(x.id, stamp(x));
    }
    return r;
  };
  table = pagedTable({
    caption: 'Exceptions, worst first',
    empty: () => (f.state === 'active' ? 'Nothing needs anyone here: no open or acknowledged exception matches.' : 'No exception matches.'),
    rowClass: (x) => (x.state === 'resolved' ? 'row-muted' : `row-severity-${x.severity}`),
    columns,
    first,
    load,
  });

  async function reloadAll() {
    await table.reload();
    drawChips();
    drawSummary();
    await drawSelects();
  }

  // --- one item ----------------------------------------------------------------------------------
  const detailSlot = h('div', { class: 'exception-detail-slot' });
  let detailFormOpen = false;
  let current = null;

  async function openItem(bid, xid, focus = false) {
    selected.id = xid;
    selected.brand = bid;
    remember();
    const x = await api.get(`/api/v1/brands/${bid}/exceptions/${encodeURIComponent(xid)}`);
    current = x;
    drawDetail(x);
    if (focus) {
      const heading = detailSlot.querySelector('h2');
      if (heading) {
        heading.tabIndex = -1;
        heading.focus();
        heading.scrollIntoView({ block: 'start' });
      }
    }
  }
  function closeItem() {
    selected.id = '';
    selected.brand = '';
    current = null;
    detailFormOpen = false;
    replace(detailSlot);
    remember();
  }
  /** After an action: the item again, the list and the counts. */
  async function after(x, message) {
    detailFormOpen = false;
    try {
      await Promise.all([openItem(x.brand_id, x.id), refreshCounts(x.brand_id), refresh()]);
    } finally {
      // Said once the item, the list and the counts show it (or failed to refresh: the action itself is done).
      if (message) notify(message);
    }
  }

  function drawDetail(x) {
    const bid = x.brand_id;
    const t = (iso) => when(iso, bid);
    const words = (iso) => when(iso, bid).textContent;
    const facts = [
      ['What', h('span', {}, h('strong', { text: kindLabel(x.kind) }), ` — ${KINDS[x.kind]?.text || ''}`)],
      scoped ? null : ['Brand', h('a', { href: link('/brands', bid), text: brandName(x) })],
      x.connection_id ? ['Channel', h('a', { href: link('/brands', bid, 'channels', x.connection_id), text: x.connection || 'the connection' })] : null,
      x.sku ? ['SKU', h('span', {}, skuLink(bid, x.sku), x.sku_title ? ` ${x.sku_title}` : '')] : null,
      x.channel_sku ? ['Channel SKU', h('code', { text: x.channel_sku })] : null,
      detailWords(x.detail, words).length ? ['Figures', sentence(detailWords(x.detail, words).join('; '))] : null,
      ['Opened', h('span', {}, t(x.opened_at), h('span', { class: 'muted', text: ` (${fromNow(x.opened_at)})` }))],
      x.seen_at ? ['Still seen', t(x.seen_at)] : null,
      ['Owner', ownerText(x)],
      ['State', stateBadge(x, t)],
      x.resolved_at ? ['Closed', h('span', {}, t(x.resolved_at), x.resolved_by ? ` by ${x.resolved_by.name || 'someone'}` : ' by itself: what it described cleared')] : null,
      x.state === 'resolved' && !x.closed_by_itself && x.resolved_by ? ['Comes back', 'if what it describes changes again, it reopens by itself'] : null,
      x.note && x.state === 'resolved' ? ['Resolution note', x.note] : null, // a reopened item's old note is in its history
    ].filter(Boolean);
    const actionBox = h('div', { class: 'exception-action', 'aria-live': 'polite' });
    const may = mayAct(x);
    const moves = may ? stateButtons(x, actionBox) : null;
    // A resolved item keeps only the links that explain it; its fixes are for a live one.
    const fixes = may && x.state !== 'resolved' ? fixControls(x, actionBox) : linksOnly(x);
    const close = h('button', { type: 'button', class: 'button button-small', text: 'Close', 'aria-label': 'Close this exception' });
    close.addEventListener('click', () => {
      closeItem();
      const row = table.el.querySelector('tbody tr');
      if (row) row.focus?.();
    });
    replace(detailSlot, panel({ title: x.title, id: 'exception', actions: close },
      h('div', { class: 'page-meta exception-badges' }, severityBadge(x.severity), stateBadge(x, t)),
      h('dl', { class: 'details' }, facts.map(([k, v]) => [h('dt', { text: k }), h('dd', {}, v)])),
      moves ? h('div', { class: 'button-row spaced-top', role: 'group', 'aria-label': 'Move this exception' }, moves) : null,
      fixes && fixes.length ? h('div', { class: 'exception-fixes' }, h('h3', { text: 'Fix it here' }), h('div', { class: 'button-row' }, fixes)) : null,
      actionBox,
      h('h3', { class: 'spaced-top', text: 'History' }),
      historyList(x)));
  }

  function historyList(x) {
    const entries = x.history || [];
    if (!entries.length) return h('p', { class: 'muted', text: 'No history yet.' });
    return h('ol', { class: 'history-list' }, entries.map((e) => h('li', {},
      h('span', { class: 'history-when' }, when(e.at, x.brand_id)),
      h('span', { class: 'history-what' }, h('strong', { text: historyLabel(e.action) }),
        e.actor ? ` by ${e.actor.name || 'someone'}` : e.action === 'closed' ? '' : ' by onecount',
        historyExtra(e, x)),
      // A person's note in quotes; onecount's own words as they are.
      e.note ? h('span', { class: 'history-note', text: e.actor ? `\u201C${e.note}\u201D` : e.note }) : null)));
  }
  function historyExtra(e, x) {
    const d = e.detail || {};
    if (e.action === 'assigned') return d.owner ? ` to ${d.owner.name || 'someone'}` : ' to nobody';
    if (e.action === 'snoozed' && d.until) return h('span', {}, ' until ', when(d.until, x.brand_id));
    if (e.action === 'opened') return d.severity && SEVERITIES[d.severity] ? ` as ${SEVERITIES[d.severity].label.toLowerCase()}` : '';
    if ((e.action === 'changed' || e.action === 'reopened') && d.title) return `: now \u201C${d.title}\u201D`;
    return '';
  }

  // --- moving an item: acknowledge, assign, snooze, resolve, reopen -----------------------------
  const xurl = (x, verb) => `/api/v1/brands/${x.brand_id}/exceptions/${encodeURIComponent(x.id)}/${verb}`;
  function openForm(box, title, form, opener, focusName) {
    detailFormOpen = true;
    const cancel = () => {
      detailFormOpen = false;
      replace(box);
      if (opener && opener.isConnected) opener.focus();
    };
    form.el.querySelector('.form-actions').append(h('button', { type: 'button', class: 'button', text: 'Cancel', onclick: cancel }));
    replace(box, h('section', { class: 'subpanel', 'aria-label': title }, h('h3', { text: title }), form.el));
    form.control(focusName)?.focus();
  }
  // What each state allows (the server's exception_act): acknowledge from open or snoozed (which wakes
  // it), assign, snooze and resolve until it is resolved, reopen a resolved item whose condition is still there.
  function stateButtons(x, box) {
    const out = [];
    const name = `${kindLabel(x.kind)}: ${x.title}`;
    if (x.state === 'open' || x.state === 'snoozed') {
      out.push(rowButton(x.state === 'snoozed' ? 'Wake up and acknowledge' : 'Acknowledge', (ev) => busy(ev.currentTarget, async () => {
        try {
          await after(await api.post(xurl(x, 'acknowledge'), {}), `Acknowledged: ${x.title}`);
        } catch (err) { if (!err.handled) notify(sentence(err.message), { kind: 'error' }); }
      }), { ariaLabel: `Acknowledge ${name}` }));
    }
    if (x.state !== 'resolved') {
      out.push(rowButton('Assign…', (ev) => busy(ev.currentTarget, () => assignForm(x, box, ev.currentTarget)), { ariaLabel: `Assign ${name}` }));
      out.push(rowButton('Snooze…', (ev) => snoozeForm(x, box, ev.currentTarget), { ariaLabel: `Snooze ${name}` }));
      out.push(rowButton('Resolve…', (ev) => resolveForm(x, box, ev.currentTarget), { ariaLabel: `Resolve ${name}` }));
    }
    if (x.state === 'resolved' && !x.closed_by_itself && x.resolved_by) {
      out.push(rowButton('Reopen…', (ev) => reopenForm(x, box, ev.currentTarget), { ariaLabel: `Reopen ${name}` }));
    }
    return out;
  }

  const brandMembers = new Map();
  async function candidates(bid) {
    if (isAdmin()) {
      return people.filter((p) => !p.disabled && p.memberships.some((m) => m.brand_id === bid || m.role === 'portfolio_admin'))
        .map((p) => ({ value: p.user_id, label: `${personLabel(p)}${p.user_id === me.id ? ' (me)' : ''}` }));
    }
    if (canManage(scoped ? brand.your_role : roleIn(bid))) {
      if (!brandMembers.has(bid)) brandMembers.set(bid, await getAll(`/api/v1/brands/${bid}/members`).catch(() => []));
      return brandMembers.get(bid).filter((p) => !p.disabled).map((p) => ({ value: p.user_id, label: `${personLabel(p)} · ${roleLabel(p.role)}` }));
    }
    return [{ value: me.id, label: `Me (${me.name || me.email})` }];
  }
  async function assignForm(x, box, opener) {
    const options = [{ value: '', label: 'Nobody' }, ...(await candidates(x.brand_id))];
    if (x.owner && !options.some((o) => o.value === x.owner.id)) options.push({ value: x.owner.id, label: x.owner.name || 'the current owner' });
    const form = createForm({
      label: 'Assign the exception',
      submitLabel: 'Assign',
      layout: 'inline',
      fields: [
        { name: 'owner_id', label: 'Owner', type: 'select', options, value: x.owner ? x.owner.id : '', optional: false },
        { name: 'note', label: 'Note', maxlength: 1000 },
      ],
      async onSubmit(v) {
        const body2 = { owner_id: v.owner_id || null };
        if (v.note) body2.note = v.note;
        const saved = await api.post(xurl(x, 'assign'), body2);
        await after(saved, saved.owner ? `${saved.title} is assigned to ${saved.owner.name || 'them'}` : `${saved.title} has no owner now`);
      },
    });
    openForm(box, `Assign: ${x.title}`, form, opener, 'owner_id');
  }
  function snoozeForm(x, box, opener) {
    const tz = zone(x.brand_id);
    const form = createForm({
      label: 'Snooze the exception',
      submitLabel: 'Snooze',
      layout: 'inline',
      fields: [
        { name: 'for', label: 'Snooze for', type: 'select', required: true, value: '1',
          options: [{ value: '1', label: '1 hour' }, { value: '4', label: '4 hours' }, { value: '24', label: '1 day' }, { value: 'until', label: 'Until a date…' }] },
        { name: 'until', label: 'Until', type: 'datetime-local', required: true, hint: `In the brand\u2019s time zone (${tz || 'UTC'}).` },
        { name: 'note', label: 'Note', maxlength: 1000 },
      ],
      async onSubmit(v) {
        const body2 = v.for === 'until' ? { until: zonedToIso(v.until, tz) } : { hours: Number(v.for) };
        if (v.for === 'until' && !body2.until) {
          form.setError('until', 'Until needs a date and a time');
          return;
        }
        if (v.note) body2.note = v.note;
        const saved = await api.post(xurl(x, 'snooze'), body2);
        await after(saved, `Snoozed until ${zoneTime(saved.snoozed_until, tz).textContent}: ${saved.title}`);
      },
      aliases: { hours: 'for' },
    });
    const sync = () => { form.wrap('until').hidden = form.control('for').value !== 'until'; };
    form.control('for').addEventListener('change', sync);
    sync();
    openForm(box, `Snooze: ${x.title}`, form, opener, 'for');
  }
  function resolveForm(x, box, opener) {
    const form = createForm({
      label: 'Resolve the exception',
      submitLabel: 'Resolve',
      fields: [{ name: 'note', label: 'Note (what was done)', type: 'textarea', required: true, maxlength: 2000,
        hint: KINDS[x.kind] && /by itself/.test(KINDS[x.kind].text) ? 'It stays resolved until what it describes changes again.' : null }],
      async onSubmit(v) {
        const saved = await api.post(xurl(x, 'resolve'), { note: v.note });
        await after(saved, `Resolved: ${saved.title}`);
      },
    });
    openForm(box, `Resolve: ${x.title}`, form, opener, 'note');
  }
  function reopenForm(x, box, opener) {
    const form = createForm({
      label: 'Reopen the exception',
      submitLabel: 'Reopen',
      layout: 'inline',
      fields: [{ name: 'note', label: 'Note (why)', maxlength: 1000 }],
      async onSubmit(v) {
        const saved = await api.post(xurl(x, 'reopen'), v.note ? { note: v.note } : {});
        await after(saved, `Reopened: ${saved.title}`);
      },
    });
    openForm(box, `Reopen: ${x.title}`, form, opener, 'note');
  }

  // --- the item's own fix ------------------------------------------------------------------------
  const linkFor = {
    open_connection: (x) => (x.connection_id ? link('/brands', x.brand_id, 'channels', x.connection_id) : null),
    open_checklist: (x) => `#/portfolio/checklist?brand=${encodeURIComponent(x.brand_id)}`,
    open_runs: (x) => link('/brands', x.brand_id, 'sync'),
    open_sku: (x) => (x.sku ? link('/brands', x.brand_id, 'sku', x.sku) : null),
  };
  /** "List on <channel>" for each connection the SKU is missing on (detail.missing_on), or one generic link. */
  function listLinks(x) {
    const missing = Array.isArray(x.detail?.missing_on) ? x.detail.missing_on : [];
    const href = (cid) => `${link('/brands', x.brand_id, 'listings', 'new')}?${new URLSearchParams({ sku: x.sku || '', connection: cid || '' })}`;
    if (!missing.length) return [h('a', { class: 'button button-small', href: href(x.connection_id), text: ACTIONS.list_sku })];
    return missing.map((m) => h('a', { class: 'button button-small', href: href(m.connection_id), text: `List ${x.sku || 'it'} on ${m.connection}` }));
  }
  /** Readers who may not act still get the links that explain the item. */
  function linksOnly(x) {
    return (x.actions || []).filter((a) => linkFor[a] && a !== 'list_sku' && linkFor[a](x))
      .map((a) => h('a', { class: 'button button-small', href: linkFor[a](x), text: ACTIONS[a] }));
  }
  function fixControls(x, box) {
    const out = [];
    const bid = x.brand_id;
    const listingUrl = x.listing_id ? `/api/v1/brands/${bid}/listings/${x.listing_id}` : null;
    for (const a of x.actions || []) {
      const label = ACTIONS[a] || a.replace(/_/g, ' ');
      if (linkFor[a]) {
        const href = linkFor[a](x);
        if (href) out.push(h('a', { class: 'button button-small', href, text: label }));
      } else if (a === 'list_sku') {
        out.push(...listLinks(x));
      } else if (a === 'resolve_oversell' && x.incident_id) {
        out.push(rowButton(`${label}…`, (ev) => oversellForm(x, box, ev.currentTarget)));
      } else if (a === 'map_line' && x.connection_id) {
        out.push(rowButton(`${label}…`, (ev) => busy(ev.currentTarget, () => mapForm(x, box, ev.currentTarget))));
      } else if (a === 'create_sku' && x.connection_id) {
        out.push(rowButton(`${label}…`, (ev) => createSkuForm(x, box, ev.currentTarget)));
      } else if (a === 'repush' && listingUrl) {
        out.push(rowButton(label, (ev) => busy(ev.currentTarget, () => listingPatch(x, { repush: true }, `${x.sku || 'The listing'} will be pushed again to ${x.connection || 'the channel'}`))));
      } else if (a === 'pause_listing' && listingUrl) {
        out.push(rowButton(label, (ev) => busy(ev.currentTarget, () => listingPatch(x, { state: 'paused' }, `The listing of ${x.sku || 'the SKU'} on ${x.connection || 'the channel'} is paused: onecount pushes nothing to it until it is resumed`))));
      } else if (a === 'adjust_buffer') {
        // One listing: its buffer here; several (detail.zero_on): each listing's own screen.
        const zeroOn = Array.isArray(x.detail?.zero_on) ? x.detail.zero_on : [];
        if (listingUrl) out.push(rowButton(`${label}…`, (ev) => busy(ev.currentTarget, () => bufferForm(x, box, ev.currentTarget, x.listing_id))));
        else {
          for (const z of zeroOn.filter((zz) => zz.listing_id)) {
            out.push(rowButton(`Adjust the buffer on ${z.connection}…`, (ev) => busy(ev.currentTarget, () => bufferForm(x, box, ev.currentTarget, z.listing_id))));
          }
        }
        const cid = x.connection_id || (zeroOn.length === 1 ? zeroOn[0].connection_id : null);
        if (cid) out.push(h('a', { class: 'button button-small', href: link('/brands', bid, 'channels', cid), text: 'Buffer advisor of the connection' }));
      }
    }
    return out;
  }
  async function listingPatch(x, patch, message) {
    try {
      await api.patch(`/api/v1/brands/${x.brand_id}/listings/${x.listing_id}`, patch);
      await after(x, message);
    } catch (err) {
      if (!err.handled) notify(sentence(err.message), { kind: 'error' });
    }
  }
  function oversellForm(x, box, opener) {
    const form = createForm({
      label: 'Record how the oversell was settled',
      submitLabel: 'Resolve incident',
      layout: 'inline',
      fields: [
        { name: 'resolution', label: 'Resolution', type: 'select', required: true, value: '', options: [{ value: '', label: 'Choose how it was settled' }, ...RESOLUTIONS] },
        { name: 'note', label: 'Note', maxlength: 1000, placeholder: 'e.g. customer refunded, order 1042' },
      ],
      async onSubmit(v) {
        const body2 = { resolution: v.resolution };
        if (v.note) body2.note = v.note;
        const o = await api.post(`/api/v1/brands/${x.brand_id}/oversells/${encodeURIComponent(x.incident_id)}/resolve`, body2);
        await after(x, `Oversell of ${o.sku || x.sku} resolved: ${RESOLUTIONS.find((r) => r.value === o.resolution)?.label || o.resolution}`);
      },
    });
    openForm(box, `Settle: ${x.title}`, form, opener, 'resolution');
  }
  async function mapForm(x, box, opener) {
    const codes = await skuCodes(x.brand_id);
    const form = createForm({
      label: 'Map the channel SKU',
      submitLabel: 'Map SKU',
      layout: 'inline',
      fields: [{ name: 'sku', label: 'SKU', required: true, list: codes, mono: true, maxlength: 64,
        hint: `The SKU that ${x.channel_sku || 'this channel SKU'} is on ${x.connection || 'the channel'}; its waiting order lines are recorded at once.` }],
      async onSubmit(v) {
        let l;
        try {
          l = await api.post(`/api/v1/brands/${x.brand_id}/listings`, { connection_id: x.connection_id, sku: v.sku, external_sku: x.channel_sku });
        } catch (err) {
          if (err.status === 404 && !err.field) err.field = 'sku';
          throw err;
        }
        await after(x, `${l.sku} is listed on ${l.connection} as ${l.external_sku}`);
      },
    });
    openForm(box, `Map ${x.channel_sku || 'the line'} on ${x.connection || 'the channel'}`, form, opener, 'sku');
  }
  function createSkuForm(x, box, opener) {
    const once = submission('sku');
    const form = createForm({
      label: 'Create a SKU from the channel SKU',
      submitLabel: 'Create SKU and map it',
      layout: 'inline',
      fields: [
        { name: 'code', label: 'Code', required: true, mono: true, maxlength: 64, value: x.channel_sku || '' },
        { name: 'title', label: 'Title', maxlength: 300 },
      ],
      async onSubmit(v) {
        const payload = { code: v.code };
        if (v.title) payload.title = v.title;
        const sku = await api.post(`/api/v1/brands/${x.brand_id}/skus`, payload, { idempotencyKey: once.keyFor(payload) });
        once.done();
        let l;
        try {
          l = await api.post(`/api/v1/brands/${x.brand_id}/listings`, { connection_id: x.connection_id, sku: sku.code, external_sku: x.channel_sku });
        } catch (err) {
          notify(`SKU ${sku.code} created, but it could not be mapped: ${sentence(err.message)}`, { kind: 'error' });
          await after(x, null);
          return;
        }
        await after(x, `SKU ${sku.code} created and listed on ${l.connection} as ${l.external_sku}`);
      },
    });
    openForm(box, `Create a SKU from ${x.channel_sku || 'the line'}`, form, opener, 'code');
  }
  async function bufferForm(x, box, opener, listingId) {
    const l = await api.get(`/api/v1/brands/${x.brand_id}/listings/${listingId}`);
    const cur = l.rules && l.rules.buffer !== undefined && l.rules.buffer !== null ? String(l.rules.buffer) : '';
    const form = createForm({
      label: 'Set the listing\u2019s buffer',
      submitLabel: 'Save buffer',
      layout: 'inline',
      fields: [{ name: 'rules.buffer', label: 'Buffer (units, or auto)', mono: true, maxlength: 12, value: cur, required: true,
        hint: `Units held back from ${l.connection}; now ${cur || 'the connection\u2019s rule'}. It may show ${qty(l.desired_qty)}.` }],
      async onSubmit(v) {
        const raw = v['rules.buffer'];
        const buffer = raw.toLowerCase() === 'auto' ? 'auto' : /^\d+$/.test(raw) ? Number(raw) : raw;
        const u = await api.patch(`/api/v1/brands/${x.brand_id}/listings/${listingId}`, { rules: { ...(l.rules || {}), buffer } });
        await after(x, `Buffer of ${l.sku} on ${l.connection} saved: it may now show ${qty(u.desired_qty)}`);
      },
    });
    openForm(box, `Buffer of ${l.sku} on ${l.connection}`, form, opener, 'rules.buffer');
  }

  // --- refreshing ----------------------------------------------------------------------------------
  // A refresh asks for as many items as are shown: when the same items come back in the same order, only
  // the rows whose item changed are redrawn (focus stays); otherwise the list starts over.
  const bar = refreshBar(null, { what: 'the queue', every: EVERY });
  async function refresh() {
    const r = await api.get(url, params(null, Math.min(200, Math.max(50, listed.length))));
    counts = r.counts || counts;
    const n = Math.min(listed.length, r.items.length);
    const same = r.items.length <= listed.length && r.items.every((x, i) => listed[i] === x.id) && (r.items.length === listed.length || r.next_cursor);
    if (same) {
      for (const x of r.items.slice(0, n)) {
        if (stamp(x) !== stamps.get(x.id)) {
          stamps.set(x.id, stamp(x));
          table.update(x);
        }
      }
    } else {
      await table.reload();
    }
    drawChips();
    drawSummary();
    if (current && !detailFormOpen && selected.id) {
      const x = await api.get(`/api/v1/brands/${selected.brand}/exceptions/${encodeURIComponent(selected.id)}`).catch(() => null);
      if (x && stamp(x) !== stamp(current)) {
        current = x;
        drawDetail(x);
      }
    }
  }
  const poller = autoRefresh({ every: EVERY, alive: ctx.alive, run: refresh, onDone: () => bar.mark(), onError: (err) => bar.fail(err) });
  bar.bind(poller);
  bar.mark();

  drawChips();
  drawSummary();
  await drawSelects();
  body.append(
    panel({ title: 'Which exceptions', id: 'exception-filters' }, chipsEl, selectsEl),
    detailSlot,
    panel({ title: 'Exceptions', id: 'queue' }, caption, table.el, bar.el));
  if (selected.id && selected.brand) await openItem(selected.brand, selected.id).catch((err) => {
    replace(detailSlot, h('p', { class: 'error-text', text: `That exception could not be shown: ${sentence(err.message)}` }));
  });
}
