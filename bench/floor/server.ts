/**
 * Floor presence server for the benchmarks: what uWebSockets.js and Redis alone cost on this
 * machine. The same API, Redis layout and wire behaviour as bench/baseline/server.ts, written on
 * uWebSockets.js the way its docs recommend (no XState, no validation beyond the baseline's):
 *
 *   POST /ping                         X-User-Claim: {"userid","clientid"}, body {"status"}
 *   GET  /subscribe/:userid[/client/:clientid]   text/event-stream
 *   GET  /subscribe?user=a&user=b…     one stream for several users, data {"userid","time","status"}
 *
 * Redis: hash hb:user:<u> {time,status,clientid,id}; channel hb:ping:<u> carries the ready SSE
 * frame, which is fanned out as one shared Buffer, written to each subscriber in its own cork.
 * Where the baseline sends MULTI/HSET/PUBLISH/EXEC per ping, the floor sends one script doing
 * HSET + PUBLISH (just as atomic), auto-pipelined: the cheapest way to the same Redis state.
 *
 * Env: LISTEN=host:port, REDIS=host:port, ADMIN_LISTEN=host:port (optional: GET /metrics with
 * floor_live_subscriptions / floor_live_users, the floor's "live actors").
 *
 * FLOOR_XSTATE=1 (the bench's `xstate-floor` target): the same server plus the least that
 * heartbeat's fixed design asks for, and nothing else. Every stream is owned by an independent
 * XState root actor (`createActor`, its response as input) that receives each delivery, its
 * replay and each keepalive as an event and writes it; one long-lived ping actor receives
 * `ping.received` and then `ping.stored` or `ping.failed` for every ping. The writes the actors
 * queue in one task go out back to back after them, as in heartbeat (src/streams/write-queue.ts).
 * This mode measures the price of the design itself: an implementation that follows the design
 * cannot do better than this on this machine.
 *
 * uWS rules kept here: onAborted on every response that answers asynchronously and on every
 * stream; onWritable(() => true) on every stream; nothing touches a response after abort or end;
 * every write outside a handler (Redis callbacks, timers) is corked, each response in its own cork.
 */
import uWS from 'uWebSockets.js';
import type { HttpRequest, HttpResponse, us_listen_socket } from 'uWebSockets.js';
import { Redis } from 'ioredis';
import type { Actor, AnyStateMachine } from 'xstate';
import { raiseListenBacklog } from '../../src/process/listen-backlog.js';

const [listenHost, listenPort] = hostPort(process.env.LISTEN ?? '127.0.0.1:8080');
const [redisHost, redisPort] = hostPort(process.env.REDIS ?? '127.0.0.1:6379');
const WITH_ACTORS = process.env.FLOOR_XSTATE === '1';
const KEEPALIVE_MS = 25_000;
const MAX_STATUS = 256;
const CHANNEL_PREFIX = 'hb:ping:';

function hostPort(s: string): [string, number] {
  const i = s.lastIndexOf(':');
  return [i > 0 ? s.slice(0, i) : '0.0.0.0', Number(s.slice(i + 1))];
}

// As in src/http/uws.ts (isNativeUws): the package silently falls back to a slow JS shim when its native
// binary does not load; a floor measured on the shim would be meaningless.
if (!/\[native code\]/.test(Function.prototype.toString.call(uWS.App))) {
  process.stderr.write('floor: uWebSockets.js fell back to its JS shim (no native binary for this Node/glibc); refusing to start\n');
  process.exit(1);
}

// Auto-pipelining: the commands of one event-loop turn go to Redis in one write.
const redis = new Redis({ host: redisHost, port: redisPort, enableAutoPipelining: true }) as Redis & {
  savePing(user: string, ch: string, time: string, status: string, clientid: string, id: string, frame: string): Promise<unknown>;
};
const sub = new Redis({ host: redisHost, port: redisPort });
// The baseline's MULTI { HSET, PUBLISH } as one script (EVALSHA): atomic the same way, one command
// to send and parse instead of four.
redis.defineCommand('savePing', {
  numberOfKeys: 2,
  lua: "redis.call('HSET', KEYS[1], 'time', ARGV[1], 'status', ARGV[2], 'clientid', ARGV[3], 'id', ARGV[4]) redis.call('PUBLISH', KEYS[2], ARGV[5]) return 1",
});
/** A stream as the fan-out sees it: its response, or (FLOOR_XSTATE=1) the actor that owns it. */
type Subscriber = HttpResponse | Actor<AnyStateMachine>;
/** Live streams per user. A stream is in its set from its handler until its onAborted. */
const subscribers = new Map<string, Set<Subscriber>>();
/** Live multi-user streams per watched user; their frames carry the userid. */
const multiSubscribers = new Map<string, Set<Subscriber>>();
/** Every live multi-user stream, once: each gets one keepalive. */
const multiStreams = new Set<Subscriber>();
let streams = 0;
const key = (u: string) => `hb:user:${u}`;
const channel = (u: string) => `${CHANNEL_PREFIX}${u}`;
let lastId = 0;

