// imports.js — #/brands/<id>/imports: CSV in and out.  Operators and up
// upload a file of SKUs, bundles, counts or listings (POST …/imports?type=&dry_run=,
// the body as text/csv, an Idempotency-Key per submission); a dry run
// (the default) checks every row and writes nothing.  The job's own screen
// (import.js) follows it.  Everyone who reads the brand sees the job
// history and downloads the exports (skus, bundles, counts, listings,
// movements with an optional period); a refused export shows the server's
// reason.
import { api, fetchFile } from '../api.js';
import { h, sentence } from '../ui/dom.js';
import { createForm } from '../ui/form.js';
import { plural, qty } from '../ui/format.js';
import { submission } from '../ui/idempotency.js';
import { panel } from '../ui/page.js';
import { pagedTable } from '../ui/table.js';
import { link } from '../router.js';
import { canInventory } from '../session.js';
import { brandFrame } from './brand-frame.js';
import { isoFromLocal } from './inventory.js';
import { ago } from './sync-card.js';

export const TYPES = [
  { value: 'skus', label: 'SKUs', columns: 'code (required), title, barcode, archived (true/false). The SKUs export imports as it is: its balance columns are ignored. Codes must be new.' },
  { value: 'bundles', label: 'Bundles', columns: 'bundle_code, component_code, qty (required), bundle_title; one row per component. Components are existing SKUs; bundle codes must be new.' },
  { value: 'counts', label: 'Counts', columns: 'code, on_hand (required): each row records a count; on hand becomes the number counted.' },
  { value: 'listings', label: 'Listings', columns: 'connection (required: its id or its name), sku (required), external_sku, item_ref, location_ref. A SKU not yet on the connection gets a listing (external_sku defaults to the SKU code); one already there is updated, an empty cell keeping its value. The listings export imports as it is.' },
];
export const typeLabel = (t) => TYPES.find((x) => x.value === t)?.label || t;

const STATUS = {
  validating: ['Checking', 'badge-warn'],
  applying: ['Applying', 'badge-warn'],
  done: ['Done', 'badge-ok'],
  failed: ['Failed', 'badge-danger'],
};

/** A job's status as a badge (a finished dry run says what a real run would do). */
export function jobBadge(j) {
  if (j.dry_run && j.status === 'done') return h('span', { class: 'badge badge-ok', text: 'Checked: no errors' });
  if (j.dry_run && j.status === 'failed') return h('span', { class: 'badge badge-danger', text: 'Checked: errors' });
  const [label, cls] = STATUS[j.status] || [j.status, 'badge-muted'];
  return h('span', { class: ['badge', cls], text: label });
}

/** What a job's summary says, in words. */
export function summaryText(j) {
  const s = j.summary || {};
  const parts = [];
  if (s.skus !== undefined && j.type === 'skus') parts.push(plural(Number(s.skus), 'SKU'));
  if (s.skipped_bundle_rows) parts.push(`${plural(Number(s.skipped_bundle_rows), 'bundle row')} skipped`);
  if (s.bundles !== undefined) parts.push(`${plural(Number(s.bundles), 'bundle')} with ${plural(Number(s.components), 'component')}`);
  if (s.skus !== undefined && j.type === 'counts') parts.push(`${plural(Number(s.skus), 'SKU')} counted, ${plural(Number(s.units), 'unit')} in all`);
  if (s.listings !== undefined && j.type === 'listings') {
    parts.push(plural(Number(s.listings), 'listing'));
    if (s.created !== undefined) parts.push(`${qty(s.created)} ${j.dry_run ? 'to create' : 'created'}`, `${qty(s.updated)} ${j.dry_run ? 'to update' : 'updated'}`, `${qty(s.unchanged)} unchanged`);
  }
  return parts.join(', ');
}

/**
 * Files uploaded in this tab, by job id, so that a clean dry run can be
 * imported for real from its job screen without choosing the file again.
 * Kept in memory only: gone on reload.
 */
export const uploaded = new Map();

/** POSTs a CSV as an import job; resolves to the job (202). */
export function postImport(brandId, { type, dryRun, text }, key) {
  return api.postText(`/api/v1/brands/${brandId}/imports`, text, {
    contentType: 'text/csv', query: { type, dry_run: dryRun ? 'true' : 'false' }, idempotencyKey: key,
  });
}

/**
 * Downloads an export through fetch, so that a refusal (too large, a bad
 * period) is shown in `slot` instead of being saved as a file.
 */
async function download(path, label, slot, query = null) {
  slot.replaceChildren(h('p', { class: 'muted', text: `Preparing the ${label} export…` }));
  try {
    const { blob, filename } = await fetchFile(path, query);
    const url = URL.createObjectURL(blob);
    const save = h('a', { href: url, download: filename, hidden: true });
    document.body.append(save);
    save.click();
    save.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
    slot.replaceChildren(h('p', { class: 'muted', role: 'status', text: `${filename} downloaded (${qty(blob.size)} bytes).` }));
  } catch (err) {
    if (err.handled && err.status === 401) return;
    slot.replaceChildren(h('p', { class: 'form-error', role: 'alert', text: `The ${label} export was refused: ${sentence(err.message)}` }));
  }
}

