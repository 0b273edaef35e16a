// connection-new.js — #/brands/<id>/channels/new?kind=shopify: connect a
// Shopify, Amazon or Walmart account with the settings and credentials that
// kind needs, and optionally its published-quantity rules.  Brand owners and
// admins (the "channels" permission); anyone else gets the server's 403.
// Credentials are typed into password inputs, sent once, sealed by the
// server and never shown again.
import { api } from '../api.js';
import { h } from '../ui/dom.js';
import { createForm } from '../ui/form.js';
import { notify } from '../ui/notice.js';
import { panel } from '../ui/page.js';
import { link } from '../router.js';
import { canChannels } from '../session.js';
import { brandFrame } from './brand-frame.js';
import { KINDS, KIND_OPTIONS, credentialFields, credentialsFromValues, modeName, settingFields, settingsFromValues, showKind } from './channel-kinds.js';
import { forbiddenPanel } from './inventory.js';
import { ruleFields, rulesFromValues } from './rules.js';

export async function render(ctx) {
  const { brand, body } = await brandFrame(ctx, 'channels', 'Connect a channel', { crumbs: [{ label: 'Connect a channel' }] });
  if (!canChannels(brand.your_role)) {
    body.append(forbiddenPanel(brand.your_role, 'channels'));
    return;
  }
  const startKind = KINDS[ctx.query.get('kind')] ? ctx.query.get('kind') : 'shopify';
  const aliases = {};
  const kinds = Object.keys(KINDS);
  const form = createForm({
    label: 'Connect a channel',
    submitLabel: 'Connect channel',
    aliases,
    fields: [
      { name: 'kind', label: 'Channel', type: 'select', required: true, value: startKind, options: KIND_OPTIONS, hintFor: (k) => KINDS[k]?.about || '' },
      { name: 'name', label: 'Name', required: true, maxlength: 100, placeholder: 'e.g. US store', hint: 'Tells this account apart from the brand\u2019s other connections.' },
      { name: 'base_url', label: 'Base URL', type: 'url', maxlength: 500, mono: true,
        hint: 'Empty: the channel\u2019s own API. In demos and tests, the address of a channel simulator.' },
      { section: 'Settings', name: 'settings', description: 'What onecount needs to find the account on the channel.' },
      ...kinds.flatMap((k) => settingFields(k)),
      { section: 'Credentials', name: 'credentials', description: 'Write-only: sealed in the brand\u2019s vault when you connect, and never shown again \u2014 not even to you. The connection lists only which fields are set.' },
      ...kinds.flatMap((k) => credentialFields(k)),
      { section: 'Rules (optional)', name: 'rules', class: 'fieldset-grid', description: 'How much of what is available this channel may show. Applied in order: buffer, share, cap, the brand\u2019s last-units rule, floor.' },
      ...ruleFields({}),
    ],
    secondary: h('a', { class: 'button', href: link('/brands', brand.id, 'channels'), text: 'Cancel' }),
    async onSubmit(v) {
      const kind = v.kind;
      const payload = {
        kind,
        name: v.name,
        settings: settingsFromValues(kind, v),
        credentials: credentialsFromValues(kind, v),
      };
      if (v.base_url) payload.base_url = v.base_url;
      const rules = rulesFromValues(v);
      if (Object.keys(rules).length) payload.rules = rules;
      const c = await api.post(`/api/v1/brands/${brand.id}/connections`, payload);
      // Nothing of the secrets stays in the page.
      for (const input of form.el.querySelectorAll('input[type="password"]')) input.value = '';
      notify(`${c.name} connected; its credentials are sealed and will not be shown again`);
      ctx.navigate(link('/brands', brand.id, 'channels', c.id));
    },
  });

  const sync = () => showKind(form, aliases, form.control('kind').value);
  form.control('kind').addEventListener('change', sync);
  for (const k of kinds) {
    const mode = form.control(modeName(k));
    if (mode) mode.addEventListener('change', sync);
  }
  sync();

  body.append(panel({ title: 'Connect a channel', description: 'Connecting does not call the channel yet; use “Test connection” on the connection afterwards.' }, form.el));
  form.control('kind').focus();
}
