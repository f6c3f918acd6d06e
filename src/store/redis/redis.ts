import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '../../process/logger.js';
import { ChannelBatcher } from './channel-batcher.js';
import { FailureLog } from './failure-log.js';
import { KeySpace } from './keys.js';
import { decodeMessage, encodeMessageTail, pingFromFields } from './message.js';
import { Scripts } from './scripts.js';
import { TurnBatch } from './turn-batch.js';
import { type Store, type StoreListener, type RateLimited, type StoreLimits, type StoredPing } from '../types.js';

/** The presence store could not take or answer a command (Redis away, timeout). */
class StoreUnavailableError extends Error {
  constructor(cause?: unknown) {
    super('presence store unavailable', { cause });
    this.name = 'StoreUnavailableError';
  }
}

export interface RedisStoreOptions {
  /** `redis://…` URL of a standalone server, or the seed nodes of a cluster. */
  target: { url: string } | { seeds: readonly { host: string; port: number }[] };
  /** Prefix of every key and channel (KEY_PREFIX). */
  keyPrefix: string;
  /** A command not answered within this many ms fails (and the ping gets 503). Default 800. */
  commandTimeoutMs?: number;
  /**
   * Acknowledge a ping only once this many replicas have it too (WAIT), so a failover cannot lose
   * it (REDIS_WAIT_REPLICAS; 0: the master's acknowledgement and its AOF policy are enough).
   */
  waitReplicas: number;
  /** PING_RATE, PING_BURST and CLIENT_KEY_TTL, applied by the save script. */
  limits: StoreLimits;
  /**
   * Where the causes of failures are logged (FailureLog), and at debug each connection's state
   * changes. Default: not logged.
   */
  log?: Logger;
}

/** One ping for save-pings.lua: its two keys and its four arguments. */
interface PingToSave {
  readonly keys: readonly [user: string, client: string];
  readonly args: readonly [status: string, clientid: string, tail: string, invisible: '1' | '0'];
}

/** What the script answers for one ping: seq and time, or 'limited' and the seconds to wait. */
type SaveReply = readonly [string, string];

/** The stored fields of a ping: the last visible one, and (save-pings.lua) the last invisible one. */
const PUBLIC_FIELDS = ['time', 'status', 'clientid', 'seq'];
const OWN_FIELDS = [...PUBLIC_FIELDS, ...PUBLIC_FIELDS.map((f) => `invisible:${f}`)];
type Commands = (Redis | Cluster) & {
  savePings(numberOfKeys: number, ...keysThenArgs: string[]): Promise<string[]>;
};

/**
 * The Redis store. Standalone: PUBLISH/SUBSCRIBE on a second connection and a global
 * sequence. Cluster: one script per user slot and sharded pub/sub (SPUBLISH/SSUBSCRIBE), so a
 * message only travels within its shard.
 */
export class RedisStore implements Store {
  readonly kind: 'redis' | 'cluster';
  private readonly keys: KeySpace;
  private readonly commands: Commands;
  /** Where pings are stored: `commands`, or a connection of its own when pings WAIT for replicas. */
  private readonly writer: Commands;
  private readonly subscriber: Redis | Cluster;
  private readonly channels = new Set<string>();
  /** Standalone only: SSUBSCRIBE in a cluster takes channels of one slot per command. */
  private readonly batcher: ChannelBatcher | null;
  private listener: StoreListener | null = null;
  private available = false;
  private wasDown = false;
  private closing = false;
  private readonly waitReplicas: number;
  private readonly commandTimeoutMs: number;
  /** The save script's first four arguments: cluster or not, PING_RATE, PING_BURST, CLIENT_KEY_TTL. */
  private readonly scriptArgs: readonly string[];
  /** Standalone: the pings of one event-loop turn, saved by one script call. */
  private readonly saves: TurnBatch<PingToSave, SaveReply>;
  private readonly failures: FailureLog;
  private readonly log: Logger | null;

