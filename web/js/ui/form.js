// form.js — labelled forms whose server errors land next to the right field.
//
// createForm({fields, submitLabel, onSubmit}) builds a <form>; on submit it
// calls onSubmit(values) and, when that throws an ApiError, shows the message
// under the input named by error.field (or above the buttons when the error
// names no field of this form), marks it aria-invalid and focuses it.
//
// Field names may be the server's field paths ("rules.buffer",
// "settings.shop") so its errors find them; `aliases` maps other server
// names onto fields.  A spec {section, description} starts a <fieldset>
// holding the fields after it.  A spec {type: 'custom', widget} embeds a
// composite control (lines.js): errors for "name[i].x" go to widget.setError.
// A submission in progress ignores further submits (double clicks).
import { h, uid, sentence } from './dom.js';
import { rememberQuery } from '../router.js';

function buildControl(spec, id, describedBy) {
  const common = { id, name: spec.name, 'aria-describedby': describedBy || null };
  if (spec.type === 'select') {
    const sel = h('select', { ...common, required: spec.required });
    for (const o of spec.options || []) sel.append(h('option', { value: o.value, text: o.label }));
    if (spec.value !== undefined) sel.value = spec.value;
    return sel;
  }
  if (spec.type === 'checkbox') {
    return h('input', { ...common, type: 'checkbox', checked: !!spec.value });
  }
  if (spec.type === 'textarea') {
    const ta = h('textarea', { ...common, rows: spec.rows || 3, maxlength: spec.maxlength, placeholder: spec.placeholder, required: spec.required });
    if (spec.value !== undefined && spec.value !== null) ta.value = spec.value;
    return ta;
  }
  const input = h('input', {
    ...common,
    type: spec.type || 'text',
    required: spec.required,
    autocomplete: spec.autocomplete || 'off',
    minlength: spec.minlength,
    maxlength: spec.maxlength,
    placeholder: spec.placeholder,
    min: spec.min,
    max: spec.max,
    step: spec.step,
    inputmode: spec.inputmode,
    spellcheck: spec.type === 'email' || spec.type === 'password' || spec.type === 'url' || spec.mono ? 'false' : null,
  });
  if (spec.value !== undefined && spec.value !== null) input.value = spec.value;
  if (spec.list) input.setAttribute('list', `${id}-list`);
  return input;
}

const escapeRe = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * A server message shown under its field speaks of the field by the form's
 * own label, not by its API name: the field path it starts with goes
 * ("settings.shop: the shop domain" → "the shop domain"), and a message that
 * starts with the field's name, whole or its last part, with or without
 * underscores ("credentials.client_secret is required", "qty must be…",
 * "external_sku is taken"), starts with the label instead ("Client secret is
 * required", "Units received must be…", "Channel SKU is taken").
 */
export function underField(message, field, label) {
  const m = String(message || '');
  if (!field) return m;
  const f = escapeRe(field);
  const stripped = m.replace(new RegExp(`^${f}:\\s*`), '');
  // already in the form's words ("Share is a percentage…" under "Share (%)")
  const core = label ? label.replace(/\s*\([^)]*\)/g, '').trim().toLowerCase() : '';
  if (stripped !== m || !core || new RegExp(`^${escapeRe(core)}(\\s|$)`, 'i').test(m)) return stripped;
  const last = field.split(/[.\]]/).filter(Boolean).pop().replace(/\[\d+$/, '');
  const names = [...new Set([field, last, last.replace(/_/g, ' ')])].map(escapeRe).join('|');
  return m.replace(new RegExp(`^(?:${names})(?=\\s)`, 'i'), label);
}

