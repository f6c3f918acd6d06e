/**
 * hot: N streams of one user, 50 pings at 5/s; time to reach all, server CPU per delivery.
 * `BENCH_HOT_RATE` changes the rate (a probe: at 2/s each fan-out ends before the next ping, at 5/s
 * a server whose fan-out nearly fills the 200 ms between pings starts each one behind the last).
 */
import { Pool } from '../client/pool.js';
import { Pinger } from '../client/pinger.js';
import { Histogram } from '../client/histogram.js';
import { cpuSplit, sleep } from '../server-proc.js';
import { waitDelivered } from './util.js';
import { num, round, text, type Scenario } from './types.js';

const PINGS = 50;
const RATE = Number(process.env.BENCH_HOT_RATE ?? 5);
const WARMUP = 5;

function median(xs: number[]): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

export const hot: Scenario = {
  name: 'hot',
  budgetMs: (o) => 120_000 + o.n * 4,
  headline: [
    'connected',
    'failed',
    'delivered',
    'expected',
    'pingsReachingAll',
    'reachAllP50Ms',
    'reachAllMaxMs',
    'cpuUsPerDelivery',
    'userUsPerDelivery',
    'sysUsPerDelivery',
    'serverCpuMs',
    'p50Ms',
    'p99Ms',
  ],
  async run(ctx) {
    const { n } = ctx.opts;
    const t = { host: '127.0.0.1', port: ctx.server.port, api: ctx.server.api };
    const pool = Pool.forSockets(n);
    ctx.defer(() => pool.close());
    const conn = await pool.connect(t, n, { users: 1, trackSeqs: PINGS });
    ctx.log(`connected ${conn.ok}, failed ${conn.failed}; warm-up (${WARMUP} pings, not measured)`);
    const pinger = new Pinger(t.host, t.port, 4, t.api);
    ctx.defer(() => pinger.close());
    await pinger.paced(WARMUP, RATE, 1, 'u', 'w');
    await sleep(3000);
    pool.reset();
    pinger.ack = new Histogram();
    const okBefore = pinger.okCount;
    await ctx.profileWindow(true);
    const cpu0 = cpuSplit(ctx.server.pid);
    ctx.log(`${PINGS} pings at ${RATE}/s to one user with ${conn.ok} subscribers`);
    await pinger.paced(PINGS, RATE, 1);
    const st = await waitDelivered(pool, PINGS, conn.ok * PINGS, 30_000, 5000);
    const cpu1 = cpuSplit(ctx.server.pid);
    await ctx.profileWindow(false);
    const reach: number[] = [];
    for (let s = 1; s <= PINGS; s++) if (st.seqCount[s] === conn.ok && conn.ok > 0) reach.push(st.seqMax[s]);
    const lat = st.hist.summary();
    const user = cpu1.user - cpu0.user;
    const sys = cpu1.sys - cpu0.sys;
    const cpu = user + sys;
    const per = (x: number) => round((x * 1000) / Math.max(1, st.delivered), 2);
    return {
      n,
      connected: conn.ok,
      failed: conn.failed,
      failReasons: conn.reasons,
      pings: PINGS,
      warmupPings: WARMUP,
      pingErrors: PINGS - (pinger.okCount - okBefore),
      delivered: st.delivered,
      expected: conn.ok * PINGS,
      exactOnceInOrderSubs: st.complete,
      dups: st.dups,
      gaps: st.gaps,
      dropped: st.dropped,
      pingsReachingAll: reach.length,
      reachAllP50Ms: round(median(reach), 1),
      reachAllMaxMs: round(reach.length ? Math.max(...reach) : NaN, 1),
      serverCpuMs: round(cpu, 0),
      cpuUsPerDelivery: per(cpu),
      userUsPerDelivery: per(user),
      sysUsPerDelivery: per(sys),
      p50Ms: lat.p50,
      p99Ms: lat.p99,
      maxMs: lat.max,
      // POST /ping alone (send → answer): how long the server's event loop kept a request waiting
      pingAckP50Ms: pinger.ack.summary().p50,
      pingAckMaxMs: pinger.ack.summary().max,
      clientLoopDelayP99Ms: round(st.loopDelayP99Ms, 1),
      clientLoopDelayMaxMs: round(st.loopDelayMaxMs, 1),
    };
  },
  checks(m, o) {
    return [
      { name: '≤ 10 µs server CPU per delivery', pass: num(m, 'cpuUsPerDelivery') <= 10, detail: `${text(m, 'cpuUsPerDelivery')} µs` },
      {
        name: `every ping reaches all ${o.n}`,
        pass: num(m, 'connected') === o.n && num(m, 'pingsReachingAll') === PINGS,
        detail: `${text(m, 'pingsReachingAll')}/${PINGS} pings reached all ${text(m, 'connected')}`,
      },
    ];
  },
};
