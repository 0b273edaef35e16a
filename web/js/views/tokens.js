// tokens.js — API tokens of a brand (brand owners, admins) or of the whole
// portfolio (admins): create one (its secret is shown once), list them with
// prefix and last use, revoke (takes effect at once).
import { api } from '../api.js';
import { h, sentence } from '../ui/dom.js';
import { createForm } from '../ui/form.js';
import { confirmDialog } from '../ui/dialog.js';
import { ROLE_HINTS, roleBadge, roleLabel, statusBadge, time } from '../ui/format.js';
import { notify } from '../ui/notice.js';
import { pageHeader, panel, rowButton, busy } from '../ui/page.js';
import { secretBox } from '../ui/secret.js';
import { pagedTable } from '../ui/table.js';
import { portfolioId } from '../session.js';
import { peopleDirectory } from '../directory.js';
import { brandFrame } from './brand-frame.js';

const BRAND_ROLES = ['viewer', 'operator', 'brand_owner'];
const PORTFOLIO_ROLES = ['viewer', 'operator', 'portfolio_admin'];

export async function render(ctx) {
  const isBrand = ctx.route.scope === 'brand';
  let body = ctx.root;
  let brand = null;
  let base;
  if (isBrand) {
    ({ brand, body } = await brandFrame(ctx, 'tokens', 'API tokens'));
    base = `/api/v1/brands/${brand.id}/tokens`;
  } else {
    ctx.setTitle('API tokens', 'Portfolio');
    ctx.root.append(pageHeader({ title: 'API tokens', crumbs: [{ label: 'Portfolio', href: '#/' }, { label: 'API tokens' }],
      meta: h('span', { class: 'muted', text: 'Portfolio-wide tokens reach every brand of the portfolio.' }) }));
    base = `/api/v1/portfolios/${portfolioId()}/tokens`;
  }
  const first = await api.get(base); // a 403 here is shown as the page's error
  const people = await peopleDirectory({ brandId: brand && brand.id, role: brand && brand.your_role });
  const roles = isBrand ? BRAND_ROLES : PORTFOLIO_ROLES;
  const where = isBrand ? brand.name : 'every brand of the portfolio';

  const secretSlot = h('div', { class: 'secret-slot' });
  const form = createForm({
    label: 'Create an API token',
    layout: 'inline',
    submitLabel: 'Create token',
    fields: [
      { name: 'name', label: 'Name', required: true, maxlength: 200, placeholder: 'e.g. Storefront checkout' },
      { name: 'role', label: 'Role', type: 'select', required: true, value: 'viewer',
        options: roles.map((r) => ({ value: r, label: roleLabel(r) })), hintFor: (r) => sentence(ROLE_HINTS[r]) },
    ],
    async onSubmit(values) {
      const t = await api.post(base, values);
      form.reset();
      form.set('role', 'viewer');
      secretSlot.replaceChildren(secretBox({
        title: `Token “${t.name}” created`,
        label: 'Secret',
        secret: t.token,
        warning: `Copy this secret now: it is shown only this once and cannot be shown again. It acts as ${roleLabel(t.role)} in ${where} until revoked; keep it out of code repositories and chats.`,
      }));
      secretSlot.querySelector('.secret-value').focus();
      table.reload();
    },
  });

  const table = pagedTable({
    caption: 'API tokens',
    empty: 'No tokens yet.',
    rowClass: (t) => (t.revoked ? 'row-muted' : null),
    columns: [
      { label: 'Name', render: (t) => h('span', { class: 'strong', text: t.name }) },
      { label: 'Role', render: (t) => roleBadge(t.role) },
      { label: 'Prefix', render: (t) => h('code', { text: `${t.prefix}…` }) },
      { label: 'Created', render: (t) => h('div', { class: 'cell-stack' }, time(t.created_at), h('span', { class: 'muted small', text: people.get(t.created_by)?.name || '' })) },
      { label: 'Last used', render: (t) => time(t.last_used_at, { empty: 'never' }) },
      { label: 'Status', render: (t) => (t.revoked ? statusBadge('revoked') : statusBadge('active')) },
      { label: 'Actions', class: 'actions', render: (t, tbl) => (t.revoked ? null : rowButton('Revoke', async (ev) => {
        const ok = await confirmDialog({ title: `Revoke “${t.name}”?`, message: 'Programs using this token are refused from now on. This cannot be undone.', confirmLabel: 'Revoke token', danger: true });
        if (!ok) return;
        await busy(ev.target, async () => {
          try {
            tbl.update(await api.del(`${base}/${t.id}`));
            notify(`Token “${t.name}” revoked`);
          } catch (err) {
            if (!err.handled) notify(err.message, { kind: 'error' });
          }
        });
      }, { danger: true, ariaLabel: `Revoke token ${t.name}` })) },
    ],
    first,
    load: (cursor) => api.get(base, { cursor }),
  });

  body.append(
    panel({ title: 'Create a token', description: 'For programs that use the API: a storefront, a POS, a 3PL. Each token has one role and can be revoked at any time.' },
      form.el, secretSlot),
    panel({ title: 'Tokens', description: 'Secrets are never shown again; the prefix tells tokens apart.' }, table.el));
}
