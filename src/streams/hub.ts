import type { Store, StoreListener, StoredPing } from '../store/types.js';
import { ChannelWatchers } from './channel-watchers.js';
import { FanOutTimer, type FanOutRecord } from './fan-out-timer.js';
import { SharedPingFrames } from './frames.js';
import type { SubscriptionEvent } from '../../machines/subscription.js';

/** Anything that receives presence events: a subscription actor. */
export interface Watcher {
  send(event: SubscriptionEvent): void;
}

export interface HubHooks {
  /** The store became usable (true) or not (false). */
  onAvailability?(up: boolean): void;
  /** A ping was handed to `count` local watchers. */
  onDelivered?(count: number): void;
  /**
   * A ping from the bus reached its local watchers' sockets: seconds since it was stored (by
   * Redis' clock) and since its message arrived. Once per ping, not per watcher; not for re-reads.
   */
  onFanOutTimed?: FanOutRecord;
}

/**
 * Maps each user to the local subscription actors watching it, and keeps exactly the Redis
 * channels they need. Every watcher of a user is on its public channel (visible pings); a watcher
 * opened by the user's own devices (`owner`, from a trusted claim) is also on the user's own
 * channel, the only path an invisible ping takes.
 */
export class Hub implements StoreListener {
  private readonly everyone: ChannelWatchers<Watcher>;
  private readonly owners: ChannelWatchers<Watcher>;
  /** (user, client, own) watched through `/client/:clientid`, counted, for re-reads on recovery. */
  private readonly clientPairs = new Map<string, number>();
  private readonly timer: FanOutTimer | null;

  constructor(
    private readonly store: Store,
    private readonly hooks: HubHooks = {},
  ) {
    this.everyone = new ChannelWatchers(store, false);
    this.owners = new ChannelWatchers(store, true);
    this.timer = hooks.onFanOutTimed ? new FanOutTimer(hooks.onFanOutTimed) : null;
    store.setListener(this);
  }

  /**
   * Adds a watcher of `users`; `ready(users, owner)` tells when their channels are live. `owner`:
   * the user whose own device opened the stream; among `users` it alone is seen in its own view.
   */
  add(users: readonly string[], watcher: Watcher, clientid?: string, owner?: string): void {
    for (const userid of users) {
      this.everyone.add(userid, watcher);
      if (userid === owner) this.owners.add(userid, watcher);
      if (clientid !== undefined) this.countPair(userid, clientid, userid === owner, 1);
    }
  }

  /** Resolves once the channels of `users` are subscribed (at once when they already are). */
  ready(users: readonly string[], owner?: string): Promise<void> {
    const waits = users.map((u) => this.everyone.pending(u));
    if (owner !== undefined && users.includes(owner)) waits.push(this.owners.pending(owner));
    const pending = waits.filter((p) => p !== undefined);
    return pending.length === 0 ? Promise.resolve() : Promise.all(pending).then(() => undefined);
  }

  remove(users: readonly string[], watcher: Watcher, clientid?: string, owner?: string): void {
    for (const userid of users) {
      if (!this.everyone.remove(userid, watcher)) continue;
      if (userid === owner) this.owners.remove(userid, watcher);
      if (clientid !== undefined) this.countPair(userid, clientid, userid === owner, -1);
    }
  }

  /** Users with at least one local watcher. */
  watchedUsers(): number {
    return this.everyone.watchers.size;
  }

  /**
   * A ping from the bus (pub/sub), handed over and timed. A visible ping goes to every watcher of
   * the user; an invisible one only to its own streams.
   */
  onPing(userid: string, ping: StoredPing, invisible = false): void {
    if (!(invisible ? this.owners : this.everyone).watchers.has(userid)) return;
    const startedAt = this.timer?.now() ?? 0;
    this.deliver(userid, ping, invisible);
    this.timer?.handedOver(ping.seq, startedAt);
  }

  private deliver(userid: string, ping: StoredPing, invisible = false): void {
    const watchers = (invisible ? this.owners : this.everyone).watchers;
    if (!watchers.has(userid)) return;
    const event: SubscriptionEvent = { type: 'presence', ping: new SharedPingFrames(userid, ping) };
    // Not inside `onDelivered?.(…)`: an optional call skips evaluating its arguments.
    const count = watchers.forEach(userid, (watcher) => watcher.send(event));
    this.hooks.onDelivered?.(count);
  }

  /**
   * Redis is back and the channels are resubscribed: re-read the last ping of every watched user
   * (and client) and hand it over; each subscription drops what is not newer than what it sent.
   */
  onRecovered(): void {
    void this.reread();
  }

  onAvailability(up: boolean): void {
    this.hooks.onAvailability?.(up);
  }

  private async reread(): Promise<void> {
    await Promise.all([this.everyone.resubscribe(), this.owners.resubscribe()]);
    const owners = [...this.owners.watchers.users()];
    const users = [...this.everyone.watchers.users()];
    const pairs = [...this.clientPairs.keys()].map((key) => key.split('\u0000') as [string, string, string]);
    try {
      // The own view first: a public ping it supersedes is then dropped by the own streams.
      const own = await this.store.lastMany(owners, undefined, true);
      // Re-read pings are old by design: delivered, but not timed as live deliveries.
      owners.forEach((userid, i) => own[i] && this.deliver(userid, own[i], true));
      const pings = await this.store.lastMany(users);
      users.forEach((userid, i) => pings[i] && this.deliver(userid, pings[i]));
      for (const [userid, clientid, owned] of pairs) {
        const [ping] = await this.store.lastMany([userid], clientid, owned === '1');
        if (ping) this.deliver(userid, ping, owned === '1');
      }
    } catch {
      // Down again: the next recovery re-reads.
    }
  }

  private countPair(userid: string, clientid: string, own: boolean, delta: number): void {
    const key = `${userid}\u0000${clientid}\u0000${own ? '1' : '0'}`;
    const count = (this.clientPairs.get(key) ?? 0) + delta;
    if (count > 0) this.clientPairs.set(key, count);
    else this.clientPairs.delete(key);
  }
}
