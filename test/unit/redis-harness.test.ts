import test from 'ava';
import { Cluster, Redis } from 'ioredis';
import { once } from 'node:events';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, freePortWithBus } from '../support/ports.js';
import { startRedis, type RedisServer } from '../support/redis-server.js';
import { startRedisCluster } from '../support/redis-cluster.js';

function tcpConnect(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve();
    });
    socket.once('error', reject);
  });
}

/** Replicas ack their offset once a second; wait until every replica of `master` has caught up. */
async function waitReplicated(master: RedisServer): Promise<void> {
  for (const deadline = Date.now() + 5000; Date.now() < deadline; await sleep(100)) {
    const info = await master.cli('INFO', 'replication');
    const masterOffset = /master_repl_offset:(\d+)/.exec(info)?.[1];
    const replicaOffsets = [...info.matchAll(/^slave\d+:.*offset=(\d+)/gm)].map((m) => m[1]);
    if (replicaOffsets.length > 0 && replicaOffsets.every((o) => o === masterOffset)) return;
  }
  throw new Error(`replicas of ${master.address} did not catch up`);
}

test('ports: never 6379, bus port fits', async (t) => {
  const [a, b] = await Promise.all([freePort(), freePort()]);
  t.not(a, b);
  t.not(a, 6379);
  const withBus = await freePortWithBus();
  t.true(withBus >= 20000 && withBus + 10000 <= 65535);
});

test('standalone: SET/GET, connection refused after kill', async (t) => {
  const server = await startRedis();
  t.teardown(() => server.close());
  t.is(server.url, `redis://127.0.0.1:${server.port}`);
  t.is(server.address, `127.0.0.1:${server.port}`);

  const client = new Redis(server.url, { maxRetriesPerRequest: 0 });
  t.teardown(() => client.disconnect());
  await client.set('greeting', 'hello');
  t.is(await client.get('greeting'), 'hello');
  t.is(await server.cli('GET', 'greeting'), 'hello');
  client.disconnect();

  await server.kill();
  t.false(server.running);
  await t.throwsAsync(tcpConnect(server.port), { code: 'ECONNREFUSED' });
});

test('standalone: appendfsync always keeps data across SIGKILL and graceful stop', async (t) => {
  const server = await startRedis({ appendfsync: 'always' });
  t.teardown(() => server.close());

  const before = new Redis(server.url, { maxRetriesPerRequest: 0 });
  await before.set('survivor', 'yes');
  before.disconnect();
  await server.kill();
  await server.start();
  t.is(await server.cli('GET', 'survivor'), 'yes');

  await server.cli('SET', 'graceful', 'yes');
  await server.stop();
  t.false(server.running);
  await server.start();

  const after = new Redis(server.url, { maxRetriesPerRequest: 0 });
  t.teardown(() => after.disconnect());
  t.deepEqual(await after.mget('survivor', 'graceful'), ['yes', 'yes']);
});

test('cluster: data, sharded pub/sub and failover', async (t) => {
  const cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 1 });
  t.teardown(() => cluster.close());
  t.is(cluster.nodes.length, 6);
  t.is(cluster.seedList.length, 6);
  t.true(cluster.seeds.startsWith(`redis-cluster://${cluster.nodes[0].address},`));

  const client = new Cluster(cluster.seedList);
  const subscriber = new Cluster(cluster.seedList, { shardedSubscribers: true });
  t.teardown(() => {
    client.disconnect();
    subscriber.disconnect();
  });

  const keys = Array.from({ length: 100 }, (_, i) => `presence:${i}`);
  await Promise.all(keys.map((k) => client.set(k, `v-${k}`)));
  t.deepEqual(
    await Promise.all(keys.map((k) => client.get(k))),
    keys.map((k) => `v-${k}`),
  );

  const channel = 'room:{lobby}';
  await subscriber.ssubscribe(channel);
  const received = once(subscriber, 'smessage');
  await client.spublish(channel, 'hi');
  const [gotChannel, message] = (await received) as [string, string];
  t.deepEqual([gotChannel, message], [channel, 'hi']);

  const key = keys[42];
  const master = await cluster.masterFor(key);
  await waitReplicated(master);
  const started = Date.now();
  await master.kill();
  await cluster.waitForFailover(master);
  t.log(`failover took ${Date.now() - started} ms`);

  const promoted = await cluster.masterFor(key);
  t.not(promoted, master);
  t.true(promoted.running);
  t.is(await client.get(key), `v-${key}`);
});
