import { isIP } from 'node:net';
import { availableCpus } from './available-cpus.js';

import { ConfigError } from './config-error.js';
import { watchSettings, type WatchSettings } from './watch-config.js';

export { ConfigError };

/** Where a server listens: an empty host means every interface. */
export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

export type RedisTarget =
  /** REDIS=memory: the embedded store, one instance only. */
  | { readonly kind: 'embedded' }
  /** REDIS was not set: use 127.0.0.1:6379 if it answers, else run embedded and warn. */
  | { readonly kind: 'auto'; readonly url: string }
  | { readonly kind: 'standalone'; readonly url: string }
  | { readonly kind: 'cluster'; readonly seeds: readonly { host: string; port: number }[] };

export interface Config extends WatchSettings {
  /** LISTEN, default `:8080` (every interface). */
  readonly listen: ListenAddress;
  /**
   * LISTEN_BACKLOG, default 65535 connections waiting to be accepted per listening socket (the
   * kernel caps it at net.core.somaxconn, 4096 by default); uSockets' own 512 overflows in a
   * reconnect storm. 512 or less keeps uSockets' 512.
   */
  readonly listenBacklog: number;
  /** REDIS, default `:6379` with an embedded fallback when nothing answers there. */
  readonly redis: RedisTarget;
  /** KEY_PREFIX, default `heartbeat:`; prefixes every key and channel. */
  readonly keyPrefix: string;
  /** REDIS_WAIT_REPLICAS, default 0: replicas that must have a ping before it is acknowledged. */
  readonly redisWaitReplicas: number;
  /** KEEPALIVE, default 25 seconds between keepalive comments on an idle stream. */
  readonly keepaliveSeconds: number;
  /** SLOW_CLIENT_TIMEOUT, default 60 seconds a stream may stay congested before it is closed. */
  readonly slowClientTimeoutSeconds: number;
  /** MAX_USERS_PER_STREAM, default 500 users in one /subscribe or /lastseen request. */
  readonly maxUsersPerStream: number;
  /** MAX_CONNECTIONS, default: the open-file limit less 1,000 for Redis, logs and headroom. */
  readonly maxConnections: number;
  /** MAX_STREAMS_PER_USER, default 100 streams per claimed user per instance (every worker thread together). */
  readonly maxStreamsPerUser: number;
  /** PING_RATE, default 2 pings per second per user+client (a token bucket in Redis); 0 disables the limit. */
  readonly pingRate: number;
  /** PING_BURST, default 10 pings a quiet client may send at once (the most tokens it holds). */
  readonly pingBurst: number;
  /** CLIENT_KEY_TTL, default 30 days (2,592,000 s) a per-client key outlives its last ping; 0 keeps it. */
  readonly clientKeyTtlSeconds: number;
  /**
   * OFFLINE_AFTER, default 60 seconds: a watched user whose last visible ping is older gets one
   * `event: offline` on every stream watching it, and `"online": false` on /lastseen; 0 turns both off.
   */
  readonly offlineAfterSeconds: number;
  /** TRUSTED_PROXIES, default loopback only (`127.0.0.0/8,::1/128`); `*` trusts every peer. */
  readonly trustedProxies: readonly string[] | '*';
  /** INVISIBLE_STATUSES, default `3`: statuses only the user's own devices see; empty disables. */
  readonly invisibleStatuses: readonly string[];
  /** CORS_ORIGINS, default none (no CORS headers); a list of origins, or `*` for any origin. */
  readonly corsOrigins: readonly string[] | '*';
  /** SHUTDOWN_TIMEOUT, default 10 seconds from SIGTERM to exit. */
  readonly shutdownTimeoutSeconds: number;
  /** ADMIN_LISTEN, default `127.0.0.1:9090`; empty disables the admin port. */
  readonly adminListen: ListenAddress | null;
  /** LOG_LEVEL, default `info`. */
  readonly logLevel: string;
  /** WORKERS, default 1; `auto` is one per CPU the process may use (cgroup quota, affinity). */
  readonly workers: number;
  /** ALLOW_UWS_FALLBACK, default false: refuse to run on uWebSockets.js's slow JS fallback. */
  readonly allowUwsFallback: boolean;
}

