/**
 * Starting/stopping redis-server and the servers under test, and reading
 * their RSS / CPU time from /proc.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Api } from './client/api.js';
import { NGINX, assertNchanInstalled, nchanConfig } from './nchan/config.js';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
const OURS_ENTRY = path.join(ROOT, 'dist/src/process/main.js');
let oursEntry = OURS_ENTRY;
export const oursEntryPath = () => oursEntry;

/**
 * Copies dist/ into a temp dir (with node_modules and package.json linked) and
 * runs ours from there, so that a rebuild by someone else during a long
 * invocation cannot mix two builds in one set of results.
 */
export function snapshotOurs(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hb-ours-'));
  // preserveTimestamps: oursBuild (the newest mtime under dist/) must name the build, not the copy.
  fs.cpSync(path.join(ROOT, 'dist'), path.join(dir, 'dist'), { recursive: true, preserveTimestamps: true });
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
  fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(dir, 'package.json'));
  oursEntry = path.join(dir, 'dist/src/process/main.js');
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Uses an existing copy (as made by snapshotOurs) or any other build of ours. */
export function setOursEntry(p: string): void {
  oursEntry = path.resolve(p);
}
const PROF_PRELOAD = path.join(ROOT, 'bench/prof-preload.mjs');
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

/**
 * ours: dist/src/process/main.js; baseline: bench/baseline/server.ts; floor: bench/floor/server.ts;
 * xstate-floor: the floor with FLOOR_XSTATE=1 (the design's actors and nothing else);
 * nchan: nginx + nchan with Redis storage (bench/nchan/config.ts).
 */
export type TargetName = 'ours' | 'baseline' | 'floor' | 'xstate-floor' | 'nchan';

const live = new Set<ChildProcess>();
export function killAll(): void {
  for (const p of live) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  live.clear();
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

async function waitFor(what: string, fn: () => Promise<boolean>, ms: number, proc?: ChildProcess): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (proc && (proc.exitCode !== null || proc.signalCode !== null))
      throw new Error(`${what}: process exited (${proc.exitCode ?? proc.signalCode})`);
    if (await fn()) return;
    await sleep(100);
  }
  throw new Error(`${what}: not ready after ${ms} ms`);
}

function redisPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    let buf = '';
    s.setTimeout(1000, () => s.destroy());
    s.on('connect', () => s.write('PING\r\n'));
    s.on('data', (d) => {
      buf += d.toString();
      if (buf.includes('\r\n')) {
        s.destroy();
        resolve(buf.startsWith('+PONG'));
      }
    });
    s.on('error', () => resolve(false));
    s.on('close', () => resolve(false));
  });
}

export interface Proc {
  proc: ChildProcess;
  pid: number;
  port: number;
  log: string;
}

function spawnLogged(cmd: string, args: string[], env: NodeJS.ProcessEnv, log: string, cwd = ROOT): ChildProcess {
  const fd = fs.openSync(log, 'a');
  const p = spawn(cmd, args, { env, cwd, stdio: ['ignore', fd, fd] });
  fs.closeSync(fd);
  live.add(p);
  p.on('exit', () => live.delete(p));
  return p;
}

export async function startRedis(dir: string): Promise<Proc> {
  const port = await freePort();
  const log = path.join(dir, 'redis.log');
  const proc = spawnLogged(
    '/usr/bin/redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
      '--maxclients',
      '10000',
      '--protected-mode',
      'no',
    ],
    process.env,
    log,
    dir,
  );
  await waitFor('redis', () => redisPing(port), 10000, proc);
  return { proc, pid: proc.pid!, port, log };
}

const built = new Map<string, Promise<string>>();
/**
 * Compiles a reference server (bench/baseline/server.ts, bench/floor/server.ts) once per
 * invocation: an esbuild bundle of its own files into a temp dir with node_modules linked.
 */
function buildReference(name: 'baseline' | 'floor'): Promise<string> {
  let p = built.get(name);
  if (!p) {
    p = (async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), `hb-${name}-`));
      process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
      fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
      const out = path.join(dir, 'server.mjs');
      const { build } = await import('esbuild');
      // Bundled (its own imports of src/, such as the listen queue's resize), packages left to node_modules.
      await build({
        entryPoints: [path.join(ROOT, 'bench', name, 'server.ts')],
        outfile: out,
        bundle: true,
        packages: 'external',
        platform: 'node',
        format: 'esm',
        target: 'node20',
        logLevel: 'warning',
      });
      return out;
    })();
    built.set(name, p);
    p.catch(() => built.delete(name));
  }
  return p;
}

