// notifications.js — what onecount tells people and programs when something
// opens: everyone's own e-mail preferences (which kinds, which brands,
// immediately or in a daily digest), and for admins the portfolio's
// outbound webhook endpoints — add one (its signing secret shown once, with
// a copy button), choose kinds and brands, send a test, read the delivery log.
import { api } from '../api.js';
import { h, sentence, uid } from '../ui/dom.js';
import { createForm } from '../ui/form.js';
import { confirmDialog } from '../ui/dialog.js';
import { statusBadge, time, plural } from '../ui/format.js';
import { notify } from '../ui/notice.js';
import { pageHeader, panel, rowButton, busy } from '../ui/page.js';
import { secretBox } from '../ui/secret.js';
import { pagedTable } from '../ui/table.js';
import { portfolioId, isAdmin, session } from '../session.js';
import { ALERTS, alertLabel, msText } from './sync-words.js';
import { timeZones } from '../timezones.js';

// The kinds an event can have: the alerts of today and the exception queue's oversells.
const KINDS = ['oversell', ...Object.keys(ALERTS)];
const kindLabel = (k) => (k === 'oversell' ? 'Oversells' : alertLabel(k));

const STATE_WORDS = {
  pending: ['Waiting to retry', 'badge-warn'],
  delivered: ['Delivered', 'badge-ok'],
  failed: ['Gave up', 'badge-danger'],
};
function stateBadge(d) {
  const [label, cls] = d.state === 'pending' && d.attempts === 0 ? ['Queued', 'badge-muted'] : STATE_WORDS[d.state] || [d.state, 'badge-muted'];
  return h('span', { class: ['badge', cls], text: label });
}
const EVENT_WORDS = { test: 'Test', 'alert.opened': 'Alert opened', 'alert.resolved': 'Alert resolved',
  'exception.opened': 'Exception opened', 'exception.resolved': 'Exception resolved' };

/**
 * A group of checkboxes with an "every …" box: value() is null for every one, else the chosen values.
 * A form widget (form.js 'custom'): errors for "<name>[i]" land under the group.
 */
function choiceGroup({ name, legend, every, options, value }) {
  const error = h('p', { class: 'field-error', hidden: true, id: uid('err') });
  const everyId = uid('every');
  const everyBox = h('input', { type: 'checkbox', id: everyId, checked: value == null });
  const boxes = options.map((o) => {
    const id = uid('choice');
    const box = h('input', { type: 'checkbox', id, value: o.value, checked: value != null && value.includes(o.value), disabled: value == null });
    return { box, el: h('label', { for: id, class: 'choice' }, box, ' ', o.label) };
  });
  everyBox.addEventListener('change', () => { for (const b of boxes) b.box.disabled = everyBox.checked; });
  const el = h('fieldset', { class: 'fieldset choice-group', 'aria-describedby': error.id },
    h('legend', { text: legend }),
    h('label', { for: everyId, class: 'choice strong' }, everyBox, ' ', every),
    h('div', { class: 'choice-list' }, boxes.map((b) => b.el)),
    error);
  return {
    el,
    value: () => (everyBox.checked ? null : boxes.filter((b) => b.box.checked).map((b) => b.box.value)),
    validate: () => (!everyBox.checked && !boxes.some((b) => b.box.checked)
      ? { field: name, message: `choose at least one, or “${every}”` } : null),
    setError(field, message) {
      if (field !== name && !field.startsWith(`${name}[`)) return false;
      error.textContent = error.hidden ? message : `${error.textContent} ${message}`;
      error.hidden = false;
      return true;
    },
    clearErrors() { error.hidden = true; error.textContent = ''; },
    reset() {
      everyBox.checked = true;
      for (const b of boxes) { b.box.checked = false; b.box.disabled = true; }
    },
  };
}

/** Every problem of a 422 under its field (the form's own showError names only the first). */
function showProblems(form, err) {
  if (err && Array.isArray(err.problems) && err.problems.length > 1) {
    for (const p of [...err.problems].reverse()) form.setError(p.field, p.message);
    return;
  }
  form.showError(err);
}

// How severe an event must be: null (and 'info') is every severity.
const SEVERITY_CHOICES = [{ value: '', label: 'Every severity' }, { value: 'warning', label: 'Warnings and critical' },
  { value: 'critical', label: 'Critical only' }];
