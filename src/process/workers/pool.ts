import { MessageChannel, Worker, type WorkerOptions } from 'node:worker_threads';
import { StreamCount } from '../../streams/stream-count.js';
import { WatcherStreams } from '../../streams/watcher-streams.js';
import { absentSnapshot, type AdminSource, type InstanceHealth, type InstanceSnapshot } from '../../admin/source.js';
import type { Config } from '../config.js';
import { listen } from '../../http/listen.js';
import { PortRequests } from '../../store/port-requests.js';
import { uWS } from '../../http/uws.js';
import type { Logger } from '../logger.js';
import type { RelayServer } from '../../store/relay.js';
import type { StoreKind } from '../../store/types.js';
import type { FromWorker, ToWorker, WorkerData, WorkerStore } from './protocol.js';

const FROM_SOURCE = import.meta.url.endsWith('.ts');
const WORKER_URL = new URL(FROM_SOURCE ? './worker.ts' : './worker.js', import.meta.url);

/**
 * A worker thread running src/process/workers/worker.ts (from dist/: the compiled worker.js). From source
 * (tsx: tests, `npm run dev`) the worker inherits `--import tsx` through process.execArgv, but on
 * Node 20 the loader hooks it registers do not apply to a worker's modules ("Unknown file
 * extension .ts"), so a two-line bootstrap registers tsx in the worker itself, then imports it.
 */
function startWorker(options: WorkerOptions): Worker {
  if (!FROM_SOURCE) return new Worker(WORKER_URL, options);
  const bootstrap =
    `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))})` +
    `.then(({ register }) => { register(); return import(${JSON.stringify(WORKER_URL.href)}); });`;
  return new Worker(bootstrap, { ...options, eval: true });
}

/** How long the admin port waits for a worker's snapshot before calling it unresponsive. */
const SNAPSHOT_TIMEOUT_MS = 2_000;

export interface WorkerPoolOptions {
  config: Config;
  log: Logger;
  /** The Redis target every worker connects to itself, or the main thread's embedded store. */
  store: { kind: 'redis'; target: Extract<WorkerStore, { kind: 'redis' }>['target'] } | { kind: 'relay'; server: RelayServer };
  /** A worker ended without being told to (a crash, or a start that failed); not called once stopping. */
  onWorkerExit(index: number, code: number): void;
}

interface Member {
  readonly index: number;
  readonly worker: Worker;
  readonly exited: Promise<number>;
  alive: boolean;
}

/**
 * WORKERS uWebSockets.js apps in worker threads of this process, all listening on the same port
 * (uWS sets SO_REUSEPORT on a non-zero port; the kernel spreads connections over them). Also the
 * admin port's source when WORKERS > 1: each sample is a request/response to every worker.
 */
export class WorkerPool implements AdminSource {
  readonly workers: number;
  private readonly members: Member[] = [];
  /** Open streams of every worker, against MAX_CONNECTIONS. */
  private readonly streamCount = new StreamCount();
  /** Open streams per watcher of every worker, against MAX_STREAMS_PER_USER. */
  private readonly watcherStreams: WatcherStreams;
  private readonly samples = new PortRequests<InstanceHealth | InstanceSnapshot>(SNAPSHOT_TIMEOUT_MS);
  private stopping = false;

  constructor(private readonly options: WorkerPoolOptions) {
    this.workers = options.config.workers;
    this.watcherStreams = new WatcherStreams(options.config.maxConnections);
  }

  /**
   * Starts every worker; resolves with the public port and the store's mode. Worker 0 starts
   * first; the others bind the port it bound. With LISTEN port 0, a free port is picked here first:
   * uWS sets SO_REUSEPORT only when it is given a concrete port, so a socket bound to port 0
   * cannot be shared.
   */
  async start(): Promise<{ port: number; store: StoreKind }> {
    const { config } = this.options;
    const listen = config.listen.port === 0 ? { ...config.listen, port: await pickPort(config.listen.host) } : config.listen;
    const first = await this.spawn(0, listen);
    if (this.stopping) return first; // a signal while worker 0 started: start no more
    const rest = await Promise.all(Array.from({ length: this.workers - 1 }, (_, i) => this.spawn(i + 1, { ...listen, port: first.port })));
    for (const started of rest) {
      if (started.port !== first.port) throw new Error(`worker bound port ${started.port}, not ${first.port}`);
    }
    return first;
  }

