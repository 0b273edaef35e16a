// import.js — #/brands/<id>/imports/<jid>: one import job.  Its status and
// progress (rows checked, then applied, of the file's rows), what the file
// holds, and every bad row with its line, column and reason.  While the job
// runs the screen asks again every second (only while shown and the tab is
// visible).  A dry run without errors whose file was chosen in this tab
// can be imported for real from here (operators and up).
import { api } from '../api.js';
import { h, sentence } from '../ui/dom.js';
import { plural, qty, time } from '../ui/format.js';
import { submission } from '../ui/idempotency.js';
import { notify } from '../ui/notice.js';
import { panel, busy } from '../ui/page.js';
import { autoRefresh } from '../ui/poll.js';
import { link } from '../router.js';
import { canInventory } from '../session.js';
import { brandFrame } from './brand-frame.js';
import { jobBadge, postImport, summaryText, typeLabel, uploaded } from './imports.js';

const POLL_MS = 1000;
const running = (j) => j.status === 'validating' || j.status === 'applying';

function phase(j) {
  if (j.status === 'validating') return 'Checking rows';
  if (j.status === 'applying') return 'Applying rows';
  if (j.dry_run) return j.status === 'done' ? 'Checked; nothing was written (dry run)' : 'Checked; nothing was written';
  return j.status === 'done' ? 'Applied' : 'Nothing was applied';
}

function progress(j) {
  const total = j.rows_total;
  const done = Number(j.rows_done) || 0;
  const applied = j.status === 'applying' || (!j.dry_run && j.status === 'done');
  const label = total === null || total === undefined ? 'Reading the file…'
    : `${qty(done)} of ${qty(total)} ${Number(total) === 1 ? 'row' : 'rows'} ${applied ? 'applied' : 'checked'}`;
  const bar = h('progress', { class: 'progress', max: String(Math.max(1, Number(total) || 1)), 'aria-label': 'Import progress' });
  if (total !== null && total !== undefined) bar.value = Math.min(done, Number(total));
  return h('div', { class: 'progress-block' }, h('p', { class: 'progress-label', text: label }), bar);
}

/** A file's problem in the file's own words: a reason that starts with its column names it as the header ("on_hand must be 0 or more"). */
function problemWords(e) {
  const reason = String(e.reason || '');
  if (e.column && reason.startsWith(`${e.column} `)) {
    return h('span', {}, h('code', { text: e.column }), reason.slice(e.column.length).replace(/\.?$/, '.'));
  }
  return sentence(reason);
}

function errorsBlock(j) {
  const errors = j.errors || [];
  const total = Number(j.errors_total) || errors.length;
  if (total === 0) {
    return running(j) ? h('p', { class: 'muted', text: 'No problem found so far.' })
      : h('p', { class: 'ok-text', text: j.status === 'done' ? 'Every row is fine.' : 'No row-level problem was reported.' });
  }
  return h('div', {},
    h('p', { class: 'error-text', text: `${plural(total, 'problem')} found${running(j) ? ' so far' : ''}${j.dry_run || j.status === 'failed' ? '; nothing was written' : ''}.` }),
    h('div', { class: 'table-wrap' }, h('table', { class: 'table import-errors' },
      h('caption', { class: 'visually-hidden', text: 'Problems in the file, by line' }),
      h('thead', {}, h('tr', {}, ['Line', 'Column', 'Problem'].map((c) => h('th', { scope: 'col', class: c === 'Line' ? 'num' : null, text: c })))),
      h('tbody', {}, errors.map((e) => h('tr', {},
        h('td', { 'data-label': 'Line', class: 'num', text: e.line ? qty(e.line) : 'whole file' }),
        h('td', { 'data-label': 'Column' }, e.column ? h('code', { text: e.column }) : h('span', { class: 'muted', text: 'the row' })),
        h('td', { 'data-label': 'Problem' }, problemWords(e))))))),
    total > errors.length ? h('p', { class: 'muted small', text: `The first ${qty(errors.length)} are listed; ${qty(total - errors.length)} more were counted.` }) : null);
}

