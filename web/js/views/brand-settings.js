// brand-settings.js — name, time zone, archive and unarchive (brand owners
// and portfolio admins; the server answers 403 to anyone else).
import { api } from '../api.js';
import { h } from '../ui/dom.js';
import { createForm } from '../ui/form.js';
import { confirmDialog } from '../ui/dialog.js';
import { notify } from '../ui/notice.js';
import { panel, errorPanel, busy } from '../ui/page.js';
import { canManage, refreshSession } from '../session.js';
import { timeZones } from '../timezones.js';
import { brandFrame } from './brand-frame.js';

export async function render(ctx) {
  const { brand, body } = await brandFrame(ctx, 'settings', 'Settings');
  if (!canManage(brand.your_role)) {
    body.append(errorPanel({ status: 403, message: 'brand settings are for brand owners and portfolio admins' }));
    return;
  }
  const form = createForm({
    label: 'Brand settings',
    submitLabel: 'Save changes',
    fields: [
      { name: 'name', label: 'Name', required: true, value: brand.name, maxlength: 200 },
      { name: 'timezone', label: 'Time zone', required: true, value: brand.timezone, list: timeZones(),
        hint: 'IANA name such as Europe/Berlin; daily routines and reports of this brand follow it.' },
    ],
    async onSubmit(values) {
      const patch = {};
      if (values.name !== brand.name) patch.name = values.name;
      if (values.timezone !== brand.timezone) patch.timezone = values.timezone;
      if (Object.keys(patch).length === 0) {
        notify('Nothing to save', { kind: 'info' });
        return;
      }
      await api.patch(`/api/v1/brands/${brand.id}`, patch);
      if (patch.name) await refreshSession(); // the navigation shows the name
      notify('Brand settings saved');
      ctx.rerender();
    },
  });

  const archiveButton = h('button', { type: 'button', class: ['button', brand.archived ? 'button-primary' : 'button-danger'], text: brand.archived ? 'Unarchive brand' : 'Archive brand' });
  archiveButton.addEventListener('click', () => busy(archiveButton, async () => {
    const archiving = !brand.archived;
    const ok = await confirmDialog(archiving
      ? { title: `Archive ${brand.name}?`, message: 'The brand leaves the brand lists and navigation. Its data, members and audit log are kept, and you can unarchive it at any time.', confirmLabel: 'Archive brand', danger: true }
      : { title: `Unarchive ${brand.name}?`, message: 'The brand returns to the brand lists and navigation.', confirmLabel: 'Unarchive brand' });
    if (!ok) return;
    try {
      await api.patch(`/api/v1/brands/${brand.id}`, { archived: archiving });
    } catch (err) {
      if (!err.handled) notify(err.message, { kind: 'error' });
      return;
    }
    await refreshSession();
    notify(archiving ? `${brand.name} is archived` : `${brand.name} is active again`);
    ctx.rerender();
  }));

  body.append(
    panel({ title: 'General' }, form.el),
    panel({ title: brand.archived ? 'Archived' : 'Archive',
      description: brand.archived
        ? 'This brand is archived: hidden from brand lists and navigation. Unarchive it to bring it back.'
        : 'Archiving hides the brand from brand lists and navigation; nothing is deleted.' },
    h('div', { class: 'form-actions' }, archiveButton)));
}
