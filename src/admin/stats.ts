import { LatencyHistogram } from './latency-histogram.js';
import { WatchStats } from './watch-stats.js';
import { noCloses, type CloseReason } from '../streams/subscriptions.js';

/**
 * `POST /ping` from request to answer. A ping is answered once Redis acknowledged it: a round trip
 * (sub-millisecond on a LAN, more with REDIS_WAIT_REPLICAS), plus queueing under load; a store that
 * is away is answered 503 within a second, so the top bounds catch outages.
 */
export const PING_BOUNDS = Object.freeze([0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]);

/**
 * From the ping's store (its seq is Redis' clock) to its writes on this instance's sockets: the
 * publish, the network, and the fan-out, which for a user watched by thousands of streams takes a
 * large fraction of a second (BENCHMARKS.md, hot). Includes the clock skew between Redis and us.
 */
export const DELIVERY_LAG_BOUNDS = Object.freeze([0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]);

/**
 * One ping's fan-out on this instance, from the bus message to the end of its socket writes: it
 * grows with the streams watching the user, from sub-millisecond (a handful) to a large fraction
 * of a second (one user watched by every stream of the instance: BENCHMARKS.md, `hot`).
 */
export const FAN_OUT_BOUNDS = Object.freeze([0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1]);

/**
 * Counters the service keeps about itself, read by the metrics endpoint and the tests. Plain
 * numbers: incrementing must cost nothing on the delivery path. Histograms are observed once per
 * ping, never per delivery.
 */
export class Stats {
  /** Pings answered, by `<HTTP status>` or `<HTTP status>:<error code>`. */
  readonly pings = new Map<string, number>();
  /** Erasures (`DELETE /ping`) answered, by `<HTTP status>` or `<HTTP status>:<error code>`. */
  readonly erasures = new Map<string, number>();
  /** `POST /ping` durations, request to answer. */
  readonly pingSeconds = new LatencyHistogram(PING_BOUNDS);
  /** Per ping received from the bus: its store (Redis time) to its socket writes here. */
  readonly deliveryLagSeconds = new LatencyHistogram(DELIVERY_LAG_BOUNDS);
  /** Per ping received from the bus: the local fan-out, bus message to socket writes. */
  readonly fanOutSeconds = new LatencyHistogram(FAN_OUT_BOUNDS);
  /** Presence events handed to subscription actors. */
  deliveries = 0;
  /** Presence events dropped as superseded by a newer ping of the same user (congested or replaying). */
  coalesced = 0;
  /** Streams opened (a subscription actor started). */
  streamsOpened = 0;
  /** Streams closed, by reason. */
  readonly streamsClosed: Record<CloseReason, number> = noCloses();
  /** Stream requests refused, by `<HTTP status>:<error code>`. */
  readonly streamsRefused = new Map<string, number>();
  /** Times the store came back after being unavailable. */
  storeRecoveries = 0;
  /** WATCH_POLICY=contacts: decisions, contact cache lookups, backend-core calls. */
  readonly watch = new WatchStats();

  countPing(status: number, code: string | undefined, seconds: number): void {
    countByCode(this.pings, status, code);
    this.pingSeconds.observe(seconds);
  }

  countErasure(status: number, code: string | undefined): void {
    countByCode(this.erasures, status, code);
  }

  countRefusedStream(status: number, code: string): void {
    countByCode(this.streamsRefused, status, code);
  }
}

/** One more answer under `<HTTP status>` or `<HTTP status>:<error code>`. */
function countByCode(counts: Map<string, number>, status: number, code: string | undefined): void {
  const key = code ? `${status}:${code}` : String(status);
  counts.set(key, (counts.get(key) ?? 0) + 1);
}
