/**
 * scale: --n streams (100,000 is the target; the clients on the same box) opened as a storm, as a
 * reconnect after a deploy opens them. One stream in ten watches one hot user; the others watch
 * their users ten each (100,000: 10,000 on the hot user, 90,000 on 9,000 users). Reported:
 * - the connect storm: streams answered, how fast, and the kernel's listen-queue counters;
 * - RSS per stream, every server process summed (Redis apart), 5 s and SETTLE seconds after
 *   connecting (110 s, as `hold`: after V8's memory reducer has run);
 * - reach-all: 5 pings, one a second, to the hot user, each timed until its last watcher has it;
 * - fan-out: 2,000 pings at 500/s over the ten-watcher users, latency p50/p99 and CPU per delivery;
 * - errors: streams refused or unanswered, pings refused, deliveries lost, doubled or out of
 *   order, streams dropped; 0 is the target.
 * The open-file limit here is 20,000 per process: the servers run as `processes(n)` processes on
 * one port (heartbeat and the floor: that many processes with WORKERS=1, SO_REUSEPORT; nchan: that
 * many nginx workers), the clients as workers of at most 7,500 streams each, on their own 127.0.0.x
 * source addresses. docs/scaling.md, "100,000 streams on one box".
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Pool, type ConnectResult } from '../client/pool.js';
import { Pinger } from '../client/pinger.js';
import { cpuSplit, settledRss, sleep, startupSettledRss } from '../server-proc.js';
import { waitDelivered } from './util.js';
import { num, round, text, type Scenario } from './types.js';

/** Streams per server process: under the 20,000 open files with room for the kernel's uneven spread. */
const STREAMS_PER_PROCESS = 17_000;
const HOT_SHARE = 10;
const WATCHERS = 10;
const REACH_PINGS = 5;
const FANOUT_PINGS = 2_000;
const FANOUT_RATE = 500;
const CONNECT_TIMEOUT_MS = 60_000;
const SETTLE_MS = Number(process.env.BENCH_SCALE_SETTLE_SECONDS ?? 110) * 1000;
const COUNTERS = ['TcpExtListenOverflows', 'TcpExtSyncookiesSent', 'TcpExtSyncookiesFailed'];

/** Server processes (heartbeat, floor) or nginx workers (nchan) for n streams. */
const processesFor = (n: number): number => Math.max(2, Math.ceil(n / STREAMS_PER_PROCESS));

/** The listen-queue counters of this network namespace (the whole machine's). */
function kernelCounters(): Record<string, number> {
  const out: Record<string, number> = {};
  try {
    for (const line of execFileSync('nstat', ['-az', ...COUNTERS], { encoding: 'utf8' }).split('\n')) {
      const [name, value] = line.trim().split(/\s+/);
      if (COUNTERS.includes(name)) out[name.replace(/^TcpExt/, 'kernel')] = Number(value);
    }
  } catch {
    // no nstat (iproute2): the counters are left out
  }
  return out;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)] : NaN;
}

function mergedReasons(...rs: ConnectResult[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of rs) for (const [k, v] of Object.entries(r.reasons)) out[k] = (out[k] ?? 0) + v;
  return out;
}

