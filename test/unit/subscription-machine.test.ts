// The subscription machine: one SSE stream, driven with a fake sink, a hand-resolved cache read
// and XState's SimulatedClock. Every assertion is on what the client would receive.
import test from 'ava';
import { createActor, SimulatedClock } from 'xstate';
import {
  type OfflineFrames,
  subscriptionMachine,
  type PingFrames,
  type SinkListener,
  type StreamSink,
  type SubscriptionInput,
} from '../../machines/subscription.js';
import { SharedOfflineFrames, SharedPingFrames } from '../../src/streams/frames.js';

const SLOW_CLIENT_TIMEOUT = 60_000;
const decoder = new TextDecoder();

/**
 * Records what reaches the client, as text; `accepts` false simulates a full socket, reported to
 * the actor as `socket.full` the way the uWebSockets.js sink does. The `ready`
 * event is counted apart (`readyAfter` is how many log entries preceded it), so the other tests
 * read as the data a client's onmessage sees.
 */
class FakeSink implements StreamSink {
  readonly log: string[] = [];
  readyAfter: number[] = [];
  accepts = true;
  private listener: SinkListener | null = null;
  open(listener: SinkListener): void {
    this.listener = listener;
    this.log.push('open');
  }
  write(chunk: Uint8Array): void {
    const text = decoder.decode(chunk);
    if (text.startsWith('event: ready\n')) this.readyAfter.push(this.log.length);
    else this.log.push(text);
    if (!this.accepts) this.listener?.send({ type: 'socket.full' });
  }
  endWithRetry(retryMs: number): void {
    this.log.push(`endWithRetry ${retryMs}`);
  }
  close(): void {
    this.log.push('close');
  }
  /** The statuses of the SSE events written so far, in order. */
  statuses(): string[] {
    return this.log.flatMap((entry) => {
      const data = /^data: (.*)$/m.exec(entry);
      return data ? [(JSON.parse(data[1]) as { status: string }).status] : [];
    });
  }
}

/** A ping of `userid` whose status names it, so a test reads `a7` for user a's seq 7. */
function ping(userid: string, seq: number, clientid = ''): PingFrames {
  return new SharedPingFrames(userid, { time: 1_700_000_000 + seq, status: `${userid}${seq}`, clientid, seq });
}

function open(input: Partial<SubscriptionInput> = {}) {
  const sink = new FakeSink();
  const calls: string[] = [];
  /** The event that closed the stream, as `unregister` sees it (the metrics' close reason). */
  const closedBy: string[] = [];
  const cacheReads: { users: readonly string[]; clientid?: string }[] = [];
  let answerCache: (pings: readonly (PingFrames | OfflineFrames)[]) => void = () => {};
  const machine = subscriptionMachine.provide({
    actions: {
      // The cache read starts on entering `replaying`; the test answers it by hand.
      loadCachedPings: ({ context, self }) => {
        cacheReads.push({ users: context.users, clientid: context.clientid });
        answerCache = (pings) => self.send({ type: 'replay.loaded', pings });
      },
      register: ({ context }) => void calls.push(`register ${context.users.join(',')}`),
      unregister: ({ context, event }) => {
        calls.push(`unregister ${context.users.join(',')}`);
        closedBy.push(event.type);
      },
    },
    delays: { slowClientTimeout: SLOW_CLIENT_TIMEOUT },
  });
  const clock = new SimulatedClock();
  const actor = createActor(machine, {
    input: { sink, users: ['a'], format: 'single', ...input },
    clock,
  });
  actor.start();
  const settle = () => new Promise<void>((resolve) => setImmediate(resolve));
  return {
    actor,
    sink,
    calls,
    closedBy,
    cacheReads,
    clock,
    state: () => actor.getSnapshot().value,
    presence: (...pings: PingFrames[]) => pings.forEach((p) => actor.send({ type: 'presence', ping: p })),
    /** The store answers the cache read; resolves once the machine has handled it. */
    replay: async (...pings: (PingFrames | OfflineFrames)[]) => {
      answerCache(pings);
      await settle();
    },
  };
}

/** A stream that has replayed (nothing cached) and is live. */
async function openLive(input: Partial<SubscriptionInput> = {}) {
  const s = open(input);
  await s.replay();
  return s;
}

