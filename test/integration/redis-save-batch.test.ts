// The Redis store saves the pings of one event-loop turn with one script call (save-pings.lua).
// These tests call the store directly, all in one turn, against a private redis-server, and read
// what Redis itself reports: how many script calls it ran and what it stored and published.
import test from 'ava';
import { RedisStore } from '../../src/store/redis/redis-store.js';
import type { StoredPing } from '../../src/store/types.js';
import { startRedis, type RedisServer } from '../support/redis-server.js';

interface Heard {
  userid: string;
  status: string;
  seq: number;
  invisible: boolean;
}

async function storeOn(server: RedisServer, pingRate = 0, pingBurst = 10) {
  const store = new RedisStore({
    target: { url: server.url },
    keyPrefix: 'heartbeat:',
    waitReplicas: 0,
    limits: { pingRate, pingBurst, clientKeyTtlSeconds: 0 },
  });
  const heard: Heard[] = [];
  store.setListener({
    onPing: (userid: string, ping: StoredPing, invisible: boolean) => heard.push({ userid, status: ping.status, seq: ping.seq, invisible }),
    onErased: () => {},
    onRecovered: () => {},
    onAvailability: () => {},
  });
  await store.connect();
  return { store, heard };
}

async function scriptCalls(server: RedisServer): Promise<number> {
  const stats = await server.cli('INFO', 'commandstats');
  return [...stats.matchAll(/^cmdstat_(evalsha|eval):calls=(\d+)/gm)].reduce((n, m) => n + Number(m[2]), 0);
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  if (!condition()) throw new Error(`timed out waiting for ${what}`);
}

test('the pings of one turn are one script call: each stored, published once and answered in order', async (t) => {
  const server = await startRedis();
  const { store, heard } = await storeOn(server);
  t.teardown(async () => {
    await store.close();
    await server.close();
  });
  const users = Array.from({ length: 10 }, (_, i) => `batch-${i}`);
  await Promise.all(users.map((u) => store.subscribe(u)));
  await server.cli('CONFIG', 'RESETSTAT');
  const saves = Array.from({ length: 30 }, (_, i) => store.save(users[i % 10], `c${i % 3}`, `s${i}`));
  const saved = (await Promise.all(saves)) as StoredPing[];
  t.is(await scriptCalls(server), 1);
  const seqs = saved.map((p) => p.seq);
  t.deepEqual(
    seqs,
    [...seqs].sort((a, b) => a - b),
    'sequence numbers follow the order of the calls',
  );
  t.is(new Set(seqs).size, 30);
  for (const [i, u] of users.entries()) t.is(await server.cli('HGET', `heartbeat:{${u}}`, 'status'), `s${20 + i}`);
  t.is(await server.cli('HGET', 'heartbeat:{batch-3}:client:c0', 'status'), 's3');
  await until(() => heard.length === 30, 'every publish');
  t.deepEqual(
    heard.map((h) => h.status),
    saved.map((p) => p.status),
  );
  t.deepEqual(
    heard.map((h) => h.seq),
    seqs,
  );
  // The next save continues the sequence the batch left in Redis.
  const next = (await store.save('batch-0', 'c0', 'later')) as StoredPing;
  t.true(next.seq > seqs[29]);
});

test('in one batch the rate limit counts each ping of a client, and an invisible ping stays on the own channel', async (t) => {
  const server = await startRedis();
  const { store, heard } = await storeOn(server, 0.5, 2);
  t.teardown(async () => {
    await store.close();
    await server.close();
  });
  await Promise.all([store.subscribe('rl'), store.subscribe('rl', true)]);
  await server.cli('CONFIG', 'RESETSTAT');
  const results = await Promise.all([
    store.save('rl', 'phone', 'p1'),
    store.save('rl', 'phone', 'p2'),
    store.save('rl', 'phone', 'p3'),
    store.save('rl', 'laptop', 'l1'),
    store.save('rl', 'laptop', 'hidden', true),
    store.save('rl', 'laptop', 'l3'),
  ]);
  t.is(await scriptCalls(server), 1);
  const outcome = results.map((r) =>
    'retryAfterSeconds' in r ? `429 after ${r.retryAfterSeconds}s` : 'overtaken' in r ? 'overtaken' : r.status,
  );
  t.deepEqual(outcome, ['p1', 'p2', '429 after 2s', 'l1', 'hidden', '429 after 2s']);
  await until(() => heard.length === 4, 'the four stored pings');
  t.deepEqual(
    heard.map((h) => `${h.status}${h.invisible ? ' (own channel)' : ''}`),
    ['p1', 'p2', 'l1', 'hidden (own channel)'],
  );
  t.is(await server.cli('HGET', 'heartbeat:{rl}', 'status'), 'l1', 'the public fields keep the last visible ping');
  t.is(await server.cli('HGET', 'heartbeat:{rl}', 'invisible:status'), 'hidden');
});

test('a turn with more pings than one batch holds is split into several calls, still in order', async (t) => {
  const server = await startRedis();
  const { store } = await storeOn(server);
  t.teardown(async () => {
    await store.close();
    await server.close();
  });
  await server.cli('CONFIG', 'RESETSTAT');
  const saved = (await Promise.all(Array.from({ length: 300 }, (_, i) => store.save(`big-${i}`, 'c', `s${i}`)))) as StoredPing[];
  t.is(await scriptCalls(server), 3, '128 + 128 + 44');
  t.true(saved.every((p, i) => i === 0 || p.seq > saved[i - 1].seq));
  t.is(await server.cli('HGET', 'heartbeat:{big-299}', 'status'), 's299');
});
