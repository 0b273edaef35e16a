// brand-overview.js — a brand at a glance: its details, what the user's role
// allows here, and the latest activity.
import { api } from '../api.js';
import { h, sentence } from '../ui/dom.js';
import { ROLE_HINTS, roleLabel, time } from '../ui/format.js';
import { panel } from '../ui/page.js';
import { link } from '../router.js';
import { peopleDirectory, brandDirectory } from '../directory.js';
import { brandFrame } from './brand-frame.js';
import { auditColumns, auditKey } from './audit-entries.js';
import { pagedTable } from '../ui/table.js';

function details(pairs) {
  return h('dl', { class: 'details' }, pairs.map(([k, v]) => [h('dt', { text: k }), h('dd', {}, v)]));
}

export async function render(ctx) {
  const { brand, body } = await brandFrame(ctx, 'overview', 'Overview');
  const [people, brands] = await Promise.all([peopleDirectory({ brandId: brand.id, role: brand.your_role }), brandDirectory()]);
  const recent = pagedTable({
    caption: 'Latest activity',
    empty: 'No activity yet.',
    key: auditKey,
    columns: auditColumns({ people, brands }),
    // Five entries here; the audit tab pages through the rest.
    load: async () => ({ ...(await api.get(`/api/v1/brands/${brand.id}/audit`, { limit: 5 })), next_cursor: null }),
  });
  body.append(
    h('div', { class: 'grid-2' },
      panel({ title: 'Details' }, details([
        ['Name', brand.name],
        ['Time zone', brand.timezone],
        ['Status', brand.archived ? 'Archived' : 'Active'],
        ['Created', time(brand.created_at)],
      ])),
      panel({ title: 'Your access' }, details([
        ['Role', roleLabel(brand.your_role)],
        ['This role', sentence(ROLE_HINTS[brand.your_role] || 'reads the brand')],
      ]))),
    panel({ title: 'Latest activity', actions: h('a', { href: link('/brands', brand.id, 'audit'), text: 'Full audit log' }) }, recent.el));
}
