/**
 * The open streams of the whole process, counted in shared memory so that every worker thread
 * sees one number: MAX_CONNECTIONS bounds the process (its open-file limit), and a share per
 * worker would refuse streams on a worker the kernel happened to give more connections
 * (SO_REUSEPORT spreads them by hash, not evenly) while another worker still had room.
 * Checking and counting are two steps, so workers opening at the same instant may pass the
 * limit by at most one stream each; MAX_CONNECTIONS's default leaves 1,000 descriptors spare.
 */
export class StreamCount {
  private readonly slots: Int32Array;

  /** `shared`: the buffer of another thread's count (WorkerData); a new one when absent. */
  constructor(shared?: SharedArrayBuffer) {
    this.shared = shared ?? new SharedArrayBuffer(4);
    this.slots = new Int32Array(this.shared);
  }

  /** The buffer to hand to another thread so that it counts into the same number. */
  readonly shared: SharedArrayBuffer;

  get value(): number {
    return Atomics.load(this.slots, 0);
  }

  add(): void {
    Atomics.add(this.slots, 0, 1);
  }

  remove(): void {
    Atomics.sub(this.slots, 0, 1);
  }
}
