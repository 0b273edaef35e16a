// redisproxy.mjs — a TCP proxy in front of a test's Redis that holds back
// chosen commands, as a slow network would hold back one connection: a held
// command waits `delayMs`, and the commands its connection sent after it wait
// behind it (each connection keeps its order; other connections go on).
import net from 'node:net';
import { createHash } from 'node:crypto';

/**
 * Parses the complete commands at the start of `buf` (RESP arrays of bulk
 * strings, as clients send them).  Returns {commands: [{raw, argv}], rest}.
 */
export function parseCommands(buf) {
  const commands = [];
  let at = 0;
  for (;;) {
    const start = at;
    if (at >= buf.length) break;
    if (buf[at] !== 0x2a /* '*' */) { // an inline command: one line
      const eol = buf.indexOf('\r\n', at);
      if (eol < 0) break;
      commands.push({ raw: buf.subarray(start, eol + 2), argv: buf.subarray(at, eol).toString().split(' ') });
      at = eol + 2;
      continue;
    }
    let eol = buf.indexOf('\r\n', at);
    if (eol < 0) break;
    const n = Number(buf.subarray(at + 1, eol).toString());
    at = eol + 2;
    const argv = [];
    for (let i = 0; i < n; i++) {
      eol = buf.indexOf('\r\n', at);
      if (eol < 0) break;
      const len = Number(buf.subarray(at + 1, eol).toString());
      if (eol + 2 + len + 2 > buf.length) break;
      argv.push(buf.subarray(eol + 2, eol + 2 + len));
      at = eol + 2 + len + 2;
    }
    if (argv.length < n) { at = start; break; }
    commands.push({ raw: buf.subarray(start, at), argv });
  }
  return { commands, rest: buf.subarray(at) };
}

/**
 * Starts the proxy on a loopback port in front of Redis's unix socket `sock`.
 * `slow(argv)` says which commands to hold back (argv: Buffers).  Answers
 * {url, held, close()}: `held` counts the commands held back so far.
 */
export async function redisProxy(sock, { delayMs, slow }) {
  const conns = new Set();
  const proxy = {
    held: 0,
    url: '',
    close: () => new Promise((resolve) => {
      for (const c of conns) c.destroy();
      server.close(resolve);
    }),
  };
  const server = net.createServer((down) => {
    const up = net.createConnection({ path: sock });
    conns.add(down).add(up);
    let pending = Buffer.alloc(0);
    let last = 0; // when this connection's latest command may go
    let chain = Promise.resolve();
    up.on('data', (d) => down.write(d));
    down.on('data', (d) => {
      const { commands, rest } = parseCommands(Buffer.concat([pending, d]));
      pending = Buffer.from(rest);
      for (const c of commands) {
        const hold = slow(c.argv);
        if (hold) proxy.held++;
        last = Math.max(last, hold ? Date.now() + delayMs : 0);
        const at = last;
        const raw = Buffer.from(c.raw);
        chain = chain.then(() => new Promise((resolve) => {
          const wait = at - Date.now();
          const send = () => { if (!up.destroyed) up.write(raw); resolve(); };
          if (wait > 0) setTimeout(send, wait); else send();
        }));
      }
    });
    const end = () => { down.destroy(); up.destroy(); conns.delete(down); conns.delete(up); };
    down.on('close', end).on('error', end);
    up.on('close', end).on('error', end);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.url = `redis://127.0.0.1:${server.address().port}`;
  return proxy;
}

/**
 * A `slow` for redisProxy: the scripts whose source contains `marker`, sent as
 * EVAL or, once seen, as EVALSHA of that source.  (Flush Redis's script cache
 * after the proxy starts so the server sends each source once more.)
 */
export function scriptsContaining(marker) {
  const shas = new Set();
  return (argv) => {
    const cmd = argv[0]?.toString().toUpperCase();
    if (cmd === 'EVAL' && argv[1]?.toString().includes(marker)) {
      shas.add(createHash('sha1').update(argv[1]).digest('hex'));
      return true;
    }
    return cmd === 'EVALSHA' && shas.has(argv[1]?.toString());
  };
}