export const scale: Scenario = {
  name: 'scale',
  maxN: 100_000,
  onlyByName: true,
  processes: (o) => processesFor(o.n),
  budgetMs: (o) => 240_000 + SETTLE_MS + o.n * 3,
  headline: [
    'processes',
    'connected',
    'failed',
    'connectSec',
    'connPerSec',
    'answerP99Ms',
    'answerMaxMs',
    'kernelListenOverflows',
    'bytesPerStreamSettled',
    'bytesPerStream5s',
    'rssSettledKiB',
    'reachAllP50Ms',
    'reachAllMaxMs',
    'fanoutP50Ms',
    'fanoutP99Ms',
    'cpuUsPerDeliveryFanout',
    'cpuUsPerDeliveryHot',
    'errors',
  ],
  async run(ctx) {
    const { n } = ctx.opts;
    const hotN = Math.round(n / HOT_SHARE);
    const mainN = n - hotN;
    const users = Math.ceil(mainN / WATCHERS);
    const t = { host: '127.0.0.1', port: ctx.server.port, api: ctx.server.api };
    const pid = ctx.server.pid;
    const main = Pool.forSockets(mainN);
    const hot = Pool.forSockets(hotN);
    ctx.defer(() => Promise.all([main.close(), hot.close()]));
    const rss0 = await startupSettledRss(ctx.server);
    const k0 = kernelCounters();
    const cpu0 = cpuSplit(pid);
    ctx.log(`storm: ${mainN} streams over ${users} users and ${hotN} on one user, ${main.size + hot.size} client processes`);
    // concurrency = the whole share: each client process opens all its streams at once.
    const [m, h] = await Promise.all([
      main.connect(t, mainN, { users, concurrency: mainN, timeoutMs: CONNECT_TIMEOUT_MS }),
      hot.connect(t, hotN, { users: 1, userPrefix: 'hot', concurrency: hotN, timeoutMs: CONNECT_TIMEOUT_MS, trackSeqs: REACH_PINGS }),
    ]);
    const cpu1 = cpuSplit(pid);
    const k1 = kernelCounters();
    const connected = m.ok + h.ok;
    const failed = m.failed + h.failed;
    const connectMs = Math.max(m.ms, h.ms);
    ctx.log(`connected ${connected}, failed ${failed} in ${round(connectMs / 1000)} s; settling ${SETTLE_MS / 1000} s`);
    const at5s = await settledRss(pid, 3000, 3, 1000);
    const settled = await settledRss(pid, Math.max(0, SETTLE_MS - 5000), 1, 0);
    const perStream = (kib: number) => round(((kib - rss0) * 1024) / Math.max(1, connected), 0);

    const pinger = new Pinger(t.host, t.port, 32, t.api);
    ctx.defer(() => pinger.close());
    // Reach-all: warm the path, then one ping a second to the hot user.
    await pinger.paced(2, 1, 1, 'hot', 'w');
    await sleep(2000);
    hot.reset();
    const okReach = pinger.okCount;
    const cpu2 = cpuSplit(pid);
    ctx.log(`${REACH_PINGS} pings, one a second, to the user with ${h.ok} watchers`);
    await pinger.paced(REACH_PINGS, 1, 1, 'hot');
    const hs = await waitDelivered(hot, REACH_PINGS, h.ok * REACH_PINGS, 30_000, 5000);
    const cpu3 = cpuSplit(pid);
    const reach: number[] = [];
    for (let s = 1; s <= REACH_PINGS; s++) if (h.ok > 0 && hs.seqCount[s] === h.ok) reach.push(hs.seqMax[s]);
    const reachErrors = REACH_PINGS - (pinger.okCount - okReach);

    // Fan-out: a second of unmeasured pings, then 2,000 at 500/s over the ten-watcher users.
    await pinger.paced(FANOUT_RATE, FANOUT_RATE, users, 'u', 'w');
    await sleep(2000);
    main.reset();
    const okFan = pinger.okCount;
    const cpu4 = cpuSplit(pid);
    ctx.log(`${FANOUT_PINGS} pings at ${FANOUT_RATE}/s over ${users} users with ${WATCHERS} watchers each`);
    await pinger.paced(FANOUT_PINGS, FANOUT_RATE, users);
    const ms = await waitDelivered(main, FANOUT_PINGS, 'auto', 30_000, 3000);
    const cpu5 = cpuSplit(pid);
    const fanErrors = FANOUT_PINGS - (pinger.okCount - okFan);
    const lat = ms.hist.summary();
    const cpuOf = (a: { user: number; sys: number }, b: { user: number; sys: number }) => b.user + b.sys - a.user - a.sys;
    const usPer = (cpu: number, deliveries: number) => round((cpu * 1000) / Math.max(1, deliveries), 2);
    const errors =
      failed +
      reachErrors +
      fanErrors +
      (h.ok * REACH_PINGS - hs.delivered) +
      (ms.expected - ms.delivered) +
      hs.dups +
      hs.gaps +
      ms.dups +
      ms.gaps +
      ms.dropped +
      hs.dropped;
    const kernel = Object.fromEntries(Object.keys(k1).map((k) => [k, k1[k] - (k0[k] ?? 0)]));
    return {
      n,
      processes: processesFor(n),
      users: users + 1,
      hotWatchers: h.ok,
      connected,
      failed,
      failReasons: mergedReasons(m, h),
      connectSec: round(connectMs / 1000),
      connPerSec: round(connected / (connectMs / 1000), 0),
      answerP50Ms: m.ttfc.p50,
      answerP99Ms: Math.max(m.ttfc.p99, h.ttfc.p99),
      answerMaxMs: Math.max(m.ttfc.max, h.ttfc.max),
      serverCpuConnectMs: round(cpuOf(cpu0, cpu1), 0),
      serverCpuUsPerConnect: usPer(cpuOf(cpu0, cpu1), connected),
      ...kernel,
      // what caps every accept queue (heartbeat's LISTEN_BACKLOG, the floor's, nginx's 511)
      somaxconn: Number(readFileSync('/proc/sys/net/core/somaxconn', 'utf8').trim()),
      rssStartKiB: rss0,
      rss5sKiB: at5s.last,
      rssSettledKiB: settled.last,
      bytesPerStream5s: perStream(at5s.last),
      bytesPerStreamSettled: perStream(settled.last),
      settleSec: SETTLE_MS / 1000,
      reachPings: REACH_PINGS,
      pingsReachingAll: reach.length,
      reachAllP50Ms: round(median(reach), 1),
      reachAllMaxMs: round(reach.length ? Math.max(...reach) : NaN, 1),
      cpuUsPerDeliveryHot: usPer(cpuOf(cpu2, cpu3), hs.delivered),
      fanoutPings: FANOUT_PINGS,
      fanoutDelivered: ms.delivered,
      fanoutExpected: ms.expected,
      fanoutP50Ms: lat.p50,
      fanoutP99Ms: lat.p99,
      fanoutMaxMs: lat.max,
      cpuUsPerDeliveryFanout: usPer(cpuOf(cpu4, cpu5), ms.delivered),
      pingErrorKinds: pinger.errors,
      clientLoopDelayP99Ms: round(Math.max(ms.loopDelayP99Ms, hs.loopDelayP99Ms), 1),
      errors,
    };
  },
  checks(m, o) {
    return [
      {
        name: `every one of ${o.n} streams established and answered (storm, ${CONNECT_TIMEOUT_MS / 1000} s each)`,
        pass: num(m, 'connected') === o.n,
        detail: `${text(m, 'connected')} answered, ${text(m, 'failed')} not: ${text(m, 'failReasons')}`,
      },
      {
        name: `every ping reached every watcher once, in order (reach-all ${REACH_PINGS}, fan-out ${FANOUT_PINGS})`,
        pass: num(m, 'pingsReachingAll') === REACH_PINGS && num(m, 'fanoutDelivered') === num(m, 'fanoutExpected'),
        detail: `${text(m, 'pingsReachingAll')}/${REACH_PINGS} reached all; fan-out ${text(m, 'fanoutDelivered')}/${text(m, 'fanoutExpected')}`,
      },
      { name: '0 errors', pass: num(m, 'errors') === 0, detail: `${text(m, 'errors')} (ping errors: ${text(m, 'pingErrorKinds')})` },
    ];
  },
};
