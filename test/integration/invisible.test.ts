import test from 'ava';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { startStore } from '../support/stores.js';
import { sequenceStatus } from '../support/exactly-once.js';
import { startService, type ServiceProcess } from '../support/service.js';
import { ping, StreamClient } from '../support/sse.js';
import { TcpRelay } from '../support/tcp-relay.js';

/**
 * INVISIBLE_STATUSES (default `3`) through the real claim path: X-User-Claim from the loopback
 * proxy position names the reader. Another user, an anonymous reader and another user's contact
 * list see the invisible user frozen at its last visible ping; the user's own devices (its claim)
 * see every ping. Across several instances on Redis Cluster, across worker threads over the
 * embedded store, and through a Redis outage and the recovery re-read.
 */
const claim = (userid: string, clientid = 'web') => ({ 'X-User-Claim': JSON.stringify({ userid, clientid }) });
const INVISIBLE = '3';

async function readiness(service: ServiceProcess): Promise<number> {
  return (await fetch(`${service.adminUrl}/readyz`)).status;
}

async function until(condition: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

test('an outage and the recovery re-read: the public streams catch up on the last visible ping, own streams on the invisible one', async (t) => {
  const store = await startStore('redis');
  const relay = await TcpRelay.start(store.server!.port);
  // `cut` reaches Redis through the relay (and loses it); `sender` keeps its own connection.
  const [cut, sender] = await Promise.all([startService({ REDIS: relay.address }), startService({ REDIS: store.redis })]);
  const streams: StreamClient[] = [];
  const open = (path: string, headers?: Record<string, string>) => {
    const s = new StreamClient(`${cut.url}${path}`, headers);
    streams.push(s);
    return s;
  };
  try {
    const [u, v] = [`inv-${randomUUID()}`, `inv-${randomUUID()}`];
    const everyoneElse = [
      open(`/subscribe/${u}`),
      open(`/subscribe/${u}`, claim(v)),
      open(`/subscribe?user=${v}&user=${u}`, claim(v)),
      open(`/subscribe/${u}/client/phone`),
    ];
    const own = [
      open(`/subscribe/${u}`, claim(u)),
      open(`/subscribe?user=${u}&user=${v}`, claim(u)),
      open(`/subscribe/${u}/client/phone`, claim(u)),
    ];
    await Promise.all(streams.map((s) => s.ready));
    t.is((await ping(sender.url, u, 'before', 'phone')).status, 200);
    await Promise.all(streams.map((s) => s.count(1)));

    relay.cutOff();
    await until(async () => (await readiness(cut)) === 503, 'the cut instance to notice');
    // Published while `cut` hears nothing: only the recovery re-read can bring these.
    t.is((await ping(sender.url, u, 'away', 'phone')).status, 200);
    t.is((await ping(sender.url, u, INVISIBLE, 'phone')).status, 200);
    relay.restore();
    await until(async () => (await readiness(cut)) === 200, 'the cut instance to recover');

    await Promise.all(own.map((s) => s.until((c) => c.json().at(-1)?.status === INVISIBLE)));
    await Promise.all(everyoneElse.map((s) => s.until((c) => c.json().at(-1)?.status === 'away')));
    t.is((await ping(sender.url, u, 'back', 'phone')).status, 200);
    await Promise.all(streams.map((s) => s.until((c) => c.json().at(-1)?.status === 'back')));
    await sleep(200);
    for (const s of everyoneElse)
      t.deepEqual(
        s
          .json()
          .filter((e) => (e.userid ?? u) === u)
          .map((e) => e.status),
        ['before', 'away', 'back'],
      );
    // The own view re-read first: the older visible ping it supersedes is not sent after it.
    for (const s of own)
      t.deepEqual(
        s
          .json()
          .filter((e) => (e.userid ?? u) === u)
          .map((e) => e.status),
        ['before', INVISIBLE, 'back'],
      );
  } finally {
    for (const s of streams) s.close();
    await Promise.all([cut.stop(), sender.stop()]);
    await relay.close();
    await store.close();
  }
});

/** Where the streams and pings of the next test go: several instances, or several worker threads. */
const deployments = {
  'three instances on Redis Cluster': async () => {
    const store = await startStore('cluster');
    const instances = await Promise.all([1, 2, 3].map(() => startService({ REDIS: store.redis })));
    return {
      urls: instances.map((s) => s.url),
      close: async () => (await Promise.all(instances.map((s) => s.stop())), await store.close()),
    };
  },
  'two worker threads over the embedded store': async () => {
    const service = await startService({ REDIS: 'memory', WORKERS: '2' });
    // Every request is a new connection, which the kernel spreads over both workers.
    return { urls: [service.url, service.url, service.url], close: async () => void (await service.stop()) };
  },
};

for (const [name, deploy] of Object.entries(deployments)) {
  test(`${name}: two users watching each other; invisible pings reach only the user's own streams, every ping exactly once, in order`, async (t) => {
    const { urls, close } = await deploy();
    const streams: { watched: string; own: boolean; client: StreamClient }[] = [];
    const lists: StreamClient[] = [];
    try {
      const users = [`pair-${randomUUID()}`, `pair-${randomUUID()}`];
      for (const url of urls) {
        for (const watched of users) {
          for (const reader of users)
            streams.push({ watched, own: reader === watched, client: new StreamClient(`${url}/subscribe/${watched}`, claim(reader)) });
          streams.push({ watched, own: false, client: new StreamClient(`${url}/subscribe/${watched}`) });
        }
      }
      // Contact lists of both users, read by the first user: its own view of itself, the public one of the other.
      lists.push(...urls.map((url) => new StreamClient(`${url}/subscribe?user=${users[0]}&user=${users[1]}`, claim(users[0]))));
      await Promise.all([...streams.map((s) => s.client.ready), ...lists.map((l) => l.ready)]);

      // Per user: #1, 3, #2, 3, … each through another instance; the two users at once.
      const sequence = Array.from({ length: 12 }, (_, i) => (i % 2 === 1 ? INVISIBLE : sequenceStatus(i / 2 + 1)));
      await Promise.all(
        users.map(async (user, u) => {
          for (const [i, status] of sequence.entries()) t.is((await ping(urls[(i + u) % urls.length], user, status, 'phone')).status, 200);
        }),
      );
      const visible = sequence.filter((s) => s !== INVISIBLE);
      for (const { watched, own, client } of streams) {
        const expected = own ? sequence : visible;
        await client.count(expected.length);
        await sleep(100);
        t.deepEqual(client.statuses(), expected, `${own ? 'own' : 'public'} view of ${watched}`);
      }
      for (const list of lists) {
        await list.count(sequence.length + visible.length);
        await sleep(100);
        t.deepEqual(
          list
            .json()
            .filter((e) => e.userid === users[0])
            .map((e) => e.status),
          sequence,
        );
        t.deepEqual(
          list
            .json()
            .filter((e) => e.userid === users[1])
            .map((e) => e.status),
          visible,
        );
      }
      // What a late reader gets: the last visible ping, or with its own claim the last ping.
      const lastSeen = async (headers: Record<string, string>) =>
        ((await (await fetch(`${urls[1]}/lastseen/${users[0]}`, { headers })).json()) as { status: string }).status;
      t.is(await lastSeen({}), visible[visible.length - 1]);
      t.is(await lastSeen(claim(users[1])), visible[visible.length - 1]);
      t.is(await lastSeen(claim(users[0])), sequence[sequence.length - 1]);
    } finally {
      for (const s of [...streams.map((s) => s.client), ...lists]) s.close();
      await close();
    }
  });
}

test('INVISIBLE_STATUSES empty: status 3 is an ordinary status; a listed status is invisible', async (t) => {
  const [off, custom] = await Promise.all([
    startService({ REDIS: 'memory', INVISIBLE_STATUSES: '' }),
    startService({ REDIS: 'memory', INVISIBLE_STATUSES: 'hidden, ghost' }),
  ]);
  try {
    const u = `conf-${randomUUID()}`;
    const seen = async (url: string) => ((await (await fetch(`${url}/lastseen/${u}`)).json()) as { status: string }).status;
    for (const service of [off, custom]) t.is((await ping(service.url, u, 'online')).status, 200);
    t.is((await ping(off.url, u, INVISIBLE)).status, 200);
    t.is(await seen(off.url), INVISIBLE);
    t.is((await ping(custom.url, u, INVISIBLE)).status, 200);
    t.is((await ping(custom.url, u, 'ghost')).status, 200);
    t.is(await seen(custom.url), INVISIBLE);
  } finally {
    await Promise.all([off.stop(), custom.stop()]);
  }
});

test('a ping is one script call on Redis (one round trip), visible or invisible, and one publish', async (t) => {
  const store = await startStore('redis');
  const service = await startService({ REDIS: store.redis });
  try {
    const server = store.server!;
    const u = `rt-${randomUUID()}`;
    t.is((await ping(service.url, u, 'warm-up')).status, 200);
    await server.cli('CONFIG', 'RESETSTAT');
    for (let i = 0; i < 20; i++) t.is((await ping(service.url, u, i % 2 ? INVISIBLE : 'online')).status, 200);
    const stats = await server.cli('INFO', 'commandstats');
    const calls = Object.fromEntries([...stats.matchAll(/^cmdstat_([a-z|]+):calls=(\d+)/gm)].map((m) => [m[1], Number(m[2])]));
    // Every ping is one EVALSHA (its reads, HSETs, EXPIRE, the client index's ZADD and trim, and
    // PUBLISH run inside it); nothing else was sent.
    t.is((calls.evalsha ?? 0) + (calls.eval ?? 0), 20, JSON.stringify(calls));
    t.is(calls.publish, 20);
    t.deepEqual(
      Object.keys(calls).filter(
        (c) =>
          ![
            'evalsha',
            'eval',
            'publish',
            'hset',
            'hmget',
            'get',
            'set',
            'time',
            'expire',
            'persist',
            'zadd',
            'zremrangebyscore',
            'config|resetstat',
            'info',
          ].includes(c),
      ),
      [],
    );
    // One hash holds both: the last visible ping in the public fields, the invisible one apart.
    const fields = await server.cli('HGETALL', `heartbeat:{${u}}`);
    t.regex(fields, /invisible:status\n3/);
    t.regex(fields, /^status\nonline/m);
  } finally {
    await service.stop();
    await store.close();
  }
});
