// login.js — sign in with e-mail and password.
//
// A wrong password and an unknown account get the same answer from the
// server ("invalid email or password"); after repeated failures it answers
// 429 with Retry-After, shown here as the wait.
import { api } from '../api.js';
import { h } from '../ui/dom.js';
import { createForm } from '../ui/form.js';
import { duration } from '../ui/format.js';
import { setMe, refreshBrands } from '../session.js';

/** Only in-console destinations are followed after sign-in. */
function safeNext(next) {
  return next && next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/login') ? next : '/';
}

export function render({ root, query, setTitle, navigate }) {
  setTitle('Sign in');
  const form = createForm({
    label: 'Sign in',
    submitLabel: 'Sign in',
    fields: [
      { name: 'email', label: 'E-mail', type: 'email', required: true, autocomplete: 'username' },
      { name: 'password', label: 'Password', type: 'password', required: true, autocomplete: 'current-password', trim: false },
    ],
    async onSubmit(values) {
      try {
        const me = await api.post('/api/v1/auth/login', values, { public: true });
        setMe(me);
        await refreshBrands();
        navigate(safeNext(query.get('next')));
      } catch (err) {
        if (err.status === 429) {
          const wait = err.retryAfter ? ` You can try again in ${duration(err.retryAfter)}.` : '';
          form.setError(null, `${err.message}.${wait}`);
          return;
        }
        if (err.status === 401) {
          form.setError(null, err.message);
          form.control('password').value = '';
          form.control('password').focus();
          return;
        }
        throw err;
      }
    },
  });
  root.append(h('div', { class: 'auth-card' },
    h('h1', { tabindex: '-1', text: 'Sign in to onecount' }),
    h('p', { class: 'muted', text: 'One source of truth for inventory across every sales channel.' }),
    form.el,
    h('p', { class: 'muted small', text: 'New here? Ask a portfolio admin or your brand owner for an invitation link.' })));
  form.control('email').focus();
}
