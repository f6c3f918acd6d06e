/** XState's clock interface (setTimeout/clearTimeout), which SimulatedClock implements. */
export interface Clock {
  setTimeout(fn: () => void, timeout: number): unknown;
  clearTimeout(id: unknown): void;
}

const realClock: Clock = {
  setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimeout: (id) => clearTimeout(id as NodeJS.Timeout),
};

/** Default time between two sweep ticks: each tick visits one slot. */
const TICK_MS = 100;

/**
 * One timer for every stream's keepalive instead of one per stream. Streams are spread over
 * `slots` slots; every `intervalMs / slots` one slot gets its keepalive, so each stream
 * gets one per interval and the writes are spread evenly instead of arriving in one burst.
 * A tick blocks the event loop for its whole slot (an actor event and a socket write per
 * stream), so the default is a tick every 100 ms: with 15,000 streams and the 25 s default
 * interval, 250 slots of 60 streams instead of 10 slots of 1,500, whose ticks were stalls
 * that every ping and delivery waiting behind them saw (the event-loop lag before and after is
 * in docs/benchmarks/log.md).
 * The clock is XState's Clock interface, so a test drives it with SimulatedClock.
 */
export class KeepaliveSweep<T> {
  /** The streams of each slot. */
  private readonly slotMembers: Set<T>[];
  private readonly where = new Map<T, Set<T>>();
  private cursor = 0;
  private nextSlot = 0;
  private timer: unknown = null;

  constructor(
    private readonly intervalMs: number,
    private readonly visit: (member: T) => void,
    private readonly clock: Clock = realClock,
    readonly slots = Math.max(1, Math.round(intervalMs / TICK_MS)),
  ) {
    this.slotMembers = Array.from({ length: slots }, () => new Set<T>());
  }

  add(member: T): void {
    if (this.where.has(member)) return;
    // Round robin, so that streams connecting together (a reconnect storm after a restart) are
    // spread over every slot instead of piling into one. The first keepalive then comes
    // within one interval of joining, which is all a proxy's idle timeout needs.
    const slot = this.slotMembers[this.nextSlot];
    this.nextSlot = (this.nextSlot + 1) % this.slots;
    slot.add(member);
    this.where.set(member, slot);
  }

  delete(member: T): void {
    this.where.get(member)?.delete(member);
    this.where.delete(member);
  }

  /** Members in the sweep. */
  get size(): number {
    return this.where.size;
  }

  members(): IterableIterator<T> {
    return this.where.keys();
  }

  start(): void {
    if (this.timer === null) this.schedule();
  }

  stop(): void {
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
  }

  private schedule(): void {
    this.timer = this.clock.setTimeout(() => {
      const slot = this.slotMembers[this.cursor];
      this.cursor = (this.cursor + 1) % this.slots;
      // A snapshot: a member that joins during the visits waits for its own turn, and one that
      // leaves during them (its stream closed) is skipped.
      for (const member of [...slot]) if (this.where.get(member) === slot) this.visit(member);
      if (this.timer !== null) this.schedule();
    }, this.intervalMs / this.slots);
  }
}
