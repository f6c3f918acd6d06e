import { createConnection } from 'node:net';
import type { Config, RedisTarget } from '../process/config.js';
import type { Logger } from '../process/logger.js';
import { EmbeddedStore } from './embedded.js';
import { RedisStore } from './redis/redis-store.js';
import type { Store, StoreLimits } from './types.js';

export interface StoreOptions {
  /** KEY_PREFIX. */
  keyPrefix: string;
  /** REDIS_WAIT_REPLICAS. */
  waitReplicas: number;
  /** PING_RATE, PING_BURST, CLIENT_KEY_TTL. */
  limits: StoreLimits;
}

/** The store's options from the configuration. */
export function storeOptionsOf(config: Config): StoreOptions {
  return {
    keyPrefix: config.keyPrefix,
    waitReplicas: config.redisWaitReplicas,
    limits: { pingRate: config.pingRate, pingBurst: config.pingBurst, clientKeyTtlSeconds: config.clientKeyTtlSeconds },
  };
}

/** Whether something answers PING on host:port within `timeoutMs`. */
function answersPing(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    const finish = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => finish(false));
    socket.on('error', () => finish(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (data) => finish(data.toString().startsWith('+PONG')));
  });
}

/**
 * The store REDIS names. When REDIS is not set and nothing answers on 127.0.0.1:6379 (the
 * `auto` target's address), run the embedded store (so `npm start` works on a fresh machine)
 * and say so loudly. When REDIS is set there is never a fallback: a wrong address must fail the
 * start, not split the cluster.
 */
export async function connectStore(target: RedisTarget, options: StoreOptions, log: Logger): Promise<Store> {
  if (target.kind === 'embedded') return new EmbeddedStore(options.limits);
  if (target.kind === 'auto' && !(await answersPing(new URL(target.url).hostname, Number(new URL(target.url).port)))) {
    log.warn(
      'REDIS is not set and nothing answers on 127.0.0.1:6379: running with the EMBEDDED single-instance store. ' +
        'Pings are kept in memory only and are not shared with other instances. Set REDIS for production.',
    );
    return new EmbeddedStore(options.limits);
  }
  const redis = new RedisStore({
    target: target.kind === 'cluster' ? { seeds: target.seeds } : { url: target.url },
    keyPrefix: options.keyPrefix,
    waitReplicas: options.waitReplicas,
    limits: options.limits,
    log,
  });
  await redis.connect();
  return redis;
}
