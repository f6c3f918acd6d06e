import { performance } from 'node:perf_hooks';

/** What one timed fan-out took, in seconds. */
export type FanOutRecord = (lagSeconds: number, fanOutSeconds: number) => void;

/**
 * Times the fan-outs of one task, per ping (never per delivery): from the moment the bus message
 * arrived, and from the ping's seq (Redis time in microseconds, when it was stored), to the end of
 * the task's socket writes.
 *
 * Why at the end of the task: the subscription actors' writes are queued in the thread's
 * WriteQueue and sent in one microtask that the first write scheduled, so a microtask queued after
 * the hand-over runs after the writes went to the sockets. Every delivery of a ping on this
 * instance is written in that same flush, so one figure per ping says when its streams got it.
 */
export class FanOutTimer {
  private readonly seqs: number[] = [];
  private readonly starts: number[] = [];
  private scheduled = false;
  private readonly finishNow = () => this.finish();

  constructor(private readonly record: FanOutRecord) {}

  /** The start of a fan-out (a monotonic clock reading, milliseconds). */
  now(): number {
    return performance.now();
  }

  /** The ping with `seq` was handed to its watchers; it was received at `startedAt` (from now()). */
  handedOver(seq: number, startedAt: number): void {
    this.seqs.push(seq);
    this.starts.push(startedAt);
    if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(this.finishNow);
    }
  }

  private finish(): void {
    const now = performance.now();
    // Wall-clock microseconds, as Redis' TIME counts them (timeOrigin is the wall clock at start).
    const nowMicros = (performance.timeOrigin + now) * 1000;
    for (let i = 0; i < this.seqs.length; i++) this.record((nowMicros - this.seqs[i]) / 1e6, (now - this.starts[i]) / 1000);
    this.seqs.length = 0;
    this.starts.length = 0;
    this.scheduled = false;
  }
}
