// sop.js — #/portfolio/sop: the portfolio's SOP, the routine every brand's
// scheduler runs (migrations/0027_sops.sql).  The current version (number,
// who, why, when) and its steps as a table: what each does, its cadence in
// words (cron times are the brand's wall time), catch-up, scope, and for
// checklist steps the role, due time, done-when and assignee.
//
// Portfolio admins edit a draft: a step's cadence, enabled, catch-up and
// checklist fields; add a checklist step; remove a step; or the whole
// document as JSON.  Saving needs a reason and sends PUT with base_version:
// a 409 (someone saved in between) says so with a reload action, and a
// 422 lists every problem with its step and under the field being edited.
// Versions, diff and restore are sop-versions.js.  Everyone in the
// portfolio reads it.
import { api, getAll } from '../api.js';
import { append, h, replace, sentence } from '../ui/dom.js';
import { createForm } from '../ui/form.js';
import { confirmDialog } from '../ui/dialog.js';
import { ROLE_LABELS, plural, shortId, time } from '../ui/format.js';
import { notify } from '../ui/notice.js';
import { pageHeader, panel, rowButton } from '../ui/page.js';
import { link } from '../router.js';
import { isAdmin, portfolioId, session } from '../session.js';
import { peopleDirectory } from '../directory.js';
import { actionText, authorText, cadenceCell, cadenceText, catchUpShort, catchUpText, checklistLines, fieldLabel, scopeText } from './sop-words.js';
import { versionsPanel } from './sop-versions.js';

const STEP_FIELD = /^document\.steps\[(\d+)\](?:\.(.+))?$/;

/** The 422's problems grouped by step index; the rest (not of one step) under -1. */
export function problemsByStep(problems) {
  const map = new Map();
  for (const p of problems || []) {
    const m = STEP_FIELD.exec(p.field || '');
    const i = m ? Number(m[1]) : -1;
    if (!map.has(i)) map.set(i, []);
    // a message that starts with its own field path reads without it
    const message = String(p.message || '').replace(/^document\.steps\[\d+\](\.[\w.]+)?(:\s*|\s+(?=is |must ))/, '');
    map.get(i).push({ field: m ? m[2] || null : p.field, message });
  }
  return map;
}

/** A problem list: "Cron: minute must be …" per problem. */
export function problemList(list) {
  if (!list || !list.length) return null;
  return h('ul', { class: 'problems', role: 'list' }, list.map((p) => h('li', { dataset: { field: p.field || '' } },
    p.field ? `${fieldLabel(p.field)}: ${sentence(p.message)}` : sentence(p.message))));
}

