// metrics.test.mjs — serve's /metrics stays bounded whatever the number of
// tenants: totals per channel kind, and series of their own only for the
// connections furthest behind (metrics_top_connections).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, waitFor } from './lib/stack.mjs';
import { portfolio, brand, unique } from './lib/world.mjs';

let stack;
before(async () => { stack = await startStack({ env: { ONECOUNT_METRICS_TOP_CONNECTIONS: '2' } }); });
after(async () => { await stack?.stop(); });

test('per-connection series only for the K connections furthest behind; totals count every one', async () => {
  const P = await portfolio(stack);
  const behind = []; // [brand, connection, listings behind]
  for (let b = 0; b < 3; b++) {
    const B = await brand(P);
    const base = `/api/v1/brands/${B.id}`;
    for (let c = 0; c < 2; c++) {
      const conn = await P.api.post(`${base}/connections`, { kind: 'walmart', name: `WM ${c}`,
        base_url: 'http://127.0.0.1:9/walmart', settings: {}, credentials: { client_id: 'id', client_secret: 'secret' } });
      assert.equal(conn.status, 201, conn.text);
      const n = 1 + b * 2 + c; // 1..6 listings behind, no worker to push them
      for (let i = 0; i < n; i++) {
        const sku = unique('M');
        assert.equal((await P.api.post(`${base}/skus`, { code: sku })).status, 201);
        await P.api.post(`${base}/movements`, { kind: 'receipt', sku, qty: 5 });
        const l = await P.api.post(`${base}/listings`, { connection_id: conn.json.id, sku, external_sku: `wm-${sku}` });
        assert.equal(l.status, 201, l.text);
      }
      behind.push([B.id, conn.json.id, n]);
    }
  }
  // (a snapshot refreshed every few seconds)
  const text = await waitFor(async () => {
    const m = await stack.server.metrics();
    return /^onecount_sync_queue_depth\{kind="walmart"\} 21$/m.test(m) && m;
  }, { what: 'the totals of 21 listings behind in /metrics', timeout: 25000 });
  assert.match(text, /^onecount_sync_connections\{kind="walmart"\} 6$/m);
  assert.match(text, /^onecount_sync_circuit_open_connections\{kind="walmart"\} 0$/m);
  const own = [...text.matchAll(/^onecount_connection_queue_depth\{brand="([^"]+)",connection="([^"]+)",kind="walmart"\} (\d+)$/gm)]
    .map((m) => [m[1], m[2], Number(m[3])]);
  assert.deepEqual(own.sort((a, b) => b[2] - a[2]), behind.slice(-2).reverse(), 'the two furthest behind, no others');
  for (const [, conn] of behind.slice(0, 4)) assert.ok(!text.includes(conn), `${conn} has no series of its own`);
});
