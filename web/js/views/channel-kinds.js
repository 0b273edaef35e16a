// channel-kinds.js — what each channel needs to connect: its settings and
// its credentials (write-only: typed here, sealed by the server, never shown
// again), as form fields, and back into the API's {settings, credentials}.
//
// Field names are "<kind>/settings.<key>" and "<kind>/credentials.<key>" so
// the three kinds can share a form; aliasesFor(kind) maps the server's error
// fields ("settings.shop", "credentials.client_secret") onto them.
import { h } from '../ui/dom.js';

export const KINDS = {
  shopify: {
    label: 'Shopify',
    about: 'A Shopify store, through its Admin API. onecount sets the available quantity of each mapped inventory item at one location.',
    settings: [
      { key: 'shop', label: 'Shop domain', required: true, placeholder: 'acme.myshopify.com', hint: 'The store\u2019s myshopify.com domain.' },
      { key: 'api_version', label: 'API version', placeholder: '2025-01', hint: 'YYYY-MM; empty: the version onecount is built for.' },
      { key: 'location_id', label: 'Location', placeholder: 'gid://shopify/Location/123', hint: 'The location whose stock onecount sets; a listing can name its own.' },
    ],
    // Two ways to sign in: an Admin API access token, or an app's client id and secret.
    modes: [
      { value: 'token', label: 'Admin API access token', fields: ['access_token'] },
      { value: 'client', label: 'App client id and secret', fields: ['client_id', 'client_secret', 'refresh_token'] },
    ],
    credentials: [
      { key: 'access_token', label: 'Admin API access token', required: true, hint: 'shpat_\u2026 from the store\u2019s custom app.' },
      { key: 'client_id', label: 'Client id', required: true },
      { key: 'client_secret', label: 'Client secret', required: true },
      { key: 'refresh_token', label: 'Refresh token', hint: 'Only for apps with expiring tokens.' },
      { key: 'webhook_secret', label: 'Webhook signing secret', hint: 'Checks that inventory and order webhooks come from Shopify.' },
    ],
  },
  amazon: {
    label: 'Amazon',
    about: 'An Amazon seller account, through the Selling Partner API (Login with Amazon credentials of a registered app).',
    settings: [
      { key: 'seller_id', label: 'Seller id', required: true, placeholder: 'A1B2C3D4E5F6G7', hint: 'The selling partner id.' },
      { key: 'marketplace_ids', label: 'Marketplace ids', required: true, list: true, placeholder: 'ATVPDKIKX0DER',
        hint: 'One or more, separated by commas or spaces.' },
      { key: 'region', label: 'Region', type: 'select', options: [
        { value: '', label: 'North America (default)' }, { value: 'na', label: 'North America' },
        { value: 'eu', label: 'Europe' }, { value: 'fe', label: 'Far East' }] },
      { key: 'token_url', label: 'Token URL', hint: 'Empty: Login with Amazon\u2019s token endpoint.' },
    ],
    credentials: [
      { key: 'client_id', label: 'LWA client id', required: true },
      { key: 'client_secret', label: 'LWA client secret', required: true },
      { key: 'refresh_token', label: 'Refresh token', required: true, hint: 'Atzr|\u2026 from authorising the app for this seller.' },
    ],
  },
  walmart: {
    label: 'Walmart',
    about: 'A Walmart Marketplace seller account, through its Marketplace API.',
    settings: [
      { key: 'ship_node', label: 'Ship node', hint: 'The fulfilment centre whose inventory onecount sets; empty: the account\u2019s default.' },
    ],
    credentials: [
      { key: 'client_id', label: 'Client id', required: true },
      { key: 'client_secret', label: 'Client secret', required: true },
    ],
  },
};

export const KIND_OPTIONS = Object.entries(KINDS).map(([value, k]) => ({ value, label: k.label }));
export const kindLabel = (kind) => KINDS[kind]?.label || kind;

/** The choices of a "which connection" filter: all of them, or one of `conns` by its name. */
export const connectionFilterOptions = (conns) => [{ value: '', label: 'All connections' }, ...conns.map((c) => ({ value: c.id, label: c.name }))];

/** The "which connection" field of a filter form, showing `value` ('' for all). */
export const connectionFilterField = (conns, value) => ({
  name: 'connection', label: 'Connection', type: 'select', value, optional: false, options: connectionFilterOptions(conns) });

export const settingName = (kind, key) => `${kind}/settings.${key}`;
export const credentialName = (kind, key) => `${kind}/credentials.${key}`;
export const modeName = (kind) => `${kind}/mode`;

/** Form specs for a kind's settings (current values filled in). */
export function settingFields(kind, current = {}) {
  return KINDS[kind].settings.map((s) => {
    let value = current[s.key];
    if (Array.isArray(value)) value = value.join(', ');
    return {
      name: settingName(kind, s.key), label: s.label, required: s.required, placeholder: s.placeholder, hint: s.hint,
      type: s.type, options: s.options, value: value ?? '', mono: true, class: `kind-${kind}`, optional: s.type === 'select' ? false : undefined,
    };
  });
}

