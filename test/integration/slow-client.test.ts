import test, { type ExecutionContext } from 'ava';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { startStore, type TestStore } from '../support/stores.js';
import { startService, type ServiceProcess } from '../support/service.js';
import { SlowReader } from '../support/slow-reader.js';
import { eventually, scrape, series } from '../support/metrics.js';
import { ping, StreamClient } from '../support/sse.js';

/**
 * Backpressure with real sockets: a subscriber that stops reading must neither hold the others
 * back nor grow the server's memory with a backlog; it gets the newest ping of each user when it
 * reads again, and is closed when it stays stuck past SLOW_CLIENT_TIMEOUT.
 */
let store: TestStore;
let service: ServiceProcess;
let patient: ServiceProcess;
/** Sends no keepalive during the test: only a drain can bring held bytes to a recovered reader. */
let quiet: ServiceProcess;
const SLOW_CLIENT_TIMEOUT = 4;

test.before(async () => {
  store = await startStore('redis');
  service = await startService({ REDIS: store.redis, SLOW_CLIENT_TIMEOUT: String(SLOW_CLIENT_TIMEOUT) });
  patient = await startService({ REDIS: store.redis, SLOW_CLIENT_TIMEOUT: '120' });
  quiet = await startService({ REDIS: store.redis, SLOW_CLIENT_TIMEOUT: '120', KEEPALIVE: '600' });
});

test.after.always(async () => {
  await Promise.all([service?.stop(), patient?.stop(), quiet?.stop()]);
  await store?.close();
});

// Big frames (a 256-character status of 4-byte characters is ~1 KB) fill the kernel's 4 MB
// send buffer in a few thousand pings, which is when the server starts to see backpressure.
const FILLER = '\u{1F600}'.repeat(240);

/** Sends `perUser` pings to each user, one sender per user so each user's order is known. */
async function flood(users: string[], perUser: number, url = service.url, from = 0): Promise<Map<string, string>> {
  const last = new Map<string, string>();
  await Promise.all(
    users.map(async (user) => {
      for (let i = from; i < from + perUser; i++) {
        const status = `${String(i).padStart(6, '0')}-${FILLER}`;
        const res = await ping(url, user, status);
        if (res.status !== 200) throw new Error(`ping answered ${res.status} ${await res.text()}`);
        last.set(user, status);
      }
    }),
  );
  return last;
}

test.serial('a stuck client gets the newest ping per user when it reads again, others get everything', async (t) => {
  const users = Array.from({ length: 8 }, () => `slow-${randomUUID()}`);
  const query = users.map((u) => `user=${u}`).join('&');
  const slow = await SlowReader.connect(patient.port, `/subscribe?${query}`);
  const good = new StreamClient(`${patient.url}/subscribe?${query}`);
  await good.ready;
  // ~10 MB of frames for the stuck reader, more than the kernel will buffer for it (tcp_wmem max).
  const perUser = 1200;
  const count = perUser * users.length;
  const last = await flood(users, perUser, patient.url);
  await good.count(count, 60_000);

  const got = await slow.read();
  await slow.close();
  good.close();

  // The good subscriber saw every ping, in order per user.
  const byUser = new Map<string, string[]>();
  for (const e of good.json()) byUser.set(e.userid!, [...(byUser.get(e.userid!) ?? []), e.status]);
  for (const u of users) {
    const seen = byUser.get(u)!;
    t.is(seen.length, perUser);
    t.deepEqual(seen, [...seen].sort());
  }
  // The slow one did not get a backlog: fewer events than pings, ending on each user's newest.
  t.false(got.closed);
  t.true(got.events.length < count, `slow reader got ${got.events.length} of ${count}`);
  const lastSeen = new Map<string, string>();
  for (const data of got.events) {
    const e = JSON.parse(data) as { userid: string; status: string };
    lastSeen.set(e.userid, e.status);
  }
  for (const u of users) t.is(lastSeen.get(u), last.get(u), `newest ping of ${u}`);
  // Memory held for it is bounded by its users, not by the pings: everything the server kept for
  // it arrives when it reads again, and that is no more than the kernel's socket buffers plus
  // one frame per user, far less than the ~10 MB of frames published while it was stuck.
  const kernelBuffers = Number(readFileSync('/proc/sys/net/ipv4/tcp_wmem', 'utf8').trim().split(/\s+/)[2]);
  const frameBytes = Buffer.byteLength(`data: {"userid":"${users[0]}","time":1234567890,"status":"${last.get(users[0])}"}\n\n`) + 30;
  t.true(got.bytes <= kernelBuffers + 256 * 1024 + users.length * frameBytes, `received ${got.bytes} bytes`);
  t.true(count * frameBytes > 2 * kernelBuffers, 'the test published more than the kernel buffers');
});

