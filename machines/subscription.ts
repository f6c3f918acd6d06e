import { setup } from 'xstate';

/** Who a sink reports its socket to: the subscription actor that opened it. */
export interface SinkListener {
  send(event: SubscriptionEvent): void;
}

/**
 * Where a subscription actor writes: its own stream (SSE response). Implemented over
 * uWebSockets.js in src/. The sink reports what happens to its socket as events to the actor
 * that opened it:
 * `socket.full` when a write could not be taken whole (backpressure), `socket.drained` when the
 * socket can take more again, `socket.aborted` when the client went away. A sink may send its
 * writes later in the same task (queued with other streams' writes), so `socket.full` can
 * arrive after the write that caused it: nothing written meanwhile is lost, the socket buffers it.
 */
export interface StreamSink {
  /** Sends the response head, a first comment and the `retry:` hint; reports to `listener` from now on. */
  open(listener: SinkListener): void;
  /** Writes bytes, in order with every earlier write of this stream. */
  write(chunk: Uint8Array): void;
  /** Writes `retry: <ms>` and ends the response (server shutdown), after every earlier write. */
  endWithRetry(retryMs: number): void;
  /** Closes the connection at once (slow client). */
  close(): void;
}

/**
 * One ping of one user and its SSE frames, rendered once and shared by every stream that gets it
 * (src/streams/frames.ts).
 */
export interface PingFrames {
  readonly userid: string;
  readonly clientid: string;
  readonly seq: number;
  /** The SSE frame: `single` is `{"time","status"}`, `multi` adds `"userid"`; withId adds `id:`. */
  frame(format: StreamFormat, withId: boolean): Uint8Array;
}

export type StreamFormat = 'single' | 'multi';

/**
 * A watched user went offline: its presence was erased (or, later, it fell silent). Rendered once
 * and shared like PingFrames: `event: offline` with `{"time"}` (`multi` adds `"userid"`).
 */
export interface OfflineFrames {
  readonly offline: true;
  readonly userid: string;
  /**
   * The seq of the last ping it follows: a stream that already sent a newer ping of the user drops
   * it, and a newer ping supersedes it. An erasure's is past every ping erased.
   */
  readonly seq: number;
  /** That last ping, written first to a stream that has not sent it yet; null: nothing to write (erased). */
  readonly lastPing: PingFrames | null;
  frame(format: StreamFormat): Uint8Array;
}

export interface SubscriptionInput {
  readonly sink: StreamSink;
  /** The users this stream watches (one for `/subscribe/:userid`). */
  readonly users: readonly string[];
  /** Only pings from this client of the user (`/subscribe/:userid/client/:clientid`). */
  readonly clientid?: string;
  readonly format: StreamFormat;
  /** The client's Last-Event-ID: nothing at or below it is sent again. */
  readonly resumeAfter?: number;
  /**
   * The watcher: the user the stream was opened by (a trusted X-User-Claim). Counted against
   * MAX_STREAMS_PER_USER, and if it is among `users` the stream sees that user's invisible pings
   * too (its own view). Absent: the public view of everyone.
   */
  readonly watcher?: string;
}

export type SubscriptionEvent =
  | { type: 'presence'; ping: PingFrames }
  /** A watched user went offline (erased). */
  | { type: 'offline'; offline: OfflineFrames }
  /** The stored last pings of the stream's users, read once their channels were live. */
  | { type: 'replay.loaded'; pings: readonly PingFrames[] }
  /** The store could not answer the replay read. */
  | { type: 'replay.failed' }
  | { type: 'keepalive' }
  | { type: 'socket.full' }
  | { type: 'socket.drained' }
  | { type: 'socket.aborted' }
  | { type: 'server.shutdown'; retryMs: number };

