// form.js — labelled forms whose server errors land next to the right field.
//
// createForm({fields, submitLabel, onSubmit}) builds a <form>; on submit it
// calls onSubmit(values) and, when that throws an ApiError, shows the message
// under the input named by error.field (or above the buttons when the error
// names no field of this form), marks it aria-invalid and focuses it.
import { h, uid, sentence } from './dom.js';

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
  const input = h('input', {
    ...common,
    type: spec.type || 'text',
    required: spec.required,
    autocomplete: spec.autocomplete || 'off',
    minlength: spec.minlength,
    maxlength: spec.maxlength,
    placeholder: spec.placeholder,
    spellcheck: spec.type === 'email' || spec.type === 'password' ? 'false' : null,
  });
  if (spec.value !== undefined && spec.value !== null) input.value = spec.value;
  if (spec.list) input.setAttribute('list', `${id}-list`);
  return input;
}

export function createForm({ fields, submitLabel, onSubmit, layout = 'stacked', secondary = null, label = null }) {
  const formId = uid('form');
  const formError = h('div', { class: 'form-error', role: 'alert', hidden: true });
  const controls = new Map();
  const submit = h('button', { type: 'submit', class: 'button button-primary', text: submitLabel });
  const el = h('form', { class: ['form', `form-${layout}`], id: formId, novalidate: true, 'aria-label': label });

  for (const spec of fields) {
    const id = `${formId}-${spec.name}`;
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
        h('label', { for: id, class: 'label' }, spec.label, spec.required ? null : h('span', { class: 'optional', text: ' (optional)' })),
        control, list, hint, error);
    }
    controls.set(spec.name, { spec, control, error, wrap, hintId, errId });
    el.append(wrap);
  }
  el.append(formError, h('div', { class: 'form-actions' }, submit, secondary));

  const form = {
    el,
    submit,
    control: (name) => controls.get(name)?.control,
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
        if (c.wrap.hidden) continue;
        if (c.spec.type === 'checkbox') v[name] = c.control.checked;
        else v[name] = c.spec.trim === false ? c.control.value : c.control.value.trim();
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
    },
    /** Puts a message under a field (or at the form level when name is null or unknown). */
    setError(name, message) {
      const c = name ? controls.get(name) : null;
      if (c && !c.wrap.hidden) {
        c.error.textContent = sentence(message);
        c.error.hidden = false;
        c.control.setAttribute('aria-invalid', 'true');
        c.control.setAttribute('aria-describedby', [c.hintId, c.errId].filter(Boolean).join(' '));
        c.control.focus();
      } else {
        formError.textContent = sentence(message);
        formError.hidden = false;
      }
    },
    showError(err) {
      if (err && err.handled && err.status === 401) return; // the session is over; the app takes over
      form.setError(err && err.field, err && err.message ? err.message : String(err));
    },
    setBusy(busy) {
      submit.disabled = busy;
      el.setAttribute('aria-busy', busy ? 'true' : 'false');
    },
    reset() {
      el.reset();
      form.clearErrors();
    },
  };

  el.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    form.clearErrors();
    // Required fields are checked here so the message sits with the field, like the server's.
    for (const [name, c] of controls) {
      if (c.wrap.hidden || !c.spec.required || c.spec.type === 'checkbox') continue;
      if (!c.control.value.trim()) {
        form.setError(name, `${c.spec.label} is required`);
        return;
      }
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
