import type { Store } from '../store/types.js';
import { WatcherIndex } from './watcher-index.js';

/**
 * The local watchers of one kind of channel (every user's public channel, or every user's own
 * channel), and exactly the subscriptions they need: subscribed on a user's first watcher,
 * unsubscribed when its last one leaves, retried after a failure (store away).
 */
export class ChannelWatchers<W extends object> {
  readonly watchers = new WatcherIndex<W>();
  /** Subscriptions still being confirmed by the store, so later joiners can wait for them. */
  private readonly subscribing = new Map<string, Promise<void>>();
  /** Watched users whose channel subscription failed (store away): retried on join and recovery. */
  private readonly unsubscribed = new Set<string>();

  /** `own`: these are the users' own channels (invisible pings), not their public ones. */
  constructor(
    private readonly store: Store,
    private readonly own: boolean,
  ) {}

  add(userid: string, watcher: W): void {
    if (this.watchers.add(userid, watcher)) void this.subscribe(userid);
    else if (this.unsubscribed.has(userid) && !this.subscribing.has(userid)) void this.subscribe(userid);
  }

  /** Whether `watcher` was one of the user's watchers. */
  remove(userid: string, watcher: W): boolean {
    const removed = this.watchers.remove(userid, watcher);
    if (removed === 'last') {
      this.subscribing.delete(userid);
      this.unsubscribed.delete(userid);
      // An unsubscribe that fails (Redis away) leaves nothing behind: the reconnect
      // resubscribes only what ioredis still tracks, and it no longer tracks this one.
      this.store.unsubscribe(userid, this.own).catch(() => {});
    }
    return removed !== 'absent';
  }

  /** The user's subscription while it is being confirmed, else undefined. */
  pending(userid: string): Promise<void> | undefined {
    return this.subscribing.get(userid);
  }

  /** Retries every subscription that failed. */
  resubscribe(): Promise<unknown> {
    return Promise.allSettled([...this.unsubscribed].map((userid) => this.subscribe(userid)));
  }

  private subscribe(userid: string): Promise<void> {
    this.unsubscribed.delete(userid);
    const subscribed = this.store.subscribe(userid, this.own).then(
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
}
