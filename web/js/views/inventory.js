// inventory.js — what the inventory screens share: movement kinds and how a
// movement reads, a SKU's balance, links to SKUs, and the 403 a write screen
// shows to a role without the permission.
import { api } from '../api.js';
import { h } from '../ui/dom.js';
import { delta, isoFromWall, qty, shortId, time, wallFromIso } from '../ui/format.js';
import { errorPanel } from '../ui/page.js';
import { link } from '../router.js';
import { forbidden } from '../session.js';

/** Movement kinds in the order the "record" form offers them, with what each does. */
export const MOVEMENT_KINDS = [
  { value: 'receipt', label: 'Receipt', verb: 'Record receipt', qtyLabel: 'Units received',
    hint: 'Units arrived at the warehouse: on hand goes up.' },
  { value: 'adjust', label: 'Adjustment', verb: 'Record adjustment', qtyLabel: 'Change', allowNegative: true,
    hint: 'A change with a reason (damaged, lost, found, correction): a positive number adds units, a negative one removes them.' },
  { value: 'count', label: 'Count', verb: 'Record count', qtyLabel: 'Units counted', min: 0,
    hint: 'Sets on hand to what was counted; the difference is recorded as the movement.' },
  { value: 'return', label: 'Return', verb: 'Record return', qtyLabel: 'Units returned',
    hint: 'Units came back from a customer: restock them, write them off as damaged, or hold them for inspection.' },
  { value: 'sale', label: 'Sale', verb: 'Record sale', qtyLabel: 'Units sold',
    hint: 'Units sold: committed goes up until they ship. A sale never takes available below zero, unless it already happened elsewhere.' },
  { value: 'ship', label: 'Shipment', verb: 'Record shipment', qtyLabel: 'Units shipped',
    hint: 'Sold units left the warehouse: on hand and committed go down.' },
  { value: 'cancel', label: 'Cancellation', verb: 'Record cancellation', qtyLabel: 'Units cancelled',
    hint: 'A sale was cancelled before shipping: committed goes down.' },
];

export const kindOf = (k) => MOVEMENT_KINDS.find((m) => m.value === k);
export const kindLabel = (k) => kindOf(k)?.label || k;

export const DISPOSITIONS = [
  { value: 'restock', label: 'Restock (back on hand)' },
  { value: 'damaged', label: 'Damaged (written off)' },
  { value: 'inspect', label: 'Inspect (held until decided)' },
];

/** #/brands/<id>/sku/<code> — a SKU's own screen. */
export const skuHref = (brandId, code) => link('/brands', brandId, 'sku', code);

export function skuLink(brandId, code, { strong = true } = {}) {
  return h('a', { href: skuHref(brandId, code), class: strong ? 'strong-link' : null }, h('code', { text: code }));
}

/** The brand's SKU codes for suggestions in SKU inputs (first 200 is plenty); never rejects. */
export async function skuCodes(brandId) {
  try {
    const page = await api.get(`/api/v1/brands/${brandId}/skus`, { limit: 200 });
    return page.items.map((s) => s.code);
  } catch {
    return [];
  }
}

/** A write screen for a role without the permission: the server's own 403. */
export function forbiddenPanel(role, perm) {
  return errorPanel(forbidden(role, perm));
}

/** On hand, committed, held (inspecting when there is some), available: a row of figures. */
export function balanceFigures(sku) {
  const figs = sku.kind === 'bundle'
    ? [['Available', sku.available, 'available']]
    : [
      ['On hand', sku.on_hand],
      ['Committed', sku.committed],
      ['Held', sku.held],
      sku.inspecting ? ['Inspecting', sku.inspecting] : null,
      ['Available', sku.available, 'available'],
    ].filter(Boolean);
  return h('dl', { class: 'figures' }, figs.map(([label, v, cls]) => h('div', { class: ['figure', cls, Number(v) < 0 ? 'figure-negative' : null] },
    h('dt', { text: label }), h('dd', { text: qty(v) }))));
}

/** A cell showing a change and what it led to: "+10 → 10". */
function changeCell(d, after) {
  if (!d) return h('span', { class: 'muted', text: after === null || after === undefined ? '—' : qty(after) });
  return h('span', { class: 'change' },
    h('span', { class: ['change-delta', d > 0 ? 'up' : 'down'], text: delta(d) }),
    h('span', { class: 'change-arrow', 'aria-label': 'leaving', text: ' → ' }),
    h('span', { class: 'change-after', text: qty(after) }));
}

function actor(m, people) {
  if (!m.actor_user && !m.actor_token) return h('span', { class: 'muted', text: 'system' });
  const p = m.actor_user ? people.get(m.actor_user) : null;
  return h('div', { class: 'cell-stack' },
    m.actor_user ? h('span', { text: p ? (p.name || p.email) : `user ${shortId(m.actor_user)}`, title: p ? p.email : m.actor_user }) : null,
    m.actor_token ? h('span', { class: 'muted small', text: `via API token ${shortId(m.actor_token)}` }) : null);
}

function details(m, brandId) {
  const parts = [];
  if (m.bundle) parts.push(h('span', {}, 'as part of bundle ', skuLink(brandId, m.bundle, { strong: false })));
  if (m.reason) parts.push(h('span', { text: `Reason: ${m.reason}` }));
  if (m.disposition) parts.push(h('span', { text: `Disposition: ${m.disposition}` }));
  if (m.reference) parts.push(h('span', { text: `Reference: ${m.reference}` }));
  if (m.inspecting_delta) parts.push(h('span', { text: `Inspection ${delta(m.inspecting_delta)}` }));
  if (m.channel_id) parts.push(h('span', { class: 'small' }, 'On ', h('a', { href: link('/brands', brandId, 'channels', m.channel_id), text: m.channel || 'a removed connection' })));
  return parts.length ? h('div', { class: 'cell-stack' }, parts) : h('span', { class: 'muted', text: '—' });
}

/** A SKU in a list: its code (a link) over its title. */
export function skuCell(brandId, code, title) {
  return h('div', { class: 'cell-stack' }, skuLink(brandId, code, { strong: false }),
    title ? h('span', { class: 'muted small', text: title }) : null);
}

/**
 * Columns for a list of movements (a SKU's history, the brand's movements).
 * perSku: every row names its SKU (code and title), as the brand-wide log does.
 */
export function movementColumns({ brandId, people, perSku = false }) {
  return [
    { label: 'When', render: (m) => time(m.at, { seconds: true }) },
    { label: 'Kind', render: (m) => h('span', { class: ['kind', `kind-${m.kind}`], text: kindLabel(m.kind) }) },
    perSku ? { label: 'SKU', render: (m) => skuCell(brandId, m.sku, m.sku_title) } : null,
    { label: 'Quantity', class: 'num', render: (m) => qty(m.qty) },
    { label: 'On hand', render: (m) => changeCell(m.on_hand_delta, m.on_hand_after) },
    { label: 'Committed', render: (m) => changeCell(m.committed_delta, m.committed_after) },
    { label: 'Details', render: (m) => details(m, brandId) },
    { label: 'By', render: (m) => actor(m, people) },
  ].filter(Boolean);
}

/** Movement rows are keyed by id (unique per brand). */
export const movementKey = (m) => m.id;

/** An RFC 3339 instant from a datetime-local value (on the wall clock of the screen's zone: the brand's), or ''. */
export const isoFromLocal = (v) => isoFromWall(v);

/** A datetime-local value from an RFC 3339 instant (for putting a filter back in its input), in the screen's zone. */
export const localFromIso = (iso) => wallFromIso(iso);
