import { pingMachine } from '../../machines/ping.js';
import { subscriptionMachine } from '../../machines/subscription.js';
import { subscriptionBucketMachine } from '../../machines/subscription-bucket.js';
import { leafStates, stateKeys } from './mermaid.js';
import { LatencyHistogram, type HistogramData } from './latency-histogram.js';
import type { RuntimeFigures, RuntimeSampler } from './runtime-sampler.js';
import { DELIVERY_LAG_BOUNDS, FAN_OUT_BOUNDS, PING_BOUNDS, type Stats } from './stats.js';
import { WatchStats, type WatchFigures } from './watch-stats.js';
import type { ContactsPolicy } from '../watch/contacts-policy.js';
import type { PingActor } from '../pings/ping-actor.js';
import type { Store } from '../store/types.js';
import type { Hub } from '../streams/hub.js';
import { noCloses, type CloseReason, type Subscriptions } from '../streams/subscriptions.js';

/**
 * The parts of a service (src/process/service.ts) the admin port samples: read-only, when asked,
 * never per event. Named here, so the admin port depends on the parts and not on the process.
 */
export interface SampledService {
  readonly subscriptions: Pick<Subscriptions, 'size' | 'countByState' | 'bucketParents'>;
  readonly pingActor: PingActor;
  readonly hub: Pick<Hub, 'watchedUsers'>;
  readonly stats: Stats;
  readonly runtime: Pick<RuntimeSampler, 'sample'>;
  readonly store: Pick<Store, 'isAvailable' | 'channelCount'>;
  /** WATCH_POLICY=contacts: its contact cache's size; null with `anyone`. */
  readonly watchPolicy: Pick<ContactsPolicy, 'cache'> | null;
  isReady(): boolean;
  isClosing(): boolean;
}

/** What `/readyz` needs of one instance (one worker thread, or the whole process with WORKERS=1). Cheap. */
export interface InstanceHealth {
  /** Worker index, 0 with WORKERS=1. */
  readonly worker: number;
  readonly ready: boolean;
  readonly closing: boolean;
  readonly storeUp: boolean;
  /** Open SSE streams (one subscription actor each). */
  readonly streams: number;
  /** The worker did not answer in time (only set by the worker pool). */
  readonly unresponsive?: boolean;
  /** No data: the worker has exited or did not answer (only set by the worker pool); metrics skip it. */
  readonly absent?: boolean;
}

/**
 * Everything the admin port shows of one instance, as plain data: it crosses worker-thread
 * boundaries (structured clone) when WORKERS > 1.
 */
export interface InstanceSnapshot extends InstanceHealth {
  readonly watchedUsers: number;
  readonly channels: number;
  /** Live actors per machine id and state, every state listed (0 when empty). */
  readonly actors: Record<string, Record<string, number>>;
  /** `POST /ping` answers by `<HTTP status>` or `<HTTP status>:<error code>`. */
  readonly pings: Record<string, number>;
  /** `DELETE /ping` answers by `<HTTP status>` or `<HTTP status>:<error code>`. */
  readonly erasures: Record<string, number>;
  readonly pingSeconds: HistogramData;
  readonly deliveryLagSeconds: HistogramData;
  readonly fanOutSeconds: HistogramData;
  readonly deliveries: number;
  readonly coalesced: number;
  readonly streamsOpened: number;
  readonly streamsClosed: Record<CloseReason, number>;
  /** Stream requests refused, by `<HTTP status>:<error code>`. */
  readonly streamsRefused: Record<string, number>;
  readonly storeRecoveries: number;
  /** WATCH_POLICY=contacts's figures (zero with `anyone`). */
  readonly watch: WatchFigures;
  /** This thread's event-loop delay and heap. */
  readonly runtime: RuntimeFigures;
  /** Subscription actors held by bucket parents; equals `streams` unless a finished child was never stopped. */
  readonly bucketChildren: number;
}

/**
 * What the admin port reads: one entry per instance. Local with WORKERS=1; a request/response
 * over the worker threads' message ports otherwise.
 */
export interface AdminSource {
  /** How many instances (worker threads) serve the public port. */
  readonly workers: number;
  health(): Promise<InstanceHealth[]>;
  snapshots(): Promise<InstanceSnapshot[]>;
}

const SUBSCRIPTION_STATES = leafStates(subscriptionMachine);
const PING_STATES = leafStates(pingMachine);
const BUCKET_PARENT_STATES = leafStates(subscriptionBucketMachine);

function zeros(states: readonly string[]): Record<string, number> {
  return Object.fromEntries(states.map((s) => [s, 0]));
}

