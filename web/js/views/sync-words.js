// sync-words.js — how the sync engine's records read: circuit states,
// routines and what their last run did, drift classifications and the
// action taken, alert kinds, push outcomes.  Shared by the sync, alerts,
// orders, connection and SKU screens.  The meanings are those of
// migrations/0006_sync.sql and adapters/sync/.
import { h } from '../ui/dom.js';
import { duration, durationMs, plural, qty } from '../ui/format.js';

/** The circuit breaker of a connection's pushes. */
export const CIRCUITS = {
  closed: { label: 'Circuit closed', badge: 'badge-ok', text: 'Pushes flow normally.' },
  half_open: { label: 'Circuit half-open', badge: 'badge-warn', text: 'Trying one push to see whether the channel is back.' },
  open: { label: 'Circuit open', badge: 'badge-danger', text: 'Pushes kept failing, so onecount stopped pushing to this channel for a while; it tries again by itself.' },
};

export function circuitBadge(circuit) {
  const c = CIRCUITS[circuit] || { label: `Circuit ${circuit}`, badge: 'badge-muted' };
  return h('span', { class: ['badge', 'circuit', `circuit-${circuit}`, c.badge], text: c.label });
}

/** Routine kinds: what each does, in a few words. */
export const ROUTINES = {
  poll_orders: { label: 'Poll orders', text: 'reads new and changed orders from the channel into the ledger' },
  poll_returns: { label: 'Poll returns', text: 'reads refunds and returns from the channel' },
  read_back: { label: 'Read back', text: 'reads the quantities the channel shows and explains any difference' },
  full_repush: { label: 'Full re-push', text: 'pushes every listing again, changed or not' },
  velocity: { label: 'Sales velocity', text: 'measures units sold per hour, for automatic buffers' },
  unlisted_skus: { label: 'Unlisted SKUs', text: 'finds active SKUs not listed on every channel of the brand' },
  bundle_components: { label: 'Bundle components', text: 'finds bundles listed on a channel whose components are not listed there' },
  low_stock: { label: 'Low stock', text: 'finds SKUs with fewer days of cover (or units) than the step asks' },
  connection_health: { label: 'Connection health', text: 'checks the connection: credentials, circuit, failures in a row' },
  buffer_review: { label: 'Buffer review', text: 'reviews safety buffers against measured lag and sales velocity' },
  checklist: { label: 'Checklist step', text: 'opens an item on the checklist for a person to do' },
};
export const routineLabel = (k) => ROUTINES[k]?.label || k;

/** "every 10 minutes" from seconds. */
export function every(seconds) {
  const s = Number(seconds);
  if (!Number.isFinite(s) || s <= 0) return '—';
  if (s % 86400 === 0) return s === 86400 ? 'every day' : `every ${s / 86400} days`;
  if (s % 3600 === 0) return s === 3600 ? 'every hour' : `every ${s / 3600} hours`;
  if (s % 60 === 0) return s === 60 ? 'every minute' : `every ${s / 60} minutes`;
  return s === 1 ? 'every second' : `every ${s} seconds`;
}

/** ": A, B, C" and "and N more" for the first findings of a run. */
function foundList(detail, word) {
  const found = Array.isArray(detail.found) ? detail.found : [];
  if (found.length === 0) return '';
  const shown = found.slice(0, 5).map(word).join('; ');
  return `: ${shown}${found.length > 5 ? ` and ${found.length - 5} more` : ''}`;
}

const n = (d, k) => (d && Number.isFinite(Number(d[k])) ? Number(d[k]) : null);

/**
 * A channel's failed answer in honest words, by its HTTP status: only a
 * 401 or 403 is the channel refusing the credentials; a 429 is it asking
 * onecount to slow down, a 5xx it being unavailable, no status at all a
 * network failure (it was not reached).  Returns [badge, heading].
 */
