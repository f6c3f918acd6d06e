/**
 * Log-bucketed latency histogram (1% relative precision, 1 µs .. ~100 s).
 * Small and mergeable across processes (a Uint32Array travels over IPC).
 */
const FACTOR = Math.log(1.01);
const BUCKETS = 1900;

export class Histogram {
  counts = new Uint32Array(BUCKETS);
  n = 0;
  max = 0;
  min = Infinity;
  sum = 0;

  /** Record a value in milliseconds. */
  add(ms: number): void {
    if (ms < 0) ms = 0;
    const us = ms * 1000;
    let b = us < 1 ? 0 : 1 + Math.floor(Math.log(us) / FACTOR);
    if (b >= BUCKETS) b = BUCKETS - 1;
    this.counts[b]++;
    this.n++;
    this.sum += ms;
    if (ms > this.max) this.max = ms;
    if (ms < this.min) this.min = ms;
  }

  merge(o: HistogramData): void {
    for (let i = 0; i < BUCKETS; i++) this.counts[i] += o.counts[i];
    this.n += o.n;
    this.sum += o.sum;
    if (o.max > this.max) this.max = o.max;
    if (o.min < this.min) this.min = o.min;
  }

  /** Percentile (0..100) in ms, bucket upper bound clamped to the observed max. */
  pct(p: number): number {
    if (this.n === 0) return NaN;
    const rank = Math.max(1, Math.ceil((p / 100) * this.n));
    let acc = 0;
    for (let i = 0; i < BUCKETS; i++) {
      acc += this.counts[i];
      if (acc >= rank) {
        const upperUs = i === 0 ? 1 : Math.exp(i * FACTOR);
        return Math.min(upperUs / 1000, this.max);
      }
    }
    return this.max;
  }

  data(): HistogramData {
    return { counts: this.counts, n: this.n, max: this.max, min: this.min, sum: this.sum };
  }

  summary(): { n: number; p50: number; p99: number; max: number; mean: number } {
    const r = (x: number) => Math.round(x * 1000) / 1000;
    return { n: this.n, p50: r(this.pct(50)), p99: r(this.pct(99)), max: r(this.max), mean: r(this.n ? this.sum / this.n : NaN) };
  }
}

export interface HistogramData {
  counts: Uint32Array;
  n: number;
  max: number;
  min: number;
  sum: number;
}
