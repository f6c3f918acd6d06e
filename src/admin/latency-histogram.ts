/** A histogram as plain data: it crosses worker-thread boundaries in an admin snapshot. */
export interface HistogramData {
  /** Upper bounds in seconds, ascending (Prometheus' `le`; `+Inf` is implied). */
  readonly bounds: readonly number[];
  /** Observations per range (at most its bound), not cumulative; one more entry than `bounds` (the range past the last bound, Prometheus' `+Inf`). */
  readonly counts: readonly number[];
  readonly sum: number;
  readonly count: number;
}

/**
 * Durations in seconds counted into fixed ranges (Prometheus' buckets). Observing is a short scan of
 * a few numbers and two additions, with no allocation: it runs once per ping. The admin port reads
 * `data()` when a scrape asks and renders `_bucket`, `_sum` and `_count` from it.
 */
export class LatencyHistogram {
  private readonly counts: number[];
  private sum = 0;
  private count = 0;

  /** `bounds`: upper bounds in seconds, ascending. */
  constructor(readonly bounds: readonly number[]) {
    this.counts = new Array<number>(bounds.length + 1).fill(0);
  }

  /** Counts one duration; a negative one (clock skew) counts as 0. */
  observe(seconds: number): void {
    const value = seconds > 0 ? seconds : 0;
    let i = 0;
    while (i < this.bounds.length && value > this.bounds[i]) i++;
    this.counts[i]++;
    this.sum += value;
    this.count++;
  }

  data(): HistogramData {
    return { bounds: this.bounds, counts: [...this.counts], sum: this.sum, count: this.count };
  }

  /** An empty histogram's data with these bounds (a worker that did not answer). */
  static empty(bounds: readonly number[]): HistogramData {
    return new LatencyHistogram(bounds).data();
  }
}
