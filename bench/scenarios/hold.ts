/** hold: N idle streams (one user each); RSS per connection idle and after one ping to each user. */
import { Pool } from '../client/pool.js';
import { Pinger } from '../client/pinger.js';
import { cpuMs, settledRss, startupSettledRss, type MemSnapshot } from '../server-proc.js';
import { waitDelivered } from './util.js';
import { num, round, type Scenario } from './types.js';

const LIMIT_BYTES = 5 * 1024;
/**
 * Idle streams are held for hours, so the target is checked on the RSS after SETTLED_MS of idling:
 * by then V8's memory reducer has run (it waits ~8 s after the last allocation burst, then
 * compacts and shrinks the young generation; measured here: it finishes 25–50 s after the
 * connect burst; a 50 s settle sometimes measured just before it: 7.9 instead of 5.6 KB per stream).
 * The RSS a few seconds after connecting is reported too (bytesPerConnIdle).
 */
const SETTLED_MS = 60_000;

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
  budgetMs: (o) => 120_000 + o.n * 6,
  headline: [
    'connected',
    'failed',
    'connectSec',
    'bytesPerConnSettled',
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
    const t = { host: '127.0.0.1', port: ctx.server.port };
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
    const settled = await settledRss(pid, Math.max(0, SETTLED_MS - 5000 - 10_000), 3, 5000);

    const pinger = new Pinger(t.host, t.port, 64);
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
        detail: `${b} B/stream (${m.bytesPerConnIdle} B 5 s after connecting)`,
      },
      { name: `0 failed of ${o.n}`, pass: num(m, 'failed') === 0 && num(m, 'connected') === o.n, detail: `${m.failed} failed` },
    ];
  },
};