export interface ServerOpts {
  redisPort: number;
  dir: string;
  admin?: boolean;
  profileDir?: string;
  /** WORKERS for ours; ignored by the baseline and the floor. Default 1. */
  workers?: number;
  /** Added to (and overriding) the environment of a Node target. */
  env?: NodeJS.ProcessEnv;
  /** nginx's worker processes for nchan; default one per core. */
  nchanWorkers?: number;
}

export interface Server extends Proc {
  target: TargetName;
  /** the HTTP API it speaks (routes of the streams and of publishing) */
  api: Api;
  adminPort: number | null;
  /** Date.now() when the process was spawned. */
  startedAt: number;
}

/** The entry file of a Node target (ours, or a reference server built for this invocation). */
async function entryOf(target: Exclude<TargetName, 'nchan'>): Promise<string> {
  const entry = target === 'ours' ? oursEntry : await buildReference(target === 'xstate-floor' ? 'floor' : target);
  if (!fs.existsSync(entry)) throw new Error(`${entry} not found (run npm run build first)`);
  return entry;
}

/** The environment of a Node target listening on `port`. */
function serverEnv(target: TargetName, o: ServerOpts, port: number, adminPort: number | null): NodeJS.ProcessEnv {
  return {
    ...process.env,
    LISTEN: `127.0.0.1:${port}`,
    REDIS: `127.0.0.1:${o.redisPort}`,
    ADMIN_LISTEN: adminPort ? `127.0.0.1:${adminPort}` : '',
    LOG_LEVEL: 'warn',
    // The bench pings each user far faster than a real client: a rate this load never meets keeps
    // the limit's arithmetic on the path without refusing (PING_RATE=0 in the environment: off).
    PING_RATE: process.env.PING_RATE ?? '1000000',
    PING_BURST: process.env.PING_BURST ?? '1000000',
    WORKERS: String(o.workers ?? 1),
    NODE_ENV: 'production',
    BENCH_PROF_DIR: o.profileDir ?? '',
    FLOOR_XSTATE: target === 'xstate-floor' ? '1' : '',
    ...o.env,
  };
}

export async function startServer(target: TargetName, o: ServerOpts): Promise<Server> {
  if (target === 'nchan') return startNchan(o);
  const port = await freePort();
  const adminPort = o.admin ? await freePort() : null;
  const entry = await entryOf(target);
  // BENCH_NODE_ARGS: extra Node/V8 flags for the server under test (experiments with GC settings).
  const nodeArgs: string[] = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
  if (o.profileDir) nodeArgs.push('--expose-gc', '--cpu-prof', `--cpu-prof-dir=${o.profileDir}`, '--import', PROF_PRELOAD);
  const env = serverEnv(target, o, port, adminPort);
  const log = path.join(o.dir, `${target}.log`);
  const startedAt = Date.now();
  const proc = spawnLogged(process.execPath, [...nodeArgs, entry], env, log);
  await waitFor(`${target} server`, () => canConnect(port), 30000, proc);
  return { proc, pid: proc.pid!, port, log, target, api: 'heartbeat', adminPort, startedAt };
}

/**
 * `processes` servers on one port, as one Server whose process tree holds them all (RSS, CPU and
 * liveness are the tree's, as with nginx's master and workers). A Node target: that many processes
 * (WORKERS=1 each, no admin port) under a bash that forwards SIGTERM and exits as soon as any of
 * them exits; uWebSockets.js sets SO_REUSEPORT on a concrete port, so the kernel spreads
 * connections over them. nchan: one nginx with that many worker processes (`reuseport`).
 */
