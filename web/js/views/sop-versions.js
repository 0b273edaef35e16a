// sop-versions.js — the versions of an SOP document (the portfolio's SOP or
// a brand's overrides): the list (version, who, when, reason, restored
// from), one version's document, the changes between any two (the API's
// added / removed / changed, from → to per field) and restoring a version
// with a reason (a new version with the old document).  Used by sop.js and
// brand-sop.js; `base` is …/sop of the portfolio or the brand.
import { api } from '../api.js';
import { h, replace } from '../ui/dom.js';
import { createForm } from '../ui/form.js';
import { confirmDialog } from '../ui/dialog.js';
import { time } from '../ui/format.js';
import { notify } from '../ui/notice.js';
import { busy, panel, rowButton } from '../ui/page.js';
import { pagedTable } from '../ui/table.js';
import { authorText, fieldLabel, valueWords } from './sop-words.js';

/** One diff entry (added or removed step, or an override entry) in words. */
function entryWords(e, stepWords, connectionName) {
  const name = e.title ? `${e.title} (${e.key})` : e.key;
  const extra = stepWords(e);
  return `${name}${e.connection_id ? ` on ${connectionName(e.connection_id)}` : ''}${extra ? ` — ${extra}` : ''}`;
}

/** A diff answer as lists of words. */
export function diffView(d, { stepWords = () => '', personName = (id) => id, connectionName = (id) => id } = {}) {
  const blocks = [];
  if (d.title) blocks.push(h('p', {}, 'Title: ', h('span', { class: 'diff-old', text: String(d.title.from ?? 'none') }), ' → ', h('strong', { text: String(d.title.to ?? 'none') })));
  if (d.added.length) {
    blocks.push(h('h4', { text: `Added (${d.added.length})` }),
      h('ul', { class: 'diff-list', dataset: { diff: 'added' } }, d.added.map((e) => h('li', { text: entryWords(e, stepWords, connectionName) }))));
  }
  if (d.removed.length) {
    blocks.push(h('h4', { text: `Removed (${d.removed.length})` }),
      h('ul', { class: 'diff-list', dataset: { diff: 'removed' } }, d.removed.map((e) => h('li', { text: entryWords(e, stepWords, connectionName) }))));
  }
  if (d.changed.length) {
    blocks.push(h('h4', { text: `Changed (${d.changed.length})` }),
      h('ul', { class: 'diff-list', dataset: { diff: 'changed' } }, d.changed.map((c) => h('li', {},
        h('strong', { text: c.key }), ': ',
        Object.entries(c.fields).map(([f, ch], i) => [i ? '; ' : '', `${fieldLabel(f)} `,
          h('span', { class: 'diff-old', text: valueWords(f, ch.from, personName) }), ' → ',
          h('span', { text: valueWords(f, ch.to, personName) })])))));
  }
  if (!blocks.length) blocks.push(h('p', { class: 'muted', text: 'No differences: the two versions hold the same steps.' }));
  return h('div', { class: 'sop-diff' }, h('p', { class: 'strong', text: `Changes from version ${d.from} to version ${d.to}` }), blocks);
}

/**
 * The versions panel.  base: '/api/v1/…/sop'; canRestore: the user may
 * restore; renderDocument(doc) draws a version's document; onRestored(v)
 * after a restore (the caller reloads).
 */
