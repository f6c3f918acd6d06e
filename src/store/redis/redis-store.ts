import type { Logger } from '../../process/logger.js';
import { receivedNow } from '../received-clock.js';
import { type Store, type StoreListener, type RateLimited, type SaveOutcome, type StoreLimits, type StoredPing } from '../types.js';
import { ClusterTopology } from './cluster.js';
import type { RedisConnections } from './connections.js';
import { KeySpace } from './keys.js';
import { decodeErasure, decodeMessage, encodeMessageTail, pingFromFields } from './message.js';
import { StandaloneTopology } from './standalone.js';
import type { PingToSave, Topology, TopologyOptions } from './topology.js';

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

/** The stored fields of a ping: the last visible one, and (save-pings.lua) the last invisible one. */
const PUBLIC_FIELDS = ['time', 'status', 'clientid', 'seq'];
const OWN_FIELDS = [...PUBLIC_FIELDS, ...PUBLIC_FIELDS.map((f) => `invisible:${f}`)];

/**
 * The Redis store: keys, pub/sub messages and the own view over a topology that saves, reads and
 * subscribes (StandaloneTopology, ClusterTopology) on connections whose lifecycle is
 * RedisConnections'. Every failed command is fed to the connections' FailureLog and rejected with
 * StoreUnavailableError.
 */
export class RedisStore implements Store {
  readonly kind: 'redis' | 'cluster';
  private readonly keys: KeySpace;
  private readonly topology: Topology;
  private readonly connections: RedisConnections;
  private readonly channels = new Set<string>();
  private listener: StoreListener | null = null;
  private readonly log: Logger | null;

  constructor(options: RedisStoreOptions) {
    this.log = options.log?.isLevelEnabled('debug') ? options.log : null;
    this.keys = new KeySpace(options.keyPrefix);
    const topology: TopologyOptions = {
      keys: this.keys,
      limits: options.limits,
      waitReplicas: options.waitReplicas,
      commandTimeoutMs: options.commandTimeoutMs ?? 800,
      log: options.log,
      channels: () => this.channels,
      events: {
        onMessage: (channel, message) => this.receive(channel, message),
        onAvailability: (up) => this.listener?.onAvailability(up),
        onRecovered: () => {
          this.log?.debug({ channels: this.channels.size }, 'redis channels resubscribed');
          this.listener?.onRecovered();
        },
      },
    };
    const { target } = options;
    this.topology = 'url' in target ? new StandaloneTopology(target.url, topology) : new ClusterTopology(target.seeds, topology);
    this.kind = this.topology.kind;
    this.connections = this.topology.connections;
  }

  /** Connects every connection; rejects when Redis does not answer. */
  connect(): Promise<void> {
    return this.connections.connect();
  }

  async save(userid: string, clientid: string, status: string, invisible = false, receivedMs = receivedNow()): Promise<SaveOutcome> {
    const user = this.keys.user(userid);
    const ping: PingToSave = {
      keys: [user, this.keys.client(userid, clientid, user), this.keys.clientIndex(userid, user)],
      args: [status, clientid, encodeMessageTail(clientid, status), invisible ? '1' : '0', String(receivedMs)],
    };
    try {
      const [seq, time] = await this.topology.save(ping);
      this.connections.failures.succeeded();
      if (seq === 'limited') return { retryAfterSeconds: Number(time) };
      if (seq === 'overtaken') return { overtaken: true };
      return { seq: Number(seq), time: Number(time), status, clientid };
    } catch (error) {
      this.connections.failures.failed(error);
      throw new StoreUnavailableError(error);
    }
  }

  async erase(userid: string, clientid: string): Promise<RateLimited | null> {
    const user = this.keys.user(userid);
    try {
      const [result, wait] = await this.topology.erase({
        keys: [user, this.keys.client(userid, clientid, user), this.keys.clientIndex(userid, user)],
      });
      this.connections.failures.succeeded();
      return result === 'limited' ? { retryAfterSeconds: Number(wait) } : null;
    } catch (error) {
      this.connections.failures.failed(error);
      throw new StoreUnavailableError(error);
    }
  }

  async lastMany(userids: readonly string[], clientid?: string, own = false): Promise<(StoredPing | null)[]> {
    const keys = userids.map((u) => (clientid === undefined ? this.keys.user(u) : this.keys.client(u, clientid)));
    let rows: (string | null)[][];
    try {
      rows = await this.topology.read(keys, own ? OWN_FIELDS : PUBLIC_FIELDS);
    } catch (error) {
      this.connections.failures.failed(error);
      throw new StoreUnavailableError(error);
    }
    return rows.map((fields) => {
      const visible = pingFromFields(fields[0], fields[1], fields[2], fields[3]);
      if (!own) return visible;
      // The own view: the newer of the last visible and the last invisible ping.
      const invisible = pingFromFields(fields[4], fields[5], fields[6], fields[7]);
      return invisible !== null && (visible === null || invisible.seq > visible.seq) ? invisible : visible;
    });
  }

  async subscribe(userid: string, own = false): Promise<void> {
    const channel = own ? this.keys.ownChannel(userid) : this.keys.channel(userid);
    this.channels.add(channel);
    await this.topology.subscribe(channel);
  }

  async unsubscribe(userid: string, own = false): Promise<void> {
    const channel = own ? this.keys.ownChannel(userid) : this.keys.channel(userid);
    this.channels.delete(channel);
    await this.topology.unsubscribe(channel);
  }

  channelCount(): number {
    return this.channels.size;
  }

  isAvailable(): boolean {
    return this.connections.isAvailable();
  }

  setListener(listener: StoreListener): void {
    this.listener = listener;
  }

  close(): Promise<void> {
    return this.connections.close();
  }

  private receive(channel: string, message: string): void {
    const user = this.keys.parseChannel(channel);
    if (user === null) return;
    const ping = decodeMessage(message);
    if (ping !== null) return this.listener?.onPing(user.userid, ping, user.own);
    const erasure = decodeErasure(message);
    if (erasure !== null && !user.own) this.listener?.onErased(user.userid, erasure);
  }
}