export function channelFailureWords(status) {
  const s = Number(status) || 0;
  if (s === 401 || s === 403) return ['Refused', `The channel refused the credentials (HTTP ${s})`];
  if (s === 429) return ['Rate limited', 'The channel asked onecount to slow down (HTTP 429); test again in a minute'];
  if (s >= 500) return ['Channel unavailable', `The channel is unavailable right now (HTTP ${s}); this is on its side, not the credentials`];
  if (s >= 400) return ['Rejected', `The channel rejected the request (HTTP ${s}); check the settings`];
  if (s > 0) return ['Unexpected answer', `The channel answered HTTP ${s}, which onecount did not expect`];
  return ['Not reached', 'The channel could not be reached (a network error or a timeout)'];
}

/**
 * A read-back's counts that add up: every listing checked is in sync,
 * drifted, or was not compared because a push to it is still on its way
 * (the channel has not applied it yet, or a newer one waits); listings the
 * channel could not be asked about are said apart.
 */
export function readBackWords(detail) {
  const checked = n(detail, 'checked') ?? 0;
  const ok = n(detail, 'in_sync') ?? 0;
  const drift = n(detail, 'drift') ?? 0;
  const waiting = Math.max(0, checked - ok - drift);
  const parts = [`${qty(ok)} in sync`, `${qty(drift)} drifted`];
  if (waiting) parts.push(`${qty(waiting)} not compared: a push to ${waiting === 1 ? 'it' : 'them'} is still on its way`);
  let text = `${plural(checked, 'listing')} checked: ${parts.join(', ')}`;
  if (n(detail, 'read_errors')) text += `; ${plural(n(detail, 'read_errors'), 'listing')} the channel could not say`;
  return text;
}

/** What the last run of a routine did, in words (from its last_detail). */
export function routineDetail(kind, detail) {
  if (!detail || typeof detail !== 'object') return '';
  const parts = [];
  const orders = n(detail, 'orders');
  const returns = n(detail, 'returns');
  const moves = n(detail, 'movements');
  const unmapped = n(detail, 'unmapped');
  if (orders !== null) parts.push(`${plural(orders, 'order')} read`);
  if (returns !== null) parts.push(`${plural(returns, 'return')} read`);
  if (moves !== null) parts.push(`${plural(moves, 'movement')} recorded`);
  if (unmapped) parts.push(`${plural(unmapped, 'line')} parked without a listing`);
  if (n(detail, 'acknowledged')) parts.push(`${plural(n(detail, 'acknowledged'), 'order')} acknowledged`);
  if (n(detail, 'checked') !== null) parts.push(readBackWords(detail));
  if (kind === 'full_repush' && n(detail, 'listings') !== null) parts.push(`${plural(n(detail, 'listings'), 'listing')} queued to push again`);
  if (kind === 'velocity' && n(detail, 'velocity_refresh') !== null) parts.push(`${plural(n(detail, 'velocity_refresh'), 'SKU and channel pair', 'SKU and channel pairs')} measured`);
  if (kind === 'unlisted_skus' && n(detail, 'unlisted') !== null) {
    parts.push(`${plural(n(detail, 'skus_checked') ?? 0, 'SKU')} checked, ${plural(n(detail, 'unlisted'), 'unlisted SKU')} found${foundList(detail, (f) => `${f.sku} (not on ${(f.missing_on || []).join(', ')})`)}`);
  }
  if (kind === 'bundle_components' && n(detail, 'unlisted_components') !== null) {
    parts.push(`${plural(n(detail, 'bundles_checked') ?? 0, 'bundle')} checked, ${plural(n(detail, 'unlisted_components'), 'component')} not listed where the bundle is${foundList(detail, (f) => `${f.component} of ${f.bundle} on ${f.channel}`)}`);
  }
  if (kind === 'low_stock' && n(detail, 'low') !== null) {
    parts.push(`${plural(n(detail, 'skus_checked') ?? 0, 'SKU')} checked, ${plural(n(detail, 'low'), 'SKU')} low on stock${n(detail, 'days_of_cover') !== null ? ` (under ${n(detail, 'days_of_cover')} days of cover)` : ''}${foundList(detail, (f) => `${f.code}: ${qty(f.available)} available${f.days_of_cover != null ? `, ${f.days_of_cover} days` : ''}`)}`);
  }
  if (kind === 'connection_health' && detail.seen && typeof detail.seen === 'object') {
    const s = detail.seen;
    parts.push(detail.healthy ? `${s.connection || 'the connection'} is healthy` : `${s.connection || 'the connection'} is not healthy: status ${s.status}, circuit ${s.circuit}, ${plural(Number(s.consecutive_failures) || 0, 'failure')} in a row${s.last_error ? `, last error: ${s.last_error}` : ''}`);
  }
  if (kind === 'checklist' && detail.checklist_item) parts.push('opened a checklist item');
  if (n(detail, 'missed') !== null && detail.policy) {
    const late = n(detail, 'late_s') !== null ? ` (${duration(n(detail, 'late_s'))} late)` : '';
    parts.push(detail.policy === 'report'
      ? `${plural(n(detail, 'missed'), 'run')} missed while no worker ran${late}; waits for the next one`
      : `caught up once for ${plural(n(detail, 'missed'), 'missed run')}${late}`);
  }
  if (n(detail, 'pages') > 1) parts.push(`${n(detail, 'pages')} pages`);
  if (n(detail, 'duration_ms') !== null) parts.push(`took ${msText(n(detail, 'duration_ms'))}`);
  const lead = [detail.error ? `failed: ${detail.error}` : null, detail.ack_error ? `acknowledging failed: ${detail.ack_error}` : null]
    .filter(Boolean).join('; ');
  const text = lead ? `${lead}${parts.length ? ` (${parts.join(', ')})` : ''}` : parts.join(', ');
  return text ? text.charAt(0).toUpperCase() + text.slice(1) : '';
}

