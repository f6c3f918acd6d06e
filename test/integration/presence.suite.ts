import test from 'ava';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { startStore, type StoreName, type TestStore } from '../support/stores.js';
import { startService, type ServiceProcess } from '../support/service.js';
import { claimHeader, ping, StreamPool } from '../support/sse.js';
import { errorOf } from '../support/error-answer.js';
import { scrape, series } from '../support/metrics.js';

/**
 * What the server knows about presence beyond the last ping: `offline` after OFFLINE_AFTER of
 * silence, `"online"` on /lastseen, and erasure (`DELETE /ping`), run over every store like the
 * API suite, with two instances wherever the store is shared.
 */
export function presenceSuite(name: StoreName): void {
  let store: TestStore;
  let a: ServiceProcess;
  /** A second instance on the same store (the embedded store has only one: `a` again). */
  let b: ServiceProcess;
  let limited: ServiceProcess;
  /** Instances with a 2 s OFFLINE_AFTER (the others keep the default 60 s, which no test waits for). */
  let quickA: ServiceProcess;
  let quickB: ServiceProcess;
  const QUICK = { OFFLINE_AFTER: '2' };
  const LIMITED = { PING_RATE: '0.2', PING_BURST: '3' };
  const streams = new StreamPool();
  const user = () => `user-${randomUUID()}`;
  const stream = (url: string, headers?: Record<string, string>) => streams.open(url, headers);
  const claim = (userid: string, clientid = 'test') => claimHeader(userid, clientid);
  const erase = (url: string, headers: Record<string, string>) => fetch(`${url}/ping`, { method: 'DELETE', headers });
  const lastSeen = (url: string, userid: string, headers?: Record<string, string>) => fetch(`${url}/lastseen/${userid}`, { headers });

  /** The keys the store holds for `userid` (Redis and Cluster: on the node of its slot). */
  async function keysOf(userid: string): Promise<string[]> {
    const pattern = `heartbeat:{${encodeURIComponent(userid)}}*`;
    const server = store.cluster ? await store.cluster.masterFor(`heartbeat:{${encodeURIComponent(userid)}}`) : store.server!;
    const redis = new Redis(server.url);
    try {
      return (await redis.keys(pattern)).sort();
    } finally {
      redis.disconnect();
    }
  }

  test.before(async () => {
    store = await startStore(name);
    // The embedded store has one instance: its two run as worker threads (WORKERS=2), so erasures
    // and offlines cross the store relay between threads as they cross Redis between instances.
    const workers: Record<string, string> = store.shared ? {} : { WORKERS: '2' };
    a = await startService({ REDIS: store.redis, ...workers });
    b = store.shared ? await startService({ REDIS: store.redis }) : a;
    limited = await startService({ REDIS: store.redis, ...LIMITED });
    quickA = await startService({ REDIS: store.redis, ...QUICK, ...workers });
    quickB = store.shared ? await startService({ REDIS: store.redis, ...QUICK }) : quickA;
  });

  test.after.always(async () => {
    streams.closeAll();
    await Promise.all([
      a?.stop(),
      b === a ? undefined : b?.stop(),
      limited?.stop(),
      quickA?.stop(),
      quickB === quickA ? undefined : quickB?.stop(),
    ]);
    await store?.close();
  });

  test('DELETE /ping erases every view and client of the user: /lastseen answers 404 (own view too), new streams replay nothing', async (t) => {
    const u = user();
    const other = user();
    t.is((await ping(a.url, u, 'phone', 'phone')).status, 200);
    t.is((await ping(b.url, u, 'web', 'web')).status, 200);
    t.is((await ping(a.url, u, 3, 'web')).status, 200, 'an invisible ping: only the own view has it');
    t.is((await ping(a.url, other, 'stays')).status, 200);
    const erased = await erase(b.url, claim(u, 'web'));
    t.is(erased.status, 204);
    t.is(await erased.text(), '');
    for (const instance of [a, b]) {
      t.is((await lastSeen(instance.url, u)).status, 404);
      t.like(await errorOf(await lastSeen(instance.url, u, claim(u))), { status: 404, code: 'NEVER_SEEN' });
      const many = (await (await fetch(`${instance.url}/lastseen?user=${u}&user=${other}`)).json()) as Record<string, unknown>;
      t.is(many[u], null);
      t.like(many[other], { status: 'stays' });
    }
    const fresh = [
      stream(`${a.url}/subscribe/${u}`),
      stream(`${b.url}/subscribe/${u}`, claim(u)),
      stream(`${a.url}/subscribe/${u}/client/phone`),
      stream(`${b.url}/subscribe/${u}/client/web`, claim(u)),
      stream(`${a.url}/subscribe?user=${u}&user=${other}`),
    ];
    await Promise.all(fresh.map((s) => s.ready));
    t.deepEqual(
      fresh.map((s) => s.sequence),
      [[], [], [], [], ['stays']],
    );
    if (store.shared) t.deepEqual(await keysOf(u), [], 'nothing of the user is left in Redis');
    // The user can come back: a new ping is stored and seen as usual.
    t.is((await ping(a.url, u, 'back', 'phone')).status, 200);
    await Promise.all(fresh.slice(0, 3).map((s) => s.count(1)));
    t.like(await (await lastSeen(b.url, u)).json(), { status: 'back' });
  });

  test('open streams watching an erased user get `event: offline` with the last time they could see, then nothing of it', async (t) => {
    const u = user();
    const other = user();
    t.is((await ping(a.url, u, 'visible')).status, 200);
    const publicTime = ((await (await lastSeen(a.url, u)).json()) as { time: number }).time;
    t.is((await ping(a.url, u, 3)).status, 200);
    const ownTime = ((await (await lastSeen(a.url, u, claim(u))).json()) as { time: number }).time;
    const onA = stream(`${a.url}/subscribe/${u}`);
    const onB = stream(`${b.url}/subscribe/${u}`);
    const own = stream(`${b.url}/subscribe/${u}`, claim(u));
    const multi = stream(`${b.url}/subscribe?user=${other}&user=${u}`);
    await Promise.all([onA, onB, own, multi].map((s) => s.count(1)));
    t.is((await erase(a.url, claim(u))).status, 204);
    await Promise.all([onA, onB, own, multi].map((s) => s.until((c) => c.offlines.length === 1)));
    t.deepEqual(onA.sequence, ['visible', 'offline']);
    t.deepEqual(onB.sequence, ['visible', 'offline']);
    t.deepEqual(onA.offlines, [{ time: publicTime }]);
    t.deepEqual(own.sequence, ['3', 'offline']);
    t.deepEqual(own.offlines, [{ time: ownTime }]);
    t.deepEqual(multi.offlines, [{ userid: u, time: publicTime }]);
    t.is(multi.events.length, 1, 'the offline is a named event: onmessage never sees it');
    // A ping after the erasure is an ordinary message again, on every stream.
    t.is((await ping(b.url, u, 'again')).status, 200);
    await Promise.all([onA, onB, own, multi].map((s) => s.count(2)));
    t.deepEqual(onB.sequence, ['visible', 'offline', 'again']);
    t.deepEqual(multi.statusesOf(u), ['visible', 'again']);
  });

  test('DELETE /ping without a claim answers 400 like POST /ping, and erases nothing', async (t) => {
    const u = user();
    t.is((await ping(a.url, u, 'kept')).status, 200);
    const claims: Record<string, string>[] = [{}, { 'X-User-Claim': '{"userid":' }, { 'X-User-Claim': '{"clientid":"x"}' }];
    for (const headers of claims) {
      const posted = await errorOf(await fetch(`${a.url}/ping`, { method: 'POST', headers, body: '{}' }));
      const deleted = await errorOf(await erase(a.url, headers));
      t.is(deleted.status, 400);
      t.deepEqual(deleted, posted, `claim ${JSON.stringify(headers)}`);
    }
    t.like(await (await lastSeen(a.url, u)).json(), { status: 'kept' });
    const allow = (await fetch(`${a.url}/ping`, { method: 'PUT' })).headers.get('allow');
    t.is(allow, 'POST, DELETE, OPTIONS');
  });

  test('DELETE /ping takes a token like a ping: 429 RATE_LIMITED with Retry-After when the client has none, nothing erased', async (t) => {
    const u = user();
    for (let i = 0; i < 3; i++) t.is((await ping(limited.url, u, `p${i}`, 'phone')).status, 200);
    const refused = await erase(limited.url, claim(u, 'phone'));
    t.like(await errorOf(refused), { status: 429, code: 'RATE_LIMITED' });
    const wait = Number(refused.headers.get('retry-after'));
    t.true(Number.isInteger(wait) && wait >= 1 && wait <= 5, `Retry-After: ${wait}`);
    t.like(await (await lastSeen(limited.url, u)).json(), { status: 'p2' });
    // Another client of the user erases: every bucket goes (the phone may ping again), but the
    // erasing client keeps the token it spent, so alternating erasures and pings cannot lift the limit.
    t.is((await erase(limited.url, claim(u, 'laptop'))).status, 204);
    t.is((await lastSeen(limited.url, u)).status, 404);
    t.is((await ping(limited.url, u, 'phone again', 'phone')).status, 200);
    const laptop: number[] = [];
    for (let i = 0; i < 3; i++) laptop.push((await ping(limited.url, u, `l${i}`, 'laptop')).status);
    t.deepEqual(laptop, [200, 200, 429]);
    const metrics = await scrape(limited.adminUrl!);
    t.true((metrics.get(series('heartbeat_erasures_total', { code: '204', worker: '0' })) ?? 0) >= 1);
    t.true((metrics.get(series('heartbeat_erasures_total', { code: '429', reason: 'RATE_LIMITED', worker: '0' })) ?? 0) >= 1);
    if (store.shared) {
      t.is((await erase(limited.url, claim(u, 'phone'))).status, 204);
      t.deepEqual(
        await keysOf(u),
        [`heartbeat:{${encodeURIComponent(u)}}:client:phone`],
        "only the eraser's spent bucket, until it is full again",
      );
    }
  });

  /** The time of `userid`'s last ping as /lastseen gives it (`claim`: the user's own view). */
  const timeOf = async (url: string, userid: string, headers?: Record<string, string>) =>
    ((await (await lastSeen(url, userid, headers)).json()) as { time: number }).time;

  test('OFFLINE_AFTER: every stream watching a silent user gets one `offline` with its last ping time, on every instance; the next ping is a message again', async (t) => {
    const u = user();
    const other = user();
    const streams = [
      stream(`${quickA.url}/subscribe/${u}`),
      stream(`${quickB.url}/subscribe/${u}`),
      stream(`${quickB.url}/subscribe/${u}/client/phone`),
      stream(`${quickA.url}/subscribe?user=${other}&user=${u}`),
    ];
    await Promise.all(streams.map((s) => s.ready));
    t.is((await ping(quickA.url, u, 'here', 'phone')).status, 200);
    const time = await timeOf(quickB.url, u);
    await Promise.all(streams.map((s) => s.until((c) => c.offlines.length === 1, 10_000)));
    for (const s of streams.slice(0, 3)) {
      t.deepEqual(s.sequence, ['here', 'offline']);
      t.deepEqual(s.offlines, [{ time }]);
    }
    t.deepEqual(streams[3].offlines, [{ userid: u, time }]);
    t.like(await (await lastSeen(quickA.url, u)).json(), { status: 'here', online: false });
    // Once per silence: the next ping is an ordinary message, and its own silence its own offline.
    t.is((await ping(quickB.url, u, 'back', 'phone')).status, 200);
    t.like(await (await lastSeen(quickA.url, u)).json(), { status: 'back', online: true });
    await Promise.all(streams.map((s) => s.until((c) => c.offlines.length === 2, 10_000)));
    t.deepEqual(streams[0].sequence, ['here', 'offline', 'back', 'offline']);
    t.deepEqual(streams[3].statusesOf(u), ['here', 'back']);
    t.deepEqual(streams[3].offlines.length, 2, "the other user's silence is not announced: it never pinged");
  });

  test('OFFLINE_AFTER: a stream opened on (or resumed at) a user already silent gets the replay, then `offline` at once', async (t) => {
    const u = user();
    t.is((await ping(quickA.url, u, 'long ago')).status, 200);
    const time = await timeOf(quickA.url, u);
    const watcher = stream(`${quickB.url}/subscribe/${u}`);
    await watcher.until((c) => c.offlines.length === 1, 10_000);
    const lastId = watcher.events[0].lastEventId;
    for (const [url, headers] of [
      [quickA.url, {}],
      [quickB.url, { 'Last-Event-ID': lastId }],
      [`${quickA.url}`, { 'Last-Event-ID': lastId, ...claim(u) }],
    ] as const) {
      const late = stream(`${url}/subscribe/${u}`, headers);
      await late.ready;
      const resumed = 'Last-Event-ID' in headers;
      t.deepEqual(late.sequence, resumed ? ['offline'] : ['long ago', 'offline'], JSON.stringify(headers));
      t.deepEqual(late.offlines, [{ time }]);
    }
    const contacts = stream(`${quickB.url}/subscribe?user=${u}&user=${user()}`);
    await contacts.ready;
    t.deepEqual(contacts.offlines, [{ userid: u, time }]);
    t.deepEqual(watcher.offlines.length, 1, 'the streams already told are not told again');
  });

  test('OFFLINE_AFTER with Invisible: others see the user go offline at its last visible ping; its own devices see its own view', async (t) => {
    const u = user();
    t.is((await ping(quickA.url, u, 'visible')).status, 200);
    const visibleTime = await timeOf(quickA.url, u);
    const others = stream(`${quickA.url}/subscribe/${u}`);
    const own = stream(`${quickB.url}/subscribe/${u}`, claim(u));
    await Promise.all([others.ready, own.ready]);
    await Promise.all([others, own].map((s) => s.until((c) => c.offlines.length === 1, 10_000)));
    // An invisible ping: the user's own view is alive again; everyone else's stays frozen, offline.
    t.is((await ping(quickB.url, u, 3)).status, 200);
    t.like(await (await lastSeen(quickB.url, u)).json(), { status: 'visible', online: false });
    t.like(await (await lastSeen(quickB.url, u, claim(u))).json(), { status: '3', online: true });
    const ownTime = await timeOf(quickA.url, u, claim(u));
    await own.until((c) => c.offlines.length === 2, 10_000);
    t.deepEqual(own.sequence, ['visible', 'offline', '3', 'offline']);
    t.deepEqual(own.offlines, [{ time: visibleTime }, { time: ownTime }]);
    t.deepEqual(others.offlines, [{ time: visibleTime }]);
    t.deepEqual(others.sequence, ['visible', 'offline'], 'the invisible ping never reached the others');
  });

  test('OFFLINE_AFTER=60 (the default): /lastseen says online for a fresh ping; the Beep app reads only time and status', async (t) => {
    const u = user();
    t.is((await ping(a.url, u, '0')).status, 200);
    const body = (await (await lastSeen(a.url, u)).json()) as Record<string, unknown>;
    t.deepEqual(Object.keys(body).sort(), ['online', 'status', 'time']);
    t.is(body.online, true);
    const many = (await (await fetch(`${a.url}/lastseen?user=${u}&user=${user()}`)).json()) as Record<string, unknown>;
    t.like(many[u], { status: '0', online: true });
  });
}
