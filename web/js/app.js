// app.js — the console's entry point: routes, the session, the layout.
//
// Every screen is a module under views/ exporting render(ctx), loaded when
// its route is first visited.  ctx = {root, params, query, route, setTitle,
// navigate, rerender, alive}; alive() is true while the screen is the one
// shown (pollers stop when it turns false).  Screens that need a signed-in
// user are only shown after GET /api/v1/me succeeded; a 401 anywhere returns
// to the sign-in screen and comes back to the same place afterwards.
import { api, onApiEvent } from './api.js';
import { h, sentence } from './ui/dom.js';
import { notify, showUnavailable, hideUnavailable, clearNotices, carryNotices } from './ui/notice.js';
import { setDisplayZone } from './ui/format.js';
import { errorPanel } from './ui/page.js';
import { createRouter, navigate, parseHash } from './router.js';
import { session, loadSession, clearSession, onSessionChange } from './session.js';
import { renderNav } from './layout.js';
import { initSearch, showSearch } from './search-box.js';

const routes = [
  { path: '/login', public: true, view: () => import('./views/login.js') },
  { path: '/accept', public: true, view: () => import('./views/accept.js') },
  { path: '/', view: () => import('./views/home.js') },
  { path: '/me', view: () => import('./views/account.js') },
  { path: '/search', view: () => import('./views/search.js') },
  { path: '/brands/:bid', view: () => import('./views/brand-overview.js') },
  { path: '/brands/:bid/exceptions', view: () => import('./views/exceptions.js') },
  { path: '/brands/:bid/skus', view: () => import('./views/skus.js') },
  { path: '/brands/:bid/skus/new', view: () => import('./views/sku-new.js') },
  { path: '/brands/:bid/sku/:code', view: () => import('./views/sku.js') },
  { path: '/brands/:bid/stock', view: () => import('./views/stock.js') },
  { path: '/brands/:bid/stock/new', view: () => import('./views/movement-new.js') },
  { path: '/brands/:bid/holds', view: () => import('./views/holds.js') },
  { path: '/brands/:bid/holds/new', view: () => import('./views/hold-new.js') },
  { path: '/brands/:bid/oversells', view: () => import('./views/oversells.js') },
  { path: '/brands/:bid/channels', view: () => import('./views/channels.js') },
  { path: '/brands/:bid/channels/new', view: () => import('./views/connection-new.js') },
  { path: '/brands/:bid/channels/:cid', view: () => import('./views/connection.js') },
  { path: '/brands/:bid/listings', view: () => import('./views/listings.js') },
  { path: '/brands/:bid/listings/new', view: () => import('./views/listing-new.js') },
  { path: '/brands/:bid/listings/:lid', view: () => import('./views/listing.js') },
  { path: '/brands/:bid/sync', view: () => import('./views/sync.js') },
  { path: '/brands/:bid/sop', view: () => import('./views/brand-sop.js') },
  { path: '/brands/:bid/orders', view: () => import('./views/orders.js') },
  { path: '/brands/:bid/alerts', view: () => import('./views/alerts.js') },
  { path: '/brands/:bid/imports', view: () => import('./views/imports.js') },
  { path: '/brands/:bid/imports/:jid', view: () => import('./views/import.js') },
  { path: '/brands/:bid/members', view: () => import('./views/brand-members.js') },
  { path: '/brands/:bid/tokens', scope: 'brand', view: () => import('./views/tokens.js') },
  { path: '/brands/:bid/audit', scope: 'brand', view: () => import('./views/audit.js') },
  { path: '/brands/:bid/settings', view: () => import('./views/brand-settings.js') },
  { path: '/portfolio/exceptions', view: () => import('./views/exceptions.js') },
  { path: '/portfolio/sop', view: () => import('./views/sop.js') },
  { path: '/portfolio/schedule', view: () => import('./views/schedule.js') },
  { path: '/portfolio/checklist', view: () => import('./views/checklist.js') },
  { path: '/portfolio/templates', view: () => import('./views/templates.js') },
  { path: '/portfolio/members', view: () => import('./views/portfolio-members.js') },
  { path: '/portfolio/tokens', scope: 'portfolio', view: () => import('./views/tokens.js') },
  { path: '/portfolio/notifications', view: () => import('./views/notifications.js') },
  { path: '/portfolio/audit', scope: 'portfolio', view: () => import('./views/audit.js') },
];

const router = createRouter(routes);
const viewEl = document.getElementById('view');
const nav = document.getElementById('sidebar');
const menuToggle = document.getElementById('menu-toggle');
let sessionChecked = false; // GET /me answered once (signed in or not)
let renderSeq = 0;
let endingSession = false;

function setTitle(...parts) {
  document.title = [...parts.filter(Boolean), 'onecount'].join(' · ');
}

function setNavOpen(open) {
  document.body.classList.toggle('nav-open', open);
  menuToggle.setAttribute('aria-expanded', open ? 'true' : 'false');
}

function updateChrome(signedInLayout) {
  document.body.classList.toggle('signed-in', signedInLayout);
  nav.hidden = !signedInLayout;
  menuToggle.hidden = !signedInLayout;
  if (signedInLayout) renderNav(nav, { onSignOut: signOut });
  showSearch(signedInLayout);
  setNavOpen(false);
}

async function signOut(button) {
  button.disabled = true;
  try {
    await api.post('/api/v1/auth/logout', {});
  } catch (err) {
    if (!(err.status === 401)) {
      notify(err.message, { kind: 'error' });
      button.disabled = false;
      return;
    }
  }
  clearSession();
  notify('You are signed out', { kind: 'info' });
  carryNotices();
  navigate('/login');
}