/** The outcome of a routine run (GET …/routine-runs status). */
export const RUN_OUTCOMES = {
  running: { label: 'Running', badge: 'badge-muted' },
  ok: { label: 'OK', badge: 'badge-ok' },
  failed: { label: 'Failed', badge: 'badge-danger' },
  interrupted: { label: 'Interrupted', badge: 'badge-warn' },
  missed: { label: 'Missed', badge: 'badge-warn' },
};

export function runOutcomeBadge(status) {
  const o = RUN_OUTCOMES[status] || { label: status, badge: 'badge-muted' };
  return h('span', { class: ['badge', `run-${status}`, o.badge], text: o.label });
}

/** What a run saw and changed, in words (its detail, the duration shown apart). */
export function runEvidence(run) {
  const { duration_ms: _, ...detail } = run.detail || {};
  if (run.status === 'interrupted') return 'Its worker stopped before the run finished; the routine was run again.';
  if (run.status === 'running') return 'Still running.';
  if (run.status === 'missed') return routineDetail(run.kind, detail) || 'Missed while no worker ran; waits for the next run.';
  return routineDetail(run.kind, detail) || 'Nothing to report.';
}

/** Drift classifications: what the difference means and what onecount does about it. */
export const DRIFT = {
  stale_push: {
    label: 'Stale push',
    text: 'The channel refused the push because its number had changed since onecount last set it (someone sold or edited there). onecount reads its orders, then pushes again from the channel\u2019s number.',
  },
  channel_edit: {
    label: 'Edited on the channel',
    text: 'The channel shows more than onecount pushed: the number was changed on the channel by hand or by another tool. onecount pushes its own number again.',
  },
  unmapped_listing: {
    label: 'Listing unknown to the channel',
    text: 'The channel does not know this listing (removed there, or its SKU or item is wrong). Nothing can be pushed until the listing is fixed; an alert stays open.',
  },
  order_not_ingested: {
    label: 'Order not yet taken in',
    text: 'The channel shows fewer than onecount pushed: it sold units whose order onecount has not read yet. onecount polls the channel\u2019s orders now, then pushes again.',
  },
  in_flight: {
    label: 'Newer number on its way',
    text: 'A newer number was already queued or being pushed when the channel was read; nothing to do.',
  },
  pending_apply: {
    label: 'Channel still applying',
    text: 'The channel accepted the push and applies it later (Amazon and Walmart feeds do); onecount waits.',
  },
  not_applied: {
    label: 'Push never applied',
    text: 'The channel accepted the push but still shows another number, well past the time it usually takes to apply one (three times its measured lag, at least 15 minutes). onecount pushes the number again.',
  },
};
export const driftLabel = (c) => DRIFT[c]?.label || c;

