// listing-new.js — #/brands/<id>/listings/new?connection=<cid>&sku=<code>
// &external_sku=<channel SKU>: map a SKU to a listing on a connection: the
// channel's SKU (default: the same code), for Shopify optionally the
// inventory item and location (without an item the adapter finds it by
// SKU), and optional overrides of the connection's rules.  Operators and
// up; anyone else gets the server's 403.  A SKU listed twice on one
// connection is refused (409).  Order lines parked for the channel SKU are
// taken in when the listing is made (the orders screen links here).
import { api, getAll } from '../api.js';
import { h } from '../ui/dom.js';
import { createForm } from '../ui/form.js';
import { notify } from '../ui/notice.js';
import { panel } from '../ui/page.js';
import { link } from '../router.js';
import { canInventory } from '../session.js';
import { brandFrame } from './brand-frame.js';
import { kindLabel } from './channel-kinds.js';
import { forbiddenPanel, skuCodes } from './inventory.js';
import { ruleFields, rulesFromValues, rulesText } from './rules.js';

export async function render(ctx) {
  const { brand, body } = await brandFrame(ctx, 'listings', 'Map a SKU', { crumbs: [{ label: 'Map a SKU' }] });
  if (!canInventory(brand.your_role)) {
    body.append(forbiddenPanel(brand.your_role, 'inventory'));
    return;
  }
  const [conns, codes] = await Promise.all([getAll(`/api/v1/brands/${brand.id}/connections`), skuCodes(brand.id)]);
  if (conns.length === 0) {
    body.append(panel({ title: 'Map a SKU' }, h('p', {}, 'There is no channel connection to list SKUs on yet. ',
      h('a', { href: link('/brands', brand.id, 'channels'), text: 'Connect a channel first' }), '.')));
    return;
  }
  const wanted = conns.find((c) => c.id === ctx.query.get('connection')) || conns[0];
  const form = createForm({
    label: 'Map a SKU',
    submitLabel: 'Map SKU',
    fields: [
      { name: 'connection_id', label: 'Connection', type: 'select', required: true, value: wanted.id,
        options: conns.map((c) => ({ value: c.id, label: `${c.name} (${kindLabel(c.kind)})` })),
        hintFor: (id) => { const c = conns.find((x) => x.id === id); return c ? `Its rules: ${rulesText(c.rules)}.` : ''; } },
      { name: 'sku', label: 'SKU', required: true, value: ctx.query.get('sku') || '', list: codes, mono: true, maxlength: 64 },
      { name: 'external_sku', label: 'Channel SKU', maxlength: 200, mono: true, value: ctx.query.get('external_sku') || '',
        hint: 'The SKU the channel knows it by (seller SKU); empty: the same code.' },
      { name: 'item_ref', label: 'Shopify inventory item', maxlength: 200, mono: true, placeholder: 'gid://shopify/InventoryItem/123',
        hint: 'The inventory item whose quantity onecount sets. Empty: onecount finds it on the shop by the channel SKU.' },
      { name: 'location_ref', label: 'Shopify location', maxlength: 200, mono: true, placeholder: 'gid://shopify/Location/123',
        hint: 'Empty: the connection\u2019s location.' },
      { section: 'Overrides (optional)', name: 'overrides', class: 'fieldset-grid', description: 'Rules for this listing only; each one left empty follows the connection.' },
      ...ruleFields({}, { inherit: true }),
    ],
    secondary: h('a', { class: 'button', href: link('/brands', brand.id, 'listings'), text: 'Cancel' }),
    async onSubmit(v) {
      const payload = { connection_id: v.connection_id, sku: v.sku };
      if (v.external_sku) payload.external_sku = v.external_sku;
      if (v.item_ref) payload.item_ref = v.item_ref;
      if (v.location_ref) payload.location_ref = v.location_ref;
      const rules = rulesFromValues(v);
      if (Object.keys(rules).length) payload.rules = rules;
      let l;
      try {
        l = await api.post(`/api/v1/brands/${brand.id}/listings`, payload);
      } catch (err) {
        // An unknown SKU is a 404 without a field: it is about the SKU input.
        if (err.status === 404 && !err.field) err.field = 'sku';
        throw err;
      }
      notify(`${l.sku} is listed on ${l.connection} as ${l.external_sku}`);
      ctx.navigate(link('/brands', brand.id, 'listings', l.id));
    },
  });
  const sync = () => {
    const c = conns.find((x) => x.id === form.control('connection_id').value);
    const shopify = c && c.kind === 'shopify';
    form.wrap('item_ref').hidden = !shopify;
    form.wrap('location_ref').hidden = !shopify;
  };
  form.control('connection_id').addEventListener('change', sync);
  sync();
  body.append(panel({ title: 'Map a SKU', description: 'Tells onecount which listing on a channel is this SKU; its quantity is computed at once and pushed by the sync.' }, form.el));
  form.control(ctx.query.get('sku') && !ctx.query.get('external_sku') ? 'external_sku' : 'sku').focus();
}
