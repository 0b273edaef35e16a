// connection.js — #/brands/<id>/channels/<cid>: one channel connection.
// Everyone who reads the brand sees its status, settings, rules, which
// credential fields are set (never their values) and its sync health
// (refreshed while shown; sync-card.js).  Brand owners and admins
// test it (showing whatever the server answers, 501 included), pause and
// resume it, change its name, address, settings and rules, replace its
// credentials (an explicit action: the stored ones are never shown), and
// delete it.  Operators and up auto-map SKUs onto it.  Everyone sees the
// buffer advisor (buffer-advice.js); operators and up apply it.
import { api } from '../api.js';
import { h, sentence } from '../ui/dom.js';
import { createForm } from '../ui/form.js';
import { confirmDialog } from '../ui/dialog.js';
import { durationMs, plural, qty, time } from '../ui/format.js';
import { notify } from '../ui/notice.js';
import { errorPanel, panel, busy } from '../ui/page.js';
import { autoRefresh, refreshBar } from '../ui/poll.js';
import { copyField } from '../ui/secret.js';
import { link } from '../router.js';
import { canChannels, canInventory } from '../session.js';
import { brandFrame } from './brand-frame.js';
import { automapButton } from './automap.js';
import { bufferAdvicePanel } from './buffer-advice.js';
import { connectionStatus } from './channels.js';
import {
  KINDS, credentialFields, credentialsFromValues, credentialsSummary, kindLabel, modeName, settingFields,
  settingsFromValues, settingsList, showKind,
} from './channel-kinds.js';
import { ruleFields, rulesFromValues, rulesText } from './rules.js';
import { connectionCard } from './sync-card.js';
import { REFRESH_MS } from './sync.js';
import { channelFailureWords, lagText } from './sync-words.js';
import { pushLagPanel } from './charts.js';

function details(pairs) {
  return h('dl', { class: 'details' }, pairs.filter(Boolean).map(([k, v]) => [h('dt', { text: k }), h('dd', {}, v)]));
}

const ms = (v) => (v === null || v === undefined ? h('span', { class: 'muted', text: 'not measured yet' }) : durationMs(v));

function valueNode(v) {
  if (v === null || v === undefined) return h('span', { class: 'muted', text: 'none' });
  if (typeof v === 'object') return h('code', { class: 'break', text: JSON.stringify(v) });
  return String(v);
}

/**
 * What the server answered to "Test connection", whatever it was.  The
 * server calls the channel and answers 200 either way (the test ran):
 * {ok: true, checked_at, elapsed_ms, steps, account, details} when the
 * channel let it in, {ok: false, …, error: {code, message, retryable,
 * channel_status}} when it refused or failed.  Other answers (409: the
 * stored credentials do not open; 501: this build cannot call channels;
 * 503…) are the usual error shape, shown as they come.
 */
