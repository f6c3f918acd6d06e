import './v8-flags.js';
import { readFileSync } from 'node:fs';
import { startAdminServer, type AdminServer } from '../admin/server.js';
import { localSource, type AdminSource } from '../admin/source.js';
import { availableCpus } from './available-cpus.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { formatAddress } from '../http/listen.js';
import { isNativeUws, uwsLoadError } from '../http/uws.js';
import { createLogger, type Logger } from './logger.js';
import { storeOptionsOf, connectStore } from '../store/connect.js';
import { RelayServer } from '../store/relay.js';
import type { StoreKind } from '../store/types.js';
import { HeartbeatService } from './service.js';
import { exitAfterDrain } from './shutdown.js';
import { heartbeatVersion, xstateFastPath } from '../admin/version.js';
import { WorkerPool, type WorkerPoolOptions } from './workers/pool.js';
import { raiseListenBacklog } from './listen-backlog.js';

/** The soft open-file limit, which bounds how many streams one process can hold. */
function openFileLimit(): number {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    const soft = Number(line?.split(/\s{2,}/)[1]);
    return Number.isFinite(soft) ? soft : 20_000;
  } catch {
    return 20_000;
  }
}

function readConfig(): Config {
  try {
    process.loadEnvFile('.env');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  return loadConfig(process.env, openFileLimit());
}

/** Our version and Node's, for the start line. */
function versions(): Record<string, string> {
  const heartbeat = heartbeatVersion();
  return heartbeat ? { heartbeat, node: process.version } : { node: process.version };
}

/**
 * What serves the public port: one HeartbeatService in this thread (WORKERS=1), or a WorkerPool
 * of them in worker threads. The process's start and stop path is the same for both.
 */
interface Instances {
  /** The admin port's view of them. */
  readonly source: AdminSource;
  /** Starts listening; resolves with the public port and the store's kind. */
  start(): Promise<{ port: number; store: StoreKind }>;
  /** Streams open now (for the shutdown line); asked before stop() so every instance still has them. */
  streams(): Promise<number>;
  /** Drains gracefully; resolves with each instance's exit code (0: drained cleanly). */
  stop(): Promise<number[]>;
}

/** WORKERS=1: everything in this thread, no worker thread at all. */
async function inThisThread(config: Config, log: Logger): Promise<Instances> {
  const store = await connectStore(config.redis, storeOptionsOf(config), log);
  const service = new HeartbeatService({ config, store, log });
  return {
    source: localSource(service),
    start: async () => ({ port: await service.listen(), store: store.kind }),
    streams: () => Promise.resolve(service.subscriptions.size()),
    stop: async () => {
      await service.shutdown();
      return [0];
    },
  };
}

/**
 * The store the workers use, decided once here: REDIS=memory, or REDIS unset and nothing answering
 * on 127.0.0.1:6379, puts the one embedded store in this thread, relayed to every worker;
 * otherwise each worker connects to Redis itself.
 */
async function workerStore(config: Config, log: Logger): Promise<{ store: WorkerPoolOptions['store']; relay: RelayServer | null }> {
  const target = config.redis;
  if (target.kind !== 'embedded' && target.kind !== 'auto') return { store: { kind: 'redis', target }, relay: null };
  // connectStore makes (and logs) the auto-fallback decision exactly as with WORKERS=1.
  const store = await connectStore(target, storeOptionsOf(config), log);
  if (target.kind === 'auto' && store.kind !== 'embedded') {
    // Redis answered on the default address: each worker connects to it; this probe is done.
    await store.close();
    return { store: { kind: 'redis', target: { kind: 'standalone', url: target.url } }, relay: null };
  }
  const relay = new RelayServer(store);
  return { store: { kind: 'relay', server: relay }, relay };
}

/**
 * WORKERS > 1: this thread owns the signals, the admin port and (embedded mode) the store; the
 * public port is served by the worker threads. A worker that dies unasked takes the process down
 * (`onWorkerExit`: exit code 1, after the other workers drained) for the orchestrator to restart it.
 */
async function inWorkers(config: Config, log: Logger, onWorkerExit: (index: number, code: number) => void): Promise<Instances> {
  const { store, relay } = await workerStore(config, log);
  const pool = new WorkerPool({ config, log, store, onWorkerExit });
  return {
    source: pool,
    start: () => pool.start(),
    streams: async () => (await pool.health()).reduce((n, i) => n + i.streams, 0),
    stop: async () => {
      const codes = await pool.shutdown();
      await relay?.close().catch(() => {});
      return codes;
    },
  };
}

async function run(config: Config, log: Logger): Promise<void> {
  const loadError = uwsLoadError();
  if (loadError) {
    log.fatal(
      { err: loadError, node: process.version, abi: process.versions.modules, platform: `${process.platform}-${process.arch}` },
      'uWebSockets.js has no native binary that loads on this Node/platform (heartbeat runs on Node 22 or 20, on glibc Linux). Refusing to start.',
    );
    process.exit(1);
  }
  const native = isNativeUws();
  if (!native && !config.allowUwsFallback) {
    log.fatal(
      'uWebSockets.js could not load its native binary for this Node/glibc and fell back to its JS shim, ' +
        'which is many times slower and has no real backpressure. Refusing to start; set ALLOW_UWS_FALLBACK=1 to run anyway.',
    );
    process.exit(1);
  }
  let admin: AdminServer | null = null;
  let stopping = false;
  let exitCode = 0;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    // Asked before the shutdown message, so each instance answers with its streams still open.
    void instances.streams().then((streams) => log.info({ signal, streams, workers: config.workers }, 'shutting down'));
    const stopped = instances.stop();
    exitAfterDrain(
      async () => {
        const codes = await stopped;
        if (codes.some((code) => code !== 0)) exitCode = 1;
        // Last: /readyz answers "shutting down" for the whole drain. Every instance has closed
        // its sockets by now: nothing of uWS is left open but the admin port.
        admin?.close();
        if (exitCode === 0) log.info('shutdown complete');
        else log.error({ codes }, 'shutdown complete, exiting with code 1');
        return exitCode;
      },
      { timeoutSeconds: config.shutdownTimeoutSeconds, log, exit: (code) => process.exit(code) },
    );
  };
  const instances =
    config.workers > 1
      ? await inWorkers(config, log, (index, code) => {
          log.error({ worker: index, code }, 'worker exited unexpectedly: stopping the process (exit code 1)');
          exitCode = 1;
          stop('worker exit');
        })
      : await inThisThread(config, log);
  // Signal handlers before listening: a signal that arrives while starting must still shut down cleanly.
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  try {
    const started = await instances.start();
    if (stopping) return;
    // Every worker's listening socket is this process's: one call sizes all their queues.
    const queue = await raiseListenBacklog(started.port, config.listenBacklog);
    if ('reason' in queue)
      log.warn({ listenBacklog: queue.backlog, reason: queue.reason }, "listen queue left at uSockets' 512 (LISTEN_BACKLOG not applied)");
    admin = config.adminListen ? await startAdminServer({ source: instances.source, listen: config.adminListen, log }) : null;
    if (stopping) return;
    const cpus = availableCpus();
    log.info(
      {
        listen: formatAddress(config.listen.host, started.port),
        listenBacklog: queue.backlog,
        admin: admin?.address ?? 'disabled',
        store: started.store,
        workers: config.workers,
        // What WORKERS=auto counts, whatever WORKERS is: the CPUs this container may use, and why.
        cpus: cpus.count,
        cpusFrom: cpus.from,
        uwsNative: native,
        xstateFastPath: xstateFastPath(),
        ...versions(),
      },
      'heartbeat started',
    );
  } catch (error) {
    // Instances that did start hold sockets: they must close them before the process exits.
    log.fatal({ err: error }, 'heartbeat failed to start');
    exitCode = 1;
    stop('start failed');
  }
}

let config: Config;
try {
  config = readConfig();
} catch (error) {
  if (error instanceof ConfigError) {
    process.stderr.write(`heartbeat: ${error.message}\n`);
    process.exit(2);
  }
  throw error;
}
const log = createLogger(config.logLevel);
run(config, log).catch((error: unknown) => {
  log.fatal({ err: error }, 'heartbeat failed to start');
  process.exit(1);
});
