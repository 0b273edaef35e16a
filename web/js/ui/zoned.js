// zoned.js — calendar days in a time zone, as the API's from/to times.
//
// A date filter reads days in the brand's time zone: "from 2 November to 3
// November" in America/New_York means 2 November 00:00 New York time up to
// (not including) 4 November 00:00, whatever the browser's own zone.  The
// API takes RFC 3339 times with their offset, so these return
// "2026-11-02T00:00:00-05:00" (daylight saving time included: the offset
// is the zone's at that midnight).

/** The zone's offset from UTC at instant `ms`, in minutes (east positive). */
export function offsetMinutes(ms, timeZone) {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit',
  }).formatToParts(new Date(ms));
  const get = (t) => Number(parts.find((p) => p.type === t).value);
  const asUtc = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  return Math.round((asUtc - Math.floor(ms / 1000) * 1000) / 60000);
}

const pad = (n) => String(n).padStart(2, '0');

/** "YYYY-MM-DD" → the RFC 3339 time of that day's start in `timeZone`; null for an empty or malformed day. */
export function dayStart(day, timeZone) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day || '');
  if (!m) return null;
  const wall = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  // the offset at the instant the wall clock reads midnight (two passes settle a DST change)
  let off = offsetMinutes(wall, timeZone);
  off = offsetMinutes(wall - off * 60000, timeZone);
  const sign = off < 0 ? '-' : '+';
  const a = Math.abs(off);
  const d = new Date(wall);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}T00:00:00${sign}${pad(Math.floor(a / 60))}:${pad(a % 60)}`;
}

/** The start of the day after `day` (an inclusive "to" day as the API's exclusive to). */
export function dayAfterStart(day, timeZone) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day || '');
  if (!m) return null;
  const next = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]) + 1));
  return dayStart(next.toISOString().slice(0, 10), timeZone);
}

/** The browser's own zone (for lists that span brands in different zones). */
export function browserZone() {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}
