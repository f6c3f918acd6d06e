/**
 * Benchmark entry:  node --import tsx bench/run.ts <scenario|all> [--n 15000 (scale: up to 100000)]
 *                     [--target ours|baseline|floor|xstate-floor|nchan|both|all|<list>] [--runs 1] [--profile] [--build]
 *                     [--ours path/to/main.js] [--no-snapshot] [--workers N]
 * Targets: ours (dist/src/process/main.js), baseline (bench/baseline/server.ts: node:http + ioredis),
 * floor (bench/floor/server.ts: uWebSockets.js + ioredis alone, what the platform costs),
 * xstate-floor (the floor plus an XState root actor per stream and a ping actor: what the design costs),
 * nchan (nginx + nchan with Redis storage, one worker per core: what an operator would run instead;
 * needs the Debian packages nginx-light and libnginx-mod-nchan, see bench/nchan/config.ts);
 * both = ours,baseline (the default), all = ours,baseline,floor, or a comma list like ours,xstate-floor.
 * Ratios in the JSON line: `ratio` = ours/baseline, `ratioFloor` = ours/floor (only when floor ran),
 * `ratioXstateFloor` = ours/xstate-floor, `ratioNchan` = ours/nchan (only when they ran).
 * The ping scenario needs the Debian package wrk.
 * Ours runs from a copy of dist/ taken at start (see snapshotOurs) unless --ours
 * names an entry or --no-snapshot is given.
 * Each scenario prints ONE JSON line (stdout) followed by a human summary.
 * Progress goes to stderr.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startContactsStandIn, type ContactsStandIn } from './contacts-stand-in.js';
import {
  ROOT,
  oursEntryPath,
  setOursEntry,
  snapshotOurs,
  alive,
  killAll,
  logTail,
  memSnapshot,
  selfAndChildrenCpuMs,
  sleep,
  systemBusyMs,
  waitQuiet,
  startRedis,
  startServer,
  startServerGroup,
  stopProc,
  toggleWindowProfile,
  type Proc,
  type Server,
  type TargetName,
} from './server-proc.js';
import { Pinger } from './client/pinger.js';
import { assertNchanInstalled } from './nchan/config.js';
import { hold } from './scenarios/hold.js';
import { fanout } from './scenarios/fanout.js';
import { hot } from './scenarios/hot.js';
import { ping } from './scenarios/ping.js';
import { churn } from './scenarios/churn.js';
import { scale } from './scenarios/scale.js';
import { contacts } from './scenarios/contacts.js';
import type { Check, Ctx, Metrics, Opts, Scenario } from './scenarios/types.js';
import { humanSummary, medianOf, ratios } from './report.js';
import { formatTop, topAllocations, topSelf } from './profile.js';

const SCENARIOS: Record<string, Scenario> = { hold, fanout, hot, ping, churn, scale, contacts };

function parseArgs(argv: string[]) {
  const a = { scenario: '', n: 15000, target: 'both', runs: 1, profile: false, build: false, ours: '', snapshot: true, workers: 1 };
  for (let i = 0; i < argv.length; i++) {
    const x = argv[i];
    // `--name value` or `--name=value`; exact names, so `--n` never swallows `--no-snapshot`.
    const is = (name: string) => x === name || x.startsWith(`${name}=`);
    const val = () => {
      const v = x.includes('=') ? x.slice(x.indexOf('=') + 1) : argv[++i];
      if (v === undefined) throw new Error(`${x} needs a value`);
      return v;
    };
    if (is('--n')) a.n = Number(val());
    else if (is('--target')) a.target = val();
    else if (is('--runs')) a.runs = Number(val());
    else if (is('--workers')) a.workers = Number(val());
    else if (x === '--profile') a.profile = true;
    else if (x === '--build') a.build = true;
    else if (is('--ours')) a.ours = val();
    else if (x === '--no-snapshot') a.snapshot = false;
    else if (!x.startsWith('-') && !a.scenario) a.scenario = x;
    else throw new Error(`unknown argument ${x}`);
  }
  const names = a.scenario === 'all' ? Object.keys(SCENARIOS).filter((s) => !SCENARIOS[s].onlyByName) : [a.scenario];
  if (!names.every((s) => SCENARIOS[s])) throw new Error(`scenario must be one of: ${Object.keys(SCENARIOS).join(', ')}, all`);
  const targets = parseTargets(a.target);
  if (targets.includes('nchan')) assertNchanInstalled();
  const maxN = Math.min(...names.map((s) => SCENARIOS[s].maxN ?? 19_000));
  if (!(a.n > 0 && a.n <= maxN)) throw new Error(`--n must be 1..${maxN} (open-file limit 20,000 per process)`);
  if (!(a.runs >= 1 && a.runs <= 5)) throw new Error('--runs must be 1..5');
  if (!(Number.isInteger(a.workers) && a.workers >= 1 && a.workers <= 8)) throw new Error('--workers must be 1..8');
  return { ...a, names, targets };
}

const TARGETS: readonly TargetName[] = ['ours', 'nchan', 'baseline', 'floor', 'xstate-floor'];

/**
 * `both` = ours,baseline; `all` = ours,baseline,floor; else one target or a comma list (run in the
 * order ours, nchan, baseline, floor, xstate-floor).
 */
