import { Cluster } from 'ioredis';
import { RedisConnections } from './connections.js';
import { readPerMaster } from './cluster-read.js';
import { keySlot } from './key-slot.js';
import {
  replyPairs,
  scriptArgs,
  type PingToSave,
  type PresenceToErase,
  type SaveReply,
  type Topology,
  type TopologyOptions,
} from './topology.js';

/**
 * A Redis Cluster: one script call per ping (a script's keys must share one slot: a user's keys
 * do, two users' need not), a sequence per user, and sharded pub/sub (SPUBLISH/SSUBSCRIBE), so a
 * message only travels within its shard. A cluster retries a command through redirections and
 * reconnects, so every save and read gets one deadline of its own.
 */
export class ClusterTopology implements Topology {
  readonly kind = 'cluster' as const;
  readonly connections: RedisConnections;
  private readonly scriptArgs: readonly string[];
  private readonly commandTimeoutMs: number;

  constructor(seeds: readonly { host: string; port: number }[], options: TopologyOptions) {
    this.commandTimeoutMs = options.commandTimeoutMs;
    this.connections = new RedisConnections({
      ...options,
      kind: this.kind,
      open: (role) =>
        new Cluster([...seeds], {
          // Off at the cluster level so a cluster that is down fails at once.
          enableOfflineQueue: false,
          // No auto-pipeline: ioredis 6's does not follow MOVED after a failover (measured: the
          // slot stays unreachable), and sharded subscriptions need their own group.
          enableAutoPipelining: false,
          shardedSubscribers: role === 'subscriber',
          lazyConnect: true,
          clusterRetryStrategy: (times) => Math.min(100 * times, 1000),
          // ioredis retries a command through redirections and reconnects. The retries should end
          // well before the ping's deadline, so a failover costs a 200 rather than a 503: 6 tries
          // 50 ms apart, each connect bounded, fit in ~400 ms. A retry that still lands after its
          // 503, after a newer ping of the same user, changes nothing: save-pings.lua refuses a
          // ping received before the stored one (overtaken).
          maxRedirections: 6,
          retryDelayOnFailover: 50,
          retryDelayOnClusterDown: 50,
          retryDelayOnTryAgain: 50,
          redisOptions: { maxRetriesPerRequest: 0, commandTimeout: options.commandTimeoutMs, connectTimeout: 300 },
        }),
      messageEvent: 'smessage',
      // ioredis re-creates its sharded subscribers after the cluster comes back and re-sends their
      // SSUBSCRIBEs, but does not wait for them and drops a failure (ClusterSubscriberGroup
      // _resubscribe only debug-logs it): after a whole cluster restart a channel could stay
      // unsubscribed while pings are acknowledged again. So recovery waits for every held
      // channel's SSUBSCRIBE to be answered again (a repeated SSUBSCRIBE is harmless).
      confirmSubscribed: (subscriber) => resubscribeAll(subscriber as Cluster, options.channels()),
    });
    this.scriptArgs = scriptArgs(true, options.limits);
  }

  async save(ping: PingToSave): Promise<SaveReply> {
    const reply = await this.withinDeadline(this.connections.runScript('savePings', ping.keys, [...this.scriptArgs, ...ping.args]));
    return replyPairs(reply)[0];
  }

  async erase(erasure: PresenceToErase): Promise<SaveReply> {
    return replyPairs(await this.withinDeadline(this.connections.runScript('erasePresence', erasure.keys, this.scriptArgs.slice(0, 3))))[0];
  }

  read(keys: readonly string[], fields: readonly string[]): Promise<(string | null)[][]> {
    return this.withinDeadline(readPerMaster(this.connections.commands as Cluster, keys, fields));
  }

  async subscribe(channel: string): Promise<void> {
    await (this.connections.subscriber as Cluster).ssubscribe(channel);
  }

  async unsubscribe(channel: string): Promise<void> {
    await (this.connections.subscriber as Cluster).sunsubscribe(channel);
  }

  /**
   * Each try of a command has its own commandTimeout, and a cluster may try several times; the
   * caller needs one answer within a second, whatever happens underneath.
   */
  private withinDeadline<T>(work: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('store deadline passed')), this.commandTimeoutMs);
    });
    work.catch(() => {}); // a late failure after the deadline is not unhandled
    return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
  }
}

/** SSUBSCRIBE for every channel, one call per slot (a call's channels must share one); resolves once all are answered. */
async function resubscribeAll(subscriber: Cluster, channels: Iterable<string>): Promise<void> {
  const bySlot = new Map<number, string[]>();
  for (const channel of channels) {
    const slot = keySlot(channel);
    const group = bySlot.get(slot);
    if (group) group.push(channel);
    else bySlot.set(slot, [channel]);
  }
  await Promise.all([...bySlot.values()].map((group) => subscriber.ssubscribe(...group)));
}
