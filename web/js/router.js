// router.js — hash routes (#/brands/<id>/members?x=y), because the server
// serves files and does not rewrite unknown paths to index.html.
//
// A route is {path: '/brands/:bid/members', view: () => import(...), …};
// match() returns the route with its params and the query of the hash.

/** Splits location.hash into a path and a URLSearchParams. */
export function parseHash(hash = window.location.hash) {
  const raw = hash.replace(/^#/, '') || '/';
  const q = raw.indexOf('?');
  const path = (q >= 0 ? raw.slice(0, q) : raw) || '/';
  const query = new URLSearchParams(q >= 0 ? raw.slice(q + 1) : '');
  return { path: path.startsWith('/') ? path : `/${path}`, query };
}

function compile(pattern) {
  const names = [];
  const re = pattern.replace(/\/:([a-z]+)/g, (_, name) => {
    names.push(name);
    return '/([^/]+)';
  });
  return { re: new RegExp(`^${re}/?$`), names };
}

export function createRouter(routes) {
  const compiled = routes.map((r) => ({ ...r, ...compile(r.path) }));
  return {
    match(hash) {
      const { path, query } = parseHash(hash);
      for (const r of compiled) {
        const m = r.re.exec(path);
        if (!m) continue;
        const params = {};
        r.names.forEach((n, i) => { params[n] = decodeURIComponent(m[i + 1]); });
        return { route: r, params, query, path };
      }
      return { route: null, params: {}, query, path };
    },
  };
}

/** Builds a hash link: link('/brands', id, 'members') → '#/brands/<id>/members'. */
export function link(...parts) {
  return `#${parts.map((p, i) => (i === 0 ? p : encodeURIComponent(p))).join('/')}`;
}

/**
 * Puts a screen's filters into the address without a history entry or a new
 * render: `values` as the query of `here`, the empty ones ('', null, false)
 * left out, true written as 1.
 */
export function rememberQuery(here, values) {
  const q = new URLSearchParams();
  for (const [name, v] of Object.entries(values)) if (v !== '' && v != null && v !== false) q.set(name, v === true ? '1' : v);
  history.replaceState(null, '', q.toString() ? `${here}?${q}` : here);
}

export function navigate(hashPath) {
  const target = hashPath.startsWith('#') ? hashPath : `#${hashPath}`;
  if (window.location.hash === target) window.dispatchEvent(new HashChangeEvent('hashchange'));
  else window.location.hash = target;
}
