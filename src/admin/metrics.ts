import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { AdminSource, InstanceSnapshot } from './source.js';

export interface Metrics {
  readonly registry: Registry;
  readonly contentType: string;
  /** Samples every instance once, then renders the Prometheus text. */
  metrics(): Promise<string>;
}

/**
 * The Prometheus registry of `/metrics`: a registry of its own (not prom-client's global one).
 * Every heartbeat_* value is read when a scrape asks, from one plain-data snapshot per instance
 * (the service's counters and live objects), so nothing here costs anything per ping or delivery.
 * Every heartbeat_* series carries a `worker` label ("0", "1", …; just "0" with WORKERS=1):
 * `sum without(worker) (…)` gives the process's totals. Counters mirrored this way are reset and
 * re-incremented to the current totals on each scrape.
 */
export function createMetrics(source: AdminSource): Metrics {
  const registry = new Registry();
  const registers = [registry];
  // Node's own, for the process (memory, CPU, file descriptors) and the thread that serves the
  // admin port (heap, event loop): nodejs_eventloop_lag_*, process_resident_memory_bytes, …
  collectDefaultMetrics({ register: registry });

  // The snapshots of the scrape in progress; each metric's collect() reads them.
  let instances: readonly InstanceSnapshot[] = [];
  const each = (fn: (instance: InstanceSnapshot, worker: string) => void) => {
    for (const instance of instances) if (!instance.absent) fn(instance, String(instance.worker));
  };

  // One series per worker, read from its snapshot: a gauge is set, a mirrored counter re-counted.
  const perWorker = (kind: 'gauge' | 'counter') => (name: string, help: string, read: (i: InstanceSnapshot) => number) => {
    const config = { name, help, labelNames: ['worker'] as const, registers };
    if (kind === 'gauge') return new Gauge({ ...config, collect() { this.reset(); each((i, worker) => this.set({ worker }, read(i))); } });
    return new Counter({ ...config, collect() { this.reset(); each((i, worker) => this.inc({ worker }, read(i))); } });
  };
  const gauge = perWorker('gauge');
  const counter = perWorker('counter');

  gauge(
    'heartbeat_streams_open',
    'SSE streams open on this worker (one subscription actor each).',
    (i) => i.streams,
  );
  gauge(
    'heartbeat_watched_users',
    'Users watched by at least one stream of this worker.',
    (i) => i.watchedUsers,
  );
  new Gauge({
    name: 'heartbeat_actors',
    help: 'Live actors by machine and current state (every state listed, 0 when empty).',
    labelNames: ['machine', 'state', 'worker'] as const,
    registers,
    collect() {
      this.reset();
      each((i, worker) => {
        for (const [machine, counts] of Object.entries(i.actors)) {
          for (const [state, n] of Object.entries(counts)) this.set({ machine, state, worker }, n);
        }
      });
    },
  });
  new Counter({
    name: 'heartbeat_pings_total',
    help: 'POST /ping answered, by HTTP status and, for refusals, the error code (reason).',
    labelNames: ['status', 'reason', 'worker'] as const,
    registers,
    collect() {
      this.reset();
      each((i, worker) => {
        for (const [key, n] of Object.entries(i.pings)) {
          const [status, reason] = key.split(':');
          this.inc(reason ? { status, reason, worker } : { status, worker }, n);
        }
      });
    },
  });
  new Counter({
    name: 'heartbeat_streams_refused_total',
    help: 'GET /subscribe refused, by error code (reason): TOO_MANY_STREAMS, TOO_MANY_CONNECTIONS, SHUTTING_DOWN, CLAIM_* (a bad or untrusted claim).',
    labelNames: ['reason', 'worker'] as const,
    registers,
    collect() {
      this.reset();
      each((i, worker) => {
        for (const [reason, n] of Object.entries(i.streamsRefused)) this.inc({ reason, worker }, n);
      });
    },
  });
  counter(
    'heartbeat_deliveries_total',
    'Presence events handed to subscription actors (one per watching stream per ping).',
    (i) => i.deliveries,
  );
  counter(
    'heartbeat_coalesced_total',
    'Presence events dropped because a newer ping of the same user superseded them while the stream was congested or replaying.',
    (i) => i.coalesced,
  );
  counter(
    'heartbeat_slow_clients_closed_total',
    'Streams closed because they stayed congested longer than SLOW_CLIENT_TIMEOUT.',
    (i) => i.slowClientsClosed,
  );
  gauge(
    'heartbeat_store_up',
    "Whether this worker's presence store (Redis) is usable: 1 connected and answering, 0 not.",
    (i) => (i.storeUp ? 1 : 0),
  );
  counter(
    'heartbeat_store_recoveries_total',
    'Times the presence store came back after being unavailable (reconnected and resubscribed).',
    (i) => i.storeRecoveries,
  );
  gauge(
    'heartbeat_pubsub_channels',
    'Pub/sub channels this worker is subscribed to (one per watched user, one more per user watched by its own devices).',
    (i) => i.channels,
  );

  return {
    registry,
    get contentType() {
      return registry.contentType;
    },
    async metrics() {
      instances = await source.snapshots();
      return registry.metrics();
    },
  };
}
