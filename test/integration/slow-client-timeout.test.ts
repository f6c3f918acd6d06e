import test from 'ava';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { startStore, type TestStore } from '../support/stores.js';
import { startService, type ServiceProcess } from '../support/service.js';
import { SlowReader } from '../support/slow-reader.js';
import { eventually, scrape, series } from '../support/metrics.js';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { readFile } from 'node:fs/promises';
import { ping, StreamClient } from '../support/sse.js';

/**
 * A congested stream lives exactly SLOW_CLIENT_TIMEOUT, which is longer than uWebSockets.js's own
 * ~10 s HTTP timeout (armed by a write that meets backpressure): a reader with a tiny receive
 * buffer stops reading while big pings flood in, as a phone in the background does. Stalled for
 * less than SLOW_CLIENT_TIMEOUT it recovers; stalled for longer it is closed by heartbeat, when
 * SLOW_CLIENT_TIMEOUT says, and counted as a slow client.
 */
const SLOW_CLIENT_TIMEOUT = 20;
let store: TestStore;
/** One service per test: each test reads its own congested gauge and close counters. */
let recovering: ServiceProcess;
let stuck: ServiceProcess;
/** No keepalive during the test: only pings write to the stream. */
let sparse: ServiceProcess;

test.before(async () => {
  store = await startStore('redis');
  const env = { REDIS: store.redis, SLOW_CLIENT_TIMEOUT: String(SLOW_CLIENT_TIMEOUT), LOG_LEVEL: 'debug' };
  [recovering, stuck, sparse] = await Promise.all([
    startService(env, 90_000),
    startService(env, 90_000),
    startService({ ...env, KEEPALIVE: '600' }, 90_000),
  ]);
});

test.after.always(async () => {
  await Promise.all([recovering?.stop(), stuck?.stop(), sparse?.stop()]);
  await store?.close();
});

// A 240-emoji status is a ~1 KB frame: a few thousand fill the kernel's socket buffers.
const FILLER = '\u{1F600}'.repeat(240);

async function metric(service: ServiceProcess, name: string, labels: Record<string, string>): Promise<number> {
  return (await scrape(service.adminUrl!)).get(series(name, { ...labels, worker: '0' })) ?? 0;
}

const congested = (service: ServiceProcess) => metric(service, 'heartbeat_actors', { machine: 'subscription', state: 'congested' });
const closed = (service: ServiceProcess, reason: string) => metric(service, 'heartbeat_streams_closed_total', { reason });

/** When a stream's congestion was seen: between `clearAt` and `seenAt`. */
interface Congestion {
  /** When the last scrape that still found no congested stream was sent: congestion came later. */
  clearAt: number;
  /** When a scrape first found the congested stream: congestion came earlier. */
  seenAt: number;
}

/**
 * Posts big pings of `user` from 32 senders until the service has a congested stream (its socket
 * refused a write), while a poller reads the congested gauge every 100 ms to time it.
 */
async function floodUntilCongested(service: ServiceProcess, user: string): Promise<Congestion> {
  let seen: Congestion | null = null;
  const poller = (async () => {
    let clearAt = Date.now();
    while (seen === null) {
      const sentAt = Date.now();
      if ((await congested(service)) >= 1) seen = { clearAt, seenAt: Date.now() };
      else clearAt = sentAt;
      await sleep(100);
    }
  })();
  let sent = 0;
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (seen === null) {
        if (sent > 20_000) throw new Error(`no stream congested after ${sent} pings`);
        const res = await ping(service.url, user, `${String(sent++).padStart(6, '0')}-${FILLER}`);
        if (res.status !== 200) throw new Error(`ping answered ${res.status}`);
      }
    }),
  );
  await poller;
  return seen!;
}

test('a reader stalled ~13 s past congestion is not closed, and ends on the newest ping in whole frames', async (t) => {
  t.timeout(120_000);
  const user = `stall-${randomUUID()}`;
  const reader = await SlowReader.connect(recovering.port, `/subscribe/${user}`);
  try {
    const { seenAt } = await floodUntilCongested(recovering, user);
    // Held by the congested stream's actor (the newest per user), written once it drains.
    const newest = `newest-${randomUUID()}`;
    t.is((await ping(recovering.url, user, newest)).status, 200);
    // The stall is what is tested: past uWebSockets.js's timeout (it closes 8 to 12 s after it
    // was armed), well inside SLOW_CLIENT_TIMEOUT.
    await sleep(Math.max(0, seenAt + 13_000 - Date.now()));
    t.is(await closed(recovering, 'client_gone'), 0, 'not closed under the reader (counted as a client that went away)');
    t.is(await closed(recovering, 'slow_client'), 0);
    const got = await reader.read();
    t.false(got.closed, 'the stream is still open');
    t.is((JSON.parse(got.events.at(-1)!) as { status: string }).status, newest, 'the last event is the newest ping');
    t.regex(got.tail, /\n\n(:[^\n]*\n)*$/, `ends on a whole event: …${JSON.stringify(got.tail.slice(-40))}`);
    for (const data of got.events) t.notThrows(() => JSON.parse(data) as unknown, 'no frame cut in half');
  } finally {
    await reader.close();
  }
});

