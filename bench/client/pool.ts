/**
 * Parent side of the load generator: forks worker processes (each ≤ 9,000
 * sockets, each with its own 127.0.0.x source addresses) and merges results.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Histogram } from './histogram.js';
import type { Api } from './api.js';
import type { Cmd, Reply, StatsMsg, ConnectedMsg, ChurnedMsg, FirstMsg } from './protocol.js';

const WORKER = fileURLToPath(new URL('./worker.ts', import.meta.url));
const MAX_PER_WORKER = 9000;
let nextAddr = 2 + Math.floor(Math.random() * 200);

export interface PoolTarget {
  host: string;
  port: number;
  /** default heartbeat */
  api?: Api;
}

export interface ConnectResult {
  ok: number;
  failed: number;
  reasons: Record<string, number>;
  ms: number;
  ttfc: ReturnType<Histogram['summary']>;
}

/** A worker's stats merged over all workers: the same fields, with a live Histogram. */
export type Stats = Omit<StatsMsg, 't' | 'hist'> & { hist: Histogram };

/** The slow spots of a latency timeline: [seconds since reset, worst ms] where worst > minMs. */
export function slowSpots(tl: number[], minMs: number, max = 20): [number, number][] {
  const out: [number, number][] = [];
  tl.forEach((v, i) => {
    if (v > minMs) out.push([Math.round(i) / 10, Math.round(v)]);
  });
  return out
    .sort((a, b) => b[1] - a[1])
    .slice(0, max)
    .sort((a, b) => a[0] - b[0]);
}

function addReasons(into: Record<string, number>, r: Record<string, number>): void {
  for (const [k, v] of Object.entries(r)) into[k] = (into[k] ?? 0) + v;
}

/** What connect and churn results share, merged over workers: failures summed, the longest run, one histogram. */
function mergeAttempts(rs: { failed: number; reasons: Record<string, number>; ms: number; ttfc: Parameters<Histogram['merge']>[0] }[]) {
  const h = new Histogram();
  const out = { failed: 0, reasons: {} as Record<string, number>, ms: 0 };
  for (const r of rs) {
    out.failed += r.failed;
    out.ms = Math.max(out.ms, r.ms);
    addReasons(out.reasons, r.reasons);
    h.merge(r.ttfc);
  }
  return { ...out, ttfc: h.summary() };
}

export class Pool {
  private workers: ChildProcess[] = [];
  private waiters: ((m: Reply) => void)[][] = [];
  private dead: string | null = null;

  private readonly addrBase: number;

