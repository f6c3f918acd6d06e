/**
 * `POST /ping` (nchan: its publish) at fanout's rate, 1,000 a second over 1,500 users, with no
 * subscriber at all: the acknowledgement's latency and the server's CPU per ping when pings come
 * one per event-loop turn, without the fan-out competing for the same threads and cores. After
 * 10 s of warm-up, three windows of 3,000 pings; one line per window.
 *
 *   node --import tsx bench/probes/ack-alone.ts [ours|nchan|baseline] [workers=2]
 *
 * It starts its own redis-server and server (as the bench does) and needs `npm run build` first
 * for ours.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startRedis, startServer, stopProc, cpuMs, type TargetName } from '../server-proc.js';
import { Pinger } from '../client/pinger.js';
import { Histogram } from '../client/histogram.js';

const RATE = 1000;
const USERS = 1500;
const target = (process.argv[2] ?? 'ours') as TargetName;
const workers = Number(process.argv[3] ?? 2);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hb-ack-alone-'));
const redis = await startRedis(dir);
const server = await startServer(target, { redisPort: redis.port, dir, workers });
const pinger = new Pinger('127.0.0.1', server.port, 32, server.api);
try {
  await pinger.paced(10 * RATE, RATE, USERS, 'u', 'w');
  for (let window = 1; window <= 3; window++) {
    pinger.ack = new Histogram();
    const before = pinger.okCount;
    const cpu0 = cpuMs(server.pid);
    await pinger.paced(3 * RATE, RATE, USERS);
    const cpu = cpuMs(server.pid) - cpu0;
    const acked = pinger.okCount - before;
    const { p50, p99, max } = pinger.ack.summary();
    console.log(
      `${target} WORKERS=${workers} window ${window}: ${acked} acked, ack p50 ${p50} p99 ${p99} max ${max} ms, ` +
        `server CPU ${Math.round(cpu)} ms (${Math.round((cpu * 1000) / Math.max(1, acked))} µs per ping)`,
    );
  }
} finally {
  pinger.close();
  await stopProc(server);
  await stopProc(redis);
  fs.rmSync(dir, { recursive: true, force: true });
}