export async function render(ctx) {
  ctx.setTitle('SOP', 'Portfolio');
  const pid = portfolioId();
  const base = `/api/v1/portfolios/${pid}/sop`;
  const admin = isAdmin();
  let current = await api.get(base); // a 403 or 404 is the page's error
  const firstVersions = await api.get(`${base}/versions`);
  const people = await peopleDirectory();
  const members = admin ? await getAll(`/api/v1/portfolios/${pid}/members`).catch(() => []) : [];
  const personName = (id) => {
    const p = people.get(id);
    return p ? p.name || p.email : `user ${shortId(id)}`;
  };
  const brandName = (id) => session.brands.find((b) => b.id === id)?.name || shortId(id);

  let draft = structuredClone(current.document);
  let problems = new Map();
  const dirty = () => JSON.stringify(draft) !== JSON.stringify(current.document);

  ctx.root.append(pageHeader({
    title: 'SOP',
    crumbs: [{ label: 'Portfolio', href: '#/' }, { label: 'SOP' }],
    meta: h('span', { class: 'muted', text: 'The standard operating procedure every brand\u2019s scheduler runs: what is done, how often, and who does the human steps.' }),
  }));

  // --- the current version ----------------------------------------------------------
  const currentEl = h('div', {});
  function drawCurrent() {
    const ov = current.overrides || [];
    replace(currentEl,
      h('dl', { class: 'kv', dataset: { current: String(current.version) } },
        h('dt', { text: 'Version' }), h('dd', { text: `v${current.version}` }),
        h('dt', { text: 'By' }), h('dd', { text: authorText(current) }),
        h('dt', { text: 'Reason' }), h('dd', { text: current.reason }),
        h('dt', { text: 'When' }), h('dd', {}, time(current.created_at, { empty: 'ships with onecount' })),
        current.restored_from ? [h('dt', { text: `Restored from` }), h('dd', { text: `v${current.restored_from}` })] : null,
        h('dt', { text: 'Brands with overrides' }), h('dd', {}, ov.length
          ? h('ul', { class: 'chips' }, ov.map((o) => h('li', {}, h('a', { href: link('/brands', o.brand_id, 'sop'), text: o.brand || brandName(o.brand_id) }), h('span', { class: 'muted small', text: ` v${o.version}` }))))
          : h('span', { class: 'muted', text: 'none: every brand runs this SOP as it is' }))));
  }

  // --- the steps ----------------------------------------------------------------------
  const stepsBody = h('tbody');
  const generalProblems = h('div', {});
  const cols = ['Step', 'What it does', 'Cadence', 'Catch-up', 'Scope', 'Checklist', admin ? 'Actions' : null].filter(Boolean);
  const stepsTable = h('div', { class: 'table-wrap' }, h('table', { class: 'table sop-steps' },
    h('caption', { class: 'visually-hidden', text: 'The SOP\u2019s steps' }),
    h('thead', {}, h('tr', {}, cols.map((c) => h('th', { scope: 'col', class: c === 'Actions' ? 'actions' : null, text: c })))),
    stepsBody));

  function drawSteps() {
    const rows = draft.steps.map((s, i) => {
      const own = problems.get(i);
      return h('tr', { dataset: { step: s.key }, class: [own ? 'row-invalid' : null, s.enabled === false ? 'row-muted' : null] },
        h('td', { 'data-label': 'Step' }, h('div', { class: 'cell-stack' },
          h('span', { class: 'inline-control' }, h('strong', { text: s.title || s.key }), s.enabled === false ? h('span', { class: 'badge badge-muted', text: 'Off' }) : null),
          h('code', { class: 'muted small', text: s.key })), problemList(own)),
        h('td', { 'data-label': 'What it does', class: 'small', text: actionText(s.action) }),
        h('td', { 'data-label': 'Cadence' }, cadenceCell(s), s.start_after_s ? h('span', { class: 'muted small', text: ` first run after ${s.start_after_s} s` }) : null),
        h('td', { 'data-label': 'Catch-up', class: 'small', text: catchUpShort(s.catch_up), title: catchUpText(s.catch_up) }),
        h('td', { 'data-label': 'Scope', class: 'small', text: scopeText(s.scope, brandName) }),
        h('td', { 'data-label': 'Checklist' }, s.checklist ? checklistLines(s.checklist, personName) : h('span', { class: 'muted', text: '—' })),
        admin ? h('td', { class: 'actions', 'data-label': 'Actions' }, h('div', { class: 'inline-control' },
          rowButton('Edit…', () => openEditor(i), { ariaLabel: `Edit ${s.title || s.key}` }),
          rowButton('Remove', () => removeStep(i), { danger: true, ariaLabel: `Remove ${s.title || s.key}` }))) : null);
    });
    stepsBody.replaceChildren(...rows);
    replace(generalProblems, problemList(problems.get(-1)));
    drawDraftState();
  }

  // --- the step editor (admins) -------------------------------------------------------
  let editing = null; // step index, or 'new'
  const editTitle = h('h3', { tabindex: '-1' });
  const roleOptions = Object.entries(ROLE_LABELS).map(([value, label]) => ({ value, label }));
  const assigneeOptions = () => [{ value: '', label: 'Nobody: anyone with the role' }]
    .concat(members.filter((m) => !m.disabled).map((m) => ({ value: m.user_id, label: m.name ? `${m.name} (${m.email})` : m.email })));
  const editor = admin ? createForm({
    label: 'Edit the step',
    submitLabel: 'Apply to the draft',
    fields: [
      { name: 'key', label: 'Key', required: true, maxlength: 40, hint: 'Lower case letters, digits and _; names the step in overrides and runs.', mono: true },
      { name: 'title', label: 'Title', required: true, maxlength: 200 },
      { name: 'cadence', label: 'Cadence', type: 'select', required: true,
        options: [{ value: 'every', label: 'Every so many seconds' }, { value: 'cron', label: 'At set times (cron, in the brand\u2019s time zone)' }] },
      { name: 'every_s', label: 'Interval (seconds)', type: 'number', step: 1, inputmode: 'numeric', required: true,
        hintFor: (v) => (/^\d+$/.test(v) ? `Runs ${cadenceText({ every_s: Number(v) })}. From 10 seconds to 7 days.` : 'From 10 seconds to 7 days (604800).') },
      { name: 'cron', label: 'Cron', required: true, mono: true,
        hintFor: (v) => (v.trim() ? `Runs ${cadenceText({ cron: v.trim() })}. Minute, hour, day of month, month, day of week.` : 'Minute, hour, day of month, month, day of week: 0 9 * * 1 is Mondays at 09:00.') },
      { name: 'catch_up', label: 'Catch-up', type: 'select', required: true,
        options: [{ value: 'once', label: `Once: ${catchUpText('once')}` }, { value: 'report', label: `Report: ${catchUpText('report')}` }] },
      { name: 'enabled', label: 'Enabled', type: 'checkbox' },
      { section: 'Checklist', name: 'checklist', description: 'What a person does when the step falls due: an item opens on the checklist.' },
      { name: 'checklist.role', label: 'Role', type: 'select', required: true, options: roleOptions },
      { name: 'checklist.due_after_s', label: 'Due after (seconds)', type: 'number', step: 1, inputmode: 'numeric', required: true,
        hintFor: (v) => (/^\d+$/.test(v) && Number(v) > 0 ? `Due ${cadenceText({ every_s: Number(v) }).replace(/^every /, '')} after it opens.` : 'How long after it opens the item is due.') },
      { name: 'checklist.done_when', label: 'Done when', maxlength: 500 },
      { name: 'checklist.instructions', label: 'Instructions', type: 'textarea', maxlength: 2000 },
      { name: 'checklist.assignee', label: 'Assignee', type: 'select', options: assigneeOptions() },
    ],
    secondary: h('button', { type: 'button', class: 'button', text: 'Cancel', onclick: () => closeEditor() }),
    async onSubmit(v) {
      const old = editing === 'new' ? { action: 'checklist' } : draft.steps[editing];
      const s = { ...old, title: v.title };
      if (editing === 'new') s.key = v.key;
      delete s.every_s;
      delete s.cron;
      if (v.cadence === 'cron') s.cron = v.cron;
      else s.every_s = /^-?\d+$/.test(v.every_s) ? Number(v.every_s) : v.every_s;
      // fields left at what they were (or their default) stay as the document had them: no change to show in a diff
      if (v.catch_up !== (old.catch_up || 'once')) s.catch_up = v.catch_up;
      if (v.enabled !== (old.enabled !== false)) {
        if (v.enabled) delete s.enabled;
        else s.enabled = false;
      }
      if (s.action === 'checklist') {
        s.checklist = {
          ...(old.checklist || {}),
          role: v['checklist.role'],
          due_after_s: /^-?\d+$/.test(v['checklist.due_after_s']) ? Number(v['checklist.due_after_s']) : v['checklist.due_after_s'],
          done_when: v['checklist.done_when'] || undefined,
          instructions: v['checklist.instructions'] || undefined,
          assignee: v['checklist.assignee'] || null,
        };
        for (const k of ['done_when', 'instructions']) if (s.checklist[k] === undefined) delete s.checklist[k];
        if (s.checklist.assignee === null && !(old.checklist && 'assignee' in old.checklist)) delete s.checklist.assignee;
        if (JSON.stringify(s.checklist) === JSON.stringify(old.checklist)) s.checklist = old.checklist;
      }
      if (editing === 'new') draft.steps.push(s);
      else draft.steps[editing] = s;
      notify(`${s.title} changed in the draft; save it with a reason to make a new version`, { kind: 'info' });
      closeEditor();
      drawSteps();
    },
  }) : null;
  const editorBox = editor ? h('section', { class: 'subpanel', id: 'sop-step-editor', 'aria-labelledby': 'sop-step-editor-title', hidden: true }, editTitle, editor.el) : null;
  if (editor) {
    editTitle.id = 'sop-step-editor-title';
    editor.control('cadence').addEventListener('change', syncCadence);
  }
  function syncCadence() {
    const cron = editor.control('cadence').value === 'cron';
    editor.wrap('cron').hidden = !cron;
    editor.wrap('every_s').hidden = cron;
  }

  function openEditor(i) {
    editing = i;
    const s = i === 'new'
      ? { key: '', title: '', action: 'checklist', cron: '0 9 * * 1', catch_up: 'report', checklist: { role: 'operator', due_after_s: 86400 } }
      : draft.steps[i];
    editor.reset();
    editor.control('checklist.assignee').replaceChildren(...assigneeOptions().map((o) => h('option', { value: o.value, text: o.label })));
    editor.wrap('key').hidden = i !== 'new';
    editor.set('key', s.key || '');
    editor.set('title', s.title || '');
    editor.set('cadence', s.cron ? 'cron' : 'every');
    editor.set('every_s', s.every_s !== undefined ? String(s.every_s) : '3600');
    editor.set('cron', s.cron || '0 9 * * 1');
    editor.set('catch_up', s.catch_up || 'once');
    editor.set('enabled', s.enabled !== false);
    const c = s.checklist || {};
    editor.section('checklist').hidden = s.action !== 'checklist';
    editor.set('checklist.role', c.role || 'operator');
    editor.set('checklist.due_after_s', String(c.due_after_s ?? 86400));
    editor.set('checklist.done_when', c.done_when || '');
    editor.set('checklist.instructions', c.instructions || '');
    if (c.assignee && !members.some((m) => m.user_id === c.assignee)) {
      editor.control('checklist.assignee').append(h('option', { value: c.assignee, text: personName(c.assignee) }));
    }
    editor.set('checklist.assignee', c.assignee || '');
    syncCadence();
    editTitle.textContent = i === 'new' ? 'New checklist step' : `Edit step: ${s.title || s.key}`;
    editorBox.hidden = false;
    // the last save's problems of this step, under their fields
    for (const p of (i === 'new' ? [] : problems.get(i) || [])) if (p.field) editor.setError(p.field, p.message);
    editTitle.focus();
  }
  function closeEditor() {
    if (!editorBox) return;
    editorBox.hidden = true;
    editing = null;
  }

  async function removeStep(i) {
    const s = draft.steps[i];
    const ok = await confirmDialog({
      title: `Remove ${s.title || s.key}?`,
      message: 'The step leaves the draft; once saved, no brand runs it any more (its run history stays).',
      confirmLabel: 'Remove step',
      danger: true,
    });
    if (!ok) return;
    draft.steps.splice(i, 1);
    problems = new Map();
    closeEditor();
    drawSteps();
  }

  // --- edit as JSON (admins) ----------------------------------------------------------
  const jsonArea = h('textarea', { class: 'json-edit', rows: 18, id: 'sop-json', spellcheck: 'false' });
  const jsonError = h('p', { class: 'field-error', role: 'alert', hidden: true });
  const jsonBox = admin ? h('details', { class: 'subpanel sop-json' },
    h('summary', { text: 'Edit as JSON (advanced)' }),
    h('label', { for: 'sop-json', class: 'label', text: 'The draft document' }), jsonArea, jsonError,
    h('div', { class: 'form-actions' },
      h('button', { type: 'button', class: 'button', text: 'Apply JSON to the draft', onclick: () => {
        try {
          const doc = JSON.parse(jsonArea.value);
          if (!doc || typeof doc !== 'object' || !Array.isArray(doc.steps)) throw new Error('the document needs a "steps" list');
          draft = doc;
          jsonError.hidden = true;
          problems = new Map();
          closeEditor();
          drawSteps();
          notify('The JSON is now the draft', { kind: 'info' });
        } catch (err) {
          jsonError.textContent = sentence(err.message);
          jsonError.hidden = false;
        }
      } }))) : null;
  if (jsonBox) jsonBox.addEventListener('toggle', () => { if (jsonBox.open) jsonArea.value = JSON.stringify(draft, null, 2); });

  // --- saving (admins) ----------------------------------------------------------------
  const draftState = h('p', { class: 'draft-changes', role: 'status' });
  const conflict = h('div', { class: 'panel-error subpanel', role: 'alert', hidden: true });
  function drawDraftState() {
    if (!admin) return;
    draftState.textContent = dirty()
      ? `The draft differs from version ${current.version}: ${plural(draft.steps.length, 'step')}. Give a reason and save it as version ${current.version + 1}.`
      : `No unsaved changes: the draft is version ${current.version}.`;
    if (jsonBox && jsonBox.open) jsonArea.value = JSON.stringify(draft, null, 2);
  }
  const saveForm = admin ? createForm({
    label: 'Save the SOP',
    submitLabel: 'Save new version',
    fields: [{ name: 'reason', label: 'Reason for the change', required: true, maxlength: 500, hint: 'Kept with the version and in the audit log.' }],
    secondary: h('button', { type: 'button', class: 'button', text: 'Discard changes', onclick: async () => {
      if (dirty() && !(await confirmDialog({ title: 'Discard the draft?', message: `Your changes are lost and the draft is version ${current.version} again.`, confirmLabel: 'Discard', danger: true }))) return;
      draft = structuredClone(current.document);
      problems = new Map();
      closeEditor();
      drawSteps();
    } }),
    async onSubmit(v) {
      conflict.hidden = true;
      if (!dirty()) {
        notify('Nothing to save: the draft is the current version', { kind: 'info' });
        return;
      }
      try {
        const saved = await api.put(base, { document: draft, reason: v.reason, base_version: current.version });
        problems = new Map();
        await reload();
        saveForm.reset();
        const brands = Object.keys(saved.applied || {}).length;
        notify(`Saved as version ${saved.version}; ${plural(brands, 'brand')}\u2019 schedules follow it`);
      } catch (err) {
        if (err.status === 409) {
          replace(conflict, h('h3', { text: 'Someone changed the SOP' }),
            h('p', { text: `${sentence(err.message)} Your draft was not saved. Reload to see the newest version (your changes are discarded), then make them again.` }),
            h('button', { type: 'button', class: 'button button-primary', text: 'Reload the SOP', onclick: async () => {
              conflict.hidden = true;
              problems = new Map();
              await reload();
            } }));
          conflict.hidden = false;
          conflict.querySelector('button').focus();
          return;
        }
        if (err.status === 422 && (err.problems || STEP_FIELD.test(err.field || ''))) {
          // every problem of the document (or the one a field check found first)
          const list = err.problems || [{ field: err.field, message: err.message }];
          problems = problemsByStep(list);
          drawSteps();
          if (editing !== null && editing !== 'new') for (const p of problems.get(editing) || []) if (p.field) editor.setError(p.field, p.message);
          throw { status: 422, message: `the SOP was not saved: ${plural(list.length, 'problem')}, each shown with its step` };
        }
        throw err;
      }
    },
  }) : null;

  async function reload() {
    current = await api.get(base);
    draft = structuredClone(current.document);
    closeEditor();
    drawCurrent();
    drawSteps();
    await versions.reload();
  }

  const versions = versionsPanel({
    base,
    canRestore: admin,
    first: firstVersions,
    what: 'SOP',
    personName,
    stepWords: (e) => [e.action ? actionText(e.action).split(':')[0] : null, e.every_s || e.cron ? cadenceText(e) : null].filter(Boolean).join(', '),
    renderDocument: (doc) => readOnlySteps(doc, { personName, brandName }),
    onRestored: () => reload(),
  });

  drawCurrent();
  drawSteps();
  append(ctx.root, [
    panel({ title: 'Current version', id: 'sop-current' }, currentEl),
    panel({ title: 'Steps', id: 'sop-steps', description: admin
      ? 'Change a step with Edit…; the changes make a draft, saved as a new version with a reason below. Cron times are each brand\u2019s wall time.'
      : 'What every brand runs and how often. Cron times are each brand\u2019s wall time. Portfolio admins change the SOP.',
    actions: admin ? h('button', { type: 'button', class: 'button', text: 'Add a checklist step', onclick: () => openEditor('new') }) : null },
    generalProblems, stepsTable, editorBox, jsonBox),
    admin ? panel({ title: 'Save', id: 'sop-save' }, draftState, conflict, saveForm.el) : null,
    versions.el]);
}

