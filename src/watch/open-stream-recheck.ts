import type { SubscriptionActor, Subscriptions } from '../streams/subscriptions.js';
import { allows, RECHECK_MS, type ContactsPolicy } from './contacts-policy.js';

/** A watcher's contact set is read again once this share of CONTACTS_TTL has passed. */
const REFRESH_AT = 0.75;
/** Calls the re-check keeps under way at once per worker: a reconnect storm must not flood backend-core. */
const MAX_CALLS = 32;

export interface OpenStreamRecheckOptions {
  readonly policy: ContactsPolicy;
  readonly subscriptions: Pick<Subscriptions, 'forEachWatchingOthers'>;
  /** The `retry:` hint a revoked stream ends with (its reconnect is then refused 403). */
  readonly retryMs: number;
}

/**
 * WATCH_POLICY=contacts for streams already open: a contact removed stops reaching the watcher
 * within CONTACTS_TTL. Every tick (a tenth of CONTACTS_TTL, 250 ms to 5 s) it visits the open
 * streams that watch someone other than their watcher, ends each one whose users the watcher's
 * current contact set no longer allows (close reason `revoked`; a multi-user stream whole), and
 * reads again the set of each such watcher that is 3/4 of CONTACTS_TTL old, checking its streams
 * as soon as the answer is in. So the worst case from a removal to the stream's end is
 * 0.75 × TTL + a tick + CONTACTS_TIMEOUT: 53 s with the defaults. While backend-core fails, the last
 * set keeps deciding, and open streams keep flowing.
 */
export class OpenStreamRecheck {
  private timer: NodeJS.Timeout | null = null;
  private calls = 0;
  private readonly tickMs: number;

  constructor(private readonly options: OpenStreamRecheckOptions) {
    this.tickMs = Math.min(5_000, Math.max(250, options.policy.ttlMs / 10));
  }

  start(): void {
    this.timer ??= setInterval(() => this.tick(), this.tickMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** One pass over the open streams (the timer's, and tests'). */
  tick(): void {
    const byWatcher = new Map<string, { actor: SubscriptionActor; users: readonly string[] }[]>();
    this.options.subscriptions.forEachWatchingOthers((actor, watcher, users) => {
      const streams = byWatcher.get(watcher);
      if (streams) streams.push({ actor, users });
      else byWatcher.set(watcher, [{ actor, users }]);
    });
    const { policy } = this.options;
    const now = policy.now();
    for (const [watcher, streams] of byWatcher) {
      // Used: a watcher with open streams is the last the cache evicts.
      const entry = policy.cache.get(watcher);
      if (entry?.contacts) this.revokeUnallowed(watcher, entry.contacts, streams);
      const due = entry?.contacts == null || now - entry.fetchedAt >= policy.ttlMs * REFRESH_AT;
      if (!due || (entry !== undefined && now - entry.attemptedAt < RECHECK_MS) || this.calls >= MAX_CALLS) continue;
      // Evicted under memory pressure: the claim is rebuilt from the watcher's id.
      const claim = entry?.claim ?? JSON.stringify({ userid: watcher, clientid: '' });
      this.calls++;
      void policy.refresh(watcher, claim).then(({ entry: read, ok }) => {
        this.calls--;
        if (ok && read.contacts) this.revokeUnallowed(watcher, read.contacts, streams);
      });
    }
  }

  private revokeUnallowed(
    watcher: string,
    contacts: ReadonlySet<string>,
    streams: { actor: SubscriptionActor; users: readonly string[] }[],
  ): void {
    for (const { actor, users } of streams) {
      // A stream that closed meanwhile is left alone (a stopped actor takes no events).
      if (actor.getSnapshot().status !== 'active' || allows(contacts, watcher, users)) continue;
      actor.send({ type: 'watch.revoked', retryMs: this.options.retryMs });
    }
  }
}