/**
 * Loopback only: on a shared network (Kubernetes, a compose network) any neighbour could
 * otherwise send X-User-Claim for any user. The proxy's network is named in TRUSTED_PROXIES.
 */
const DEFAULT_TRUSTED_PROXIES = Object.freeze(['127.0.0.0/8', '::1/128']);

const LISTEN_FORMS = '`:8080`, `8080`, `127.0.0.1:8080` or `[::1]:8080`';

function parseListen(variable: string, value: string): ListenAddress {
  const match = /^(?:(\[[0-9a-fA-F:.]+\]|[^:[\]]*):)?(\d{1,5})$/.exec(value.trim());
  const port = match ? Number(match[2]) : NaN;
  if (!match || port < 0 || port > 65535) throw new ConfigError(variable, value, LISTEN_FORMS);
  const host = (match[1] ?? '').replace(/^\[|\]$/g, '');
  return { host, port };
}

const REDIS_FORMS = '`host:port`, `:port`, `redis://…`, `rediss://…`, `redis-cluster://host:port,host:port,…` or `memory`';

function hostPort(variable: string, raw: string, whole: string): { host: string; port: number } {
  try {
    const { host, port } = parseListen(variable, raw.includes(':') ? raw : `${raw}:6379`);
    if (port !== 0) return { host: host || '127.0.0.1', port };
  } catch {
    // reported below with the forms REDIS accepts, not LISTEN's
  }
  throw new ConfigError(variable, whole, REDIS_FORMS);
}

function parseRedis(value: string | undefined): RedisTarget {
  if (value === undefined) return { kind: 'auto', url: 'redis://127.0.0.1:6379' };
  const v = value.trim();
  if (v === 'memory') return { kind: 'embedded' };
  if (v.startsWith('redis-cluster://')) {
    const list = v.slice('redis-cluster://'.length).split(',').filter(Boolean);
    if (list.length === 0) throw new ConfigError('REDIS', value, REDIS_FORMS);
    return { kind: 'cluster', seeds: list.map((s) => hostPort('REDIS', s, value)) };
  }
  if (/^rediss?:\/\//.test(v)) {
    try {
      new URL(v);
    } catch {
      throw new ConfigError('REDIS', value, REDIS_FORMS);
    }
    return { kind: 'standalone', url: v };
  }
  if (v === '') throw new ConfigError('REDIS', value, REDIS_FORMS);
  const { host, port } = hostPort('REDIS', v, value);
  return { kind: 'standalone', url: `redis://${host.includes(':') ? `[${host}]` : host}:${port}` };
}

function positive(variable: string, value: string | undefined, fallback: number, integer = false): number {
  if (value === undefined || value.trim() === '') return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    throw new ConfigError(variable, value, integer ? 'a positive integer' : 'a positive number of seconds');
  }
  return n;
}

function nonNegative(variable: string, value: string | undefined): number {
  if (value === undefined || value.trim() === '') return 0;
  if (!/^\d{1,3}$/.test(value.trim())) throw new ConfigError(variable, value, 'a whole number (0 or more)');
  return Number(value);
}

/** A number of 0 or more (0 switches the feature off), with `fallback` when unset. */
function zeroOrMore(variable: string, value: string | undefined, fallback: number, integer: boolean, accepted: string): number {
  if (value === undefined || value.trim() === '') return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || (integer && !Number.isInteger(n))) throw new ConfigError(variable, value, accepted);
  return n;
}

function boolean(variable: string, value: string | undefined): boolean {
  if (value === undefined || value === '') return false;
  if (/^(1|true|yes)$/i.test(value)) return true;
  if (/^(0|false|no)$/i.test(value)) return false;
  throw new ConfigError(variable, value, '`1`/`true`/`yes` or `0`/`false`/`no`');
}

function trustedProxies(value: string | undefined): readonly string[] | '*' {
  if (value === undefined || value.trim() === '') return DEFAULT_TRUSTED_PROXIES;
  if (value.trim() === '*') return '*';
  const entries = list(value);
  for (const entry of entries) {
    const [address, bits, extra] = entry.split('/');
    const version = isIP(address);
    const prefixOk = bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= (version === 6 ? 128 : 32));
    if (version === 0 || !prefixOk || extra !== undefined) {
      throw new ConfigError('TRUSTED_PROXIES', value, 'comma-separated addresses or CIDRs (`10.0.0.0/8,::1`) or `*`');
    }
  }
  return entries;
}