const severityField = (value) => ({ name: 'min_severity', label: 'How severe', type: 'select',
  value: value === 'info' ? '' : value || '', options: SEVERITY_CHOICES,
  hint: 'Exceptions are critical, warning or info; an alert is a warning.' });
const severityWords = (v) => (v === 'critical' ? 'critical only' : v === 'warning' ? 'warnings and critical' : 'every severity');

function kindChoices() {
  return KINDS.map((k) => ({ value: k, label: kindLabel(k) }));
}

function brandOptions() {
  return session.brands.map((b) => ({ value: b.id, label: b.name }));
}

function prefsPanel(pid, prefs) {
  const base = `/api/v1/portfolios/${pid}/notifications/me`;
  const kinds = choiceGroup({ name: 'kinds', legend: 'Which kinds', every: 'Every kind', value: prefs.kinds,
    options: kindChoices() });
  const brands = choiceGroup({ name: 'brand_ids', legend: 'Which brands', every: 'Every brand I can see', value: prefs.brand_ids,
    options: brandOptions() });
  const status = h('p', { class: 'muted', role: 'status' });
  const say = (p) => {
    status.textContent = p.email_mode === 'off' ? 'You receive no notification e-mail.'
      : p.email_mode === 'immediate' ? `E-mail goes to ${p.address} as each event happens.`
        : `One digest a day goes to ${p.address} after ${String(p.digest_hour).padStart(2, '0')}:00 (${p.timezone})${p.digest_pending ? `; ${plural(p.digest_pending, 'event')} gathered for the next one` : ''}.`;
  };
  say(prefs);
  const form = createForm({
    label: 'Your notification e-mail',
    submitLabel: 'Save preferences',
    fields: [
      { name: 'email_mode', label: 'E-mail me', type: 'select', value: prefs.email_mode, required: true,
        options: [{ value: 'off', label: 'Never' }, { value: 'immediate', label: 'As it happens' }, { value: 'digest', label: 'In a daily digest' }] },
      { name: 'digest_hour', label: 'Digest hour', type: 'number', min: 0, max: 23, step: 1, value: prefs.digest_hour,
        hint: 'The hour of the day (0–23) after which the digest is sent, in the time zone below.' },
      { name: 'timezone', label: 'Time zone', value: prefs.timezone, list: timeZones(), maxlength: 64, mono: true },
      { type: 'custom', name: 'kinds', widget: kinds },
      severityField(prefs.min_severity),
      { type: 'custom', name: 'brand_ids', widget: brands },
    ],
    async onSubmit(values) {
      const body = { email_mode: values.email_mode, kinds: values.kinds, min_severity: values.min_severity || null,
        brand_ids: values.brand_ids, timezone: values.timezone || null };
      if (values.digest_hour !== '') body.digest_hour = Number(values.digest_hour);
      try {
        const saved = await api.put(base, body);
        say(saved);
        notify('Notification preferences saved');
      } catch (err) {
        showProblems(form, err);
      }
    },
  });
  const syncDigest = () => {
    const digest = form.control('email_mode').value === 'digest';
    form.wrap('digest_hour').hidden = !digest;
    form.wrap('timezone').hidden = !digest;
  };
  form.control('email_mode').addEventListener('change', syncDigest);
  syncDigest();
  return panel({ title: 'Your notifications',
    description: 'What onecount e-mails you when an alert or exception opens. You only ever receive events of brands you can see.' },
  prefs.email_enabled ? null : h('p', { class: 'callout', role: 'note',
    text: 'E-mail is off on this installation: no SMTP relay is configured (smtp_url), so nothing is mailed. Your choices are kept for when it is.' }),
  status, form.el);
}

function deliveryLog(pid, ep) {
  const base = `/api/v1/portfolios/${pid}/webhooks/${ep.id}/deliveries`;
  const attempts = (d) => (d.log.length
    ? h('ol', { class: 'attempts' }, d.log.map((a) => h('li', {},
      a.status_code ? `HTTP ${a.status_code}` : 'no answer', ' · ', msText(a.duration_ms ?? 0),
      a.error ? h('span', { class: 'muted', text: ` · ${sentence(a.error)}` }) : null)))
    : h('span', { class: 'muted', text: 'not sent yet' }));
  const table = pagedTable({
    caption: `Deliveries to ${ep.name}`,
    empty: 'Nothing sent yet. Send a test to see one here.',
    columns: [
      { label: 'When', render: (d) => time(d.created_at, { seconds: true }) },
      { label: 'Event', render: (d) => h('div', { class: 'cell-stack' }, h('span', { class: 'strong', text: EVENT_WORDS[d.event] || d.event }),
        h('span', { class: 'muted small', text: [d.brand, d.kind && d.kind !== 'test' ? kindLabel(d.kind) : null].filter(Boolean).join(' · ') })) },
      { label: 'Status', render: (d) => stateBadge(d) },
      { label: 'Attempts', render: attempts },
      { label: 'Next attempt', render: (d) => (d.next_attempt_at && d.attempts > 0 ? time(d.next_attempt_at, { seconds: true }) : h('span', { class: 'muted', text: '—' })) },
    ],
    load: (cursor) => api.get(base, { cursor }),
  });
  return table;
}

