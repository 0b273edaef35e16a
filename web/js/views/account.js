// account.js — "who am I": the signed-in user, the portfolio, the roles held
// in it, and sign-out.
import { h, sentence } from '../ui/dom.js';
import { roleBadge, ROLE_HINTS } from '../ui/format.js';
import { pageHeader, panel } from '../ui/page.js';
import { link } from '../router.js';
import { session, isAdmin, refreshSession } from '../session.js';

export async function render({ root, setTitle, signOut: endSession }) {
  setTitle('Your account');
  await refreshSession(); // roles may have changed since sign-in
  const me = session.me;
  const signOut = h('button', { type: 'button', class: 'button', text: 'Sign out' });
  signOut.addEventListener('click', () => endSession(signOut));
  root.append(
    pageHeader({ title: 'Your account', crumbs: [{ label: 'Account' }], actions: signOut }),
    h('div', { class: 'grid-2' },
      panel({ title: 'You' }, h('dl', { class: 'details' },
        h('dt', { text: 'Name' }), h('dd', { text: me.user.name || '—' }),
        h('dt', { text: 'E-mail' }), h('dd', { text: me.user.email }),
        h('dt', { text: 'Signed in with' }), h('dd', { text: me.auth === 'token' ? 'an API token' : 'a browser session' }))),
      panel({ title: 'Portfolio' }, h('dl', { class: 'details' },
        h('dt', { text: 'Name' }), h('dd', { text: me.portfolio.name }),
        h('dt', { text: 'Portfolio role' }), h('dd', {}, me.portfolio_role ? roleBadge(me.portfolio_role) : h('span', { class: 'muted', text: 'none (brand roles only)' }))))),
    panel({ title: 'Brand roles', description: isAdmin() ? `As portfolio admin you can do ${ROLE_HINTS.portfolio_admin}.` : 'What you can do in each brand.' },
      me.memberships.length
        ? h('div', { class: 'table-wrap' }, h('table', { class: 'table' },
          h('thead', {}, h('tr', {}, h('th', { scope: 'col', text: 'Brand' }), h('th', { scope: 'col', text: 'Role' }), h('th', { scope: 'col', text: 'Which means' }))),
          h('tbody', {}, me.memberships.map((m) => h('tr', {},
            h('td', { 'data-label': 'Brand' }, h('a', { href: link('/brands', m.brand_id), text: m.brand_name })),
            h('td', { 'data-label': 'Role' }, roleBadge(m.role)),
            h('td', { 'data-label': 'Which means', text: sentence(ROLE_HINTS[m.role] || '') }))))))
        : h('p', { class: 'muted', text: isAdmin() ? 'You hold no brand-specific roles; you reach every brand through the portfolio.' : 'You have no brand roles yet.' })),
    me.auth === 'token' ? null : panel({ title: 'Notifications', description: 'Which alerts and exceptions onecount e-mails you, and whether one by one or in a daily digest.' },
      h('a', { href: '#/portfolio/notifications', class: 'button', text: 'Choose your notifications' })));
}
