/** Something the queue writes to when it flushes: a stream's sink. */
export interface WriteTarget {
  writeNow(chunk: Uint8Array): void;
}

/**
 * The write queue: holds the stream writes made during one task and sends them together when
 * the task ends (a microtask; a batch, by contrast, is the work of a whole event-loop turn).
 *
 * Why: a fan-out hands a ping to thousands of subscription actors, and each one writes. Written at
 * once, every `send(2)` on loopback runs the client's receive work and wakes a client that had
 * gone back to sleep while the next actor was busy in XState. Sent back to back after the
 * actors have run, the sends come in a tight loop like a bare server's: less server CPU per
 * delivery (most of it in the kernel) and a fan-out that reaches every stream in about half
 * the time (BENCHMARKS.md, `hot`, and docs/benchmarks/log.md).
 *
 * Order per target is kept (one FIFO for all); a write queued while flushing is sent in the same
 * flush. The flush runs as a microtask: uWebSockets.js and Node run microtasks at the end of
 * every callback (a Redis message, a timer, a request), so nothing waits for a later turn.
 */
export class WriteQueue {
  private readonly targets: WriteTarget[] = [];
  private readonly chunks: Uint8Array[] = [];
  private scheduled = false;
  private readonly flushNow = () => this.flush();

  /** `schedule`: how the flush is deferred to the end of the task. Default queueMicrotask. */
  constructor(private readonly schedule: (flush: () => void) => void = queueMicrotask) {}

  push(target: WriteTarget, chunk: Uint8Array): void {
    this.targets.push(target);
    this.chunks.push(chunk);
    if (!this.scheduled) {
      this.scheduled = true;
      this.schedule(this.flushNow);
    }
  }

  /**
   * Sends everything queued, oldest first. Also called before a stream ends, to keep order. A
   * target that throws (a bug) neither stops the other streams' writes nor wedges the queue: the
   * first error is rethrown once the queue is empty again.
   */
  flush(): void {
    let failure: { error: unknown } | null = null;
    // By index: a write queued by a target while flushing (an actor reacting at once) joins this flush.
    for (let i = 0; i < this.targets.length; i++) {
      try {
        this.targets[i].writeNow(this.chunks[i]);
      } catch (error) {
        failure ??= { error };
      }
    }
    this.targets.length = 0;
    this.chunks.length = 0;
    this.scheduled = false;
    if (failure) throw failure.error;
  }

  /** Writes waiting to be sent. */
  get size(): number {
    return this.targets.length;
  }
}
