import { ContactCache, type ContactCacheLimits, type ContactEntry } from './contact-cache.js';
import type { ContactsClient } from './contacts-client.js';

/** What a request for some users' presence gets: allowed, 403 NOT_A_CONTACT, or 503 CONTACTS_UNAVAILABLE. */
export type WatchDecision = 'allowed' | 'not_a_contact' | 'unavailable';

/** A refusal is checked again against backend-core, and a failed call retried, at most this often per watcher. */
export const RECHECK_MS = 1_000;

export interface ContactsPolicyOptions {
  readonly client: Pick<ContactsClient, 'contactsOf'>;
  /** CONTACTS_TTL in ms: how long a contact set answers without asking backend-core again. */
  readonly ttlMs: number;
  readonly limits?: ContactCacheLimits;
  /** The clock in ms (tests drive it). Default: performance.now. */
  readonly now?: () => number;
  /** Every decision (metrics). */
  readonly onDecision?: (decision: WatchDecision) => void;
  /** A lookup answered from a fresh cached set (true) or that needed backend-core (false). */
  readonly onLookup?: (hit: boolean) => void;
}

/** A call's outcome: the watcher's entry after it, and whether backend-core answered. */
export interface Read {
  readonly entry: ContactEntry;
  readonly ok: boolean;
}

/** Whether `contacts` let `watcher` watch every one of `users` (the watcher itself always). */
export function allows(contacts: ReadonlySet<string>, watcher: string, users: readonly string[]): boolean {
  for (const user of users) if (user !== watcher && !contacts.has(user)) return false;
  return true;
}

/**
 * WATCH_POLICY=contacts for one worker thread: may `watcher` see the presence of `users`? Its own
 * presence always; anyone else's when backend-core lists them among its contacts.
 *
 * - A decision from a cached set younger than CONTACTS_TTL is synchronous: no promise, no call.
 * - Concurrent requests of one watcher share one call (a watcher opening 50 streams costs one).
 * - A refusal is answered 403 only from a set read less than a second ago; an older set is read
 *   again first, so a contact added a moment ago is allowed at once. At most one call a second
 *   per watcher, whatever the requests: a failed call is not retried for a second either.
 * - backend-core failing: what the watcher's last set (however old) allows stays allowed;
 *   anything else is `unavailable` (503, fail closed), never a hung request (CONTACTS_TIMEOUT).
 */
export class ContactsPolicy {
  readonly cache: ContactCache;
  private readonly inFlight = new Map<string, Promise<Read>>();
  readonly now: () => number;
  readonly ttlMs: number;

  constructor(private readonly options: ContactsPolicyOptions) {
    this.cache = new ContactCache(options.limits);
    this.now = options.now ?? (() => performance.now());
    this.ttlMs = options.ttlMs;
  }

  decide(watcher: string, claim: string, users: readonly string[]): WatchDecision | Promise<WatchDecision> {
    if (users.every((user) => user === watcher)) return this.decided('allowed');
    const now = this.now();
    const entry = this.cache.get(watcher);
    const fresh = entry?.contacts != null && now - entry.fetchedAt < this.options.ttlMs;
    this.options.onLookup?.(fresh);
    if (fresh && allows(entry.contacts, watcher, users)) return this.decided('allowed');
    if (fresh && now - entry.fetchedAt < RECHECK_MS) return this.decided('not_a_contact');
    const pending = this.inFlight.get(watcher);
    if (pending === undefined && entry !== undefined && now - entry.attemptedAt < RECHECK_MS) {
      // The last call, under a second ago, failed: answer from what is known without calling again.
      return this.decided(this.fromStale(entry, watcher, users));
    }
    return (pending ?? this.refresh(watcher, claim)).then(({ entry: read, ok }) => {
      if (ok) return this.decided(allows(read.contacts!, watcher, users) ? 'allowed' : 'not_a_contact');
      return this.decided(this.fromStale(read, watcher, users));
    });
  }

  /**
   * Reads the watcher's contacts again (or joins the call in flight) and caches the answer; a
   * failure is cached too, as the time of the attempt. Resolves with the entry and whether the
   * call succeeded; never rejects.
   */
  refresh(watcher: string, claim: string): Promise<Read> {
    const pending = this.inFlight.get(watcher);
    if (pending !== undefined) return pending;
    const attemptedAt = this.now();
    const call = this.options.client.contactsOf(claim).then(
      (contacts): Read => ({ entry: { contacts, fetchedAt: this.now(), attemptedAt, claim }, ok: true }),
      (): Read => {
        const known = this.cache.peek(watcher);
        return { entry: { contacts: known?.contacts ?? null, fetchedAt: known?.fetchedAt ?? 0, attemptedAt, claim }, ok: false };
      },
    );
    const settled = call.then((read) => {
      this.inFlight.delete(watcher);
      this.cache.set(watcher, read.entry);
      return read;
    });
    this.inFlight.set(watcher, settled);
    return settled;
  }

  private fromStale(entry: ContactEntry, watcher: string, users: readonly string[]): WatchDecision {
    return entry.contacts !== null && allows(entry.contacts, watcher, users) ? 'allowed' : 'unavailable';
  }

  private decided(decision: WatchDecision): WatchDecision {
    this.options.onDecision?.(decision);
    return decision;
  }
}
