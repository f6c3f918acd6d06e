import type { Actor } from 'xstate';
import { subscriptionMachine, type SubscriptionInput } from '../../machines/subscription.js';
import { KeepaliveSweep, type Clock } from './keepalive-sweep.js';
import type { Logger } from '../process/logger.js';
import { BucketParents } from './bucket-parents.js';
import { StreamCount } from './stream-count.js';
import { WatcherStreams } from './watcher-streams.js';
import type { Hub } from './hub.js';

export type SubscriptionActor = Actor<typeof subscriptionMachine>;

/**
 * Why a stream ended, by the event that took its actor to `closed` (the machine's `unregister`
 * receives it). Only `socket.aborted`, a client that went away, is `client_gone`: every other
 * close was decided by heartbeat and says which decision it was. A new way to close (access
 * revoked) adds its event and reason here; a unit test checks that every transition into
 * `closed` has an entry, so none is counted under another reason.
 * @internal exported for its test
 */
export const CLOSE_REASON_BY_EVENT = {
  'socket.aborted': 'client_gone',
  'server.shutdown': 'shutdown',
  'watch.revoked': 'revoked',
  // XState names a delayed transition's event `xstate.after.<delay>.<state id>`.
  'xstate.after.slowClientTimeout.subscription.congested': 'slow_client',
} as const;

export type CloseReason = (typeof CLOSE_REASON_BY_EVENT)[keyof typeof CLOSE_REASON_BY_EVENT];

export const CLOSE_REASONS: readonly CloseReason[] = [...new Set(Object.values(CLOSE_REASON_BY_EVENT))];

/** Zero closes for every reason: the counters' starting point. */
export function noCloses(): Record<CloseReason, number> {
  return Object.fromEntries(CLOSE_REASONS.map((reason) => [reason, 0])) as Record<CloseReason, number>;
}

function closeReason(event: { type: string }): CloseReason {
  const reason = (CLOSE_REASON_BY_EVENT as Record<string, CloseReason | undefined>)[event.type];
  if (reason === undefined) throw new Error(`a stream closed on ${event.type}, which has no close reason`);
  return reason;
}

export interface SubscriptionsOptions {
  hub: Hub;
  /** Milliseconds between keepalive comments on a stream (KEEPALIVE). */
  keepaliveMs: number;
  /** Milliseconds a stream may stay congested before it is closed (SLOW_CLIENT_TIMEOUT). */
  slowClientTimeoutMs: number;
  /** Streams beyond this many are refused with 503 (MAX_CONNECTIONS). */
  maxStreams: number;
  /** The process's count of open streams, shared with the other worker threads. Default: this instance's own. */
  streamCount?: StreamCount;
  /** Streams one claimed user may hold open here; beyond, 429 (MAX_STREAMS_PER_USER). */
  maxStreamsPerUser: number;
  /** Open streams per watcher, shared with the other worker threads. Default: this instance's own. */
  watcherStreams?: WatcherStreams;
  /** Drives the keepalive sweep; tests pass SimulatedClock. Default: real timers. */
  clock?: Clock;
  /** Called when a stream opens (metrics). */
  onOpened?: () => void;
  /** Called when a stream ends, with why (metrics). */
  onClosed?: (reason: CloseReason) => void;
  /** Called when a held ping is superseded before it could be written (metrics). */
  onCoalesced?: () => void;
  /** Streams opened and closed are logged at debug. Default: not logged. */
  log?: Logger;
  /** Subscription actors per bucket parent (see BucketParents). Default 64. */
  bucketParentSize?: number;
}

const KEEPALIVE_EVENT = { type: 'keepalive' } as const;

/**
 * Every live subscription actor of this process. Each is a child of a bucket parent with a
 * bounded number of children (BucketParents). The keepalive sweep is the one registry of
 * them: every live stream gets keepalives, so its members also serve shutdown and counts.
 */
export class Subscriptions {
  private readonly sweep: KeepaliveSweep<SubscriptionActor>;
  readonly bucketParents: BucketParents;
  private readonly maxStreams: number;
  private readonly streamCount: StreamCount;
  private readonly maxStreamsPerUser: number;
  /** Open streams per watcher (only users with at least one), for every worker thread. */
  private readonly watcherStreams: WatcherStreams;

