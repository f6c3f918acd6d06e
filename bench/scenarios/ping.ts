/**
 * ping: POST /ping throughput and latency with wrk (Debian package `wrk`, a C load generator
 * that costs far less CPU than a Node one on this shared 2-core box) at 64 and 256 keep-alive
 * connections, no subscribers (nchan: POST /pub/<user>, its publish, with the same body). Then a
 * persistence check: the server is restarted on the same Redis and the cached last ping of every
 * user of the 64-connection run is read back through GET /subscribe.
 *
 * The first 10 s after the server starts are warm-up at 64 connections, the first 5 s of it
 * reported apart as `…64Cold`: a JIT-compiled server (ours, the baseline) spends them compiling
 * its hot paths and sizing its heap, and its p99 there is about twice its steady one
 * (BENCHMARKS.md, `ping`). The measured runs (`…64`, `…256`) come after it, on a warm server, as
 * a server in service runs; nchan gets the same warm-up. The measured runs use two wrk threads.
 * Then a third run of 3 s at 64 connections, one wrk thread per connection, checks storage: each
 * thread's requests go strictly one after another, so the bench knows exactly which status every
 * user must have stored (only a thread's very last request may have been cut off by the end of
 * the run). It is not measured: 64 threads cost wrk a quarter to a third of the throughput on this
 * box.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { Pool } from '../client/pool.js';
import { subscribePath, type Api } from '../client/api.js';
import { ROOT, cpuMs, type Proc, type Server } from '../server-proc.js';
import { num, round, text, type Metrics, type Scenario } from './types.js';

const SECONDS = 5;
/**
 * A wrk thread's users: 16 for each connection of the run. A thread cycles through its users, so
 * a user's next ping is sent 16 × connections requests after its last, long after that one was
 * answered, as a real user's pings are (one device, every 20 s). With one user per connection
 * (until round 6) a user's pings came under a millisecond apart on two connections, and heartbeat,
 * which orders a user's pings by when it received them, answered the overtaken one 409
 * (docs/api.md): 0.03–0.14 % of the answers.
 */
const USERS_PER_CONNECTION = 16;
const SCRIPT = path.join(ROOT, 'bench/wrk/ping.lua');

/** One wrk thread's counters: pings sent, answered, answered with something else than 200. */
interface WrkThread {
  id: number;
  sent: number;
  answered: number;
  non200: number;
}

export interface WrkResult {
  requests: number;
  durationUs: number;
  errors: Record<'connect' | 'read' | 'write' | 'status' | 'timeout', number>;
  p50Us: number;
  p99Us: number;
  maxUs: number;
  threads: WrkThread[];
}

/** Answers other than 200, and socket errors and timeouts, of one wrk run. */
const non2xxOf = (wrk: WrkResult) => wrk.threads.reduce((sum, t) => sum + t.non200, 0);
const errorsOf = (wrk: WrkResult) => wrk.errors.connect + wrk.errors.read + wrk.errors.write + wrk.errors.timeout;

/** One wrk run of bench/wrk/ping.lua against `POST /ping` on 127.0.0.1:port (also used by bench/probes/redis-io.ts). */
export function runWrk(
  port: number,
  threads: number,
  connections: number,
  tag: string,
  usersPerThread: number,
  seconds = SECONDS,
  api: Api = 'heartbeat',
): Promise<WrkResult> {
  const args = [
    `-t${threads}`,
    `-c${connections}`,
    `-d${seconds}s`,
    '--timeout',
    '5s',
    '-s',
    SCRIPT,
    `http://127.0.0.1:${port}/`,
    '--',
    tag,
    String(usersPerThread),
    api,
  ];
  return new Promise((resolve, reject) => {
    execFile('wrk', args, { timeout: (seconds + 30) * 1000 }, (error, stdout, stderr) => {
      if (error)
        return reject(
          new Error(`wrk failed (the ping scenario needs the Debian package wrk: apt-get install -y wrk): ${error.message} ${stderr}`),
        );
      const line = stdout.split('\n').find((l) => l.startsWith('WRK_JSON '));
      if (!line) return reject(new Error(`wrk printed no WRK_JSON line: ${stdout.slice(-500)}`));
      const raw = JSON.parse(line.slice('WRK_JSON '.length)) as Omit<WrkResult, 'threads'> & { threads: number[][] };
      resolve({ ...raw, threads: raw.threads.map(([id, sent, answered, non200]) => ({ id, sent, answered, non200 })) });
    });
  });
}

/**
 * The status each user of a one-connection-per-thread run must have stored. Thread t sent
 * statuses a:t:0 … a:t:(sent-1) to user k mod usersPerThread; all but its last were answered
 * before the next was sent. A user whose last ping was still unanswered at the end may hold
 * that one or its previous one.
 */
function expectedStored(tag: string, threads: WrkThread[], usersPerThread: number): Map<string, string[]> {
  const expected = new Map<string, string[]>();
  for (const t of threads) {
    for (let u = 0; u < Math.min(usersPerThread, t.sent); u++) {
      const last = u + usersPerThread * Math.floor((t.sent - 1 - u) / usersPerThread);
      const ok = [`a:${t.id}:${last}`];
      if (last === t.sent - 1 && t.answered < t.sent && last >= usersPerThread) ok.push(`a:${t.id}:${last - usersPerThread}`);
      expected.set(`${tag}-${t.id}-${u}`, ok);
    }
  }
  return expected;
}

