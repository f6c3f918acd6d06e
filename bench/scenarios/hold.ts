/** hold: N idle streams (one user each); RSS per connection idle and after one ping to each user. */
import { Pool } from '../client/pool.js';
import { Pinger } from '../client/pinger.js';
import { cpuMs, settledRss, startupSettledRss, type MemSnapshot } from '../server-proc.js';
import { waitDelivered } from './util.js';
import { num, round, text, type Scenario } from './types.js';

const LIMIT_BYTES = 5 * 1024;
/**
 * Idle streams are held for hours, so the target is checked on the RSS after SETTLED_MS of idling,
 * once V8's memory reducer has compacted the heap and shrunk the young generation the connect
 * burst grew. When the process looks idle it runs ~8 s after the burst's last full GC; when the
 * keepalives' allocations make it look busy, V8 still runs it once 100 s have passed since the last
 * full GC (memory-reducer.cc: kLongDelayMs 8 s, kWatchdogDelayMs 100 s). Measured here: at 60 s
 * it had run in some runs and not in others (ours at 15,000: 5.9 KB in one run, 9.2–9.6 KB in
 * two), so the figure is taken at 110 s. The samples every 5 s are in the JSON
 * (rssSettledSamplesKiB); the figures 5 s and 60 s after connecting are reported too.
 */
const SETTLED_MS = 110_000;
const SAMPLE_MS = 5_000;
/** When bytesPerConn60s is read: what the target was checked on before SETTLED_MS was raised. */
const EARLY_MS = 60_000;

function perStream(a: MemSnapshot, b: MemSnapshot, n: number): Record<string, number> {
  const per = (k: keyof MemSnapshot) => round((b[k] - a[k]) / Math.max(1, n), 0);
  return {
    gcRssPerConn: per('rss'),
    gcHeapTotalPerConn: per('heapTotal'),
    gcHeapUsedPerConn: per('heapUsed'),
    gcExternalPerConn: per('external'),
    gcArrayBuffersPerConn: per('arrayBuffers'),
    gcMallocedPerConn: per('mallocedMemory'),
  };
}

export const hold: Scenario = {
  name: 'hold',
  budgetMs: (o) => 180_000 + o.n * 6,
  headline: [
    'connected',
    'failed',
    'connectSec',
    'bytesPerConnSettled',
    'bytesPerConn60s',
    'bytesPerConnIdle',
    'bytesPerConnAfterPing',
    'rssStartKiB',
    'rssIdleKiB',
    'rssSettledKiB',
    'rssAfterPingKiB',
    'serverCpuConnectMs',
    'pingDelivered',
    'exactOnce',
    'dropped',
  ],
  async run(ctx) {
    const { n } = ctx.opts;
    const t = { host: '127.0.0.1', port: ctx.server.port, api: ctx.server.api };
    const pid = ctx.server.pid;
    const pool = Pool.forSockets(n);
    ctx.defer(() => pool.close());
    const rss0 = await startupSettledRss(ctx.server);
    const mem0 = await ctx.memSnapshot();
    await ctx.profileWindow(true);
    const cpu0 = cpuMs(pid);
    ctx.log(`connecting ${n} streams with ${pool.size} workers`);
    const conn = await pool.connect(t, n, { users: n });
    const cpu1 = cpuMs(pid);
    await ctx.profileWindow(false);
    ctx.log(`connected ${conn.ok}, failed ${conn.failed} in ${round(conn.ms / 1000)} s; settling`);
    const idle = await settledRss(pid, 3000, 3, 1000);
    const mem1 = await ctx.memSnapshot();
    ctx.log(`holding the idle streams until ${SETTLED_MS / 1000} s after connecting`);
    // idle.last was read ~5 s after connecting; then one sample every SAMPLE_MS until SETTLED_MS.
    const settled = await settledRss(pid, SAMPLE_MS, (SETTLED_MS - 5_000) / SAMPLE_MS, SAMPLE_MS);
    const at60 = settled.samples[(EARLY_MS - 5_000) / SAMPLE_MS - 1];

    const pinger = new Pinger(t.host, t.port, 64, t.api);
    ctx.defer(() => pinger.close());
    ctx.log(`one ping to each of ${n} users`);
    await pinger.burst(n, n, 64);
    const st = await waitDelivered(pool, n, conn.ok, 30_000);
    const after = await settledRss(pid, 3000, 3, 1000);
    return {
      n,
      connected: conn.ok,
      failed: conn.failed,
      failReasons: conn.reasons,
      connectSec: round(conn.ms / 1000),
      connPerSec: round(conn.ok / (conn.ms / 1000), 0),
      ttfcP50Ms: conn.ttfc.p50,
      ttfcP99Ms: conn.ttfc.p99,
      rssStartKiB: rss0,
      rssIdleKiB: idle.last,
      rssAfterPingKiB: after.last,
      rssSettledKiB: settled.last,
      rssSettledSamplesKiB: settled.samples.join(' '),
      bytesPerConnIdle: round(((idle.last - rss0) * 1024) / Math.max(1, conn.ok), 0),
      bytesPerConnSettled: round(((settled.last - rss0) * 1024) / Math.max(1, conn.ok), 0),
      bytesPerConn60s: round(((at60 - rss0) * 1024) / Math.max(1, conn.ok), 0),
      bytesPerConnAfterPing: round(((after.last - rss0) * 1024) / Math.max(1, conn.ok), 0),
      serverCpuConnectMs: round(cpu1 - cpu0, 0),
      // --profile only: where the idle-stream memory sits, per stream, after a full GC
      ...(mem0 && mem1 ? perStream(mem0, mem1, conn.ok) : {}),
      pingsOk: pinger.okCount,
      pingErrors: pinger.errors,
      pingDelivered: st.delivered,
      pingExpected: conn.ok,
      exactOnce: st.complete,
      dups: st.dups,
      dropped: st.dropped,
      pingLatencyP50Ms: st.hist.summary().p50,
      pingLatencyP99Ms: st.hist.summary().p99,
    };
  },
  checks(m, o) {
    const b = num(m, 'bytesPerConnSettled');
    return [
      {
        name: `RSS per idle stream ≤ 5 KiB at ${o.n} (after ${SETTLED_MS / 1000} s idle)`,
        pass: b <= LIMIT_BYTES,
        detail: `${b} B/stream (${text(m, 'bytesPerConn60s')} B 60 s and ${text(m, 'bytesPerConnIdle')} B 5 s after connecting)`,
      },
      { name: `0 failed of ${o.n}`, pass: num(m, 'failed') === 0 && num(m, 'connected') === o.n, detail: `${text(m, 'failed')} failed` },
    ];
  },
};