/**
 * Live actors per machine id and state, every state of the machine listed (0 when empty):
 * the subscription actors (one per open stream), their bucket parents and the one ping actor.
 */
function actorCounts(source: SampledService): Record<string, Record<string, number>> {
  const subscription = zeros(SUBSCRIPTION_STATES);
  for (const [state, n] of Object.entries(source.subscriptions.countByState())) subscription[state] = (subscription[state] ?? 0) + n;
  const ping = zeros(PING_STATES);
  for (const state of stateKeys(source.pingActor.getSnapshot().value)) ping[state] = (ping[state] ?? 0) + 1;
  const bucketParents = zeros(BUCKET_PARENT_STATES);
  bucketParents[BUCKET_PARENT_STATES[0]] += source.subscriptions.bucketParents.count();
  return { [subscriptionMachine.id]: subscription, [subscriptionBucketMachine.id]: bucketParents, [pingMachine.id]: ping };
}

export function healthOf(service: SampledService, worker = 0): InstanceHealth {
  return {
    worker,
    ready: service.isReady(),
    closing: service.isClosing(),
    storeUp: service.store.isAvailable(),
    streams: service.subscriptions.size(),
  };
}

export function snapshotOf(service: SampledService, worker = 0): InstanceSnapshot {
  const { stats } = service;
  return {
    ...healthOf(service, worker),
    watchedUsers: service.hub.watchedUsers(),
    channels: service.store.channelCount(),
    actors: actorCounts(service),
    pings: Object.fromEntries(stats.pings),
    erasures: Object.fromEntries(stats.erasures),
    pingSeconds: stats.pingSeconds.data(),
    deliveryLagSeconds: stats.deliveryLagSeconds.data(),
    fanOutSeconds: stats.fanOutSeconds.data(),
    deliveries: stats.deliveries,
    coalesced: stats.coalesced,
    streamsOpened: stats.streamsOpened,
    streamsClosed: { ...stats.streamsClosed },
    streamsRefused: Object.fromEntries(stats.streamsRefused),
    storeRecoveries: stats.storeRecoveries,
    watch: stats.watch.figures(service.watchPolicy?.cache ?? null),
    runtime: service.runtime.sample(),
    bucketChildren: service.subscriptions.bucketParents.children(),
  };
}

/** The snapshot of an instance with no data (a worker that exited or did not answer). */
export function absentSnapshot(health: InstanceHealth): InstanceSnapshot {
  return {
    ...health,
    watchedUsers: 0,
    channels: 0,
    actors: {},
    pings: {},
    erasures: {},
    pingSeconds: LatencyHistogram.empty(PING_BOUNDS),
    deliveryLagSeconds: LatencyHistogram.empty(DELIVERY_LAG_BOUNDS),
    fanOutSeconds: LatencyHistogram.empty(FAN_OUT_BOUNDS),
    deliveries: 0,
    coalesced: 0,
    streamsOpened: 0,
    streamsClosed: noCloses(),
    streamsRefused: {},
    storeRecoveries: 0,
    watch: new WatchStats().figures(null),
    runtime: { eventLoopLagP99: 0, eventLoopLagMax: 0, heapUsed: 0, heapTotal: 0 },
    bucketChildren: 0,
  };
}

/** The admin source of a single-threaded process (WORKERS=1): the service itself, as worker 0. */
export function localSource(service: SampledService): AdminSource {
  return {
    workers: 1,
    health: () => Promise.resolve([healthOf(service)]),
    snapshots: () => Promise.resolve([snapshotOf(service)]),
  };
}

export type NotReadyReason = 'shutting down' | 'store unavailable' | 'worker not responding';

/** Why the process is not ready, or null when every instance is (`/readyz`). */
export function notReadyReason(instances: readonly InstanceHealth[], expected: number): NotReadyReason | null {
  if (instances.some((i) => i.closing)) return 'shutting down';
  if (instances.some((i) => i.unresponsive) || instances.length < expected) return 'worker not responding';
  if (instances.some((i) => !i.ready)) return 'store unavailable';
  return null;
}

/** Actor counts summed over instances (`/debug/machines`). */
export function sumActors(instances: readonly InstanceSnapshot[]): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {
    [subscriptionMachine.id]: zeros(SUBSCRIPTION_STATES),
    [pingMachine.id]: zeros(PING_STATES),
  };
  for (const instance of instances) {
    for (const [machine, counts] of Object.entries(instance.actors)) {
      const into = (out[machine] ??= {});
      for (const [state, n] of Object.entries(counts)) into[state] = (into[state] ?? 0) + n;
    }
  }
  return out;
}
