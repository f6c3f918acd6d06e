// The standalone topology of the Redis store and the connections' lifecycle, driven directly
// against a private redis-server: what Redis itself reports (commands run, hashes stored, messages
// published) and what the connections tell the store. The store over it runs in api.redis.
import test, { type ExecutionContext } from 'ava';
import { setTimeout as sleep } from 'node:timers/promises';
import { KeySpace } from '../../src/store/redis/keys.js';
import { encodeMessageTail } from '../../src/store/redis/message.js';
import { StandaloneTopology } from '../../src/store/redis/standalone.js';
import type { PingToSave } from '../../src/store/redis/topology.js';
import { startRedis, type RedisServer } from '../support/redis-server.js';

const keys = new KeySpace('t:');

function pingOf(userid: string, clientid: string, status: string): PingToSave {
  return {
    keys: [keys.user(userid), keys.client(userid, clientid), keys.clientIndex(userid)],
    args: [status, clientid, encodeMessageTail(clientid, status), '0', String(Date.now())],
  };
}

/** A private redis-server and a standalone topology connected to it, both closed after the test. */
async function topologyOn(t: ExecutionContext, waitReplicas = 0) {
  const server = await startRedis();
  const heard: string[] = [];
  const availability: boolean[] = [];
  let recoveries = 0;
  const topology = new StandaloneTopology(server.url, {
    keys,
    limits: { pingRate: 0, pingBurst: 10, clientKeyTtlSeconds: 0 },
    waitReplicas,
    commandTimeoutMs: 800,
    channels: () => [],
    events: {
      onMessage: (channel, message) => heard.push(`${channel} ${message}`),
      onAvailability: (up) => availability.push(up),
      onRecovered: () => recoveries++,
    },
  });
  t.teardown(async () => {
    await topology.connections.close();
    await server.close();
  });
  await topology.connections.connect();
  return { server, topology, heard, availability, recoveries: () => recoveries };
}

/** How many times Redis ran each command since the last CONFIG RESETSTAT. */
async function calls(server: RedisServer): Promise<Record<string, number>> {
  const stats = await server.cli('INFO', 'commandstats');
  return Object.fromEntries([...stats.matchAll(/^cmdstat_([a-z|]+):calls=(\d+)/gm)].map((m) => [m[1], Number(m[2])]));
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 300 && !condition(); i++) await sleep(10);
  if (!condition()) throw new Error(`timed out waiting for ${what}`);
}

test('the saves of one turn are one script call: replies in call order, seqs increasing, each published on its channel', async (t) => {
  const { topology, heard, server } = await topologyOn(t);
  await Promise.all(['a', 'b'].map((u) => topology.subscribe(keys.channel(u))));
  await server.cli('CONFIG', 'RESETSTAT');
  const replies = await Promise.all(
    [pingOf('a', 'phone', 's1'), pingOf('b', 'web', 's2'), pingOf('a', 'web', 's3')].map((p) => topology.save(p)),
  );
  const scripts = await calls(server);
  t.is((scripts.evalsha ?? 0) + (scripts.eval ?? 0), 1);
  const seqs = replies.map(([seq]) => Number(seq));
  t.true(seqs[0] < seqs[1] && seqs[1] < seqs[2], seqs.join(' < '));
  t.is(await server.cli('HGET', keys.user('a'), 'status'), 's3');
  t.is(await server.cli('GET', keys.sequence()), String(seqs[2]), 'the global sequence key holds the last seq');
  await until(() => heard.length === 3, 'three messages');
  t.deepEqual(
    heard.map((h) => h.split(' ')[0]),
    [keys.channel('a'), keys.channel('b'), keys.channel('a')],
  );
});

test('the subscribes of one turn are one SUBSCRIBE, the unsubscribes one UNSUBSCRIBE; after it nothing more is heard', async (t) => {
  const { topology, heard, server } = await topologyOn(t);
  const channels = Array.from({ length: 20 }, (_, i) => keys.channel(`u${i}`));
  await server.cli('CONFIG', 'RESETSTAT');
  await Promise.all(channels.map((c) => topology.subscribe(c)));
  t.is((await calls(server)).subscribe, 1);
  await server.cli('PUBLISH', channels[7], 'hello');
  await until(() => heard.length === 1, 'the message');
  t.is(heard[0], `${channels[7]} hello`);
  await Promise.all(channels.map((c) => topology.unsubscribe(c)));
  t.is((await calls(server)).unsubscribe, 1);
  t.is(await server.cli('PUBLISH', channels[7], 'gone'), '0', 'no subscriber left on the channel');
});

test('read: the fields of each hash in order, nulls for a hash that does not exist', async (t) => {
  const { topology } = await topologyOn(t);
  await topology.save(pingOf('r', 'phone', 'here'));
  const [stored, missing] = await topology.read([keys.user('r'), keys.user('nobody')], ['status', 'clientid']);
  t.deepEqual(stored, ['here', 'phone']);
  t.deepEqual(missing, [null, null]);
});

test('read: 2,500 hashes are three read-pings.lua calls (at most 1,000 keys each), not 2,500 HMGETs', async (t) => {
  const { topology, server } = await topologyOn(t);
  const users = Array.from({ length: 2_500 }, (_, i) => `many-${i}`);
  await Promise.all(users.filter((_, i) => i % 2 === 0).map((u) => topology.save(pingOf(u, 'phone', `s-${u}`))));
  await topology.read([keys.user('warm')], ['status']); // loads the script: later calls are EVALSHA
  await server.cli('CONFIG', 'RESETSTAT');
  const rows = await topology.read(
    users.map((u) => keys.user(u)),
    ['status'],
  );
  t.deepEqual(
    rows,
    users.map((u, i) => [i % 2 === 0 ? `s-${u}` : null]),
  );
  const ran = await calls(server);
  t.is(ran.evalsha ?? 0, 3);
  t.is(ran.hmget, 2_500, 'the HMGETs run inside the scripts');
});

test('the connections: Redis killed makes the store unavailable; back, it is available and recovered once the subscriptions are confirmed', async (t) => {
  const { topology, heard, availability, recoveries, server } = await topologyOn(t);
  await topology.subscribe(keys.channel('back'));
  t.true(topology.connections.isAvailable());
  await server.kill();
  await until(() => !topology.connections.isAvailable(), 'unavailable');
  await t.throwsAsync(topology.save(pingOf('back', 'phone', 'lost')));
  await server.start();
  await until(() => recoveries() === 1, 'the recovery');
  t.true(topology.connections.isAvailable());
  t.deepEqual(availability, [true, false, true]);
  // Recovered means resubscribed: a message published now is heard.
  await server.cli('PUBLISH', keys.channel('back'), 'again');
  await until(() => heard.length === 1, 'the message after recovery');
});

test('saves that WAIT for a replica are refused when there is none, on a writer connection of their own', async (t) => {
  const { topology, server } = await topologyOn(t, 1);
  t.not(topology.connections.writer, topology.connections.commands);
  // WAIT answers 0 after half the command timeout; on a stalled box the client's own timeout may
  // end it first. Either way the save is refused.
  await t.throwsAsync(topology.save(pingOf('w', 'phone', 'unsafe')), {
    message: /^(only 0 replicas acknowledged|replicas not confirmed: Command timed out)$/,
  });
  t.is(await server.cli('HGET', keys.user('w'), 'status'), 'unsafe', 'stored on the master, but not acknowledged');
});