/** A live stream whose socket refused the first ping of user a (seq 10). */
async function openCongested(input: Partial<SubscriptionInput> = {}) {
  const s = await openLive(input);
  s.sink.accepts = false;
  s.presence(ping('a', 10));
  return s;
}

test('opening sends the head before anything else and registers the watched users', (t) => {
  const s = open({ users: ['a', 'b'] });
  t.deepEqual(s.sink.log, ['open']);
  t.deepEqual(s.calls, ['register a,b']);
  t.deepEqual(s.cacheReads, [{ users: ['a', 'b'], clientid: undefined }]);
  t.is(s.state(), 'replaying');
});

test('the cached ping is written on replay', async (t) => {
  const s = open();
  await s.replay(ping('a', 5));
  t.deepEqual(s.sink.statuses(), ['a5']);
  t.is(s.state(), 'live');
});

test('a live ping newer than the cached one, arriving during replay, is written after it', async (t) => {
  const s = open();
  s.presence(ping('a', 7));
  t.deepEqual(s.sink.statuses(), [], 'nothing is written before the cache answers');
  await s.replay(ping('a', 5));
  t.deepEqual(s.sink.statuses(), ['a5', 'a7']);
});

test('a live ping older than or equal to the cached one is dropped', async (t) => {
  const s = open();
  s.presence(ping('a', 3), ping('a', 5));
  await s.replay(ping('a', 5));
  t.deepEqual(s.sink.statuses(), ['a5']);
});

test('only the newest of several pings arriving during replay is written', async (t) => {
  const s = open();
  s.presence(ping('a', 6), ping('a', 8), ping('a', 7));
  await s.replay(ping('a', 5));
  t.deepEqual(s.sink.statuses(), ['a5', 'a8']);
});

test('a live stream writes every ping it is handed: the hub hands each once, in order (hub.test.ts)', async (t) => {
  const s = await openLive({ users: ['a', 'b'], format: 'multi' });
  s.presence(ping('a', 7), ping('b', 8), ping('a', 9));
  t.deepEqual(s.sink.statuses(), ['a7', 'b8', 'a9']);
});

test('the /client form writes only pings of its client', async (t) => {
  const s = open({ clientid: 'phone' });
  t.deepEqual(s.cacheReads, [{ users: ['a'], clientid: 'phone' }]);
  await s.replay(ping('a', 5, 'phone'));
  s.presence(ping('a', 6, 'web'), ping('a', 7, 'phone'), ping('a', 8, ''));
  t.deepEqual(s.sink.statuses(), ['a5', 'a7']);
});

test('multi format carries the userid; a ping older than the highest id goes out without id:', async (t) => {
  const s = await openLive({ users: ['a', 'b'], format: 'multi' });
  s.presence(ping('a', 10), ping('b', 8), ping('b', 12));
  t.deepEqual(s.sink.log.slice(1), [
    `id: 10\ndata: {"userid":"a","time":1700000010,"status":"a10"}\n\n`,
    `data: {"userid":"b","time":1700000008,"status":"b8"}\n\n`,
    `id: 12\ndata: {"userid":"b","time":1700000012,"status":"b12"}\n\n`,
  ]);
});

test('single format carries time and status only, with id:', async (t) => {
  const s = await openLive();
  s.presence(ping('a', 10));
  t.deepEqual(s.sink.log.slice(1), [`id: 10\ndata: {"time":1700000010,"status":"a10"}\n\n`]);
});

test('Last-Event-ID: nothing at or below it is sent again', async (t) => {
  const s = open({ users: ['a', 'b', 'c'], format: 'multi', resumeAfter: 10 });
  await s.replay(ping('a', 9), ping('b', 10), ping('c', 12));
  s.presence(ping('a', 8), ping('b', 11));
  t.deepEqual(s.sink.log.slice(1), [
    `id: 12\ndata: {"userid":"c","time":1700000012,"status":"c12"}\n\n`,
    `data: {"userid":"b","time":1700000011,"status":"b11"}\n\n`,
  ]);
});

