// listing.js — #/brands/<id>/listings/<lid>: one listing.  What the channel
// may show and why (each rule in order), what was last pushed and read back,
// the rules in force (the connection's, with this listing's overrides).
// Operators and up change its identifiers and overrides, pause or resume it,
// push it again, and delete it.
import { api } from '../api.js';
import { h } from '../ui/dom.js';
import { createForm } from '../ui/form.js';
import { qty, statusBadge, time } from '../ui/format.js';
import { notify } from '../ui/notice.js';
import { panel, busy } from '../ui/page.js';
import { link } from '../router.js';
import { canInventory } from '../session.js';
import { brandFrame } from './brand-frame.js';
import { kindLabel } from './channel-kinds.js';
import { skuLink } from './inventory.js';
import { listingAction, syncCell } from './listings.js';
import { boundLabel, ruleFields, rulesFromValues, rulesText, whySteps } from './rules.js';

function details(pairs) {
  return h('dl', { class: 'details' }, pairs.filter(Boolean).map(([k, v]) => [h('dt', { text: k }), h('dd', {}, v)]));
}

export async function render(ctx) {
  const { brand, body } = await brandFrame(ctx, 'listings', 'Listing', { crumbs: [{ label: 'Listing' }] });
  const base = `/api/v1/brands/${brand.id}/listings/${encodeURIComponent(ctx.params.lid)}`;
  const l = await api.get(base); // 404 for another brand's or an unknown listing
  ctx.setTitle(`${l.sku} on ${l.connection}`, brand.name);
  const crumb = ctx.root.querySelector('.crumbs li:last-child span');
  if (crumb) crumb.textContent = `${l.sku} on ${l.connection}`;
  const may = canInventory(brand.your_role);
  const isShopify = l.kind === 'shopify';

  const actions = [];
  if (may) {
    const act = (label, action, opts = {}) => {
      const b = h('button', { type: 'button', class: ['button', opts.danger ? 'button-danger' : null], text: label });
      b.addEventListener('click', () => busy(b, () => listingAction(brand, l, action, {
        onDone: () => (action === 'delete' ? ctx.navigate(link('/brands', brand.id, 'listings')) : ctx.rerender()),
      })));
      return b;
    };
    actions.push(
      act(l.state === 'paused' ? 'Resume' : 'Pause', l.state === 'paused' ? 'active' : 'paused'),
      act('Push again', 'repush'),
      act('Delete', 'delete', { danger: true }));
  }

  body.append(
    panel({ title: `${l.sku} on ${l.connection}`, id: 'listing', actions: h('div', { class: 'button-row' }, actions) },
      h('div', { class: 'grid-2 grid-plain' },
        details([
          ['SKU', skuLink(brand.id, l.sku)],
          ['Channel', h('span', {}, h('a', { href: link('/brands', brand.id, 'channels', l.connection_id), text: l.connection }), ` (${kindLabel(l.kind)})`)],
          ['Listed as', h('code', { text: l.external_sku })],
          isShopify ? ['Inventory item', l.item_ref ? h('code', { class: 'break', text: l.item_ref }) : h('span', { class: 'muted', text: 'none' })] : null,
          isShopify ? ['Location', l.location_ref ? h('code', { class: 'break', text: l.location_ref }) : h('span', { class: 'muted', text: 'the connection\u2019s' })] : null,
          ['State', h('span', { class: 'inline-control' }, statusBadge(l.state), syncCell(l))],
        ]),
        details([
          ['Desired', h('span', { class: 'strong', text: qty(l.desired_qty) })],
          ['Bound by', boundLabel(l.why && l.why.bound_by)],
          ['Pushed', h('span', {}, qty(l.pushed_qty), ' · ', time(l.pushed_at, { empty: 'never' }))],
          ['Seen on the channel', h('span', {}, qty(l.seen_qty), ' · ', time(l.seen_at, { empty: 'not read yet' }))],
          ['Push attempts', qty(l.attempts)],
          l.last_error ? ['Last error', h('span', { class: 'error-text', text: l.last_error })] : null,
        ]))),
    panel({ title: 'Why this number', description: 'The rules in the order they apply; the last one that lowered the number bound it.' },
      whySteps(l.why && l.why.steps),
      details([
        ['Rules in force', rulesText(l.effective_rules)],
        ['This listing overrides', rulesText(l.rules, 'nothing (the connection\u2019s rules apply)')],
      ])));

  if (!may) return;
  const form = createForm({
    label: 'Edit the listing',
    submitLabel: 'Save listing',
    fields: [
      { name: 'external_sku', label: 'Channel SKU', required: true, maxlength: 200, value: l.external_sku, mono: true },
      isShopify ? { name: 'item_ref', label: 'Shopify inventory item', maxlength: 200, value: l.item_ref || '', mono: true } : null,
      isShopify ? { name: 'location_ref', label: 'Shopify location', maxlength: 200, value: l.location_ref || '', mono: true } : null,
      { section: 'Overrides', name: 'overrides', class: 'fieldset-grid', description: 'Rules for this listing only; empty ones follow the connection.' },
      ...ruleFields(l.rules || {}, { inherit: true }),
    ].filter(Boolean),
    async onSubmit(v) {
      const patch = { rules: rulesFromValues(v) };
      if (v.external_sku !== l.external_sku) patch.external_sku = v.external_sku;
      if (isShopify && v.item_ref && v.item_ref !== l.item_ref) patch.item_ref = v.item_ref;
      if (isShopify && v.location_ref && v.location_ref !== l.location_ref) patch.location_ref = v.location_ref;
      const updated = await api.patch(base, patch);
      notify(`Listing saved: ${l.connection} may now show ${qty(updated.desired_qty)} of ${l.sku}`);
      ctx.rerender();
    },
  });
  body.append(panel({ title: 'Edit', description: 'The channel SKU and overrides; the desired quantity is recomputed when you save.' }, form.el));
}
