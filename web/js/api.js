// api.js — the one way the console talks to the server.
//
// JSON in and out; the session cookie travels by itself, and every write
// (anything but GET/HEAD) carries the CSRF token from the sign-in answer or
// GET /api/v1/me.  Failures become ApiError with the server's code, message
// and field (and problems, when the answer lists several), so forms can put the message next to the right input.  Two
// failures are handled here once for every screen:
//   401 on an authenticated call: the session is over; listeners of
//       'unauthenticated' return the user to the sign-in screen.
//   503: a dependency is down; listeners of 'unavailable' get Retry-After.
// Such errors are still thrown, with `handled` set, so callers can stop.

let csrfToken = null;
const listeners = { unauthenticated: new Set(), unavailable: new Set(), available: new Set() };

/** Remembers the session's CSRF token (null when signed out). */
export function setCsrfToken(token) {
  csrfToken = token || null;
}

/** Subscribes to 'unauthenticated', 'unavailable' or 'available'; returns an unsubscribe function. */
export function onApiEvent(event, fn) {
  listeners[event].add(fn);
  return () => listeners[event].delete(fn);
}

function emit(event, detail) {
  for (const fn of listeners[event]) fn(detail);
}

export class ApiError extends Error {
  constructor(status, error = {}, { retryAfter = null, path = '' } = {}) {
    super(error.message || `request failed with status ${status}`);
    this.name = 'ApiError';
    this.status = status;
    this.code = error.code || 'error';
    this.field = error.field || null;
    this.problems = Array.isArray(error.problems) ? error.problems : null; // every problem of a document: [{field, message}]
    this.requestId = error.request_id || null;
    this.retryAfter = retryAfter;
    this.path = path;
    this.handled = false;
  }
}

/** Builds "path?k=v&…" leaving out null, undefined and empty values. */
export function withQuery(path, query) {
  if (!query) return path;
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v !== null && v !== undefined && v !== '') q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

/**
 * Sends one request.  Options: body (JSON-encoded), query (object),
 * public (true for sign-in and invitation acceptance: a 401 there is an
 * answer for the form, not the end of a session), idempotencyKey (sent as
 * Idempotency-Key: the server answers a repeat with the stored response).
 * Resolves to the decoded JSON (null for 204); rejects with ApiError.
 * An answer that is such a replay carries result[REPLAYED] === true.
 */
export const REPLAYED = Symbol('replayed');

export async function request(method, path, { body, text, contentType = 'text/plain', query, public: isPublic = false, idempotencyKey = null } = {}) {
  const url = withQuery(path, query);
  const headers = { Accept: 'application/json' };
  if (idempotencyKey) headers['Idempotency-Key'] = idempotencyKey;
  let payload;
  if (text !== undefined) {
    // A body that is not JSON (a CSV file), sent as it is.
    headers['Content-Type'] = contentType;
    payload = text;
  } else if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  if (method !== 'GET' && method !== 'HEAD' && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  let res;
  try {
    res = await fetch(url, { method, headers, body: payload, credentials: 'same-origin', cache: 'no-store' });
  } catch {
    throw new ApiError(0, { code: 'network', message: 'could not reach the server; check the connection and try again' },
      { path });
  }
  const answer = await res.text();
  let data = null;
  if (answer) {
    try {
      data = JSON.parse(answer);
    } catch {
      data = null;
    }
  }
  if (res.ok) {
    emit('available');
    if (data && typeof data === 'object' && res.headers.get('Idempotent-Replayed') === 'true') data[REPLAYED] = true;
    return res.status === 204 ? null : data;
  }
  throw failure(res, data, { path, isPublic });
}

/** The ApiError of a failed answer; 401 and 503 are announced (and marked handled) here. */
function failure(res, data, { path, isPublic = false }) {
  const retry = Number(res.headers.get('Retry-After'));
  const err = new ApiError(res.status, data && data.error ? data.error : { message: `the server answered ${res.status}` },
    { retryAfter: Number.isFinite(retry) && retry > 0 ? retry : null, path });
  if (res.status === 401 && !isPublic) {
    err.handled = true;
    emit('unauthenticated', err);
  } else if (res.status === 503) {
    err.handled = true;
    emit('unavailable', err);
  }
  return err;
}

/**
 * Fetches a file the API offers as an attachment (a CSV export).  Resolves to
 * {blob, filename}; a refusal (an export too large, a bad filter, 403)
 * rejects with its ApiError like any other call.
 */
export async function fetchFile(path, query) {
  const url = withQuery(path, query);
  let res;
  try {
    res = await fetch(url, { credentials: 'same-origin', cache: 'no-store' });
  } catch {
    throw new ApiError(0, { code: 'network', message: 'could not reach the server; check the connection and try again' }, { path });
  }
  if (!res.ok) {
    let data = null;
    try {
      data = JSON.parse(await res.text());
    } catch {
      data = null;
    }
    throw failure(res, data, { path });
  }
  emit('available');
  const disposition = res.headers.get('Content-Disposition') || '';
  const m = /filename="?([^";]+)"?/.exec(disposition);
  return { blob: await res.blob(), filename: m ? m[1] : path.split('/').pop() };
}

export const api = {
  get: (path, query, opts = {}) => request('GET', path, { ...opts, query }),
  post: (path, body = {}, opts = {}) => request('POST', path, { ...opts, body }),
  /** POSTs a body that is not JSON: opts.contentType names it ('text/csv'). */
  postText: (path, text, opts = {}) => request('POST', path, { ...opts, text }),
  put: (path, body = {}, opts = {}) => request('PUT', path, { ...opts, body }),
  patch: (path, body = {}, opts = {}) => request('PATCH', path, { ...opts, body }),
  del: (path, opts = {}) => request('DELETE', path, opts),
};

/**
 * Fetches every page of a list endpoint (for small directories: brands,
 * people), at most maxPages, stopping early if a page brings nothing new.
 */
export async function getAll(path, query = {}, { maxPages = 20, key = (x) => x.id || x.user_id } = {}) {
  const seen = new Map();
  let cursor = null;
  for (let i = 0; i < maxPages; i++) {
    const page = await api.get(path, { ...query, limit: 200, cursor });
    const before = seen.size;
    for (const item of page.items) if (!seen.has(key(item))) seen.set(key(item), item);
    cursor = page.next_cursor;
    if (!cursor || seen.size === before) break;
  }
  return [...seen.values()];
}
