// notice.js — short messages in the corner (a polite live region), and the
// page banner for the service being unavailable.
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
