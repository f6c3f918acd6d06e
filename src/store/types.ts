/** The last ping of a user (or of one of its clients), as stored. */
export interface StoredPing {
  /** Unix seconds, from the store's clock. */
  readonly time: number;
  readonly status: string;
  readonly clientid: string;
  /**
   * Strictly increasing per user (and, on one Redis, across all users): Redis server time in
   * microseconds, bumped past the previous value, so it keeps growing after Redis loses data.
   */
  readonly seq: number;
}

/** A ping the rate limit refused (PING_RATE, PING_BURST): nothing was stored or published. */
export interface RateLimited {
  /** Whole seconds until the client may ping again (Retry-After). */
  readonly retryAfterSeconds: number;
}

/**
 * A ping received (receivedMs) before the user's newest stored ping, visible or not: nothing was
 * stored or published, and no rate-limit token taken. It was overtaken: the stored state is newer.
 * Typically a retry, by the Redis client, of a ping that already got its 503.
 */
interface Overtaken {
  readonly overtaken: true;
}

/** What `save` did with a ping: stored it, or refused it as rate-limited or overtaken. */
export type SaveOutcome = StoredPing | RateLimited | Overtaken;

/**
 * What an erasure wiped, as every instance learns it: the time of the user's last visible ping
 * (the public view) and of the newest one (the user's own view), null where there was none.
 */
export interface Erasure {
  /** Past the seq of every ping erased (a ping's seq is past it): what streams order it by. */
  readonly seq: number;
  readonly time: number | null;
  readonly ownTime: number | null;
}

/** The limits every store applies the same way (their defaults: src/process/config.ts). */
export interface StoreLimits {
  /** PING_RATE: pings per second per user+client, refilled continuously; 0 disables. */
  readonly pingRate: number;
  /** PING_BURST: pings a quiet client may send at once. */
  readonly pingBurst: number;
  /** CLIENT_KEY_TTL: seconds a per-client entry outlives its last ping; 0 keeps it. */
  readonly clientKeyTtlSeconds: number;
}

/** Called by a store for every ping published on a channel this instance subscribed. */
export interface StoreListener {
  /**
   * A ping of `userid` was stored (here or on another instance). `invisible`: it came on the
   * user's own channel, and only the user's own streams may see it.
   */
  onPing(userid: string, ping: StoredPing, invisible: boolean): void;
  /** Everything stored for `userid` was erased (DELETE /ping, here or on another instance). */
  onErased(userid: string, erasure: Erasure): void;
  /** The store became usable again after an outage: channels are resubscribed. */
  onRecovered(): void;
  /** The store's usability changed (true: commands can be served). */
  onAvailability(up: boolean): void;
}

/** Which store serves: the embedded one (REDIS=memory, or no Redis found), one Redis, or a Redis Cluster. */
export type StoreKind = 'embedded' | 'redis' | 'cluster';

/**
 * Store and bus in one: the last ping per user and the fan-out of new ones.
 * Three implementations (EmbeddedStore, RedisStore, and RelayStore for worker threads) share this
 * interface, so every suite runs over each.
 */
export interface Store {
  readonly kind: StoreKind;
  /**
   * Stores the ping and publishes it to every instance in one atomic step, unless rate-limited. An `invisible` ping
   * (INVISIBLE_STATUSES) is stored and published apart: the public view and channel keep the last
   * visible ping, and only the user's own view and own channel get it.
   * `receivedMs`: when heartbeat received the ping (receivedNow(), the default); a ping received
   * before the user's newest stored one is refused (Overtaken), so a late retry of an older ping
   * never replaces a newer one.
   */
  save(userid: string, clientid: string, status: string, invisible?: boolean, receivedMs?: number): Promise<SaveOutcome>;
  /**
   * Erases everything stored for `userid` (both views, every client's entry, every client's rate
   * limit) and tells every instance (onErased), in one atomic step, unless `clientid`'s rate limit
   * refuses it: an erasure takes a token like a ping. The caller's bucket alone is kept, spent,
   * until it would be full again, so alternating pings and erasures cannot lift the limit.
   * Resolves with null once erased.
   */
  erase(userid: string, clientid: string): Promise<RateLimited | null>;
  /**
   * The last ping of each user (or of `clientid` of each user), null where there is none: the
   * last visible one, or with `own` the user's own view (the newest, invisible or not).
   */
  lastMany(userids: readonly string[], clientid?: string, own?: boolean): Promise<(StoredPing | null)[]>;
  /**
   * Starts receiving `userid`'s pings; resolves once nothing published afterwards can be missed.
   * The public channel carries visible pings only; `own` subscribes the user's own channel, which
   * carries the invisible ones (an own stream needs both).
   */
  subscribe(userid: string, own?: boolean): Promise<void>;
  unsubscribe(userid: string, own?: boolean): Promise<void>;
  /** Number of channels this instance is subscribed to (for leak checks and metrics). */
  channelCount(): number;
  isAvailable(): boolean;
  setListener(listener: StoreListener): void;
  close(): Promise<void>;
}
