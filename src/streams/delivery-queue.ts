import type { SubscriptionEvent } from '../../machines/subscription.js';
import type { HubRecord, SubscriptionActorRef } from './hub-record.js';

/** One event for the actors of a record (a ping), or for one actor (its replay). */
export interface Delivery {
  readonly to: HubRecord | SubscriptionActorRef;
  readonly event: SubscriptionEvent;
  /** Called once every actor has the event, with how many got it. */
  readonly done?: (count: number) => void;
}

/**
 * The delivery queue: every event the hub hands to subscription actors, in one FIFO, so a
 * stream's replay and the pings of each user reach every stream in the order the hub saw them.
 *
 * Why bounded: one ping of a user watched by 15,000 streams, or a burst of pings reaching 25
 * streams each, is thousands of actor events. Sent in one go they hold the event loop for tens
 * of milliseconds while new pings, streams and socket writes wait (the 7 s tail of issue 29).
 * At most `perTurn` events are handed over per event-loop turn; the rest continue on the next
 * turn (setImmediate: after that turn's I/O), where a fan-out resumes exactly where it stopped.
 */
export class DeliveryQueue {
  /** The FIFO: items from `head` on are waiting (an index, not shift(): a burst queues thousands). */
  private readonly items: (Delivery | undefined)[] = [];
  private head = 0;
  /**
   * The head item's place when it is a record with an array of actors: the record, the index of
   * the next actor, and how many got it so far.
   */
  private walking: HubRecord | null = null;
  private next = 0;
  private count = 0;
  /** Events handed over this turn. */
  private used = 0;
  private turnArmed = false;
  private resumeNext = false;
  private readonly nextTurn = () => {
    this.turnArmed = false;
    this.used = 0;
    if (this.resumeNext) {
      this.resumeNext = false;
      this.run();
    }
  };

  /** `perTurn`: events handed to actors per event-loop turn at most. Default 2,000 (about 5 ms). */
  constructor(readonly perTurn = 2_000) {}

  push(delivery: Delivery): void {
    this.items.push(delivery);
    if (!this.resumeNext && this.size === 1) this.run();
  }

  /** Whether a delivery to `record`'s array of actors is under way (it stopped for the turn). */
  isWalking(record: HubRecord): boolean {
    return this.walking === record;
  }

  /** `record`'s actor at `index` left (in order): an actor after it moved one place back. */
  removed(record: HubRecord, index: number): void {
    if (this.walking === record && index < this.next) this.next--;
  }

  /** Deliveries not yet finished. */
  get size(): number {
    return this.items.length - this.head;
  }

  private run(): void {
    if (!this.turnArmed) {
      this.turnArmed = true;
      setImmediate(this.nextTurn);
    }
    while (this.head < this.items.length) {
      if (this.used >= this.perTurn) {
        this.resumeNext = true;
        return;
      }
      if (this.step(this.items[this.head]!)) {
        this.items[this.head++] = undefined;
        if (this.head === this.items.length) {
          this.items.length = 0;
          this.head = 0;
        } else if (this.head >= 1_024 && this.head * 2 >= this.items.length) {
          this.items.splice(0, this.head);
          this.head = 0;
        }
      }
    }
  }

  /** Hands the head item to actors until it is done (true) or the turn's budget is spent. */
  private step(item: Delivery): boolean {
    const { to, event } = item;
    if (!('actors' in to)) {
      this.used++;
      to.send(event);
      item.done?.(1);
      return true;
    }
    if (this.walking === null) {
      const actors = to.actors();
      if (!Array.isArray(actors)) {
        if (actors !== null) {
          this.used++;
          (actors as SubscriptionActorRef).send(event);
        }
        item.done?.(actors === null ? 0 : 1);
        return true;
      }
      this.walking = to;
      this.next = 0;
      this.count = 0;
    }
    // Read again each time: the array is the record's own, streams join and leave it, and a join
    // may replace it by a larger copy. Its first `streams` slots are the actors.
    const record = this.walking;
    while (this.used < this.perTurn) {
      if (this.next >= record.streams) {
        this.walking = null;
        item.done?.(this.count);
        return true;
      }
      this.used++;
      this.count++;
      (record.actors() as readonly SubscriptionActorRef[])[this.next++].send(event);
    }
    return false;
  }
}
