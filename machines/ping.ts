import { setup, type AnyActorRef } from 'xstate';
import {
  parseClaim,
  parsePing,
  type HeaderRejection,
  type ParsedClaim,
  type ParsedPing,
  type PingAnswerCode,
  type PingRejection,
  type ValidClaim,
  type ValidPing,
} from './ping-request.js';

/**
 * One `POST /ping` as the HTTP edge hands it over. The edge only collects bytes and answers;
 * every decision (which status) is a transition of the ping machine.
 */
export interface PingRequest {
  /** X-User-Claim, undefined when absent. */
  readonly claim: string | undefined;
  /** The body as UTF-8 text, or null when it was not valid UTF-8. */
  readonly body: string | null;
  /** The body went past the limit and was not read to the end. */
  readonly bodyTooLarge: boolean;
  /** A problem with the request's headers found by the edge (it alone can see them all). */
  readonly headerRejection?: HeaderRejection;
  /** The peer is a trusted proxy (TRUSTED_PROXIES) and may speak for a user. */
  readonly fromTrustedPeer: boolean;
  /**
   * Answers the request once (the edge ignores a second call and calls after abort): without a
   * code, 200 (stored); with one, that code's status and reason from the error catalogue, and
   * `retryAfterSeconds` with RATE_LIMITED.
   */
  readonly answer: (code?: PingAnswerCode, retryAfterSeconds?: number) => void;
  /** Parsed once, on first use by a guard. */
  parsed?: ParsedPing;
}

/**
 * One `DELETE /ping` (erasure): the caller's claim names the user whose presence is erased. The
 * edge reads and ignores any body (its size is limited like a ping's), so the same input rules apply.
 */
export interface EraseRequest extends Omit<PingRequest, 'body' | 'parsed'> {
  /** Parsed once, on first use by a guard. */
  parsed?: ParsedClaim;
}

export type PingEvent =
  | { type: 'ping.received'; request: PingRequest }
  | { type: 'erase.received'; request: EraseRequest }
  /** The last ping in flight was answered while draining (sent only then: not one per ping). */
  | { type: 'inFlight.answered' }
  | { type: 'store.down' }
  | { type: 'store.up' }
  | { type: 'shutdown' };

export interface PingContext {
  /** Pings handed to the store and not yet answered (the draining state waits for them). */
  inFlight: number;
  /** The actor itself: the answer to its last ping in flight while draining is told to it. */
  readonly self: AnyActorRef;
}

/**
 * What the store did with one ping: stored it, failed, refused it because its client is over
 * PING_RATE (nothing stored or published; the client may retry after that many seconds), or
 * refused it as overtaken: the user's stored ping was received after this one (nothing stored or
 * published; the stored state is already newer).
 */
type StoreResult = 'stored' | 'failed' | 'overtaken' | { readonly retryAfterSeconds: number };

/** Called once with the store's result for one ping. */
export type StoreOutcome = (result: StoreResult) => void;

const IN_FLIGHT_ANSWERED = { type: 'inFlight.answered' } as const;

/**
 * How a ping handed to the store is answered: 200 once the store has it, 429 RATE_LIMITED (with
 * Retry-After) if the store refused it, 409 PING_OVERTAKEN if a ping of the user received after
 * it is stored already, 503 STORE_UNAVAILABLE if it failed, in every mode (a ping
 * accepted before the store went down or a shutdown began is answered for what happened to it).
 * Called by the store action, not through an event: one event per ping instead of two. Draining
 * waits for the last of them, so that one, and only while draining, is told to the actor.
 */
function answerWhenStored(context: PingContext, request: PingRequest | EraseRequest): StoreOutcome {
  return (result) => {
    context.inFlight--;
    if (result === 'stored') request.answer();
    else if (result === 'failed') request.answer('STORE_UNAVAILABLE');
    else if (result === 'overtaken') request.answer('PING_OVERTAKEN');
    else request.answer('RATE_LIMITED', result.retryAfterSeconds);
    if (context.inFlight === 0 && (context.self.getSnapshot() as { value: unknown }).value === 'draining')
      context.self.send(IN_FLIGHT_ANSWERED);
  };
}

function parsed(request: PingRequest | EraseRequest): ParsedPing | ParsedClaim {
  if (!('body' in request))
    return (request.parsed ??= request.headerRejection ? { ok: false, rejection: request.headerRejection } : parseClaim(request.claim));
  return (request.parsed ??= request.headerRejection
    ? { ok: false, rejection: request.headerRejection }
    : parsePing(request.claim, request.body));
}

