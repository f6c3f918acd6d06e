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
  /** Writes `retry: <ms>` and ends the response (server shutdown, access revoked), after every earlier write. */
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
 * A watched user went offline: silent for OFFLINE_AFTER, or its presence was erased. Rendered once
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
  /** A watched user went offline: silent for OFFLINE_AFTER, or erased. */
  | { type: 'offline'; offline: OfflineFrames }
  /**
   * The last pings of the stream's users (the hub's records), once their channels were live, each
   * followed by its `offline` when it is already older than OFFLINE_AFTER.
   */
  | { type: 'replay.loaded'; pings: readonly (PingFrames | OfflineFrames)[] }
  | { type: 'keepalive' }
  | { type: 'socket.full' }
  | { type: 'socket.drained' }
  | { type: 'socket.aborted' }
  | { type: 'server.shutdown'; retryMs: number }
  /**
   * WATCH_POLICY=contacts: the watcher may no longer see one of the stream's users (a contact
   * removed). The stream ends with a `retry:` hint; the reconnect is refused 403.
   */
  | { type: 'watch.revoked'; retryMs: number };

interface SubscriptionContext {
  readonly sink: StreamSink;
  readonly users: readonly string[];
  readonly clientid: string | undefined;
  readonly format: StreamFormat;
  readonly resumeAfter: number;
  readonly watcher: string | undefined;
  /**
   * Newest unsent ping (or offline) per user while replaying or congested, created when first
   * needed and dropped once flushed. Nothing else is kept per watched user: the hub hands each
   * stream every ping of a user exactly once and in order (its records drop what is not newer),
   * and a replay after the pings it covers, so a stream need not remember what it sent (at 50
   * users per stream, a Map of sent seqs was most of a stream's heap: issue 29).
   */
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

/** Whether this stream may write `ping`: of its client (if it has one), and newer than Last-Event-ID. */
function isNewer(context: SubscriptionContext, ping: PingFrames): boolean {
  if (context.clientid !== undefined && ping.clientid !== context.clientid) return false;
  return ping.seq > context.resumeAfter;
}

/** Writes one ping. */
function send(context: SubscriptionContext, ping: PingFrames): void {
  const withId = ping.seq > context.highestId;
  if (withId) context.highestId = ping.seq;
  context.sink.write(ping.frame(context.format, withId));
}

/** Whether an offline is later than the client's Last-Event-ID (the hub hands it after every ping it follows). */
function isCurrent(context: SubscriptionContext, offline: OfflineFrames): boolean {
  return offline.seq >= context.resumeAfter;
}

/** Where a held offline waits in `pending`: apart from its user's held ping, which it follows. */
function offlineKey(userid: string): string {
  return `\u0000${userid}`;
}

/** Oldest first; an offline after the ping of the same seq it follows. */
function bySeq(a: PingFrames | OfflineFrames, b: PingFrames | OfflineFrames): number {
  return a.seq - b.seq || ('offline' in a ? 1 : 0) - ('offline' in b ? 1 : 0);
}

/** Writes the pings this stream may write, and the offlines still current, oldest first. */
function sendInOrder(context: SubscriptionContext, items: Iterable<PingFrames | OfflineFrames>): void {
  for (const item of [...items].sort(bySeq)) {
    if ('offline' in item) {
      if (isCurrent(context, item)) context.sink.write(item.frame(context.format));
    } else if (isNewer(context, item)) send(context, item);
  }
}

/**
 * Writes what is pending, oldest first; after a replay, only what is newer than the replayed ping
 * of its user (the replay covers every ping the hub handed over before it).
 */
function flushPending(context: SubscriptionContext, replayed: readonly (PingFrames | OfflineFrames)[] = []): void {
  const pending = context.pending;
  context.pending = null;
  if (pending === null) return;
  // A replayed ping covers what it is past and a held ping of its seq; a replayed offline also the
  // held offline of its seq (the same silence, announced while the stream replayed).
  const covered = (item: PingFrames | OfflineFrames, r: PingFrames | OfflineFrames) =>
    r.userid === item.userid && (r.seq > item.seq || (r.seq === item.seq && (!('offline' in item) || 'offline' in r)));
  sendInOrder(
    context,
    [...pending.values()].filter((item) => !replayed.some((r) => covered(item, r))),
  );
}

export const subscriptionMachine = setup({
  types: {
    context: {} as SubscriptionContext,
    events: {} as SubscriptionEvent,
    input: {} as SubscriptionInput,
  },
  actions: {
    /**
     * Asks for the users' last pings once their channels are live; the hub answers with
     * `replay.loaded`, queued behind the pings it covers (I/O: injected). A user whose stored ping
     * could not be read is replayed without it, and gets it as a presence event once read. An action, not an invoked promise
     * actor: a child actor and its AbortController per stream cost heap while it lives, and a
     * DOMException on every stream that closes while replaying (BENCHMARKS.md, `hold`, `churn`).
     */
    loadCachedPings: () => {},
    /** Joins the hub for every watched user (I/O: injected). */
    register: () => {},
    /**
     * Leaves the hub; nothing of the subscription remains (I/O: injected). Its event says why the
     * stream closed: `socket.aborted`, `server.shutdown`, `watch.revoked`, or the congested state's timeout.
     */
    unregister: () => {},
    /** Counts a held ping replaced by a newer one before it was written (injected for metrics). */
    countCoalesced: () => {},
    openStream: ({ context, self }) => context.sink.open(self),
    writePing: ({ context, event }) => {
      if (event.type === 'presence') send(context, event.ping);
    },
    writeOffline: ({ context, event }) => {
      if (event.type === 'offline') context.sink.write(event.offline.frame(context.format));
    },
    /**
     * Held until the stream can write, and dropped by a newer ping. It supersedes a held ping it is
     * past (an erasure's), and goes after the held ping of its own seq (the last ping it follows).
     */
    holdOffline: ({ context, event }) => {
      if (event.type !== 'offline' || !isCurrent(context, event.offline)) return;
      const { userid, seq } = event.offline;
      const pending = (context.pending ??= new Map<string, PingFrames | OfflineFrames>());
      if ((pending.get(userid)?.seq ?? seq) < seq) pending.delete(userid);
      pending.set(offlineKey(userid), event.offline);
    },
    announceReady: ({ context }) => context.sink.write(READY),
    writeKeepalive: ({ context }) => context.sink.write(KEEPALIVE),
    /** Presence needs only the latest: keep the newest ping per user, drop what it supersedes. */
    keepNewest: ({ context, event }) => {
      if (event.type !== 'presence' || !isNewer(context, event.ping)) return;
      const pending = (context.pending ??= new Map<string, PingFrames | OfflineFrames>());
      const held = pending.get(event.ping.userid);
      if (!held || held.seq < event.ping.seq) pending.set(event.ping.userid, event.ping);
      const offline = pending.get(offlineKey(event.ping.userid));
      if (offline !== undefined && offline.seq < event.ping.seq) pending.delete(offlineKey(event.ping.userid));
    },
    writeCachedThenPending: ({ context, event }) => {
      if (event.type !== 'replay.loaded') return;
      sendInOrder(context, event.pings);
      flushPending(context, event.pings);
    },
    writePending: ({ context }) => flushPending(context),
    endWithRetry: ({ context, event }) => {
      if (event.type === 'server.shutdown' || event.type === 'watch.revoked') context.sink.endWithRetry(event.retryMs);
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
    pending: null,
    highestId: input.resumeAfter ?? 0,
  }),
  initial: 'opening',
  on: {
    'socket.aborted': '.closed',
    'server.shutdown': { target: '.closed', actions: 'endWithRetry' },
    'watch.revoked': { target: '.closed', actions: 'endWithRetry' },
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