  constructor(options: RedisStoreOptions) {
    this.log = options.log?.isLevelEnabled('debug') ? options.log : null;
    this.keys = new KeySpace(options.keyPrefix);
    this.waitReplicas = options.waitReplicas;
    this.commandTimeoutMs = options.commandTimeoutMs ?? 800;
    const limits = options.limits;
    const target = options.target;
    this.kind = 'url' in target ? 'redis' : 'cluster';
    this.scriptArgs = [
      this.kind === 'cluster' ? '1' : '0',
      String(limits.pingRate),
      String(limits.pingBurst),
      String(limits.clientKeyTtlSeconds),
    ];
    this.saves = new TurnBatch((pings) => this.saveAll(pings));
    const base: RedisOptions = {
      // Fail at once while disconnected instead of queueing: a ping must get 503 within a second.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: this.commandTimeoutMs,
      retryStrategy: (times) => Math.min(50 * times, 1000),
      lazyConnect: true,
    };
    this.failures = new FailureLog(options.log, this.kind);
    const open = (role: 'commands' | 'subscriber'): Redis | Cluster => {
      if ('url' in target) {
        // Subscriptions must come back by themselves after a reconnect, so the subscriber may
        // queue while disconnected (nothing is lost: state is re-read on recovery).
        return role === 'subscriber'
          ? new Redis(target.url, { ...base, enableOfflineQueue: true, commandTimeout: undefined })
          : // The save script is batched by TurnBatch already: sent at once, not one more turn later.
            new Redis(target.url, { ...base, enableAutoPipelining: true, autoPipeliningIgnoredCommands: ['savePings'] });
      }
      return new Cluster([...target.seeds], {
        // Off at the cluster level so a cluster that is down fails at once.
        enableOfflineQueue: false,
        // Not in a cluster: ioredis 6's auto-pipeline does not follow MOVED after a failover
        // (measured: the slot stays unreachable), and sharded subscriptions need their own group.
        enableAutoPipelining: false,
        shardedSubscribers: role === 'subscriber',
        lazyConnect: true,
        clusterRetryStrategy: (times) => Math.min(100 * times, 1000),
        // ioredis retries a command through redirections and reconnects. Every retry must end
        // well before the ping's deadline: a retry that lands after its 503 could overwrite a
        // newer ping of the same user. 6 tries 50 ms apart, each connect bounded, fit in ~400 ms.
        maxRedirections: 6,
        retryDelayOnFailover: 50,
        retryDelayOnClusterDown: 50,
        retryDelayOnTryAgain: 50,
        redisOptions: { maxRetriesPerRequest: 0, commandTimeout: this.commandTimeoutMs, connectTimeout: 300 },
      });
    };
    this.commands = open('commands') as Commands;
    // WAIT blocks its connection until the replicas answer: on a connection of its own it cannot
    // hold back reads (and a shard that lost its replicas answers 503, not every shard).
    this.writer = this.waitReplicas > 0 ? (open('commands') as Commands) : this.commands;
    this.subscriber = open('subscriber');
    const subscriber = this.subscriber;
    this.batcher =
      subscriber instanceof Redis
        ? new ChannelBatcher((op, channels) =>
            op === 'subscribe' ? subscriber.subscribe(...channels) : subscriber.unsubscribe(...channels),
          )
        : null;
    if (this.kind === 'cluster') this.subscriber.on('smessage', (channel: string, message: string) => this.receive(channel, message));
    else this.subscriber.on('message', (channel: string, message: string) => this.receive(channel, message));
    // The key count is the call's first argument (a batch has two keys per ping); a Cluster
    // routes the call by its first key's slot.
    for (const connection of new Set([this.commands, this.writer])) {
      connection.defineCommand('savePings', { lua: Scripts.savePings });
    }
    this.watchAvailability();
  }