/** A comma-separated list; blanks around entries and empty entries are dropped. */
function list(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

function invisibleStatuses(value: string | undefined): readonly string[] {
  if (value === undefined) return ['3'];
  return list(value);
}

const ORIGIN_FORMS = 'comma-separated origins (`https://app.example.com,http://localhost:3000`) or `*`';

/** Each entry must be an origin exactly as a browser sends it in `Origin`, so matching is a string compare. */
function corsOrigins(value: string | undefined): readonly string[] | '*' {
  if (value === undefined || value.trim() === '') return [];
  if (value.trim() === '*') return '*';
  const origins = list(value);
  for (const origin of origins) {
    let parsed: URL;
    try {
      parsed = new URL(origin);
    } catch {
      throw new ConfigError('CORS_ORIGINS', value, ORIGIN_FORMS);
    }
    if (!/^https?:$/.test(parsed.protocol) || parsed.origin !== origin) throw new ConfigError('CORS_ORIGINS', value, ORIGIN_FORMS);
  }
  return origins;
}

function workers(value: string | undefined): number {
  if (value === undefined || value.trim() === '') return 1;
  if (value.trim() === 'auto') return availableCpus().count;
  return positive('WORKERS', value, 1, true);
}

/** Reads and validates the whole configuration; throws ConfigError naming the first bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, openFileLimit = 20_000): Config {
  const admin = env.ADMIN_LISTEN;
  const level = env.LOG_LEVEL?.trim() || 'info';
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(level)) {
    throw new ConfigError('LOG_LEVEL', level, 'fatal, error, warn, info, debug, trace or silent');
  }
  return {
    listen: parseListen('LISTEN', env.LISTEN?.trim() || ':8080'),
    listenBacklog: positive('LISTEN_BACKLOG', env.LISTEN_BACKLOG, 65_535, true),
    redis: parseRedis(env.REDIS),
    keyPrefix: env.KEY_PREFIX ?? 'heartbeat:',
    redisWaitReplicas: nonNegative('REDIS_WAIT_REPLICAS', env.REDIS_WAIT_REPLICAS),
    keepaliveSeconds: positive('KEEPALIVE', env.KEEPALIVE, 25),
    slowClientTimeoutSeconds: positive('SLOW_CLIENT_TIMEOUT', env.SLOW_CLIENT_TIMEOUT, 60),
    maxUsersPerStream: positive('MAX_USERS_PER_STREAM', env.MAX_USERS_PER_STREAM, 500, true),
    maxConnections: positive('MAX_CONNECTIONS', env.MAX_CONNECTIONS, Math.max(100, openFileLimit - 1_000), true),
    maxStreamsPerUser: positive('MAX_STREAMS_PER_USER', env.MAX_STREAMS_PER_USER, 100, true),
    pingRate: zeroOrMore('PING_RATE', env.PING_RATE, 2, false, 'pings per second (a number, 0 for no limit)'),
    pingBurst: positive('PING_BURST', env.PING_BURST, 10, true),
    clientKeyTtlSeconds: zeroOrMore('CLIENT_KEY_TTL', env.CLIENT_KEY_TTL, 30 * 86_400, true, 'whole seconds (0: never expire)'),
    offlineAfterSeconds: zeroOrMore('OFFLINE_AFTER', env.OFFLINE_AFTER, 60, true, 'whole seconds (0: no offline event)'),
    trustedProxies: trustedProxies(env.TRUSTED_PROXIES),
    invisibleStatuses: invisibleStatuses(env.INVISIBLE_STATUSES),
    corsOrigins: corsOrigins(env.CORS_ORIGINS),
    shutdownTimeoutSeconds: positive('SHUTDOWN_TIMEOUT', env.SHUTDOWN_TIMEOUT, 10),
    adminListen: admin === undefined ? { host: '127.0.0.1', port: 9090 } : admin.trim() === '' ? null : parseListen('ADMIN_LISTEN', admin),
    logLevel: level,
    workers: workers(env.WORKERS),
    allowUwsFallback: boolean('ALLOW_UWS_FALLBACK', env.ALLOW_UWS_FALLBACK),
    ...watchSettings(env),
  };
}
