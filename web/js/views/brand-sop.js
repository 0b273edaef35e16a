// brand-sop.js — #/brands/<id>/sop: the steps this brand runs (the
// portfolio's SOP with the brand's overrides merged: GET …/brands/<id>/sop),
// which of them the brand overrides, per connection where it does, and its
// own steps; brand owners and admins edit the overrides (a step's cadence
// and enabled, for the whole brand or one connection), saved as a new
// version of the overrides with a reason (PUT with base_version: 409 and
// 422 as on the portfolio's SOP); versions, diff and restore of the
// overrides (sop-versions.js).
import { api, getAll } from '../api.js';
import { append, h, replace, sentence } from '../ui/dom.js';
import { createForm } from '../ui/form.js';
import { plural, shortId, time } from '../ui/format.js';
import { notify } from '../ui/notice.js';
import { panel, rowButton } from '../ui/page.js';
import { link } from '../router.js';
import { canChannels } from '../session.js';
import { peopleDirectory } from '../directory.js';
import { brandFrame } from './brand-frame.js';
import { actionText, authorText, cadenceCell, cadenceText, catchUpShort, catchUpText, checklistLines } from './sop-words.js';
import { versionsPanel } from './sop-versions.js';
import { problemList, problemsByStep, readOnlySteps } from './sop.js';

const PER_CONNECTION = new Set(['poll_orders', 'poll_returns', 'read_back', 'full_repush', 'connection_health']);

