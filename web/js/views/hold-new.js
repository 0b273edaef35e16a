// hold-new.js — #/brands/<id>/holds/new?sku=A1: hold units for a few
// minutes (lines, time to live, reference).  Operators and up; anyone else
// gets the server's 403.  The Idempotency-Key names the hold, so a retried
// submission finds the hold it already made instead of holding twice.
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
import { forbiddenPanel, skuCodes } from './inventory.js';

export async function render(ctx) {
  const { brand, body } = await brandFrame(ctx, 'holds', 'New hold', { crumbs: [{ label: 'New hold' }] });
  if (!canInventory(brand.your_role)) {
    body.append(forbiddenPanel(brand.your_role, 'inventory'));
    return;
  }
  const once = submission('hold');
  const lines = lineEditor({
    name: 'lines', legend: 'Units to hold', skus: await skuCodes(brand.id), qtyLabel: 'Units', qtyMin: 1, maxLines: 50,
    initial: [{ sku: ctx.query.get('sku') || '', qty: '' }],
    qtyHint: 'A bundle holds its components. The units stay available to no one else until the hold ends.',
  });
  const form = createForm({
    label: 'New hold',
    submitLabel: 'Hold units',
    fields: [
      { name: 'lines', type: 'custom', widget: lines },
      { name: 'ttl_seconds', label: 'Hold for (seconds)', type: 'number', required: true, value: '300', min: 1, max: 3600, step: 1,
        hint: '1 to 3600 seconds; after that the units are released by themselves.' },
      { name: 'reference', label: 'Reference', maxlength: 200, placeholder: 'cart or order number' },
    ],
    secondary: h('a', { class: 'button', href: link('/brands', brand.id, 'holds'), text: 'Cancel' }),
    async onSubmit(v) {
      const payload = { lines: v.lines, ttl_seconds: /^\d+$/.test(v.ttl_seconds) ? Number(v.ttl_seconds) : v.ttl_seconds };
      if (v.reference) payload.reference = v.reference;
      const hd = await api.post(`/api/v1/brands/${brand.id}/holds`, payload, { idempotencyKey: once.keyFor(payload) });
      once.done();
      notify(hd[REPLAYED] ? 'This hold had already been made; nothing was held twice' : 'Units held');
      ctx.navigate(`${link('/brands', brand.id, 'holds')}?created=${encodeURIComponent(hd.id)}`);
    },
  });
  body.append(panel({
    title: 'New hold',
    description: 'For a sale that asks first (a checkout, a pending order): the units are set aside now and become a sale when the hold is confirmed.',
  }, form.el));
  lines.el.querySelector('input').focus();
}
