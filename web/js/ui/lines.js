// lines.js — an editable list of {sku, qty} lines (movement lines, hold
// lines, bundle components) for createForm's {type: 'custom'} fields.
//
// Each line has a labelled SKU input (suggesting the brand's SKU codes) and
// a quantity; lines can be added and removed.  The server's errors name a
// line by its index in what was sent ("lines[1].qty"), so the widget keeps
// which row each sent line came from and puts the message under that input.
import { h, uid, sentence } from './dom.js';
import { underField } from './form.js';

/**
 * lineEditor({name, legend, skus, qtyLabel, qtyMin, qtyHint, maxLines, initial})
 * returns the widget: {el, value(), validate(), setError(field, msg), clearErrors(), reset(), setSkus(codes)}.
 */
export function lineEditor({
  name = 'lines', legend = 'Lines', skus = [], qtyLabel = 'Quantity', qtyMin = null, qtyHint = null,
  maxLines = 100, initial = [{ sku: '', qty: '' }], addLabel = 'Add line', itemLabel = 'line',
}) {
  const id = uid(name);
  const listId = `${id}-skus`;
  const datalist = h('datalist', { id: listId });
  const rowsEl = h('div', { class: 'lines-rows' });
  const groupError = h('p', { class: 'field-error', id: `${id}-error`, hidden: true, role: 'alert' });
  const add = h('button', { type: 'button', class: 'button button-small', text: addLabel });
  const hint = qtyHint ? h('p', { class: 'field-hint', id: `${id}-hint`, text: qtyHint }) : null;
  const el = h('fieldset', { class: 'fieldset lines', id, 'aria-describedby': hint ? `${id}-hint` : null },
    h('legend', { text: legend }), hint, rowsEl, groupError, h('div', { class: 'lines-actions' }, add), datalist);
  let rows = [];
  let sent = []; // index in the last value() → row
  let qtyText = qtyLabel;

  function setSkus(codes) {
    datalist.replaceChildren(...codes.map((c) => h('option', { value: c })));
  }

  function renumber() {
    rows.forEach((r, i) => {
      r.skuLabelN.textContent = ` of ${itemLabel} ${i + 1}`;
      r.qtyLabelN.textContent = ` of ${itemLabel} ${i + 1}`;
      r.remove.setAttribute('aria-label', `Remove ${itemLabel} ${i + 1}`);
      r.remove.disabled = rows.length === 1;
    });
    add.disabled = rows.length >= maxLines;
  }

  function fieldError(input, err, message, focus = true) {
    err.textContent = message;
    err.hidden = false;
    input.setAttribute('aria-invalid', 'true');
    input.setAttribute('aria-describedby', err.id);
    if (focus) input.focus();
  }

  function addRow(line = { sku: '', qty: '' }, focus = false) {
    const rid = uid(`${name}-row`);
    const sku = h('input', { id: `${rid}-sku`, type: 'text', list: listId, autocomplete: 'off', spellcheck: 'false', value: line.sku ?? '' });
    const qty = h('input', { id: `${rid}-qty`, type: 'number', step: 1, min: qtyMin, inputmode: 'numeric', value: line.qty === undefined || line.qty === null ? '' : String(line.qty) });
    const skuErr = h('p', { class: 'field-error', id: `${rid}-sku-error`, hidden: true });
    const qtyErr = h('p', { class: 'field-error', id: `${rid}-qty-error`, hidden: true });
    const skuLabelN = h('span', { class: 'visually-hidden' });
    const qtyLabelN = h('span', { class: 'visually-hidden' });
    const qtyLabelText = h('span', { text: qtyText });
    const remove = h('button', { type: 'button', class: ['button', 'button-small', 'button-danger-quiet'], text: 'Remove' });
    const rowEl = h('div', { class: 'lines-row' },
      h('div', { class: 'field lines-sku' }, h('label', { for: sku.id, class: 'label' }, 'SKU', skuLabelN), sku, skuErr),
      h('div', { class: 'field lines-qty' }, h('label', { for: qty.id, class: 'label' }, qtyLabelText, qtyLabelN), qty, qtyErr),
      h('div', { class: 'lines-remove' }, remove));
    const row = { el: rowEl, sku, qty, skuErr, qtyErr, skuLabelN, qtyLabelN, qtyLabelText, remove };
    remove.addEventListener('click', () => {
      if (rows.length === 1) return;
      const i = rows.indexOf(row);
      rows.splice(i, 1);
      rowEl.remove();
      renumber();
      (rows[i] || rows[i - 1]).sku.focus();
    });
    rows.push(row);
    rowsEl.append(rowEl);
    renumber();
    if (focus) sku.focus();
    return row;
  }

  add.addEventListener('click', () => addRow(undefined, true));

  const widget = {
    el,
    setSkus,
    /** Renames the quantity inputs ("Units received", "Change") and sets their lower bound. */
    setQty({ label, min = null, hint: text = null }) {
      qtyText = label;
      for (const r of rows) {
        r.qtyLabelText.textContent = label;
        if (min === null) r.qty.removeAttribute('min');
        else r.qty.min = String(min);
      }
      qtyMin = min;
      if (hint) hint.textContent = text || '';
    },
    /** The lines with a SKU or a quantity; qty as a number when it is one. */
    value() {
      sent = [];
      const out = [];
      for (const r of rows) {
        const code = r.sku.value.trim();
        const q = r.qty.value.trim();
        if (!code && !q) continue;
        sent.push(r);
        out.push({ sku: code, qty: q === '' ? null : Number(q) });
      }
      return out;
    },
    /** Every problem of the lines at once (an empty list when there is none). */
    validate() {
      const lines = widget.value();
      if (lines.length === 0) return [{ field: `${name}[0].sku`, message: `give at least one ${itemLabel}: a SKU and a quantity` }];
      const problems = [];
      for (let i = 0; i < lines.length; i++) {
        if (!lines[i].sku) problems.push({ field: `${name}[${i}].sku`, message: 'SKU is required' });
        if (lines[i].qty === null || !Number.isInteger(lines[i].qty)) problems.push({ field: `${name}[${i}].qty`, message: `${qtyText} must be a whole number` });
      }
      return problems;
    },
    /** Puts a message under a line's input, speaking of it by its label ("qty must…" → "Units received must…"). */
    setError(field, message, { focus = true } = {}) {
      const m = new RegExp(`^${name}\\[(\\d+)\\](?:\\.(sku|qty))?$`).exec(field || '');
      const row = m ? (sent[Number(m[1])] || rows[Number(m[1])]) : null;
      if (row) {
        if (m[2] === 'qty') fieldError(row.qty, row.qtyErr, sentence(underField(message, field, qtyText)), focus);
        else fieldError(row.sku, row.skuErr, sentence(underField(message, field, 'SKU')), focus);
        return true;
      }
      if (field === name) {
        groupError.textContent = message;
        groupError.hidden = false;
        if (focus) (rows[0] && rows[0].sku).focus();
        return true;
      }
      return false;
    },
    clearErrors() {
      groupError.hidden = true;
      groupError.textContent = '';
      for (const r of rows) {
        for (const [input, err] of [[r.sku, r.skuErr], [r.qty, r.qtyErr]]) {
          err.hidden = true;
          err.textContent = '';
          input.removeAttribute('aria-invalid');
          input.removeAttribute('aria-describedby');
        }
      }
    },
    /** Back to the given lines (default: one empty line). */
    reset(lines = [{ sku: '', qty: '' }]) {
      rows = [];
      rowsEl.replaceChildren();
      for (const l of lines) addRow(l);
    },
  };
  setSkus(skus);
  widget.reset(initial.length ? initial : [{ sku: '', qty: '' }]);
  return widget;
}
