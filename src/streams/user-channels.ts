import type { Store } from '../store/types.js';

/**
 * One kind of channel of the watched users (the public one, or the user's own): exactly the
 * channels the hub needs, subscribed when a user is added, unsubscribed when it is removed,
 * subscribed again after a failure (store away).
 */
export class UserChannels {
  private readonly users = new Set<string>();
  /** Channels whose subscribe the store has not confirmed yet, so later actors can wait for it. */
  private readonly subscribing = new Map<string, Promise<void>>();
  /** Watched users whose channel could not be subscribed (store away): retried on join and recovery. */
  private readonly unsubscribed = new Set<string>();

  /** `own`: these are the users' own channels (invisible pings), not their public ones. */
  constructor(
    private readonly store: Store,
    private readonly own: boolean,
  ) {}

  /** Adds `userid` (again: a channel whose subscribe failed is tried again). */
  add(userid: string): void {
    if (!this.users.has(userid)) {
      this.users.add(userid);
      void this.subscribe(userid);
    } else if (this.unsubscribed.has(userid) && !this.subscribing.has(userid)) void this.subscribe(userid);
  }

  remove(userid: string): void {
    if (this.users.delete(userid)) {
      this.subscribing.delete(userid);
      this.unsubscribed.delete(userid);
      // An unsubscribe that fails (Redis away) leaves nothing behind: the reconnect
      // resubscribes only what ioredis still tracks, and it no longer tracks this one.
      this.store.unsubscribe(userid, this.own).catch(() => {});
    }
  }

  /** The subscribe of the user's channel while the store has not confirmed it, else undefined. */
  pending(userid: string): Promise<void> | undefined {
    return this.subscribing.get(userid);
  }

  /** Subscribes again every channel whose subscribe failed. */
  resubscribe(): Promise<unknown> {
    return Promise.allSettled([...this.unsubscribed].map((userid) => this.subscribe(userid)));
  }

  private subscribe(userid: string): Promise<void> {
    this.unsubscribed.delete(userid);
    const subscribed = this.store.subscribe(userid, this.own).then(
      () => undefined,
      (error: unknown) => {
        if (this.users.has(userid)) this.unsubscribed.add(userid);
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