  /**
   * k-th worker binds 127.0.0.(addrBase + k*addrsPer + j), j < addrsPer. Several
   * addresses per worker keep bind()'s ephemeral-port search cheap (Linux gives
   * bind() only the even half of the range), and each new pool takes the next
   * block of addresses so TIME_WAIT left by an earlier run never gets in the way.
   */
  constructor(
    readonly size: number,
    private readonly addrsPer = 4,
  ) {
    const need = size * addrsPer;
    if (need > 250) throw new Error('too many source addresses');
    if (nextAddr + need > 254) nextAddr = 2;
    this.addrBase = nextAddr;
    nextAddr += need;
    for (let k = 0; k < size; k++) {
      const w = fork(WORKER, [], {
        execArgv: ['--import', import.meta.resolve('tsx')],
        serialization: 'advanced',
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      this.waiters.push([]);
      w.on('message', (m: Reply) => {
        if (m.t === 'error') {
          this.dead = `worker ${k}: ${m.msg}`;
          return;
        }
        this.waiters[k].shift()?.(m);
      });
      w.on('exit', (code, sig) => {
        if (!this.closing) this.dead = `worker ${k} exited (${code ?? sig})`;
        for (const f of this.waiters[k].splice(0)) f({ t: 'error', msg: this.dead ?? 'exited' });
      });
      this.workers.push(w);
    }
  }

  private closing = false;

  static forSockets(n: number, perWorker = 7500): Pool {
    return new Pool(Math.max(1, Math.ceil(n / Math.min(perWorker, MAX_PER_WORKER))));
  }

  addrs(k: number): string[] {
    const out: string[] = [];
    for (let j = 0; j < this.addrsPer; j++) out.push(`127.0.0.${this.addrBase + k * this.addrsPer + j}`);
    return out;
  }

  private ask<T extends Reply>(k: number, cmd: Cmd, timeoutMs: number): Promise<T> {
    return new Promise((resolve, reject) => {
      if (this.dead) return reject(new Error(this.dead));
      const timer = setTimeout(() => reject(new Error(`worker ${k}: no reply to ${cmd.t} in ${timeoutMs} ms`)), timeoutMs);
      this.waiters[k].push((m) => {
        clearTimeout(timer);
        if (m.t === 'error') reject(new Error(m.msg));
        else resolve(m as T);
      });
      this.workers[k].send(cmd);
    });
  }

  private all<T extends Reply>(mk: (k: number) => Cmd, timeoutMs: number): Promise<T[]> {
    return Promise.all(this.workers.map((_, k) => this.ask<T>(k, mk(k), timeoutMs)));
  }

  /** Opens n streams; subscriber g watches user `${prefix}${g % users}`. */
  async connect(
    t: PoolTarget,
    n: number,
    o: { users: number; userPrefix?: string; clientEvery?: number; concurrency?: number; timeoutMs?: number; trackSeqs?: number },
  ): Promise<ConnectResult> {
    const per = Math.ceil(n / this.size);
    const timeoutMs = o.timeoutMs ?? 15000;
    const rs = await this.all<ConnectedMsg>(
      (k) => {
        const first = k * per;
        return {
          t: 'connect',
          host: t.host,
          port: t.port,
          api: t.api ?? 'heartbeat',
          localAddrs: this.addrs(k),
          first,
          count: Math.max(0, Math.min(per, n - first)),
          users: o.users,
          userPrefix: o.userPrefix ?? 'u',
          clientEvery: o.clientEvery ?? 0,
          clientId: 'c1',
          concurrency: o.concurrency ?? 200,
          timeoutMs,
          trackSeqs: o.trackSeqs ?? 0,
        };
      },
      timeoutMs + n * 2 + 30000,
    );
    return { ok: rs.reduce((n, r) => n + r.ok, 0), ...mergeAttempts(rs) };
  }

  async stats(pings: number): Promise<Stats> {
    const rs = await this.all<StatsMsg>(() => ({ t: 'stats', pings }), 30000);
    const out: Stats = {
      open: 0,
      dropped: 0,
      delivered: 0,
      other: 0,
      dups: 0,
      gaps: 0,
      complete: 0,
      incomplete: 0,
      expected: 0,
      hist: new Histogram(),
      loopDelayP99Ms: 0,
      loopDelayMaxMs: 0,
      seqCount: [],
      seqMax: [],
      timeline: [],
    };
    for (const r of rs) {
      out.open += r.open;
      out.dropped += r.dropped;
      out.delivered += r.delivered;
      out.other += r.other;
      out.dups += r.dups;
      out.gaps += r.gaps;
      out.complete += r.complete;
      out.incomplete += r.incomplete;
      out.expected += r.expected;
      out.hist.merge(r.hist);
      out.loopDelayP99Ms = Math.max(out.loopDelayP99Ms, r.loopDelayP99Ms);
      out.loopDelayMaxMs = Math.max(out.loopDelayMaxMs, r.loopDelayMaxMs);
      r.seqCount.forEach((c, i) => (out.seqCount[i] = (out.seqCount[i] ?? 0) + c));
      r.seqMax.forEach((m, i) => (out.seqMax[i] = Math.max(out.seqMax[i] ?? 0, m)));
      r.timeline.forEach((m, i) => (out.timeline[i] = Math.max(out.timeline[i] ?? 0, m)));
    }
    return out;
  }

  reset(): void {
    for (const w of this.workers) w.send({ t: 'reset' } satisfies Cmd);
  }

  async churn(
    t: PoolTarget,
    o: { parallel: number; durationMs: number; maxCycles: number; users: number; timeoutMs?: number },
  ): Promise<{ cycles: number; failed: number; reasons: Record<string, number>; ms: number; ttfc: ReturnType<Histogram['summary']> }> {
    const rs = await this.all<ChurnedMsg>(
      (k) => ({
        t: 'churn',
        host: t.host,
        port: t.port,
        api: t.api ?? 'heartbeat',
        localAddrs: this.addrs(k),
        parallel: Math.ceil(o.parallel / this.size),
        durationMs: o.durationMs,
        maxCycles: Math.ceil(o.maxCycles / this.size),
        users: o.users,
        userPrefix: 'churn',
        timeoutMs: o.timeoutMs ?? 5000,
      }),
      o.durationMs + 30000,
    );
    return { cycles: rs.reduce((n, r) => n + r.cycles, 0), ...mergeAttempts(rs) };
  }

  /** Status of the first data event of each path (the cached last ping), null if none. */
  async firstEvents(t: PoolTarget, paths: string[], timeoutMs = 3000): Promise<(string | null)[]> {
    const r = await this.ask<FirstMsg>(
      0,
      { t: 'first', host: t.host, port: t.port, api: t.api ?? 'heartbeat', localAddrs: this.addrs(0), paths, timeoutMs },
      timeoutMs + 10000,
    );
    return r.statuses;
  }

  get error(): string | null {
    return this.dead;
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.allSettled(this.workers.map((_, k) => this.ask(k, { t: 'close' }, 10000)));
    for (const w of this.workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
  }
}
