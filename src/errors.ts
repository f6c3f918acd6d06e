/**
 * The one catalogue of errors the service answers with (Fastify-style): every
 * rejection has a stable code, an HTTP status and a short plain-text reason, so
 * the README's status table, the metrics' `reason` label and the tests all
 * speak of the same things.
 */
export interface ErrorSpec {
  readonly code: string;
  readonly status: number;
  readonly message: string;
}

function spec(code: string, status: number, message: string): ErrorSpec {
  return Object.freeze({ code, status, message });
}

export const Errors = Object.freeze({
  CLAIM_MISSING: spec('CLAIM_MISSING', 400, 'missing X-User-Claim header'),
  CLAIM_INVALID_JSON: spec('CLAIM_INVALID_JSON', 400, 'X-User-Claim is not valid JSON'),
  CLAIM_NOT_OBJECT: spec('CLAIM_NOT_OBJECT', 400, 'X-User-Claim must be a JSON object'),
  CLAIM_BAD_USERID: spec('CLAIM_BAD_USERID', 400, 'X-User-Claim userid must be a non-empty string of at most 256 bytes without control characters'),
  CLAIM_BAD_CLIENTID: spec('CLAIM_BAD_CLIENTID', 400, 'X-User-Claim clientid must be a string of at most 256 bytes without control characters'),
  CLAIM_DUPLICATE: spec('CLAIM_DUPLICATE', 400, 'more than one X-User-Claim header'),
  BAD_CONTENT_LENGTH: spec('BAD_CONTENT_LENGTH', 400, 'Content-Length must be a decimal number'),
  CLAIM_UNTRUSTED: spec('CLAIM_UNTRUSTED', 403, 'X-User-Claim is only accepted from a trusted proxy'),
  BODY_INVALID_JSON: spec('BODY_INVALID_JSON', 400, 'body is not valid JSON'),
  BODY_NOT_OBJECT: spec('BODY_NOT_OBJECT', 400, 'body must be a JSON object'),
  BODY_BAD_STATUS: spec('BODY_BAD_STATUS', 400, 'status must be a string or a number'),
  STATUS_TOO_LONG: spec('STATUS_TOO_LONG', 400, 'status is longer than 256 characters'),
  BODY_TOO_LARGE: spec('BODY_TOO_LARGE', 413, 'body is larger than 4096 bytes'),
  ID_INVALID: spec('ID_INVALID', 400, 'ids must be 1-256 bytes of valid percent-encoded UTF-8 without control characters'),
  TOO_MANY_USERS: spec('TOO_MANY_USERS', 400, 'too many users in one request'),
  NO_USERS: spec('NO_USERS', 400, 'at least one user= parameter is required'),
  NOT_FOUND: spec('NOT_FOUND', 404, 'not found'),
  NEVER_SEEN: spec('NEVER_SEEN', 404, 'no ping stored for this user'),
  METHOD_NOT_ALLOWED: spec('METHOD_NOT_ALLOWED', 405, 'method not allowed'),
  RATE_LIMITED: spec('RATE_LIMITED', 429, 'too many pings from this client, retry after the Retry-After seconds'),
  TOO_MANY_STREAMS: spec('TOO_MANY_STREAMS', 429, 'too many open streams for this user, close one or retry later'),
  INTERNAL: spec('INTERNAL', 500, 'internal error'),
  STORE_UNAVAILABLE: spec('STORE_UNAVAILABLE', 503, 'presence store unavailable, retry'),
  SHUTTING_DOWN: spec('SHUTTING_DOWN', 503, 'shutting down, retry'),
  TOO_MANY_CONNECTIONS: spec('TOO_MANY_CONNECTIONS', 503, 'too many open streams, retry'),
});

export type ErrorCode = keyof typeof Errors;

/** An ErrorSpec thrown or returned as a value; `instanceof` tells ours from bugs. */
export class HeartbeatError extends Error {
  readonly code: string;
  readonly status: number;
  constructor(readonly spec: ErrorSpec, detail?: string) {
    super(detail ? `${spec.message}: ${detail}` : spec.message);
    this.name = 'HeartbeatError';
    this.code = spec.code;
    this.status = spec.status;
  }
}

/** A configuration value that cannot be used; the message names the variable and its accepted forms. */
export class ConfigError extends Error {
  constructor(readonly variable: string, value: string, accepted: string) {
    super(`invalid ${variable}=${JSON.stringify(value)}: expected ${accepted}`);
    this.name = 'ConfigError';
  }
}

/** The presence store could not take or answer a command (Redis away, timeout). */
export class StoreUnavailableError extends Error {
  constructor(cause?: unknown) {
    super('presence store unavailable', { cause });
    this.name = 'StoreUnavailableError';
  }
}
