// dom.js — building elements without HTML strings.
//
// h('a', {href: '#/', class: 'x', onclick: fn}, 'text', child, [more]) makes
// an element; strings become text nodes, so user data is never parsed as
// HTML.  Nothing here (or anywhere in the console) parses HTML strings, and no
// inline style is set: the content security policy forbids both.

const PROPS = new Set(['hidden', 'disabled', 'checked', 'selected', 'required', 'readOnly', 'value', 'multiple']);

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') el.className = Array.isArray(v) ? v.filter(Boolean).join(' ') : v;
    else if (k === 'text') el.textContent = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (PROPS.has(k)) el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

/** Appends strings (as text), nodes and (nested) arrays; skips null and false. */
export function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** Replaces an element's children. */
export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

let idSeq = 0;
/** A document-unique id for label/aria wiring. */
export function uid(prefix = 'el') {
  idSeq += 1;
  return `${prefix}-${idSeq}`;
}

/** Server messages are lower-case fragments ("invalid email or password"); show them as sentences. */
export function sentence(message) {
  const s = String(message || '').trim();
  if (!s) return '';
  const first = s.charAt(0).toUpperCase() + s.slice(1);
  return /[.!?]$/.test(first) ? first : `${first}.`;
}
