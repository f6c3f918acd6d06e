import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';

/** One thread's runtime figures, as plain data (it crosses worker-thread boundaries). */
export interface RuntimeFigures {
  /** Event-loop delay since the previous sample, in seconds: p99 and max. */
  readonly eventLoopLagP99: number;
  readonly eventLoopLagMax: number;
  /** This thread's V8 heap (a worker thread has a heap of its own), in bytes. */
  readonly heapUsed: number;
  readonly heapTotal: number;
}

/** Resolution of the event-loop delay monitor, in milliseconds (prom-client's default too). */
const RESOLUTION_MS = 10;

/**
 * The event-loop delay and heap of the thread it was created in. prom-client's default metrics
 * only see the main thread; with WORKERS > 1 the streams live in worker threads, so each worker
 * samples itself and the admin port labels the figures with its index. The delay monitor is a
 * libuv timer at RESOLUTION_MS, nothing per request. Each sample resets the delay histogram, as
 * prom-client does on each scrape: the figures cover the time since the previous one.
 */
export class RuntimeSampler {
  private readonly delay: IntervalHistogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });

  constructor() {
    this.delay.enable();
  }

  sample(): RuntimeFigures {
    const heap = getHeapStatistics();
    // The monitor records the whole interval between its timer's runs, in nanoseconds: the delay
    // is what exceeds RESOLUTION_MS. Nothing recorded yet (a first sample) is no delay.
    const lag = (ns: number) => (this.delay.count > 0 ? Math.max(0, ns / 1e9 - RESOLUTION_MS / 1000) : 0);
    const p99 = lag(this.delay.percentile(99));
    const max = lag(this.delay.max);
    this.delay.reset();
    return { eventLoopLagP99: p99, eventLoopLagMax: max, heapUsed: heap.used_heap_size, heapTotal: heap.total_heap_size };
  }

  stop(): void {
    this.delay.disable();
  }
}