export async function startServerGroup(target: TargetName, processes: number, o: ServerOpts): Promise<Server> {
  if (target === 'nchan') return startNchan({ ...o, nchanWorkers: processes });
  if (processes === 1) return startServer(target, o);
  // node:http binds without SO_REUSEPORT: a second process on the port would fail to start.
  if (target === 'baseline') throw new Error('the baseline (node:http) cannot run as several processes on one port');
  const port = await freePort();
  const entry = await entryOf(target);
  const env = { ...serverEnv(target, { ...o, workers: 1 }, port, null), ADMIN_LISTEN: '' };
  const script = [
    'pids=""',
    `for i in $(seq ${processes}); do "$0" "$1" & pids="$pids $!"; done`,
    "trap 'kill -TERM $pids 2>/dev/null; wait' TERM INT",
    'wait -n',
    'kill -TERM $pids 2>/dev/null',
  ].join('\n');
  const log = path.join(o.dir, `${target}.log`);
  const startedAt = Date.now();
  const proc = spawnLogged('/bin/bash', ['-c', script, process.execPath, entry], env, log);
  // The kernel hands each connection to one of them: ready once every process has its listening socket.
  await waitFor(`${target} x${processes}`, () => Promise.resolve(listeners(port) >= processes), 30000, proc);
  return { proc, pid: proc.pid!, port, log, target, api: 'heartbeat', adminPort: null, startedAt };
}

/** Listening TCP sockets on `port` in this network namespace (one per process of a group). */
function listeners(port: number): number {
  let n = 0;
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of fs.readFileSync(table, 'utf8').split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols[3] === '0A' && parseInt(cols[1]?.split(':')[1] ?? '', 16) === port) n++;
    }
  }
  return n;
}

/**
 * nginx + nchan in the foreground (`daemon off`: the bench's child is the master, its workers
 * are the master's children), with its own nginx.conf in the run's temp dir. Its stub status
 * answers on its own port, which is therefore also its "admin" port.
 */
async function startNchan(o: ServerOpts): Promise<Server> {
  assertNchanInstalled();
  const port = await freePort();
  const conf = path.join(o.dir, 'nginx.conf');
  fs.mkdirSync(path.join(o.dir, 'nginx-body'), { recursive: true });
  fs.writeFileSync(conf, nchanConfig({ dir: o.dir, port, redisPort: o.redisPort, workers: o.nchanWorkers }));
  const log = path.join(o.dir, 'nchan.log');
  const startedAt = Date.now();
  const proc = spawnLogged(NGINX, ['-p', o.dir, '-c', conf], process.env, log, o.dir);
  await waitFor('nchan server', () => canConnect(port), 30000, proc);
  return { proc, pid: proc.pid!, port, log, target: 'nchan', api: 'nchan', adminPort: port, startedAt };
}

