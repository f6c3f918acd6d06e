/**
 * Load-generator child process: holds thousands of raw SSE client sockets.
 * Started by pool.ts via child_process.fork; driven by IPC commands (protocol.ts).
 */
import net from 'node:net';
import { performance, monitorEventLoopDelay } from 'node:perf_hooks';
import { feed, SseState, type SseSink } from './sse-parser.js';
import { Histogram } from './histogram.js';
import { subscribePath } from './api.js';
import { benchWatcher } from '../contacts-stand-in.js';
import type { Cmd, ConnectCmd, ChurnCmd, FirstEventCmd, Reply, Target } from './protocol.js';

const now = () => performance.timeOrigin + performance.now();
const send = (m: Reply) => process.send!(m);

const MODE_HOLD = 0;
const MODE_CHURN = 1;
const MODE_FIRST = 2;

class Sub extends SseState {
  sock: net.Socket | null = null;
  mode = MODE_HOLD;
  user = 0;
  idx = 0; // index in caller's list (first-event mode)
  started = 0;
  connected = false;
  closing = false;
  finished = false; // counted as ok/failed already
  lastSeq = 0;
  recv = 0;
  anomalies = 0;
}

type Sock = net.Socket & { _st: Sub };

// ---- shared state -------------------------------------------------------
// this worker's own event-loop delay: shows when the client, not the server, is the bottleneck
const LOOP_RES_MS = 1;
const loopDelay = monitorEventLoopDelay({ resolution: LOOP_RES_MS });
loopDelay.enable();
const held: Sub[] = [];
const pending = new Set<Sub>();
let hist = new Histogram();
let ttfc = new Histogram();
let delivered = 0;
let other = 0;
let dups = 0;
let gaps = 0;
let dropped = 0;
// worst latency per 100 ms of arrival time since the last reset (where do the tails sit?)
const TL_BUCKET_MS = 100;
const TL_LEN = 600;
let timeline = new Float64Array(TL_LEN);
let tl0 = now();
let seqCount: number[] = [];
let seqMax: number[] = [];
let ok = 0;
let failed = 0;
let reasons: Record<string, number> = {};
let onSettled: (() => void) | null = null; // called when a pending connection settles
let firstStatuses: (string | null)[] = [];
let usersTotal = 1;

function reason(r: string): void {
  reasons[r] = (reasons[r] ?? 0) + 1;
}

function settleFail(s: Sub, r: string): void {
  if (s.finished) return;
  s.finished = true;
  pending.delete(s);
  failed++;
  reason(r);
  closeSub(s);
  if (onSettled) onSettled();
}

function settleOk(s: Sub): void {
  if (s.finished) return;
  s.finished = true;
  s.connected = true;
  pending.delete(s);
  ok++;
  ttfc.add(now() - s.started);
  if (s.mode === MODE_CHURN) closeSub(s);
  if (onSettled) onSettled();
}

/** rst: abort with RST (no TIME_WAIT left behind on our source ports) for teardown. */
function closeSub(s: Sub, rst = false): void {
  s.closing = true;
  if (s.sock) {
    if (rst && s.sock.readyState === 'open') s.sock.resetAndDestroy();
    else s.sock.destroy();
    s.sock = null;
  }
}

function parseTag(s: Sub, data: string): void {
  let status: unknown;
  try {
    status = (JSON.parse(data) as { status?: unknown }).status;
  } catch {
    other++;
    return;
  }
  if (typeof status !== 'string' || !status.startsWith('b:')) {
    other++;
    return;
  }
  const c2 = status.indexOf(':', 2);
  const seq = Number(status.slice(2, c2));
  const t = now();
  const lat = t - Number(status.slice(c2 + 1));
  const b = Math.min(TL_LEN - 1, Math.floor((t - tl0) / TL_BUCKET_MS));
  if (lat > timeline[b]) timeline[b] = lat;
  delivered++;
  hist.add(lat);
  s.recv++;
  if (seq === s.lastSeq + 1) s.lastSeq = seq;
  else {
    s.anomalies++;
    if (seq <= s.lastSeq) dups++;
    else {
      gaps += seq - s.lastSeq - 1;
      s.lastSeq = seq;
    }
  }
  if (seq < seqCount.length) {
    seqCount[seq]++;
    if (lat > seqMax[seq]) seqMax[seq] = lat;
  }
}