function frame(id: string, time: string, status: string): string {
  return `id: ${id}\ndata: ${JSON.stringify({ time: Number(time), status })}\n\n`;
}

/** A user's one-user frame as a multi-user stream writes it: the userid first in the data. */
function multiFrame(user: string, single: Buffer | string): string {
  return String(single).replace('data: {', `data: {"userid":${JSON.stringify(user)},`);
}

const otherOf = (map: Map<string, Set<Subscriber>>) => (map === subscribers ? multiSubscribers : subscribers);

/** Subscribes the user's channel for its first stream of either kind. */
function watch(map: Map<string, Set<Subscriber>>, user: string, subscriber: Subscriber): void {
  let set = map.get(user);
  if (!set) {
    set = new Set();
    map.set(user, set);
    if (!otherOf(map).has(user)) void sub.subscribe(channel(user));
  }
  set.add(subscriber);
}

/** Unsubscribes the user's channel after its last stream of either kind. */
function unwatch(map: Map<string, Set<Subscriber>>, user: string, subscriber: Subscriber): void {
  const set = map.get(user);
  if (!set) return;
  set.delete(subscriber);
  if (set.size > 0) return;
  map.delete(user);
  if (!otherOf(map).has(user)) void sub.unsubscribe(channel(user));
}

// One corked write without a closure per response: cork runs its callback synchronously, so the
// response and the chunk travel in two module slots.
let wRes: HttpResponse | null = null;
let wChunk: Buffer | string = '';
function writeSlot(): void {
  wRes!.write(wChunk);
}
function corkedWrite(res: HttpResponse, chunk: Buffer | string): void {
  wRes = res;
  wChunk = chunk;
  res.cork(writeSlot);
  wRes = null;
  wChunk = '';
}

/**
 * FLOOR_XSTATE=1 only: the stream and ping actors. Built from a dynamic import, so the floor
 * proper does not even load XState.
 */
function designActors(xstate: typeof import('xstate')) {
  // Writes queued by the actors of one task, sent back to back in a microtask after them.
  const queuedRes: HttpResponse[] = [];
  const queuedChunks: (Buffer | string)[] = [];
  let flushQueued = false;
  const flush = () => {
    for (let i = 0; i < queuedRes.length; i++) corkedWrite(queuedRes[i], queuedChunks[i]);
    queuedRes.length = 0;
    queuedChunks.length = 0;
    flushQueued = false;
  };
  type StreamEvent = { type: 'presence'; chunk: Buffer | string } | { type: 'keepalive'; chunk: Buffer } | { type: 'aborted' };
  const stream = xstate
    .setup({
      types: { context: {} as { res: HttpResponse }, input: {} as HttpResponse, events: {} as StreamEvent },
      actions: {
        write: ({ context, event }) => {
          if (event.type === 'aborted') return;
          queuedRes.push(context.res);
          queuedChunks.push(event.chunk);
          if (!flushQueued) {
            flushQueued = true;
            queueMicrotask(flush);
          }
        },
      },
    })
    .createMachine({
      context: ({ input }) => ({ res: input }),
      initial: 'live',
      states: {
        live: { on: { presence: { actions: 'write' }, keepalive: { actions: 'write' }, aborted: 'closed' } },
        closed: { type: 'final' },
      },
    });
  type Answer = (code: number) => void;
  type PingEvent =
    | { type: 'ping.received'; args: Parameters<typeof redis.savePing>; answer: Answer }
    | { type: 'ping.stored' | 'ping.failed'; answer: Answer };
  const ping = xstate
    .setup({
      types: { events: {} as PingEvent },
      actions: {
        store: ({ event, self }) => {
          if (event.type !== 'ping.received') return;
          const answer = event.answer;
          redis.savePing(...event.args).then(
            () => self.send({ type: 'ping.stored', answer }),
            () => self.send({ type: 'ping.failed', answer }),
          );
        },
        answerStored: ({ event }) => event.answer(200),
        answerFailed: ({ event }) => event.answer(503),
      },
    })
    .createMachine({
      on: {
        'ping.received': { actions: 'store' },
        'ping.stored': { actions: 'answerStored' },
        'ping.failed': { actions: 'answerFailed' },
      },
    });
  const pingActor = xstate.createActor(ping).start();
  const ABORTED = { type: 'aborted' } as const;
  const KEEPALIVE_EVENT = { type: 'keepalive', chunk: KEEPALIVE } as const;
  return {
    open: (res: HttpResponse) => xstate.createActor(stream, { input: res }).start(),
    aborted: (actor: Subscriber) => (actor as Actor<typeof stream>).send(ABORTED),
    deliver: (set: Set<Subscriber>, chunk: Buffer | string) => {
      const event: StreamEvent = chunk === KEEPALIVE ? KEEPALIVE_EVENT : { type: 'presence', chunk };
      for (const actor of set as Set<Actor<typeof stream>>) actor.send(event);
    },
    submitPing: (args: PingEvent & { type: 'ping.received' }) => pingActor.send(args),
  };
}

