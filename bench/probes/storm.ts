/**
 * A connect storm: `streams` streams opened at once (every client process opens all of its share
 * in one go, as clients reconnecting after a deploy do) against `processes` heartbeat processes
 * (WORKERS=1) on one port, and how many got their answer within `timeoutMs`, with the kernel's
 * listen-queue counters (`nstat`) before and after. docs/scaling.md, "Connect storms".
 *
 *   node --import tsx bench/probes/storm.ts [processes=3] [streams=45000] [timeoutMs=60000] [LISTEN_BACKLOG]
 *
 * LISTEN_BACKLOG=512 shows uSockets' own queue. It starts its own redis-server and needs
 * `npm run build` first. The counters are the whole machine's: run it on a quiet box.
 */
import { execFileSync } from 'node:child_process';
import { startRedis, startServerGroup, stopProc } from '../server-proc.js';
import { Pool } from '../client/pool.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const [processes = 3, streams = 45_000, timeoutMs = 60_000] = process.argv.slice(2, 5).map(Number);
const backlog = process.argv[5];

const COUNTERS = ['TcpExtListenOverflows', 'TcpExtListenDrops', 'TcpExtSyncookiesSent', 'TcpExtSyncookiesFailed', 'TcpExtTCPSynRetrans'];

/** The listen-queue counters of this network namespace. */
function counters(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of execFileSync('nstat', ['-az', ...COUNTERS], { encoding: 'utf8' }).split('\n')) {
    const [name, value] = line.trim().split(/\s+/);
    if (COUNTERS.includes(name)) out[name.replace(/^TcpExt/, '')] = Number(value);
  }
  return out;
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hb-storm-'));
const redis = await startRedis(dir);
const server = await startServerGroup('ours', processes, { redisPort: redis.port, dir, env: backlog ? { LISTEN_BACKLOG: backlog } : {} });
const pool = Pool.forSockets(streams);
try {
  const before = counters();
  const perWorker = Math.ceil(streams / pool.size);
  const conn = await pool.connect({ host: '127.0.0.1', port: server.port }, streams, { users: streams, concurrency: perWorker, timeoutMs });
  const after = counters();
  const delta = Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - (before[k] ?? 0)]));
  console.log(
    JSON.stringify({
      processes,
      streams,
      listenBacklog: backlog ?? 'default',
      somaxconn: Number(fs.readFileSync('/proc/sys/net/core/somaxconn', 'utf8')),
      answered: conn.ok,
      unanswered: conn.failed,
      reasons: conn.reasons,
      answerMs: conn.ttfc,
      kernel: delta,
    }),
  );
} finally {
  await pool.close();
  await stopProc(server);
  await stopProc(redis);
  fs.rmSync(dir, { recursive: true, force: true });
}
