import type { SubscriptionEvent } from '../../machines/subscription.js';
import type { StoredPing } from '../store/types.js';
import type { SharedPingFrames } from './frames.js';
import type { Timed } from './offline-wheel.js';

/** A copy of `id` that holds no slice of a larger string (the query string of one request). */
export function ownCopy(id: string): string {
  return Buffer.from(id, 'utf8').toString('utf8');
}

/** A subscription actor, as the hub sees it: something presence events are sent to. */
export interface SubscriptionActorRef {
  send(event: SubscriptionEvent): void;
}

/**
 * A hub record: one watched user in one view on this instance, shared by every local stream that
 * watches the user that way. The view is the public one or the user's own (its invisible pings
 * too), of all the user's clients or of one (`/subscribe/:userid/client/:clientid`).
 *
 * What belongs to the user lives here once, not once per stream: the streams watching it (the
 * refcount of its channel), the newest ping delivered (the replay of a new stream) and its seq
 * (the filter that makes every delivery exactly once and in order), and the state of its
 * stored-ping read. A stream holds only its list of user ids (the hub's strings) to find its records again.
 */
export class HubRecord implements Timed {
  /**
   * The streams' actors: a lone one is kept as itself (most users have one), an array from the
   * second. An array, not a Set: a Set's hash table costs about 27 bytes per actor and a quarter
   * to a half of its capacity more, an array 8 (a 50-contact stream is in 50 of them; issue 31).
   * The first `streams` slots hold the actors, the rest is room (undefined), grown by an eighth:
   * `push` grows by half plus 16, which at 25 actors left room for 20 more.
   */
  private watching: SubscriptionActorRef | (SubscriptionActorRef | undefined)[] | null = null;
  /** Streams holding this record: its actors, the first `streams` slots when they are an array. */
  streams = 0;
  /** The newest ping of this view, replayed to new streams (null: none, or erased). */
  last: SharedPingFrames | null = null;
  /** The newest seq this view delivered (a ping's, or an erasure's): nothing at or below it is delivered again. */
  seq = 0;
  /**
   * Resolves once the record can serve a replay: its channels are live and its stored ping was
   * read, or the read failed (then `unread` is true and the read is retried). Null once settled.
   */
  settling: Promise<void> | null = null;
  /** The stored ping could not be read yet: a retry (or the store's recovery) reads it. */
  unread = false;
  /** Its slot in the offline wheel (OFFLINE_AFTER) while its last ping is not yet silent; 0: none. */
  offlineAt = 0;

  constructor(
    readonly user: WatchedUser,
    /** The user's own view: invisible pings too (a stream the user opened itself). */
    readonly own: boolean,
    /** Only this client's pings. */
    readonly clientid: string | undefined,
  ) {}

  get userid(): string {
    return this.user.userid;
  }

  /** Whether `ping` (from the bus or a read) is for this view and newer than the last one. */
  accepts(ping: StoredPing, invisible: boolean): boolean {
    if (invisible && !this.own) return false;
    if (this.clientid !== undefined && ping.clientid !== this.clientid) return false;
    return ping.seq > this.seq;
  }

  /** Keeps `frames` as the view's newest ping. */
  keep(frames: SharedPingFrames): void {
    this.last = frames;
    this.seq = frames.seq;
  }

  add(actor: SubscriptionActorRef): void {
    const watching = this.watching;
    const n = this.streams++;
    if (watching === null) this.watching = actor;
    else if (!Array.isArray(watching)) this.watching = [watching, actor];
    else if (n < watching.length) watching[n] = actor;
    else this.watching = withRoom(watching, n, n + 1 + Math.max(2, n >> 3), actor);
  }

  /**
   * Takes `actor` out. Returns where it was in the array (-1: it was the lone actor) or null if it
   * was not one of this record's. An array stays an array: a delivery may be walking it.
   * `inOrder`: keep the others' order (a delivery is walking this record's array, and its cursor
   * is moved back by the caller when the index is below it); otherwise the last actor takes the
   * removed one's place, which costs nothing to move, and an array left three quarters empty is
   * copied into a smaller one.
   */
  remove(actor: SubscriptionActorRef, inOrder = false): number | null {
    const watching = this.watching;
    if (watching === actor) {
      this.watching = null;
      this.streams--;
      return -1;
    }
    if (!Array.isArray(watching)) return null;
    const n = this.streams;
    const at = watching.indexOf(actor);
    if (at < 0 || at >= n) return null;
    if (inOrder) for (let i = at; i < n - 1; i++) watching[i] = watching[i + 1];
    else watching[at] = watching[n - 1];
    watching[n - 1] = undefined;
    this.streams--;
    if (!inOrder && watching.length > 8 && this.streams * 4 < watching.length)
      this.watching = withRoom(watching, this.streams, this.streams * 2, undefined);
    return at;
  }

  /**
   * The actors as a delivery reads them: a lone actor, or an array whose first `streams` slots
   * are the actors. The array is walked by index, live, so an actor that joins meanwhile gets the
   * event too (it is replaying, and its replay is queued behind this delivery); one that leaves is
   * taken out in order (see `remove`). Read it again after other code ran: a join may replace it.
   */
  actors(): SubscriptionActorRef | readonly (SubscriptionActorRef | undefined)[] | null {
    return this.watching;
  }
}

/** A copy of the first `n` of `items` in an array of `size` slots, `next` in slot `n`. */
function withRoom<T>(items: readonly (T | undefined)[], n: number, size: number, next: T | undefined): (T | undefined)[] {
  const copy = new Array<T | undefined>(size).fill(undefined);
  for (let i = 0; i < n; i++) copy[i] = items[i];
  copy[n] = next;
  return copy;
}

/**
 * One watched user on this instance: its records (a few views at most) and its channels. The
 * public channel is live while the user has any record; the own channel while it has an own one.
 */
export class WatchedUser {
  /**
   * Its records, replaced (not changed) when one is added or dropped: an array of exactly its
   * length (see `exactly`), and one that a loop over it (a ping's delivery) can keep reading
   * while a stream closes.
   */
  records: readonly HubRecord[] = [];

  constructor(readonly userid: string) {}

  find(own: boolean, clientid: string | undefined): HubRecord | undefined {
    return this.records.find((r) => r.own === own && r.clientid === clientid);
  }

  hasOwnView(): boolean {
    return this.records.some((r) => r.own);
  }

  addRecord(record: HubRecord): void {
    this.records = exactly([...this.records, record]);
  }

  dropRecord(record: HubRecord): void {
    this.records = exactly(this.records.filter((r) => r !== record));
  }
}

/**
 * A copy of `items` with room for exactly them: an array built by push, spread or filter keeps
 * room for 16 more (V8 grows by half plus 16), 128 bytes a record here.
 */
function exactly<T>(items: readonly T[]): T[] {
  const copy = new Array<T>(items.length);
  for (let i = 0; i < items.length; i++) copy[i] = items[i];
  return copy;
}
