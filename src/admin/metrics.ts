import { collectDefaultMetrics, Counter, Gauge, Registry, type Metric } from 'prom-client';
import type { HistogramData } from './latency-histogram.js';
import { CLOSE_REASONS } from '../streams/subscriptions.js';
import { buildInfo } from './version.js';
import type { AdminSource, InstanceSnapshot } from './source.js';
import { registerWatchMetrics } from './watch-metrics.js';

export interface Metrics {
  readonly registry: Registry;
  readonly contentType: string;
  /** Samples every instance once, then renders the Prometheus text. */
  metrics(): Promise<string>;
}

/** `<HTTP status>` or `<HTTP status>:<error code>` as the `code` and `reason` labels. */
function codeLabels(key: string): { code: string; reason?: string } {
  const [code, reason] = key.split(':');
  return reason ? { code, reason } : { code };
}

/**
 * A histogram rendered from each worker's HistogramData (prom-client's Histogram cannot be set
 * from counts kept elsewhere): `_bucket` (cumulative, with `le`), `_sum` and `_count` per worker.
 */
function histogramMetric(
  name: string,
  help: string,
  read: (i: InstanceSnapshot) => HistogramData,
  each: (fn: (i: InstanceSnapshot, worker: string) => void) => void,
) {
  return {
    name,
    help,
    type: 'histogram',
    aggregator: 'sum',
    get() {
      const values: { metricName: string; labels: Record<string, string>; value: number }[] = [];
      each((instance, worker) => {
        const data = read(instance);
        let cumulative = 0;
        data.counts.forEach((n, i) => {
          cumulative += n;
          const le = i < data.bounds.length ? String(data.bounds[i]) : '+Inf';
          values.push({ metricName: `${name}_bucket`, labels: { le, worker }, value: cumulative });
        });
        values.push({ metricName: `${name}_sum`, labels: { worker }, value: data.sum });
        values.push({ metricName: `${name}_count`, labels: { worker }, value: data.count });
      });
      return { name, help, type: 'histogram', aggregator: 'sum', values };
    },
  };
}