// One shared sweep instead of a timer per stream.
const KEEPALIVE = Buffer.from(': keepalive\n\n');
const actors = WITH_ACTORS ? designActors(await import('xstate')) : null;

function deliverToResponses(set: Set<Subscriber>, chunk: Buffer | string): void {
  for (const res of set as Set<HttpResponse>) corkedWrite(res, chunk);
}
const deliver = actors ? actors.deliver : deliverToResponses;

sub.on('messageBuffer', (ch: Buffer, msg: Buffer) => {
  const user = ch.toString('utf8', CHANNEL_PREFIX.length);
  const set = subscribers.get(user);
  if (set) deliver(set, msg);
  // the multi-user frame is built once per message and shared by its streams, as the one-user frame
  const multi = multiSubscribers.get(user);
  if (multi) deliver(multi, multiFrame(user, msg));
});

const keepalive = setInterval(() => {
  for (const set of subscribers.values()) deliver(set, KEEPALIVE);
  if (multiStreams.size) deliver(multiStreams, KEEPALIVE);
}, KEEPALIVE_MS);

const STATUS_LINES: Record<number, string> = { 400: '400 Bad Request', 404: '404 Not Found', 503: '503 Service Unavailable' };

/** An empty answer (Content-Length: 0) with this status; call corked (in a handler or a cork). */
function reply(res: HttpResponse, code: number, closeConnection = false): void {
  if (code !== 200) res.writeStatus(STATUS_LINES[code]);
  res.end(undefined, closeConnection);
}

function handlePing(res: HttpResponse, req: HttpRequest): void {
  let claim: { userid?: unknown; clientid?: unknown };
  try {
    claim = JSON.parse(req.getHeader('x-user-claim')) as typeof claim;
  } catch {
    return reply(res, 400, true); // body not read: close rather than parse what follows
  }
  if (typeof claim?.userid !== 'string' || claim.userid === '') return reply(res, 400, true);
  const user = claim.userid;
  const clientid = typeof claim.clientid === 'string' ? claim.clientid : '';
  let done = false;
  res.onAborted(() => {
    done = true;
  });
  let chunks: Buffer[] | null = null;
  res.onData((chunk, isLast) => {
    if (!isLast) {
      // uWS neuters the chunk when this callback returns: copy it
      (chunks ??= []).push(Buffer.from(chunk.slice(0)));
      return;
    }
    const body = chunks ? Buffer.concat([...chunks, Buffer.from(chunk)]) : Buffer.from(chunk);
    let status: unknown;
    try {
      status = (JSON.parse(body.toString('utf8')) as { status?: unknown }).status;
    } catch {
      return answer(400);
    }
    if (typeof status !== 'string' || status.length > MAX_STATUS) return answer(400);
    const time = String(Math.floor(Date.now() / 1000));
    const id = String(Math.max(Date.now(), ++lastId));
    lastId = Number(id);
    const args: Parameters<typeof redis.savePing> = [key(user), channel(user), time, status, clientid, id, frame(id, time, status)];
    if (actors) actors.submitPing({ type: 'ping.received', args, answer });
    else
      redis.savePing(...args).then(
        () => answer(200),
        () => answer(503),
      );
  });
  function answer(code: number): void {
    if (done) return;
    done = true;
    res.cork(() => reply(res, code));
  }
}

const keepOpen = () => true;
const HEAD = ': heartbeat\n\nretry: 2000\n\n';

/**
 * Opens one SSE stream on `res` (already corked: called in the handler) for `users`, each watched
 * in `table`, and replays each user's last ping through `toChunk`. One-user and multi-user routes
 * differ only in the table and the frame.
 */
