import type { MessagePort } from 'node:worker_threads';
import type { InstanceHealth, InstanceSnapshot } from '../../admin/source.js';
import type { Config, RedisTarget } from '../config.js';
import type { StoreKind } from '../../store/types.js';

/**
 * The store a worker uses, decided once by the main thread (the auto-fallback included): a Redis
 * target it connects to itself, or the main thread's embedded store through a relay port.
 */
export type WorkerStore =
  | { readonly kind: 'redis'; readonly target: Exclude<RedisTarget, { kind: 'embedded' } | { kind: 'auto' }> }
  | { readonly kind: 'relay'; readonly port: MessagePort };

/** `workerData` of a worker thread (structured-cloned; the relay port is transferred). */
export interface WorkerData {
  readonly index: number;
  /** The process's configuration with the concrete port. */
  readonly config: Config;
  readonly store: WorkerStore;
  /** The process's count of open streams (StreamCount), shared by every worker: MAX_CONNECTIONS bounds the process. */
  readonly streamCount: SharedArrayBuffer;
  /** Open streams per watcher (WatcherStreams), shared by every worker: MAX_STREAMS_PER_USER bounds the process. */
  readonly watcherStreams: SharedArrayBuffer;
}

/** Main thread → worker. */
export type ToWorker =
  { readonly type: 'health'; readonly id: number } | { readonly type: 'snapshot'; readonly id: number } | { readonly type: 'shutdown' };

/** Worker → main thread. */
export type FromWorker =
  | { readonly type: 'listening'; readonly port: number; readonly store: StoreKind }
  | { readonly type: 'failed'; readonly error: string }
  | { readonly type: 'health'; readonly id: number; readonly health: InstanceHealth }
  | { readonly type: 'snapshot'; readonly id: number; readonly snapshot: InstanceSnapshot };