/**
 * The Prometheus registry of `/metrics`: a registry of its own (not prom-client's global one).
 * Every heartbeat_* value is read when a scrape asks, from one plain-data snapshot per instance
 * (the service's counters, histograms and live objects): the service only increments numbers per
 * ping, nothing per delivery. Every heartbeat_* series but heartbeat_build_info carries a `worker`
 * label ("0", "1", …; just "0" with WORKERS=1): `sum without(worker) (…)` gives the process's
 * totals. Counters mirrored this way are reset and re-incremented to the current totals on each
 * scrape. Labels take only bounded values: HTTP statuses, catalogue codes, close reasons, worker
 * indexes, machine states; never a user or client id.
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
    if (kind === 'gauge')
      return new Gauge({
        ...config,
        collect() {
          this.reset();
          each((i, worker) => this.set({ worker }, read(i)));
        },
      });
    return new Counter({
      ...config,
      collect() {
        this.reset();
        each((i, worker) => this.inc({ worker }, read(i)));
      },
    });
  };
  const gauge = perWorker('gauge');
  const counter = perWorker('counter');

  gauge('heartbeat_streams_open', 'SSE streams open on this worker (one subscription actor each).', (i) => i.streams);
  gauge(
    'heartbeat_bucket_children',
    'Subscription actors held by bucket parents on this worker; equals heartbeat_streams_open unless a finished one was never stopped.',
    (i) => i.bucketChildren,
  );
  gauge('heartbeat_watched_users', 'Users watched by at least one stream of this worker.', (i) => i.watchedUsers);
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
  new Gauge({
    name: 'heartbeat_build_info',
    help: "Always 1; the labels name the build: heartbeat version, Node version, uWebSockets.js package (name@version), whether its native binary loaded, and whether XState runs with heartbeat's fast path.",
    labelNames: ['version', 'node', 'uws', 'uws_native', 'xstate_fast_path'] as const,
    registers,
    collect() {
      this.reset();
      this.set(buildInfo(), 1);
    },
  });
  /** A counter by HTTP status (`code`) and error code (`reason`), from `<status>[:<code>]` keys. */
  const byCode = (name: string, help: string, read: (i: InstanceSnapshot) => Readonly<Record<string, number>>) =>
    new Counter({
      name,
      help,
      labelNames: ['code', 'reason', 'worker'] as const,
      registers,
      collect() {
        this.reset();
        each((i, worker) => {
          for (const [key, n] of Object.entries(read(i))) this.inc({ ...codeLabels(key), worker }, n);
        });
      },
    });
  byCode('heartbeat_pings_total', 'POST /ping answered, by HTTP status (code) and, for refusals, the error code (reason).', (i) => i.pings);
  byCode(
    'heartbeat_erasures_total',
    'DELETE /ping (erasure) answered, by HTTP status (code) and, for refusals, the error code (reason).',
    (i) => i.erasures,
  );
  const histogram = (name: string, help: string, read: (i: InstanceSnapshot) => HistogramData) =>
    registry.registerMetric(histogramMetric(name, help, read, each) as unknown as Metric);
  histogram(
    'heartbeat_ping_duration_seconds',
    'POST /ping from request to answer (a 200 only once Redis acknowledged the ping).',
    (i) => i.pingSeconds,
  );
  histogram(
    'heartbeat_delivery_lag_seconds',
    "Per ping received from the bus: from its store (Redis' clock) to its writes on this worker's sockets.",
    (i) => i.deliveryLagSeconds,
  );
  histogram(
    'heartbeat_fanout_duration_seconds',
    "Per ping received from the bus: this worker's fan-out, from the message to the end of its socket writes.",
    (i) => i.fanOutSeconds,
  );
  counter('heartbeat_streams_opened_total', 'SSE streams opened (a subscription actor started).', (i) => i.streamsOpened);
  new Counter({
    name: 'heartbeat_streams_closed_total',
    help: 'SSE streams closed, by reason: client_gone (the client went away), slow_client (congested longer than SLOW_CLIENT_TIMEOUT), shutdown, revoked (WATCH_POLICY=contacts: the watcher lost the contact).',
    labelNames: ['reason', 'worker'] as const,
    registers,
    collect() {
      this.reset();
      each((i, worker) => {
        for (const reason of CLOSE_REASONS) this.inc({ reason, worker }, i.streamsClosed[reason]);
      });
    },
  });
  byCode(
    'heartbeat_streams_refused_total',
    'GET /subscribe refused, by HTTP status (code) and error code (reason): TOO_MANY_STREAMS, TOO_MANY_CONNECTIONS, SHUTTING_DOWN, CLAIM_* (a bad or untrusted claim), ID_INVALID, ….',
    (i) => i.streamsRefused,
  );
  counter(
    'heartbeat_deliveries_total',
    'Presence events handed to subscription actors (one per ping per stream watching its user).',
    (i) => i.deliveries,
  );
  counter(
    'heartbeat_coalesced_total',
    'Presence events dropped because a newer ping of the same user superseded them while the stream was congested or replaying.',
    (i) => i.coalesced,
  );
  gauge(
    'heartbeat_store_up',
    "Whether this worker's store is usable: 1 connected and answering (the embedded store always), 0 not.",
    (i) => (i.storeUp ? 1 : 0),
  );
  counter(
    'heartbeat_store_recoveries_total',
    'Times the presence store came back after being unavailable (reconnected and resubscribed).',
    (i) => i.storeRecoveries,
  );
  gauge(
    'heartbeat_pubsub_channels',
    'Pub/sub channels this worker is subscribed to (one per watched user, and the own channel of each user who watches itself).',
    (i) => i.channels,
  );
  gauge(
    'heartbeat_eventloop_lag_p99_seconds',
    "This worker thread's event-loop delay since the previous scrape, 99th percentile.",
    (i) => i.runtime.eventLoopLagP99,
  );
  gauge(
    'heartbeat_eventloop_lag_max_seconds',
    "This worker thread's event-loop delay since the previous scrape, maximum.",
    (i) => i.runtime.eventLoopLagMax,
  );
  gauge('heartbeat_heap_used_bytes', "This worker thread's V8 heap in use.", (i) => i.runtime.heapUsed);
  gauge('heartbeat_heap_total_bytes', "This worker thread's V8 heap allocated.", (i) => i.runtime.heapTotal);

  registerWatchMetrics({
    registers,
    each: (fn) => each((i, worker) => fn(i.watch, worker)),
    histogram: (name, help, read) => histogram(name, help, (i) => read(i.watch)),
  });

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
