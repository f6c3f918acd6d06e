/**
 * What WATCH_POLICY=contacts costs per stream opened: the server's CPU (user + sys) per stream,
 * opening 4,000 streams as 400 watchers of 10 contacts each (each watcher opens its 10 streams at
 * once, as the Beep app does), with WATCH_POLICY=anyone and with `contacts` against a stand-in of
 * backend-core (a node:http server in this process answering each watcher's 10 contacts, with
 * backend-core's fields). After a warm-up round (other watchers), a round of new watchers (every
 * contact set read from the stand-in), then the same watchers again (every set cached: a reconnect
 * within CONTACTS_TTL).
 * One line per run. Needs `npm run build` first.
 *
 *   node --import tsx bench/probes/watch-open-cost.ts [watchers=400] [contacts=10]
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpuMs, startRedis, startServer, stopProc } from '../server-proc.js';
import { contactOf } from '../../test/support/contacts-backend.js';

const WATCHERS = Number(process.argv[2] ?? 400);
const CONTACTS = Number(process.argv[3] ?? 10);

let calls = 0;
const backend = createServer((req, res) => {
  calls++;
  const { userid } = JSON.parse(String(req.headers['x-user-claim'])) as { userid: string };
  const w = Number(userid.slice(1));
  const list = Array.from({ length: CONTACTS }, (_, j) => contactOf(`u${w * CONTACTS + j}`));
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(list));
});
backend.listen(0, '127.0.0.1');
await new Promise((resolve) => backend.once('listening', resolve));
const contactsUrl = `http://127.0.0.1:${(backend.address() as AddressInfo).port}/user/contact`;

/** Opens one stream and resolves with its socket once the 200 head arrived. */
function open(port: number, watcher: number, user: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      const claim = JSON.stringify({ userid: `w${watcher}`, clientid: 'phone' });
      socket.write(`GET /subscribe/u${user} HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\nX-User-Claim: ${claim}\r\n\r\n`);
    });
    socket.once('data', (chunk) => (chunk.toString().startsWith('HTTP/1.1 200') ? resolve(socket) : reject(new Error(chunk.toString()))));
    socket.once('error', reject);
  });
}

/** Opens every stream of watchers `offset` … `offset + WATCHERS - 1`. */
async function openAll(port: number, offset: number): Promise<net.Socket[]> {
  const sockets: net.Socket[] = [];
  // 20 watchers at a time, each opening its streams at once.
  for (let first = offset; first < offset + WATCHERS; first += 20) {
    const batch: Promise<net.Socket>[] = [];
    for (let w = first; w < Math.min(offset + WATCHERS, first + 20); w++) {
      for (let j = 0; j < CONTACTS; j++) batch.push(open(port, w, w * CONTACTS + j));
    }
    sockets.push(...(await Promise.all(batch)));
  }
  return sockets;
}

const closeAll = async (sockets: net.Socket[]) => {
  for (const s of sockets) s.destroy();
  await new Promise((resolve) => setTimeout(resolve, 1_000));
};

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hb-watch-open-'));
const redis = await startRedis(dir);
try {
  for (const policy of ['anyone', 'contacts'] as const) {
    const env =
      policy === 'contacts'
        ? { WATCH_POLICY: 'contacts', CONTACTS_URL: contactsUrl, MAX_CONNECTIONS: '19000' }
        : { MAX_CONNECTIONS: '19000' };
    const server = await startServer('ours', { redisPort: redis.port, dir, env });
    try {
      // warm-up: JIT and connection pools, other watchers; then new watchers (nothing cached), then the same again (cached).
      for (const [run, offset] of [
        ['warm-up', 0],
        ['cold', WATCHERS],
        ['cached', WATCHERS],
      ] as const) {
        calls = 0;
        const before = cpuMs(server.pid);
        const started = performance.now();
        const sockets = await openAll(server.port, offset);
        const wall = performance.now() - started;
        const cpu = cpuMs(server.pid) - before;
        const streams = sockets.length;
        if (run !== 'warm-up')
          console.log(
            `${policy.padEnd(8)} ${run.padEnd(6)} ${streams} streams: ${((cpu * 1000) / streams).toFixed(1)} µs CPU per stream opened, ` +
              `${(wall / 1000).toFixed(2)} s wall, ${calls} backend calls`,
          );
        await closeAll(sockets);
      }
    } finally {
      await stopProc(server);
    }
  }
} finally {
  await stopProc(redis);
  backend.close();
}
