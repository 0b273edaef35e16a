// page.js — the pieces every screen is made of: header, panels, errors.
import { h, sentence } from './dom.js';

/**
 * The page header: breadcrumbs ([{label, href}]), an h1 (focused after
 * navigation), an optional line of badges/subtitle and actions on the right.
 */
export function pageHeader({ title, crumbs = [], meta = null, actions = null }) {
  return h('header', { class: 'page-header' },
    crumbs.length
      ? h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' },
        h('ol', {}, crumbs.map((c) => h('li', {}, c.href ? h('a', { href: c.href, text: c.label }) : h('span', { text: c.label })))))
      : null,
    h('div', { class: 'page-title-row' },
      h('div', { class: 'page-title' }, h('h1', { tabindex: '-1', text: title }), meta ? h('div', { class: 'page-meta' }, meta) : null),
      actions ? h('div', { class: 'page-actions' }, actions) : null));
}

/** A titled section of a page. */
export function panel({ title, description = null, actions = null, id = null }, ...children) {
  const headingId = id ? `${id}-title` : null;
  return h('section', { class: 'panel', id, 'aria-labelledby': headingId },
    title ? h('div', { class: 'panel-header' },
      h('div', {}, h('h2', { id: headingId, text: title }), description ? h('p', { class: 'panel-description', text: description }) : null),
      actions ? h('div', { class: 'panel-actions' }, actions) : null) : null,
    children);
}

/**
 * A failure shown in place of content: 403 shows the server's reason, 404
 * says it is not there.  page: true when it is the whole page (an h1).
 */
export function errorPanel(err, { title, page = false } = {}) {
  const heading = title || (err.status === 403 ? 'Not allowed'
    : err.status === 404 ? 'Not found'
      : err.status === 503 ? 'Temporarily unavailable'
        : 'Something went wrong');
  return h('section', { class: 'panel panel-error', role: 'alert' },
    page ? h('h1', { tabindex: '-1', text: heading }) : h('h2', { text: heading }),
    h('p', { text: sentence(err.message) }),
    err.requestId ? h('p', { class: 'muted small' }, 'Request id: ', h('code', { text: err.requestId })) : null);
}

/** A button that looks like a link-sized action in a table row. */
export function rowButton(label, onClick, { danger = false, ariaLabel = null } = {}) {
  return h('button', { type: 'button', class: ['button', 'button-small', danger ? 'button-danger-quiet' : null], text: label, 'aria-label': ariaLabel, onclick: onClick });
}

/** Runs an action from a button: disables it and marks it aria-busy meanwhile (the browser tests wait for that); returns the action's result or undefined on failure. */
export async function busy(button, fn) {
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  try {
    return await fn();
  } finally {
    button.removeAttribute('aria-busy');
    if (button.isConnected) button.disabled = false;
  }
}
