/** fanout: N streams over N/10 users, 1,000 pings/s for 3 s; exactly-once, order, latency. */
import { Pool, slowSpots } from '../client/pool.js';
import { Pinger } from '../client/pinger.js';
import { Histogram } from '../client/histogram.js';
import { cpuMs, sleep } from '../server-proc.js';
import { waitDelivered } from './util.js';
import { num, round, text, type Scenario } from './types.js';

const RATE = 1000;
const SECONDS = 3;

export const fanout: Scenario = {
  name: 'fanout',
  budgetMs: (o) => 90_000 + o.n * 4,
  headline: [
    'connected',
    'failed',
    'pings',
    'delivered',
    'expected',
    'exactOnceInOrderSubs',
    'dups',
    'gaps',
    'p50Ms',
    'p99Ms',
    'maxMs',
    'serverCpuMs',
    'pingAckP99Ms',
    'pingAckMaxMs',
    'clientLoopDelayP99Ms',
    'clientLoopDelayMaxMs',
    'pingErrors',
  ],
  async run(ctx) {
    const { n } = ctx.opts;
    const users = Math.max(1, Math.round(n / 10));
    const pings = RATE * SECONDS;
    const t = { host: '127.0.0.1', port: ctx.server.port, api: ctx.server.api };
    const pool = Pool.forSockets(n);
    ctx.defer(() => pool.close());
    // every 5th subscriber uses /subscribe/:userid/client/c1 (pings carry clientid c1)
    const conn = await pool.connect(t, n, { users, clientEvery: 5 });
    ctx.log(`connected ${conn.ok}, failed ${conn.failed}; warm-up (1 s at the same rate, not measured)`);
    const pinger = new Pinger(t.host, t.port, 32, t.api);
    ctx.defer(() => pinger.close());
    await pinger.paced(RATE, RATE, users, 'u', 'w');
    await sleep(2000);
    pool.reset();
    pinger.ack = new Histogram();
    const okBefore = pinger.okCount;
    await ctx.profileWindow(true);
    const cpu0 = cpuMs(ctx.server.pid);
    ctx.log(`${pings} pings at ${RATE}/s over ${users} users`);
    const sent = await pinger.paced(pings, RATE, users);
    const st = await waitDelivered(pool, pings, 'auto', 15_000, 3000);
    const cpu1 = cpuMs(ctx.server.pid);
    await ctx.profileWindow(false);
    const lat = st.hist.summary();
    return {
      n,
      users,
      connected: conn.ok,
      failed: conn.failed,
      failReasons: conn.reasons,
      pings,
      warmupPings: RATE,
      pingsOk: pinger.okCount - okBefore,
      pingErrors: pings - (pinger.okCount - okBefore),
      pingErrorKinds: pinger.errors,
      sendSec: round(sent.ms / 1000),
      senderLagMaxMs: round(sent.lagMaxMs),
      delivered: st.delivered,
      expected: st.expected,
      deliveredPct: round((100 * st.delivered) / Math.max(1, st.expected), 3),
      exactOnceInOrderSubs: st.complete,
      subs: st.complete + st.incomplete,
      dups: st.dups,
      gaps: st.gaps,
      other: st.other,
      dropped: st.dropped,
      p50Ms: lat.p50,
      p99Ms: lat.p99,
      maxMs: lat.max,
      clientLoopDelayP99Ms: round(st.loopDelayP99Ms, 1),
      clientLoopDelayMaxMs: round(st.loopDelayMaxMs, 1),
      // [s since first ping, worst ms] of 100 ms windows whose worst latency exceeded 3 ms
      slowWindows: JSON.stringify(slowSpots(st.timeline, 3)),
      serverCpuMs: round(cpu1 - cpu0, 0),
      // POST /ping alone (send → 200): separates the store path from the fan-out
      pingAckP50Ms: pinger.ack.summary().p50,
      pingAckP99Ms: pinger.ack.summary().p99,
      pingAckMaxMs: pinger.ack.summary().max,
    };
  },
  checks(m, o) {
    const all =
      num(m, 'connected') === o.n &&
      num(m, 'pingErrors') === 0 &&
      num(m, 'delivered') === num(m, 'expected') &&
      num(m, 'exactOnceInOrderSubs') === o.n &&
      num(m, 'dups') === 0 &&
      num(m, 'gaps') === 0;
    return [
      {
        name: '100% delivered exactly once, in order',
        pass: all,
        detail: `${text(m, 'delivered')}/${text(m, 'expected')}, ${text(m, 'exactOnceInOrderSubs')}/${o.n} subs complete`,
      },
      { name: 'p99 ≤ 3 ms', pass: num(m, 'p99Ms') <= 3, detail: `p99 ${text(m, 'p99Ms')} ms` },
    ];
  },
};