export const DRIFT_ACTIONS = {
  repush: 'Pushed the number again',
  ingest_orders: 'Polled the channel\u2019s orders, then pushed again',
  none: 'No push: waits, or needs a person',
};

/** Alert kinds. */
export const ALERTS = {
  circuit_open: { label: 'Pushes failing', text: 'Pushes to this channel keep failing; the circuit is open. It resolves by itself after the next successful push.' },
  unmapped_sku: { label: 'Unmapped SKUs in orders', text: 'Orders name channel SKUs with no listing; their lines wait until a listing is made.' },
  unmapped_listing: { label: 'Listing unknown to the channel', text: 'A read-back found a listing the channel does not know.' },
  credentials: { label: 'Credentials', text: 'The connection\u2019s credentials do not work; replace them on the connection.' },
  sku_unlisted: { label: 'SKUs not listed everywhere', text: 'The SOP\u2019s unlisted-SKU step found active SKUs missing on some channels. It resolves by itself once they are listed or archived.' },
  bundle_component_unlisted: { label: 'Bundle components not listed', text: 'A bundle is listed on a channel where one of its components is not.' },
  low_stock: { label: 'Low stock', text: 'The SOP\u2019s low-stock step found SKUs with less cover than it asks.' },
  connection_unhealthy: { label: 'Connection not healthy', text: 'The SOP\u2019s health check found refused credentials, an open circuit or failures in a row.' },
  checklist_overdue: { label: 'Checklist item overdue', text: 'A checklist item is past its due time; it resolves when the item is completed or skipped.' },
  listings_stuck: { label: 'Listings not reaching the channel', text: 'These listings have waited longer than they should without a push getting through. It resolves by itself once they catch up.' },
};
export const alertLabel = (k) => ALERTS[k]?.label || String(k || '').replace(/_/g, ' ');

/** A push's outcome. */
export const PUSH_STATUS = {
  ok: ['Acknowledged', 'badge-ok'],
  pending: ['Accepted, applying', 'badge-warn'],
  stale: ['Refused: changed on the channel', 'badge-warn'],
  error: ['Failed', 'badge-danger'],
};
export function pushBadge(status) {
  const [label, cls] = PUSH_STATUS[status] || [status, 'badge-muted'];
  return h('span', { class: ['badge', cls], text: label });
}

/** Milliseconds as a short duration: "240 ms", "3.2 s", "4 minutes". */
export const msText = durationMs;

/** msText, or a muted "not measured yet" when there is no value. */
export function ms(v, empty = 'not measured yet') {
  if (v === null || v === undefined) return h('span', { class: 'muted', text: empty });
  return msText(v);
}

/**
 * A connection's push lag: its distribution (push_lag: p50/p90/p99 over its
 * newest samples) when it has samples, else the mean (push_lag_ms) or
 * "not measured yet".  The p99 is what the automatic buffer sizes for.
 */
export function lagText(lag, mean) {
  const n = Number(lag && lag.samples) || 0;
  if (n === 0) return ms(mean);
  return `p50 ${msText(lag.p50_ms)} · p90 ${msText(lag.p90_ms)} · p99 ${msText(lag.p99_ms)} (${plural(n, 'push', 'pushes')})`;
}

/**
 * What is not in sync, in words, from GET …/sync or one connection of it
 * (listings waiting and failing, drift not healed); '' when nothing is.
 * Screens say "in sync" only when this is empty.
 */
export function notInSync(s) {
  const behind = Number(s.listings_behind ?? s.queue_depth) || 0;
  const failing = Number(s.listings_failing ?? s.failing) || 0;
  const drift = Number(s.open_drift) || 0;
  const parts = [];
  if (behind > 0) {
    const after = failing === 0 ? '' : failing >= behind ? ' after failed pushes' : ` (${failing} after failed pushes)`;
    parts.push(`${plural(behind, 'listing')} ${behind === 1 ? 'is' : 'are'} waiting to be pushed${after}`);
  }
  if (drift > 0) parts.push(`${plural(drift, 'difference')} found by read-backs ${drift === 1 ? 'is' : 'are'} not healed yet`);
  return parts.join(', and ');
}