/** Form specs for a kind's credentials: password inputs that never hold a stored value. */
export function credentialFields(kind) {
  const k = KINDS[kind];
  const specs = [];
  if (k.modes) {
    specs.push({ name: modeName(kind), label: 'Sign in with', type: 'select', required: true, value: k.modes[0].value,
      options: k.modes.map((m) => ({ value: m.value, label: m.label })), class: `kind-${kind}` });
  }
  for (const c of k.credentials) {
    specs.push({ name: credentialName(kind, c.key), label: c.label, type: 'password', required: c.required, hint: c.hint,
      autocomplete: 'new-password', trim: false, mono: true, class: `kind-${kind}` });
  }
  return specs;
}

/** Which credential keys of a kind the chosen mode uses (all of them for kinds without modes). */
export function credentialKeysInUse(kind, mode) {
  const k = KINDS[kind];
  const modeFields = k.modes ? (k.modes.find((m) => m.value === mode) || k.modes[0]).fields : null;
  const all = k.modes ? k.modes.flatMap((m) => m.fields) : [];
  return k.credentials.map((c) => c.key).filter((key) => !modeFields || modeFields.includes(key) || !all.includes(key));
}

/**
 * Shows the fields of one kind (and of its chosen sign-in mode) in a form
 * made from several kinds' fields; sets the aliases for the server's fields.
 */
export function showKind(form, aliases, kind, { settings = true, credentials = true } = {}) {
  for (const [name, k] of Object.entries(KINDS)) {
    for (const s of k.settings) { const w = form.wrap(settingName(name, s.key)); if (w) w.hidden = !(settings && name === kind); }
    const mode = k.modes ? form.control(modeName(name)) : null;
    if (mode) form.wrap(modeName(name)).hidden = !(credentials && name === kind);
    const used = credentialKeysInUse(name, mode ? mode.value : null);
    for (const c of k.credentials) {
      const w = form.wrap(credentialName(name, c.key));
      if (w) w.hidden = !(credentials && name === kind && used.includes(c.key));
    }
  }
  for (const key of Object.keys(aliases)) delete aliases[key];
  const k = KINDS[kind];
  for (const s of k.settings) aliases[`settings.${s.key}`] = settingName(kind, s.key);
  for (const c of k.credentials) aliases[`credentials.${c.key}`] = credentialName(kind, c.key);
  const mode = k.modes ? form.control(modeName(kind)) : null;
  const firstUsed = credentialKeysInUse(kind, mode ? mode.value : null)[0];
  aliases.credentials = credentialName(kind, firstUsed);
  aliases.settings = settingName(kind, k.settings[0].key);
}

/** {settings} from the shown fields of a kind (empty values left out; marketplace ids as a list). */
export function settingsFromValues(kind, values) {
  const out = {};
  for (const s of KINDS[kind].settings) {
    const v = values[settingName(kind, s.key)];
    if (v === undefined || v === '') continue;
    out[s.key] = s.list ? v.split(/[\s,]+/).filter(Boolean) : v;
  }
  return out;
}

/** {credentials} from the shown fields of a kind (empty ones left out: the server stores exactly what is given). */
export function credentialsFromValues(kind, values) {
  const out = {};
  for (const c of KINDS[kind].credentials) {
    const v = values[credentialName(kind, c.key)];
    if (v !== undefined && v !== '') out[c.key] = v;
  }
  return out;
}

/** The stored credentials as the API describes them: which fields are set, never their values. */
export function credentialsSummary(creds) {
  if (!creds || !creds.set) return h('span', { class: 'muted', text: 'Not set' });
  const fields = creds.fields || [];
  return h('ul', { class: 'chips', 'aria-label': 'Credential fields set' },
    fields.map((f) => h('li', {}, h('span', { class: 'badge badge-ok', text: 'set' }), h('code', { text: f }))));
}

/** The settings as a definition list ("Shop domain: acme.myshopify.com"). */
/** Settings onecount keeps for itself (the simulator account a demo connection is wired to): never shown. */
const INTERNAL_SETTINGS = new Set(['sim_account']);

/** Labels of settings the forms do not offer (tuning set through the API), in words. */
const OTHER_SETTINGS = {
  max_attempts: 'Attempts per call',
  rate_scale: 'Rate limit scale',
  feed_threshold: 'Listings per feed',
};

export function settingsList(kind, settings) {
  const known = KINDS[kind]?.settings || [];
  const entries = Object.entries(settings || {}).filter(([k]) => !INTERNAL_SETTINGS.has(k));
  if (entries.length === 0) return h('span', { class: 'muted', text: 'None' });
  const words = (k) => known.find((s) => s.key === k)?.label || OTHER_SETTINGS[k] || (k.charAt(0).toUpperCase() + k.slice(1)).replace(/_/g, ' ');
  return h('dl', { class: 'details' }, entries.map(([k, v]) => [
    h('dt', { text: words(k) }),
    h('dd', {}, h('code', { text: Array.isArray(v) ? v.join(', ') : typeof v === 'object' ? JSON.stringify(v) : String(v) })),
  ]));
}
