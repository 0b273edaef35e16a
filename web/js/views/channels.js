// channels.js — #/brands/<id>/channels: the brand's channel connections
// (kind, name, status, base URL, which credential fields are set — never
// their values), and the brand's cross-channel rule: at or below N units
// available, only one connection shows stock ("last units").  Brand owners
// and admins connect channels; operators and up set the brand's rule.
import { api, getAll } from '../api.js';
import { h } from '../ui/dom.js';
import { createForm } from '../ui/form.js';
import { qty, statusBadge } from '../ui/format.js';
import { notify } from '../ui/notice.js';
import { panel, busy } from '../ui/page.js';
import { pagedTable } from '../ui/table.js';
import { link } from '../router.js';
import { canChannels, canInventory } from '../session.js';
import { brandFrame } from './brand-frame.js';
import { credentialsSummary, kindLabel } from './channel-kinds.js';
import { rulesText } from './rules.js';

export function connectionStatus(c) {
  return h('div', { class: 'cell-stack' }, statusBadge(c.status),
    c.status_detail ? h('span', { class: 'muted small', text: c.status_detail }) : null);
}

function lastUnitsText(rule, conns) {
  if (!rule) return 'No last-units rule: every channel shows stock down to the last unit (after its own rules).';
  const c = conns.find((x) => x.id === rule.connection_id);
  return `At or below ${qty(rule.threshold)} available, only ${c ? c.name : 'one connection'} shows stock; the others show 0.`;
}

function rulesPanel(brand, conns, rules, onSaved) {
  const current = rules.last_units;
  const summary = h('p', { class: 'rule-summary', text: lastUnitsText(current, conns) });
  if (!canInventory(brand.your_role)) return panel({ title: 'Last units', description: 'The brand\u2019s cross-channel rule.' }, summary);
  if (conns.length === 0) {
    return panel({ title: 'Last units', description: 'The brand\u2019s cross-channel rule.' }, summary,
      h('p', { class: 'muted', text: 'Connect a channel first: the rule names the one connection that keeps showing the last units.' }));
  }
  const clear = current ? h('button', { type: 'button', class: 'button button-danger-quiet', text: 'Remove rule' }) : null;
  const form = createForm({
    label: 'Last-units rule',
    layout: 'inline',
    submitLabel: current ? 'Save rule' : 'Set rule',
    aliases: { connection_id: 'last_units.connection_id' },
    fields: [
      { name: 'last_units.threshold', label: 'Threshold (units)', type: 'number', required: true, min: 0, step: 1,
        value: current ? String(current.threshold) : '', hint: 'At or below this many available units\u2026' },
      { name: 'last_units.connection_id', label: 'Only this connection shows them', type: 'select', required: true,
        value: current ? current.connection_id : conns[0].id, options: conns.map((c) => ({ value: c.id, label: `${c.name} (${kindLabel(c.kind)})` })) },
    ],
    secondary: clear,
    async onSubmit(v) {
      const t = v['last_units.threshold'];
      const res = await api.put(`/api/v1/brands/${brand.id}/rules`, {
        last_units: { threshold: /^-?\d+$/.test(t) ? Number(t) : t, connection_id: v['last_units.connection_id'] },
      });
      notify('Last-units rule saved; listings are recomputed');
      onSaved(res);
    },
  });
  if (clear) {
    clear.addEventListener('click', () => busy(clear, async () => {
      try {
        const res = await api.put(`/api/v1/brands/${brand.id}/rules`, { last_units: null });
        notify('Last-units rule removed');
        onSaved(res);
      } catch (err) {
        if (!err.handled) form.showError(err);
      }
    }));
  }
  return panel({
    title: 'Last units',
    description: 'For channels that never ask before selling: when stock runs low, offer the last units on one channel only, so they cannot be sold twice.',
  }, summary, form.el);
}

export async function render(ctx) {
  const { brand, body } = await brandFrame(ctx, 'channels', 'Channels');
  const base = `/api/v1/brands/${brand.id}/connections`;
  const first = await api.get(base); // a 403 or 404 fails the screen
  const [conns, rules] = await Promise.all([getAll(base), api.get(`/api/v1/brands/${brand.id}/rules`)]);

  const table = pagedTable({
    caption: 'Channel connections',
    empty: canChannels(brand.your_role) ? 'No channels connected yet. Connect the first one.' : 'No channels connected yet.',
    rowClass: (c) => (c.status === 'paused' ? 'row-muted' : null),
    columns: [
      { label: 'Name', render: (c) => h('a', { href: link('/brands', brand.id, 'channels', c.id), class: 'strong-link', text: c.name }) },
      { label: 'Kind', render: (c) => kindLabel(c.kind) },
      { label: 'Status', render: connectionStatus },
      { label: 'Base URL', render: (c) => h('code', { class: 'break', text: c.base_url }) },
      { label: 'Credentials', render: (c) => credentialsSummary(c.credentials) },
      { label: 'Rules', render: (c) => rulesText(c.rules) },
      { label: 'Listings', render: (c) => h('div', { class: 'cell-stack' },
        h('a', { href: `${link('/brands', brand.id, 'listings')}?connection=${c.id}`, text: qty(c.listings) }),
        c.out_of_sync ? h('span', { class: 'badge badge-warn', text: `${qty(c.out_of_sync)} to push` }) : null) },
    ],
    first,
    load: (cursor) => api.get(base, { cursor }),
  });

  const rulesSlot = h('div');
  const drawRules = (r) => rulesSlot.replaceChildren(rulesPanel(brand, conns, r, drawRules));
  drawRules(rules);

  const connect = canChannels(brand.your_role)
    ? h('a', { class: 'button button-primary', href: link('/brands', brand.id, 'channels', 'new'), text: 'Connect a channel' })
    : null;
  body.append(
    panel({
      title: 'Connections',
      description: 'Each connection is one channel account. Its credentials are stored encrypted and never shown again; only which fields are set.',
      actions: connect,
    }, table.el),
    rulesSlot);
}
