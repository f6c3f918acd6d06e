import type { ErrorCodeOf } from '../http/errors.js';
import { MAX_ID_BYTES, MAX_STATUS_CHARACTERS } from '../limits.js';

/**
 * Parsing and validation of `POST /ping`: pure functions the ping machine's guards use.
 * A rejection is a code of the error catalogue (src/http/errors.ts) answered 400 Bad Request.
 */
export type PingRejection = ErrorCodeOf<400>;

export interface ValidPing {
  readonly ok: true;
  readonly userid: string;
  readonly clientid: string;
  readonly status: string;
}

export type ParsedPing = ValidPing | { readonly ok: false; readonly rejection: PingRejection };

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\ufffd]/;

/**
 * An id (user or client) as the API accepts it: 1–256 UTF-8 bytes, no control characters, and no
 * U+FFFD (what undecodable bytes turn into: such an id would silently name another user).
 */
export function isValidId(id: string): boolean {
  return id.length > 0 && Buffer.byteLength(id) <= MAX_ID_BYTES && !CONTROL.test(id) && id.isWellFormed();
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function own(object: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(object, key) ? object[key] : undefined;
}

function reject(rejection: PingRejection): ParsedPing {
  return { ok: false, rejection };
}

/**
 * `claim` is the X-User-Claim header (undefined when absent); `body` the request body decoded
 * as UTF-8, or null when it was not valid UTF-8.
 */
export function parsePing(claim: string | undefined, body: string | null): ParsedPing {
  if (claim === undefined || claim === '') return reject('CLAIM_MISSING');
  const parsedClaim = parseJson(claim);
  if (!parsedClaim.ok) return reject('CLAIM_INVALID_JSON');
  if (!isObject(parsedClaim.value)) return reject('CLAIM_NOT_OBJECT');
  const userid = own(parsedClaim.value, 'userid');
  if (typeof userid !== 'string' || !isValidId(userid)) return reject('CLAIM_BAD_USERID');
  const clientid = own(parsedClaim.value, 'clientid') ?? '';
  if (typeof clientid !== 'string' || (clientid !== '' && !isValidId(clientid))) return reject('CLAIM_BAD_CLIENTID');

  if (body === null) return reject('BODY_INVALID_JSON');
  if (body.trim() === '') return { ok: true, userid, clientid, status: '' };
  const parsedBody = parseJson(body);
  if (!parsedBody.ok) return reject('BODY_INVALID_JSON');
  if (!isObject(parsedBody.value)) return reject('BODY_NOT_OBJECT');
  const raw = own(parsedBody.value, 'status') ?? '';
  if (typeof raw !== 'string' && (typeof raw !== 'number' || !Number.isFinite(raw))) return reject('BODY_BAD_STATUS');
  // Redis stores UTF-8: a lone surrogate would come back as U+FFFD, so store what will be read.
  const status = typeof raw === 'number' ? String(raw) : raw.toWellFormed();
  if (status.length > MAX_STATUS_CHARACTERS && [...status].length > MAX_STATUS_CHARACTERS) return reject('STATUS_TOO_LONG');
  return { ok: true, userid, clientid, status };
}
