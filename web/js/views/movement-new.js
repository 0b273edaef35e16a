// movement-new.js — #/brands/<id>/stock/new?kind=receipt&sku=A1: record a
// receipt, adjustment (with its reason), count, return (with disposition),
// sale, shipment or cancellation, one or more lines at once.  Operators and
// up; anyone else gets the server's 403.
//
// Every submission carries an Idempotency-Key: a double click sends nothing
// twice (the form ignores submits while one is on its way), and sending the
// same lines again after an answer got lost reuses the key, so the server
// answers with what it recorded the first time instead of recording twice.
import { api, REPLAYED } from '../api.js';
import { h } from '../ui/dom.js';
import { createForm } from '../ui/form.js';
import { qty } from '../ui/format.js';
import { submission } from '../ui/idempotency.js';
import { lineEditor } from '../ui/lines.js';
import { notify } from '../ui/notice.js';
import { panel } from '../ui/page.js';
import { link } from '../router.js';
import { canInventory } from '../session.js';
import { brandFrame } from './brand-frame.js';
import { DISPOSITIONS, MOVEMENT_KINDS, forbiddenPanel, kindOf, skuCodes, skuLink } from './inventory.js';

function resultPanel(brand, kind, res) {
  const balances = res.balances || [];
  const oversells = res.oversells || [];
  return panel({ title: `${kind.label} recorded`, description: res[REPLAYED] ? 'This submission had already been recorded; the server answered with the earlier result and recorded nothing twice.' : 'The balances after it:' },
    h('div', { class: 'table-wrap' }, h('table', { class: 'table' },
      h('caption', { class: 'visually-hidden', text: 'Balances after the movement' }),
      h('thead', {}, h('tr', {}, ['SKU', 'On hand', 'Committed', 'Held', 'Available'].map((c) => h('th', { scope: 'col', text: c })))),
      h('tbody', {}, balances.map((b) => h('tr', {},
        h('td', { 'data-label': 'SKU' }, skuLink(brand.id, b.sku)),
        h('td', { 'data-label': 'On hand', class: 'num' }, qty(b.on_hand)),
        h('td', { 'data-label': 'Committed', class: 'num' }, qty(b.committed)),
        h('td', { 'data-label': 'Held', class: 'num' }, qty(b.held)),
        h('td', { 'data-label': 'Available', class: 'num' }, h('span', { class: ['strong', Number(b.available) < 0 ? 'error-text' : null], text: qty(b.available) }))))))),
    oversells.length ? h('p', { class: 'form-error', role: 'alert' },
      `Oversold: ${oversells.map((o) => `${o.sku} short by ${o.qty_short}`).join(', ')}. `,
      h('a', { href: link('/brands', brand.id, 'oversells'), text: 'Open the oversell incidents' }), '.') : null);
}

export async function render(ctx) {
  const { brand, body } = await brandFrame(ctx, 'stock', 'Record a movement', { crumbs: [{ label: 'Record a movement' }] });
  if (!canInventory(brand.your_role)) {
    body.append(forbiddenPanel(brand.your_role, 'inventory'));
    return;
  }
  const codes = await skuCodes(brand.id);
  const startKind = kindOf(ctx.query.get('kind')) ? ctx.query.get('kind') : 'receipt';
  const startSku = ctx.query.get('sku') || '';
  const once = submission('mv');
  const lines = lineEditor({
    name: 'lines', legend: 'Lines', skus: codes, qtyLabel: kindOf(startKind).qtyLabel, maxLines: 100,
    qtyHint: kindOf(startKind).hint, initial: [{ sku: startSku, qty: '' }],
  });
  const resultSlot = h('div', { class: 'result-slot' });

  const form = createForm({
    label: 'Record a movement',
    submitLabel: kindOf(startKind).verb,
    fields: [
      { name: 'kind', label: 'Kind', type: 'select', required: true, value: startKind,
        options: MOVEMENT_KINDS.map((k) => ({ value: k.value, label: k.label })) },
      { name: 'lines', type: 'custom', widget: lines },
      { name: 'reason', label: 'Reason', maxlength: 200, optional: false, hint: 'Optional: why.' },
      { name: 'disposition', label: 'Disposition', type: 'select', value: '', optional: false,
        options: [{ value: '', label: 'Choose what happens to the units' }, ...DISPOSITIONS] },
      { name: 'from_inspection', label: 'These units were held for inspection (they leave inspection now)', type: 'checkbox' },
      { name: 'allow_oversell', label: 'It already happened on a channel: record it even past zero (opens an oversell incident)', type: 'checkbox' },
      { name: 'reference', label: 'Reference', maxlength: 200, placeholder: 'PO, order or count sheet number' },
    ],
    secondary: h('a', { class: 'button', href: link('/brands', brand.id, 'stock'), text: 'Back to movements' }),
    async onSubmit(v) {
      const kind = kindOf(v.kind);
      const payload = { kind: v.kind, lines: v.lines };
      if (v.reason !== undefined && v.reason) payload.reason = v.reason;
      if (v.kind === 'return') {
        if (v.disposition) payload.disposition = v.disposition;
        if (v.from_inspection) payload.from_inspection = true;
      }
      if (v.kind === 'sale' && v.allow_oversell) payload.allow_oversell = true;
      if (v.reference) payload.reference = v.reference;
      const res = await api.post(`/api/v1/brands/${brand.id}/movements`, payload, { idempotencyKey: once.keyFor(payload) });
      once.done();
      resultSlot.replaceChildren(resultPanel(brand, kind, res));
      notify(res[REPLAYED] ? `${kind.label} was already recorded; nothing was recorded twice` : `${kind.label} recorded`);
      lines.reset();
      form.control('reference').value = '';
      form.control('reason').value = '';
      lines.el.querySelector('input').focus();
    },
  });

  function syncKind(ev) {
    const kind = kindOf(form.control('kind').value);
    lines.setQty({ label: kind.qtyLabel, min: kind.allowNegative ? null : 0, hint: kind.hint });
    form.submit.textContent = kind.verb;
    form.wrap('reason').hidden = !['adjust', 'count', 'return', 'cancel'].includes(kind.value);
    form.wrap('reason').querySelector('.field-hint').textContent = kind.value === 'adjust'
      ? 'Required: why the stock changed (damaged, lost, found, correction…).'
      : 'Optional: why.';
    form.wrap('disposition').hidden = kind.value !== 'return';
    form.wrap('from_inspection').hidden = kind.value !== 'return';
    form.wrap('allow_oversell').hidden = kind.value !== 'sale';
    if (ev) { // the address follows the chosen kind (not while the screen is being drawn)
      const params = new URLSearchParams(ctx.query);
      params.set('kind', kind.value);
      history.replaceState(null, '', `${link('/brands', brand.id, 'stock', 'new')}?${params}`);
    }
  }
  form.control('kind').addEventListener('change', syncKind);
  syncKind();

  body.append(panel({
    title: 'Record a movement',
    description: 'Every change of stock is a movement: it is added to the history and never edited; a mistake is corrected by another movement.',
  }, form.el), resultSlot);
  (startSku ? lines.el.querySelector('input[type="number"]') : form.control('kind')).focus();
}