interface SubscriptionContext {
  readonly sink: StreamSink;
  readonly users: readonly string[];
  readonly clientid: string | undefined;
  readonly format: StreamFormat;
  readonly resumeAfter: number;
  readonly watcher: string | undefined;
  /**
   * Highest seq sent: for a single-user stream in `sentSeq`, for a multi-user stream per user in
   * `sentPerUser`. Newest unsent ping per user while replaying or congested in `pending`, created
   * when first needed and dropped once flushed. A one-user stream carries no Map at all: at
   * 15,000 streams every Map shows in the memory per stream (BENCHMARKS.md, `hold`), and a
   * delivery must not allocate.
   */
  sentSeq: number;
  readonly sentPerUser: Map<string, number> | null;
  pending: Map<string, PingFrames | OfflineFrames> | null;
  /** Highest id written on this stream: an older ping of another user goes out without `id:`. */
  highestId: number;
}

const KEEPALIVE = new TextEncoder().encode(':\n\n');
/**
 * Sent once the replay is written and the channel is live: from here on every ping arrives. A
 * named event, so `onmessage` clients (the Beep app) never see it; others can wait for it.
 */
const READY = new TextEncoder().encode('event: ready\ndata: {}\n\n');

function sentSeqOf(context: SubscriptionContext, userid: string): number {
  return context.sentPerUser === null ? context.sentSeq : (context.sentPerUser.get(userid) ?? context.resumeAfter);
}

function isNewer(context: SubscriptionContext, ping: PingFrames): boolean {
  if (context.clientid !== undefined && ping.clientid !== context.clientid) return false;
  return ping.seq > sentSeqOf(context, ping.userid);
}

/** Writes one ping. */
function send(context: SubscriptionContext, ping: PingFrames): void {
  const withId = ping.seq > context.highestId;
  if (withId) context.highestId = ping.seq;
  if (context.sentPerUser === null) context.sentSeq = ping.seq;
  else context.sentPerUser.set(ping.userid, ping.seq);
  context.sink.write(ping.frame(context.format, withId));
}

/** Whether an offline is about the last ping this stream sent of its user (or a later moment). */
function isCurrent(context: SubscriptionContext, offline: OfflineFrames): boolean {
  return offline.seq >= sentSeqOf(context, offline.userid);
}

/** Writes an offline: the last ping first if this stream has not sent it, then the event. */
function sendOffline(context: SubscriptionContext, offline: OfflineFrames): void {
  if (!isCurrent(context, offline)) return;
  if (offline.lastPing !== null && isNewer(context, offline.lastPing)) send(context, offline.lastPing);
  context.sink.write(offline.frame(context.format));
}

/** Writes every ping still newer than what was sent, and every offline still current, oldest first. */
function sendInOrder(context: SubscriptionContext, items: Iterable<PingFrames | OfflineFrames>): void {
  for (const item of [...items].sort((a, b) => a.seq - b.seq)) {
    if ('offline' in item) sendOffline(context, item);
    else if (isNewer(context, item)) send(context, item);
  }
}

/** Writes every pending ping still newer than what was sent, oldest first. */
function flushPending(context: SubscriptionContext): void {
  const pending = context.pending;
  context.pending = null;
  if (pending !== null) sendInOrder(context, pending.values());
}