/**
 * Renders the route of location.hash.  While it works, #view is aria-busy;
 * when done, <html data-rendered> holds the hash it rendered (tests and
 * tools wait for it; a newer navigation makes an older render give up).
 */
async function render() {
  const seq = ++renderSeq;
  const hash = window.location.hash;
  delete document.documentElement.dataset.rendered;
  viewEl.setAttribute('aria-busy', 'true');
  try {
    await renderRoute(seq);
  } finally {
    if (seq === renderSeq) {
      viewEl.removeAttribute('aria-busy');
      document.documentElement.dataset.rendered = hash;
    }
  }
}

let lastPath = null;

async function renderRoute(seq) {
  const { route, params, query, path } = router.match(window.location.hash);
  hideUnavailable();
  // A new screen: the notices of the last one go (rendering the same screen again keeps them),
  // and times are in the reader's zone until a brand's screen sets the brand's.
  if (path !== lastPath) clearNotices();
  lastPath = path;
  setDisplayZone(null);

  // The sign-in screen checks too, so a signed-in user who opens it goes home;
  // accepting an invitation does not (it signs in as the invited user).
  const needsSession = !route || !route.public || route.path === '/login';
  if (!sessionChecked && !session.me && needsSession) {
    try {
      await loadSession();
      sessionChecked = true;
    } catch (err) {
      if (seq !== renderSeq) return;
      updateChrome(false);
      viewEl.replaceChildren(errorPanel(err, { title: 'The console could not start', page: true }));
      return;
    }
    if (seq !== renderSeq) return;
  }
  if (route && !route.public && !session.me) {
    const next = path !== '/' ? `?next=${encodeURIComponent(path + (query.toString() ? `?${query}` : ''))}` : '';
    navigate(`/login${next}`);
    return;
  }
  if (route && route.path === '/login' && session.me) {
    navigate('/');
    return;
  }

  updateChrome(!!session.me && !(route && route.public));
  const root = h('div', { class: 'page' });
  viewEl.replaceChildren(root);
  if (!route) {
    setTitle('Not found');
    root.append(h('h1', { tabindex: '-1', text: 'Page not found' }),
      h('p', {}, 'There is nothing at this address. ', h('a', { href: '#/', text: 'Go to your brands' }), '.'));
    focusHeading(root);
    return;
  }
  document.body.classList.remove('is-loading');
  // A screen that navigates after an action takes its notice along ("US store connected").
  const go = (p) => { carryNotices(); navigate(p); };
  const ctx = { root, params, query, route, setTitle, navigate: go, signOut, rerender: render, alive: () => seq === renderSeq };
  try {
    const mod = await route.view();
    if (seq !== renderSeq) return;
    const started = mod.render(ctx);
    focusHeading(root);
    await started;
    if (seq === renderSeq) focusHeading(root);
  } catch (err) {
    if (seq !== renderSeq || (err.handled && err.status === 401)) return;
    root.append(errorPanel(err, { page: !root.querySelector('h1') }));
    focusHeading(root);
    if (!err.status) console.error(err); // a bug in a view, not an API answer
  }
}

function focusHeading(root) {
  // Move focus to the new page's heading so keyboard and screen-reader users start there.
  // Leave focus alone when the view already put it somewhere (a form's first field).
  const active = document.activeElement;
  if (active && active !== document.body && active.isConnected && root.contains(active)) return;
  if (active && active.closest && active.closest('#sidebar, #notices, dialog')) return;
  const h1 = root.querySelector('h1');
  if (h1) h1.focus();
}

// A 401 on any authenticated call: the session ended (expired, signed out
// elsewhere, user disabled).  Go to sign-in once, then come back here.
onApiEvent('unauthenticated', () => {
  if (endingSession) return;
  endingSession = true;
  const wasSignedIn = !!session.me;
  clearSession();
  const { path, query } = parseHash();
  const here = path + (query.toString() ? `?${query}` : '');
  const next = path === '/' || path === '/login' ? '' : `?next=${encodeURIComponent(here)}`;
  if (wasSignedIn) notify('Your session has ended; sign in again', { kind: 'info' });
  carryNotices();
  navigate(`/login${next}`);
  setTimeout(() => { endingSession = false; }, 0);
});

onApiEvent('unavailable', (err) => showUnavailable(err, render));

onSessionChange(() => {
  if (!nav.hidden) renderNav(nav, { onSignOut: signOut });
});

menuToggle.addEventListener('click', () => setNavOpen(!document.body.classList.contains('nav-open')));
// The skip link must not change the hash (that is the router's): it only moves focus.
document.querySelector('.skip-link').addEventListener('click', (ev) => {
  ev.preventDefault();
  const main = document.getElementById('main');
  main.focus();
  main.scrollIntoView();
});
document.addEventListener('keydown', (ev) => {
  if (ev.key === 'Escape' && document.body.classList.contains('nav-open')) {
    setNavOpen(false);
    menuToggle.focus();
  }
});
initSearch(document.querySelector('.topbar'));
window.addEventListener('hashchange', render);
window.addEventListener('unhandledrejection', (ev) => {
  // Handled API failures (401 → sign-in, 503 → banner) need no second report.
  if (ev.reason && ev.reason.handled) ev.preventDefault();
  else if (ev.reason && ev.reason.status) {
    ev.preventDefault();
    notify(sentence(ev.reason.message), { kind: 'error' });
  }
});

render();
