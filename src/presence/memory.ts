import { TokenBuckets } from './token-bucket.js';
import { DEFAULT_STORE_LIMITS, type PresenceBackend, type PresenceListener, type RateLimited, type StoreLimits, type StoredPing } from './types.js';

/**
 * The embedded backend: one process, no Redis. For development and for the suites that run
 * over every backend; it keeps the Redis backend's guarantees (monotonic seq, store-then-publish).
 */
export class MemoryPresence implements PresenceBackend {
  readonly mode = 'memory' as const;
  private readonly users = new Map<string, StoredPing>();
  private readonly clients = new Map<string, StoredPing>();
  /** When each client entry expires (CLIENT_KEY_TTL), in ms; absent: never. */
  private readonly clientExpiry = new Map<string, number>();
  private readonly buckets: TokenBuckets;
  private readonly channels = new Set<string>();
  private listener: PresenceListener | null = null;
  private lastSeq = 0;

  constructor(private readonly limits: StoreLimits = DEFAULT_STORE_LIMITS) {
    this.buckets = new TokenBuckets(limits.pingRate, limits.pingBurst);
  }

  async save(userid: string, clientid: string, status: string): Promise<StoredPing | RateLimited> {
    const nowMs = Date.now();
    const key = clientKey(userid, clientid);
    this.expire(key, nowMs);
    const retryAfterSeconds = this.buckets.take(key, nowMs);
    if (retryAfterSeconds > 0) return { retryAfterSeconds };
    const ttl = this.limits.clientKeyTtlSeconds;
    if (ttl > 0) this.clientExpiry.set(key, nowMs + ttl * 1000);
    else this.clientExpiry.delete(key);
    const nowMicros = nowMs * 1000;
    this.lastSeq = nowMicros > this.lastSeq ? nowMicros : this.lastSeq + 1;
    const ping: StoredPing = { time: Math.floor(nowMicros / 1e6), status, clientid, seq: this.lastSeq };
    this.users.set(userid, ping);
    this.clients.set(key, ping);
    // Publish after the caller's await resumes, as a Redis message would arrive later.
    if (this.channels.has(userid)) queueMicrotask(() => this.listener?.onPing(userid, ping));
    return ping;
  }

  async lastMany(userids: readonly string[], clientid?: string): Promise<(StoredPing | null)[]> {
    const nowMs = Date.now();
    return userids.map((u) => {
      if (clientid === undefined) return this.users.get(u) ?? null;
      const key = clientKey(u, clientid);
      this.expire(key, nowMs);
      return this.clients.get(key) ?? null;
    });
  }

  /** Drops a client entry (and its rate bucket) whose CLIENT_KEY_TTL has passed, as Redis would. */
  private expire(key: string, nowMs: number): void {
    const expiry = this.clientExpiry.get(key);
    if (expiry === undefined || expiry > nowMs) return;
    this.clientExpiry.delete(key);
    this.clients.delete(key);
    this.buckets.delete(key);
  }

  async subscribe(userid: string): Promise<void> {
    this.channels.add(userid);
  }

  async unsubscribe(userid: string): Promise<void> {
    this.channels.delete(userid);
  }

  channelCount(): number {
    return this.channels.size;
  }

  isAvailable(): boolean {
    return true;
  }

  setListener(listener: PresenceListener): void {
    this.listener = listener;
  }

  async close(): Promise<void> {
    this.channels.clear();
  }
}

function clientKey(userid: string, clientid: string): string {
  return `${userid}\u0000${clientid}`;
}
