/**
 * fanout: N streams over N/10 users, 1,000 pings/s; exactly-once, order, latency.
 *
 * Measured twice on the same streams. First 3 s after 1 s of pings and a 2 s pause (the window
 * every round up to round 3 measured), reported apart as `…Cold`: a JIT-compiled server is still
 * compiling its hot paths there (BENCHMARKS.md, `fanout`). Then 10 s after WARM_SECONDS of pings
 * in all, on a warm server, as a server in service runs: the headline figures. The longer window
 * makes its p99 an average over many short stalls instead of a draw of two or three. nchan gets
 * the same pings. Every ping of both windows must reach every subscriber exactly once, in order.
 */
import { Pool, slowSpots, type Stats } from '../client/pool.js';
import { Pinger } from '../client/pinger.js';
import { Histogram } from '../client/histogram.js';
import { cpuMs, sleep } from '../server-proc.js';
import { waitDelivered } from './util.js';
import { num, round, text, type Scenario } from './types.js';

const RATE = 1000;
const COLD_SECONDS = 3;
const SECONDS = 10;
/** Seconds of pings before the measured window, the cold window's included. */
const WARM_SECONDS = 10;

/** What a window's subscribers saw, counted over all of them (`complete`: subscribers that got every ping once, in order). */
type Seen = Pick<Stats, 'delivered' | 'expected' | 'complete' | 'dups' | 'gaps'>;

/** Every ping reached every one of `subs` subscribers exactly once, in order. */
function exactlyOnceInOrder(seen: Seen, subs: number): boolean {
  return seen.delivered === seen.expected && seen.complete === subs && seen.dups === 0 && seen.gaps === 0;
}

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
    'p99MsCold',
    'pingAckP99MsCold',
  ],
  async run(ctx) {
    const { n } = ctx.opts;
    const users = Math.max(1, Math.round(n / 10));
    const pings = RATE * SECONDS;
    const coldPings = RATE * COLD_SECONDS;
    const t = { host: '127.0.0.1', port: ctx.server.port, api: ctx.server.api };
    const pool = Pool.forSockets(n);
    ctx.defer(() => pool.close());
    // every 5th subscriber uses /subscribe/:userid/client/c1 (pings carry clientid c1)
    const conn = await pool.connect(t, n, { users, clientEvery: 5 });
    const pinger = new Pinger(t.host, t.port, 32, t.api);
    ctx.defer(() => pinger.close());

    /** One window: `pings` tagged pings at RATE, then what the subscribers saw of them; `--profile` profiles the measured one. */
    const measure = async (label: string, pings: number, profiled: boolean) => {
      pool.reset();
      pinger.ack = new Histogram();
      const okBefore = pinger.okCount;
      if (profiled) await ctx.profileWindow(true);
      const cpu0 = cpuMs(ctx.server.pid);
      ctx.log(`${label}: ${pings} pings at ${RATE}/s over ${users} users`);
      const sent = await pinger.paced(pings, RATE, users);
      const st = await waitDelivered(pool, pings, 'auto', 15_000, 3000);
      const cpu1 = cpuMs(ctx.server.pid);
      if (profiled) await ctx.profileWindow(false);
      return { sent, st, lat: st.hist.summary(), ack: pinger.ack.summary(), ok: pinger.okCount - okBefore, cpuMs: cpu1 - cpu0 };
    };
    /** Unmeasured pings ('w', which subscribers count as other), then a pause for the queues to empty. */
    const warmUp = async (seconds: number) => {
      await pinger.paced(RATE * seconds, RATE, users, 'u', 'w');
      await sleep(2000);
    };

    ctx.log(`connected ${conn.ok}, failed ${conn.failed}; warm-up (1 s at the same rate, not measured)`);
    await warmUp(1);
    const cold = await measure('cold window', coldPings, false);
    await warmUp(WARM_SECONDS - 1 - COLD_SECONDS);
    const { sent, st, lat, ack, ok, cpuMs: serverCpuMs } = await measure('measured window', pings, true);
    return {
      n,
      users,
      connected: conn.ok,
      failed: conn.failed,
      failReasons: conn.reasons,
      pings,
      warmupPings: RATE * WARM_SECONDS,
      pingsOk: ok,
      pingErrors: pings - ok,
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
      serverCpuMs: round(serverCpuMs, 0),
      // POST /ping alone (send → 200): separates the store path from the fan-out
      pingAckP50Ms: ack.p50,
      pingAckP99Ms: ack.p99,
      pingAckMaxMs: ack.max,
      // the cold window: 3 s after 1 s of pings
      p50MsCold: cold.lat.p50,
      p99MsCold: cold.lat.p99,
      maxMsCold: cold.lat.max,
      pingAckP99MsCold: cold.ack.p99,
      serverCpuMsCold: round(cold.cpuMs, 0),
      pingErrorsCold: coldPings - cold.ok,
      exactOnceInOrderCold: exactlyOnceInOrder(cold.st, n) ? 1 : 0,
    };
  },
  checks(m, o) {
    const seen: Seen = {
      delivered: num(m, 'delivered'),
      expected: num(m, 'expected'),
      complete: num(m, 'exactOnceInOrderSubs'),
      dups: num(m, 'dups'),
      gaps: num(m, 'gaps'),
    };
    const all =
      num(m, 'connected') === o.n &&
      num(m, 'pingErrors') === 0 &&
      exactlyOnceInOrder(seen, o.n) &&
      num(m, 'pingErrorsCold') === 0 &&
      num(m, 'exactOnceInOrderCold') === 1;
    return [
      {
        name: '100% delivered exactly once, in order',
        pass: all,
        detail: `${text(m, 'delivered')}/${text(m, 'expected')}, ${text(m, 'exactOnceInOrderSubs')}/${o.n} streams complete; cold window ${num(m, 'exactOnceInOrderCold') === 1 ? 'complete' : 'INCOMPLETE'}`,
      },
      { name: 'p99 ≤ 3 ms', pass: num(m, 'p99Ms') <= 3, detail: `p99 ${text(m, 'p99Ms')} ms` },
    ];
  },
};
