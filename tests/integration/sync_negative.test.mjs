// sync_negative.test.mjs — a channel below zero.  Channels can show a
// negative count (an oversell on Shopify, a merchant's edit on Walmart):
// read-backs see it, a compare-and-set push is refused as stale with that
// number, and the next push must go through from it.  Each channel of a
// brand is driven to -7 (Shopify also by an oversell of its own orders); the
// worker's pushes succeed and every listing converges to the published
// quantity, with no push refused by onecount's own adapters.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from './lib/stack.mjs';
import { startSyncStack, channelBrand, converge, channelView, runNow, KINDS } from './lib/sync.mjs';

let stack, P, sim;

before(async () => {
  ({ stack, sim, P } = await startSyncStack({ env: { ONECOUNT_WORKER_SCAN_MS: '300' } }));
  await stack.startWorker();
});
after(async () => { await stack?.stop(); });

/** The push log of a brand's listings: no row may carry an error of onecount's own making. */
async function pushErrors(br) {
  const rows = (await stack.sql(`SELECT status, error FROM push_log WHERE tenant_id = $1 AND status = 'error'`, [br.id])).rows;
  return rows.map((r) => r.error);
}

test('every channel set to -7 on the channel side: the next pushes go through and the listings converge', { timeout: 120000 }, async () => {
  const br = await channelBrand(stack, P, sim, { skus: ['N1', 'N2'], stock: 10 });
  await converge([br]);
  // Amazon applies a push later: wait until a read-back has seen it applied (a read-back that finds
  // another number while a push is pending takes it for the pending push)
  await waitFor(async () => {
    await runNow(br, ['read_back']);
    return (await stack.sql('SELECT count(*)::int AS n FROM listings WHERE tenant_id = $1 AND push_pending', [br.id])).rows[0].n === 0;
  }, { what: 'pushes applied', interval: 500 });
  for (const kind of KINDS) {
    const r = await br.sim.put(`/_sim/accounts/${br.conns[kind].account.id}/stock`, { [br.skus[0]]: -7 });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.stock[br.skus[0]], -7, `the ${kind} simulator holds a negative count`);
  }
  await runNow(br, ['read_back']);
  await converge([br], { timeout: 90000 });
  for (const kind of KINDS) assert.equal((await channelView(br, kind))[br.skus[0]].quantity, 10, kind);
  assert.deepEqual(await pushErrors(br), []);
  // what the channel showed was recorded as it was
  const seen = (await stack.sql(`SELECT seen_qty FROM drift_events WHERE tenant_id = $1 AND seen_qty < 0`, [br.id])).rows;
  assert.ok(seen.length >= 1, 'the negative count was recorded as a drift');
});

test('an oversell on the channel takes Shopify to -7: the sale is ingested and the channel is set to the published 0', { timeout: 120000 }, async () => {
  const br = await channelBrand(stack, P, sim, { skus: ['O1'], stock: 10 });
  await converge([br]);
  const acct = br.conns.shopify.account.id;
  const o = await br.sim.post(`/_sim/accounts/${acct}/orders`, { sku: br.skus[0], quantity: 17, force: true });
  assert.equal(o.status, 201, o.text);
  assert.equal((await channelView(br, 'shopify'))[br.skus[0]].quantity, -7);
  await converge([br], { timeout: 90000 });
  for (const kind of KINDS) assert.equal((await channelView(br, kind))[br.skus[0]].quantity, 0, kind);
  assert.deepEqual(await pushErrors(br), []);
  const log = (await stack.sql(`SELECT status, expected, channel_qty FROM push_log p JOIN listings l ON l.tenant_id = p.tenant_id
    AND l.id = p.listing_id WHERE p.tenant_id = $1 AND l.connection_id = $2 ORDER BY p.id`, [br.id, br.conns.shopify.id])).rows;
  assert.ok(log.some((r) => r.status === 'ok' && Number(r.expected) === -7), JSON.stringify(log));
});
