// templates.js — #/portfolio/templates (portfolio admins): one rule set or
// one SOP overrides document applied to many brands at once (issue 13,
// POST …/portfolios/<pid>/templates/preview and …/apply).
//
// The admin chooses the kind — "Rules": per channel kind (Shopify, Amazon,
// Walmart) the rules every connection of that kind gets (buffer, share, cap,
// floor: they replace the connection's rules) and optionally the brand's
// last-units rule (set or cleared); or "SOP overrides": a JSON document that
// REPLACES each brand's overrides — picks brands, and previews: per brand
// what would change, in words (each connection's rules from → to, the
// last-units change, the listings whose published quantity changes; or the
// overrides' diff and the schedule's routines added, changed and retired).
// The preview is the same run rolled back on the server, so it is exactly
// what applying does.  Applying needs a reason and a confirmation, then
// shows the same per-brand result as applied.  A 422 shows every problem
// under its field (brand_ids, rules.connections.amazon.buffer,
// rules.last_units.channel_kind, document.steps[0].cron, reason).
import { api, getAll } from '../api.js';
import { append, h, replace, sentence } from '../ui/dom.js';
import { confirmDialog } from '../ui/dialog.js';
import { plural, qty } from '../ui/format.js';
import { notify } from '../ui/notice.js';
import { busy, errorPanel, pageHeader, panel } from '../ui/page.js';
import { link } from '../router.js';
import { isAdmin, portfolioId, session } from '../session.js';
import { rulesText } from './rules.js';
import { fieldLabel, valueWords } from './sop-words.js';

const KINDS = [['shopify', 'Shopify'], ['amazon', 'Amazon'], ['walmart', 'Walmart']];
const kindLabel = (k) => KINDS.find(([v]) => v === k)?.[1] || k;
const RULES = [
  ['buffer', 'Buffer', 'Units held back, or "auto". Empty: no buffer.'],
  ['share', 'Share (%)', 'Show only this percentage of what remains. Empty: all of it.'],
  ['cap', 'Cap', 'Never show more than this many units. Empty: no cap.'],
  ['floor', 'Floor', 'Show 0 below this many units. Empty: no floor.'],
];
const EXAMPLE = '{\n  "steps": [\n    { "key": "velocity", "every_s": 900 }\n  ]\n}';

let seq = 0;
/** A labelled input; its error slot is registered under the API field name. */
function field({ name, label, hint = null, type = 'text', value = '', errors, attrs = {} }) {
  const id = `tpl-${++seq}`;
  const control = type === 'textarea'
    ? h('textarea', { id, rows: 10, spellcheck: 'false', class: 'json-edit', ...attrs })
    : h('input', { id, type, autocomplete: 'off', ...attrs });
  control.value = value;
  const hintEl = hint ? h('p', { class: 'field-hint', id: `${id}-hint`, text: hint }) : null;
  if (hintEl) control.setAttribute('aria-describedby', hintEl.id);
  const wrap = h('div', { class: 'field', dataset: { field: name } },
    h('label', { for: id, class: 'label', text: label }), control, hintEl);
  errors.set(name, { wrap, control });
  return { wrap, control };
}

