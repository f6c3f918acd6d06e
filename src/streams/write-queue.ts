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
 * Every target gets one write per flush: the frames queued for it during the task (a
 * multi-user stream gets several users' pings from one bus read) are joined into one chunk, so
 * its socket sees one send, not one per frame. Order per target is kept; a write queued while
 * flushing is sent in the same flush (as a write of its own). The flush runs as a microtask: uWebSockets.js and Node run microtasks at the end of
 * every callback (a Redis message, a timer, a request), so nothing waits for a later turn.
 */
export class WriteQueue {
  private readonly targets: WriteTarget[] = [];
  /** Per target, its frames: one chunk, or several to join when flushed. */
  private readonly chunks: (Uint8Array | Uint8Array[])[] = [];
  /** Where each target's entry is, while it can still take more frames (until the flush reaches it). */
  private readonly entries = new Map<WriteTarget, number>();
  private scheduled = false;
  private readonly flushNow = () => this.flush();

  /** `schedule`: how the flush is deferred to the end of the task. Default queueMicrotask. */
  constructor(private readonly schedule: (flush: () => void) => void = queueMicrotask) {}

  push(target: WriteTarget, chunk: Uint8Array): void {
    const entry = this.entries.get(target);
    if (entry !== undefined) {
      const held = this.chunks[entry];
      if (Array.isArray(held)) held.push(chunk);
      else this.chunks[entry] = [held, chunk];
      return;
    }
    this.entries.set(target, this.targets.length);
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
      const target = this.targets[i];
      // From here on a write of this target is a new entry, after this one.
      if (this.entries.get(target) === i) this.entries.delete(target);
      const chunk = this.chunks[i];
      try {
        target.writeNow(Array.isArray(chunk) ? Buffer.concat(chunk) : chunk);
      } catch (error) {
        failure ??= { error };
      }
    }
    this.targets.length = 0;
    this.chunks.length = 0;
    this.entries.clear();
    this.scheduled = false;
    if (failure) throw failure.error;
  }

  /** Targets with writes waiting to be sent. */
  get size(): number {
    return this.targets.length;
  }
}
