import type { Erasure, Store, StoreListener, StoredPing } from '../store/types.js';
import { UserChannels } from './user-channels.js';
import { FanOutTimer, type FanOutRecord } from './fan-out-timer.js';
import { SharedOfflineFrames, SharedPingFrames } from './frames.js';
import type { SubscriptionEvent } from '../../machines/subscription.js';

/** A subscription actor, as the hub sees it: something presence events are sent to. */
export interface SubscriptionActorRef {
  send(event: SubscriptionEvent): void;
}

export interface HubHooks {
  /** The store became usable (true) or not (false). */
  onAvailability?(up: boolean): void;
  /** A ping was handed to `count` local subscription actors. */
  onDelivered?(count: number): void;
  /**
   * A ping from the bus reached its local streams' sockets: seconds since it was stored (by
   * Redis' clock) and since its message arrived. Once per ping, not per stream; not for re-reads.
   */
  onFanOutTimed?: FanOutRecord;
}

/**
 * Maps each watched user to the local subscription actors of the streams watching it, and keeps
 * exactly the Redis channels they need. Every such actor is on the user's public channel
 * (visible pings); the actor of a stream the user opened itself (its `watcher` is the user, from
 * a trusted claim) is also on the user's own channel, the only path an invisible ping takes.
 */
export class Hub implements StoreListener {
  private readonly publicChannels: UserChannels<SubscriptionActorRef>;
  private readonly ownChannels: UserChannels<SubscriptionActorRef>;
  /** (user, client, own) watched through `/client/:clientid`, counted, for re-reads on recovery. */
  private readonly clientPairs = new Map<string, number>();
  private readonly timer: FanOutTimer | null;

  constructor(
    private readonly store: Store,
    private readonly hooks: HubHooks = {},
  ) {
    this.publicChannels = new UserChannels(store, false);
    this.ownChannels = new UserChannels(store, true);
    this.timer = hooks.onFanOutTimed ? new FanOutTimer(hooks.onFanOutTimed) : null;
    store.setListener(this);
  }

  /**
   * Adds the actor of a stream watching `users`; `ready(users, watcher)` tells when their channels
   * are live. `watcher`: the user who opened the stream; among `users` it alone is seen in its own
   * view.
   */
  add(users: readonly string[], actor: SubscriptionActorRef, clientid?: string, watcher?: string): void {
    for (const userid of users) {
      this.publicChannels.add(userid, actor);
      if (userid === watcher) this.ownChannels.add(userid, actor);
      if (clientid !== undefined) this.countPair(userid, clientid, userid === watcher, 1);
    }
  }

  /** Resolves once the channels of `users` are subscribed (at once when they already are). */
  ready(users: readonly string[], watcher?: string): Promise<void> {
    const waits = users.map((u) => this.publicChannels.pending(u));
    if (watcher !== undefined && users.includes(watcher)) waits.push(this.ownChannels.pending(watcher));
    const pending = waits.filter((p) => p !== undefined);
    return pending.length === 0 ? Promise.resolve() : Promise.all(pending).then(() => undefined);
  }

  remove(users: readonly string[], actor: SubscriptionActorRef, clientid?: string, watcher?: string): void {
    for (const userid of users) {
      if (!this.publicChannels.remove(userid, actor)) continue;
      if (userid === watcher) this.ownChannels.remove(userid, actor);
      if (clientid !== undefined) this.countPair(userid, clientid, userid === watcher, -1);
    }
  }

  /** Users watched by at least one local stream. */
  watchedUsers(): number {
    return this.publicChannels.actors.size;
  }

  /**
   * A ping from the bus (pub/sub), handed over and timed. A visible ping goes to every stream
   * watching the user; an invisible one only to the streams the user opened itself.
   */
  onPing(userid: string, ping: StoredPing, invisible = false): void {
    if (!(invisible ? this.ownChannels : this.publicChannels).actors.has(userid)) return;
    const startedAt = this.timer?.now() ?? 0;
    this.deliver(userid, ping, invisible);
    this.timer?.handedOver(ping.seq, startedAt);
  }

  private deliver(userid: string, ping: StoredPing, invisible = false): void {
    const actors = (invisible ? this.ownChannels : this.publicChannels).actors;
    if (!actors.has(userid)) return;
    const event: SubscriptionEvent = { type: 'presence', ping: new SharedPingFrames(userid, ping) };
    // Not inside `onDelivered?.(…)`: an optional call skips evaluating its arguments.
    const count = actors.forEach(userid, (actor) => actor.send(event));
    this.hooks.onDelivered?.(count);
  }

  /**
   * The user's presence was erased: every stream watching it gets `offline`, with the time of the
   * last ping it could see (its own view's for the user's own streams), and nothing of it after.
   */
  onErased(userid: string, { seq, time, ownTime }: Erasure): void {
    const own = new Set<SubscriptionActorRef>();
    this.ownChannels.actors.forEach(userid, (actor) => own.add(actor));
    const offline = (t: number | null): SubscriptionEvent | null =>
      t === null ? null : { type: 'offline', offline: new SharedOfflineFrames(userid, seq, t, null) };
    const seen = offline(time);
    const ownSeen = offline(ownTime);
    this.publicChannels.actors.forEach(userid, (actor) => {
      const event = own.has(actor) ? ownSeen : seen;
      if (event !== null) actor.send(event);
    });
  }

  /**
   * Redis is back and the channels are resubscribed: re-read the last ping of every watched user
   * (and client) and hand it over; each subscription actor drops what is not newer than what it sent.
   */
  onRecovered(): void {
    void this.reread();
  }

  onAvailability(up: boolean): void {
    this.hooks.onAvailability?.(up);
  }

  private async reread(): Promise<void> {
    await Promise.all([this.publicChannels.resubscribe(), this.ownChannels.resubscribe()]);
    const ownUsers = [...this.ownChannels.actors.users()];
    const users = [...this.publicChannels.actors.users()];
    const pairs = [...this.clientPairs.keys()].map((key) => key.split('\u0000') as [string, string, string]);
    try {
      // The own view first: a public ping it supersedes is then dropped by the own streams.
      const own = await this.store.lastMany(ownUsers, undefined, true);
      // Re-read pings are old by design: delivered, but not timed as live deliveries.
      ownUsers.forEach((userid, i) => own[i] && this.deliver(userid, own[i], true));
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