export async function render(ctx) {
  ctx.setTitle('Templates', 'Portfolio');
  ctx.root.append(pageHeader({
    title: 'Templates',
    crumbs: [{ label: 'Portfolio', href: '#/' }, { label: 'Templates' }],
    meta: h('span', { class: 'muted', text: 'One rule set or one SOP overrides document for many brands at once: preview what changes in each brand, then apply it with a reason.' }),
  }));
  const base = `/api/v1/portfolios/${portfolioId()}/templates`;
  if (!isAdmin()) {
    // the server decides: its own 403 (an empty preview changes nothing and is refused before it is read)
    try {
      await api.post(`${base}/preview`, { kind: 'rules', brand_ids: [], rules: {} });
    } catch (err) {
      if (err.status === 403) {
        ctx.root.append(errorPanel(err));
        return;
      }
    }
  }
  const errors = new Map(); // API field → {wrap, control}

  // --- the kind -------------------------------------------------------------------------
  const kindRadios = [['rules', 'Rules', 'Channel rules (buffer, share, cap, floor) and the last-units rule'],
    ['sop', 'SOP overrides', 'The entries of each brand\u2019s SOP overrides']].map(([value, label, hint]) => {
    const input = h('input', { type: 'radio', name: 'tpl-kind', value, id: `tpl-kind-${value}`, checked: value === 'rules' });
    input.setAttribute('aria-describedby', `${input.id}-hint`);
    return h('div', { class: 'field field-checkbox' }, h('label', { for: input.id }, input, ' ', h('strong', { text: label })),
      h('span', { class: 'muted small', id: `${input.id}-hint`, text: hint }));
  });
  const kindBox = h('fieldset', { class: 'fieldset' }, h('legend', { text: 'Kind' }), kindRadios);
  const kind = () => kindBox.querySelector('input:checked').value;

  // --- rules ------------------------------------------------------------------------------
  const perKind = KINDS.map(([k, label]) => {
    const on = h('input', { type: 'checkbox', id: `tpl-on-${k}` });
    const inputs = RULES.map(([r, rl, hint]) => field({ name: `rules.connections.${k}.${r}`, label: `${label} ${rl.toLowerCase()}`, hint, errors,
      type: r === 'buffer' ? 'text' : 'number', attrs: r === 'buffer' ? { inputmode: 'text' } : { min: 0, step: r === 'share' ? 'any' : 1 } }));
    const grid = h('div', { class: 'fieldset-grid', hidden: true }, inputs.map((i) => i.wrap));
    on.addEventListener('change', () => { grid.hidden = !on.checked; });
    const box = h('fieldset', { class: 'fieldset', dataset: { field: `rules.connections.${k}` } },
      h('legend', { text: label }),
      h('div', { class: 'field field-checkbox' }, h('label', { for: on.id }, on, ` Set the rules of every ${label} connection`)),
      grid);
    errors.set(`rules.connections.${k}`, { wrap: box, control: on });
    return { k, on, inputs, box };
  });
  const luMode = h('select', { id: 'tpl-lu-mode' },
    h('option', { value: '', text: 'Leave each brand\u2019s rule as it is' }),
    h('option', { value: 'set', text: 'Set: the last units go to one channel' }),
    h('option', { value: 'clear', text: 'Clear: no last-units rule' }));
  const luThreshold = field({ name: 'rules.last_units.threshold', label: 'At or below (units)', type: 'number', errors, attrs: { min: 0, step: 1 },
    hint: 'When a SKU has this many units or fewer, only the chosen channel shows them.' });
  const luChannel = h('select', { id: 'tpl-lu-kind' }, KINDS.map(([v, l]) => h('option', { value: v, text: l })));
  const luChannelWrap = h('div', { class: 'field', dataset: { field: 'rules.last_units.channel_kind' } },
    h('label', { for: luChannel.id, class: 'label', text: 'Channel that shows the last units' }), luChannel);
  errors.set('rules.last_units.channel_kind', { wrap: luChannelWrap, control: luChannel });
  const luGrid = h('div', { class: 'fieldset-grid', hidden: true }, luThreshold.wrap, luChannelWrap);
  luMode.addEventListener('change', () => { luGrid.hidden = luMode.value !== 'set'; });
  const luBox = h('fieldset', { class: 'fieldset', dataset: { field: 'rules.last_units' } }, h('legend', { text: 'Last units' }),
    h('div', { class: 'field' }, h('label', { for: luMode.id, class: 'label', text: 'Last-units rule' }), luMode), luGrid);
  errors.set('rules.last_units', { wrap: luBox, control: luMode });
  const rulesBox = h('div', { class: 'template-form', dataset: { field: 'rules' } },
    h('p', { class: 'muted small', text: 'The rules set here replace the whole rule set of every connection of that channel in each brand chosen: a rule left empty is removed. Channels not ticked are left alone.' }),
    perKind.map((p) => p.box), luBox);
  errors.set('rules', { wrap: rulesBox, control: null });

  // --- SOP overrides --------------------------------------------------------------------
  const doc = field({ name: 'document', label: 'Overrides document (JSON)', type: 'textarea', value: EXAMPLE, errors,
    hint: 'The entries each brand\u2019s SOP overrides will hold: {"steps": [{"key": "velocity", "every_s": 900}]} changes a step\u2019s cadence, "enabled": false turns it off, "connection_id" limits an entry to one connection, a new key with an action adds the brand\u2019s own step.' });
  const sopBox = h('div', { class: 'template-form', hidden: true },
    h('p', { class: 'callout', text: 'This document REPLACES each brand\u2019s current overrides (a new version of them, with your reason): entries a brand has now and the document lacks are removed. The preview shows what each brand loses.' }),
    doc.wrap);

  // --- brands ---------------------------------------------------------------------------
  const all = h('input', { type: 'checkbox', id: 'tpl-all' });
  const brandBoxes = session.brands.map((b) => ({ b, box: h('input', { type: 'checkbox', id: `tpl-brand-${b.id}`, value: b.id }) }));
  all.addEventListener('change', () => { for (const x of brandBoxes) x.box.checked = all.checked; });
  for (const x of brandBoxes) x.box.addEventListener('change', () => { all.checked = brandBoxes.every((y) => y.box.checked); });
  const brandsBox = h('fieldset', { class: 'fieldset', dataset: { field: 'brand_ids' } }, h('legend', { text: 'Brands' }),
    brandBoxes.length
      ? [h('div', { class: 'field field-checkbox' }, h('label', { for: all.id }, all, h('strong', { text: ' Select all' }))),
        h('ul', { class: 'chips' }, brandBoxes.map(({ b, box }) => h('li', {}, h('label', { for: box.id }, box, ` ${b.name}`))))]
      : h('p', { class: 'muted', text: 'No brands yet.' }));
  errors.set('brand_ids', { wrap: brandsBox, control: brandBoxes[0]?.box || null });

  kindBox.addEventListener('change', () => {
    rulesBox.hidden = kind() !== 'rules';
    sopBox.hidden = kind() !== 'sop';
    clearErrors();
  });

  // --- errors ---------------------------------------------------------------------------
  const general = h('div', { class: 'form-error', role: 'alert', hidden: true });
  function clearErrors() {
    general.hidden = true;
    general.replaceChildren();
    for (const { wrap, control } of errors.values()) {
      wrap.querySelector(':scope > .problems')?.remove();
      if (control) control.removeAttribute('aria-invalid');
    }
  }
  /** A problem's field below the one it is shown at, in words: "Step 1 (velocity), Cron". */
  let sentDoc = null;
  function where(fieldPath) {
    const m = /^document\.steps\[(\d+)\](?:\.(.+))?$/.exec(fieldPath);
    if (!m) return fieldPath.replace(/^document\./, '');
    const key = sentDoc?.steps?.[Number(m[1])]?.key;
    return `Step ${Number(m[1]) + 1}${typeof key === 'string' ? ` (${key})` : ''}${m[2] ? `, ${fieldLabel(m[2])}` : ''}`;
  }
  /** Every problem of a 422 under the field it names (the nearest field shown), the rest above the buttons. */
  function showErrors(err) {
    clearErrors();
    const list = err.problems && err.problems.length ? err.problems : [{ field: err.field, message: err.message }];
    let first = null;
    for (const p of list) {
      let f = p.field || '';
      while (f && !(errors.has(f) && !errors.get(f).wrap.closest('[hidden]'))) {
        const up = f.replace(/(\.[^.[]*|\[\d+\])$/, ''); // brand_ids[1] → brand_ids, document.steps[0].cron → document.steps[0]
        f = up === f ? '' : up;
      }
      const text = sentence(p.field && f !== p.field ? `${where(p.field)}: ${p.message}` : p.message);
      if (!f) {
        general.append(h('p', { text }));
        general.hidden = false;
        continue;
      }
      const { wrap, control } = errors.get(f);
      let ul = wrap.querySelector(':scope > .problems');
      if (!ul) {
        ul = h('ul', { class: 'problems', role: 'list' });
        wrap.append(ul);
      }
      ul.append(h('li', { dataset: { field: p.field || '' }, text }));
      if (control) control.setAttribute('aria-invalid', 'true');
      if (!first) first = control;
    }
    if (first && first.focus) first.focus();
  }

  // --- the request ----------------------------------------------------------------------
  function body() {
    const b = { kind: kind(), brand_ids: brandBoxes.filter((x) => x.box.checked).map((x) => x.b.id) };
    if (b.kind === 'sop') {
      try {
        b.document = JSON.parse(doc.control.value);
        sentDoc = b.document;
      } catch (e) {
        const err = new Error(`the document is not JSON: ${e.message}`);
        err.status = 422;
        err.field = 'document';
        throw err;
      }
      return b;
    }
    const rules = {};
    for (const p of perKind) {
      if (!p.on.checked) continue;
      const r = {};
      RULES.forEach(([name], i) => {
        const raw = p.inputs[i].control.value.trim();
        if (raw === '') return;
        if (name === 'buffer' && raw.toLowerCase() === 'auto') r[name] = 'auto';
        else r[name] = /^-?\d+(\.\d+)?$/.test(raw) ? Number(raw) : raw; // as typed otherwise: the server explains
      });
      (rules.connections ||= {})[p.k] = r;
    }
    if (luMode.value === 'clear') rules.last_units = null;
    else if (luMode.value === 'set') {
      const t = luThreshold.control.value.trim();
      rules.last_units = { threshold: /^-?\d+$/.test(t) ? Number(t) : t, channel_kind: luChannel.value };
    }
    b.rules = rules;
    return b;
  }

  // --- the result -----------------------------------------------------------------------
  const result = h('div', { class: 'template-result', 'aria-live': 'polite' });
  const nothing = (x) => (x.diff
    ? !x.diff.title && !x.diff.added.length && !x.diff.removed.length && !x.diff.changed.length
      && !(x.schedule && (x.schedule.added || x.schedule.changed || x.schedule.retired))
    : !x.connections.length && !x.last_units && !x.listings_changed);
  const luWords = (v) => (v ? `the last ${qty(v.threshold)} units only on ${v.connection || 'a connection'}` : 'none');

  function rulesBrand(x) {
    const out = [];
    if (x.connections.length) {
      out.push(h('h4', { text: `Connections (${x.connections.length})` }),
        h('ul', { class: 'diff-list', dataset: { what: 'connections' } }, x.connections.map((c) => h('li', {},
          h('strong', { text: c.connection }), ` (${kindLabel(c.kind)}): `,
          h('span', { class: 'diff-old', text: rulesText(c.from, 'no rules') }), ' → ', h('span', { text: rulesText(c.to, 'no rules') })))));
    }
    if (x.last_units) {
      out.push(h('p', { dataset: { what: 'last_units' } }, h('strong', { text: 'Last units: ' }),
        h('span', { class: 'diff-old', text: luWords(x.last_units.from) }), ' → ', h('span', { text: luWords(x.last_units.to) })));
    }
    if (x.listings_changed) {
      const more = x.listings_changed - x.listings.length;
      out.push(h('p', { dataset: { what: 'listings' }, text: `The published quantity changes on ${plural(x.listings_changed, 'listing')}${more > 0 ? `; the first ${x.listings.length}:` : ':'}` }),
        h('div', { class: 'table-wrap' }, h('table', { class: 'table' },
          h('caption', { class: 'visually-hidden', text: `Published quantities that change in ${x.brand}` }),
          h('thead', {}, h('tr', {}, ['SKU', 'Channel', 'From', 'To'].map((c) => h('th', { scope: 'col', class: c === 'From' || c === 'To' ? 'num' : null, text: c })))),
          h('tbody', {}, x.listings.map((l) => h('tr', {},
            h('td', { 'data-label': 'SKU' }, h('a', { href: link('/brands', x.brand_id, 'listings', l.listing_id), text: l.sku })),
            h('td', { 'data-label': 'Channel', text: l.connection }),
            h('td', { 'data-label': 'From', class: 'num', text: qty(l.from) }),
            h('td', { 'data-label': 'To', class: 'num' }, h('strong', { text: qty(l.to) }))))))),
        more > 0 ? h('p', { class: 'muted small', text: `and ${plural(more, 'more listing')}.` }) : null);
    } else if (x.connections.length || x.last_units) {
      out.push(h('p', { class: 'muted', text: 'No listing\u2019s published quantity changes.' }));
    }
    return out;
  }

  let connNames = new Map(); // connection id → name, for the brands whose diff names connections
  const connName = (id) => connNames.get(id) || `connection ${id.split('-')[0]}`;
  const entryWords = (e) => {
    const rest = Object.entries(e).filter(([k]) => k !== 'key' && k !== 'connection_id' && k !== 'title');
    return `${e.title ? `${e.title} (${e.key})` : e.key}${e.connection_id ? ` on ${connName(e.connection_id)}` : ''}${rest.length ? ` — ${rest.map(([k, v]) => `${fieldLabel(k)} ${valueWords(k, v)}`).join(', ')}` : ''}`;
  };
  function sopBrand(x) {
    const d = x.diff;
    const out = [h('p', { class: 'muted small', text: `Overrides ${x.from_version ? `version ${x.from_version}` : 'none yet'} → version ${x.version}` })];
    if (d.title) out.push(h('p', {}, 'Title: ', h('span', { class: 'diff-old', text: String(d.title.from ?? 'none') }), ' → ', h('strong', { text: String(d.title.to ?? 'none') })));
    const list = (title, what, items, fn) => (items.length ? [h('h4', { text: `${title} (${items.length})` }),
      h('ul', { class: 'diff-list', dataset: { diff: what } }, items.map((e) => h('li', {}, fn(e))))] : null);
    out.push(list('Added', 'added', d.added, entryWords),
      list('Removed: the brand loses', 'removed', d.removed, entryWords),
      list('Changed', 'changed', d.changed, (c) => [h('strong', { text: c.key }), ': ',
        Object.entries(c.fields).map(([f, ch], i) => [i ? '; ' : '', `${fieldLabel(f)} `,
          h('span', { class: 'diff-old', text: valueWords(f, ch.from) }), ' → ', h('span', { text: valueWords(f, ch.to) })])]));
    const s = x.schedule || { added: 0, changed: 0, retired: 0 };
    out.push(h('p', { dataset: { what: 'schedule' } }, h('strong', { text: 'Schedule: ' }),
      s.added || s.changed || s.retired
        ? [`${plural(s.added, 'routine')} added, ${s.changed} changed, ${s.retired} retired`]
        : 'no routine changes'));
    return out;
  }

  function drawResult(answer, reason) {
    const changing = answer.brands.filter((x) => !nothing(x)).length;
    replace(result, h('div', { class: ['report', answer.applied ? 'report-ok' : 'report-info'], dataset: { applied: String(answer.applied) } },
      h('h3', { text: answer.applied ? `Applied to ${plural(answer.brands.length, 'brand')}` : `Preview for ${plural(answer.brands.length, 'brand')}: nothing is changed yet` }),
      h('p', { text: answer.applied
        ? `${changing} of them changed, with the reason \u201c${reason}\u201d (kept in each brand\u2019s audit log).`
        : `${changing} of them would change. Applying does exactly this.` })),
    answer.brands.map((x) => h('section', { class: 'subpanel', dataset: { brand: x.brand_id }, 'aria-label': x.brand },
      h('h3', {}, h('a', { href: link('/brands', x.brand_id), text: x.brand })),
      nothing(x)
        ? h('p', { class: 'muted', dataset: { what: 'nothing' }, text: answer.applied ? 'Nothing changed for this brand.' : 'Nothing changes for this brand.' })
        : answer.kind === 'sop' ? sopBrand(x) : rulesBrand(x))));
  }

  // --- the actions ----------------------------------------------------------------------
  const reason = field({ name: 'reason', label: 'Reason for the change', errors, attrs: { maxlength: 500 },
    hint: 'Kept with every brand\u2019s change (its audit log, and for SOP overrides the version).' });
  const previewBtn = h('button', { type: 'button', class: 'button', text: 'Preview' });
  const applyBtn = h('button', { type: 'button', class: 'button button-primary', text: 'Apply' });

  async function run(apply) {
    clearErrors();
    let b;
    try {
      b = body();
      if (apply) {
        const why = reason.control.value.trim();
        if (!why) {
          const err = new Error('say why: the reason is kept with every brand\u2019s change');
          err.status = 422;
          err.field = 'reason';
          throw err;
        }
        b.reason = why;
        const n = b.brand_ids.length;
        const ok = await confirmDialog({
          title: `Apply to ${plural(n, 'brand')}?`,
          message: b.kind === 'sop'
            ? `Each brand\u2019s SOP overrides become this document (a new version each, with your reason); their schedules follow.`
            : `Each brand\u2019s connections get these rules and their published quantities are recomputed.`,
          confirmLabel: 'Apply',
        });
        if (!ok) return;
      }
      const answer = await api.post(`${base}/${apply ? 'apply' : 'preview'}`, b);
      if (answer.kind === 'sop') {
        const named = answer.brands.filter((x) => [...x.diff.added, ...x.diff.removed].some((e) => e.connection_id));
        const lists = await Promise.all(named.map((x) => getAll(`/api/v1/brands/${x.brand_id}/connections`).catch(() => [])));
        connNames = new Map(lists.flat().map((c) => [c.id, c.name]));
      }
      drawResult(answer, b.reason);
      if (apply) notify(`Applied to ${plural(answer.brands.length, 'brand')}`);
    } catch (err) {
      if (err.status === 422 || err.status === 400) {
        replace(result);
        showErrors(err);
      } else if (!(err.handled && err.status === 401)) {
        showErrors({ field: null, message: err.message });
      }
    }
  }
  const formBox = h('div', { class: 'template-form' });
  // while a preview or an apply is on its way the form is busy (and its buttons off)
  const running = (btn, apply) => busy(btn, async () => {
    formBox.setAttribute('aria-busy', 'true');
    previewBtn.disabled = applyBtn.disabled = true;
    try {
      await run(apply);
    } finally {
      formBox.removeAttribute('aria-busy');
      previewBtn.disabled = applyBtn.disabled = false;
    }
  });
  // a preview drawn before the template or brands were changed no longer says what Apply would do
  const stale = (ev) => {
    if (ev.target === reason.control) return;
    const shown = result.querySelector('[data-applied="false"]');
    if (shown && !shown.querySelector('.stale')) shown.append(h('p', { class: 'stale', role: 'status', text: 'The template or the brands changed since this preview: preview again to see what Apply would do.' }));
  };
  formBox.addEventListener('input', stale);
  formBox.addEventListener('change', stale);
  previewBtn.addEventListener('click', () => running(previewBtn, false));
  applyBtn.addEventListener('click', () => running(applyBtn, true));

  ctx.root.append(
    panel({ title: 'Template', id: 'template', description: 'What to set, and in which brands.' },
      append(formBox, [kindBox, rulesBox, sopBox, brandsBox, reason.wrap, general,
        h('div', { class: 'form-actions' }, previewBtn, applyBtn)])),
    panel({ title: 'What changes', id: 'template-result', description: 'Per brand, what the template changes: preview first, then apply.' }, result));
}
