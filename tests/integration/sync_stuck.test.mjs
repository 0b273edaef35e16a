// sync_stuck.test.mjs — a listing that cannot reach its channel is not silent.
// With ONECOUNT_STUCK_AFTER_SECONDS=3: Walmart fails every call; after a sale
// the brand's sync status counts the listing behind and failing at once, and
// once it has been behind for 3 seconds one alert opens for the connection,
// naming the SKU, the connection and the channel's error in words (other
// connections stay quiet).  When the fault is removed and the listing
// catches up, the alert closes by itself and the counts go back to zero.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from './lib/stack.mjs';
import { startSyncStack, channelBrand, converge } from './lib/sync.mjs';

let stack, P, sim;

before(async () => {
  ({ stack, sim, P } = await startSyncStack({ env: { ONECOUNT_STUCK_AFTER_SECONDS: '3', ONECOUNT_STUCK_CHECK_SECONDS: '1' } }));
});
after(async () => { await stack?.stop(); });

test('a listing whose pushes fail opens an alert naming SKU, channel and error; it closes when the listing catches up', async () => {
  const br = await channelBrand(stack, P, sim, { skus: ['S1', 'S2'], stock: 20, webhooks: false });
  await stack.startWorker();
  await converge([br]);
  let s = (await br.api.get(`${br.base}/sync`)).json;
  assert.deepEqual([s.listings_behind, s.listings_failing, s.listings_stuck], [0, 0, 0]);

  const wm = br.conns.walmart;
  const name = `walmart-${wm.account.id}`;
  assert.equal((await br.sim.put(`/_sim/accounts/${wm.account.id}/faults`, { error_rate: 1, error_status: 500 })).status, 200);
  const [sku] = br.skus;
  assert.equal((await br.api.post(`${br.base}/movements`, { kind: 'sale', sku, qty: 2 })).status, 201);

  // Counted as behind and failing as soon as a push has failed, before any alert.
  s = await waitFor(async () => {
    const x = (await br.api.get(`${br.base}/sync`)).json;
    return x.listings_failing === 1 && x;
  }, { timeout: 30000, what: 'the failing listing to be counted' });
  assert.equal(s.listings_behind, 1);
  const card = s.connections.find((c) => c.connection_id === wm.id);
  assert.equal(card.failing, 1);
  assert.equal(card.queue_depth, 1);

  const alert = await waitFor(async () => {
    const open = (await br.api.get(`${br.base}/alerts?state=open`)).json.items;
    return open.find((a) => a.kind === 'listings_stuck');
  }, { timeout: 30000, what: 'the stuck-listing alert' });
  assert.equal(alert.connection_id, wm.id);
  assert.equal(alert.connection, name);
  assert.match(alert.message, new RegExp(`\\b${sku}\\b`), alert.message);
  assert.match(alert.message, new RegExp(name), alert.message);
  assert.match(alert.message, /answered 500/, alert.message);
  assert.match(alert.message, /^1 listing /, alert.message);
  const open = (await br.api.get(`${br.base}/alerts?state=open`)).json.items.filter((a) => a.kind === 'listings_stuck');
  assert.equal(open.length, 1, 'one alert for the connection');
  s = (await br.api.get(`${br.base}/sync`)).json;
  assert.equal(s.listings_stuck, 1);

  assert.equal((await br.sim.del(`/_sim/accounts/${wm.account.id}/faults`)).status, 200);
  await converge([br], { timeout: 90000 });
  await waitFor(async () => {
    const still = (await br.api.get(`${br.base}/alerts?state=open`)).json.items;
    return !still.some((a) => a.kind === 'listings_stuck');
  }, { timeout: 30000, what: 'the alert to close' });
  const resolved = (await br.api.get(`${br.base}/alerts?state=resolved`)).json.items.find((a) => a.id === alert.id);
  assert.ok(resolved?.resolved_at, 'the same alert, resolved');
  s = (await br.api.get(`${br.base}/sync`)).json;
  assert.deepEqual([s.listings_behind, s.listings_failing, s.listings_stuck], [0, 0, 0]);
});