async function webhooksPanels(pid, body) {
  const base = `/api/v1/portfolios/${pid}/webhooks`;
  const secretSlot = h('div', { class: 'secret-slot' });
  const list = h('div', { class: 'webhook-list' });
  const showSecret = (ep, what) => {
    secretSlot.replaceChildren(secretBox({
      title: `${what} for “${ep.name}”`,
      label: 'Signing secret',
      secret: ep.secret,
      warning: 'Copy this secret now: it is shown only this once. Your receiver checks X-Onecount-Signature: v1=HMAC-SHA256(secret, X-Onecount-Timestamp + "." + body), in hex.',
    }));
    secretSlot.querySelector('.secret-value').focus();
  };
  // The fields of an endpoint, empty for a new one or filled with `ep`'s for a change.
  const endpointFields = (ep = null) => [
    { name: 'name', label: 'Name', required: true, maxlength: 200, placeholder: 'e.g. Ops pager', value: ep ? ep.name : '' },
    { name: 'url', label: 'Address (URL)', type: 'url', required: true, maxlength: 2000, placeholder: 'your receiver’s http or https address',
      hint: 'An http or https address, scheme included. Each event is POSTed here as JSON.', value: ep ? ep.url : '' },
    { type: 'custom', name: 'kinds', widget: choiceGroup({ name: 'kinds', legend: 'Which kinds', every: 'Every kind',
      value: ep ? ep.kinds : null, options: kindChoices() }) },
    severityField(ep ? ep.min_severity : null),
    { type: 'custom', name: 'brand_ids', widget: choiceGroup({ name: 'brand_ids', legend: 'Which brands',
      every: 'Every brand of the portfolio', value: ep ? ep.brand_ids : null, options: brandOptions() }) },
  ];
  const form = createForm({
    label: 'Add a webhook endpoint',
    submitLabel: 'Add endpoint',
    fields: endpointFields(),
    async onSubmit(values) {
      try {
        const ep = await api.post(base, { ...values, min_severity: values.min_severity || null });
        form.reset();
        showSecret(ep, 'Endpoint added');
        await redraw();
      } catch (err) {
        showProblems(form, err);
      }
    },
  });

  const endpointCard = (ep) => {
    const log = deliveryLog(pid, ep);
    const editSlot = h('div', { class: 'webhook-edit' });
    const edit = rowButton('Edit…', (ev) => {
      const opener = ev.currentTarget;
      const close = () => { editSlot.replaceChildren(); opener.focus(); };
      const f = createForm({
        label: `Change ${ep.name}`,
        submitLabel: 'Save changes',
        fields: endpointFields(ep),
        secondary: h('button', { type: 'button', class: 'button', text: 'Cancel', onclick: close }),
        async onSubmit(values) {
          try {
            const saved = await api.patch(`${base}/${ep.id}`, { ...values, min_severity: values.min_severity || null });
            notify(`“${saved.name}” saved`);
            await redraw();
          } catch (err) {
            showProblems(f, err);
          }
        },
      });
      editSlot.replaceChildren(f.el);
      f.control('name').focus();
    }, { ariaLabel: `Edit ${ep.name}` });
    const state = ep.active ? statusBadge('active', 'Active') : statusBadge('disabled', 'Turned off');
    const scope = [
      ep.kinds ? ep.kinds.map(kindLabel).join(', ') : 'every kind',
      severityWords(ep.min_severity),
      ep.brands ? ep.brands.map((b) => b.name).join(', ') : 'every brand',
    ].join(' · ');
    const test = rowButton('Send test', (ev) => busy(ev.target, async () => {
      try {
        const queued = await api.post(`${base}/${ep.id}/test`, {});
        notify(`Test queued for “${ep.name}”; its delivery appears in the log below`);
        log.reload();
        // the worker sends it within a moment: look again until its first attempt is recorded (20 s at most)
        for (let i = 0; i < 20 && log.el.isConnected; i++) {
          await new Promise((r) => setTimeout(r, 1000));
          const page = await api.get(`${base}/${ep.id}/deliveries`, { limit: 5 });
          const d = page.items.find((x) => x.id === queued.id);
          if (d && d.attempts > 0 && d.log.length > 0) break;
        }
        if (log.el.isConnected) log.reload();
      } catch (err) {
        if (!err.handled) notify(err.message, { kind: 'error' });
      }
    }), { ariaLabel: `Send a test delivery to ${ep.name}` });
    const refresh = rowButton('Refresh log', () => log.reload(), { ariaLabel: `Refresh the delivery log of ${ep.name}` });
    const toggle = rowButton(ep.active ? 'Turn off' : 'Turn on', (ev) => busy(ev.target, async () => {
      try {
        await api.patch(`${base}/${ep.id}`, { active: !ep.active });
        notify(`“${ep.name}” turned ${ep.active ? 'off' : 'on'}`);
        await redraw();
      } catch (err) {
        if (!err.handled) notify(err.message, { kind: 'error' });
      }
    }), { ariaLabel: `${ep.active ? 'Turn off' : 'Turn on'} ${ep.name}` });
    const rotate = rowButton('New secret', async (ev) => {
      const ok = await confirmDialog({ title: `A new secret for “${ep.name}”?`, message: 'The current secret stops signing at once: update your receiver with the new one.', confirmLabel: 'Make a new secret' });
      if (!ok) return;
      await busy(ev.target, async () => {
        try {
          showSecret(await api.post(`${base}/${ep.id}/rotate`, {}), 'New secret');
        } catch (err) {
          if (!err.handled) notify(err.message, { kind: 'error' });
        }
      });
    }, { ariaLabel: `Make a new signing secret for ${ep.name}` });
    const del = rowButton('Delete', async (ev) => {
      const ok = await confirmDialog({ title: `Delete “${ep.name}”?`, message: 'Nothing more is sent to it, and its delivery log goes too.', confirmLabel: 'Delete endpoint', danger: true });
      if (!ok) return;
      await busy(ev.target, async () => {
        try {
          await api.del(`${base}/${ep.id}`);
          notify(`“${ep.name}” deleted`);
          await redraw();
        } catch (err) {
          if (!err.handled) notify(err.message, { kind: 'error' });
        }
      });
    }, { danger: true, ariaLabel: `Delete the endpoint ${ep.name}` });
    return h('section', { class: 'webhook', 'aria-label': `Endpoint ${ep.name}` },
      h('div', { class: 'webhook-head' },
        h('h3', { text: ep.name }), state,
        h('div', { class: 'row-actions' }, test, refresh, edit, toggle, rotate, del)),
      editSlot,
      h('p', {}, h('code', { class: 'break', text: ep.url })),
      h('p', { class: 'muted small' }, `Receives: ${scope}. Added `, time(ep.created_at), '.'),
      h('h4', { text: 'Delivery log' }),
      log.el);
  };

  async function redraw() {
    const eps = await api.get(base);
    list.replaceChildren(...(eps.length ? eps.map(endpointCard)
      : [h('p', { class: 'muted', text: 'No endpoints yet. Add one above to have events POSTed to your systems.' })]));
  }
  await redraw();
  body.append(
    panel({ title: 'Add a webhook endpoint',
      description: 'Events (alerts and exceptions opening) are POSTed as signed JSON. A delivery answered with a 2xx is done; otherwise it is retried after 10 s, 30 s, 2 min, 10 min and 1 h, then given up. A delivery may arrive twice: use X-Onecount-Delivery to ignore repeats.' },
    form.el, secretSlot),
    panel({ title: 'Webhook endpoints', description: 'Secrets are never shown again; make a new one if it is lost.' }, list));
}

export async function render(ctx) {
  ctx.setTitle('Notifications', 'Portfolio');
  const pid = portfolioId();
  const prefs = await api.get(`/api/v1/portfolios/${pid}/notifications/me`);
  ctx.root.append(pageHeader({ title: 'Notifications', crumbs: [{ label: 'Portfolio', href: '#/' }, { label: 'Notifications' }] }));
  ctx.root.append(prefsPanel(pid, prefs));
  if (isAdmin()) await webhooksPanels(pid, ctx.root);
}
