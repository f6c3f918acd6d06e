import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { StoreUnavailableError } from '../errors.js';
import { KeySpace } from './keys.js';
import { decodeMessage, encodeMessageTail, pingFromFields } from './message.js';
import { Scripts } from './scripts.js';
import type { PresenceBackend, PresenceListener, StoredPing } from './types.js';

export interface RedisPresenceOptions {
  /** `redis://…` URL of a standalone server, or the seed nodes of a cluster. */
  target: { url: string } | { seeds: readonly { host: string; port: number }[] };
  /** Prefix of every key and channel. Default `heartbeat:`. */
  keyPrefix?: string;
  /** A command not answered within this many ms fails (and the ping gets 503). Default 800. */
  commandTimeoutMs?: number;
}

type SaveReply = [string, string];
type Commands = (Redis | Cluster) & {
  savePing(...args: (string | number)[]): Promise<SaveReply>;
};

/**
 * The Redis backend. Standalone: PUBLISH/SUBSCRIBE on a second connection and a global
 * sequence. Cluster: one script per user slot and sharded pub/sub (SPUBLISH/SSUBSCRIBE), so a
 * message only travels within its shard.
 */
export class RedisPresence implements PresenceBackend {
  readonly mode: 'redis' | 'cluster';
  private readonly keys: KeySpace;
  private readonly commands: Commands;
  private readonly subscriber: Redis | Cluster;
  private readonly channels = new Set<string>();
  private listener: PresenceListener | null = null;
  private available = false;
  private wasDown = false;
  private closing = false;

  constructor(options: RedisPresenceOptions) {
    this.keys = new KeySpace(options.keyPrefix ?? 'heartbeat:');
    const base: RedisOptions = {
      // Fail at once while disconnected instead of queueing: a ping must get 503 within a second.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: options.commandTimeoutMs ?? 800,
      retryStrategy: (times) => Math.min(50 * times, 1000),
      lazyConnect: true,
    };
    if ('url' in options.target) {
      this.mode = 'redis';
      this.commands = new Redis(options.target.url, { ...base, enableAutoPipelining: true }) as Commands;
      // Subscriptions must come back by themselves after a reconnect, and they may be queued
      // while the connection is down (nothing is lost: we re-read state on recovery).
      this.subscriber = new Redis(options.target.url, { ...base, enableOfflineQueue: true, commandTimeout: undefined });
      this.subscriber.on('message', (channel: string, message: string) => this.receive(channel, message));
    } else {
      this.mode = 'cluster';
      const cluster = (subscriber: boolean) =>
        new Cluster([...(options.target as { seeds: { host: string; port: number }[] }).seeds], {
          enableOfflineQueue: false,
          // Auto-pipelining batches commands per node; subscriptions go to their shard's own
          // subscriber connection, so they live on a second Cluster that never pipelines.
          enableAutoPipelining: !subscriber,
          shardedSubscribers: subscriber,
          lazyConnect: true,
          clusterRetryStrategy: (times) => Math.min(100 * times, 1000),
          // The cluster-level offline queue is off so a cluster that is down fails at once;
          // node connections keep commandTimeout and maxRetriesPerRequest.
          redisOptions: { maxRetriesPerRequest: 0, commandTimeout: base.commandTimeout },
        });
      this.commands = cluster(false) as Commands;
      this.subscriber = cluster(true);
      this.subscriber.on('smessage', (channel: string, message: string) => this.receive(channel, message));
    }
    // A fixed key count lets ioredis route (and auto-pipeline) the script by its first key's slot.
    this.commands.defineCommand('savePing', { lua: Scripts.savePing, numberOfKeys: this.mode === 'cluster' ? 2 : 3 });
    this.watchAvailability();
  }

  /** Connects both connections; rejects when Redis does not answer. */
  async connect(): Promise<void> {
    await this.commands.connect();
    await this.subscriber.connect();
    await this.commands.ping();
    this.setAvailable(true);
  }

  async save(userid: string, clientid: string, status: string): Promise<StoredPing> {
    const user = this.keys.user(userid);
    const client = this.keys.client(userid, clientid);
    const tail = encodeMessageTail(clientid, status);
    try {
      const [seq, time] =
        this.mode === 'cluster'
          ? await this.commands.savePing(user, client, status, clientid, tail, '1')
          : await this.commands.savePing(user, client, this.keys.sequence(), status, clientid, tail, '0');
      return { seq: Number(seq), time: Number(time), status, clientid };
    } catch (error) {
      throw new StoreUnavailableError(error);
    }
  }

  async lastMany(userids: readonly string[], clientid?: string): Promise<(StoredPing | null)[]> {
    try {
      return await Promise.all(
        userids.map(async (u) => {
          const key = clientid === undefined ? this.keys.user(u) : this.keys.client(u, clientid);
          const [time, status, cid, seq] = await this.commands.hmget(key, 'time', 'status', 'clientid', 'seq');
          return pingFromFields(time, status, cid, seq);
        }),
      );
    } catch (error) {
      throw new StoreUnavailableError(error);
    }
  }

  async subscribe(userid: string): Promise<void> {
    const channel = this.keys.channel(userid);
    this.channels.add(channel);
    if (this.mode === 'cluster') await (this.subscriber as Cluster).ssubscribe(channel);
    else await (this.subscriber as Redis).subscribe(channel);
  }

  async unsubscribe(userid: string): Promise<void> {
    const channel = this.keys.channel(userid);
    this.channels.delete(channel);
    if (this.mode === 'cluster') await (this.subscriber as Cluster).sunsubscribe(channel);
    else await (this.subscriber as Redis).unsubscribe(channel);
  }

  channelCount(): number {
    return this.channels.size;
  }

  isAvailable(): boolean {
    return this.available;
  }

  setListener(listener: PresenceListener): void {
    this.listener = listener;
  }

  async close(): Promise<void> {
    this.closing = true;
    this.setAvailable(false);
    await Promise.allSettled([this.commands.quit(), this.subscriber.quit()]);
    this.commands.disconnect();
    this.subscriber.disconnect();
  }

  private receive(channel: string, message: string): void {
    const userid = this.keys.userOfChannel(channel);
    const ping = decodeMessage(message);
    if (userid !== null && ping !== null) this.listener?.onPing(userid, ping);
  }

  private watchAvailability(): void {
    const connections = [this.commands, this.subscriber];
    for (const connection of connections) {
      connection.on('error', () => {}); // reported through 'close' / 'ready'; never crash on it
      connection.on('close', () => this.setAvailable(false));
      connection.on('end', () => this.setAvailable(false));
      connection.on('ready', () => void this.whenReady());
    }
  }

  /** Both connections are back: confirm the resubscriptions landed, then tell the hub. */
  private async whenReady(): Promise<void> {
    if (this.closing) return;
    const ready = (c: Redis | Cluster) => c.status === 'ready';
    if (!ready(this.commands) || !ready(this.subscriber)) return;
    try {
      // A PING answered on the subscriber connection comes after its resubscribe replies.
      if (this.mode === 'redis') await (this.subscriber as Redis).ping();
    } catch {
      return;
    }
    this.setAvailable(true);
    if (this.wasDown) {
      this.wasDown = false;
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