test.serial('a client stuck longer than SLOW_CLIENT_TIMEOUT is closed; the others keep streaming', async (t) => {
  const user = `stuck-${randomUUID()}`;
  const slow = await SlowReader.connect(service.port, `/subscribe/${user}`);
  const good = new StreamClient(`${service.url}/subscribe/${user}`);
  await good.ready;
  await flood([user], 6000);
  // Closed SLOW_CLIENT_TIMEOUT after it congested: wait for the close itself, with a bound for a busy box.
  const slowClosed = async () =>
    (await scrape(service.adminUrl!)).get(series('heartbeat_streams_closed_total', { reason: 'slow_client', worker: '0' }));
  await eventually(async () => ((await slowClosed()) ? true : undefined), 'the stuck stream closed', 60_000);
  await ping(service.url, user, 'after-timeout');
  await good.until((c) => c.statuses().at(-1) === 'after-timeout');
  const got = await slow.read();
  await slow.close();
  good.close();
  t.true(got.closed, 'the server closed the stuck stream');
  t.false(got.events.some((e) => e.includes('after-timeout')));
  t.is(good.events.length, 6001);
  // The operator sees it as a slow client, not as a client that went away.
  const m = await scrape(service.adminUrl!);
  t.is(m.get(series('heartbeat_streams_closed_total', { reason: 'slow_client', worker: '0' })), 1);
});

/**
 * Posts `total` big pings spread over `users` from 32 senders at once, so that many pings arrive
 * in one event-loop turn: the socket that fills up then has several frames queued behind it.
 */
async function burst(users: string[], total: number, url: string): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      for (let i = next++; i < total; i = next++) {
        const res = await ping(url, users[i % users.length], `${String(i).padStart(6, '0')}-${FILLER}`);
        if (res.status !== 200) throw new Error(`ping answered ${res.status} ${await res.text()}`);
      }
    }),
  );
}

/** Streams of the service in `congested` (their socket refused a write and has not drained). */
async function congestedStreams(service: ServiceProcess): Promise<number> {
  const metrics = await scrape(service.adminUrl!);
  return metrics.get(series('heartbeat_actors', { machine: 'subscription', state: 'congested', worker: '0' })) ?? 0;
}

/**
 * Readers stuck while big pings are posted, one at a time at the end, until every reader's
 * stream is congested: the newest ping is then the one whose write met backpressure, held by
 * uWebSockets.js (not by the actor). Then they read, with NOTHING posted afterwards and no
 * keepalive due. Each must end on every user's newest ping, with no frame cut in half.
 */
async function recoverWithoutFurtherPings(t: ExecutionContext, path: string, users: string[], readers: number): Promise<void> {
  const slow = await Promise.all(Array.from({ length: readers }, () => SlowReader.connect(quiet.port, path)));
  await burst(users, 1500, quiet.url);
  const newest = new Map<string, string>();
  for (let i = 1500; (await congestedStreams(quiet)) < readers; i++) {
    if (i > 20_000) throw new Error('the readers never congested');
    const user = users[i % users.length];
    const status = `n${i}-${FILLER}`;
    t.is((await ping(quiet.url, user, status)).status, 200);
    newest.set(user, status);
  }
  // The other users' newest, too, so that every user's newest was posted while congesting.
  for (const user of users) if (!newest.has(user)) newest.set(user, '');
  const results = await Promise.all(slow.map((reader) => reader.read()));
  await Promise.all(slow.map((reader) => reader.close()));
  for (const [i, got] of results.entries()) {
    t.false(got.closed);
    const seen = new Map<string, string>();
    for (const data of got.events) {
      let e: { userid?: string; status: string };
      try {
        e = JSON.parse(data) as typeof e;
      } catch {
        t.fail(`reader ${i} got a frame cut in half: …${JSON.stringify(data.slice(-40))}`);
        continue;
      }
      seen.set(e.userid ?? users[0], e.status);
    }
    for (const user of users)
      if (newest.get(user)) t.is(seen.get(user)?.split('-')[0], newest.get(user)!.split('-')[0], `reader ${i}: newest ping of ${user}`);
    t.regex(got.tail, /\n\n(:[^\n]*\n)*$/, `reader ${i} ends on a whole event: …${JSON.stringify(got.tail.slice(-40))}`);
  }
}

test.serial('one stuck client that recovers gets the held bytes and the newest ping without a further ping', async (t) => {
  const user = `held-${randomUUID()}`;
  await recoverWithoutFurtherPings(t, `/subscribe/${user}`, [user], 1);
});

test.serial('four stuck clients of one user all recover to the newest ping without a further ping', async (t) => {
  const user = `held4-${randomUUID()}`;
  await recoverWithoutFurtherPings(t, `/subscribe/${user}`, [user], 4);
});

test.serial("stuck clients of a multi-user stream recover to every user's newest ping without a further ping", async (t) => {
  const users = [`m1-${randomUUID()}`, `m2-${randomUUID()}`];
  await recoverWithoutFurtherPings(t, `/subscribe?${users.map((u) => `user=${u}`).join('&')}`, users, 3);
});