const sink: SseSink<Sub> = {
  onHeaders(s, status) {
    if (status !== 200) settleFail(s, 'http_' + status);
  },
  onComment(s) {
    if (!s.connected) settleOk(s);
  },
  onRetry() {},
  onEvent(s, data, _id, type) {
    if (!s.connected) settleOk(s);
    if (s.mode === MODE_FIRST) {
      // the replayed ping is a plain message; other event types (e.g. a "ready" marker) are skipped
      if (type !== 'message') return;
      firstStatuses[s.idx] = statusOf(data);
      closeSub(s, true);
      return;
    }
    parseTag(s, data);
  },
  onEnd(s) {
    if (!s.connected) settleFail(s, 'ended');
    else if (!s.closing) {
      dropped++;
      closeSub(s);
    }
  },
  onError(s, msg) {
    if (!s.connected) settleFail(s, 'parse: ' + msg);
    else {
      reason('parse: ' + msg);
      closeSub(s);
    }
  },
};

function statusOf(data: string): string | null {
  try {
    const v = (JSON.parse(data) as { status?: unknown }).status;
    return typeof v === 'string' ? v : null;
  } catch {
    return null;
  }
}

function onData(this: Sock, buf: Buffer): void {
  feed(this._st, buf, sink);
}
function onError(this: Sock, err: NodeJS.ErrnoException): void {
  const s = this._st;
  if (!s.connected) settleFail(s, err.code ?? 'error');
}
function onClose(this: Sock): void {
  const s = this._st;
  s.sock = null;
  if (!s.connected) settleFail(s, 'closed');
  else if (!s.closing) {
    s.closing = true;
    dropped++;
  }
}

let addrRot = 0;
const CLAIMS = process.env.WATCH_POLICY === 'contacts';
let claims = 0;
function open(t: Target, path: string, s: Sub): void {
  const la = t.localAddrs[addrRot++ % t.localAddrs.length];
  const sock = net.connect({ host: t.host, port: t.port, localAddress: la, noDelay: true }) as Sock;
  sock._st = s;
  s.sock = sock;
  s.started = now();
  pending.add(s);
  sock.on('data', onData);
  sock.on('error', onError);
  sock.on('close', onClose);
  // WATCH_POLICY=contacts (bench/contacts-stand-in.ts): a claim whose watcher is new for every stream.
  const claim = CLAIMS ? `X-User-Claim: ${JSON.stringify({ userid: benchWatcher(claims++, path), clientid: 'bench' })}\r\n` : '';
  sock.write(`GET ${path} HTTP/1.1\r\nHost: ${t.host}:${t.port}\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\n${claim}\r\n`);
}

let sweeper: NodeJS.Timeout | null = null;
function startSweeper(timeoutMs: number): void {
  if (sweeper) clearInterval(sweeper);
  sweeper = setInterval(() => {
    const limit = now() - timeoutMs;
    for (const s of pending) if (s.started < limit) settleFail(s, 'timeout');
  }, 250);
}
function stopSweeper(): void {
  if (sweeper) clearInterval(sweeper);
  sweeper = null;
}

function resetCounters(): void {
  ok = 0;
  failed = 0;
  reasons = {};
  ttfc = new Histogram();
}

// ---- commands -----------------------------------------------------------
function connect(c: ConnectCmd): void {
  resetCounters();
  seqCount = new Array<number>(c.trackSeqs + 1).fill(0);
  seqMax = new Array<number>(c.trackSeqs + 1).fill(0);
  const t0 = now();
  let next = 0;
  let inflight = 0;
  startSweeper(c.timeoutMs);
  const pump = () => {
    while (inflight < c.concurrency && next < c.count) {
      const g = c.first + next++;
      const s = new Sub();
      s.user = g % c.users;
      const path = subscribePath(c.api, `${c.userPrefix}${s.user}`, c.clientEvery > 0 && g % c.clientEvery === 0 ? c.clientId : undefined);
      held.push(s);
      inflight++;
      open(c, path, s);
    }
    if (ok + failed === c.count) {
      onSettled = null;
      stopSweeper();
      send({ t: 'connected', ok, failed, reasons, ms: now() - t0, ttfc: ttfc.data() });
    }
  };
  onSettled = () => {
    inflight--;
    pump();
  };
  pump();
}