export async function stopProc(p: Proc | undefined, graceMs = 12000): Promise<void> {
  if (!p) return;
  const c = p.proc;
  if (c.exitCode !== null || c.signalCode !== null) return;
  const exited = new Promise<void>((r) => c.once('exit', () => r()));
  c.kill('SIGTERM');
  const t = setTimeout(() => c.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(t);
}

/**
 * Runs `work` against one server under test on a fresh Redis (both in a temp dir), and always
 * stops both and removes the dir: the set-up of the probes in bench/probes/.
 */
export async function withServer<T>(
  target: TargetName,
  o: Omit<ServerOpts, 'redisPort' | 'dir'>,
  work: (server: Server, redis: Proc) => Promise<T>,
): Promise<T> {
  // A build named with setOursEntry (a probe's --ours) runs as it is.
  if (target === 'ours' && oursEntry === OURS_ENTRY) snapshotOurs();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `hb-probe-${target}-`));
  let redis: Proc | undefined;
  let server: Server | undefined;
  try {
    redis = await startRedis(dir);
    server = await startServer(target, { ...o, redisPort: redis.port, dir });
    return await work(server, redis);
  } finally {
    await stopProc(server);
    await stopProc(redis);
    killAll();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export function alive(p: Proc): boolean {
  return p.proc.exitCode === null && p.proc.signalCode === null;
}

export function logTail(p: Proc, lines = 15): string {
  try {
    return fs.readFileSync(p.log, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/** pid and its descendants (nginx: the master and its workers); just [pid] for a one-process server. */
function processTree(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    let kids = '';
    try {
      kids = fs.readFileSync(`/proc/${out[i]}/task/${out[i]}/children`, 'utf8');
    } catch {
      /* exited */
    }
    for (const k of kids.split(' ')) if (k.trim()) out.push(Number(k));
  }
  return out;
}

/**
 * Memory of a server in KiB: VmRSS of a one-process server; for a process tree (nginx) the sum
 * of the processes' PSS, which counts pages they share (the binary, nchan's shared-memory zone)
 * once instead of once per process.
 */
export function rssKiB(pid: number): number {
  const tree = processTree(pid);
  if (tree.length === 1) {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : NaN;
  }
  let sum = 0;
  for (const p of tree) {
    try {
      sum += Number(/^Pss:\s+(\d+)\s+kB/m.exec(fs.readFileSync(`/proc/${p}/smaps_rollup`, 'utf8'))?.[1] ?? 0);
    } catch {
      /* exited */
    }
  }
  return sum;
}

/**
 * utime and stime in ms of pid and its live descendants (nginx's workers) (on loopback, stime
 * includes the receiving side's TCP work).
 */
export function cpuSplit(pid: number): { user: number; sys: number } {
  const out = { user: 0, sys: 0 };
  for (const p of processTree(pid)) {
    let s: string;
    try {
      s = fs.readFileSync(`/proc/${p}/stat`, 'utf8');
    } catch {
      if (p === pid) throw new Error(`process ${pid} is gone`);
      continue;
    }
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    // fields after ")": state(3) ... utime is field 14, stime 15 (1-based) => index 11, 12 here
    out.user += (Number(f[11]) * 1000) / CLK_TCK;
    out.sys += (Number(f[12]) * 1000) / CLK_TCK;
  }
  return out;
}

/** Busy CPU of the whole machine (all cores) in ms, from /proc/stat. */
export function systemBusyMs(): number {
  const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
  return ((total - f[3] - f[4]) * 1000) / CLK_TCK;
}

/**
 * Waits (up to maxMs) until the rest of the machine uses less than `maxPct` of
 * one core over a 1 s window, so other jobs on this shared 2-core box disturb
 * the run less (BENCH_QUIET_MAX_MS=0: do not wait, for smoke runs). Returns the seconds waited and
 * the last foreign load seen.
 */
export async function waitQuiet(
  maxPct = 25,
  maxMs = Number(process.env.BENCH_QUIET_MAX_MS ?? 90_000),
): Promise<{ waitedSec: number; foreignPct: number }> {
  const t0 = Date.now();
  for (;;) {
    const b0 = systemBusyMs();
    const o0 = selfAndChildrenCpuMs() + liveChildrenCpuMs();
    await sleep(1000);
    const foreign = systemBusyMs() - b0 - (selfAndChildrenCpuMs() + liveChildrenCpuMs() - o0);
    const pct = Math.max(0, Math.round(foreign / 10));
    if (pct < maxPct || Date.now() - t0 > maxMs) return { waitedSec: Math.round((Date.now() - t0) / 1000), foreignPct: pct };
  }
}

function liveChildrenCpuMs(): number {
  let sum = 0;
  for (const p of live) {
    try {
      if (p.pid) sum += cpuMs(p.pid);
    } catch {
      /* exited */
    }
  }
  return sum;
}

/** CPU of this process plus its reaped children (server, redis, workers), ms. */
export function selfAndChildrenCpuMs(): number {
  const s = fs.readFileSync('/proc/self/stat', 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) * 1000) / CLK_TCK;
}

/** utime+stime in ms. */
export function cpuMs(pid: number): number {
  const c = cpuSplit(pid);
  return c.user + c.sys;
}

/** Samples RSS `n` times `gapMs` apart and returns the last (after waiting `settleMs`). */
export async function settledRss(pid: number, settleMs = 2000, n = 3, gapMs = 1000): Promise<{ last: number; samples: number[] }> {
  await sleep(settleMs);
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    if (i) await sleep(gapMs);
    samples.push(rssKiB(pid));
  }
  return { last: samples[samples.length - 1], samples };
}

/**
 * The server's RSS once its startup garbage is gone, for "before" figures. V8's memory reducer
 * first runs about 8 s after start (kLongDelayMs) and gives back 11–13 MB of module-loading
 * garbage (measured idle, no streams: ours 75 → 63.5 MB, baseline 66 → 52.7, floor 69 → 55.6
 * between 5 and 10 s). A "before" taken earlier is too high by that much, and every per-stream
 * figure computed from it too low (~800 B per stream at 15,000). So: not before 15 s after start.
 */
export async function startupSettledRss(server: Server, afterStartMs = 15_000): Promise<number> {
  await sleep(Math.max(0, server.startedAt + afterStartMs - Date.now()));
  return (await settledRss(server.pid, 0, 3, 1000)).last;
}

/** The samples of a Prometheus text exposition: metric name, its `{labels}` text ('' if none), value. */
export function prometheusSamples(text: string): { name: string; labels: string; value: number }[] {
  const samples: { name: string; labels: string; value: number }[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+([0-9.eE+-]+)$/.exec(line);
    if (m) samples.push({ name: m[1], labels: m[2] ?? '', value: Number(m[3]) });
  }
  return samples;
}

/**
 * Live per-stream actors from the admin port, null if not available. Ours:
 * /debug/machines.json (machines[].counts for the "subscription" machine) or the
 * sum over states of the /metrics gauge heartbeat_actors{machine="subscription"}.
 * A singleton service actor (the ping machine) is not a per-stream actor and is
 * reported apart. Baseline and floor: their live subscription count
 * (baseline_live_subscriptions / floor_live_subscriptions on /metrics).
 */
export async function liveActors(
  adminPort: number | null,
): Promise<{ value: number | null; source: string; detail?: Record<string, number> }> {
  if (!adminPort) return { value: null, source: 'no admin port' };
  const base = `http://127.0.0.1:${adminPort}`;
  try {
    const r = await fetch(`${base}/debug/machines.json`, { signal: AbortSignal.timeout(3000) });
    if (r.ok) {
      const j = (await r.json()) as {
        streams?: number;
        bucketChildren?: number;
        machines?: { id: string; counts?: Record<string, number> }[];
      };
      if (Array.isArray(j.machines)) {
        const detail: Record<string, number> = {};
        let subs: number | null = null;
        for (const m of j.machines) {
          const total = Object.values(m.counts ?? {}).reduce((a, b) => a + b, 0);
          detail[m.id] = total;
          if (m.id === 'subscription') subs = total;
        }
        if (typeof j.streams === 'number') detail.streams = j.streams;
        if (typeof j.bucketChildren === 'number') detail.bucketChildren = j.bucketChildren;
        if (subs !== null) return { value: subs, source: '/debug/machines.json subscription actors (all states)', detail };
      }
    }
  } catch {
    /* fall through */
  }
  try {
    const r = await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(3000) });
    if (r.ok) {
      const sums = new Map<string, number>();
      for (const { name, labels, value } of prometheusSamples(await r.text())) {
        if (/_total$|_bucket$|_sum$|_count$|_created$/.test(name)) continue;
        const machine = /machine="([^"]*)"/.exec(labels)?.[1];
        const key = machine ? `${name}{machine="${machine}"}` : name;
        sums.set(key, (sums.get(key) ?? 0) + value);
      }
      const detail = Object.fromEntries(sums);
      // ours' per-state gauge first; then any live-subscriptions gauge (baseline_…, floor_…)
      for (const want of [/actor.*machine="subscription"/, /subscri/]) {
        for (const [k, v] of sums) if (want.test(k)) return { value: v, source: `/metrics ${k} (sum over states)`, detail: pick(detail) };
      }
      return { value: null, source: '/metrics has no per-stream actor gauge' };
    }
  } catch {
    /* fall through */
  }
  try {
    // nchan: its stub status counts the subscribers of all workers (in its shared memory)
    const r = await fetch(`${base}/nchan_status`, { signal: AbortSignal.timeout(3000) });
    const m = r.ok ? /^subscribers: (\d+)$/m.exec(await r.text()) : null;
    if (m) return { value: Number(m[1]), source: '/nchan_status subscribers' };
  } catch {
    /* fall through */
  }
  return { value: null, source: 'admin endpoint not reachable' };
}

function pick(d: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(d).filter(([k]) => /actor|stream|subscri/.test(k)));
}

export interface MemSnapshot {
  rssBeforeGc: number;
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  mallocedMemory: number;
}

/** Asks bench/prof-preload.mjs for a memory snapshot after a full GC (SIGWINCH); bytes. */
export async function memSnapshot(p: Proc, dir: string): Promise<MemSnapshot | null> {
  const count = () => fs.readdirSync(dir).filter((f) => f.startsWith('mem-')).length;
  const n0 = count();
  p.proc.kill('SIGWINCH');
  for (let i = 0; i < 100; i++) {
    await sleep(100);
    if (count() > n0) {
      const f = fs.readdirSync(dir).filter((x) => x.startsWith('mem-') && x.endsWith(`-${n0}.json`))[0];
      if (f) return JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as MemSnapshot;
    }
  }
  return null;
}

/** Sends SIGUSR2 to toggle the window profiler installed by bench/prof-preload.mjs. */
export function toggleWindowProfile(p: Proc): void {
  p.proc.kill('SIGUSR2');
}
