import { parentPort, workerData } from 'node:worker_threads';
import { healthOf, snapshotOf } from '../../admin/source.js';
import { createLogger } from '../logger.js';
import { storeOptionsOf, connectStore } from '../../store/connect.js';
import { RelayStore } from '../../store/relay.js';
import type { Store } from '../../store/types.js';
import { HeartbeatService } from '../service.js';
import { StreamCount } from '../../streams/stream-count.js';
import { WatcherStreams } from '../../streams/watcher-streams.js';
import { exitAfterDrain } from '../shutdown.js';
import type { FromWorker, ToWorker, WorkerData } from './protocol.js';

/**
 * One worker thread (WORKERS > 1): a whole HeartbeatService (its own uWS app on the shared port,
 * hub, ping actor, subscription actors and Redis connections). The main thread starts it, asks it
 * for admin snapshots and tells it to shut down; it never prints the start line itself.
 */
if (!parentPort) throw new Error('src/process/workers/worker.ts runs only as a worker thread');
const port = parentPort;
const { index, config, store: access, streamCount, watcherStreams } = workerData as WorkerData;
const log = createLogger(config.logLevel).child({ worker: index });
const post = (message: FromWorker) => port.postMessage(message);

let service: HeartbeatService | null = null;
let stopping = false;
let exiting = false;

/**
 * Leaves the thread. Every uWS socket must be closed first: uWS aborts the whole process
 * ("uv_loop_close() while having open handles") when a worker's loop closes with one open.
 */
function exit(code: number): void {
  if (exiting) return;
  exiting = true;
  try {
    service?.closeConnections();
  } finally {
    process.exit(code);
  }
}

// A bug outside a request handler: log it, drop this worker's sockets (its state is suspect) and
// exit non-zero; the main thread then shuts the other workers down and exits non-zero too.
process.on('uncaughtException', (error) => {
  log.fatal({ err: error }, 'worker crashed');
  exit(1);
});

function shutdown(): void {
  if (stopping) return;
  stopping = true;
  if (!service) return; // still starting: start() finishes and shuts down
  // The main thread's deadline is SHUTDOWN_TIMEOUT; give up a little before it, so that this
  // thread still closes its sockets and the process exits instead of aborting.
  const running = service;
  log.debug({ streams: running.subscriptions.size() }, 'worker draining');
  exitAfterDrain(
    async () => {
      await running.shutdown();
      return 0;
    },
    { timeoutSeconds: config.shutdownTimeoutSeconds, earlierByMs: 500, log, exit },
  );
}

port.on('message', (message: ToWorker) => {
  switch (message.type) {
    case 'health':
      if (service) post({ type: 'health', id: message.id, health: healthOf(service, index) });
      return;
    case 'snapshot':
      if (service) post({ type: 'snapshot', id: message.id, snapshot: snapshotOf(service, index) });
      return;
    case 'shutdown':
      shutdown();
      return;
  }
});

async function start(): Promise<void> {
  const store: Store =
    access.kind === 'relay' ? new RelayStore(access.port) : await connectStore(access.target, storeOptionsOf(config), log);
  service = new HeartbeatService({
    config,
    store,
    log,
    streamCount: new StreamCount(streamCount),
    watcherStreams: new WatcherStreams(config.maxConnections, watcherStreams),
  });
  const bound = await service.listen();
  post({ type: 'listening', port: bound, store: store.kind });
  if (stopping) {
    stopping = false;
    shutdown();
  }
}

start().catch((error: unknown) => {
  post({ type: 'failed', error: error instanceof Error ? error.message : String(error) });
  log.fatal({ err: error }, 'worker failed to start');
  exit(1);
});
