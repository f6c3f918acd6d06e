import type { PresenceBackend, PresenceListener, StoredPing } from './types.js';
import { PresenceEvent } from './presence-event.js';
import { WatcherIndex } from './watcher-index.js';
import type { SubscriptionEvent } from '../../machines/subscription.js';

/** Anything that receives presence events: a subscription actor. */
export interface Watcher {
  send(event: SubscriptionEvent): void;
}

export interface HubHooks {
  /** The backend became usable (true) or not (false). */
  onAvailability?(up: boolean): void;
  /** A ping was handed to `count` local watchers. */
  onDelivered?(count: number): void;
}

/**
 * Maps each user to the local subscription actors watching it, and keeps exactly the Redis
 * channels they need: subscribed on the first watcher, unsubscribed when the last one leaves.
 */
export class Hub implements PresenceListener {
  private readonly watchers = new WatcherIndex<Watcher>();
  /** Subscriptions still being confirmed by the backend, so later joiners can wait for them. */
  private readonly subscribing = new Map<string, Promise<void>>();
  /** Watched users whose channel subscription failed (store away): retried on join and recovery. */
  private readonly unsubscribed = new Set<string>();
  /** (user, client) pairs watched through `/client/:clientid`, counted, for re-reads on recovery. */
  private readonly clientPairs = new Map<string, number>();

  constructor(
    private readonly backend: PresenceBackend,
    private readonly hooks: HubHooks = {},
  ) {
    backend.setListener(this);
  }

  /** Adds a watcher of `users`; `ready(users)` tells when their channels are live. */
  add(users: readonly string[], watcher: Watcher, clientid?: string): void {
    for (const userid of users) {
      if (this.watchers.add(userid, watcher)) this.subscribeChannel(userid);
      else if (this.unsubscribed.has(userid) && !this.subscribing.has(userid)) this.subscribeChannel(userid);
      if (clientid !== undefined) this.countPair(userid, clientid, 1);
    }
  }

  private subscribeChannel(userid: string): Promise<void> {
    this.unsubscribed.delete(userid);
    const subscribed = this.backend.subscribe(userid).then(
      () => undefined,
      (error: unknown) => {
        if (this.watchers.has(userid)) this.unsubscribed.add(userid);
        throw error;
      },
    );
    const settled = subscribed.finally(() => {
      if (this.subscribing.get(userid) === settled) this.subscribing.delete(userid);
    });
    settled.catch(() => {});
    this.subscribing.set(userid, settled);
    return settled;
  }

  /** Resolves once the channels of `users` are subscribed (at once when they already are). */
  ready(users: readonly string[]): Promise<void> {
    const waits = users.map((u) => this.subscribing.get(u)).filter((p) => p !== undefined);
    return waits.length === 0 ? Promise.resolve() : Promise.all(waits).then(() => undefined);
  }

  remove(users: readonly string[], watcher: Watcher, clientid?: string): void {
    for (const userid of users) {
      const removed = this.watchers.remove(userid, watcher);
      if (removed === 'absent') continue;
      if (clientid !== undefined) this.countPair(userid, clientid, -1);
      if (removed === 'last') {
        this.subscribing.delete(userid);
        this.unsubscribed.delete(userid);
        // An unsubscribe that fails (Redis away) leaves nothing behind: the reconnect
        // resubscribes only what ioredis still tracks, and it no longer tracks this one.
        this.backend.unsubscribe(userid).catch(() => {});
      }
    }
  }

  /** Users with at least one local watcher. */
  watchedUsers(): number {
    return this.watchers.size;
  }

  onPing(userid: string, ping: StoredPing): void {
    if (!this.watchers.has(userid)) return;
    const event: SubscriptionEvent = { type: 'presence', ping: new PresenceEvent(userid, ping) };
    this.hooks.onDelivered?.(this.watchers.forEach(userid, (watcher) => watcher.send(event)));
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
    await Promise.allSettled([...this.unsubscribed].map((userid) => this.subscribeChannel(userid)));
    const users = [...this.watchers.users()];
    const pairs = [...this.clientPairs.keys()].map((key) => key.split('\u0000') as [string, string]);
    try {
      const pings = await this.backend.lastMany(users);
      users.forEach((userid, i) => pings[i] && this.onPing(userid, pings[i]));
      for (const [userid, clientid] of pairs) {
        const [ping] = await this.backend.lastMany([userid], clientid);
        if (ping) this.onPing(userid, ping);
      }
    } catch {
      // Down again: the next recovery re-reads.
    }
  }

  private countPair(userid: string, clientid: string, delta: number): void {
    const key = `${userid}\u0000${clientid}`;
    const count = (this.clientPairs.get(key) ?? 0) + delta;
    if (count > 0) this.clientPairs.set(key, count);
    else this.clientPairs.delete(key);
  }
}
