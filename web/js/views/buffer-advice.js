// buffer-advice.js — the "Buffer advisor" panel of a connection's screen
// (GET/POST …/connections/<cid>/buffer-advice[/apply]).  Per active listing:
// the buffer in force and where it is set, the buffer onecount suggests (the
// units expected to sell on the brand's other channels during this channel's
// p99 push lag), and for each choice the units expected to be oversold here
// and held back for nothing each time the SKU sells out elsewhere.
// Operators and up apply the suggestion per row or to every listing, within
// the bounds they type (min, max) and with a reason for the audit log.
import { api } from '../api.js';
import { h } from '../ui/dom.js';
import { createForm } from '../ui/form.js';
import { plural, qty } from '../ui/format.js';
import { notify } from '../ui/notice.js';
import { errorPanel, panel, busy } from '../ui/page.js';
import { msText } from './sync-words.js';

const units = (n) => plural(Number(n), 'unit');
const dec = (x) => {
  const v = Number(x);
  if (v === 0) return '0';
  if (v < 0.01) return 'under 0.01';
  return v.toFixed(2).replace(/\.?0+$/, '');
};

const CHOICE_LABELS = {
  current: 'now',
  suggested: 'suggested',
  suggested_minus_1: 'one less',
  suggested_plus_1: 'one more',
  none: 'no buffer',
};

const NOT_MEASURED = {
  push_lag: 'this channel\u2019s push lag',
  velocity: 'sales of this SKU on the other channels',
};

/** "1 unit, set on this listing" / "3 units (automatic), set on the connection" / "none". */
function currentText(l) {
  if (l.current_set_on === null || l.current_set_on === undefined) return 'none';
  const auto = l.current_setting === 'auto' ? ' (automatic)' : '';
  const where = l.current_set_on === 'listing' ? 'set on this listing' : 'set on the connection';
  return `${units(l.current_buffer)}${auto}, ${where}`;
}

function suggestedText(l) {
  if (l.not_measured.length) {
    return h('span', {}, h('strong', { text: units(l.suggested_buffer) }),
      h('span', { class: 'muted', text: ` \u2014 not measured yet: ${l.not_measured.map((k) => NOT_MEASURED[k] || k).join(' and ')}` }));
  }
  const lag = msText(l.push_lag_p99_ms);
  return h('span', {}, h('strong', { text: units(l.suggested_buffer) }),
    ` \u2014 ${dec(l.expected_elsewhere)} expected to sell on other channels (${qty(Number(l.other_units_per_hour).toFixed(2))} an hour) during this channel\u2019s slowest pushes (p99 ${lag})`);
}

/** One line per choice: "Buffer 3 (suggested): 0.21 oversold, 0.71 held back for nothing". */
function choicesList(l) {
  return h('ul', { class: 'choice-list small' }, l.choices.map((c) => h('li', {
    class: c.labels.includes('suggested') ? 'strong' : null,
    'data-buffer': String(c.buffer),
  }, `Buffer ${qty(c.buffer)} (${c.labels.map((x) => CHOICE_LABELS[x] || x).join(', ')}): `
    + `${dec(c.expected_oversold)} oversold, ${dec(c.expected_stranded)} held back for nothing`)));
}

/** Whether applying would change nothing: the listing's own rule already says the suggestion. */
const matches = (l) => l.current_set_on === 'listing' && l.current_setting === l.suggested_buffer;

/**
 * Appends the advisor panel to `body`.  `canApply`: the reader may apply
 * (operators and up); `onApplied` runs after a change (re-renders).
 */