export async function render(ctx) {
  const jid = ctx.params.jid;
  const { brand, body } = await brandFrame(ctx, 'imports', 'Import', { crumbs: [{ label: 'Import' }] });
  const path = `/api/v1/brands/${brand.id}/imports/${encodeURIComponent(jid)}`;
  let job = await api.get(path); // 404 for another brand's or an unknown job
  const title = () => `${typeLabel(job.type)} import${job.dry_run ? ' (dry run)' : ''}`;
  ctx.setTitle(title(), brand.name);
  const crumb = ctx.root.querySelector('.crumbs li:last-child span');
  if (crumb) crumb.textContent = title();

  const statusEl = h('div', { class: 'job-status', role: 'status', 'aria-live': 'polite' });
  const detailsEl = h('div', {});
  const errorsEl = h('div', {});
  const nextEl = h('div', { class: 'button-row spaced' });
  const file = uploaded.get(job.id);
  const sub = submission('import');

  function next() {
    const items = [];
    if (!running(job) && job.dry_run && job.status === 'done' && file && canInventory(brand.your_role)) {
      const go = h('button', { type: 'button', class: 'button button-primary', text: `Import ${file.name} for real` });
      go.addEventListener('click', () => busy(go, async () => {
        const payload = { type: file.type, dryRun: false, text: file.text };
        try {
          const real = await postImport(brand.id, payload, sub.keyFor(payload));
          sub.done();
          uploaded.set(real.id, { ...file });
          notify('The file is being imported');
          ctx.navigate(link('/brands', brand.id, 'imports', real.id));
        } catch (err) {
          if (!err.handled) notify(err.message, { kind: 'error' });
        }
      }));
      items.push(go);
    } else if (!running(job) && job.dry_run && job.status === 'done' && canInventory(brand.your_role)) {
      // The file itself is not kept by the server: only this tab can send it again.
      items.push(h('p', { class: 'muted small', text: 'To import this file for real, upload it again with “Dry run” unticked.' }));
    }
    if (!running(job)) items.push(h('a', { class: 'button', href: `${link('/brands', brand.id, 'imports')}?type=${job.type}`,
      text: job.status === 'failed' ? 'Fix the file and upload it again' : 'Import another file' }));
    if (!running(job) && !job.dry_run && job.status === 'done' && job.type === 'listings') {
      items.push(h('a', { class: 'button', href: link('/brands', brand.id, 'listings'), text: 'See the listings' }));
    } else if (!running(job) && !job.dry_run && job.status === 'done' && job.type !== 'bundles') {
      items.push(h('a', { class: 'button', href: link('/brands', brand.id, job.type === 'counts' ? 'stock' : 'skus'), text: job.type === 'counts' ? 'See the stock movements' : 'See the SKUs' }));
    }
    return items;
  }

  function draw() {
    statusEl.replaceChildren(h('div', { class: 'inline-control' }, jobBadge(job), h('span', { text: phase(job) })), progress(job));
    const summary = summaryText(job);
    detailsEl.replaceChildren(h('dl', { class: 'details' },
      h('dt', { text: 'Type' }), h('dd', { text: typeLabel(job.type) }),
      h('dt', { text: 'Run' }), h('dd', { text: job.dry_run ? 'Dry run: checks only' : 'Real: applies the file when every row is fine' }),
      h('dt', { text: 'File' }), h('dd', { text: `${qty(job.bytes)} bytes${file ? ` (${file.name})` : ''}` }),
      h('dt', { text: 'Contents' }), h('dd', {}, summary || h('span', { class: 'muted', text: running(job) ? 'being read' : '—' })),
      h('dt', { text: 'Started' }), h('dd', {}, time(job.created_at, { seconds: true })),
      h('dt', { text: 'Finished' }), h('dd', {}, time(job.finished_at, { seconds: true, empty: running(job) ? 'still running' : '—' }))));
    errorsEl.replaceChildren(errorsBlock(job));
    nextEl.replaceChildren(...next());
  }

  body.append(panel({ title: title(), id: 'job' }, statusEl, detailsEl, nextEl), panel({ title: 'Problems' }, errorsEl));
  draw();
  if (!running(job)) return;
  const poller = autoRefresh({
    every: POLL_MS,
    alive: () => ctx.alive() && body.isConnected,
    run: async () => {
      job = await api.get(path);
      draw();
      if (!running(job)) poller.stop();
    },
    onError: (err) => statusEl.append(h('p', { class: 'error-text small', text: `Could not ask about the job: ${err.message}. Trying again.` })),
  });
}
