// The cluster topology of the Redis store, driven directly against a private three-master Redis
// Cluster: where each save lands, that its message travels on the user's shard (sharded pub/sub),
// and that a shard that does not answer fails a command instead of holding it. The store over it
// runs in api.cluster and cluster-failover.
import test from 'ava';
import { setTimeout as sleep } from 'node:timers/promises';
import { ClusterTopology } from '../../src/store/redis/cluster.js';
import { KeySpace } from '../../src/store/redis/keys.js';
import { keySlot } from '../../src/store/redis/key-slot.js';
import { encodeMessageTail } from '../../src/store/redis/message.js';
import type { PingToSave } from '../../src/store/redis/topology.js';
import { startRedisCluster, type RedisCluster } from '../support/redis-cluster.js';

const keys = new KeySpace('t:');
let cluster: RedisCluster;
let topology: ClusterTopology;
const heard: string[] = [];

test.before(async () => {
  cluster = await startRedisCluster();
  topology = new ClusterTopology(cluster.seedList, {
    keys,
    limits: { pingRate: 0, pingBurst: 10, clientKeyTtlSeconds: 0 },
    waitReplicas: 0,
    commandTimeoutMs: 500,
    channels: () => [],
    events: { onMessage: (channel, message) => heard.push(`${channel} ${message}`), onAvailability: () => {}, onRecovered: () => {} },
  });
  await topology.connections.connect();
});

test.after.always(async () => {
  await topology?.connections.close();
  await cluster?.close();
});

function pingOf(userid: string, clientid: string, status: string): PingToSave {
  return {
    keys: [keys.user(userid), keys.client(userid, clientid), keys.clientIndex(userid)],
    args: [status, clientid, encodeMessageTail(clientid, status), '0', String(Date.now())],
  };
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 300 && !condition(); i++) await sleep(10);
  if (!condition()) throw new Error(`timed out waiting for ${what}`);
}

/** Users whose keys live on three different masters. */
async function usersOnEveryMaster(prefix: string): Promise<string[]> {
  const byMaster = new Map<number, string>();
  for (let i = 0; byMaster.size < 3; i++) {
    const user = `${prefix}-${i}`;
    const master = await cluster.masterFor(keys.user(user));
    if (!byMaster.has(master.port)) byMaster.set(master.port, user);
  }
  return [...byMaster.values()];
}

test.serial('each save is stored on its user’s master with a sequence of that user, and published on the user’s shard', async (t) => {
  const users = await usersOnEveryMaster('shard');
  await Promise.all(users.map((u) => topology.subscribe(keys.channel(u))));
  const replies = await Promise.all(users.map((u) => topology.save(pingOf(u, 'phone', `at ${u}`))));
  for (const [i, user] of users.entries()) {
    const master = await cluster.masterFor(keys.user(user));
    t.is(await master.cli('HGET', keys.user(user), 'status'), `at ${user}`);
    t.is(await master.cli('HGET', keys.user(user), 'seq'), replies[i][0]);
  }
  t.is(await cluster.nodes[0].cli('EXISTS', keys.sequence()), '0', 'no global sequence key in a cluster');
  await until(() => heard.length === 3, 'a message per user');
  t.deepEqual(heard.map((h) => h.split(' ')[0]).sort(), users.map((u) => keys.channel(u)).sort());
  // Sharded: the message went out with SPUBLISH on the user's master, not to every node.
  const master = await cluster.masterFor(keys.user(users[0]));
  t.regex(await master.cli('INFO', 'commandstats'), /cmdstat_spublish:calls=\d+/);
  await Promise.all(users.map((u) => topology.unsubscribe(keys.channel(u))));
});

test.serial('a save does not repeat a seq of its user, and a read spans the slots of every master', async (t) => {
  const users = await usersOnEveryMaster('read');
  const first = await topology.save(pingOf(users[0], 'phone', 'one'));
  const second = await topology.save(pingOf(users[0], 'phone', 'two'));
  t.true(Number(second[0]) > Number(first[0]));
  await Promise.all(users.slice(1).map((u) => topology.save(pingOf(u, 'web', `hi ${u}`))));
  const rows = await topology.read([...users.map((u) => keys.user(u)), keys.user('nobody')], ['status', 'clientid']);
  t.deepEqual(rows, [['two', 'phone'], ...users.slice(1).map((u) => [`hi ${u}`, 'web']), [null, null]]);
});

test.serial(
  'a read of many users spans every master (one pipeline each), and the slots heartbeat computes are the cluster’s',
  async (t) => {
    const users = Array.from({ length: 300 }, (_, i) => `pipe-${i}`);
    await Promise.all(users.slice(0, 100).map((u) => topology.save(pingOf(u, 'web', `p ${u}`))));
    const rows = await topology.read(
      users.map((u) => keys.user(u)),
      ['status'],
    );
    t.deepEqual(
      rows,
      users.map((u, i) => [i < 100 ? `p ${u}` : null]),
    );
    const node = cluster.nodes[0];
    for (const u of users.slice(0, 20)) t.is(keySlot(keys.user(u)), Number(await node.cli('CLUSTER', 'KEYSLOT', keys.user(u))));
  },
);

test.serial('a master that does not answer fails the save and the read of its users instead of holding them', async (t) => {
  const [user] = await usersOnEveryMaster('frozen');
  const master = await cluster.masterFor(keys.user(user));
  master.freeze(true);
  t.teardown(() => master.freeze(false));
  // Both settle while the master is still frozen: the deadline, not the master, ends them.
  await t.throwsAsync(topology.save(pingOf(user, 'phone', 'held')));
  await t.throwsAsync(topology.read([keys.user(user)], ['status']));
  master.freeze(false);
});
