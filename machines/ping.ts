import { setup } from 'xstate';
import { parsePing, type ParsedPing, type PingRejection, type ValidPing } from './ping-request.js';

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
  readonly headerRejection?: 'BAD_CONTENT_LENGTH' | 'CLAIM_DUPLICATE';
  /** The peer is a trusted proxy (TRUSTED_PROXIES) and may speak for a user. */
  readonly fromTrustedPeer: boolean;
  /**
   * Answers the request once (the edge ignores a second call and calls after abort);
   * `retryAfterSeconds` with a 429.
   */
  readonly answer: (status: 200 | 400 | 403 | 413 | 429 | 503, code?: string, retryAfterSeconds?: number) => void;
  /** Parsed once, on first use by a guard. */
  parsed?: ParsedPing;
}

export type PingEvent =
  | { type: 'ping.received'; request: PingRequest }
  | { type: 'ping.stored'; request: PingRequest }
  | { type: 'ping.failed'; request: PingRequest }
  /** The store refused the ping: its client is over PING_RATE (nothing stored or published). */
  | { type: 'ping.limited'; request: PingRequest; retryAfterSeconds: number }
  | { type: 'store.down' }
  | { type: 'store.up' }
  | { type: 'shutdown' };

export interface PingContext {
  /** Pings handed to the store and not yet answered (the draining state waits for them). */
  inFlight: number;
}

function parsed(request: PingRequest): ParsedPing {
  return (request.parsed ??= request.headerRejection
    ? { ok: false, rejection: request.headerRejection }
    : parsePing(request.claim, request.body));
}

function rejection(request: PingRequest): PingRejection | undefined {
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
 * The ping pipeline: one long-lived actor whose states are the pipeline's mode, each request an
 * event (an actor per request would cost about half of the per-ping budget: BENCHMARKS.md,
 * `ping`, and the XState probes in `bench/probes/`).
 */
export const pingMachine = setup({
  types: {
    context: {} as PingContext,
    events: {} as PingEvent,
  },
  actions: {
    /** Stores and publishes the ping; reports ping.stored or ping.failed back (I/O: injected). */
    storePing: (_, _params: { request: PingRequest; ping: ValidPing }) => {},
    countInFlight: ({ context }) => void context.inFlight++,
    countAnswered: ({ context }) => void context.inFlight--,
    answerStored: ({ event }) => void ('request' in event && event.request.answer(200)),
    answerBadRequest: ({ event }) => void ('request' in event && event.request.answer(400, rejection(event.request))),
    answerForbidden: ({ event }) => void ('request' in event && event.request.answer(403, 'CLAIM_UNTRUSTED')),
    answerPayloadTooLarge: ({ event }) => void ('request' in event && event.request.answer(413, 'BODY_TOO_LARGE')),
    answerRateLimited: ({ event }) =>
      void (event.type === 'ping.limited' && event.request.answer(429, 'RATE_LIMITED', event.retryAfterSeconds)),
    answerStoreUnavailable: ({ event }) => void ('request' in event && event.request.answer(503, 'STORE_UNAVAILABLE')),
    answerShuttingDown: ({ event }) => void ('request' in event && event.request.answer(503, 'SHUTTING_DOWN')),
  },
  guards: {
    isTooLarge: ({ event }) => 'request' in event && event.request.bodyTooLarge,
    isFromUntrustedPeer: ({ event }) =>
      'request' in event && !event.request.fromTrustedPeer && event.request.claim !== undefined,
    isMalformed: ({ event }) => 'request' in event && !parsed(event.request).ok,
    isNothingInFlight: ({ context }) => context.inFlight === 0,
  },
}).createMachine({
  id: 'ping',
  // A function, so every actor gets its own counter (an object literal would be shared).
  context: () => ({ inFlight: 0 }),
  initial: 'accepting',
  on: {
    // Answers to pings stored before a mode change still arrive, in every state.
    'ping.stored': { actions: ['countAnswered', 'answerStored'] },
    'ping.failed': { actions: ['countAnswered', 'answerStoreUnavailable'] },
    'ping.limited': { actions: ['countAnswered', 'answerRateLimited'] },
  },
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
                params: ({ event }) => ({ request: event.request, ping: parsed(event.request) as ValidPing }),
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
        'store.up': 'accepting',
        shutdown: 'draining',
      },
    },
    draining: {
      always: { guard: 'isNothingInFlight', target: 'drained' },
      on: {
        'ping.received': [...rejectBadInput, { actions: 'answerShuttingDown' }],
      },
    },
    drained: {
      on: {
        'ping.received': [...rejectBadInput, { actions: 'answerShuttingDown' }],
      },
    },
  },
});
