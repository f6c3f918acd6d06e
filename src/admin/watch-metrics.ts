import { Counter, Gauge, type Registry } from 'prom-client';
import type { HistogramData } from './latency-histogram.js';
import type { WatchFigures } from './watch-stats.js';

type Each = (fn: (figures: WatchFigures, worker: string) => void) => void;

export interface WatchMetricsParts {
  readonly registers: Registry[];
  /** Visits every present instance's figures. */
  readonly each: Each;
  /** Registers a histogram read from each instance (metrics.ts's histogramMetric). */
  readonly histogram: (name: string, help: string, read: (figures: WatchFigures) => HistogramData) => void;
}

/** A counter by one label whose values are the keys of a figure's record. */
function counterBy(parts: WatchMetricsParts, name: string, help: string, label: string, read: (f: WatchFigures) => Record<string, number>) {
  return new Counter({
    name,
    help,
    labelNames: [label, 'worker'],
    registers: parts.registers,
    collect() {
      this.reset();
      parts.each((f, worker) => {
        for (const [value, n] of Object.entries(read(f))) this.inc({ [label]: value, worker }, n);
      });
    },
  });
}

/**
 * WATCH_POLICY=contacts's series (zero with `anyone`): decisions by result, contact cache hits and
 * misses and its size, backend-core's latency and its failures by cause.
 */
export function registerWatchMetrics(parts: WatchMetricsParts): void {
  counterBy(
    parts,
    'heartbeat_watch_decisions_total',
    'WATCH_POLICY=contacts decisions on presence requests, by result: allowed, not_a_contact (403), unavailable (503 CONTACTS_UNAVAILABLE).',
    'result',
    (f) => f.decisions,
  );
  counterBy(
    parts,
    'heartbeat_contacts_cache_lookups_total',
    'Contact cache lookups of decisions about other users, by result: hit (a fresh set answered), miss (backend-core was asked or its answer awaited).',
    'result',
    (f) => ({ hit: f.cacheHits, miss: f.cacheMisses }),
  );
  counterBy(
    parts,
    'heartbeat_contacts_failures_total',
    "Failed calls to backend-core's contact list, by cause: timeout (CONTACTS_TIMEOUT), refused, status (not 2xx), invalid (not a JSON array of contacts), other.",
    'cause',
    (f) => f.failures,
  );
  parts.histogram(
    'heartbeat_contacts_request_duration_seconds',
    "Calls to backend-core's contact list (CONTACTS_URL), from request to parsed answer or failure.",
    (f) => f.backendSeconds,
  );
  const gauge = (name: string, help: string, read: (f: WatchFigures) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['worker'],
      registers: parts.registers,
      collect() {
        this.reset();
        parts.each((f, worker) => this.set({ worker }, read(f)));
      },
    });
  gauge('heartbeat_contacts_cached_watchers', "Watchers whose contact set this worker's contact cache holds.", (f) => f.cachedWatchers);
  gauge(
    'heartbeat_contacts_cache_bytes',
    "The contact cache's estimated heap on this worker (bounded at 64 MiB per worker).",
    (f) => f.cacheBytes,
  );
}