test('a full socket holds only the newest ping per user, then writes them oldest first on drain', async (t) => {
  const s = await openCongested({ users: ['a', 'b'] });
  t.is(s.state(), 'congested');
  t.deepEqual(s.sink.statuses(), ['a10'], 'the ping that filled the socket was handed over');

  // Five pings of a and three of b while the socket is full: nothing is written.
  s.presence(ping('a', 11), ping('b', 12), ping('a', 13), ping('b', 14), ping('a', 15));
  s.presence(ping('a', 16), ping('b', 17), ping('a', 18));
  t.deepEqual(s.sink.statuses(), ['a10']);

  s.sink.accepts = true;
  s.actor.send({ type: 'socket.drained' });
  t.deepEqual(s.sink.statuses(), ['a10', 'b17', 'a18']);
  t.is(s.state(), 'live');

  s.presence(ping('b', 19));
  t.deepEqual(s.sink.statuses(), ['a10', 'b17', 'a18', 'b19']);
});

test('a socket.full reported after the write (a batching sink) congests the stream from then on', async (t) => {
  const s = await openLive();
  s.presence(ping('a', 5));
  t.deepEqual(s.sink.statuses(), ['a5']);

  // The uWebSockets.js sink sends its writes at the end of the task and only then learns that
  // the socket is full; a5 is in the socket's buffer and must not be written again.
  s.actor.send({ type: 'socket.full' });
  t.is(s.state(), 'congested');
  s.presence(ping('a', 6), ping('a', 7));
  t.deepEqual(s.sink.statuses(), ['a5']);

  s.actor.send({ type: 'socket.drained' });
  t.deepEqual(s.sink.statuses(), ['a5', 'a7']);
});

test('a keepalive that fills the socket congests the stream too', async (t) => {
  const s = await openLive();
  s.sink.accepts = false;
  s.actor.send({ type: 'keepalive' });
  t.is(s.state(), 'congested');
  s.presence(ping('a', 5));
  t.deepEqual(s.sink.statuses(), []);
});

test('a replay the socket cannot take leaves the stream congested', async (t) => {
  const s = open();
  s.sink.accepts = false;
  await s.replay(ping('a', 5));
  t.is(s.state(), 'congested');
  s.presence(ping('a', 6));
  t.deepEqual(s.sink.statuses(), ['a5']);
});

test('a slow client is closed once congested past SLOW_CLIENT_TIMEOUT', async (t) => {
  const s = await openCongested();
  s.clock.increment(SLOW_CLIENT_TIMEOUT - 1);
  t.false(s.sink.log.includes('close'));
  s.clock.increment(1);
  t.is(s.sink.log.at(-1), 'close');
  t.deepEqual(s.calls, ['register a', 'unregister a']);
  t.is(s.closedBy.length, 1);
  t.regex(s.closedBy[0], /^xstate\.after\.slowClientTimeout\./);
  t.is(s.actor.getSnapshot().status, 'done');

  const before = s.sink.log.length;
  s.presence(ping('a', 11));
  s.actor.send({ type: 'socket.drained' });
  t.is(s.sink.log.length, before, 'nothing is written to a closed stream');
});

test('a client that drains in time is not closed', async (t) => {
  const s = await openCongested();
  s.clock.increment(SLOW_CLIENT_TIMEOUT - 1);
  s.sink.accepts = true;
  s.actor.send({ type: 'socket.drained' });
  s.clock.increment(SLOW_CLIENT_TIMEOUT);
  t.false(s.sink.log.includes('close'));
  t.is(s.state(), 'live');
  t.deepEqual(s.calls, ['register a']);
});

test('a keepalive writes a comment on a live stream only', async (t) => {
  const s = open();
  s.actor.send({ type: 'keepalive' });
  t.deepEqual(s.sink.log, ['open'], 'not while replaying');

  await s.replay();
  s.actor.send({ type: 'keepalive' });
  t.deepEqual(s.sink.log, ['open', ':\n\n']);

  s.sink.accepts = false;
  s.presence(ping('a', 5));
  s.actor.send({ type: 'keepalive' });
  t.is(s.sink.log.at(-1), `id: 5\ndata: {"time":1700000005,"status":"a5"}\n\n`, 'not while congested');
});

const statesToLeave = [
  ['replaying', () => Promise.resolve(open())],
  ['live', () => openLive()],
  ['congested', () => openCongested()],
] as const;