function parseTargets(s: string): TargetName[] {
  const want = s === 'both' ? ['ours', 'baseline'] : s === 'all' ? ['ours', 'baseline', 'floor'] : s.split(',').map((x) => x.trim());
  if (!want.length || !want.every((t) => (TARGETS as readonly string[]).includes(t))) {
    throw new Error('--target ours|nchan|baseline|floor|xstate-floor|both|all or a comma list like ours,nchan');
  }
  return TARGETS.filter((t) => want.includes(t));
}

const log = (m: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${m}\n`);

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout;
  return Promise.race([
    p,
    new Promise<T>((_, rej) => {
      t = setTimeout(() => rej(new Error(`${what}: timed out after ${Math.round(ms / 1000)} s`)), ms);
    }),
  ]).finally(() => clearTimeout(t));
}

async function waitReady(s: Server): Promise<void> {
  const p = new Pinger('127.0.0.1', s.port, 1, s.api);
  try {
    const end = Date.now() + 30_000;
    while (Date.now() < end) {
      if (!alive(s)) throw new Error('server exited during start');
      const ok = p.okCount;
      await p.ping('bench-warmup', 'warmup');
      if (p.okCount > ok) return;
      await sleep(200);
    }
    throw new Error('server never accepted a ping (POST /ping, nchan: POST /pub/…)');
  } finally {
    p.close();
  }
}

interface RunOut {
  metrics?: Metrics;
  error?: string;
  profile?: Record<string, unknown>;
}

async function runOnce(sc: Scenario, target: TargetName, opts: Opts): Promise<RunOut> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `hb-${sc.name}-${target}-`));
  const profileDir = opts.profile && target === 'ours' ? fs.mkdtempSync(path.join(os.tmpdir(), 'hb-prof-')) : undefined;
  const deferred: (() => unknown)[] = [];
  let redis: Proc | undefined;
  let server: Server | undefined;
  let standIn: ContactsStandIn | null = null;
  let restarting = false;
  let windowOn = false;
  let failed = false;
  const out: RunOut = {};
  const quiet = await waitQuiet();
  if (quiet.waitedSec > 1)
    log(`${sc.name}/${target}: waited ${quiet.waitedSec} s for other jobs to calm down (foreign load ${quiet.foreignPct}% of a core)`);
  const busy0 = systemBusyMs();
  const own0 = selfAndChildrenCpuMs();
  const t0 = Date.now();
  try {
    redis = await startRedis(dir);
    if (sc.watchContacts) standIn = await startContactsStandIn();
    // The stand-in's URL overrides one a global WATCH_POLICY=contacts set (main()): this scenario's watchers are registered there.
    const env = { ...sc.env, ...(standIn && target === 'ours' ? { WATCH_POLICY: 'contacts', CONTACTS_URL: standIn.url } : {}) };
    server = sc.processes
      ? await startServerGroup(target, sc.processes(opts), { redisPort: redis.port, dir, env })
      : await startServer(target, { redisPort: redis.port, dir, admin: sc.admin, profileDir, workers: opts.workers, env });
    await waitReady(server);
    log(`${sc.name}/${target}: server pid ${server.pid} on :${server.port}, redis :${redis.port}`);
    const ctx: Ctx = {
      target,
      server,
      redis,
      opts,
      contacts: standIn,
      defer: (fn) => deferred.push(fn),
      log: (m) => log(`${sc.name}/${target}: ${m}`),
      async profileWindow(on) {
        if (!profileDir || !server || on === windowOn) return;
        windowOn = on;
        toggleWindowProfile(server);
        if (!on) {
          for (let i = 0; i < 100 && !fs.readdirSync(profileDir).some((f) => f.startsWith('window-')); i++) await sleep(100);
        }
      },
      async memSnapshot() {
        return profileDir && server ? memSnapshot(server, profileDir) : null;
      },
      async restartServer() {
        restarting = true;
        await stopProc(server);
        server = await startServer(target, { redisPort: redis!.port, dir, admin: sc.admin, workers: opts.workers, env });
        await waitReady(server);
        ctx.server = server;
        restarting = false;
        return server;
      },
    };
    let watch: NodeJS.Timeout | undefined;
    const died = new Promise<never>((_, rej) => {
      watch = setInterval(() => {
        if (!restarting && server && !alive(server))
          rej(new Error(`server died (exit ${server.proc.exitCode ?? server.proc.signalCode})\n${logTail(server)}`));
        if (redis && !alive(redis)) rej(new Error('redis died'));
      }, 250);
    });
    try {
      out.metrics = await withTimeout(Promise.race([sc.run(ctx), died]), sc.budgetMs(opts), `${sc.name}/${target}`);
    } finally {
      clearInterval(watch);
    }
  } catch (e) {
    failed = true;
    out.error = (e as Error).message;
    log(`${sc.name}/${target}: ERROR ${out.error}`);
    if (server) log(`server log tail (${server.log}):\n${logTail(server)}`);
  } finally {
    for (const fn of deferred.reverse()) await withTimeout(Promise.resolve().then(fn), 15000, 'cleanup').catch(() => {});
    await stopProc(server);
    await stopProc(redis);
    standIn?.close();
    // BENCH_KEEP_LOGS=1 keeps the server and Redis logs (e.g. with BENCH_NODE_ARGS=--trace-gc).
    if (!failed && !process.env.BENCH_KEEP_LOGS) fs.rmSync(dir, { recursive: true, force: true });
    else log(`${sc.name}/${target}: logs kept in ${dir}`);
  }
  await sleep(300); // let exited workers be reaped so their CPU shows in our children's times
  // CPU used on this machine by anything that is not this benchmark (other jobs = noise)
  const foreign = systemBusyMs() - busy0 - (selfAndChildrenCpuMs() - own0);
  if (out.metrics) {
    out.metrics.foreignCpuPct = Math.max(0, Math.round((100 * foreign) / (Date.now() - t0)));
    out.metrics.quietWaitSec = quiet.waitedSec;
  }
  if (profileDir) out.profile = summarizeProfiles(profileDir);
  return out;
}

function summarizeProfiles(dir: string): Record<string, unknown> {
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  const res: Record<string, unknown> = { dir };
  for (const f of files) {
    const kind = f.startsWith('window-') ? 'window' : 'wholeRun';
    if (res[kind]) continue;
    try {
      const t = topSelf(path.join(dir, f), 15);
      res[kind] = { file: path.join(dir, f), ...t };
      process.stdout.write(`\n-- ${kind} profile of ours (${f}), top 15 by self time:\n${formatTop(t)}\n`);
    } catch (e) {
      res[kind] = { file: f, error: String(e) };
    }
  }
  // BENCH_HEAP_WINDOW=promoted: what the window allocated that outlived the young generation;
  // =allocated: everything it allocated, garbage included
  const heap = fs.readdirSync(dir).find((f) => f.endsWith('.heapprofile'));
  if (heap) {
    res.heapWindow = path.join(dir, heap);
    const what =
      process.env.BENCH_HEAP_WINDOW === 'allocated'
        ? 'every allocation of the window'
        : 'allocations of the window that outlived the young generation';
    process.stdout.write(`\n-- ${what} (${heap}):\n${topAllocations(path.join(dir, heap), 10)}\n`);
  }
  return res;
}

/** Newest mtime under dir: identifies which build of ours was measured. */
function newestMtime(dir: string): string {
  let newest = 0;
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else newest = Math.max(newest, fs.statSync(p).mtimeMs);
    }
  };
  walk(dir);
  return new Date(newest).toISOString();
}

async function runScenario(sc: Scenario, targets: TargetName[], opts: Opts): Promise<void> {
  const raw: Partial<Record<TargetName, Metrics[]>> = {};
  const errors: Partial<Record<TargetName, string>> = {};
  const profiles: Record<string, unknown>[] = [];
  for (let r = 0; r < opts.runs; r++) {
    for (const t of targets) {
      if (t === 'ours' && !fs.existsSync(oursEntryPath())) {
        errors.ours = `not measurable yet: ${oursEntryPath()} missing (npm run build)`;
        continue;
      }
      log(`${sc.name}: run ${r + 1}/${opts.runs} target ${t}`);
      const o = await runOnce(sc, t, opts);
      if (o.metrics) (raw[t] ??= []).push(o.metrics);
      if (o.error) errors[t] = errors[t] ? `${errors[t]}; ${o.error}` : o.error;
      if (o.profile) profiles.push(o.profile);
    }
  }
  const results: Partial<Record<TargetName, Metrics>> = {};
  const checks: Partial<Record<TargetName, Check[]>> = {};
  for (const t of targets) {
    const runs = raw[t];
    if (!runs?.length) continue;
    results[t] = medianOf(runs);
    checks[t] = sc.checks(results[t], opts);
  }
  const ratio = ratios(results.ours, results.baseline);
  const ratioFloor = results.floor ? ratios(results.ours, results.floor) : undefined;
  const ratioXstateFloor = results['xstate-floor'] ? ratios(results.ours, results['xstate-floor']) : undefined;
  const ratioNchan = results.nchan ? ratios(results.ours, results.nchan) : undefined;
  const line = {
    scenario: sc.name,
    n: opts.n,
    runs: opts.runs,
    profiled: opts.profile,
    oursWorkers: opts.workers,
    at: new Date().toISOString(),
    node: process.version,
    cpus: `${os.cpus().length}x ${os.cpus()[0]?.model ?? '?'}`,
    oursBuild: fs.existsSync(oursEntryPath()) ? newestMtime(path.resolve(path.dirname(oursEntryPath()), '..')) : null,
    oursEntry: oursEntryPath(),
    results,
    ratio,
    ratioFloor,
    ratioXstateFloor,
    ratioNchan,
    checks,
    errors,
    raw: opts.runs > 1 ? raw : undefined,
    profiles: profiles.length ? profiles.map((p) => ({ dir: p.dir })) : undefined,
  };
  process.stdout.write(JSON.stringify(line) + '\n');
  process.stdout.write(
    humanSummary({
      scenario: sc.name,
      n: opts.n,
      runs: opts.runs,
      workers: opts.workers,
      headline: sc.headline,
      targets,
      results,
      errors,
      ratio,
      ratioFloor,
      ratioXstateFloor,
      ratioNchan,
      checks,
    }) + '\n\n',
  );
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  if (a.build) execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit', timeout: 300_000 });
  if (a.ours) setOursEntry(a.ours);
  else if (a.snapshot && a.targets.includes('ours') && fs.existsSync(oursEntryPath()))
    log(`ours: running a copy of dist/ in ${snapshotOurs()}`);
  const opts: Opts = { n: a.n, runs: a.runs, profile: a.profile, workers: a.workers };
  // WATCH_POLICY=contacts without CONTACTS_URL: a stand-in of backend-core that allows every bench stream.
  const standIn = process.env.WATCH_POLICY === 'contacts' && !process.env.CONTACTS_URL ? await startContactsStandIn() : null;
  if (standIn) {
    process.env.CONTACTS_URL = standIn.url;
    log(`WATCH_POLICY=contacts: backend-core stand-in on ${standIn.url}, one call per stream opened`);
  }
  for (const name of a.names) await runScenario(SCENARIOS[name], a.targets, opts);
  standIn?.close();
}

process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    killAll();
    process.exit(130);
  });
}
// last-resort bound on the whole invocation
const hard = setTimeout(
  () => {
    log('global timeout: giving up');
    killAll();
    process.exit(3);
  },
  60 * 60 * 1000,
);
hard.unref();

main().then(
  () => process.exit(0),
  (e) => {
    log(`fatal: ${(e as Error).stack ?? e}`);
    process.exitCode = 2;
    killAll();
    process.exit(2);
  },
);
