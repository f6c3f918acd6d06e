import {
  MAX_BODY_BYTES,
  MAX_ID_BYTES,
  MAX_STATUS_CHARACTERS,
  type PingAnswerCode,
  type PingRejection,
} from '../../machines/ping-request.js';

const ID_RULE = `of at most ${MAX_ID_BYTES} bytes without control characters`;

interface Spec {
  readonly status: number;
  readonly message: string;
}

/** Each code's HTTP status and short plain-text reason. */
const catalogue = {
  CLAIM_MISSING: { status: 400, message: 'missing X-User-Claim header' },
  CLAIM_INVALID_JSON: { status: 400, message: 'X-User-Claim is not valid JSON' },
  CLAIM_NOT_OBJECT: { status: 400, message: 'X-User-Claim must be a JSON object' },
  CLAIM_BAD_USERID: { status: 400, message: `X-User-Claim userid must be a non-empty string ${ID_RULE}` },
  CLAIM_BAD_CLIENTID: { status: 400, message: `X-User-Claim clientid must be a string ${ID_RULE}` },
  CLAIM_DUPLICATE: { status: 400, message: 'more than one X-User-Claim header' },
  BAD_CONTENT_LENGTH: { status: 400, message: 'Content-Length must be a decimal number' },
  CLAIM_UNTRUSTED: { status: 403, message: 'X-User-Claim is only accepted from a trusted proxy' },
  CLAIM_REQUIRED: { status: 401, message: 'WATCH_POLICY=contacts: presence is only shown to a claimed user (X-User-Claim)' },
  NOT_A_CONTACT: { status: 403, message: 'presence is only shown to the user itself and to users who have it as a contact' },
  BODY_INVALID_JSON: { status: 400, message: 'body is not valid JSON' },
  BODY_NOT_OBJECT: { status: 400, message: 'body must be a JSON object' },
  BODY_BAD_STATUS: { status: 400, message: 'status must be a string or a number' },
  STATUS_TOO_LONG: { status: 400, message: `status is longer than ${MAX_STATUS_CHARACTERS} characters` },
  BODY_TOO_LARGE: { status: 413, message: `body is larger than ${MAX_BODY_BYTES} bytes` },
  ID_INVALID: { status: 400, message: `ids must be 1-${MAX_ID_BYTES} bytes of valid percent-encoded UTF-8 without control characters` },
  TOO_MANY_USERS: { status: 400, message: 'too many users in one request' },
  NO_USERS: { status: 400, message: 'at least one user= parameter is required' },
  NOT_FOUND: { status: 404, message: 'not found' },
  NEVER_SEEN: { status: 404, message: 'no ping stored for this user' },
  METHOD_NOT_ALLOWED: { status: 405, message: 'method not allowed' },
  PING_OVERTAKEN: {
    status: 409,
    message: 'a ping of this user received after this one is stored already; this one changed nothing, and needs no retry',
  },
  RATE_LIMITED: { status: 429, message: 'too many pings from this client, retry after the Retry-After seconds' },
  TOO_MANY_STREAMS: { status: 429, message: 'too many open streams for this user, close one or retry later' },
  INTERNAL: { status: 500, message: 'internal error' },
  STORE_UNAVAILABLE: { status: 503, message: 'presence store unavailable, retry' },
  SHUTTING_DOWN: { status: 503, message: 'shutting down, retry' },
  TOO_MANY_CONNECTIONS: { status: 503, message: 'too many open streams, retry' },
  CONTACTS_UNAVAILABLE: { status: 503, message: 'the contact list could not be read from backend-core, retry' },
  WORKER_UNRESPONSIVE: { status: 503, message: 'a worker thread did not answer, retry' },
} as const satisfies Record<string, Spec> &
  // The ping machine names the codes it answers with (machines/ping-request.ts, as machines/
  // imports nothing from src/): each must be here, and each of its rejections must be a 400.
  Record<PingAnswerCode, Spec> &
  Record<PingRejection, Spec & { readonly status: 400 }>;

/** A code of the catalogue; any other string is a type error. */
export type ErrorCode = keyof typeof catalogue;

export interface ErrorSpec {
  readonly code: ErrorCode;
  readonly status: (typeof catalogue)[ErrorCode]['status'];
  readonly message: string;
}

/**
 * The one catalogue of errors the service answers with (Fastify-style): every rejection has a
 * stable code, an HTTP status and a short plain-text reason, so the README's status table (a
 * test holds the two equal), the metrics' `reason` label and the tests all speak of the same things.
 */
export const Errors = Object.freeze(
  Object.fromEntries(Object.entries(catalogue).map(([code, spec]) => [code, Object.freeze({ code, ...spec })])),
) as { readonly [C in ErrorCode]: ErrorSpec & { readonly code: C } };
