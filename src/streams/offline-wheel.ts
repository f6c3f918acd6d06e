/** Something the wheel can hold: the slot it is in (0: none), kept on the item so cancelling is O(1). */
export interface Timed {
  offlineAt: number;
}

/**
 * A timing wheel for OFFLINE_AFTER: items are kept in slots of `tickMs` by the time they fall due,
 * and one interval timer (only while something is scheduled) fires every item whose slot has
 * passed. One timer per instance, not one per watched user or stream: moving an item when its user
 * pings again is a Set delete and add. An item fires at its time or up to `tickMs` later.
 */
export class OfflineWheel<T extends Timed> {
  private readonly slots = new Map<number, Set<T>>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly fire: (item: T) => void,
    private readonly tickMs = 250,
  ) {}

  /** Fires `item` once `atMs` (epoch ms) has passed; replaces its earlier schedule. */
  schedule(item: T, atMs: number): void {
    this.cancel(item);
    const slot = Math.max(1, Math.ceil(atMs / this.tickMs));
    let items = this.slots.get(slot);
    if (items === undefined) this.slots.set(slot, (items = new Set()));
    items.add(item);
    item.offlineAt = slot;
    if (this.timer === null) {
      this.timer = setInterval(() => this.tick(), this.tickMs);
      this.timer.unref();
    }
  }

  cancel(item: T): void {
    const slot = item.offlineAt;
    if (slot === 0) return;
    item.offlineAt = 0;
    const items = this.slots.get(slot);
    if (items?.delete(item) && items.size === 0) this.slots.delete(slot);
  }

  /** Items scheduled (for the memory probe and tests). */
  get size(): number {
    let n = 0;
    for (const items of this.slots.values()) n += items.size;
    return n;
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  private tick(): void {
    const now = Math.floor(Date.now() / this.tickMs);
    // At most OFFLINE_AFTER / tickMs slots: a few hundred keys, however many users are watched.
    for (const [slot, items] of this.slots) {
      if (slot > now) continue;
      this.slots.delete(slot);
      for (const item of items) {
        item.offlineAt = 0;
        this.fire(item);
      }
    }
    if (this.slots.size === 0) this.stop();
  }
}