export function versionsPanel({ base, canRestore, renderDocument, onRestored, stepWords, personName, connectionName, first, what = 'SOP' }) {
  const detail = h('div', { class: 'version-detail', 'aria-live': 'polite' });
  let versions = first.items.slice();

  async function showVersion(v) {
    const full = await api.get(`${base}/versions/${v.version}`);
    replace(detail, h('section', { class: 'subpanel', 'aria-label': `Version ${v.version}` },
      h('h3', { text: `Version ${v.version}: ${full.reason}` }),
      h('p', { class: 'muted small' }, `By ${authorText(full)}, `, time(full.created_at)),
      renderDocument(full.document)));
    detail.querySelector('h3').setAttribute('tabindex', '-1');
    detail.querySelector('h3').focus();
  }

  function restoreForm(v) {
    const form = createForm({
      label: `Restore version ${v.version}`,
      submitLabel: `Restore version ${v.version}`,
      fields: [{ name: 'reason', label: 'Reason for restoring', type: 'text', required: true, maxlength: 500, hint: 'Kept with the new version and in the audit log.' }],
      secondary: h('button', { type: 'button', class: 'button', text: 'Cancel', onclick: () => replace(detail) }),
      async onSubmit(vals) {
        const ok = await confirmDialog({
          title: `Restore version ${v.version}?`,
          message: `A new version is made with version ${v.version}'s document, and every schedule that follows this ${what} changes at once.`,
          confirmLabel: 'Restore',
        });
        if (!ok) return;
        const saved = await api.post(`${base}/versions/${v.version}/restore`, { reason: vals.reason });
        notify(`Version ${v.version} restored as version ${saved.version}`);
        replace(detail);
        onRestored(saved);
      },
    });
    replace(detail, h('section', { class: 'subpanel', 'aria-label': `Restore version ${v.version}` },
      h('h3', { text: `Restore version ${v.version}` }), form.el));
    form.control('reason').focus();
  }

  const table = pagedTable({
    caption: 'Versions, newest first',
    empty: 'No versions yet.',
    key: (v) => v.version,
    columns: [
      { label: 'Version', render: (v) => h('strong', { text: `v${v.version}` }) },
      { label: 'Who', render: (v) => authorText(v) },
      { label: 'When', render: (v) => time(v.created_at, { empty: 'with onecount' }) },
      { label: 'Reason', render: (v) => v.reason },
      { label: `Restored from`, render: (v) => (v.restored_from ? `v${v.restored_from}` : h('span', { class: 'muted', text: '—' })) },
      { label: 'Actions', class: 'actions', render: (v) => h('div', { class: 'inline-control' },
        rowButton('View', (ev) => busy(ev.target, () => showVersion(v).catch((err) => notify(err.message, { kind: 'error' }))), { ariaLabel: `View version ${v.version}` }),
        canRestore && v.version !== versions[0]?.version
          ? rowButton('Restore…', () => restoreForm(v), { ariaLabel: `Restore version ${v.version}` }) : null) },
    ],
    first,
    load: async (cursor) => {
      const page = await api.get(`${base}/versions`, { cursor });
      versions = cursor ? versions.concat(page.items) : page.items.slice();
      fillPickers();
      return page;
    },
  });

  // --- diff any two -----------------------------------------------------------------
  const diffOut = h('div', { class: 'diff-out', 'aria-live': 'polite' });
  const diffForm = createForm({
    label: 'Compare two versions',
    layout: 'inline',
    submitLabel: 'Show changes',
    fields: [
      { name: 'from', label: 'From version', type: 'select', required: true, options: [] },
      { name: 'to', label: 'To version', type: 'select', required: true, options: [] },
    ],
    async onSubmit(vals) {
      const d = await api.get(`${base}/diff`, { from: vals.from, to: vals.to });
      replace(diffOut, diffView(d, { stepWords, personName, connectionName }));
    },
  });
  function fillPickers() {
    for (const [name, pick] of [['from', 1], ['to', 0]]) {
      const sel = diffForm.control(name);
      const keep = sel.value;
      sel.replaceChildren(...versions.map((v) => h('option', { value: String(v.version), text: `v${v.version} — ${v.reason}` })));
      if (keep && versions.some((v) => String(v.version) === keep)) sel.value = keep;
      else if (versions[pick]) sel.value = String(versions[pick].version);
    }
  }
  fillPickers();

  const el = panel({ title: 'Versions', id: 'sop-versions', description: `Every change to the ${what} is a new version with who made it and why; nothing is overwritten. View one, compare any two, or restore an older one (a new version with its document).` },
    table.el, detail,
    h('section', { class: 'subpanel', 'aria-label': 'Compare two versions' }, h('h3', { text: 'Compare two versions' }), diffForm.el, diffOut));
  return {
    el,
    reload: () => table.reload(),
  };
}
