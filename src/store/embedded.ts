import { RateLimiter } from './rate-limit.js';
import { receivedNow } from './received-clock.js';
import { type Store, type StoreListener, type RateLimited, type SaveOutcome, type StoreLimits, type StoredPing } from './types.js';

/**
 * The embedded store: one process, no Redis. For development and for the suites that run
 * over every store; it keeps the Redis store's guarantees (monotonic seq, store-then-publish,
 * invisible pings kept to the user's own view and own channel).
 */
export class EmbeddedStore implements Store {
  readonly kind = 'embedded' as const;
  /** The last visible ping per user and per (user, client): the public view. */
  private readonly users = new Map<string, StoredPing>();
  private readonly clients = new Map<string, StoredPing>();
  /** The newest ping, invisible or not, per user and per (user, client): the user's own view. */
  private readonly ownUsers = new Map<string, StoredPing>();
  private readonly ownClients = new Map<string, StoredPing>();
  /**
   * When heartbeat received each user's newest stored ping (either view): an older ping is refused
   * as overtaken, as save-pings.lua does. Without worker threads pings reach this store in the
   * order they were received; through the relay, two workers' pings of one user may arrive in
   * either order, and are then ordered by when each worker received its ping, as on Redis.
   */
  private readonly receivedOf = new Map<string, number>();
  /** The client ids of each user with an entry, so an erasure finds them all. */
  private readonly clientsOf = new Map<string, Set<string>>();
  /** When each client entry expires (CLIENT_KEY_TTL), in ms; absent: never. */
  private readonly clientExpiry = new Map<string, number>();
  private readonly rateLimiter: RateLimiter;
  private readonly channels = new Set<string>();
  private readonly ownChannels = new Set<string>();
  private listener: StoreListener | null = null;
  private lastSeq = 0;

  constructor(private readonly limits: StoreLimits) {
    this.rateLimiter = new RateLimiter(limits.pingRate, limits.pingBurst);
  }

  save(userid: string, clientid: string, status: string, invisible = false, receivedMs = receivedNow()): Promise<SaveOutcome> {
    // Before the rate limit: an overtaken ping takes no token.
    if (receivedMs < (this.receivedOf.get(userid) ?? 0)) return Promise.resolve({ overtaken: true });
    const nowMs = Date.now();
    const key = clientKey(userid, clientid);
    this.expire(key, nowMs);
    const retryAfterSeconds = this.rateLimiter.take(key, nowMs);
    if (retryAfterSeconds > 0) return Promise.resolve({ retryAfterSeconds });
    const ttl = this.limits.clientKeyTtlSeconds;
    if (ttl > 0) this.clientExpiry.set(key, nowMs + ttl * 1000);
    else this.clientExpiry.delete(key);
    const nowMicros = nowMs * 1000;
    this.lastSeq = nowMicros > this.lastSeq ? nowMicros : this.lastSeq + 1;
    const ping: StoredPing = { time: Math.floor(nowMicros / 1e6), status, clientid, seq: this.lastSeq };
    this.ownUsers.set(userid, ping);
    this.ownClients.set(key, ping);
    this.receivedOf.set(userid, receivedMs);
    let clientids = this.clientsOf.get(userid);
    if (clientids === undefined) this.clientsOf.set(userid, (clientids = new Set()));
    clientids.add(clientid);
    if (!invisible) {
      this.users.set(userid, ping);
      this.clients.set(key, ping);
    }
    // Publish after the caller's await resumes, as a Redis message would arrive later.
    if ((invisible ? this.ownChannels : this.channels).has(userid)) queueMicrotask(() => this.listener?.onPing(userid, ping, invisible));
    return Promise.resolve(ping);
  }

  erase(userid: string, clientid: string): Promise<RateLimited | null> {
    const nowMs = Date.now();
    const caller = clientKey(userid, clientid);
    this.expire(caller, nowMs);
    const retryAfterSeconds = this.rateLimiter.take(caller, nowMs);
    if (retryAfterSeconds > 0) return Promise.resolve({ retryAfterSeconds });
    const time = this.users.get(userid)?.time ?? null;
    const ownTime = this.ownUsers.get(userid)?.time ?? null;
    this.users.delete(userid);
    this.ownUsers.delete(userid);
    this.receivedOf.delete(userid);
    for (const c of this.clientsOf.get(userid) ?? []) {
      const key = clientKey(userid, c);
      this.clients.delete(key);
      this.ownClients.delete(key);
      this.clientExpiry.delete(key);
      if (key !== caller) this.rateLimiter.delete(key);
    }
    this.clientsOf.delete(userid);
    // The caller's spent bucket stays until it is full again, then goes like an expired client.
    const fullInMs = this.rateLimiter.fullInMs(caller, nowMs);
    if (fullInMs > 0) this.clientExpiry.set(caller, nowMs + fullInMs);
    else this.rateLimiter.delete(caller);
    const seq = (this.lastSeq = Math.max(nowMs * 1000, this.lastSeq + 1));
    if (this.channels.has(userid)) queueMicrotask(() => this.listener?.onErased(userid, { seq, time, ownTime }));
    return Promise.resolve(null);
  }

  lastMany(userids: readonly string[], clientid?: string, own = false): Promise<(StoredPing | null)[]> {
    const nowMs = Date.now();
    const byUser = own ? this.ownUsers : this.users;
    const byClient = own ? this.ownClients : this.clients;
    return Promise.resolve(
      userids.map((u) => {
        if (clientid === undefined) return byUser.get(u) ?? null;
        const key = clientKey(u, clientid);
        this.expire(key, nowMs);
        return byClient.get(key) ?? null;
      }),
    );
  }

  /** Drops a client entry (both views, and its rate limit) whose CLIENT_KEY_TTL has passed, as Redis would. */
  private expire(key: string, nowMs: number): void {
    const expiry = this.clientExpiry.get(key);
    if (expiry === undefined || expiry > nowMs) return;
    this.clientExpiry.delete(key);
    this.clients.delete(key);
    this.ownClients.delete(key);
    this.rateLimiter.delete(key);
    const [userid, clientid] = key.split('\u0000');
    const clientids = this.clientsOf.get(userid);
    if (clientids?.delete(clientid) && clientids.size === 0) this.clientsOf.delete(userid);
  }

  subscribe(userid: string, own = false): Promise<void> {
    (own ? this.ownChannels : this.channels).add(userid);
    return Promise.resolve();
  }

  unsubscribe(userid: string, own = false): Promise<void> {
    (own ? this.ownChannels : this.channels).delete(userid);
    return Promise.resolve();
  }

  channelCount(): number {
    return this.channels.size + this.ownChannels.size;
  }

  isAvailable(): boolean {
    return true;
  }

  setListener(listener: StoreListener): void {
    this.listener = listener;
  }

  close(): Promise<void> {
    this.channels.clear();
    this.ownChannels.clear();
    return Promise.resolve();
  }
}

function clientKey(userid: string, clientid: string): string {
  return `${userid}\u0000${clientid}`;
}