  /** Connects both connections; rejects when Redis does not answer. */
  async connect(): Promise<void> {
    await this.commands.connect();
    if (this.writer !== this.commands) await this.writer.connect();
    await this.subscriber.connect();
    await this.commands.ping();
    this.setAvailable(true);
  }

  async save(userid: string, clientid: string, status: string, invisible = false): Promise<StoredPing | RateLimited> {
    const user = this.keys.user(userid);
    const ping: PingToSave = {
      keys: [user, this.keys.client(userid, clientid, user)],
      args: [status, clientid, encodeMessageTail(clientid, status), invisible ? '1' : '0'],
    };
    try {
      // A cluster saves each ping on its own: a script's keys must share one slot.
      const [seq, time] = this.kind === 'cluster' ? (await this.withinDeadline(this.saveAll([ping])))[0] : await this.saves.add(ping);
      this.failures.succeeded();
      if (seq === 'limited') return { retryAfterSeconds: Number(time) };
      return { seq: Number(seq), time: Number(time), status, clientid };
    } catch (error) {
      this.failures.failed(error);
      throw new StoreUnavailableError(error);
    }
  }

  /** One script call for `pings`, in order; one reply per ping. */
  private async saveAll(pings: readonly PingToSave[]): Promise<SaveReply[]> {
    const keys: string[] = this.kind === 'cluster' ? [] : [this.keys.sequence()];
    const args = [...this.scriptArgs];
    for (const ping of pings) {
      keys.push(...ping.keys);
      args.push(...ping.args);
    }
    const reply =
      this.waitReplicas === 0 ? await this.writer.savePings(keys.length, ...keys, ...args) : await this.saveOnReplicas(keys, args);
    const replies: SaveReply[] = [];
    for (let i = 0; i < reply.length; i += 2) replies.push([reply[i], reply[i + 1]]);
    return replies;
  }