function testResult(outcome) {
  if (outcome.ok && outcome.body && outcome.body.ok === true) {
    const b = outcome.body;
    const details = b.details && typeof b.details === 'object' ? Object.entries(b.details) : [];
    return h('section', { class: 'report report-ok', role: 'status', 'aria-label': 'Test result' },
      h('h3', {}, h('span', { class: 'badge badge-ok', text: 'Connected' }), ' The channel let onecount in'),
      h('dl', { class: 'details' },
        h('dt', { text: 'Account' }), h('dd', {}, b.account ? h('code', { class: 'break', text: String(b.account) }) : h('span', { class: 'muted', text: 'not named' })),
        details.map(([k, v]) => [h('dt', { text: k.replace(/_/g, ' ') }), h('dd', {}, valueNode(v))]),
        b.elapsed_ms !== undefined ? [h('dt', { text: 'Answered in' }), h('dd', { text: durationMs(b.elapsed_ms) })] : null));
  }
  if (outcome.ok && outcome.body && outcome.body.ok === false) {
    const b = outcome.body;
    const e = b.error || {};
    const [badge, heading] = channelFailureWords(e.channel_status);
    return h('section', { class: 'report report-error', role: 'status', 'aria-label': 'Test result' },
      h('h3', {}, h('span', { class: 'badge badge-danger', text: badge }), ` ${heading}`),
      h('p', { text: sentence(e.message || 'no reason given') }),
      h('dl', { class: 'details' },
        h('dt', { text: 'Channel answered' }), h('dd', { text: e.channel_status ? `HTTP ${e.channel_status}` : 'nothing (no answer)' }),
        h('dt', { text: 'Worth retrying' }), h('dd', { text: e.retryable
          ? 'yes: the channel may be busy or down; test again in a while'
          : 'no: check the settings and credentials, then test again' }),
        b.elapsed_ms !== undefined ? [h('dt', { text: 'Took' }), h('dd', { text: durationMs(b.elapsed_ms) })] : null));
  }
  if (outcome.ok) {
    // 200 without ok: whatever it holds, shown as it is.
    const entries = Object.entries(outcome.body || {});
    return h('section', { class: 'report report-info', role: 'status', 'aria-label': 'Test result' },
      h('h3', { text: 'The server answered' }),
      entries.length ? h('dl', { class: 'details' }, entries.map(([k, v]) => [h('dt', { text: k }), h('dd', {}, valueNode(v))])) : null);
  }
  const err = outcome.err;
  const titles = {
    501: ['Not available', 'badge-muted', 'Testing is not available in this build of the server.'],
    409: err.code === 'duplicate_account'
      ? ['Already connected', 'badge-danger', 'Another active connection reaches this account; this one is paused so no order counts twice.']
      : ['Credentials', 'badge-danger', 'The stored credentials do not open; replace them.'],
    502: ['Channel refused', 'badge-danger', 'The channel refused or failed.'],
  };
  const [badge, cls, lead] = titles[err.status] || ['Failed', 'badge-danger', 'The test did not complete.'];
  return h('section', { class: ['report', err.status === 501 ? 'report-info' : 'report-error'], role: 'status', 'aria-label': 'Test result' },
    h('h3', {}, h('span', { class: ['badge', cls], text: badge }), ` ${lead}`),
    h('p', {}, `The server answered ${err.status || 'nothing'}: ${sentence(err.message)}`));
}

/** The account on the channel this connection reaches, as the channel confirmed it (one active connection each). */
function accountText(a) {
  if (!a) return h('span', { class: 'muted', text: 'not confirmed by the channel yet' });
  const where = a.marketplace_ids && a.marketplace_ids.length ? ` · ${a.marketplace_ids.join(', ')}` : '';
  return h('span', {}, h('code', { class: 'break', text: `${a.id}${where}` }), ' · confirmed ', time(a.verified_at));
}

/**
 * Where Shopify sends this connection's order webhooks (README "Shopify
 * webhooks"): the address to paste into the store's notification settings.
 */
function webhookPanel(brand, conn) {
  const address = `${window.location.origin}/api/v1/webhooks/shopify/${brand.id}/${conn.id}`;
  return panel({ title: 'Shopify webhook address',
    description: 'Subscribe the store\u2019s orders/*, refunds/create and inventory_levels/update topics to this address (JSON). onecount checks each delivery\u2019s signature with the app\u2019s secret before reading it, so orders arrive within seconds instead of at the next poll.' },
  copyField({ label: 'Webhook address', value: address }));
}

/** The connection's sync health (GET …/health, its routines), refreshed while shown. */
/**
 * What the channel received: for a connection made on the simulators, their
 * record of every request this account got (newest first), with the
 * quantities each one wrote.  Real channels keep no such record for us: the
 * panel is left out (the SKU timeline shows what onecount sent them).
 */
const LOG_FIRST = 20;
const LOG_MORE = 40;
const LOG_MAX = 200;

