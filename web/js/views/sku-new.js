// sku-new.js — #/brands/<id>/skus/new: create a SKU, or (?kind=bundle) a
// bundle or kit from components and their quantities.  Operators and up;
// anyone else gets the server's 403.  Each submission carries an
// Idempotency-Key, so a retried one creates nothing twice.
import { api, REPLAYED } from '../api.js';
import { h } from '../ui/dom.js';
import { createForm } from '../ui/form.js';
import { submission } from '../ui/idempotency.js';
import { lineEditor } from '../ui/lines.js';
import { notify } from '../ui/notice.js';
import { panel } from '../ui/page.js';
import { link } from '../router.js';
import { canInventory } from '../session.js';
import { brandFrame } from './brand-frame.js';
import { forbiddenPanel, skuCodes, skuHref } from './inventory.js';

export async function render(ctx) {
  const bundle = ctx.query.get('kind') === 'bundle';
  const title = bundle ? 'New bundle' : 'New SKU';
  const { brand, body } = await brandFrame(ctx, 'skus', title, { crumbs: [{ label: title }] });
  if (!canInventory(brand.your_role)) {
    body.append(forbiddenPanel(brand.your_role, 'inventory'));
    return;
  }
  const codes = await skuCodes(brand.id);
  const once = submission('sku');
  const components = bundle ? lineEditor({
    name: 'components', legend: 'Components', skus: codes, qtyLabel: 'Units per bundle', qtyMin: 1, maxLines: 50,
    itemLabel: 'component', addLabel: 'Add component',
    qtyHint: 'Simple SKUs only (no bundles inside bundles). Selling one bundle moves these units of each component.',
  }) : null;

  const form = createForm({
    label: title,
    submitLabel: bundle ? 'Create bundle' : 'Create SKU',
    fields: [
      { name: 'code', label: 'Code', required: true, maxlength: 64, mono: true,
        hint: 'The code channels and your warehouse use for it: 1 to 64 characters. It cannot be changed later.' },
      { name: 'title', label: 'Title', maxlength: 300 },
      bundle ? null : { name: 'barcode', label: 'Barcode', maxlength: 64, mono: true, hint: 'GTIN, EAN or UPC; searchable.' },
      bundle ? null : { name: 'unit_cost', label: 'Unit cost', type: 'number', min: 0, step: '0.01', inputmode: 'decimal',
        hint: 'What one unit costs you; the dashboard values oversells with it. Optional.' },
      bundle ? { name: 'components', type: 'custom', widget: components } : null,
    ].filter(Boolean),
    secondary: h('a', { class: 'button', href: link('/brands', brand.id, 'skus'), text: 'Cancel' }),
    async onSubmit(v) {
      const payload = { code: v.code };
      if (v.title) payload.title = v.title;
      if (!bundle && v.barcode) payload.barcode = v.barcode;
      if (!bundle && v.unit_cost !== '' && v.unit_cost != null) payload.unit_cost = Number(v.unit_cost);
      if (bundle) payload.components = v.components;
      const sku = await api.post(`/api/v1/brands/${brand.id}/${bundle ? 'bundles' : 'skus'}`, payload,
        { idempotencyKey: once.keyFor(payload) });
      once.done();
      notify(sku[REPLAYED]
        ? `${sku.code} was already created by an earlier attempt; nothing was created twice`
        : `${bundle ? 'Bundle' : 'SKU'} ${sku.code} created`);
      ctx.navigate(skuHref(brand.id, sku.code));
    },
  });

  body.append(panel({
    title,
    description: bundle
      ? 'A bundle (or kit) has no stock of its own: its availability comes from its components, and selling it moves them.'
      : 'A SKU starts with nothing on hand; record a receipt or a count to give it stock.',
  }, form.el));
  form.control('code').focus();
}