test('a reader stalled past SLOW_CLIENT_TIMEOUT is closed by heartbeat then, counted and logged as slow_client', async (t) => {
  t.timeout(150_000);
  const user = `gone-${randomUUID()}`;
  const reader = await SlowReader.connect(stuck.port, `/subscribe/${user}`);
  try {
    const { clearAt, seenAt } = await floodUntilCongested(stuck, user);
    await eventually(
      async () => ((await closed(stuck, 'slow_client')) + (await closed(stuck, 'client_gone')) > 0 ? true : undefined),
      'the stuck stream closed',
      90_000,
    );
    const closedAt = Date.now();
    t.is(await closed(stuck, 'slow_client'), 1);
    t.is(await closed(stuck, 'client_gone'), 0);
    // Congestion came between clearAt and seenAt: not closed before SLOW_CLIENT_TIMEOUT after it,
    // and closed about then (a generous bound for a busy box).
    t.true(closedAt - clearAt >= SLOW_CLIENT_TIMEOUT * 1000, `closed at most ${(closedAt - clearAt) / 1000} s after congestion`);
    t.true(closedAt - seenAt < (SLOW_CLIENT_TIMEOUT + 15) * 1000, `closed at least ${(closedAt - seenAt) / 1000} s after congestion`);
    const line = await eventually(
      () => Promise.resolve(stuck.logs.find((l) => l.msg === 'stream closed' && l.userid === user)),
      'the stream closed log line',
    );
    t.is(line.reason, 'slow_client');
    t.true((await reader.read()).closed, 'the reader sees the close');
  } finally {
    await reader.close();
  }
});

/** The server side of a connection, from the kernel (`ss`): bytes in its send queue, and its send buffer's use and size. */
async function serverSocket(serverPort: number, clientPort: number): Promise<{ sendQ: number; queued: number; limit: number }> {
  const { stdout } = await promisify(execFile)('ss', [
    '-tnHm',
    'state',
    'established',
    `( sport = :${serverPort} and dport = :${clientPort} )`,
  ]);
  const sendQ = /^\s*\d+\s+(\d+)/m.exec(stdout);
  const mem = /tb(\d+),f\d+,w(\d+)/.exec(stdout);
  if (!sendQ || !mem) throw new Error(`no such connection: ${stdout}`);
  return { sendQ: Number(sendQ[1]), queued: Number(mem[2]), limit: Number(mem[1]) };
}

test('a stream whose last write filled its socket (uWS kept the rest, the write said nothing) is seen congested without another write, and lives on', async (t) => {
  t.timeout(150_000);
  const user = `sparse-${randomUUID()}`;
  const reader = await SlowReader.connect(sparse.port, `/subscribe/${user}`);
  const good = new StreamClient(`${sparse.url}/subscribe/${user}`);
  await good.ready;
  try {
    const at = () => serverSocket(sparse.port, reader.localPort);
    let n = 0;
    const next = () => `${String(n++).padStart(6, '0')}-${FILLER}`;
    const sendBufferMax = Number((await readFile('/proc/sys/net/ipv4/tcp_wmem', 'utf8')).trim().split(/\s+/)[2]);
    let last = '';
    /**
     * Fills the socket until one ping's write does not fit whole in the kernel (it went into the
     * cork buffer and returned true; uWS keeps the rest): true. False when a write was refused
     * outright instead (a previous write's rest was still held, and heartbeat saw the stream
     * congested at once): that is the other, visible case, and the caller drains and tries again.
     */
    const fillUntilHidden = async (): Promise<boolean> => {
      // Fast while the kernel has room to spare, 32 pings at a time.
      for (let socket = await at(); socket.limit - socket.queued > 512 * 1024; socket = await at()) {
        await Promise.all(Array.from({ length: 32 }, () => ping(sparse.url, user, next())));
        await good.until((c) => c.events.length >= n);
      }
      // Then one at a time, each delivered before the next, until one does not fit whole.
      let growth = 0;
      for (let before = (await at()).sendQ; ;) {
        if (n > 20_000) throw new Error('the socket never filled');
        last = next();
        t.is((await ping(sparse.url, user, last)).status, 200);
        await good.until((c) => c.events.length >= n);
        if ((await congested(sparse)) >= 1) return false;
        const { sendQ, limit } = await at();
        // The kernel grows a send buffer as it fills, up to tcp_wmem's maximum: short of it, what
        // uWS held is taken a moment later, and the stream is rightly not congested.
        if (growth > 0 && sendQ - before < growth - 8 && limit >= sendBufferMax) return true;
        growth = Math.max(growth, sendQ - before);
        before = sendQ;
      }
    };
    for (let attempt = 1; !(await fillUntilHidden()); attempt++) {
      if (attempt === 3) throw new Error('three times a write was refused outright before one was held unseen');
      t.false((await reader.read()).closed, 'a stream drained by its reader is still open');
      await eventually(async () => ((await congested(sparse)) === 0 ? true : undefined), 'the drained stream no longer congested');
    }
    const filledAt = Date.now();
    // Nothing more is written to it; heartbeat finds out (a probe within 4 s of the last write), and it is congested.
    await eventually(async () => ((await congested(sparse)) >= 1 ? true : undefined), 'the stream seen congested', 12_000);
    await sleep(Math.max(0, filledAt + 13_000 - Date.now()));
    t.is(await closed(sparse, 'client_gone'), 0, 'not closed by uWebSockets.js 8-12 s after it filled');
    const got = await reader.read();
    t.false(got.closed, 'the stream is still open');
    t.is((JSON.parse(got.events.at(-1)!) as { status: string }).status, last, 'the last event is the last ping');
    t.regex(got.tail, /\n\n(:[^\n]*\n)*$/, `ends on a whole event: …${JSON.stringify(got.tail.slice(-40))}`);
  } finally {
    good.close();
    await reader.close();
  }
});
