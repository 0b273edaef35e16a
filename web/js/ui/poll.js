// poll.js — refreshing a screen while someone looks at it.
//
// autoRefresh({every, run, alive}) calls run() every `every` ms, one call at
// a time (the next waits for the previous to finish), and only while:
//   - the screen is still the one shown (alive(), from ctx.alive, is true),
//   - the browser tab is visible (document.visibilityState), and
//   - the user has not paused it (WCAG 2.2.2: moving content can be paused).
// Leaving the screen stops it for good; a hidden tab stops asking until it
// is visible again, then refreshes at once.  run() failing does not stop
// it: onError(err) shows the failure and the next turn tries again.
import { h } from './dom.js';
import { currentZone } from './format.js';

export function autoRefresh({ every, run, alive, onError = () => {}, onDone = () => {} }) {
  let timer = null;
  let running = false;
  let stopped = false;
  let paused = false;

  const live = () => !stopped && alive();

  function schedule(ms = every) {
    clearTimeout(timer);
    timer = null;
    if (!live()) return stop();
    if (paused || document.visibilityState === 'hidden') return undefined;
    timer = setTimeout(turn, ms);
    return undefined;
  }

  async function turn() {
    timer = null;
    if (!live()) return stop();
    if (paused || document.visibilityState === 'hidden' || running) return undefined;
    running = true;
    try {
      await run();
      if (live()) onDone();
    } catch (err) {
      if (live() && !(err && err.handled && err.status === 401)) onError(err);
    } finally {
      running = false;
    }
    return schedule();
  }

  function onVisibility() {
    if (!live()) {
      stop();
      return;
    }
    if (document.visibilityState === 'visible') schedule(0);
    else {
      clearTimeout(timer);
      timer = null;
    }
  }

  function stop() {
    stopped = true;
    clearTimeout(timer);
    timer = null;
    document.removeEventListener('visibilitychange', onVisibility);
    window.removeEventListener('hashchange', onLeave);
  }

  // The route changing is the screen going away (the next render replaces it).
  function onLeave() {
    queueMicrotask(() => { if (!alive()) stop(); });
  }

  document.addEventListener('visibilitychange', onVisibility);
  window.addEventListener('hashchange', onLeave);
  schedule();

  return {
    stop,
    /** Runs now (a "Refresh" button), then keeps the rhythm. */
    now() {
      clearTimeout(timer);
      timer = null;
      return turn();
    },
    setPaused(on) {
      paused = on;
      if (on) {
        clearTimeout(timer);
        timer = null;
      } else schedule(0);
    },
    get paused() { return paused; },
    get stopped() { return stopped; },
  };
}

/**
 * The line that says how fresh a screen is, with "Pause updates" and
 * "Refresh now": {el, mark(date), fail(err)}.  what: "the sync status".
 */
export function refreshBar(poller, { what, every }) {
  const stamp = h('span', { class: 'refresh-stamp', text: 'Loading…' });
  const pause = h('button', { type: 'button', class: 'button button-small', 'aria-pressed': 'false', text: 'Pause updates' });
  const now = h('button', { type: 'button', class: 'button button-small', text: 'Refresh now' });
  const problem = h('span', { class: 'error-text small', role: 'status' });
  const pausedNote = h('strong', { class: 'refresh-paused', text: 'Updates are paused.', hidden: true });
  const seconds = Math.round(every / 1000);
  const el = h('div', { class: 'refresh-bar' }, h('span', {}, stamp, ' ', pausedNote), problem, h('span', { class: 'button-row' }, pause, now));
  let get = () => poller;
  pause.addEventListener('click', () => {
    const p = get();
    p.setPaused(!p.paused);
    pause.setAttribute('aria-pressed', p.paused ? 'true' : 'false');
    pause.textContent = p.paused ? 'Resume updates' : 'Pause updates';
    pausedNote.hidden = !p.paused;
  });
  now.addEventListener('click', async () => {
    now.disabled = true;
    try {
      await get().now();
    } finally {
      now.disabled = false;
    }
  });
  const clock = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23', timeZoneName: 'short', timeZone: currentZone() || undefined });
  return {
    el,
    /** Binds the poller once it exists (the bar is drawn first). */
    bind(p) { get = () => p; },
    mark(date = new Date()) {
      problem.textContent = '';
      stamp.textContent = `Updated ${clock.format(date)}; ${what} refreshes every ${seconds} seconds while this page is open.`;
    },
    fail(err) {
      problem.textContent = `Could not refresh: ${err.message}. Trying again shortly.`;
    },
  };
}
