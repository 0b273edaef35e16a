// timezones.js — IANA time zone names for brand forms (from the browser).

let cached = null;

/** Every zone the browser knows, for a <datalist>; empty when it cannot tell. */
export function timeZones() {
  if (!cached) {
    try {
      cached = Intl.supportedValuesOf('timeZone');
    } catch {
      cached = ['UTC'];
    }
    if (!cached.includes('UTC')) cached = ['UTC', ...cached];
  }
  return cached;
}

/** The browser's own zone, a sensible default for a new brand. */
export function defaultTimeZone() {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    return 'UTC';
  }
}