export function createForm({ fields, submitLabel, onSubmit, layout = 'stacked', secondary = null, label = null, aliases = {} }) {
  const formId = uid('form');
  const formError = h('div', { class: 'form-error', role: 'alert', hidden: true });
  const controls = new Map();
  const widgets = new Map();
  const sections = new Map();
  const submit = h('button', { type: 'submit', class: 'button button-primary', text: submitLabel });
  const el = h('form', { class: ['form', `form-${layout}`], id: formId, novalidate: true, 'aria-label': label });
  let container = el;
  let section = null;
  let busy = false;

  for (const spec of fields) {
    if (spec.section) {
      section = h('fieldset', { class: ['fieldset', spec.class] },
        h('legend', { text: spec.section }),
        spec.description ? h('p', { class: 'field-hint', text: spec.description }) : null);
      sections.set(spec.name || spec.section, section);
      el.append(section);
      container = section;
      continue;
    }
    if (spec.type === 'custom') {
      widgets.set(spec.name, { spec, widget: spec.widget, section });
      container.append(spec.widget.el);
      continue;
    }
    const id = `${formId}-${spec.name.replace(/[^A-Za-z0-9_-]/g, '-')}`;
    const hintId = spec.hint || spec.hintFor ? `${id}-hint` : null;
    const errId = `${id}-error`;
    const control = buildControl(spec, id, hintId);
    const error = h('p', { class: 'field-error', id: errId, hidden: true });
    const hint = hintId ? h('p', { class: 'field-hint', id: hintId, text: spec.hint || '' }) : null;
    if (spec.hintFor) {
      // A hint that follows the chosen value (what the selected role may do).
      const sync = () => { hint.textContent = spec.hintFor(control.value); };
      control.addEventListener('change', sync);
      control.addEventListener('input', sync);
      queueMicrotask(sync);
    }
    let wrap;
    if (spec.type === 'checkbox') {
      wrap = h('div', { class: ['field', 'field-checkbox', spec.class] },
        h('label', { for: id }, control, ' ', spec.label), hint, error);
    } else {
      const list = spec.list ? h('datalist', { id: `${id}-list` }, spec.list.map((v) => h('option', { value: v }))) : null;
      wrap = h('div', { class: ['field', spec.class] },
        h('label', { for: id, class: 'label' }, spec.label, spec.required || spec.optional === false ? null : h('span', { class: 'optional', text: ' (optional)' })),
        control, list, hint, error);
    }
    controls.set(spec.name, { spec, control, error, wrap, hintId, errId, section });
    container.append(wrap);
  }
  el.append(formError, h('div', { class: 'form-actions' }, submit, secondary));

  const shown = (c) => !c.wrap.hidden && !(c.section && c.section.hidden);
  const widgetShown = (w) => !w.widget.el.hidden && !(w.section && w.section.hidden);
  const widgetFor = (name) => {
    for (const [wname, w] of widgets) {
      if (!widgetShown(w)) continue;
      if (name === wname || name.startsWith(`${wname}[`) || name.startsWith(`${wname}.`)) return w;
    }
    return null;
  };

  const form = {
    el,
    submit,
    control: (name) => controls.get(name)?.control,
    section: (name) => sections.get(name),
    /** Sets a value as if the user chose it (dependent hints and fields follow). */
    set(name, value) {
      const c = controls.get(name).control;
      if (c.type === 'checkbox') c.checked = !!value;
      else c.value = value;
      c.dispatchEvent(new Event('change'));
    },
    wrap: (name) => controls.get(name)?.wrap,
    values() {
      const v = {};
      for (const [name, c] of controls) {
        if (!shown(c)) continue;
        if (c.spec.type === 'checkbox') v[name] = c.control.checked;
        else v[name] = c.spec.trim === false ? c.control.value : c.control.value.trim();
      }
      for (const [name, w] of widgets) {
        if (widgetShown(w)) v[name] = w.widget.value();
      }
      return v;
    },
    clearErrors() {
      formError.hidden = true;
      formError.replaceChildren();
      for (const c of controls.values()) {
        c.error.hidden = true;
        c.error.textContent = '';
        c.control.removeAttribute('aria-invalid');
        c.control.setAttribute('aria-describedby', c.hintId || '');
        if (!c.hintId) c.control.removeAttribute('aria-describedby');
      }
      for (const w of widgets.values()) w.widget.clearErrors();
    },
    /** Puts a message under a field (or at the form level when name is null or unknown). */
    setError(name, message, { focus = true } = {}) {
      const target = name && (controls.has(name) ? name : aliases[name]);
      const c = target ? controls.get(target) : null;
      if (c && shown(c)) {
        const text = sentence(underField(message, name, c.spec.label));
        // a second problem of the same field goes on a line of its own
        c.error.textContent = c.error.hidden ? text : `${c.error.textContent} ${text}`;
        c.error.hidden = false;
        c.control.setAttribute('aria-invalid', 'true');
        c.control.setAttribute('aria-describedby', [c.hintId, c.errId].filter(Boolean).join(' '));
        if (focus) c.control.focus();
        return;
      }
      const w = name ? widgetFor(target || name) : null;
      if (w && w.widget.setError(target || name, sentence(message), { focus })) return;
      // a problem that names no field of this form: above the buttons, one line each
      const line = h('p', { text: sentence(message) });
      if (formError.hidden) formError.replaceChildren(line);
      else formError.append(line);
      formError.hidden = false;
    },
    /**
     * Shows an error: every problem of a 422 (error.problems) at its field,
     * the first focused; otherwise the one message at its field.
     */
    showError(err) {
      if (err && err.handled && err.status === 401) return; // the session is over; the app takes over
      const problems = err && Array.isArray(err.problems) && err.problems.length ? err.problems : null;
      if (!problems) {
        form.setError(err && err.field, err && err.message ? err.message : String(err));
        return;
      }
      form.setErrors(problems);
    },
    /** Places every {field, message} at its field; focus goes to the first. */
    setErrors(problems) {
      problems.forEach((p, i) => form.setError(p.field || null, p.message, { focus: false }));
      const first = el.querySelector('[aria-invalid="true"]');
      if (first) first.focus();
      else if (!formError.hidden) formError.scrollIntoView({ block: 'nearest' });
    },
    setBusy(on) {
      busy = on;
      submit.disabled = on;
      el.setAttribute('aria-busy', on ? 'true' : 'false');
    },
    get busy() { return busy; },
    reset() {
      el.reset();
      for (const w of widgets.values()) if (w.widget.reset) w.widget.reset();
      form.clearErrors();
    },
  };

  el.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (busy) return; // a second click while the first submission is on its way
    form.clearErrors();
    // Required fields are checked here, all at once, so every missing one is
    // reported after one submit, each under its field like the server's.
    const missing = [];
    for (const [name, c] of controls) {
      if (!shown(c) || !c.spec.required || c.spec.type === 'checkbox') continue;
      if (!c.control.value.trim()) missing.push({ field: name, message: `${c.spec.label} is required` });
    }
    for (const [name, w] of widgets) {
      if (!widgetShown(w) || !w.widget.validate) continue;
      const found = w.widget.validate();
      for (const problem of [].concat(found || [])) missing.push({ field: problem.field || name, message: problem.message });
    }
    if (missing.length) {
      form.setErrors(missing);
      return;
    }
    form.setBusy(true);
    try {
      await onSubmit(form.values(), form);
    } catch (err) {
      form.showError(err);
    } finally {
      form.setBusy(false);
    }
  });
  return form;
}

/**
 * An inline form that filters a list: a submission copies its values into
 * `filters`, writes `filters` into the address (`here`, see rememberQuery)
 * and waits for `apply()` (the list loading again).
 */
export function filterForm({ label, submitLabel = 'Filter', fields, filters, here, secondary = null, apply }) {
  return createForm({
    label,
    layout: 'inline',
    submitLabel,
    fields,
    secondary,
    async onSubmit(values) {
      Object.assign(filters, values);
      rememberQuery(here, filters);
      await apply();
    },
  });
}