async function channelLogPanel(brand, conn, body) {
  const url = `/api/v1/brands/${brand.id}/connections/${conn.id}/channel-log`;
  let log;
  try {
    log = await api.get(url);
  } catch (err) {
    if (err.handled && err.status === 401) throw err;
    body.append(errorPanel(err, { title: 'What the channel received is not available' }));
    return;
  }
  if (!log.simulated) return;
  const items = [];
  const tbody = h('tbody');
  const empty = h('p', { class: 'muted', text: 'The simulator has no request of this account yet.' });
  const table = h('div', { class: 'table-wrap' }, h('table', { class: 'table channel-log' },
    h('caption', { class: 'visually-hidden', text: `Requests the channel of ${conn.name} received` }),
    h('thead', {}, h('tr', {}, ['When', 'Request', 'Operation', 'Answer', 'Quantities written']
      .map((c) => h('th', { scope: 'col', text: c })))),
    tbody));
  let since = null;
  let shown = LOG_FIRST;
  const all = h('button', { type: 'button', class: 'button', text: 'Show more requests', 'aria-controls': null });
  all.addEventListener('click', () => {
    shown = Math.min(shown + LOG_MORE, LOG_MAX);
    show();
  });
  const show = () => {
    const newest = items.slice().reverse().slice(0, LOG_MAX);
    all.hidden = newest.length <= shown;
    all.textContent = `Show more requests (${qty(Math.min(shown, newest.length))} of ${qty(newest.length)} shown)`;
    tbody.replaceChildren(...newest.slice(0, shown).map((x) => h('tr', {},
      h('td', {}, time(x.time)),
      h('td', {}, h('code', { class: 'break', text: `${x.method} ${x.path}` })),
      h('td', { text: x.op || '' }),
      h('td', { text: `${x.status}${x.fault ? ` (fault: ${x.fault})` : ''} · ${durationMs(x.ms || 0)}` }),
      h('td', { text: x.writes ? Object.entries(x.writes).map(([k, v]) => `${k} → ${qty(v)}`).join(', ') : '' }))));
    empty.hidden = items.length > 0;
    table.hidden = items.length === 0;
  };
  const take = (answer) => {
    items.push(...answer.items);
    if (answer.next_since !== null && answer.next_since !== undefined) since = answer.next_since;
  };
  take(log);
  const more = h('button', { type: 'button', class: 'button', text: 'Show newer requests' });
  more.addEventListener('click', () => busy(more, async () => {
    try {
      take(await api.get(`${url}?since=${encodeURIComponent(since ?? 0)}`));
      show();
    } catch (err) {
      if (!err.handled) notify(err.message, { kind: 'error' });
    }
  }));
  show();
  body.append(panel({ title: 'What the channel received',
    description: `This connection talks to the channel simulator, which records every request it receives: the newest ${LOG_FIRST} are shown (up to ${LOG_MAX} with “Show more”), with the quantities each one set.` },
  table, empty, h('div', { class: 'form-actions spaced' }, all, more)));
}

async function healthPanel(ctx, brand, conn, body) {
  const base = `/api/v1/brands/${brand.id}`;
  // the health carries the connection's routines as GET …/routines shows them
  const load = () => api.get(`${base}/connections/${conn.id}/health`).then((health) => [health, health.routines]);
  let first;
  try {
    first = await load();
  } catch (err) {
    if (err.handled && err.status === 401) throw err;
    body.append(errorPanel(err, { title: 'Sync health is not available' }));
    return;
  }
  let poller = null;
  const card = connectionCard(brand, first[0], first[1], { title: 'Sync health', onChanged: () => poller && poller.now() });
  const bar = refreshBar(null, { what: 'the health', every: REFRESH_MS });
  card.el.append(bar.el);
  body.append(card.el);
  bar.mark();
  poller = autoRefresh({
    every: REFRESH_MS,
    alive: () => ctx.alive() && card.el.isConnected,
    run: async () => card.update(...(await load())),
    onDone: () => bar.mark(),
    onError: (err) => bar.fail(err),
  });
  bar.bind(poller);
}

