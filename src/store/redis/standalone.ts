import { Redis, type RedisOptions } from 'ioredis';
import { ChannelBatcher } from './channel-batcher.js';
import { RedisConnections } from './connections.js';
import {
  readFields,
  replyPairs,
  scriptArgs,
  type PingToSave,
  type PresenceToErase,
  type SaveReply,
  type Topology,
  type TopologyOptions,
} from './topology.js';
import { TurnBatch } from './turn-batch.js';

/**
 * A standalone Redis server: PUBLISH/SUBSCRIBE on a connection of their own, one global sequence
 * key, the pings of one event-loop turn saved by one script call (TurnBatch), and the SUBSCRIBE
 * and UNSUBSCRIBE calls of one turn sent as a few commands (ChannelBatcher).
 */
export class StandaloneTopology implements Topology {
  readonly kind = 'redis' as const;
  readonly connections: RedisConnections;
  private readonly saves: TurnBatch<PingToSave, SaveReply>;
  private readonly channels: ChannelBatcher;
  private readonly sequenceKey: string;
  private readonly scriptArgs: readonly string[];
  private readonly eraseArgs: readonly string[];

  /** `url`: `redis://…` or `rediss://…`. */
  constructor(url: string, options: TopologyOptions) {
    const base: RedisOptions = {
      // Fail at once while disconnected instead of queueing: a ping must get 503 within a second.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: options.commandTimeoutMs,
      retryStrategy: (times) => Math.min(50 * times, 1000),
      lazyConnect: true,
    };
    this.connections = new RedisConnections({
      ...options,
      kind: this.kind,
      open: (role) =>
        // Subscribed channels must come back by themselves after a reconnect, so the subscriber may
        // queue while disconnected (nothing is lost: state is re-read on recovery).
        role === 'subscriber'
          ? new Redis(url, { ...base, enableOfflineQueue: true, commandTimeout: undefined })
          : // The save script is batched by TurnBatch already: sent at once, not one more turn later.
            new Redis(url, { ...base, enableAutoPipelining: true, autoPipeliningIgnoredCommands: ['savePings'] }),
      messageEvent: 'message',
      // A PING answered on the subscriber connection comes after its resubscribe replies.
      confirmSubscribed: (subscriber) => subscriber.ping(),
    });
    const subscriber = this.connections.subscriber as Redis;
    this.channels = new ChannelBatcher((op, channels) =>
      op === 'subscribe' ? subscriber.subscribe(...channels) : subscriber.unsubscribe(...channels),
    );
    this.saves = new TurnBatch((pings) => this.saveAll(pings));
    this.sequenceKey = options.keys.sequence();
    this.scriptArgs = scriptArgs(false, options.limits);
    this.eraseArgs = this.scriptArgs.slice(0, 3);
  }

  save(ping: PingToSave): Promise<SaveReply> {
    return this.saves.add(ping);
  }

  /** One script call for the pings of a turn, in order; one reply per ping. */
  private async saveAll(pings: readonly PingToSave[]): Promise<SaveReply[]> {
    const keys = [this.sequenceKey];
    const args = [...this.scriptArgs];
    for (const ping of pings) {
      keys.push(...ping.keys);
      args.push(...ping.args);
    }
    return replyPairs(await this.connections.runScript('savePings', keys, args));
  }

  /** Not batched: an erasure is rare, and its script call is one command of its own. */
  async erase(erasure: PresenceToErase): Promise<SaveReply> {
    return replyPairs(await this.connections.runScript('erasePresence', erasure.keys, [...this.eraseArgs]))[0];
  }

  // Standalone: commandTimeout with no retries and no offline queue already bounds a command, so
  // reads need no deadline of their own (a timer per read would be pure overhead).
  read(keys: readonly string[], fields: readonly string[]): Promise<(string | null)[][]> {
    return readFields(this.connections.commands, keys, fields);
  }

  subscribe(channel: string): Promise<void> {
    return this.channels.subscribe(channel);
  }

  unsubscribe(channel: string): Promise<void> {
    return this.channels.unsubscribe(channel);
  }
}
