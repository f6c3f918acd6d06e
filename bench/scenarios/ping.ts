/**
 * ping: POST /ping throughput and latency with autocannon at 64 and 256
 * keep-alive connections (no subscribers), then a persistence check: the
 * server is restarted on the same Redis and the cached last ping of every
 * user written during the run is read back through GET /subscribe.
 */
import autocannon from 'autocannon';
import { Pool } from '../client/pool.js';
import { cpuMs, type Proc, type Server } from '../server-proc.js';
import { num, round, type Metrics, type Scenario } from './types.js';

const SECONDS = 5;
const USERS_PER_CONN = 2;

interface Track {
  lastSent: Map<string, string>;
  lastAcked: Map<string, string>;
}

async function blast(server: Server, redis: Proc, connections: number, tag: string, tr: Track): Promise<Metrics> {
  let clientNo = 0;
  const cpu0 = cpuMs(server.pid);
  const r0 = cpuMs(redis.pid);
  const c0 = process.cpuUsage();
  const r = await autocannon({
    url: `http://127.0.0.1:${server.port}`,
    connections,
    duration: SECONDS,
    timeout: 5,
    setupClient(client: { setRequests(r: unknown[]): void }) {
      const c = clientNo++;
      let k = 0;
      let inflight: [string, string] | null = null;
      client.setRequests([
        {
          method: 'POST',
          path: '/ping',
          setupRequest(req: Record<string, unknown>) {
            const user = `${tag}-${c}-${k % USERS_PER_CONN}`;
            const status = `a:${c}:${k++}`;
            req.headers = { 'content-type': 'text/plain', 'x-user-claim': `{"userid":"${user}","clientid":"c1"}` };
            req.body = `{"status":"${status}"}`;
            tr.lastSent.set(user, status);
            inflight = [user, status];
            return req;
          },
          onResponse(code: number) {
            if (code === 200 && inflight) tr.lastAcked.set(inflight[0], inflight[1]);
          },
        },
      ]);
    },
  });
  const cpu1 = cpuMs(server.pid);
  const r1 = cpuMs(redis.pid);
  const cc = process.cpuUsage(c0);
  const total = r['2xx'] + r.non2xx;
  return {
    connections,
    rps: round(r.requests.average, 0),
    requests: total,
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    maxMs: r.latency.max,
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    serverCpuPct: round(((cpu1 - cpu0) / (r.duration * 1000)) * 100, 0),
    redisCpuPct: round(((r1 - r0) / (r.duration * 1000)) * 100, 0),
    loadgenCpuPct: round(((cc.user + cc.system) / 1000 / (r.duration * 1000)) * 100, 0),
  };
}

export const ping: Scenario = {
  name: 'ping',
  budgetMs: () => 120_000,
  headline: ['rps64', 'p50Ms64', 'p99Ms64', 'rps256', 'p50Ms256', 'p99Ms256', 'non2xx', 'errors', 'storedChecked', 'storedMatched', 'serverCpuPct64', 'redisCpuPct64', 'loadgenCpuPct64'],
  async run(ctx) {
    const tr: Track = { lastSent: new Map(), lastAcked: new Map() };
    const out: Metrics = {};
    for (const c of [64, 256]) {
      ctx.log(`autocannon ${c} connections, ${SECONDS} s`);
      await ctx.profileWindow(c === 64);
      const m = await blast(ctx.server, ctx.redis, c, `p${c}`, tr);
      for (const [k, v] of Object.entries(m)) if (k !== 'connections') out[`${k}${c}`] = v;
    }
    await ctx.profileWindow(false);
    out.non2xx = num(out, 'non2xx64') + num(out, 'non2xx256');
    out.errors = num(out, 'errors64') + num(out, 'errors256');

    ctx.log('restarting the server on the same redis; reading back the cached last ping of each user');
    const server = await ctx.restartServer();
    const pool = new Pool(1);
    ctx.defer(() => pool.close());
    const users = [...tr.lastSent.keys()];
    const got = await pool.firstEvents({ host: '127.0.0.1', port: server.port }, users.map((u) => `/subscribe/${u}`), 3000);
    let matched = 0;
    const bad: string[] = [];
    users.forEach((u, i) => {
      const s = got[i];
      // the last ping of a connection may have been cut off at the end of the run: either value is fine
      if (s !== null && (s === tr.lastAcked.get(u) || s === tr.lastSent.get(u))) matched++;
      else if (bad.length < 5) bad.push(`${u}: stored ${s} acked ${tr.lastAcked.get(u)} sent ${tr.lastSent.get(u)}`);
    });
    out.storedChecked = users.length;
    out.storedMatched = matched;
    if (bad.length) out.storedMismatches = bad.join('; ');
    return out;
  },
  checks(m) {
    return [
      { name: '≥ 45,000 req/s at 64 connections', pass: num(m, 'rps64') >= 45000, detail: `${m.rps64} req/s` },
      { name: 'p99 ≤ 5 ms at 64 connections', pass: num(m, 'p99Ms64') <= 5, detail: `p99 ${m.p99Ms64} ms` },
      {
        name: 'every response 200 and last ping stored',
        pass: num(m, 'non2xx') === 0 && num(m, 'errors') === 0 && num(m, 'storedMatched') === num(m, 'storedChecked') && num(m, 'storedChecked') > 0,
        detail: `non2xx ${m.non2xx}, errors ${m.errors}, stored ${m.storedMatched}/${m.storedChecked}`,
      },
    ];
  },
};
