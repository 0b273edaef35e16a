// accept.js — accepting an invitation from its link (#/accept?token=oci_…).
//
// A new account gives a name and a password; an e-mail that already has an
// account gives that account's password.  The console cannot know which
// before asking (the API has no preview of an invitation), so the form starts
// as "new account", offers a switch, and switches by itself when the server
// answers that the e-mail already has an account.
import { api, setCsrfToken } from '../api.js';
import { h } from '../ui/dom.js';
import { createForm } from '../ui/form.js';
import { notify } from '../ui/notice.js';
import { refreshSession } from '../session.js';

export function render({ root, query, setTitle, navigate }) {
  setTitle('Accept invitation');
  const token = query.get('token') || '';
  const card = h('div', { class: 'auth-card' });
  root.append(card);

  if (!token) {
    card.append(h('h1', { tabindex: '-1', text: 'Invitation link incomplete' }),
      h('p', { text: 'This link has no invitation token. Open the full link you were sent, or ask for a new one.' }),
      h('p', {}, h('a', { href: '#/login', text: 'Go to sign in' })));
    return;
  }

  let existing = false;
  const lead = h('p', { class: 'muted' });
  const toggle = h('button', { type: 'button', class: 'link-button' });
  const form = createForm({
    label: 'Accept invitation',
    submitLabel: 'Accept and sign in',
    fields: [
      { name: 'name', label: 'Your name', required: true, autocomplete: 'name', maxlength: 200 },
      { name: 'password', label: 'Password', type: 'password', required: true, autocomplete: 'new-password', trim: false },
    ],
    secondary: toggle,
    async onSubmit(values) {
      const body = { token, password: values.password };
      if (!existing) body.name = values.name;
      let res;
      try {
        res = await api.post('/api/v1/invitations/accept', body, { public: true });
      } catch (err) {
        if (err.status === 410) {
          showGone(err);
          return;
        }
        if (err.status === 401 && err.field === 'password' && !existing) {
          setMode(true); // the e-mail already has an account: ask for its password
        }
        throw err;
      }
      setCsrfToken(res.csrf_token);
      await refreshSession();
      history.replaceState(null, '', '#/'); // the token has done its work; keep it out of history
      notify(res.existing_account ? 'Invitation accepted; your new role is active' : 'Welcome to onecount; your account is ready');
      navigate('/');
    },
  });

  function setMode(useExisting) {
    existing = useExisting;
    form.wrap('name').hidden = useExisting;
    const pw = form.control('password');
    pw.setAttribute('autocomplete', useExisting ? 'current-password' : 'new-password');
    pw.setAttribute('minlength', useExisting ? '1' : '10');
    form.wrap('password').querySelector('label').firstChild.textContent = useExisting ? 'Your current password' : 'Choose a password';
    lead.textContent = useExisting
      ? 'This e-mail already has an onecount account. Enter its password to add the new role to it.'
      : 'Create your account: choose a name and a password of at least 10 characters.';
    toggle.textContent = useExisting ? 'I am new to onecount' : 'I already have an account';
  }
  toggle.addEventListener('click', () => {
    form.clearErrors();
    setMode(!existing);
    (existing ? form.control('password') : form.control('name')).focus();
  });

  function showGone(err) {
    card.replaceChildren(
      h('h1', { tabindex: '-1', text: 'This invitation cannot be used' }),
      h('p', { class: 'form-error', role: 'alert', text: 'This invitation was already used, revoked or has expired.' }),
      h('p', { text: 'Ask the person who invited you for a new link. If you already accepted it, sign in instead.' }),
      h('p', {}, h('a', { href: '#/login', class: 'button button-primary', text: 'Go to sign in' })));
    card.querySelector('h1').focus();
    if (err.requestId) card.dataset.requestId = err.requestId;
  }

  card.append(h('h1', { tabindex: '-1', text: 'Join onecount' }), lead, form.el);
  setMode(false);
  form.control('name').focus();
}