export async function bufferAdvicePanel(brand, conn, body, { canApply, onApplied }) {
  const url = `/api/v1/brands/${brand.id}/connections/${conn.id}/buffer-advice`;
  let advice;
  try {
    advice = await api.get(url);
  } catch (err) {
    if (err.handled && err.status === 401) throw err;
    body.append(errorPanel(err, { title: 'The buffer advisor is not available' }));
    return;
  }
  const lag = advice.push_lag_p99_ms === null
    ? 'This channel\u2019s push lag is not measured yet: suggestions are 0 until it is.'
    : `This channel\u2019s push lag: p99 ${msText(advice.push_lag_p99_ms)} over ${qty(advice.push_lag_samples)} ${advice.push_lag_samples === 1 ? 'push' : 'pushes'}.`;

  let bounds = null;
  async function apply(listingIds, button) {
    const v = bounds.values();
    const req = {};
    if (listingIds) req.listing_ids = listingIds;
    for (const k of ['min', 'max']) {
      if (v[k] === '') continue;
      req[k] = /^\d+$/.test(v[k]) ? Number(v[k]) : v[k];
    }
    if (v.reason) req.reason = v.reason;
    bounds.clearErrors();
    const run = async () => {
      let r;
      try {
        r = await api.post(`${url}/apply`, req);
      } catch (err) {
        if (err.field && ['min', 'max', 'reason'].includes(err.field)) bounds.showError(err);
        else if (!err.handled) notify(err.message, { kind: 'error' });
        return;
      }
      const n = r.changed.length;
      notify(n ? `${plural(n, 'buffer')} changed: ${r.changed.map((c) => `${c.sku} ${qty(c.from)} \u2192 ${qty(c.to)}`).join(', ')}`
        : 'Nothing to change: the buffers already match');
      onApplied();
    };
    if (button) await busy(button, run);
    else await run();
  }

  const rows = advice.listings.map((l) => {
    let action = null;
    if (canApply) {
      action = matches(l) ? h('span', { class: 'muted', text: 'Applied' })
        : h('button', { type: 'button', class: ['button', 'button-small'], text: 'Apply suggested',
          'aria-label': `Apply the suggested buffer to ${l.sku}` });
      if (action.tagName === 'BUTTON') action.addEventListener('click', () => apply([l.listing_id], action));
    }
    return h('tr', { 'data-listing': l.listing_id },
      h('th', { scope: 'row' }, h('code', { text: l.sku })),
      h('td', { class: 'current-buffer', text: currentText(l) }),
      h('td', { class: 'suggested-buffer' }, suggestedText(l)),
      h('td', {}, choicesList(l)),
      canApply ? h('td', {}, action) : null);
  });

  const table = advice.listings.length
    ? h('div', { class: 'table-wrap' }, h('table', { class: 'table buffer-advice' },
      h('caption', { class: 'visually-hidden', text: `Buffer advice for the listings of ${conn.name}` }),
      h('thead', {}, h('tr', {}, ['SKU', 'Buffer now', 'Suggested', 'Expected per stock-out elsewhere', canApply ? 'Action' : null]
        .filter(Boolean).map((c) => h('th', { scope: 'col', text: c })))),
      h('tbody', {}, rows)))
    : h('p', { class: 'muted', text: 'No active listing on this connection.' });

  const parts = [h('p', { text: lag }), table];
  if (canApply && advice.listings.length) {
    bounds = createForm({
      label: 'Apply the suggested buffers',
      layout: 'grid',
      submitLabel: 'Apply suggested to all',
      fields: [
        { name: 'min', label: 'At least (units)', type: 'number', min: 0, step: 1,
          hint: 'No listing gets a smaller buffer. Empty: 0.' },
        { name: 'max', label: 'At most (units)', type: 'number', min: 0, step: 1,
          hint: 'No listing gets a larger buffer. Empty: no limit.' },
        { name: 'reason', label: 'Reason', maxlength: 500, hint: 'Kept in the audit log with each change.' },
      ],
      async onSubmit() { await apply(null, null); },
    });
    parts.push(h('h3', { class: 'subheading', text: 'Apply within bounds' }),
      h('p', { class: 'field-hint', text: 'These bounds also hold for "Apply suggested" on one row. Applying sets each listing\u2019s own buffer rule; its quantity is recomputed and pushed to the channel.' }),
      bounds.el);
  }
  body.append(panel({ title: 'Buffer advisor', id: 'buffer-advisor',
    description: 'A buffer holds units back from this channel so that what sells elsewhere while a new number is on its way here does not oversell. Suggested: the units expected to sell on the brand\u2019s other channels during this channel\u2019s slowest pushes. For each choice: the units expected to be oversold here, and held back for nothing, each time the SKU sells out elsewhere.' },
  ...parts));
}
