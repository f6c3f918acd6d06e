import { LatencyHistogram, type HistogramData } from './latency-histogram.js';
import type { ContactsFailureCause } from '../watch/contacts-client.js';
import type { WatchDecision } from '../watch/contacts-policy.js';

/**
 * backend-core's `GET /user/contact`, from request to parsed answer: a few milliseconds on a LAN;
 * the top bounds catch a backend near CONTACTS_TIMEOUT (default 2 s).
 */
const CONTACTS_BOUNDS = Object.freeze([0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5]);

const DECISIONS: readonly WatchDecision[] = ['allowed', 'not_a_contact', 'unavailable'];
const CAUSES: readonly ContactsFailureCause[] = ['timeout', 'refused', 'status', 'invalid', 'other'];

/** One instance's WATCH_POLICY figures as plain data (an admin snapshot crosses worker threads). */
export interface WatchFigures {
  readonly decisions: Record<WatchDecision, number>;
  readonly cacheHits: number;
  readonly cacheMisses: number;
  readonly backendSeconds: HistogramData;
  readonly failures: Record<ContactsFailureCause, number>;
  /** Watchers in the contact cache, and their estimated heap bytes. */
  readonly cachedWatchers: number;
  readonly cacheBytes: number;
}

/** What WATCH_POLICY=contacts counts: plain numbers, incremented per request or per backend call. */
export class WatchStats {
  readonly decisions = Object.fromEntries(DECISIONS.map((d) => [d, 0])) as Record<WatchDecision, number>;
  cacheHits = 0;
  cacheMisses = 0;
  readonly backendSeconds = new LatencyHistogram(CONTACTS_BOUNDS);
  readonly failures = Object.fromEntries(CAUSES.map((c) => [c, 0])) as Record<ContactsFailureCause, number>;

  figures(cache: { readonly size: number; readonly bytes: number } | null): WatchFigures {
    return {
      decisions: { ...this.decisions },
      cacheHits: this.cacheHits,
      cacheMisses: this.cacheMisses,
      backendSeconds: this.backendSeconds.data(),
      failures: { ...this.failures },
      cachedWatchers: cache?.size ?? 0,
      cacheBytes: cache?.bytes ?? 0,
    };
  }
}
