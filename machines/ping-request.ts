/**
 * What the ping machine judges a `POST /ping` by: the codes it answers with, the API's fixed
 * limits, and the parsing its guards apply. Pure, and beside the machine: machines/ imports
 * nothing from src/. The error catalogue (src/http/errors.ts) gives every code here its HTTP
 * status and reason, quotes these limits in its messages, and fails to compile when it lacks a
 * code named here or answers a rejection with anything but 400.
 */

/** A user or client id: at most this many UTF-8 bytes. */
export const MAX_ID_BYTES = 256;

/** A ping's status: at most this many characters (code points). */
export const MAX_STATUS_CHARACTERS = 256;

/** A `POST /ping` body: at most this many bytes. */
export const MAX_BODY_BYTES = 4096;

/** A problem only the whole header list shows, found by the HTTP edge: answered 400. */
export type HeaderRejection = 'BAD_CONTENT_LENGTH' | 'CLAIM_DUPLICATE';

/** Why a ping is malformed: answered 400 Bad Request. */
export type PingRejection =
  | HeaderRejection
  | 'CLAIM_MISSING'
  | 'CLAIM_INVALID_JSON'
  | 'CLAIM_NOT_OBJECT'
  | 'CLAIM_BAD_USERID'
  | 'CLAIM_BAD_CLIENTID'
  | 'BODY_INVALID_JSON'
  | 'BODY_NOT_OBJECT'
  | 'BODY_BAD_STATUS'
  | 'STATUS_TOO_LONG';

/** Every code the ping machine answers with (no code: 200, stored). */
export type PingAnswerCode =
  PingRejection | 'CLAIM_UNTRUSTED' | 'BODY_TOO_LARGE' | 'RATE_LIMITED' | 'PING_OVERTAKEN' | 'STORE_UNAVAILABLE' | 'SHUTTING_DOWN';

export interface ValidPing {
  readonly ok: true;
  readonly userid: string;
  readonly clientid: string;
  readonly status: string;
}

export type ParsedPing = ValidPing | { readonly ok: false; readonly rejection: PingRejection };

/** The user and client an X-User-Claim names (a `DELETE /ping` needs nothing else). */
export interface ValidClaim {
  readonly ok: true;
  readonly userid: string;
  readonly clientid: string;
}

export type ParsedClaim = ValidClaim | { readonly ok: false; readonly rejection: PingRejection };

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

function reject(rejection: PingRejection): { readonly ok: false; readonly rejection: PingRejection } {
  return { ok: false, rejection };
}

/** The X-User-Claim header (undefined when absent) as the user and client it names, or why not. */
export function parseClaim(claim: string | undefined): ParsedClaim {
  if (claim === undefined || claim === '') return reject('CLAIM_MISSING');
  const parsedClaim = parseJson(claim);
  if (!parsedClaim.ok) return reject('CLAIM_INVALID_JSON');
  if (!isObject(parsedClaim.value)) return reject('CLAIM_NOT_OBJECT');
  const userid = own(parsedClaim.value, 'userid');
  if (typeof userid !== 'string' || !isValidId(userid)) return reject('CLAIM_BAD_USERID');
  const clientid = own(parsedClaim.value, 'clientid') ?? '';
  if (typeof clientid !== 'string' || (clientid !== '' && !isValidId(clientid))) return reject('CLAIM_BAD_CLIENTID');
  return { ok: true, userid, clientid };
}

/**
 * `claim` is the X-User-Claim header (undefined when absent); `body` the request body decoded
 * as UTF-8, or null when it was not valid UTF-8.
 */
export function parsePing(claim: string | undefined, body: string | null): ParsedPing {
  const parsedClaim = parseClaim(claim);
  if (!parsedClaim.ok) return parsedClaim;
  const { userid, clientid } = parsedClaim;
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