  /**
   * A Cluster retries a command through redirections and reconnects, each try with its own
   * commandTimeout; the caller needs one answer within a second, whatever happens underneath.
   */
  private withinDeadline<T>(work: Promise<T>): Promise<T> {
    // Standalone: commandTimeout with no retries and no offline queue already bounds a command;
    // a second timer per ping would be pure overhead on the hot path.
    if (this.kind !== 'cluster') return work;
    let timer: NodeJS.Timeout;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('store deadline passed')), this.commandTimeoutMs);
    });
    work.catch(() => {}); // a late failure after the deadline is not unhandled
    return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
  }

  /** The script and a WAIT in one pipeline, so both go to the user's master. */
  private async saveOnReplicas(keys: string[], args: string[]): Promise<string[]> {
    const pipeline = this.writer.pipeline() as ReturnType<Redis['pipeline']> & { savePings(n: number, ...a: string[]): unknown };
    pipeline.savePings(keys.length, ...keys, ...args);
    // Half the command timeout, so a missing replica still gets its 503 within a second.
    pipeline.wait(this.waitReplicas, Math.floor(this.commandTimeoutMs / 2));
    const [[saveError, saved], [waitError, replicas]] = (await pipeline.exec()) as [Error | null, unknown][];
    if (saveError) {
      // A pipeline does not follow MOVED/ASK by itself (the WAIT in it is not redirected): learn
      // the new slot owner now, so the next ping goes to it; this one is answered 503.
      if (/^(MOVED|ASK) /.test(saveError.message) && this.writer instanceof Cluster) this.writer.refreshSlotsCache();
      throw saveError;
    }
    if (waitError || (replicas as number) < this.waitReplicas) throw new Error(`only ${String(replicas)} replicas acknowledged`);
    return saved as string[];
  }

  async lastMany(userids: readonly string[], clientid?: string, own = false): Promise<(StoredPing | null)[]> {
    try {
      return await this.withinDeadline(
        Promise.all(
          userids.map(async (u) => {
            const key = clientid === undefined ? this.keys.user(u) : this.keys.client(u, clientid);
            const fields = await this.commands.hmget(key, ...(own ? OWN_FIELDS : PUBLIC_FIELDS));
            const visible = pingFromFields(fields[0], fields[1], fields[2], fields[3]);
            if (!own) return visible;
            // The own view: the newer of the last visible and the last invisible ping.
            const invisible = pingFromFields(fields[4], fields[5], fields[6], fields[7]);
            return invisible !== null && (visible === null || invisible.seq > visible.seq) ? invisible : visible;
          }),
        ),
      );
    } catch (error) {
      this.failures.failed(error);
      throw new StoreUnavailableError(error);
    }
  }

  async subscribe(userid: string, own = false): Promise<void> {
    const channel = own ? this.keys.ownChannel(userid) : this.keys.channel(userid);
    this.channels.add(channel);
    if (this.batcher) await this.batcher.subscribe(channel);
    else await (this.subscriber as Cluster).ssubscribe(channel);
  }

  async unsubscribe(userid: string, own = false): Promise<void> {
    const channel = own ? this.keys.ownChannel(userid) : this.keys.channel(userid);
    this.channels.delete(channel);
    if (this.batcher) await this.batcher.unsubscribe(channel);
    else await (this.subscriber as Cluster).sunsubscribe(channel);
  }

  channelCount(): number {
    return this.channels.size;
  }

  isAvailable(): boolean {
    return this.available;
  }

  setListener(listener: StoreListener): void {
    this.listener = listener;
  }

  async close(): Promise<void> {
    this.closing = true;
    this.setAvailable(false);
    await Promise.allSettled([this.commands.quit(), this.writer.quit(), this.subscriber.quit()]);
    this.commands.disconnect();
    this.writer.disconnect();
    this.subscriber.disconnect();
  }

  private receive(channel: string, message: string): void {
    const owner = this.keys.ownerOfChannel(channel);
    const ping = decodeMessage(message);
    if (owner !== null && ping !== null) this.listener?.onPing(owner.userid, ping, owner.own);
  }

  private watchAvailability(): void {
    const connections = new Map<Redis | Cluster, string>([
      [this.commands, 'commands'],
      [this.subscriber, 'subscriber'],
    ]);
    if (this.writer !== this.commands) connections.set(this.writer, 'writer');
    for (const [connection, role] of connections) {
      const debug = this.log?.child({ connection: role });
      // Availability follows 'close' / 'ready'; the error only says why (and must never crash).
      connection.on('error', (error: unknown) => {
        this.failures.failed(error);
        debug?.debug({ err: error }, 'redis connection error');
      });
      connection.on('close', () => {
        debug?.debug('redis connection closed');
        this.setAvailable(false);
      });
      connection.on('end', () => this.setAvailable(false));
      connection.on('reconnecting', (delayMs: unknown) => debug?.debug({ delayMs }, 'redis reconnecting'));
      connection.on('ready', () => {
        debug?.debug('redis connection ready');
        void this.whenReady();
      });
    }
  }

  /** Both connections are back: confirm the resubscriptions landed, then tell the hub. */
  private async whenReady(): Promise<void> {
    if (this.closing) return;
    const ready = (c: Redis | Cluster) => c.status === 'ready';
    if (!ready(this.commands) || !ready(this.writer) || !ready(this.subscriber)) return;
    try {
      // A PING answered on the subscriber connection comes after its resubscribe replies.
      if (this.kind === 'redis') await (this.subscriber as Redis).ping();
    } catch {
      return;
    }
    this.setAvailable(true);
    this.failures.succeeded();
    if (this.wasDown) {
      this.wasDown = false;
      this.log?.debug({ channels: this.channels.size }, 'redis channels resubscribed');
      this.listener?.onRecovered();
    }
  }

  private setAvailable(up: boolean): void {
    if (up === this.available) return;
    this.available = up;
    if (!up && !this.closing) this.wasDown = true;
    this.listener?.onAvailability(up);
  }
}
