import type { Logger } from '../../process/logger.js';
import type { StoreLimits } from '../types.js';
import type { Commands, ConnectionEvents, RedisConnections } from './connections.js';
import type { KeySpace } from './keys.js';

/** One ping for save-pings.lua: its three keys and its five arguments. */
export interface PingToSave {
  readonly keys: readonly [user: string, client: string, clientIndex: string];
  readonly args: readonly [status: string, clientid: string, tail: string, invisible: '1' | '0', receivedMs: string];
}

/** One erasure for erase-presence.lua: its three keys (its arguments are the topology's). */
export interface PresenceToErase {
  readonly keys: readonly [user: string, caller: string, clientIndex: string];
}

/**
 * What the script answers for one ping: seq and time, 'limited' and the seconds to wait, or
 * 'overtaken' and the received time of the user's newer stored ping.
 */
export type SaveReply = readonly [string, string];

/** What every topology is built with. */
export interface TopologyOptions {
  keys: KeySpace;
  /** PING_RATE, PING_BURST and CLIENT_KEY_TTL, applied by the save script. */
  limits: StoreLimits;
  /** REDIS_WAIT_REPLICAS (RedisConnections runs the WAIT). */
  waitReplicas: number;
  /** A command not answered within this many ms fails (and the ping gets 503). */
  commandTimeoutMs: number;
  log?: Logger;
  events: ConnectionEvents;
  /** Every channel the store holds a subscription for (a cluster re-issues them on recovery). */
  channels(): Iterable<string>;
}

/**
 * How the Redis store saves, reads and subscribes on one topology: a standalone server
 * (standalone.ts) or a cluster (cluster.ts). Each opens its own RedisConnections, whose lifecycle
 * is the same for both.
 */
export interface Topology {
  readonly kind: 'redis' | 'cluster';
  readonly connections: RedisConnections;
  /** Stores and publishes one ping (save-pings.lua); resolves with the script's reply for it. */
  save(ping: PingToSave): Promise<SaveReply>;
  /** Erases one user's presence and publishes that (erase-presence.lua): `erased` or `limited` and the seconds to wait. */
  erase(erasure: PresenceToErase): Promise<SaveReply>;
  /** The `fields` of each hash in `keys`, in order (null where a hash or field is missing). */
  read(keys: readonly string[], fields: readonly string[]): Promise<(string | null)[][]>;
  /** Resolves once a message published on `channel` afterwards cannot be missed. */
  subscribe(channel: string): Promise<void>;
  unsubscribe(channel: string): Promise<void>;
}

/** The save script's first four arguments: cluster or not, PING_RATE, PING_BURST, CLIENT_KEY_TTL. */
export function scriptArgs(cluster: boolean, limits: StoreLimits): readonly string[] {
  return [cluster ? '1' : '0', String(limits.pingRate), String(limits.pingBurst), String(limits.clientKeyTtlSeconds)];
}

/** The script's flat reply as one pair per ping. */
export function replyPairs(reply: readonly string[]): SaveReply[] {
  const replies: SaveReply[] = [];
  for (let i = 0; i < reply.length; i += 2) replies.push([reply[i], reply[i + 1]]);
  return replies;
}

/** Keys per read-pings.lua call: a call holds Redis for well under a millisecond. */
const READ_CHUNK = 1_000;

type Rows = (string | null)[][];

/** read-pings.lua over every READ_CHUNK keys: one call and one reply instead of one HMGET per key. */
export async function readFields(commands: Commands, keys: readonly string[], fields: readonly string[]): Promise<Rows> {
  const calls: Promise<Rows>[] = [];
  for (let i = 0; i < keys.length; i += READ_CHUNK) {
    const chunk = keys.slice(i, i + READ_CHUNK);
    calls.push(commands.readPings(chunk.length, ...chunk, ...fields) as unknown as Promise<Rows>);
  }
  return (await Promise.all(calls)).flat();
}
