// notifications_sync.test.mjs — a notification from a real condition, end to
// end: a channel (the simulator) answers every push with 503, the worker
// opens the connection's circuit and its alert, and the alert reaches a
// webhook receiver (signed) and the admin's inbox (an SMTP sink) with no
// test code touching the alerts table.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { waitFor, sleep } from './lib/stack.mjs';
import { startSyncStack, channelBrand, converge } from './lib/sync.mjs';
import { startSmtpSink } from './lib/smtp_sink.mjs';
import { startReceiver } from './lib/sim.mjs';

let stack, sim, P, sink, server;

before(async () => {
  server = await startReceiver();
  sink = await startSmtpSink();
  ({ stack, sim, P } = await startSyncStack({ env: { ONECOUNT_SMTP_URL: sink.url, ONECOUNT_SMTP_FROM: 'alerts@onecount.test',
    ONECOUNT_WORKER_SCAN_MS: '300', ONECOUNT_NOTIFY_POLL_MS: '200' } }));
});
after(async () => {
  await stack?.stop();
  await sink?.close();
  await server?.close();
});

test('a channel outage opens an alert that is delivered by webhook and e-mail', async () => {
  const br = await channelBrand(stack, P, sim, { skus: ['N1', 'N2'], stock: 40 });
  const hook = await P.api.post(`/api/v1/portfolios/${P.pid}/webhooks`, { name: 'Outages',
    url: server.url, kinds: ['circuit_open'], brand_ids: [br.id] });
  assert.equal(hook.status, 201, hook.text);
  const prefs = await P.api.put(`/api/v1/portfolios/${P.pid}/notifications/me`, { email_mode: 'immediate', kinds: ['circuit_open'] });
  assert.equal(prefs.status, 200, prefs.text);
  const w = await stack.startWorker();
  await converge([br]);
  const amz = br.conns.amazon;
  assert.equal((await br.sim.put(`/_sim/accounts/${amz.account.id}/faults`, { error_rate: 1, error_status: 503 })).status, 200);
  for (let i = 0; i < 8; i++) {
    await br.api.post(`${br.base}/movements`, { kind: 'sale', sku: br.skus[i % 2], qty: 1 });
    await sleep(400);
  }
  const req = await waitFor(() => server.deliveries.find((g) => g.headers['x-onecount-event'] === 'alert.opened'),
    { timeout: 60000, what: 'the circuit_open alert delivered' });
  const ts = req.headers['x-onecount-timestamp'];
  assert.equal(req.headers['x-onecount-signature'], `v1=${createHmac('sha256', hook.json.secret).update(`${ts}.${req.raw}`).digest('hex')}`);
  const body = req.json;
  assert.equal(body.kind, 'circuit_open');
  assert.equal(body.brand.id, br.id);
  assert.equal(body.payload.connection_id, amz.id);
  const alerts = (await br.api.get(`${br.base}/alerts?state=open`)).json.items;
  assert.ok(alerts.some((a) => a.kind === 'circuit_open' && a.id === body.payload.alert_id), JSON.stringify(alerts));
  const mail = await sink.waitFor((m) => m.to.includes(P.email) && m.body.includes('circuit_open'), { what: 'the alert by e-mail' });
  assert.ok(mail.subject.includes(body.title));
  assert.equal((await br.sim.del(`/_sim/accounts/${amz.account.id}/faults`)).status, 200);
  await w.stop();
});