export async function render(ctx) {
  const { brand, body } = await brandFrame(ctx, 'sop', 'SOP');
  const base = `/api/v1/brands/${brand.id}/sop`;
  let sop = await api.get(base); // a 403 or 404 fails the screen
  const firstVersions = await api.get(`${base}/versions`);
  const conns = await getAll(`/api/v1/brands/${brand.id}/connections`).catch(() => []);
  const people = await peopleDirectory({ brandId: brand.id, role: brand.your_role });
  const personName = (id) => {
    const p = people.get(id);
    return p ? p.name || p.email : `user ${shortId(id)}`;
  };
  const connName = (id) => conns.find((c) => c.id === id)?.name || `connection ${shortId(id)}`;
  const mayEdit = canChannels(brand.your_role);

  const emptyDoc = () => ({ steps: [] });
  let draft = structuredClone(sop.override.document || emptyDoc());
  let problems = new Map();
  const dirty = () => JSON.stringify(draft) !== JSON.stringify(sop.override.document || emptyDoc());

  // --- the effective steps ------------------------------------------------------------
  const summary = h('div', {});
  const stepsBody = h('tbody');
  const cols = ['Step', 'What it does', 'Cadence', 'Catch-up', 'Here', mayEdit ? 'Actions' : null].filter(Boolean);
  const table = h('div', { class: 'table-wrap' }, h('table', { class: 'table sop-steps' },
    h('caption', { class: 'visually-hidden', text: 'The steps this brand runs' }),
    h('thead', {}, h('tr', {}, cols.map((c) => h('th', { scope: 'col', class: c === 'Actions' ? 'actions' : null, text: c })))),
    stepsBody));

  function drawSummary() {
    const ov = sop.override;
    replace(summary, h('dl', { class: 'kv' },
      h('dt', { text: 'Portfolio SOP' }), h('dd', {}, h('a', { href: '#/portfolio/sop', text: `version ${sop.portfolio_version}` })),
      h('dt', { text: 'This brand\u2019s overrides' }), h('dd', { dataset: { overrides: String(ov.version) } }, ov.version
        ? `version ${ov.version}: ${ov.reason} (${authorText(ov)}, ` : 'none: the brand runs the portfolio\u2019s SOP as it is',
      ov.version ? [time(ov.created_at), ')'] : null)));
  }

  function hereCell(s) {
    const bits = [];
    if (s.brand_step) bits.push(h('span', { class: 'badge badge-role-operator', text: 'This brand\u2019s own step' }));
    else if (s.overridden) bits.push(h('span', { class: 'badge badge-warn', text: 'Overridden' }));
    else bits.push(h('span', { class: 'muted small', text: 'as the portfolio' }));
    if (s.enabled === false) bits.push(h('span', { class: 'badge badge-muted', text: 'Off' }));
    const per = Object.entries(s.connections || {});
    if (per.length) {
      bits.push(h('ul', { class: 'small diff-list' }, per.map(([cid, e]) => h('li', {},
        `${connName(cid)}: `, e.enabled === false ? 'off' : e.every_s || e.cron ? cadenceText(e) : 'as the brand'))));
    }
    return h('div', { class: 'cell-stack' }, bits);
  }

  function drawSteps() {
    stepsBody.replaceChildren(...sop.effective.steps.map((s) => h('tr', { dataset: { step: s.key }, class: s.enabled === false ? 'row-muted' : null },
      h('td', { 'data-label': 'Step' }, h('div', { class: 'cell-stack' }, h('strong', { text: s.title || s.key }), h('code', { class: 'muted small', text: s.key }))),
      h('td', { 'data-label': 'What it does', class: 'small' }, actionText(s.action), s.checklist ? checklistLines(s.checklist, personName) : null),
      h('td', { 'data-label': 'Cadence' }, cadenceCell(s)),
      h('td', { 'data-label': 'Catch-up', class: 'small', text: catchUpShort(s.catch_up), title: catchUpText(s.catch_up) }),
      h('td', { 'data-label': 'Here' }, hereCell(s)),
      mayEdit ? h('td', { class: 'actions', 'data-label': 'Actions' },
        rowButton('Override…', (ev) => openEditor(s, ev.target), { ariaLabel: `Override ${s.title || s.key}` })) : null)));
  }

  // --- the overrides draft (brand owners and admins) ------------------------------------
  const draftList = h('div', { class: 'draft-overrides' });
  function entryText(e) {
    const parts = [];
    if (e.every_s !== undefined || e.cron !== undefined) parts.push(`runs ${cadenceText(e)}`);
    if (e.enabled === false) parts.push('turned off');
    if (e.enabled === true) parts.push('turned on');
    if (e.action) parts.push(`a step of its own: ${actionText(e.action).split(':')[0]}`);
    if (e.checklist) parts.push('checklist settings changed');
    return parts.join(', ') || 'no change';
  }
  function drawDraft() {
    if (!mayEdit) return;
    const idx = problems;
    replace(draftList,
      problemList(idx.get(-1)),
      draft.steps.length
        ? h('ul', { class: 'diff-list' }, draft.steps.map((e, i) => h('li', { dataset: { entry: `${e.key}${e.connection_id ? `@${e.connection_id}` : ''}` } },
          h('strong', { text: e.title || sop.effective.steps.find((s) => s.key === e.key)?.title || e.key }),
          e.connection_id ? ` on ${connName(e.connection_id)}` : ' (whole brand)', `: ${entryText(e)} `,
          rowButton('Remove', () => {
            draft.steps.splice(i, 1);
            problems = new Map();
            drawDraft();
          }, { danger: true, ariaLabel: `Remove the override of ${e.key}${e.connection_id ? ` on ${connName(e.connection_id)}` : ''}` }),
          problemList(idx.get(i)))))
        : h('p', { class: 'muted', text: 'No overrides: the brand runs the portfolio\u2019s SOP as it is.' }),
      h('p', { class: 'draft-changes', role: 'status', text: dirty() ? `Unsaved changes: save them with a reason as version ${sop.override.version + 1} of the overrides.` : 'No unsaved changes.' }));
  }

  let editing = null;
  let opener = null;
  const editTitle = h('h3', { tabindex: '-1', id: 'brand-sop-editor-title' });
  const editor = mayEdit ? createForm({
    label: 'Override the step',
    submitLabel: 'Apply to the draft',
    fields: [
      { name: 'connection_id', label: 'Where', type: 'select', required: true, options: [] },
      { name: 'cadence', label: 'Cadence', type: 'select', required: true, options: [
        { value: 'inherit', label: 'As the portfolio\u2019s SOP' },
        { value: 'every', label: 'Every so many seconds' },
        { value: 'cron', label: 'At set times (cron, brand time)' }] },
      { name: 'every_s', label: 'Interval (seconds)', type: 'number', step: 1, inputmode: 'numeric', required: true,
        hintFor: (v) => (/^\d+$/.test(v) ? `Runs ${cadenceText({ every_s: Number(v) })}.` : 'From 10 seconds to 7 days (604800).') },
      { name: 'cron', label: 'Cron', required: true, mono: true, hintFor: (v) => (v.trim() ? `Runs ${cadenceText({ cron: v.trim() })}.` : 'Minute, hour, day of month, month, day of week.') },
      { name: 'enabled', label: 'Enabled', type: 'select', required: true, options: [
        { value: 'inherit', label: 'As the portfolio\u2019s SOP' }, { value: 'on', label: 'On' }, { value: 'off', label: 'Off' }] },
    ],
    secondary: h('button', { type: 'button', class: 'button', text: 'Cancel', onclick: () => closeEditor() }),
    async onSubmit(v) {
      const s = editing;
      const cid = v.connection_id || null;
      const at = draft.steps.findIndex((e) => e.key === s.key && (e.connection_id || null) === cid);
      const old = at >= 0 ? draft.steps[at] : { key: s.key };
      const e = { ...old };
      if (cid) e.connection_id = cid;
      if (!s.brand_step) {
        delete e.every_s;
        delete e.cron;
        delete e.enabled;
      }
      if (v.cadence === 'every') {
        delete e.cron;
        e.every_s = /^-?\d+$/.test(v.every_s) ? Number(v.every_s) : v.every_s;
      } else if (v.cadence === 'cron') {
        delete e.every_s;
        e.cron = v.cron;
      }
      if (v.enabled === 'on') e.enabled = true;
      else if (v.enabled === 'off') e.enabled = false;
      else if (s.brand_step) delete e.enabled;
      const meaningful = Object.keys(e).some((k) => k !== 'key' && k !== 'connection_id');
      if (at >= 0) draft.steps.splice(at, 1, ...(meaningful ? [e] : []));
      else if (meaningful) draft.steps.push(e);
      problems = new Map();
      closeEditor();
      drawDraft();
      notify(`${s.title || s.key}: ${meaningful ? entryText(e) : 'as the portfolio again'} (in the draft)`, { kind: 'info' });
    },
  }) : null;
  const editorBox = editor ? h('section', { class: 'subpanel', 'aria-labelledby': editTitle.id, hidden: true }, editTitle, editor.el) : null;
  function syncEditor() {
    const c = editor.control('cadence').value;
    editor.wrap('every_s').hidden = c !== 'every';
    editor.wrap('cron').hidden = c !== 'cron';
  }
  function fillFromDraft() {
    const s = editing;
    const cid = editor.control('connection_id').value || null;
    const e = draft.steps.find((x) => x.key === s.key && (x.connection_id || null) === cid) || {};
    editor.set('cadence', e.cron !== undefined ? 'cron' : e.every_s !== undefined ? 'every' : 'inherit');
    editor.set('every_s', String(e.every_s ?? s.every_s ?? 3600));
    editor.set('cron', e.cron ?? s.cron ?? '0 9 * * 1');
    editor.set('enabled', e.enabled === true ? 'on' : e.enabled === false ? 'off' : 'inherit');
    syncEditor();
  }
  if (editor) {
    editor.control('cadence').addEventListener('change', syncEditor);
    editor.control('connection_id').addEventListener('change', fillFromDraft);
  }
  function openEditor(s, button) {
    editing = s;
    opener = button;
    editor.reset();
    const where = [{ value: '', label: 'The whole brand' }];
    if (PER_CONNECTION.has(s.action)) for (const c of conns) where.push({ value: c.id, label: `Only ${c.name}` });
    editor.control('connection_id').replaceChildren(...where.map((o) => h('option', { value: o.value, text: o.label })));
    editor.wrap('connection_id').hidden = where.length === 1;
    editor.control('connection_id').value = '';
    fillFromDraft();
    editTitle.textContent = `Override: ${s.title || s.key} (portfolio: ${cadenceText(s)})`;
    editorBox.hidden = false;
    editTitle.focus();
  }
  function closeEditor() {
    if (!editorBox) return;
    editorBox.hidden = true;
    if (opener && opener.isConnected) opener.focus();
    editing = null;
  }

  const conflict = h('div', { class: 'panel-error subpanel', role: 'alert', hidden: true });
  const saveForm = mayEdit ? createForm({
    label: 'Save the overrides',
    submitLabel: 'Save overrides',
    fields: [{ name: 'reason', label: 'Reason for the change', required: true, maxlength: 500, hint: 'Kept with the version and in the audit log.' }],
    secondary: h('button', { type: 'button', class: 'button', text: 'Discard changes', onclick: () => {
      draft = structuredClone(sop.override.document || emptyDoc());
      problems = new Map();
      drawDraft();
    } }),
    async onSubmit(v) {
      conflict.hidden = true;
      if (!dirty()) {
        notify('Nothing to save', { kind: 'info' });
        return;
      }
      try {
        const saved = await api.put(base, { document: draft, reason: v.reason, base_version: sop.override.version });
        saveForm.reset();
        await reload();
        notify(`Saved as version ${saved.version} of ${brand.name}\u2019s overrides; its schedule follows`);
      } catch (err) {
        if (err.status === 409) {
          replace(conflict, h('h3', { text: 'Someone changed these overrides' }),
            h('p', { text: `${sentence(err.message)} Your draft was not saved. Reload to see the newest version (your changes are discarded).` }),
            h('button', { type: 'button', class: 'button button-primary', text: 'Reload the overrides', onclick: async () => {
              conflict.hidden = true;
              await reload();
            } }));
          conflict.hidden = false;
          conflict.querySelector('button').focus();
          return;
        }
        if (err.status === 422 && (err.problems || /^document\.steps\[/.test(err.field || ''))) {
          const list = err.problems || [{ field: err.field, message: err.message }];
          problems = problemsByStep(list);
          drawDraft();
          throw { status: 422, message: `the overrides were not saved: ${plural(list.length, 'problem')}, each shown with its override` };
        }
        throw err;
      }
    },
  }) : null;

  async function reload() {
    sop = await api.get(base);
    draft = structuredClone(sop.override.document || emptyDoc());
    problems = new Map();
    drawSummary();
    drawSteps();
    drawDraft();
    await versions.reload();
  }

  const versions = versionsPanel({
    base,
    canRestore: mayEdit,
    first: firstVersions,
    what: 'brand\u2019s overrides',
    personName,
    connectionName: connName,
    stepWords: (e) => entryText(e),
    renderDocument: (doc) => readOnlySteps(doc, { personName, brandName: () => brand.name, connectionName: connName, override: true }),
    onRestored: () => reload(),
  });

  drawSummary();
  drawSteps();
  drawDraft();
  append(body, [
    panel({ title: 'Steps this brand runs', id: 'brand-sop', description: 'The portfolio\u2019s SOP with this brand\u2019s overrides. Cron times are the brand\u2019s wall time (' + (brand.timezone || 'UTC') + '). The runs themselves are on the Sync tab.' },
      summary, table, editorBox,
      h('p', { class: 'small' }, h('a', { href: link('/brands', brand.id, 'sync'), text: 'Run history (Sync)' }), ' · ',
        h('a', { href: `#/portfolio/schedule?brand=${encodeURIComponent(brand.id)}`, text: 'Coming runs' }), ' · ',
        h('a', { href: `#/portfolio/checklist?brand=${encodeURIComponent(brand.id)}`, text: 'Checklist' }))),
    mayEdit ? panel({ title: 'Overrides', id: 'brand-sop-overrides', description: 'What this brand does differently from the portfolio\u2019s SOP. Change a step with Override…, then save with a reason.' },
      draftList, conflict, saveForm.el) : null,
    versions.el]);
}