function openStream(
  res: HttpResponse,
  users: readonly string[],
  table: Map<string, Set<Subscriber>>,
  toChunk: (user: string, frame: string) => string,
  onClose?: (s: Subscriber) => void,
): Subscriber {
  let done = false;
  const subscriber = actors ? actors.open(res) : res;
  res.onWritable(keepOpen);
  res.onAborted(() => {
    done = true;
    streams--;
    if (actors) actors.aborted(subscriber);
    onClose?.(subscriber);
    for (const user of users) unwatch(table, user, subscriber);
  });
  res
    .writeStatus('200 OK')
    .writeHeader('Content-Type', 'text/event-stream')
    .writeHeader('Cache-Control', 'no-cache')
    .writeHeader('X-Accel-Buffering', 'no')
    .write(HEAD);
  for (const user of users) watch(table, user, subscriber);
  streams++;
  // the replay: every user's last ping, read in one auto-pipelined batch
  for (const user of users) {
    redis.hmget(key(user), 'id', 'time', 'status').then(
      ([id, time, status]) => {
        if (id === null || time === null || status === null || done) return;
        const chunk = toChunk(user, frame(id, time, status));
        if (actors) actors.deliver(new Set([subscriber]), chunk);
        else corkedWrite(res, chunk);
      },
      () => {
        /* cache miss on redis error: stream stays open */
      },
    );
  }
  return subscriber;
}

function handleSubscribe(res: HttpResponse, req: HttpRequest): void {
  let user: string;
  try {
    user = decodeURIComponent(req.getParameter(0) ?? '');
  } catch {
    return reply(res, 400);
  }
  if (user === '') return reply(res, 404);
  openStream(res, [user], subscribers, (_, chunk) => chunk);
}

/** `GET /subscribe?user=a&user=b…`: one stream for several users (the `contacts` scenario); no limit on the list, no policy. */
function handleMultiSubscribe(res: HttpResponse, req: HttpRequest): void {
  let users: string[];
  try {
    users = [
      ...new Set(
        (req.getQuery() ?? '')
          .split('&')
          .filter((p) => p.startsWith('user='))
          .map((p) => decodeURIComponent(p.slice(5))),
      ),
    ].filter((u) => u !== '');
  } catch {
    return reply(res, 400);
  }
  if (users.length === 0) return reply(res, 400);
  multiStreams.add(openStream(res, users, multiSubscribers, multiFrame, (s) => multiStreams.delete(s)));
}

const listenSockets: us_listen_socket[] = [];
function listenOrDie(app: uWS.TemplatedApp, host: string, port: number, what: string): void {
  app.listen(host, port, (ls) => {
    if (!ls) {
      process.stderr.write(`floor: cannot listen on ${host}:${port} (${what})\n`);
      process.exit(1);
    }
    listenSockets.push(ls);
  });
}

const app = uWS
  .App()
  .post('/ping', handlePing)
  .get('/subscribe', handleMultiSubscribe)
  .get('/subscribe/:userid', handleSubscribe)
  .get('/subscribe/:userid/client/:clientid', handleSubscribe)
  // the baseline accepts a trailing slash too
  .get('/subscribe/:userid/', handleSubscribe)
  .get('/subscribe/:userid/client/:clientid/', handleSubscribe)
  .any('/*', (res) => reply(res, 404));
listenOrDie(app, listenHost, listenPort, 'api');
// The accept queue heartbeat gives its public port (LISTEN_BACKLOG, default 65535, capped by
// net.core.somaxconn), so that a connect storm meets the same kernel queue on both: uSockets'
// own 512 drops connections that heartbeat's would hold (docs/scaling.md, "Connect storms").
void raiseListenBacklog(listenPort, Number(process.env.LISTEN_BACKLOG || 65_535));

const adminListen = process.env.ADMIN_LISTEN ?? '';
if (adminListen) {
  const [h, p] = hostPort(adminListen);
  const admin = uWS
    .App()
    .get('/metrics', (res) => {
      res.end(
        `# TYPE floor_live_subscriptions gauge\nfloor_live_subscriptions ${streams}\n` +
          `# TYPE floor_live_users gauge\nfloor_live_users ${new Set([...subscribers.keys(), ...multiSubscribers.keys()]).size}\n`,
      );
    })
    .any('/*', (res) => reply(res, 404));
  listenOrDie(admin, h, p, 'admin');
}

function shutdown(): void {
  clearInterval(keepalive);
  for (const ls of listenSockets.splice(0)) uWS.us_listen_socket_close(ls);
  void Promise.allSettled([redis.quit(), sub.quit()]).then(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
