// sim.mjs — helpers for the simulator tests: start `onecount sim`, talk to its
// control API, and run a tiny webhook receiver on a loopback port.
import http from 'node:http';
import { startServer, client, waitFor } from './stack.mjs';

/** Starts `onecount sim` on a kernel-chosen loopback port (it needs no database or Redis). */
export async function startSim(env = {}) {
  const server = await startServer({
    command: 'sim',
    databaseUrl: 'postgresql://unused@127.0.0.1:1/unused',
    redisUrl: 'redis://127.0.0.1:1/0',
    threads: 1,
    env,
  });
  const ctl = client(server.url);
  const requests = async (params = {}) => {
    const q = new URLSearchParams(params).toString();
    return (await ctl.get(`/_sim/requests${q ? `?${q}` : ''}`)).json;
  };
  return {
    server,
    url: server.url,
    ctl,
    /** Creates an account and fails the test unless it answers 201. */
    async account(spec) {
      const r = await ctl.post('/_sim/accounts', spec);
      if (r.status !== 201) throw new Error(`account create: ${r.status} ${r.text}`);
      return r.json;
    },
    /** The request log (GET /_sim/requests), filtered by `params`. */
    requests,
    /** The account's stock on the channel, as { sku: qty }. */
    async stockOf(acct) {
      return (await ctl.get(`/_sim/accounts/${acct.id}/stock`)).json.stock;
    },
    /** Every logged request to the account (the request log's entries), filtered by `params`. */
    async log(acct, params = {}) {
      return (await requests({ account: acct.id, limit: 100000, ...params })).requests;
    },
    stop: () => server.stop(),
  };
}

/** Calls fetch with a time limit; resolves to {status, headers, text, json, ms}. */
export async function call(url, { method = 'GET', headers = {}, body, timeout = 10000, signal } = {}) {
  const t0 = Date.now();
  const res = await fetch(url, { method, headers, body, signal: signal || AbortSignal.timeout(timeout) });
  const text = await res.text();
  let json;
  try { json = text ? JSON.parse(text) : undefined; } catch { json = undefined; }
  return { status: res.status, headers: res.headers, text, json, ms: Date.now() - t0 };
}

/**
 * A webhook receiver on 127.0.0.1:0.  `respond(req, body)` returns the status
 * to answer (default 200).  Every delivery is kept with its raw body.
 */
export async function startReceiver(respond = () => 200) {
  const deliveries = [];
  const srv = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const d = { headers: req.headers, raw, json: JSON.parse(raw.toString('utf8')), at: Date.now() };
      const status = respond(d, deliveries);
      d.status = status;
      deliveries.push(d);
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end('ok');
    });
  });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  return {
    deliveries,
    url: `http://127.0.0.1:${srv.address().port}/hooks`,
    /** Waits until `pred(deliveries)` holds. */
    wait: (pred, what = 'webhook deliveries', timeout = 10000) => waitFor(() => pred(deliveries), { what, timeout, interval: 20 }),
    close: () => new Promise((r) => { srv.closeAllConnections?.(); srv.close(r); }),
  };
}

export { waitFor };
