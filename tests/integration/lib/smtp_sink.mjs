// smtp_sink.mjs — a small SMTP server for the tests: listens on a loopback
// port the kernel picks, speaks enough SMTP for libcurl (EHLO/HELO, MAIL,
// RCPT, DATA, RSET, NOOP, QUIT; no STARTTLS, no AUTH) and keeps every
// message it accepted: { from, to: [...], data, headers: {lower-case name:
// value}, subject, body }.  `failNext(n)` answers the next n DATA commands
// with a 451 (a temporary failure: onecount retries).
import { createServer } from 'node:net';

function parse(data) {
  const i = data.indexOf('\r\n\r\n');
  const head = i >= 0 ? data.slice(0, i) : data;
  const body = i >= 0 ? data.slice(i + 4) : '';
  const headers = {};
  for (const line of head.replace(/\r\n[ \t]+/g, ' ').split('\r\n')) {
    const c = line.indexOf(':');
    if (c > 0) headers[line.slice(0, c).trim().toLowerCase()] = line.slice(c + 1).trim();
  }
  let subject = headers.subject || '';
  const enc = subject.match(/^=\?UTF-8\?B\?(.*)\?=$/i);
  if (enc) subject = Buffer.from(enc[1], 'base64').toString('utf8');
  return { headers, subject, body: body.replace(/\r\n/g, '\n') };
}

export async function startSmtpSink() {
  const messages = [];
  const waiters = [];
  let failures = 0;
  const server = createServer((sock) => {
    sock.setEncoding('utf8');
    let buf = '';
    let inData = false;
    let tx = { from: null, to: [] };
    const say = (line) => sock.write(`${line}\r\n`);
    say('220 sink.test ESMTP ready');
    sock.on('data', (chunk) => {
      buf += chunk;
      for (;;) {
        if (inData) {
          const end = buf.indexOf('\r\n.\r\n');
          const startEnd = buf.startsWith('.\r\n') ? 0 : -1;
          if (end < 0 && startEnd < 0) return;
          const cut = startEnd === 0 ? 0 : end + 2;
          const raw = buf.slice(0, cut);
          buf = buf.slice(cut + 3);
          inData = false;
          if (failures > 0) {
            failures--;
            say('451 4.3.0 try again later');
          } else {
            const data = raw.split('\r\n').map((l) => (l.startsWith('..') ? l.slice(1) : l)).join('\r\n');
            const m = { from: tx.from, to: tx.to, data, ...parse(data) };
            messages.push(m);
            say('250 2.0.0 queued');
            for (const w of waiters.splice(0)) w();
          }
          tx = { from: null, to: [] };
          continue;
        }
        const nl = buf.indexOf('\r\n');
        if (nl < 0) return;
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 2);
        const cmd = line.slice(0, 4).toUpperCase();
        if (cmd === 'EHLO') { sock.write('250-sink.test\r\n250-8BITMIME\r\n250 SIZE 10000000\r\n'); }
        else if (cmd === 'HELO') say('250 sink.test');
        else if (cmd === 'MAIL') { tx.from = (line.match(/<([^>]*)>/) || [])[1] ?? null; say('250 2.1.0 ok'); }
        else if (cmd === 'RCPT') { tx.to.push((line.match(/<([^>]*)>/) || [])[1]); say('250 2.1.5 ok'); }
        else if (cmd === 'DATA') { inData = true; say('354 end with <CRLF>.<CRLF>'); }
        else if (cmd === 'RSET') { tx = { from: null, to: [] }; say('250 ok'); }
        else if (cmd === 'NOOP') say('250 ok');
        else if (cmd === 'QUIT') { say('221 bye'); sock.end(); return; }
        else say('502 5.5.2 not implemented');
      }
    });
    sock.on('error', () => {});
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  return {
    port,
    url: `smtp://127.0.0.1:${port}`,
    messages,
    failNext(n) { failures = n; },
    /** The first message `pred` accepts, waiting up to `timeout` ms for it. */
    async waitFor(pred, { timeout = 20000, what = 'an e-mail' } = {}) {
      const until = Date.now() + timeout;
      for (;;) {
        const m = messages.find(pred);
        if (m) return m;
        const left = until - Date.now();
        if (left <= 0) throw new Error(`timed out waiting for ${what}; the sink has ${messages.length}: ${messages.map((x) => x.subject).join(' | ')}`);
        await new Promise((r) => { const t = setTimeout(r, Math.min(left, 200)); waiters.push(() => { clearTimeout(t); r(); }); });
      }
    },
    close() { return new Promise((r) => server.close(() => r())); },
  };
}
