// counts.js — the small numbers beside the navigation and the brand tabs:
// exceptions that need someone in the portfolio and per brand (one
// GET …/portfolios/<pid>/exceptions?limit=1 for its counts, every 30 seconds while someone
// is signed in and the browser tab is visible), and on a brand's screens its
// open exceptions, open oversells and open alerts (…/dashboard and
// …/alerts?state=open of that brand, every 30 seconds while the brand is
// shown).  A count is a
// <span class="count" data-count="key"> made by countBadge(); new numbers
// are written into every such span in place, so nothing else redraws.
// Screens that change an item call refreshCounts() to update at once.
import { api } from './api.js';
import { h } from './ui/dom.js';
import { autoRefresh } from './ui/poll.js';
import { session } from './session.js';

const EVERY = 30000;
const ALERTS_SHOWN = 99; // the Alerts tab says "99+" beyond
const values = new Map(); // key → number
const words = {
  exceptions: (n) => `${n} needing someone`,
  oversells: (n) => `${n} open`,
  alerts: (n) => `${n} open`,
};
let poller = null;
let pollerPid = null;

function paint() {
  for (const el of document.querySelectorAll('[data-count]')) fill(el);
}

function fill(el) {
  const n = values.get(el.dataset.count);
  const show = (Number.isFinite(n) && n > 0) || (typeof n === 'string' && n !== '');
  el.hidden = !show;
  el.textContent = show ? String(n) : '';
  const what = words[el.dataset.countWhat] || words.exceptions;
  if (show) el.setAttribute('title', what(n));
  else el.removeAttribute('title');
}

/**
 * A count for `key` ('exceptions', 'brand:<bid>', 'tab:<bid>:oversells'…):
 * hidden while it is 0 or not known yet.  what: 'exceptions' | 'oversells' | 'alerts' (its tooltip).
 */
export function countBadge(key, what = 'exceptions') {
  const el = h('span', { class: 'count', dataset: { count: key, countWhat: what } });
  fill(el);
  return el;
}

async function loadPortfolio() {
  const pid = session.me?.portfolio?.id;
  if (!pid) return;
  const r = await api.get(`/api/v1/portfolios/${pid}/exceptions`, { limit: 1 }); // the counts; one item is the least a page has
  const c = r.counts || {};
  values.set('exceptions', Number(c.total) || 0);
  for (const key of [...values.keys()]) if (key.startsWith('brand:')) values.delete(key);
  for (const [bid, n] of Object.entries(c.by_brand || {})) values.set(`brand:${bid}`, Number(n) || 0);
  paint();
}

/** Starts the portfolio's counts (once per signed-in portfolio); the navigation calls it. */
export function startCounts() {
  const pid = session.me?.portfolio?.id;
  if (!pid) return;
  if (poller && !poller.stopped && pollerPid === pid) return;
  if (poller) poller.stop();
  pollerPid = pid;
  poller = autoRefresh({ every: EVERY, alive: () => session.me?.portfolio?.id === pid, run: loadPortfolio });
  poller.now();
}

const brandLoads = new Map(); // bid → () => Promise

async function loadBrand(bid) {
  const [dash, alerts] = await Promise.all([
    api.get(`/api/v1/brands/${bid}/dashboard`).catch(() => null),
    api.get(`/api/v1/brands/${bid}/alerts`, { state: 'open', limit: ALERTS_SHOWN }).catch(() => null),
  ]);
  if (dash) {
    values.set(`tab:${bid}:exceptions`, Number(dash.exceptions?.total) || 0);
    values.set(`tab:${bid}:oversells`, Number(dash.oversells?.open) || 0);
  }
  if (alerts) values.set(`tab:${bid}:alerts`, alerts.next_cursor ? `${alerts.items.length}+` : alerts.items.length);
  paint();
}

/** Keeps a brand's tab counts current while its screen is shown (ctx.alive). */
export function watchBrand(ctx, bid) {
  brandLoads.set(bid, () => loadBrand(bid));
  const p = autoRefresh({ every: EVERY, alive: ctx.alive, run: () => loadBrand(bid) });
  p.now();
}

/** Asks for every count again now (after an action changed an item). */
export async function refreshCounts(bid = null) {
  const jobs = [loadPortfolio().catch(() => {})];
  if (bid && brandLoads.has(bid)) jobs.push(brandLoads.get(bid)().catch(() => {}));
  await Promise.all(jobs);
}