  constructor(private readonly options: SubscriptionsOptions) {
    const { hub } = options;
    const log = options.log?.isLevelEnabled('debug') ? options.log : null;
    this.maxStreams = options.maxStreams;
    this.streamCount = options.streamCount ?? new StreamCount();
    this.maxStreamsPerUser = options.maxStreamsPerUser;
    this.watcherStreams = options.watcherStreams ?? new WatcherStreams(options.maxStreams);
    this.sweep = new KeepaliveSweep<SubscriptionActor>(options.keepaliveMs, (actor) => actor.send(KEEPALIVE_EVENT), options.clock);
    // Provided once for all actors: a per-actor .provide() would build a machine per stream.
    const machine = subscriptionMachine.provide({
      actions: {
        register: ({ context, self }) => {
          const actor = self as SubscriptionActor;
          this.sweep.add(actor);
          this.streamCount.add();
          hub.add(context.users, actor, context.clientid, context.watcher);
          options.onOpened?.();
          log?.debug(
            { stream: actor.sessionId, userid: context.users[0], users: context.users.length, clientid: context.clientid },
            'stream opened',
          );
        },
        unregister: ({ context, event, self }) => {
          const actor = self as SubscriptionActor;
          this.sweep.delete(actor);
          this.streamCount.remove();
          hub.remove(context.users, actor, context.clientid, context.watcher);
          if (context.watcher !== undefined) this.watcherStreams.remove(context.watcher);
          const reason = closeReason(event);
          options.onClosed?.(reason);
          log?.debug({ stream: actor.sessionId, userid: context.users[0], reason }, 'stream closed');
        },
        // A stream closed meanwhile ignores the answer (a stopped actor drops events).
        loadCachedPings: ({ context, self }) => hub.replay(context.users, self as SubscriptionActor, context.clientid, context.watcher),
        countCoalesced: () => options.onCoalesced?.(),
      },
      delays: {
        slowClientTimeout: options.slowClientTimeoutMs,
      },
    });
    this.bucketParents = new BucketParents({ subscription: machine, size: options.bucketParentSize });
  }

  /**
   * Visits every open stream whose watcher (a trusted claim) watches someone other than itself:
   * what WATCH_POLICY=contacts re-checks. Read from the actors' context, once a tick of the
   * re-check, so a stream carries nothing more for it.
   */
  forEachWatchingOthers(visit: (actor: SubscriptionActor, watcher: string, users: readonly string[]) => void): void {
    for (const actor of this.sweep.members()) {
      const { watcher, users } = actor.getSnapshot().context;
      if (watcher !== undefined && users.some((user) => user !== watcher)) visit(actor, watcher, users);
    }
  }

  /** Whether one more stream may open (MAX_CONNECTIONS). */
  hasRoom(): boolean {
    return this.streamCount.value < this.maxStreams;
  }

  /** Whether `watcher` has a free stream (MAX_STREAMS_PER_USER) in any worker: an early refusal. */
  hasRoomFor(watcher: string): boolean {
    return this.watcherStreams.count(watcher) < this.maxStreamsPerUser;
  }

  /**
   * Takes one of `watcher`'s MAX_STREAMS_PER_USER streams if one is free (false: none is), in one
   * step for every worker thread, so that two opening at once cannot both take the last one. The
   * stream opened next (`open` with this watcher) gives it back when it closes.
   */
  claimStreamFor(watcher: string): boolean {
    return this.watcherStreams.tryAdd(watcher, this.maxStreamsPerUser);
  }

  /**
   * Spawns and starts the actor of a new stream; it registers itself and writes the head.
   * Undefined if the stream ended while its actor started. A stream with a watcher claimed its
   * place first (`claimStreamFor`); its actor gives it back when it closes.
   */
  open(input: SubscriptionInput): SubscriptionActor | undefined {
    // The hub's copy of each id: 50 contacts' ids parsed from every stream's query string would
    // otherwise be kept once per stream (and each may hold on to its whole query string).
    // A literal, not a spread: XState keeps the input for the actor's life, and a spread's fields
    // past the fourth go to a property store of their own (~35 bytes a stream).
    const { sink, users, clientid, format, resumeAfter, watcher } = input;
    return this.bucketParents.spawn({ sink, users: this.options.hub.shareIds(users), clientid, format, resumeAfter, watcher });
  }

  start(): void {
    this.sweep.start();
  }

  size(): number {
    return this.sweep.size;
  }

  /** Live actors per state of the subscription machine (for metrics and /debug/machines). */
  countByState(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const actor of this.sweep.members()) {
      const state = String(actor.getSnapshot().value);
      counts[state] = (counts[state] ?? 0) + 1;
    }
    return counts;
  }

  /**
   * Server shutdown: each stream gets a `retry:` with random jitter in [minMs, maxMs), so that
   * thousands of clients do not reconnect in the same instant, and is closed.
   */
  closeAll(minMs = 1_000, maxMs = 10_000): void {
    this.sweep.stop();
    for (const actor of [...this.sweep.members()]) {
      actor.send({ type: 'server.shutdown', retryMs: Math.floor(minMs + Math.random() * (maxMs - minMs)) });
    }
  }
}