function rejection(request: PingRequest | EraseRequest): PingRejection | undefined {
  const p = parsed(request);
  return p.ok ? undefined : p.rejection;
}

/** The guards shared by every mode: input errors are answered the same whatever the store does. */
const rejectBadInput = [
  { guard: 'isTooLarge', actions: 'answerPayloadTooLarge' },
  { guard: 'isFromUntrustedPeer', actions: 'answerForbidden' },
  { guard: 'isMalformed', actions: 'answerBadRequest' },
] as const;

/**
 * The ping actor: one long-lived actor whose states are its modes, each request an
 * event (an actor per request would cost about half of the per-ping budget: BENCHMARKS.md,
 * `ping`, and the XState probes in `bench/probes/`).
 */
export const pingMachine = setup({
  types: {
    context: {} as PingContext,
    events: {} as PingEvent,
  },
  actions: {
    /** Stores and publishes the ping, then calls `answer` with the store's result (I/O: injected). */
    storePing: (_, _params: { ping: ValidPing; answer: StoreOutcome }) => {},
    /**
     * Erases everything stored for the claim's user (every view, every client, the rate limit),
     * tells every instance, then calls `answer` with the store's result (I/O: injected).
     */
    erasePresence: (_, _params: { userid: string; clientid: string; answer: StoreOutcome }) => {},
    countInFlight: ({ context }) => void context.inFlight++,
    answerBadRequest: ({ event }) => void ('request' in event && event.request.answer(rejection(event.request))),
    answerForbidden: ({ event }) => void ('request' in event && event.request.answer('CLAIM_UNTRUSTED')),
    answerPayloadTooLarge: ({ event }) => void ('request' in event && event.request.answer('BODY_TOO_LARGE')),
    answerStoreUnavailable: ({ event }) => void ('request' in event && event.request.answer('STORE_UNAVAILABLE')),
    answerShuttingDown: ({ event }) => void ('request' in event && event.request.answer('SHUTTING_DOWN')),
  },
  guards: {
    isTooLarge: ({ event }) => 'request' in event && event.request.bodyTooLarge,
    isFromUntrustedPeer: ({ event }) => 'request' in event && !event.request.fromTrustedPeer && event.request.claim !== undefined,
    isMalformed: ({ event }) => 'request' in event && !parsed(event.request).ok,
    isNothingInFlight: ({ context }) => context.inFlight === 0,
  },
}).createMachine({
  id: 'ping',
  // A function, so every actor gets its own counter (an object literal would be shared).
  context: ({ self }) => ({ inFlight: 0, self }),
  initial: 'accepting',
  states: {
    accepting: {
      on: {
        'ping.received': [
          ...rejectBadInput,
          {
            actions: [
              'countInFlight',
              {
                type: 'storePing',
                params: ({ context, event }) => ({
                  ping: parsed(event.request) as ValidPing,
                  answer: answerWhenStored(context, event.request),
                }),
              },
            ],
          },
        ],
        'erase.received': [
          ...rejectBadInput,
          {
            actions: [
              'countInFlight',
              {
                type: 'erasePresence',
                params: ({ context, event }) => {
                  const claim = parsed(event.request) as ValidClaim;
                  return { userid: claim.userid, clientid: claim.clientid, answer: answerWhenStored(context, event.request) };
                },
              },
            ],
          },
        ],
        'store.down': 'degraded',
        shutdown: 'draining',
      },
    },
    degraded: {
      on: {
        'ping.received': [...rejectBadInput, { actions: 'answerStoreUnavailable' }],
        'erase.received': [...rejectBadInput, { actions: 'answerStoreUnavailable' }],
        'store.up': 'accepting',
        shutdown: 'draining',
      },
    },
    draining: {
      always: { guard: 'isNothingInFlight', target: 'drained' },
      on: {
        'ping.received': [...rejectBadInput, { actions: 'answerShuttingDown' }],
        'erase.received': [...rejectBadInput, { actions: 'answerShuttingDown' }],
        'inFlight.answered': { guard: 'isNothingInFlight', target: 'drained' },
      },
    },
    drained: {
      on: {
        'ping.received': [...rejectBadInput, { actions: 'answerShuttingDown' }],
        'erase.received': [...rejectBadInput, { actions: 'answerShuttingDown' }],
      },
    },
  },
});