function stats(pings: number): void {
  let open = 0;
  let complete = 0;
  let incomplete = 0;
  let expected = 0;
  // expected per user when `pings` pings went round-robin over `usersTotal` users
  for (const s of held) {
    if (s.connected && !s.closing) open++;
    if (!s.connected) continue;
    const k = Math.floor(pings / usersTotal) + (s.user < pings % usersTotal ? 1 : 0);
    expected += k;
    if (s.recv === k && s.anomalies === 0 && s.lastSeq === k) complete++;
    else incomplete++;
  }
  send({
    t: 'stats',
    open,
    dropped,
    delivered,
    other,
    dups,
    gaps,
    complete,
    incomplete,
    expected,
    hist: hist.data(),
    // the histogram holds whole tick intervals: subtract the sampling interval to get lateness
    loopDelayP99Ms: Math.max(0, loopDelay.percentile(99) / 1e6 - LOOP_RES_MS),
    loopDelayMaxMs: Math.max(0, loopDelay.max / 1e6 - LOOP_RES_MS),
    seqCount,
    seqMax,
    timeline: Array.from(timeline),
  });
}

function reset(): void {
  loopDelay.reset();
  timeline = new Float64Array(TL_LEN);
  tl0 = now();
  hist = new Histogram();
  delivered = other = dups = gaps = 0;
  seqCount = seqCount.map(() => 0);
  seqMax = seqMax.map(() => 0);
  for (const s of held) {
    s.lastSeq = 0;
    s.recv = 0;
    s.anomalies = 0;
  }
}

function churn(c: ChurnCmd): void {
  resetCounters();
  const t0 = now();
  const deadline = t0 + c.durationMs;
  let started = 0;
  let running = 0;
  let done = false;
  startSweeper(c.timeoutMs);
  const launch = () => {
    const s = new Sub();
    s.mode = MODE_CHURN;
    s.user = started++ % c.users;
    running++;
    open(c, subscribePath(c.api, `${c.userPrefix}${s.user}`), s);
  };
  onSettled = () => {
    running--;
    if (now() < deadline && started < c.maxCycles) launch();
    else if (running === 0 && !done) {
      done = true;
      onSettled = null;
      stopSweeper();
      send({ t: 'churned', cycles: ok, failed, reasons, ms: now() - t0, ttfc: ttfc.data() });
    }
  };
  for (let i = 0; i < c.parallel; i++) launch();
}

function firstEvents(c: FirstEventCmd): void {
  resetCounters();
  firstStatuses = new Array<string | null>(c.paths.length).fill(null);
  const subs: Sub[] = [];
  c.paths.forEach((p, i) => {
    const s = new Sub();
    s.mode = MODE_FIRST;
    s.idx = i;
    subs.push(s);
    open(c, p, s);
  });
  // the cached ping follows the first comment at once; give it timeoutMs in total
  setTimeout(() => {
    for (const s of subs) {
      pending.delete(s);
      closeSub(s, true);
    }
    send({ t: 'first', statuses: firstStatuses });
  }, c.timeoutMs);
}

function closeAll(): void {
  stopSweeper();
  for (const s of held) closeSub(s, true);
  held.length = 0;
  send({ t: 'closed' });
  setTimeout(() => process.exit(0), 50);
}

process.on('message', (m: Cmd) => {
  try {
    switch (m.t) {
      case 'connect':
        usersTotal = Math.max(1, m.users);
        return connect(m);
      case 'stats':
        return stats(m.pings);
      case 'reset':
        return reset();
      case 'churn':
        return churn(m);
      case 'first':
        return firstEvents(m);
      case 'close':
        return closeAll();
    }
  } catch (e) {
    send({ t: 'error', msg: String((e as Error)?.stack ?? e) });
  }
});
process.on('disconnect', () => process.exit(0));