/** A real link to an export (it can be copied or opened), downloaded through download() when clicked. */
function exportLink(path, label, slot) {
  const a = h('a', { href: path, class: 'button', download: '', text: `Download ${label}` });
  a.addEventListener('click', async (ev) => {
    ev.preventDefault();
    if (a.getAttribute('aria-disabled') === 'true') return;
    a.setAttribute('aria-disabled', 'true');
    try {
      await download(path, label, slot);
    } finally {
      a.removeAttribute('aria-disabled');
    }
  });
  return a;
}

export async function render(ctx) {
  const { brand, body } = await brandFrame(ctx, 'imports', 'Imports and exports');
  const base = `/api/v1/brands/${brand.id}`;
  const may = canInventory(brand.your_role);
  const first = await api.get(`${base}/imports`, { limit: 20 }); // a 403 or 404 fails the screen

  // --- upload (operators and up) ---------------------------------------------------------
  let uploadPanel = null;
  if (may) {
    const sub = submission('import');
    const wanted = TYPES.some((t) => t.value === ctx.query.get('type')) ? ctx.query.get('type') : 'skus';
    const form = createForm({
      label: 'Import a CSV file',
      submitLabel: 'Upload',
      fields: [
        { name: 'type', label: 'What the file holds', type: 'select', required: true, value: wanted, options: TYPES.map((t) => ({ value: t.value, label: t.label })),
          hintFor: (v) => `Columns: ${TYPES.find((t) => t.value === v)?.columns || ''}` },
        { name: 'file', label: 'CSV file', type: 'file', optional: false, hint: 'UTF-8, a header row naming the columns, any column order.' },
        { name: 'text', label: 'Or paste the CSV', type: 'textarea', rows: 5, mono: true, trim: false, placeholder: 'code,title\nMUG-1,Blue mug' },
        { name: 'dry_run', label: 'Dry run: check every row, write nothing', type: 'checkbox', value: true,
          hint: 'Recommended first. A real run applies every row in one go, or nothing when any row is bad.' },
      ],
      async onSubmit(v) {
        const input = form.control('file');
        const file = input.files && input.files[0];
        let text = v.text;
        if (file) text = await file.text();
        if (!text || !text.trim()) {
          form.setError(file ? 'file' : 'text', file ? 'The file is empty' : 'Choose a CSV file or paste its contents');
          return;
        }
        const payload = { type: v.type, dryRun: v.dry_run, text };
        const job = await postImport(brand.id, payload, sub.keyFor(payload));
        sub.done();
        uploaded.set(job.id, { type: v.type, text, name: file ? file.name : 'pasted CSV' });
        ctx.navigate(link('/brands', brand.id, 'imports', job.id));
      },
    });
    form.control('file').setAttribute('accept', '.csv,text/csv');
    uploadPanel = panel({
      title: 'Import a CSV file',
      description: 'SKUs, bundles, counted stock, or listings on the channels. Every row is checked and every problem listed with its line and column; a file with any bad row applies nothing.',
    }, form.el);
  }

  // --- exports ------------------------------------------------------------------------------
  const slot = h('div', { class: 'result-slot', 'aria-live': 'polite' });
  const period = createForm({
    label: 'Period of the movements export',
    layout: 'inline',
    submitLabel: 'Download movements.csv',
    fields: [
      { name: 'from', label: 'From', type: 'datetime-local', hint: 'Empty: from the first movement.' },
      { name: 'to', label: 'Until', type: 'datetime-local', hint: 'Empty: up to now.' },
    ],
    async onSubmit(v) {
      await download(`${base}/exports/movements.csv`, 'movements', slot, { from: isoFromLocal(v.from) || null, to: isoFromLocal(v.to) || null });
    },
  });
  const exportsPanel = panel({
    title: 'Exports',
    description: 'CSV files of the brand. SKUs, bundles, counts and listings import as they are, into this brand or another.',
  },
  h('div', { class: 'button-row' },
    exportLink(`${base}/exports/skus.csv`, 'SKUs', slot),
    exportLink(`${base}/exports/bundles.csv`, 'bundles', slot),
    exportLink(`${base}/exports/counts.csv`, 'counts', slot),
    exportLink(`${base}/exports/listings.csv`, 'listings', slot)),
  h('h3', { class: 'subheading spaced-top', text: 'Movements' }),
  period.el, slot);

  // --- history ------------------------------------------------------------------------------
  const jobs = pagedTable({
    caption: 'Import jobs, newest first',
    empty: 'No imports yet.',
    columns: [
      { label: 'Started', render: (j) => ago(j.created_at) },
      { label: 'File', render: (j) => h('div', { class: 'cell-stack' },
        h('a', { href: link('/brands', brand.id, 'imports', j.id), class: 'strong-link', text: `${typeLabel(j.type)}${j.dry_run ? ' (dry run)' : ''}` }),
        h('span', { class: 'muted small', text: `${qty(j.bytes)} bytes` })) },
      { label: 'Status', render: (j) => jobBadge(j) },
      { label: 'Rows', class: 'num', render: (j) => (j.rows_total === null ? h('span', { class: 'muted', text: '—' }) : qty(j.rows_total)) },
      { label: 'Problems', class: 'num', render: (j) => (Number(j.errors_total) > 0 ? h('span', { class: 'error-text', text: qty(j.errors_total) }) : '0') },
      { label: 'Contents', render: (j) => summaryText(j) || h('span', { class: 'muted', text: '—' }) },
    ],
    first,
    load: (cursor) => api.get(`${base}/imports`, { cursor, limit: 20 }),
  });

  body.append(...[uploadPanel, exportsPanel, panel({ title: 'Import history' }, jobs.el)].filter(Boolean));
}