  /** Tells every live worker to shut down gracefully; resolves with their exit codes. */
  async shutdown(): Promise<number[]> {
    this.stopping = true;
    for (const member of this.members) if (member.alive) member.worker.postMessage({ type: 'shutdown' } satisfies ToWorker);
    return Promise.all(this.members.map((m) => m.exited));
  }

  health(): Promise<InstanceHealth[]> {
    return this.sample('health');
  }

  snapshots(): Promise<InstanceSnapshot[]> {
    return this.sample('snapshot') as Promise<InstanceSnapshot[]>;
  }

  private async sample(type: 'health' | 'snapshot'): Promise<(InstanceHealth | InstanceSnapshot)[]> {
    const answers = await Promise.all(
      this.members.map((member) => {
        if (!member.alive) return Promise.resolve(gone(member.index, type));
        return this.samples
          .send((id) => member.worker.postMessage({ type, id } satisfies ToWorker))
          .catch(() => ({ ...gone(member.index, type), closing: false, unresponsive: true }));
      }),
    );
    // Once the process is stopping, /readyz says so even for a worker that has not heard it yet.
    return this.stopping ? answers.map((a) => ({ ...a, closing: true, ready: false })) : answers;
  }

  private spawn(index: number, listen: Config['listen']): Promise<{ port: number; store: StoreKind }> {
    const { config, log, store } = this.options;
    const transfer = [];
    let workerStore: WorkerStore;
    if (store.kind === 'relay') {
      const channel = new MessageChannel();
      store.server.attach(channel.port1);
      workerStore = { kind: 'relay', port: channel.port2 };
      transfer.push(channel.port2);
    } else {
      workerStore = store;
    }
    const data: WorkerData = {
      index,
      config: { ...config, listen },
      store: workerStore,
      // MAX_CONNECTIONS bounds the process (its open-file limit): one count for every worker.
      streamCount: this.streamCount.shared,
      // MAX_STREAMS_PER_USER too: a user's connections land on any worker.
      watcherStreams: this.watcherStreams.shared,
    };
    const worker = startWorker({ workerData: data, transferList: transfer, name: `heartbeat-${index}` });
    log.debug({ worker: index, maxConnections: data.config.maxConnections }, 'worker starting');
    const exited = new Promise<number>((resolve) => worker.once('exit', resolve));
    const member: Member = { index, worker, exited, alive: true };
    this.members.push(member);

    return new Promise((resolve, reject) => {
      let started = false;
      worker.on('message', (message: FromWorker) => {
        switch (message.type) {
          case 'listening':
            started = true;
            log.debug({ worker: index, port: message.port, store: message.store }, 'worker listening');
            resolve({ port: message.port, store: message.store });
            return;
          case 'failed':
            reject(new Error(`worker ${index}: ${message.error}`));
            return;
          case 'health':
            this.samples.answer(message.id, message.health);
            return;
          case 'snapshot':
            this.samples.answer(message.id, message.snapshot);
            return;
        }
      });
      // An exception that escaped the worker's own handler (while loading its modules).
      worker.on('error', (error) => log.fatal({ err: error, worker: index }, 'worker crashed'));
      void exited.then((code) => {
        member.alive = false;
        log.debug({ worker: index, code }, 'worker exited');
        if (!started) reject(new Error(`worker ${index} exited with code ${code} before listening`));
        if (!this.stopping) this.options.onWorkerExit(index, code);
      });
    });
  }
}

function gone(worker: number, type: 'health' | 'snapshot'): InstanceHealth | InstanceSnapshot {
  const health: InstanceHealth = { worker, ready: false, closing: true, storeUp: false, streams: 0, absent: true };
  return type === 'health' ? health : absentSnapshot(health);
}

/** A port free on `host` a moment ago, picked by the OS (uWS binds port 0 without SO_REUSEPORT). */
async function pickPort(host: string): Promise<number> {
  const { socket, port } = await listen(uWS.App(), { host, port: 0 }, 'LISTEN');
  uWS.us_listen_socket_close(socket);
  return port;
}