export const subscriptionMachine = setup({
  types: {
    context: {} as SubscriptionContext,
    events: {} as SubscriptionEvent,
    input: {} as SubscriptionInput,
  },
  actions: {
    /**
     * Reads the users' stored last pings once their channels are live, and answers with
     * `replay.loaded` or `replay.failed` (I/O: injected). An action, not an invoked promise
     * actor: a child actor and its AbortController per stream cost heap while it lives, and a
     * DOMException on every stream that closes while replaying (BENCHMARKS.md, `hold`, `churn`).
     */
    loadCachedPings: () => {},
    /** Joins the hub for every watched user (I/O: injected). */
    register: () => {},
    /**
     * Leaves the hub; nothing of the subscription remains (I/O: injected). Its event says why the
     * stream closed: `socket.aborted`, `server.shutdown`, or the congested state's timeout.
     */
    unregister: () => {},
    /** Counts a held ping replaced by a newer one before it was written (injected for metrics). */
    countCoalesced: () => {},
    openStream: ({ context, self }) => context.sink.open(self),
    writePing: ({ context, event }) => {
      if (event.type === 'presence') send(context, event.ping);
    },
    writeOffline: ({ context, event }) => {
      if (event.type === 'offline') sendOffline(context, event.offline);
    },
    /** Held until the stream can write: replaces what it supersedes, and is dropped by a newer ping. */
    holdOffline: ({ context, event }) => {
      if (event.type !== 'offline' || !isCurrent(context, event.offline)) return;
      const pending = (context.pending ??= new Map<string, PingFrames | OfflineFrames>());
      const held = pending.get(event.offline.userid);
      if (!held || held.seq <= event.offline.seq) pending.set(event.offline.userid, event.offline);
    },
    announceReady: ({ context }) => context.sink.write(READY),
    writeKeepalive: ({ context }) => context.sink.write(KEEPALIVE),
    /** Presence needs only the latest: keep the newest ping per user, drop what it supersedes. */
    keepNewest: ({ context, event }) => {
      if (event.type !== 'presence' || !isNewer(context, event.ping)) return;
      const pending = (context.pending ??= new Map<string, PingFrames | OfflineFrames>());
      const held = pending.get(event.ping.userid);
      if (!held || held.seq < event.ping.seq) pending.set(event.ping.userid, event.ping);
    },
    writeCachedThenPending: ({ context, event }) => {
      if (event.type !== 'replay.loaded') return;
      sendInOrder(context, event.pings);
      flushPending(context);
    },
    writePending: ({ context }) => flushPending(context),
    endWithRetry: ({ context, event }) => {
      if (event.type === 'server.shutdown') context.sink.endWithRetry(event.retryMs);
    },
    closeSocket: ({ context }) => context.sink.close(),
  },
  guards: {
    isNewPingForThisStream: ({ context, event }) => event.type === 'presence' && isNewer(context, event.ping),
    isCurrentOffline: ({ context, event }) => event.type === 'offline' && isCurrent(context, event.offline),
    supersedesHeldPing: ({ context, event }) =>
      event.type === 'presence' && isNewer(context, event.ping) && context.pending?.has(event.ping.userid) === true,
  },
  delays: {
    /** SLOW_CLIENT_TIMEOUT: how long a stream may stay congested (provided from config). */
    slowClientTimeout: 60_000,
  },
}).createMachine({
  id: 'subscription',
  context: ({ input }) => ({
    sink: input.sink,
    users: input.users,
    clientid: input.clientid,
    format: input.format,
    resumeAfter: input.resumeAfter ?? 0,
    watcher: input.watcher,
    sentSeq: input.resumeAfter ?? 0,
    sentPerUser: input.users.length === 1 ? null : new Map(),
    pending: null,
    highestId: input.resumeAfter ?? 0,
  }),
  initial: 'opening',
  on: {
    'socket.aborted': '.closed',
    'server.shutdown': { target: '.closed', actions: 'endWithRetry' },
  },
  states: {
    opening: {
      entry: ['register', 'openStream'],
      always: 'replaying',
    },
    replaying: {
      entry: 'loadCachedPings',
      on: {
        'replay.loaded': { target: 'live', actions: ['writeCachedThenPending', 'announceReady'] },
        // The store is away: go live without the cached pings; recovery re-reads them.
        'replay.failed': { target: 'live', actions: ['writePending', 'announceReady'] },
        presence: [{ guard: 'supersedesHeldPing', actions: ['keepNewest', 'countCoalesced'] }, { actions: 'keepNewest' }],
        offline: { actions: 'holdOffline' },
      },
    },
    live: {
      on: {
        presence: { guard: 'isNewPingForThisStream', actions: 'writePing' },
        offline: { guard: 'isCurrentOffline', actions: 'writeOffline' },
        keepalive: { actions: 'writeKeepalive' },
        'socket.full': 'congested',
      },
    },
    congested: {
      on: {
        presence: [{ guard: 'supersedesHeldPing', actions: ['keepNewest', 'countCoalesced'] }, { actions: 'keepNewest' }],
        offline: { actions: 'holdOffline' },
        'socket.drained': { target: 'live', actions: 'writePending' },
      },
      after: {
        slowClientTimeout: { target: 'closed', actions: 'closeSocket' },
      },
    },
    closed: {
      type: 'final',
      entry: 'unregister',
    },
  },
});
