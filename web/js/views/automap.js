// automap.js — "Auto-map by SKU code" on a connection: every SKU without a
// listing there gets one under its own code; the report says what was mapped
// and what could not be (and why).  Shared by the connection and listings
// screens; operators and up ("inventory").
import { api } from '../api.js';
import { h, sentence } from '../ui/dom.js';
import { plural } from '../ui/format.js';
import { busy } from '../ui/page.js';
import { skuLink } from './inventory.js';

/** The automap report as a section. */
export function automapReport(brand, conn, r) {
  const mapped = r.mapped || [];
  const notMapped = r.not_mapped || [];
  return h('section', { class: 'report', role: 'status', 'aria-label': `Auto-map report for ${conn.name}` },
    h('h3', { text: `Auto-map on ${conn.name}` }),
    h('p', {}, mapped.length
      ? `Mapped ${plural(mapped.length, 'SKU')} under ${mapped.length === 1 ? 'its own code' : 'their own codes'}:`
      : 'Nothing new was mapped.'),
    mapped.length ? h('ul', { class: 'chips report-mapped' }, mapped.map((c) => h('li', {}, skuLink(brand.id, c, { strong: false })))) : null,
    notMapped.length ? h('p', { text: `Could not map ${plural(notMapped.length, 'SKU')}:` }) : null,
    notMapped.length ? h('ul', { class: 'report-not-mapped' }, notMapped.map((n) => h('li', {}, skuLink(brand.id, n.sku, { strong: false }), ` — ${sentence(n.reason)}`))) : null);
}

/**
 * A button that runs automap on `conn` and puts the report into `slot`;
 * onDone(report) runs after a successful run (to reload lists).
 */
export function automapButton(brand, conn, slot, onDone = () => {}, { text = 'Auto-map by SKU code' } = {}) {
  const button = h('button', { type: 'button', class: 'button', text, 'aria-label': `Auto-map ${conn.name} by SKU code` });
  button.addEventListener('click', () => busy(button, async () => {
    slot.replaceChildren(h('p', { class: 'muted', text: 'Mapping…' }));
    try {
      const r = await api.post(`/api/v1/brands/${brand.id}/connections/${conn.id}/automap`, {});
      slot.replaceChildren(automapReport(brand, conn, r));
      await onDone(r);
    } catch (err) {
      slot.replaceChildren(h('p', { class: 'form-error', role: 'alert', text: sentence(err.message) }));
    }
  }));
  return button;
}
