// sync.js — #/brands/<id>/sync: what the sync engine is doing for the
// brand.  A summary (open alerts, listings waiting to be pushed and those
// whose pushes failed, drift not yet healed, webhook events waiting), then
// one card per connection (sync-card.js: circuit, queue,
// last push, latency, 429s, lags, parked order lines, alerts, routines) and
// the brand-wide routines, then the run history (each run of a routine,
// newest first: when, how long, outcome, what it saw).  Refreshes every few seconds while the screen is
// shown and the browser tab visible; it can be paused.  Everyone who reads
// the brand sees it; operators and up run routines and resolve alerts,
// brand owners and admins change their schedule.
import { api } from '../api.js';
import { h } from '../ui/dom.js';
import { qty, time } from '../ui/format.js';
import { panel } from '../ui/page.js';
import { pagedTable } from '../ui/table.js';
import { autoRefresh, refreshBar } from '../ui/poll.js';
import { link } from '../router.js';
import { canChannels } from '../session.js';
import { brandFrame } from './brand-frame.js';
import { connectionCard, routineTable } from './sync-card.js';
import { msText, routineLabel, runEvidence, runOutcomeBadge } from './sync-words.js';

export const REFRESH_MS = 5000;
const RUNS_PAGE = 20;

/** An instant in the brand's time zone (its zone named), with seconds. */
function brandTime(brand, iso) {
  return time(iso, { seconds: true, zone: brand.timezone });
}

/** The run history: a paged table of GET …/routine-runs. */
function runHistory(brand, base, first) {
  return pagedTable({
    caption: 'Runs of the brand\u2019s routines, newest first',
    empty: 'No routine has run yet.',
    columns: [
      { label: 'Routine', render: (x) => routineLabel(x.kind) },
      { label: 'Connection', render: (x) => (x.connection_id ? x.connection || x.connection_id : h('span', { class: 'muted', text: 'whole brand' })) },
      { label: 'Started', render: (x) => brandTime(brand, x.started_at) },
      { label: 'Duration', render: (x) => (x.duration_ms === null || x.duration_ms === undefined ? h('span', { class: 'muted', text: '—' }) : msText(x.duration_ms)) },
      { label: 'Outcome', render: (x) => runOutcomeBadge(x.status) },
      { label: 'What it did', render: (x) => h('span', { class: 'small run-evidence', text: runEvidence(x) }) },
    ],
    first,
    load: (cursor) => api.get(`${base}/routine-runs`, { limit: RUNS_PAGE, cursor }),
  });
}

function summary(brand, s) {
  const fig = (label, value, href, warn) => h('div', { class: ['figure', warn ? 'figure-warn' : null] },
    h('dt', { text: label }), h('dd', {}, href && value > 0 ? h('a', { href, text: qty(value) }) : qty(value)));
  return h('dl', { class: 'figures' },
    fig('Connections', s.connections.length),
    fig('Open alerts', s.open_alerts, link('/brands', brand.id, 'alerts'), s.open_alerts > 0),
    fig('Listings waiting', s.listings_behind, null, s.listings_stuck > 0 || s.listings_failing > 0),
    fig('Failing', s.listings_failing, null, s.listings_failing > 0),
    fig('Drift not healed', s.open_drift, `${link('/brands', brand.id, 'alerts')}?drift=open`, s.open_drift > 0),
    fig('Webhook events waiting', s.pending_events, null, s.pending_events > 0));
}

export async function render(ctx) {
  const { brand, body } = await brandFrame(ctx, 'sync', 'Sync');
  const base = `/api/v1/brands/${brand.id}`;
  const load = () => Promise.all([api.get(`${base}/sync`), api.get(`${base}/routines`)]);
  const [first, firstRoutines] = await load(); // a 403 or 404 fails the screen
  const runs = runHistory(brand, base, await api.get(`${base}/routine-runs`, { limit: RUNS_PAGE }));

  const summarySlot = h('div', {});
  const cardsEl = h('div', { class: 'sync-cards' });
  const emptyEl = h('section', { class: 'panel', hidden: true },
    h('p', { class: 'muted' }, 'No channel connections yet, so nothing is synced. ',
      canChannels(brand.your_role) ? h('a', { href: link('/brands', brand.id, 'channels', 'new'), text: 'Connect a channel' }) : 'A brand owner connects channels',
      '.'));
  const cards = new Map();
  let poller = null;
  const refresh = () => poller && poller.now();
  const brandWide = routineTable(brand, { caption: 'Brand-wide routines', onChanged: refresh });
  const brandWidePanel = panel({ title: 'Brand-wide routines', description: 'Routines that serve every connection of the brand.' }, brandWide.el);

  function draw([s, routines]) {
    summarySlot.replaceChildren(summary(brand, s));
    const seen = new Set();
    for (const c of s.connections) {
      seen.add(c.connection_id);
      const mine = c.routines; // as GET …/routines shows them
      let card = cards.get(c.connection_id);
      if (!card) {
        card = connectionCard(brand, c, mine, { onChanged: refresh });
        cards.set(c.connection_id, card);
      } else card.update(c, mine);
      cardsEl.append(card.el);
    }
    for (const [id, card] of cards) {
      if (!seen.has(id)) {
        card.el.remove();
        cards.delete(id);
      }
    }
    emptyEl.hidden = s.connections.length > 0;
    const wide = routines.filter((r) => !r.connection_id);
    brandWide.update(wide);
    brandWidePanel.hidden = wide.length === 0;
  }

  const bar = refreshBar(null, { what: 'the sync status', every: REFRESH_MS });
  body.append(
    panel({ title: 'Sync status', description: 'How the brand\u2019s channels keep up: pushes waiting, failures, alerts, and the routines that poll and check each channel.' },
      summarySlot, bar.el),
    emptyEl, cardsEl, brandWidePanel,
    panel({ title: 'Run history', id: 'run-history', description: 'Each run of the routines above, newest first: when it started (in the brand\u2019s time zone), how long it took, how it ended and what it saw and changed. A run whose worker stopped mid-run shows as interrupted and runs again.' }, runs.el));
  draw([first, firstRoutines]);
  bar.mark();
  poller = autoRefresh({
    every: REFRESH_MS,
    alive: () => ctx.alive() && body.isConnected,
    run: async () => {
      draw(await load());
      if (runs.count <= RUNS_PAGE) await runs.reload(); // not while someone reads further pages
    },
    onDone: () => bar.mark(),
    onError: (err) => bar.fail(err),
  });
  bar.bind(poller);
}
