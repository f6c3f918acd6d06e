/**
 * Open streams per watcher (MAX_STREAMS_PER_USER), in memory every worker thread of the process
 * shares, so the limit holds for the process however the kernel spreads a user's connections
 * over the workers (SO_REUSEPORT hashes them: one user's streams land on any worker).
 *
 * A hash table in a SharedArrayBuffer: 64-bit fingerprints of the watcher ids (0: empty) with
 * linear probing, and a count beside each. One lock around every operation, a spin on an
 * Atomics word: an operation is a few array reads, far shorter than a thread switch, and it is
 * taken once per stream opened or closed, never per delivery. A watcher whose count drops to 0
 * leaves the table (backward-shift deletion, no tombstones), so it holds only watchers with open
 * streams: at most the open streams, which MAX_CONNECTIONS bounds; `capacity` is that bound.
 */
export class WatcherStreams {
  /** The buffer to hand to another thread so that it counts into the same table. */
  readonly shared: SharedArrayBuffer;
  /** [0]: the lock (0 free, 1 held). */
  private readonly lock: Int32Array;
  private readonly keys: BigInt64Array;
  private readonly counts: Int32Array;
  private readonly mask: number;

  /** `capacity`: the most watchers with open streams at once. `shared`: another thread's table. */
  constructor(capacity: number, shared?: SharedArrayBuffer) {
    // Half full at most, so that probes stay short; untouched pages of the buffer cost no memory.
    const slots = 2 ** Math.max(10, Math.ceil(Math.log2(Math.max(1, capacity) * 2)));
    this.shared = shared ?? new SharedArrayBuffer(8 + slots * 12);
    const size = (this.shared.byteLength - 8) / 12;
    this.lock = new Int32Array(this.shared, 0, 1);
    this.keys = new BigInt64Array(this.shared, 8, size);
    this.counts = new Int32Array(this.shared, 8 + size * 8, size);
    this.mask = size - 1;
  }

  /** Counts one more stream of `watcher` if it has fewer than `limit`; false (nothing counted) if not. */
  tryAdd(watcher: string, limit: number): boolean {
    const key = fingerprint(watcher);
    this.acquire();
    try {
      const slot = this.find(key);
      if (slot < 0 || this.counts[slot] >= limit) return false;
      this.keys[slot] = key;
      this.counts[slot]++;
      return true;
    } finally {
      Atomics.store(this.lock, 0, 0);
    }
  }

  /** One stream of `watcher` closed. */
  remove(watcher: string): void {
    const key = fingerprint(watcher);
    this.acquire();
    try {
      const slot = this.find(key);
      if (slot < 0 || this.keys[slot] !== key) return;
      if (--this.counts[slot] <= 0) this.vacate(slot);
    } finally {
      Atomics.store(this.lock, 0, 0);
    }
  }

  /** Open streams of `watcher`. */
  count(watcher: string): number {
    const key = fingerprint(watcher);
    this.acquire();
    try {
      const slot = this.find(key);
      return slot >= 0 && this.keys[slot] === key ? this.counts[slot] : 0;
    } finally {
      Atomics.store(this.lock, 0, 0);
    }
  }

  private acquire(): void {
    while (Atomics.compareExchange(this.lock, 0, 0, 1) !== 0);
  }

  /** The slot holding `key`, or the empty slot where it would go; -1 when the table is full. */
  private find(key: bigint): number {
    let slot = this.home(key);
    for (let probes = 0; probes <= this.mask; probes++, slot = (slot + 1) & this.mask) {
      const held = this.keys[slot];
      if (held === key || held === 0n) return slot;
    }
    return -1;
  }

  private home(key: bigint): number {
    return Number(key & 0xffffffffn) & this.mask;
  }

  /** Empties `slot` and moves later keys of its probe run back, so that every key stays findable. */
  private vacate(slot: number): void {
    let hole = slot;
    for (let next = (slot + 1) & this.mask; this.keys[next] !== 0n; next = (next + 1) & this.mask) {
      // The key at `next` may fill the hole if the hole lies on its way from its home slot.
      if (((next - this.home(this.keys[next])) & this.mask) >= ((next - hole) & this.mask)) {
        this.keys[hole] = this.keys[next];
        this.counts[hole] = this.counts[next];
        hole = next;
      }
    }
    this.keys[hole] = 0n;
    this.counts[hole] = 0;
  }
}

/** Two 32-bit FNV-1a hashes (different offsets) of the id as one 64-bit key, never 0. */
function fingerprint(id: string): bigint {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ 0x9e3779b9;
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x01000193) ^ (b >>> 15);
  }
  const key = (BigInt(b >>> 0) << 32n) | BigInt(a >>> 0);
  return key === 0n ? 1n : BigInt.asIntN(64, key);
}
