// notice.js — short messages above the screen's content (a polite live
// region in the page's flow, so a notice never covers a button), and the
// page banner for the service being unavailable.  A notice belongs to the
// screen it was shown on: leaving the screen clears it (clearNotices), except
// the one announcing the action that led to the new screen ("US store
// connected" on the connection it opens).
import { h, sentence } from './dom.js';
import { duration } from './format.js';

/** Shows a notice; success and info fade after a while, errors stay until closed. */
export function notify(message, { kind = 'success', timeout = kind === 'error' ? 0 : 6000 } = {}) {
  const area = document.getElementById('notices');
  const close = h('button', { type: 'button', class: 'notice-close', 'aria-label': 'Dismiss', text: '×' });
  const el = h('div', { class: ['notice', `notice-${kind}`] }, h('span', { text: sentence(message) }), close);
  close.addEventListener('click', () => el.remove());
  area.append(el);
  if (timeout) setTimeout(() => el.remove(), timeout);
  return el;
}

/**
 * Marks the notices shown now as announcing the navigation about to happen
 * (the app calls it when a screen navigates after an action), so the next
 * screen keeps them once.
 */
export function carryNotices() {
  const area = document.getElementById('notices');
  if (area) for (const el of area.children) el.dataset.carry = '1';
}

/** On leaving a screen: removes its notices, except those carried to the new one (which go at the next). */
export function clearNotices() {
  const area = document.getElementById('notices');
  if (!area) return;
  for (const el of [...area.children]) {
    if (el.dataset.carry) delete el.dataset.carry;
    else el.remove();
  }
}

/** Shows the "service unavailable" banner with the server's wait and a retry action. */
export function showUnavailable(err, onRetry) {
  const banner = document.getElementById('banner');
  const wait = err.retryAfter ? ` Try again in ${duration(err.retryAfter)}.` : ' Try again shortly.';
  const retry = h('button', { type: 'button', class: 'button button-small', text: 'Retry now' });
  retry.addEventListener('click', () => {
    hideUnavailable();
    onRetry();
  });
  banner.replaceChildren(
    h('strong', { text: 'onecount is temporarily unavailable. ' }),
    h('span', { text: sentence(err.message) + wait }),
    ' ',
    retry,
  );
  banner.hidden = false;
}

export function hideUnavailable() {
  const banner = document.getElementById('banner');
  banner.hidden = true;
  banner.replaceChildren();
}
