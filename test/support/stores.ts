import { startRedisCluster, type RedisCluster } from './redis-cluster.js';
import { startRedis, type RedisServer } from './redis-server.js';

export type StoreName = 'embedded' | 'redis' | 'cluster';

/** A presence store for one suite run: what to put in REDIS, and the servers behind it. */
export interface TestStore {
  readonly name: StoreName;
  /** The REDIS value for the service. */
  readonly redis: string;
  /** Several instances can share it (not the embedded store). */
  readonly shared: boolean;
  readonly server?: RedisServer;
  readonly cluster?: RedisCluster;
  close(): Promise<void>;
}

/** Starts a private store; nothing here ever touches the shared Redis on 6379. */
export async function startStore(
  name: StoreName,
  options: { appendfsync?: 'always'; replicasPerMaster?: number } = {},
): Promise<TestStore> {
  if (name === 'embedded') return { name, redis: 'memory', shared: false, close: async () => {} };
  if (name === 'redis') {
    const server = await startRedis(options);
    return { name, redis: server.address, shared: true, server, close: () => server.close() };
  }
  const cluster = await startRedisCluster(options);
  return { name, redis: cluster.seeds, shared: true, cluster, close: () => cluster.close() };
}
