import test from 'ava';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { startStore, type StoreName, type TestStore } from '../support/stores.js';
import { startService, type ServiceProcess } from '../support/service.js';
import { scrape, series } from '../support/metrics.js';
import { claimHeader, ping, StreamPool } from '../support/sse.js';
import { errorOf } from '../support/error-answer.js';
import { Errors, type ErrorCode } from '../../src/http/errors.js';

/**
 * The API contract, as one suite run over every store (embedded, Redis, Redis Cluster), the way
 * socket.io-redis-adapter runs one suite over each adapter. Everything goes through real sockets:
 * a real service process, a private redis-server, the `eventsource` client.
 */
export function apiSuite(name: StoreName): void {
  let store: TestStore;
  let a: ServiceProcess;
  let b: ServiceProcess | null = null;
  /** Instances with a tight rate limit and a short CLIENT_KEY_TTL (the others have PING_RATE=0). */
  let limitedA: ServiceProcess;
  let limitedB: ServiceProcess | null = null;
  const LIMITED = { PING_RATE: '0.2', PING_BURST: '3', CLIENT_KEY_TTL: '2' };
  const streams = new StreamPool();
  const user = () => `user-${randomUUID()}`;
  const stream = (url: string, headers?: Record<string, string>) => streams.open(url, headers);
  const claim = (userid: string, clientid = 'c') => claimHeader(userid, clientid);
  const post = (body: string | Uint8Array, headers: Record<string, string> = {}) =>
    fetch(`${a.url}/ping`, { method: 'POST', headers, body });

  test.before(async () => {
    store = await startStore(name);
    a = await startService({ REDIS: store.redis });
    if (store.shared) b = await startService({ REDIS: store.redis });
    limitedA = await startService({ REDIS: store.redis, ...LIMITED });
    if (store.shared) limitedB = await startService({ REDIS: store.redis, ...LIMITED });
  });

  test.after.always(async () => {
    streams.closeAll();
    await Promise.all([a?.stop(), b?.stop(), limitedA?.stop(), limitedB?.stop()]);
    await store?.close();
  });

  test('a ping is acknowledged with an empty 200 and readable as last seen', async (t) => {
    const u = user();
    const before = Math.floor(Date.now() / 1000);
    const res = await ping(a.url, u, '1');
    t.is(res.status, 200);
    t.is(await res.text(), '');
    const seen = await fetch(`${a.url}/lastseen/${u}`);
    t.is(seen.status, 200);
    const body = (await seen.json()) as { time: number; status: string };
    t.deepEqual(Object.keys(body).sort(), ['online', 'status', 'time'], 'online: the last ping is under OFFLINE_AFTER old');
    t.is(body.status, '1');
    t.true(
      Number.isInteger(body.time) && body.time >= before - 1 && body.time <= Date.now() / 1000 + 1,
      `time ${body.time} is Unix seconds`,
    );
  });

  test('a stream opens at once with SSE headers, a first comment and a retry hint', async (t) => {
    const controller = new AbortController();
    const res = await fetch(`${a.url}/subscribe/${user()}?token=ignored.jwt`, { signal: controller.signal });
    t.is(res.status, 200);
    t.regex(res.headers.get('content-type') ?? '', /^text\/event-stream/);
    t.is(res.headers.get('cache-control'), 'no-cache');
    t.is(res.headers.get('x-accel-buffering'), 'no');
    const reader = res.body!.getReader() as ReadableStreamDefaultReader<Uint8Array>;
    const { value } = await reader.read();
    const head = Buffer.from(value!).toString();
    t.regex(head, /^:.*\n/);
    t.regex(head, /\nretry: \d+\n/);
    controller.abort();
  });

  test('the cached last ping arrives at once, then every new one, each with an increasing id', async (t) => {
    const u = user();
    t.is((await ping(a.url, u, 'first')).status, 200);
    const s = stream(`${a.url}/subscribe/${encodeURIComponent(u)}?token=x`);
    await s.count(1);
    t.deepEqual(s.statuses(), ['first']);
    await ping(a.url, u, 'second');
    await ping(a.url, u, 2);
    await s.count(3);
    t.deepEqual(s.statuses(), ['first', 'second', '2']);
    const ids = s.events.map((e) => Number(e.lastEventId));
    t.true(
      ids.every((id, i) => Number.isSafeInteger(id) && (i === 0 || id > ids[i - 1])),
      `ids ${ids.join(',')}`,
    );
    t.deepEqual(Object.keys(s.json()[0]).sort(), ['status', 'time']);
  });

  test('an empty body is a bare ping with status ""', async (t) => {
    const u = user();
    t.is((await post('', claim(u))).status, 200);
    const seen = (await (await fetch(`${a.url}/lastseen/${u}`)).json()) as { status: string };
    t.is(seen.status, '');
  });

  test('the /client/:clientid form sees only that client, cached and live', async (t) => {
    const u = user();
    await ping(a.url, u, 'from-phone', 'phone');
    await ping(a.url, u, 'from-web', 'web');
    const phone = stream(`${a.url}/subscribe/${u}/client/phone`);
    await phone.count(1);
    await ping(a.url, u, 'web-again', 'web');
    await ping(a.url, u, 'phone-again', 'phone');
    await phone.count(2);
    t.deepEqual(phone.statuses(), ['from-phone', 'phone-again']);
  });

  test('two streams of one user both get every ping; another user gets none of them', async (t) => {
    const u = user();
    const other = user();
    const s1 = stream(`${a.url}/subscribe/${u}`);
    const s2 = stream(`${(b ?? a).url}/subscribe/${u}`);
    const s3 = stream(`${a.url}/subscribe/${other}`);
    await Promise.all([s1.ready, s2.ready, s3.ready]);
    for (const status of ['x', 'y', 'z']) t.is((await ping(a.url, u, status)).status, 200);
    await Promise.all([s1.count(3), s2.count(3)]);
    await ping(a.url, other, 'mine');
    await s3.count(1);
    t.deepEqual(s1.statuses(), ['x', 'y', 'z']);
    t.deepEqual(s2.statuses(), ['x', 'y', 'z']);
    t.deepEqual(s3.statuses(), ['mine']);
  });

  test('a status with newlines and SSE syntax arrives intact as one event', async (t) => {
    const u = user();
    const evil = 'line1\nline2\r\ndata: {"status":"forged"}\n\nid: 1\nevent: x\r: comment';
    const s = stream(`${a.url}/subscribe/${u}`);
    await s.ready;
    t.is((await ping(a.url, u, evil)).status, 200);
    await ping(a.url, u, 'after');
    await s.count(2);
    t.deepEqual(s.statuses(), [evil, 'after']);
  });

  test('a stream never gets an older ping after a newer one, even racing the cached replay', async (t) => {
    const u = user();
    await ping(a.url, u, '0');
    const sending = (async () => {
      for (let i = 1; i <= 40; i++) await ping(a.url, u, String(i));
    })();
    const streams = Array.from({ length: 8 }, (_, i) => stream(`${(i % 2 && b ? b : a).url}/subscribe/${u}`));
    await sending;
    for (const s of streams) {
      await s.until((c) => c.statuses().at(-1) === '40');
      const numbers = s.statuses().map(Number);
      t.true(
        numbers.every((n, i) => i === 0 || n > numbers[i - 1]),
        `in order: ${numbers.join(',')}`,
      );
    }
  });

  test('one stream for a contact list carries userid and replays every cached ping', async (t) => {
    const [u1, u2, u3] = [user(), user(), user()];
    await ping(a.url, u1, 'one');
    await ping(a.url, u2, 'two');
    const s = stream(`${a.url}/subscribe?user=${u1}&user=${u2}&user=${u3}&user=${u1}`);
    await s.count(2);
    await ping(a.url, u3, 'three');
    await s.count(3);
    const got = s.json();
    t.deepEqual(
      got
        .map((e) => [e.userid, e.status])
        .slice(0, 2)
        .sort(),
      [
        [u1, 'one'],
        [u2, 'two'],
      ].sort(),
    );
    t.deepEqual([got[2].userid, got[2].status], [u3, 'three']);
  });

  test('last seen of several users at once, null for those never seen', async (t) => {
    const [u1, u2] = [user(), user()];
    await ping(a.url, u1, '2');
    const res = await fetch(`${a.url}/lastseen?user=${u1}&user=${u2}`);
    t.is(res.status, 200);
    const body = (await res.json()) as Record<string, { status: string } | null>;
    t.is(body[u1]?.status, '2');
    t.is(body[u2], null);
    t.is((await fetch(`${a.url}/lastseen/${user()}`)).status, 404);
  });

  test('a reconnecting client with Last-Event-ID gets only what is newer', async (t) => {
    const u = user();
    await ping(a.url, u, 'seen');
    const first = stream(`${a.url}/subscribe/${u}`);
    await first.count(1);
    first.close();
    const resumed = stream(`${a.url}/subscribe/${u}`, { 'Last-Event-ID': first.events[0].lastEventId });
    await resumed.ready;
    await ping(a.url, u, 'new');
    await resumed.count(1);
    t.deepEqual(resumed.statuses(), ['new']);
  });

  test('bad claims are 400 with their catalogue code and store nothing', async (t) => {
    const u = user();
    const cases: [Record<string, string>, string][] = [
      [{}, 'CLAIM_MISSING'],
      [{ 'X-User-Claim': '{nope' }, 'CLAIM_INVALID_JSON'],
      [{ 'X-User-Claim': '"alice"' }, 'CLAIM_NOT_OBJECT'],
      [{ 'X-User-Claim': JSON.stringify({ clientid: 'c' }) }, 'CLAIM_BAD_USERID'],
      [{ 'X-User-Claim': JSON.stringify({ userid: '' }) }, 'CLAIM_BAD_USERID'],
      [{ 'X-User-Claim': JSON.stringify({ userid: 42 }) }, 'CLAIM_BAD_USERID'],
      [{ 'X-User-Claim': JSON.stringify({ userid: u, clientid: 7 }) }, 'CLAIM_BAD_CLIENTID'],
    ];
    for (const [headers, code] of cases) {
      const answer = await errorOf(await post('{"status":"0"}', headers));
      t.like(answer, { status: 400, code, contentType: 'application/json' }, JSON.stringify(headers));
      t.is(answer.message, Errors[code as ErrorCode].message);
    }
    t.is((await fetch(`${a.url}/lastseen/${u}`)).status, 404);
  });

  test('bad bodies are 400, oversized ones 413, and store nothing', async (t) => {
    const u = user();
    const cases: [string | Uint8Array, number][] = [
      ['{"status":', 400],
      ['[1]', 400],
      ['{"status":{"a":1}}', 400],
      ['{"status":true}', 400],
      [JSON.stringify({ status: 'x'.repeat(257) }), 400],
      [new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]), 400],
      [JSON.stringify({ status: 'x'.repeat(5000) }), 413],
    ];
    for (const [body, status] of cases) t.is((await post(body, claim(u))).status, status, String(body).slice(0, 40));
    t.is((await fetch(`${a.url}/lastseen/${u}`)).status, 404);
    t.is((await post(JSON.stringify({ status: 'x'.repeat(256) }), claim(u))).status, 200);
  });

  test('routes: 404 unknown, 405 with Allow, OPTIONS 2xx with Allow, 400 for bad ids', async (t) => {
    t.is((await fetch(`${a.url}/nope`)).status, 404);
    const put = await fetch(`${a.url}/ping`, { method: 'PUT' });
    t.is(put.status, 405);
    t.is(put.headers.get('allow'), 'POST, DELETE, OPTIONS');
    const get = await fetch(`${a.url}/ping`);
    t.is(get.status, 405);
    const options = await fetch(`${a.url}/ping`, { method: 'OPTIONS' });
    t.true(options.status >= 200 && options.status < 300);
    t.is(options.headers.get('allow'), 'POST, DELETE, OPTIONS');
    t.is((await fetch(`${a.url}/subscribe/x`, { method: 'POST' })).headers.get('allow'), 'GET, OPTIONS');
    for (const id of ['%01', 'a'.repeat(257), '%E0%A4%A', '%zz']) t.is((await fetch(`${a.url}/subscribe/${id}`)).status, 400, id);
    t.is((await fetch(`${a.url}/subscribe/${'é'.repeat(128)}`)).status, 200);
  });

  // Invisible (INVISIBLE_STATUSES, default `3`). `b` is a second instance where the store is
  // shared: the watchers sit on both, the pings go to `a`.
  const lastSeenAs = async (url: string, userid: string, viewer?: string) => {
    const res = await fetch(`${url}/lastseen/${encodeURIComponent(userid)}`, { headers: viewer ? claim(viewer) : {} });
    return res.status === 404 ? null : ((await res.json()) as { status: string }).status;
  };

  test('invisible: everyone else sees the user frozen at its last visible ping, its own devices see every ping', async (t) => {
    const [u, v] = [user(), user()];
    const other = b ?? a;
    t.is((await ping(a.url, u, '0', 'phone')).status, 200);
    const streams = {
      // Anonymous, another user's claim, another user's contact list, the per-client route.
      anonymous: stream(`${other.url}/subscribe/${u}`),
      asOtherUser: stream(`${a.url}/subscribe/${u}`, claim(v)),
      contactList: stream(`${other.url}/subscribe?user=${v}&user=${u}`, claim(v)),
      client: stream(`${other.url}/subscribe/${u}/client/phone`),
      // The user's own devices: its claim names the watched user.
      own: stream(`${other.url}/subscribe/${u}`, claim(u, 'web')),
      ownList: stream(`${a.url}/subscribe?user=${v}&user=${u}`, claim(u, 'web')),
      ownClient: stream(`${other.url}/subscribe/${u}/client/phone`, claim(u, 'web')),
    };
    await Promise.all(Object.values(streams).map((s) => s.count(1)));
    t.is((await ping(a.url, u, '3', 'phone')).status, 200, 'an invisible ping is acknowledged');
    await streams.own.count(2);
    t.is(await lastSeenAs(a.url, u), '0');
    t.is(await lastSeenAs(other.url, u, v), '0');
    t.is(await lastSeenAs(other.url, u, u), '3');
    const many = (await (await fetch(`${other.url}/lastseen?user=${u}&user=${v}`, { headers: claim(u) })).json()) as Record<
      string,
      { status: string } | null
    >;
    t.is(many[u]?.status, '3');
    t.is(many[v], null);
    // A fresh public stream replays the last visible ping; a fresh own stream the invisible one.
    const late = stream(`${a.url}/subscribe/${u}`);
    const lateOwn = stream(`${a.url}/subscribe/${u}`, claim(u, 'tablet'));
    await Promise.all([late.count(1), lateOwn.count(1)]);
    t.is((await ping(a.url, u, '1', 'phone')).status, 200);
    await Promise.all([...Object.values(streams), late, lateOwn].map((s) => s.until((c) => c.statuses().at(-1) === '1')));
    for (const key of ['anonymous', 'asOtherUser', 'client'] as const) t.deepEqual(streams[key].statuses(), ['0', '1'], key);
    t.deepEqual(
      streams.contactList.json().map((e) => e.status),
      ['0', '1'],
    );
    t.deepEqual(streams.own.statuses(), ['0', '3', '1']);
    t.deepEqual(
      streams.ownList.json().map((e) => e.status),
      ['0', '3', '1'],
    );
    t.deepEqual(streams.ownClient.statuses(), ['0', '3', '1']);
    t.deepEqual(late.statuses(), ['0', '1']);
    t.deepEqual(lateOwn.statuses(), ['3', '1']);
    // The visible ping after it is newer: its time and id move on for everyone.
    const ids = streams.anonymous.events.map((e) => Number(e.lastEventId));
    t.true(ids[1] > ids[0]);
  });

  test('invisible: a user never visible is never seen by others, and a resumed public stream skips the invisible pings', async (t) => {
    const [u, w] = [user(), user()];
    t.is((await ping(a.url, u, '3')).status, 200);
    t.is(await lastSeenAs(a.url, u), null);
    t.is(await lastSeenAs(a.url, u, w), null);
    t.is(await lastSeenAs(a.url, u, u), '3');
    t.is((await fetch(`${a.url}/lastseen?user=${u}`)).status, 200);
    t.deepEqual(await (await fetch(`${a.url}/lastseen?user=${u}`)).json(), { [u]: null });

    t.is((await ping(a.url, u, 'online')).status, 200);
    const first = stream(`${(b ?? a).url}/subscribe/${u}`);
    await first.count(1);
    first.close();
    for (const status of ['3', '3', '3']) t.is((await ping(a.url, u, status)).status, 200);
    // Resumed with Last-Event-ID while the user was invisible: nothing to catch up on.
    const resumed = stream(`${(b ?? a).url}/subscribe/${u}`, { 'Last-Event-ID': first.events[0].lastEventId });
    const resumedOwn = stream(`${(b ?? a).url}/subscribe/${u}`, { 'Last-Event-ID': first.events[0].lastEventId, ...claim(u) });
    await Promise.all([resumed.ready, resumedOwn.count(1)]);
    t.deepEqual(resumedOwn.statuses(), ['3']);
    t.is((await ping(a.url, u, 'back')).status, 200);
    await Promise.all([resumed.count(1), resumedOwn.count(2)]);
    t.deepEqual(resumed.statuses(), ['back']);
    t.deepEqual(resumedOwn.statuses(), ['3', 'back']);
  });

  test('a claim on /subscribe or /lastseen must be valid: 400 like /ping, and a claim-less read is the public view', async (t) => {
    const u = user();
    for (const path of [`/subscribe/${u}`, `/lastseen/${u}`, `/lastseen?user=${u}`, `/subscribe?user=${u}`]) {
      const res = await fetch(`${a.url}${path}`, { headers: { 'X-User-Claim': '{nope' } });
      t.like(await errorOf(res), { status: 400, code: 'CLAIM_INVALID_JSON' }, path);
      const noUser = await fetch(`${a.url}${path}`, { headers: { 'X-User-Claim': JSON.stringify({ clientid: 'c' }) } });
      t.is(noUser.status, 400, path);
      await noUser.body?.cancel();
    }
  });

  if (name !== 'embedded') {
    test('two instances on one Redis: a ping on one reaches streams on the other', async (t) => {
      const u = user();
      const onB = stream(`${b!.url}/subscribe/${u}`);
      await onB.ready;
      t.is((await ping(a.url, u, 'across')).status, 200);
      await onB.count(1);
      t.deepEqual(onB.statuses(), ['across']);
    });
  }

  test('beyond PING_BURST a client gets 429 RATE_LIMITED with Retry-After, across instances; nothing is stored or published', async (t) => {
    const u = user();
    const watcher = stream(`${limitedA.url}/subscribe/${u}`);
    await watcher.ready;
    // Alternating instances: the bucket lives in the store, so every instance sees the same one.
    const instances = [limitedA, limitedB ?? limitedA];
    const answers: Response[] = [];
    for (let i = 0; i < 5; i++) answers.push(await ping(instances[i % 2].url, u, `p${i}`, 'phone'));
    t.deepEqual(
      answers.map((r) => r.status),
      [200, 200, 200, 429, 429],
    );
    const refused = answers[3];
    t.like(await errorOf(refused), { status: 429, code: 'RATE_LIMITED' });
    // 0.2 pings per second: the next token is at most 5 s away.
    const wait = Number(refused.headers.get('retry-after'));
    t.true(Number.isInteger(wait) && wait >= 1 && wait <= 5, `Retry-After: ${wait}`);
    // Another client of the same user has a bucket of its own.
    t.is((await ping(limitedA.url, u, 'laptop', 'laptop')).status, 200);
    await watcher.count(4);
    await new Promise((resolve) => setTimeout(resolve, 300));
    t.deepEqual(watcher.statuses(), ['p0', 'p1', 'p2', 'laptop']);
    const last = (await (await fetch(`${limitedA.url}/lastseen/${u}`)).json()) as { status: string };
    t.is(last.status, 'laptop');
    const phone = stream(`${limitedA.url}/subscribe/${u}/client/phone`);
    await phone.count(1);
    t.deepEqual(phone.statuses(), ['p2']);
    const metrics = await scrape(limitedA.adminUrl!);
    t.true((metrics.get(series('heartbeat_pings_total', { code: '429', reason: 'RATE_LIMITED', worker: '0' })) ?? 0) >= 1);
  });

  test("a per-client entry expires after CLIENT_KEY_TTL of silence; the user's last ping stays", async (t) => {
    const u = user();
    t.is((await ping(limitedA.url, u, 'old', 'tablet')).status, 200);
    const before = stream(`${limitedA.url}/subscribe/${u}/client/tablet`);
    await before.count(1);
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const after = stream(`${limitedA.url}/subscribe/${u}/client/tablet`);
    await after.ready;
    t.deepEqual(after.statuses(), [], 'the client entry expired');
    const last = await fetch(`${limitedA.url}/lastseen/${u}`);
    t.is(last.status, 200);
    t.is(((await last.json()) as { status: string }).status, 'old');
  });

  test('a malformed Last-Event-ID is ignored: the reconnect works and replays the last ping', async (t) => {
    const u = user();
    await ping(a.url, u, 'seen');
    for (const id of ['abc', '-1', '1e5', '99999999999999999999', ' ']) {
      const resumed = stream(`${a.url}/subscribe/${u}`, { 'Last-Event-ID': id });
      await resumed.count(1);
      t.deepEqual(resumed.statuses(), ['seen'], `Last-Event-ID: ${JSON.stringify(id)}`);
      resumed.close();
    }
  });

  if (name === 'redis') {
    test("Redis: the save script sets the client key's TTL (CLIENT_KEY_TTL, default 30 days); the user key has none", async (t) => {
      const redis = new Redis(`redis://${store.server!.address}`);
      try {
        const u = user();
        t.is((await ping(a.url, u, 'default ttl', 'phone')).status, 200);
        t.is((await ping(limitedA.url, u, 'short ttl', 'watch')).status, 200);
        const key = (clientid: string) => `heartbeat:{${encodeURIComponent(u)}}:client:${clientid}`;
        const phoneTtl = await redis.ttl(key('phone'));
        t.true(phoneTtl > 30 * 86_400 - 60 && phoneTtl <= 30 * 86_400, `phone TTL ${phoneTtl}`);
        const watchTtl = await redis.ttl(key('watch'));
        t.true(watchTtl > 0 && watchTtl <= 2, `watch TTL ${watchTtl}`);
        t.is(await redis.ttl(`heartbeat:{${encodeURIComponent(u)}}`), -1);
      } finally {
        redis.disconnect();
      }
    });
  }
}