export async function render(ctx) {
  const cid = ctx.params.cid;
  const { brand, body } = await brandFrame(ctx, 'channels', 'Connection', { crumbs: [{ label: 'Connection' }] });
  const base = `/api/v1/brands/${brand.id}/connections/${encodeURIComponent(cid)}`;
  const conn = await api.get(base); // 404 for another brand's or an unknown connection
  ctx.setTitle(conn.name, brand.name);
  const crumb = ctx.root.querySelector('.crumbs li:last-child span');
  if (crumb) crumb.textContent = conn.name;
  const owner = canChannels(brand.your_role);
  const operator = canInventory(brand.your_role);
  const paused = conn.status === 'paused';

  // What an operator acts on comes first (the summary with its actions, the
  // rules, the sync health); the long records come last (the channel's request log).
  const [summarySlot, rulesSlot, hookSlot, healthSlot, adviceSlot, editSlot, logSlot] = [0, 1, 2, 3, 4, 5, 6].map(() => h('div', { class: 'slot' }));
  body.append(summarySlot, rulesSlot, hookSlot, healthSlot, adviceSlot, editSlot, logSlot);
  if (conn.kind === 'shopify') hookSlot.append(webhookPanel(brand, conn));

  // --- summary and actions ------------------------------------------------------------
  const testSlot = h('div', { class: 'result-slot' });
  const mapSlot = h('div', { class: 'result-slot' });
  const actions = [];
  let del = null;
  if (owner) {
    const test = h('button', { type: 'button', class: 'button button-primary', text: 'Test connection' });
    test.addEventListener('click', () => busy(test, async () => {
      testSlot.replaceChildren(h('p', { class: 'muted', text: 'Asking the channel…' }));
      let outcome;
      try {
        outcome = { ok: true, body: await api.post(`${base}/test`, {}) };
      } catch (err) {
        if (err.handled && err.status === 401) return;
        outcome = { ok: false, err };
      }
      testSlot.replaceChildren(testResult(outcome));
    }));
    const pause = h('button', { type: 'button', class: 'button', text: paused ? 'Resume' : 'Pause' });
    pause.addEventListener('click', () => busy(pause, async () => {
      if (!paused) {
        const ok = await confirmDialog({ title: `Pause ${conn.name}?`, message: 'onecount stops pushing quantities to this channel until you resume it. Orders are still recorded.', confirmLabel: 'Pause connection' });
        if (!ok) return;
      }
      try {
        await api.patch(base, { status: paused ? 'active' : 'paused' });
      } catch (err) {
        if (!err.handled) notify(err.message, { kind: 'error' });
        return;
      }
      notify(paused ? `${conn.name} resumed` : `${conn.name} paused`);
      ctx.rerender();
    }));
    del = h('button', { type: 'button', class: 'button button-danger', text: 'Delete' });
    del.addEventListener('click', () => busy(del, async () => {
      const ok = await confirmDialog({
        title: `Delete ${conn.name}?`,
        message: `It is removed with its sealed credentials and its ${plural(conn.listings, 'listing')}. The channel itself keeps its listings and stock; onecount just stops managing them. This cannot be undone.`,
        confirmLabel: 'Delete connection',
        danger: true,
      });
      if (!ok) return;
      try {
        await api.del(base);
      } catch (err) {
        if (!err.handled) notify(err.message, { kind: 'error' });
        return;
      }
      notify(`${conn.name} deleted`);
      ctx.navigate(link('/brands', brand.id, 'channels'));
    }));
    actions.push(test, pause);
  }
  if (operator) actions.push(automapButton(brand, conn, mapSlot, () => ctx.rerender()));
  if (owner) actions.push(del);

  summarySlot.append(panel({ title: conn.name, id: 'connection', actions: h('div', { class: 'button-row' }, actions) },
    testSlot, mapSlot,
    h('div', { class: 'grid-2 grid-plain' },
      details([
        ['Channel', kindLabel(conn.kind)],
        ['Status', connectionStatus(conn)],
        ['Base URL', h('code', { class: 'break', text: conn.base_url })],
        ['Account', accountText(conn.account)],
        ['Listings', h('span', {}, h('a', { href: `${link('/brands', brand.id, 'listings')}?connection=${conn.id}`, text: plural(conn.listings, 'listing') }),
          conn.out_of_sync ? ` · ${qty(conn.out_of_sync)} waiting to be pushed` : '')],
        ['Rules', rulesText(conn.rules)],
        ['Push lag', lagText(conn.push_lag, conn.push_lag_ms)],
        ['Order lag', ms(conn.ingest_lag_ms)],
        ['Connected', time(conn.created_at)],
      ]),
      h('div', {},
        h('h3', { class: 'subheading', text: 'Settings' }), settingsList(conn.kind, conn.settings),
        h('h3', { class: 'subheading', text: 'Credentials' }), credentialsSummary(conn.credentials),
        conn.credentials && conn.credentials.updated_at ? h('p', { class: 'muted small' }, 'Last replaced ', time(conn.credentials.updated_at)) : null))));

  await healthPanel(ctx, brand, conn, healthSlot);
  const lag = pushLagPanel(brand, conn);
  healthSlot.append(lag);
  await lag.ready;
  await bufferAdvicePanel(brand, conn, adviceSlot, { canApply: operator, onApplied: () => ctx.rerender() });
  await channelLogPanel(brand, conn, logSlot);
  if (!owner) return;

  // --- name, address, settings ------------------------------------------------------------
  const kind = conn.kind;
  const settingsAliases = {};
  const edit = createForm({
    label: 'Edit the connection',
    submitLabel: 'Save changes',
    aliases: settingsAliases,
    fields: [
      { name: 'name', label: 'Name', required: true, maxlength: 100, value: conn.name },
      { name: 'base_url', label: 'Base URL', type: 'url', required: true, maxlength: 500, value: conn.base_url, mono: true },
      ...(KINDS[kind] ? settingFields(kind, conn.settings || {}) : []),
    ],
    async onSubmit(v) {
      const patch = {};
      if (v.name !== conn.name) patch.name = v.name;
      if (v.base_url !== conn.base_url) patch.base_url = v.base_url;
      if (KINDS[kind]) {
        const settings = settingsFromValues(kind, v);
        // not a field of the form: the simulator account a demo connection was made on
        if (conn.settings && conn.settings.sim_account !== undefined) settings.sim_account = conn.settings.sim_account;
        if (JSON.stringify(settings) !== JSON.stringify(conn.settings || {})) patch.settings = settings;
      }
      if (Object.keys(patch).length === 0) {
        notify('Nothing to save', { kind: 'info' });
        return;
      }
      await api.patch(base, patch);
      notify(`${v.name} saved`);
      ctx.rerender();
    },
  });
  if (KINDS[kind]) showKind(edit, settingsAliases, kind, { credentials: false });

  // --- rules --------------------------------------------------------------------------------
  const rules = createForm({
    label: 'Rules of the connection',
    layout: 'grid',
    submitLabel: 'Save rules',
    fields: ruleFields(conn.rules || {}),
    async onSubmit(v) {
      await api.patch(base, { rules: rulesFromValues(v) });
      notify(`Rules of ${conn.name} saved; its listings are recomputed`);
      ctx.rerender();
    },
  });

  // --- credentials: replaced whole, on purpose --------------------------------------------------
  const credAliases = {};
  const creds = KINDS[kind] ? createForm({
    label: 'Replace credentials',
    submitLabel: 'Replace credentials',
    aliases: credAliases,
    fields: credentialFields(kind),
    secondary: h('button', { type: 'button', class: 'button', text: 'Cancel', onclick: () => closeCreds() }),
    async onSubmit(v) {
      await api.patch(base, { credentials: credentialsFromValues(kind, v) });
      creds.reset();
      notify('Credentials replaced; the new ones are sealed and will not be shown');
      ctx.rerender();
    },
  }) : null;
  const credBox = h('div', { class: 'subpanel', hidden: true });
  const replace = h('button', { type: 'button', class: 'button', text: 'Replace credentials…', 'aria-expanded': 'false' });
  function closeCreds() {
    creds.reset();
    credBox.hidden = true;
    replace.hidden = false;
    replace.setAttribute('aria-expanded', 'false');
    replace.focus();
  }
  if (creds) {
    const sync = () => showKind(creds, credAliases, kind, { settings: false });
    const mode = creds.control(modeName(kind));
    if (mode) mode.addEventListener('change', sync);
    sync();
    credBox.append(h('p', { class: 'field-hint', text: 'The new credentials replace all stored ones: fields left empty are not kept. The stored values are never shown, here or anywhere.' }), creds.el);
    replace.addEventListener('click', () => {
      credBox.hidden = false;
      replace.hidden = true;
      replace.setAttribute('aria-expanded', 'true');
      credBox.querySelector('input, select').focus();
    });
  }

  rulesSlot.append(panel({ title: 'Rules', description: 'How much of what is available this channel may show. Empty fields: no such rule. Listings can override each rule.' }, rules.el));
  // The edit form is one click away: it is rarely used, and open it made the page long.
  const editBox = h('div', { class: 'subpanel', hidden: true }, edit.el);
  const editOpen = h('button', { type: 'button', class: 'button', text: 'Edit name, address and settings…', 'aria-expanded': 'false' });
  editOpen.addEventListener('click', () => {
    editBox.hidden = false;
    editOpen.hidden = true;
    editOpen.setAttribute('aria-expanded', 'true');
    edit.control('name').focus();
  });
  editSlot.append(
    panel({ title: 'Connection details', description: 'The name, the channel\u2019s address and its settings, as shown at the top.' },
      h('div', { class: 'form-actions spaced' }, editOpen), editBox),
    panel({ title: 'Credentials', description: 'Write-only. Which fields are set is all anyone can see.' },
      credentialsSummary(conn.credentials), h('div', { class: 'form-actions spaced' }, replace), credBox));
}