/** A version's steps, read only (the versions panel's "View"). */
export function readOnlySteps(doc, { personName, brandName, connectionName = shortId, override = false }) {
  return h('div', { class: 'table-wrap' }, h('table', { class: 'table' },
    h('caption', { class: 'visually-hidden', text: 'Steps of the version' }),
    h('thead', {}, h('tr', {}, ['Step', 'What it does', 'Cadence', 'Catch-up', 'Scope', 'Checklist'].map((c) => h('th', { scope: 'col', text: c })))),
    h('tbody', {}, (doc.steps || []).map((s) => h('tr', { dataset: { step: s.key || '' } },
      h('td', {}, h('div', { class: 'cell-stack' }, h('strong', { text: s.title || s.key || '—' }), h('code', { class: 'muted small', text: s.key || '' }),
        s.connection_id ? h('span', { class: 'small', text: `one connection: ${connectionName(s.connection_id)}` }) : null,
        s.enabled === false ? h('span', { class: 'badge badge-muted', text: 'Off' }) : null)),
      h('td', { class: 'small', text: s.action ? actionText(s.action) : 'as the portfolio\u2019s step' }),
      h('td', {}, s.every_s || s.cron ? cadenceCell(s) : h('span', { class: 'muted', text: 'unchanged' })),
      h('td', { class: 'small', text: s.catch_up || !override ? catchUpShort(s.catch_up) : '—' }),
      h('td', { class: 'small', text: s.scope ? scopeText(s.scope, brandName) : '—' }),
      h('td', {}, s.checklist ? checklistLines(s.checklist, personName) : h('span', { class: 'muted', text: '—' })))))));
}