for (const [state, reach] of statesToLeave) {
  test(`socket.aborted while ${state}: closed, unregistered, nothing written after`, async (t) => {
    const s = await reach();
    t.is(s.state(), state);
    const before = s.sink.log.length;

    s.actor.send({ type: 'socket.aborted' });
    t.is(s.actor.getSnapshot().status, 'done');
    t.deepEqual(s.calls, ['register a', 'unregister a']);
    t.deepEqual(s.closedBy, ['socket.aborted']);

    s.sink.accepts = true;
    await s.replay(ping('a', 20));
    s.presence(ping('a', 21));
    s.actor.send({ type: 'keepalive' });
    s.actor.send({ type: 'socket.drained' });
    s.actor.send({ type: 'server.shutdown', retryMs: 1_000 });
    s.clock.increment(SLOW_CLIENT_TIMEOUT);
    t.is(s.sink.log.length, before, 'the aborted socket is not touched');
    t.deepEqual(s.calls, ['register a', 'unregister a']);
  });

  test(`server.shutdown while ${state}: retry hint, end, unregistered`, async (t) => {
    const s = await reach();
    s.actor.send({ type: 'server.shutdown', retryMs: 3_456 });
    t.is(s.sink.log.at(-1), 'endWithRetry 3456');
    t.is(s.actor.getSnapshot().status, 'done');
    t.deepEqual(s.calls, ['register a', 'unregister a']);
    t.deepEqual(s.closedBy, ['server.shutdown']);

    const before = s.sink.log.length;
    await s.replay(ping('a', 20));
    s.presence(ping('a', 21));
    t.is(s.sink.log.length, before);
  });

  test(`watch.revoked while ${state}: retry hint, end, unregistered (close reason revoked)`, async (t) => {
    const s = await reach();
    s.actor.send({ type: 'watch.revoked', retryMs: 3_000 });
    t.is(s.sink.log.at(-1), 'endWithRetry 3000');
    t.is(s.actor.getSnapshot().status, 'done');
    t.deepEqual(s.calls, ['register a', 'unregister a']);
    t.deepEqual(s.closedBy, ['watch.revoked']);
  });
}

test('a replay without a user whose stored ping could not be read goes live, and its ping comes later', async (t) => {
  const s = open({ users: ['a', 'b'], format: 'multi' });
  s.presence(ping('a', 5));
  await s.replay(ping('b', 4));
  t.is(s.state(), 'live');
  t.deepEqual(s.sink.statuses(), ['b4', 'a5']);
  s.presence(ping('a', 6));
  t.deepEqual(s.sink.statuses(), ['b4', 'a5', 'a6']);
});

test('a named ready event follows the replay, once, and onmessage clients never see it', async (t) => {
  const s = open();
  s.presence(ping('a', 6));
  t.deepEqual(s.sink.readyAfter, []);
  await s.replay(ping('a', 5));
  t.deepEqual(s.sink.statuses(), ['a5', 'a6']);
  t.deepEqual(s.sink.readyAfter, [3], 'after the head and both pings');
  s.presence(ping('a', 7));
  t.deepEqual(s.sink.readyAfter, [3]);
});

test('a stream with nothing to replay still says ready', async (t) => {
  const s = open();
  await s.replay();
  t.deepEqual(s.sink.readyAfter, [1]);
});

test('a replay that ends in offline (a silent user) writes the ping then the offline once, even with the same offline held', async (t) => {
  const s = open();
  const last = ping('a', 5);
  const offline = new SharedOfflineFrames('a', 5, 1_700_000_005);
  // The wheel fired while the stream replayed: the offline is held, and the replay carries it too.
  s.actor.send({ type: 'offline', offline });
  await s.replay(last, offline);
  t.deepEqual(s.sink.log, ['open', 'id: 5\ndata: {"time":1700000005,"status":"a5"}\n\n', 'event: offline\ndata: {"time":1700000005}\n\n']);
  t.is(s.state(), 'live');
});

test('a Last-Event-ID resume at a silent user writes its offline alone', async (t) => {
  const s = open({ resumeAfter: 5 });
  await s.replay(ping('a', 5), new SharedOfflineFrames('a', 5, 1_700_000_005));
  t.deepEqual(s.sink.log, ['open', 'event: offline\ndata: {"time":1700000005}\n\n']);
});
