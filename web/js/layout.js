// layout.js — the left navigation: the exception queue and the portfolio's brands
// (each with its count of exceptions needing someone, counts.js), the routine
// (checklist, schedule, SOP; templates for admins), the portfolio screens for admins, and the "who am I" card with sign-out.
import { h, replace } from './ui/dom.js';
import { link, parseHash } from './router.js';
import { session, isAdmin, standing } from './session.js';
import { countBadge, startCounts } from './counts.js';

function navLink(href, label, current, extra = null) {
  return h('li', {}, h('a', { href, class: 'nav-link', 'aria-current': current ? 'page' : null }, h('span', { class: 'nav-label', text: label }), extra));
}

/** Redraws the sidebar for the current session and location. */
export function renderNav(nav, { onSignOut }) {
  const me = session.me;
  if (!me) {
    nav.replaceChildren();
    return;
  }
  const { path } = parseHash();
  const brandMatch = /^\/brands\/([^/]+)/.exec(path);
  const currentBrand = brandMatch ? decodeURIComponent(brandMatch[1]) : null;

  const brands = session.brands.length
    ? h('ul', { class: 'nav-list' }, session.brands.map((b) => navLink(link('/brands', b.id), b.name, b.id === currentBrand, countBadge(`brand:${b.id}`))))
    : h('p', { class: 'nav-empty', text: isAdmin() ? 'No brands yet.' : 'You have no brands yet.' });

  // The routine: everyone in the portfolio reads the SOP, the schedule and the checklist.
  const routine = h('div', { class: 'nav-section' },
    h('h2', { class: 'nav-heading', text: 'Routine' }),
    h('ul', { class: 'nav-list' },
      navLink('#/portfolio/checklist', 'Checklist', path === '/portfolio/checklist'),
      navLink('#/portfolio/schedule', 'Schedule', path === '/portfolio/schedule'),
      navLink('#/portfolio/sop', 'SOP', path === '/portfolio/sop'),
      isAdmin() ? navLink('#/portfolio/templates', 'Templates', path === '/portfolio/templates') : null));

  const portfolio = isAdmin()
    ? h('div', { class: 'nav-section' },
      h('h2', { class: 'nav-heading', text: 'Administration' }),
      h('ul', { class: 'nav-list' },
        navLink('#/portfolio/members', 'People', path === '/portfolio/members'),
        navLink('#/portfolio/tokens', 'API tokens', path === '/portfolio/tokens'),
        navLink('#/portfolio/notifications', 'Notifications', path === '/portfolio/notifications'),
        navLink('#/portfolio/audit', 'Audit log', path === '/portfolio/audit')))
    : null;

  const signOut = h('button', { type: 'button', class: 'button button-small', text: 'Sign out' });
  signOut.addEventListener('click', () => onSignOut(signOut));

  startCounts();
  replace(nav,
    h('div', { class: 'nav-portfolio' },
      h('span', { class: 'nav-kicker', text: 'Portfolio' }),
      h('span', { class: 'nav-portfolio-name', text: me.portfolio.name })),
    h('div', { class: 'nav-section' },
      h('ul', { class: 'nav-list' }, navLink('#/', 'All brands', path === '/'),
        navLink('#/portfolio/exceptions', 'Exceptions', path === '/portfolio/exceptions', countBadge('exceptions'))),
      h('h2', { class: 'nav-heading', text: 'Brands' }),
      brands),
    session.brands.length || isAdmin() ? routine : null,
    portfolio,
    h('section', { class: 'whoami', 'aria-label': 'Signed in as' },
      h('a', { href: '#/me', class: 'whoami-name', 'aria-current': path === '/me' ? 'page' : null, text: me.user.name || me.user.email }),
      h('span', { class: 'whoami-email', text: me.user.email }),
      h('span', { class: 'whoami-role', text: standing() }),
      signOut));
}