async function blast(
  server: Server,
  redis: Proc,
  connections: number,
  threads: number,
  usersPerThread: number,
  tag: string,
): Promise<Metrics> {
  const cpu0 = cpuMs(server.pid);
  const r0 = cpuMs(redis.pid);
  const wrk = await runWrk(server.port, threads, connections, tag, usersPerThread, SECONDS, server.api);
  const cpu1 = cpuMs(server.pid);
  const r1 = cpuMs(redis.pid);
  const seconds = wrk.durationUs / 1e6;
  const metrics: Metrics = {
    connections,
    rps: round(wrk.requests / seconds, 0),
    requests: wrk.requests,
    p50Ms: round(wrk.p50Us / 1000, 2),
    p99Ms: round(wrk.p99Us / 1000, 2),
    maxMs: round(wrk.maxUs / 1000, 2),
    non2xx: non2xxOf(wrk),
    errors: errorsOf(wrk),
    timeouts: wrk.errors.timeout,
    serverCpuPct: round(((cpu1 - cpu0) / (seconds * 1000)) * 100, 0),
    redisCpuPct: round(((r1 - r0) / (seconds * 1000)) * 100, 0),
    serverCpuUsPerPing: round(((cpu1 - cpu0) * 1000) / Math.max(1, wrk.requests), 1),
  };
  return metrics;
}

export const ping: Scenario = {
  name: 'ping',
  budgetMs: () => 160_000,
  headline: [
    'rps64',
    'p50Ms64',
    'p99Ms64',
    'rps256',
    'p50Ms256',
    'p99Ms256',
    'rps64Cold',
    'p99Ms64Cold',
    'non2xx',
    'errors',
    'storedChecked',
    'storedMatched',
    'serverCpuPct64',
    'serverCpuUsPerPing64',
    'redisCpuPct64',
  ],
  async run(ctx) {
    const out: Metrics = {};
    ctx.log(`warm-up: wrk 64 connections, 2 threads, 2 × ${SECONDS} s right after the start (the first ${SECONDS} s reported as cold)`);
    const cold = await blast(ctx.server, ctx.redis, 64, 2, USERS_PER_CONNECTION * 64, 'c64');
    for (const k of ['rps', 'p50Ms', 'p99Ms', 'maxMs', 'serverCpuUsPerPing'] as const) out[`${k}64Cold`] = cold[k];
    const warmUp = await blast(ctx.server, ctx.redis, 64, 2, USERS_PER_CONNECTION * 64, 'w64');
    for (const c of [64, 256]) {
      ctx.log(`wrk ${c} connections, 2 threads, ${SECONDS} s`);
      await ctx.profileWindow(c === 64);
      const metrics = await blast(ctx.server, ctx.redis, c, 2, USERS_PER_CONNECTION * c, `p${c}`);
      for (const [k, v] of Object.entries(metrics)) if (k !== 'connections') out[`${k}${c}`] = v;
    }
    await ctx.profileWindow(false);
    ctx.log('wrk 64 connections, one thread each, 3 s: the storage check');
    const check = await runWrk(ctx.server.port, 64, 64, 'v64', 2, 3, ctx.server.api);
    const expected = expectedStored('v64', check.threads, 2);
    out.non2xxCheck = non2xxOf(check);
    out.errorsCheck = errorsOf(check);
    out.non2xx = num(cold, 'non2xx') + num(warmUp, 'non2xx') + num(out, 'non2xx64') + num(out, 'non2xx256') + num(out, 'non2xxCheck');
    out.errors = num(cold, 'errors') + num(warmUp, 'errors') + num(out, 'errors64') + num(out, 'errors256') + num(out, 'errorsCheck');

    ctx.log('restarting the server on the same redis; reading back the cached last ping of each user');
    const server = await ctx.restartServer();
    const pool = new Pool(1);
    ctx.defer(() => pool.close());
    const users = [...expected.keys()];
    const got = await pool.firstEvents(
      { host: '127.0.0.1', port: server.port, api: server.api },
      users.map((u) => subscribePath(server.api, u)),
      3000,
    );
    let matched = 0;
    const bad: string[] = [];
    users.forEach((u, i) => {
      const ok = expected.get(u)!;
      if (got[i] !== null && ok.includes(got[i])) matched++;
      else if (bad.length < 5) bad.push(`${u}: stored ${got[i]} expected ${ok.join(' or ')}`);
    });
    out.storedChecked = users.length;
    out.storedMatched = matched;
    if (bad.length) out.storedMismatches = bad.join('; ');
    return out;
  },
  checks(m) {
    return [
      { name: '≥ 45,000 req/s at 64 connections', pass: num(m, 'rps64') >= 45000, detail: `${text(m, 'rps64')} req/s` },
      { name: 'p99 ≤ 5 ms at 64 connections', pass: num(m, 'p99Ms64') <= 5, detail: `p99 ${text(m, 'p99Ms64')} ms` },
      {
        name: 'every response 200 and last ping stored',
        pass:
          num(m, 'non2xx') === 0 &&
          num(m, 'errors') === 0 &&
          num(m, 'storedMatched') === num(m, 'storedChecked') &&
          num(m, 'storedChecked') > 0,
        detail: `non2xx ${text(m, 'non2xx')}, errors ${text(m, 'errors')}, stored ${text(m, 'storedMatched')}/${text(m, 'storedChecked')}`,
      },
    ];
  },
};
