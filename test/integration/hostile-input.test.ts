import test from 'ava';
import fc from 'fast-check';
import assert from 'node:assert/strict';
import { isUtf8 } from 'node:buffer';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { startStore, type TestStore } from '../support/stores.js';
import { request, send, type Piece, type RawOptions, type RawResult } from '../support/raw-http.js';
import { startService, type ServiceProcess } from '../support/service.js';
import { codeOf } from '../support/error-answer.js';

/**
 * Property-based hostile input against the real service (a real process, a private redis-server,
 * raw sockets). Whatever arrives, the answer is a 4xx (or, for broken HTTP framing, a closed or
 * silently held connection), nothing is stored, the process survives, and the next good request
 * works. "Nothing is stored" is checked three ways: the global sequence key (every save bumps it)
 * and the key count are unchanged, and a sentinel user's /lastseen answer is byte-for-byte the same
 * (hostile pings claim to be the sentinel, so a wrongly accepted one would show there).
 *
 * Tests are serial: the store oracle is global. The framing test runs first and leaves the
 * connections uWS holds open to the last test, which waits for the server to close them.
 */

let store: TestStore;
let service: ServiceProcess;
let redis: Redis;

const SEQ_KEY = 'heartbeat:seq';
const SENTINEL = `sentinel-${randomUUID()}`;
let sentinelSeen = '';
/** Users a test legitimately pinged: their /lastseen is 200, everyone else's 404. */
const stored = new Set<string>();
/** Connections uWS neither answered nor closed; the last test waits for their close. */
const held: { label: string; closed: Promise<number | null>; received: () => Buffer }[] = [];

test.before(async () => {
  store = await startStore('redis');
  // Every status is an ordinary one here: a generated status "3" (invisible by default) would be
  // stored apart from the public view these tests read back (invisibility has tests of its own).
  service = await startService({ REDIS: store.redis, INVISIBLE_STATUSES: '' });
  redis = new Redis(store.server!.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  const res = await fetch(`${service.url}/ping`, {
    method: 'POST',
    headers: { 'X-User-Claim': JSON.stringify({ userid: SENTINEL, clientid: 'sentinel' }) },
    body: JSON.stringify({ status: 'the sentinel status' }),
  });
  if (res.status !== 200) throw new Error(`sentinel ping answered ${res.status}`);
  sentinelSeen = await (await fetch(`${service.url}/lastseen/${SENTINEL}`)).text();
  // The oracle would be blind if saves stopped bumping this key.
  if ((await redis.get(SEQ_KEY)) === null) throw new Error(`${SEQ_KEY} is not set after a ping`);
  stored.add(SENTINEL);
});

test.after.always(async () => {
  redis?.disconnect();
  await service?.stop();
  await store?.close();
});

// ---------------------------------------------------------------------------------------------
// Oracles and helpers

/** JSON with every non-ASCII char escaped, so it is a clean header value (as dev-auth sends it). */
function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

const sentinelClaim = asciiJson({ userid: SENTINEL, clientid: 'hostile' });

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** The API's id rule: 1–256 UTF-8 bytes, no control characters, well-formed. */
function isValidId(id: string): boolean {
  return id.length > 0 && Buffer.byteLength(id) <= 256 && !CONTROL.test(id) && id.isWellFormed();
}

/** A path segment or query value as the API reads it: URL-decoded and valid, else null. */
function idOf(raw: string): string | null {
  try {
    const id = decodeURIComponent(raw);
    return isValidId(id) ? id : null;
  } catch {
    return null;
  }
}

type Verdict = { ok: true; status: string } | { ok: false; http: 400 | 413; message: RegExp };

/** The catalogue code each kind of refusal must name (the answer's JSON `code`). */
const MESSAGE = {
  invalidJson: /^BODY_INVALID_JSON$/,
  notObject: /^BODY_NOT_OBJECT$/,
  badStatus: /^BODY_BAD_STATUS$/,
  tooLong: /^STATUS_TOO_LONG$/,
  tooLarge: /^BODY_TOO_LARGE$/,
  claim: /^CLAIM_/,
  badUserid: /^CLAIM_BAD_USERID$/,
  badClientid: /^CLAIM_BAD_CLIENTID$/,
  id: /^ID_INVALID$/,
};

/** What the README says a ping body means (decoded as UTF-8 the way TextDecoder does it). */
function bodyVerdict(bytes: Buffer): Verdict {
  const bad = (message: RegExp): Verdict => ({ ok: false, http: 400, message });
  if (bytes.length > 4096) return { ok: false, http: 413, message: MESSAGE.tooLarge };
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return bad(MESSAGE.invalidJson);
  }
  if (text.trim() === '') return { ok: true, status: '' };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return bad(MESSAGE.invalidJson);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return bad(MESSAGE.notObject);
  const raw = (Object.hasOwn(value, 'status') ? (value as Record<string, unknown>).status : undefined) ?? '';
  if (typeof raw !== 'string' && typeof raw !== 'number') return bad(MESSAGE.badStatus);
  const status = String(raw);
  if ([...status].length > 256) return bad(MESSAGE.tooLong);
  return { ok: true, status };
}

function ping(headers: Record<string, string | number>, body: string | Uint8Array = ''): Buffer {
  const bytes = typeof body === 'string' ? Buffer.from(body) : Buffer.from(body);
  return request('POST', '/ping', { ...headers, 'Content-Length': bytes.length }, bytes);
}

function raw(pieces: Piece | Piece[], options: Partial<RawOptions> = {}): Promise<RawResult> {
  return send({ port: service.port, timeoutMs: 3_000, ...options }, pieces);
}

interface Mark {
  seq: string | null;
  keys: number;
  sentinel: string;
}

async function mark(): Promise<Mark> {
  const [seq, keys, sentinel] = await Promise.all([
    redis.get(SEQ_KEY),
    redis.dbsize(),
    fetch(`${service.url}/lastseen/${SENTINEL}`).then((r) => r.text()),
  ]);
  return { seq, keys, sentinel };
}

async function assertNothingStored(before: Mark, what: string): Promise<void> {
  const after = await mark();
  assert.equal(after.sentinel, sentinelSeen, `${what}: the sentinel's last ping changed`);
  assert.deepEqual(after, before, `${what}: the store changed`);
}

function assertAlive(): void {
  assert.equal(service.child.exitCode, null, 'the service exited');
  assert.equal(service.child.signalCode, null, 'the service was killed');
}

let goodCount = 0;
/** A valid ping gets 200 and is readable via /lastseen: the service still works. */
async function assertGoodPingWorks(): Promise<void> {
  const userid = `good-${randomUUID()}`;
  const status = `ok-${++goodCount}`;
  const res = await raw(ping({ 'X-User-Claim': asciiJson({ userid, clientid: 'good' }) }, JSON.stringify({ status })));
  assert.equal(res.kind === 'response' && res.status, 200, `a good ping after hostile input: ${describe(res)}`);
  stored.add(userid);
  const seen = await fetch(`${service.url}/lastseen/${userid}`);
  assert.equal(seen.status, 200);
  assert.equal(((await seen.json()) as { status: string }).status, status);
}

/** Makes fast-check print a case by its label (a case holds request bytes). */
function labelled<T extends { label: string }>(c: T): T {
  return Object.assign(c, { [fc.toStringMethod]: () => JSON.stringify(c.label) });
}

/**
 * No shrinking: once a hostile request wrongly stored something, every later run fails too, and
 * shrinking would report the simplest of those instead of the one that did it.
 */
const REPORT = { includeErrorInReport: true, endOnFailure: true } as const;

function describe(res: RawResult): string {
  if (res.kind === 'response') return `${res.status} ${JSON.stringify(res.body.toString('latin1').slice(0, 120))}`;
  return `${res.kind} ${JSON.stringify(res.partial.toString('latin1').slice(0, 120))}`;
}

function assertAnswer(
  res: RawResult,
  status: number,
  message: RegExp | undefined,
  what: string,
): asserts res is Extract<RawResult, { kind: 'response' }> {
  assert.equal(res.kind, 'response', `${what}: expected ${status}, got ${describe(res)}`);
  assert.equal(res.status, status, `${what}: expected ${status}, got ${describe(res)}`);
  if (message) assert.match(codeOf(res), message, `${what}: ${describe(res)}`);
}

/** One property run's epilogue: nothing stored, still alive, a good request still works. */
async function afterHostile(before: Mark, what: string): Promise<void> {
  await assertNothingStored(before, what);
  assertAlive();
  await assertGoodPingWorks();
}

/** Header-safe characters: what a proxy may forward (latin1 bytes, no CR/LF/NUL/controls). */
const headerChar = fc
  .oneof(fc.integer({ min: 0x20, max: 0x7e }), fc.constant(0x09), fc.integer({ min: 0xa0, max: 0xff }))
  .map((c) => String.fromCharCode(c));

const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c));
const controlChar = fc.oneof(fc.integer({ min: 0, max: 0x1f }), fc.integer({ min: 0x7f, max: 0x9f })).map((c) => String.fromCharCode(c));
const anyText = fc.string({ unit: 'binary', maxLength: 20 });

const hostileStatus = fc.string({ unit: 'grapheme-ascii', maxLength: 30 }).map((s) => `hostile-${s}`);

// ---------------------------------------------------------------------------------------------
// 1. Broken HTTP framing (first: the connections uWS holds are checked by the last test)

interface FramingCase {
  label: string;
  pieces: Piece[];
  /**
   * An exact answer, or only "never 2xx" (4xx, closed, or held open without an answer). With
   * `orNextRefused`, uWebSockets.js's own refusal of the bytes left after the request is accepted
   * instead: v20.51 parses them as the next request at once, and when they look like a request
   * line of another HTTP version its 505 (or a 400) goes out ahead of the corked answer, and the
   * connection closes.
   */
  expect: { status: number; message: RegExp; orNextRefused?: true } | 'no-2xx';
}

/** An error page uWebSockets.js writes itself (4xx or 505, its name in the body), not heartbeat. */
const isUwsRefusal = (res: RawResult) =>
  res.kind === 'response' &&
  ((res.status >= 400 && res.status < 500) || res.status === 505) &&
  res.body.toString('latin1').includes('uWebSockets');

const pingHead = (headers: [string, string][]) =>
  request('POST', '/ping', [['Host', 'localhost'], ['X-User-Claim', sentinelClaim], ...headers]);
const chunk = (bytes: Buffer) => Buffer.concat([Buffer.from(`${bytes.length.toString(16)}\r\n`), bytes, Buffer.from('\r\n')]);

/**
 * Requests whose framing is broken. Those a mis-parse could turn into a stored ping carry a valid
 * body claiming the sentinel (a 2xx would store it); those that are merely unsupported by uWS
 * (HTTP/1.0, bare LF, many headers) carry an invalid body, so that accepting them stays a 4xx.
 */
const framingCase: fc.Arbitrary<FramingCase> = fc
  .oneof(
    // Content-Length longer than the body: the server waits for bytes that never come.
    fc.tuple(hostileStatus, fc.integer({ min: 1, max: 5000 })).map(([status, extra]) => {
      const body = Buffer.from(JSON.stringify({ status }));
      return {
        label: `Content-Length ${body.length + extra} > ${body.length}`,
        pieces: [pingHead([['Content-Length', String(body.length + extra)]]), body],
        expect: 'no-2xx' as const,
      };
    }),
    // Content-Length shorter than the body: the prefix is read as the body (never valid JSON here).
    hostileStatus.chain((status) => {
      const body = Buffer.from(JSON.stringify({ status }));
      return fc.integer({ min: 1, max: body.length - 1 }).map((cl) => ({
        label: `Content-Length ${cl} < ${body.length}`,
        pieces: [pingHead([['Content-Length', String(cl)]]), body],
        expect: { status: 400, message: MESSAGE.invalidJson, orNextRefused: true as const },
      }));
    }),
    // A Content-Length that is not a number (an empty one is left out: see the report).
    fc
      .oneof(
        fc.constantFrom('abc', '-1', '1e3', '0x10', '+5', '99999999999999999999', '0abc', '5a', '0 0', '1,1', '14,14'),
        // uWS trims spaces, tabs and every byte >= 0x80 off a header value, and takes a
        // Content-Length left empty as 0 (see the report): only values with a visible non-digit.
        fc.string({ unit: headerChar, minLength: 1, maxLength: 12 }).filter((v) => /[!-/:-~]/.test(v)),
      )
      .chain((cl) =>
        hostileStatus.map((status) => ({
          label: `Content-Length ${JSON.stringify(cl)}`,
          pieces: [pingHead([['Content-Length', cl]]), Buffer.from(JSON.stringify({ status }))],
          expect: 'no-2xx' as const,
        })),
      ),
    // A chunked body that never ends: some chunks of a valid body, then nothing.
    hostileStatus.chain((status) => {
      const body = Buffer.from(JSON.stringify({ status }));
      return fc.array(fc.integer({ min: 1, max: body.length }), { minLength: 1, maxLength: 4 }).map((cuts) => {
        const ends = [...new Set(cuts)].sort((a, b) => a - b);
        const pieces: Piece[] = [pingHead([['Transfer-Encoding', 'chunked']])];
        let from = 0;
        for (const end of ends) {
          if (end > from) pieces.push(chunk(body.subarray(from, end)));
          from = end;
        }
        return { label: `chunked body cut into ${ends.join(',')} of ${body.length}, never terminated`, pieces, expect: 'no-2xx' as const };
      });
    }),
    // A malformed chunk size, followed by a complete valid body and terminator.
    fc
      .tuple(
        fc.oneof(
          fc.constantFrom('zz', '-5', 'ffffffff', 'ffffffffffffffffffff', '0x5', 'g', '1 1', '+e'),
          fc.stringMatching(/^[g-z!#$%&*+.^_|~-]{1,6}$/),
        ),
        hostileStatus,
      )
      .map(([size, status]) => {
        const body = Buffer.from(JSON.stringify({ status }));
        return {
          label: `chunk size ${JSON.stringify(size)}`,
          pieces: [pingHead([['Transfer-Encoding', 'chunked']]), `${size}\r\n`, body, '\r\n0\r\n\r\n'],
          expect: 'no-2xx' as const,
        };
      }),
    // Content-Length and Transfer-Encoding together, the body sent plain: only a server that
    // believes Content-Length over chunked would store it (the request-smuggling setup).
    fc.tuple(hostileStatus, fc.boolean()).map(([status, teFirst]) => {
      const body = Buffer.from(JSON.stringify({ status }));
      const cl: [string, string] = ['Content-Length', String(body.length)];
      const te: [string, string] = ['Transfer-Encoding', 'chunked'];
      return {
        label: `Content-Length + Transfer-Encoding (${teFirst ? 'TE' : 'CL'} first)`,
        pieces: [pingHead(teFirst ? [te, cl] : [cl, te]), body],
        expect: 'no-2xx' as const,
      };
    }),
    // A transfer coding other than chunked, the body sent plain.
    fc
      .tuple(
        fc.constantFrom('gzip', 'chunked, gzip', 'gzip, chunked', 'identity', 'xchunked', 'chunked;q=1', 'deflate', 'compress'),
        hostileStatus,
      )
      .map(([coding, status]) => ({
        label: `Transfer-Encoding: ${coding}`,
        pieces: [pingHead([['Transfer-Encoding', coding]]), Buffer.from(JSON.stringify({ status }))],
        expect: 'no-2xx' as const,
      })),
    // Random bytes as a request.
    fc.uint8Array({ minLength: 1, maxLength: 300 }).map((bytes) => ({
      label: `garbage ${Buffer.from(bytes).toString('hex').slice(0, 40)}`,
      pieces: [Buffer.from(bytes), '\r\n\r\n'],
      expect: 'no-2xx' as const,
    })),
    // Unsupported or broken request lines (invalid body: accepting them must still be a 4xx; uWS
    // answers those that are not HTTP/1.1 with 505).
    fc.constantFrom('HTTP/1.0', 'HTTP/1.2', 'HTTP/2.0', 'http/1.1', 'HTTP/1.1 x', 'HTTP/1', 'HTTP/11', 'HTTX/1.1').chain((version) =>
      fc.constantFrom('/ping', 'ping', 'http://localhost/ping', '*', '/ping /ping').map((target) => {
        const body = '{"status":false}';
        return {
          label: `request line POST ${target} ${version}`,
          pieces: [
            `POST ${target} ${version}\r\nHost: localhost\r\nX-User-Claim: ${sentinelClaim}\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
          ],
          expect: 'no-2xx' as const,
        };
      }),
    ),
    // Bare LF line endings, header lines without a colon, obs-fold, space before the colon.
    fc.constantFrom('\n', 'nocolon', 'fold', 'space').map((kind) => {
      const body = '{"status":[]}';
      const lines = ['POST /ping HTTP/1.1', 'Host: localhost', `X-User-Claim: ${sentinelClaim}`, `Content-Length: ${body.length}`];
      if (kind === 'nocolon') lines.push('X-Broken header');
      if (kind === 'fold') lines.push('X-Folded: a', ' b');
      if (kind === 'space') lines.push('X-Space : a');
      const eol = kind === '\n' ? '\n' : '\r\n';
      return { label: `header lines: ${JSON.stringify(kind)}`, pieces: [lines.join(eol) + eol + eol + body], expect: 'no-2xx' as const };
    }),
    // A control character inside a header value.
    fc
      .tuple(
        fc.integer({ min: 0, max: 0x1f }).filter((c) => c !== 0x09 && c !== 0x0a && c !== 0x0d),
        fc.nat({ max: sentinelClaim.length }),
      )
      .map(([c, at]) => ({
        label: `control 0x${c.toString(16)} in X-User-Claim at ${at}`,
        pieces: [ping({ 'X-User-Claim': sentinelClaim.slice(0, at) + String.fromCharCode(c) + sentinelClaim.slice(at) }, '{"status":"x"}')],
        expect: 'no-2xx' as const,
      })),
    // More headers than uWS parses (it holds the connection without answering past 48).
    fc.integer({ min: 49, max: 120 }).map((n) => ({
      label: `${n} headers`,
      pieces: [
        ping(
          { 'X-User-Claim': sentinelClaim, ...Object.fromEntries(Array.from({ length: n - 3 }, (_, i) => [`X-Filler-${i}`, 'v'])) },
          '{"status":1.5e3,"x":',
        ),
      ],
      expect: 'no-2xx' as const,
    })),
    // A header larger than uWS buffers (somewhere between 100 and 130 KB).
    fc.integer({ min: 140_000, max: 600_000 }).map((n) => ({
      label: `one ${n}-byte header`,
      pieces: [ping({ 'X-User-Claim': sentinelClaim, 'X-Huge': 'h'.repeat(n) }, '{"status":{}}')],
      expect: 'no-2xx' as const,
    })),
  )
  .map(labelled);

test.serial('broken HTTP framing is never answered 2xx and stores nothing', async (t) => {
  let answered = 0;
  let nextRefused = 0;
  let closed = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(framingCase, { minLength: 10, maxLength: 10 }), async (cases) => {
      const before = await mark();
      const results = await Promise.all(
        cases.map((c) =>
          raw(c.pieces, c.expect === 'no-2xx' ? { timeoutMs: 400, keepOnTimeout: true, maxHoldMs: 30_000 } : { timeoutMs: 3_000 }),
        ),
      );
      results.forEach((res, i) => {
        const c = cases[i];
        if (c.expect !== 'no-2xx') {
          if (c.expect.orNextRefused && isUwsRefusal(res)) return void nextRefused++;
          return assertAnswer(res, c.expect.status, c.expect.message, c.label);
        }
        if (res.kind === 'response') {
          answered++;
          // 505 is uWebSockets.js's own answer (v20.51) to a request line that is not HTTP/1.1.
          assert.ok(
            (res.status >= 400 && res.status < 500) || res.status === 505,
            `${c.label}: expected a 4xx or 505, a close or no answer, got ${describe(res)}`,
          );
        } else if (res.kind === 'closed') closed++;
        else held.push({ label: c.label, closed: res.closed!, received: res.received! });
      });
      await afterHostile(before, cases.map((c) => c.label).join('; '));
    }),
    { numRuns: 15, ...REPORT },
  );
  t.log(`${answered} answered 4xx or 505, ${closed} closed at once, ${held.length} held open without an answer`);
  t.log(`${nextRefused} requests with bytes past their Content-Length were refused by uWS as the next request`);
  t.pass();
});

// ---------------------------------------------------------------------------------------------
// 2. Claims

/**
 * A claim that parses to an object (and so reaches the userid check): excluded from "not JSON /
 * not an object". uWS trims spaces, tabs and bytes >= 0x80 off both ends of a header value.
 */
function isClaimObject(text: string): boolean {
  for (const candidate of [text, text.trim(), text.replace(/^[\t \x80-\xff]+|[\t \x80-\xff]+$/g, '')]) {
    try {
      const value: unknown = JSON.parse(candidate);
      if (typeof value === 'object' && value !== null && !Array.isArray(value)) return true;
    } catch {
      // not JSON
    }
  }
  return false;
}

const badUserid = fc.oneof(
  fc.constant(undefined),
  fc.jsonValue({ maxDepth: 2 }).filter((v) => typeof v !== 'string'),
  fc.constant(''),
  fc.integer({ min: 257, max: 3000 }).map((n) => 'u'.repeat(n)),
  fc.constantFrom('\u00e9'.repeat(129), '\u{1F600}'.repeat(65), '\u20ac'.repeat(86)),
  fc.tuple(anyText, controlChar, anyText).map((p) => p.join('')),
  fc.tuple(anyText, loneSurrogate, anyText).map((p) => p.join('')),
);

const badClientid = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }).filter((v) => typeof v !== 'string' && v !== null),
  fc.integer({ min: 257, max: 3000 }).map((n) => 'c'.repeat(n)),
  fc.constantFrom('\u00e9'.repeat(129), '\u{1F600}'.repeat(65)),
  fc.tuple(anyText, controlChar, anyText).map((p) => p.join('')),
  fc.tuple(anyText, loneSurrogate, anyText).map((p) => p.join('')),
);

const junkEntries = fc.array(
  fc.tuple(
    fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'extra', 'userId', 'USERID'),
    fc.jsonValue({ maxDepth: 2 }),
  ),
  { maxLength: 3 },
);

interface ClaimCase {
  label: string;
  claim: string;
  message: RegExp;
  /** A valid userid the rejected claim named: it must have nothing stored. */
  userid?: string;
}

const claimCase: fc.Arbitrary<ClaimCase> = fc
  .oneof(
    // Not JSON, or JSON that is not an object (raw header text, latin1 bytes included).
    fc
      .oneof(
        fc.string({ unit: headerChar, maxLength: 300 }),
        fc.jsonValue({ maxDepth: 3 }).map(asciiJson),
        fc.constantFrom(
          '',
          ' ',
          '{',
          '{"userid":',
          '{"userid":"x"',
          '[{"userid":"x"}]',
          'null',
          '"{\\"userid\\":\\"x\\"}"',
          '{userid:"x"}',
          "{'userid':'x'}",
        ),
      )
      .filter((text) => !isClaimObject(text))
      .map((claim) => ({ label: `claim ${JSON.stringify(claim).slice(0, 80)}`, claim, message: MESSAGE.claim })),
    // An object whose userid is missing, not a string, empty, too long, with controls or lone surrogates.
    fc.tuple(badUserid, junkEntries).map(([userid, junk]) => {
      const entries: [string, unknown][] = [...junk, ['clientid', 'c']];
      if (userid !== undefined) entries.push(['userid', userid]);
      const claim = asciiJson(Object.fromEntries(entries));
      return { label: `claim ${claim.slice(0, 80)}`, claim, message: MESSAGE.badUserid };
    }),
    // Prototype tricks: the userid only reachable through a prototype is no userid.
    fc
      .constantFrom(
        '{"__proto__":{"userid":"proto-user","clientid":"c"}}',
        '{"constructor":{"prototype":{"userid":"proto-user"}}}',
        '{"prototype":{"userid":"proto-user"}}',
      )
      .map((claim) => ({ label: `claim ${claim}`, claim, message: MESSAGE.badUserid, userid: 'proto-user' })),
    // A valid userid with a bad clientid: rejected, and nothing stored for that user.
    fc.tuple(badClientid, junkEntries).map(([clientid, junk]) => {
      const userid = `claimed-${randomUUID()}`;
      const claim = asciiJson(Object.fromEntries([...junk, ['userid', userid], ['clientid', clientid]]));
      return { label: `claim ${claim.slice(0, 80)}`, claim, message: MESSAGE.badClientid, userid };
    }),
  )
  .map(labelled);

test.serial('malformed claims are 400 and store nothing', async (t) => {
  await fc.assert(
    fc.asyncProperty(claimCase, async (c) => {
      const before = await mark();
      const res = await raw(ping({ 'X-User-Claim': c.claim }, JSON.stringify({ status: 'hostile-claim' })));
      assertAnswer(res, 400, c.message, c.label);
      if (c.userid !== undefined) {
        const seen = await fetch(`${service.url}/lastseen/${encodeURIComponent(c.userid)}`);
        assert.equal(seen.status, 404, `${c.label}: its user got a ping`);
        await seen.arrayBuffer();
      }
      await afterHostile(before, c.label);
    }),
    { numRuns: 150, ...REPORT },
  );
  t.pass();
});

// ---------------------------------------------------------------------------------------------
// 3. Bodies

interface BodyCase {
  label: string;
  body: Buffer;
}

const text = (s: string) => Buffer.from(s);

/** Bodies that must be refused; the oracle says with which status and reason. */
const badBody: fc.Arbitrary<BodyCase> = fc
  .oneof(
    // Not JSON (as the server decodes it: UTF-8, a leading BOM dropped, blank means a bare ping).
    fc.string({ unit: 'binary', minLength: 1, maxLength: 200 }).map((s) => ({ label: 'text', body: text(s) })),
    fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 60 }).map((s) => ({ label: 'ascii text', body: text(`{"status":${s}`) })),
    // Invalid UTF-8, alone or inside a string of an otherwise valid body.
    fc
      .uint8Array({ minLength: 1, maxLength: 200 })
      .filter((b) => !isUtf8(b))
      .chain((bytes) =>
        fc.constantFrom(
          { label: 'invalid UTF-8', body: Buffer.from(bytes) },
          { label: 'invalid UTF-8 in the status', body: Buffer.concat([text('{"status":"'), Buffer.from(bytes), text('"}')]) },
        ),
      ),
    fc
      .constantFrom(
        [0xc0, 0xaf], // overlong '/'
        [0xed, 0xa0, 0x80], // an encoded surrogate
        [0xf4, 0x90, 0x80, 0x80], // past U+10FFFF
        [0xff],
        [0xe2, 0x82], // truncated
      )
      .map((bytes) => ({
        label: `invalid UTF-8 ${Buffer.from(bytes).toString('hex')}`,
        body: Buffer.concat([text('{"status":"a'), Buffer.from(bytes), text('"}')]),
      })),
    // JSON that is not an object.
    fc
      .jsonValue({ maxDepth: 3 })
      .filter((v) => typeof v !== 'object' || v === null || Array.isArray(v))
      .map((v) => ({ label: 'not an object', body: text(JSON.stringify(v)) })),
    // A status that is neither a string nor a number (null means "no status": a bare ping).
    fc
      .tuple(
        fc.oneof(
          fc.boolean(),
          fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 4 }),
          fc.dictionary(fc.string({ maxLength: 5 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 }),
        ),
        junkEntries,
      )
      .map(([status, junk]) => ({
        label: 'bad status type',
        body: text(JSON.stringify(Object.fromEntries([...junk, ['status', status]]))),
      })),
    fc
      .constantFrom('{"status":"ok","status":true}', '{"status":"ok","status":{}}', '{"status":"ok","status":[]}')
      .map((s) => ({ label: 'duplicate key', body: text(s) })),
    // Too long a status (counted in characters, not UTF-16 units or bytes).
    fc
      .string({ unit: 'binary', minLength: 257, maxLength: 400 })
      .map((s) => ({ label: 'too long', body: text(JSON.stringify({ status: s })) })),
    fc
      .integer({ min: 257, max: 1000 })
      .map((n) => ({ label: `${n} emoji`, body: text(JSON.stringify({ status: '\u{1F600}'.repeat(n) })) })),
    // Deep nesting, open or closed, below and above the size limit.
    fc
      .integer({ min: 1, max: 12_000 })
      .chain((n) =>
        fc.constantFrom(
          { label: `${n} [`, body: text('['.repeat(n)) },
          { label: `${n} [ and ]`, body: text('['.repeat(n) + ']'.repeat(n)) },
          { label: `${n} nested objects, open`, body: text('{"a":'.repeat(n)) },
          { label: `status nested ${n} deep`, body: text(`{"status":${'['.repeat(n)}${']'.repeat(n)}}`) },
        ),
      ),
    fc.constant({ label: '10,000 [', body: text('['.repeat(10_000)) }),
    // Larger than 4096 bytes, whatever it contains.
    fc.integer({ min: 4097, max: 40_000 }).map((n) => ({ label: `${n} bytes`, body: text(JSON.stringify({ status: 'x'.repeat(n) })) })),
    fc.integer({ min: 4097, max: 6000 }).map((n) => ({ label: `${n} bytes of spaces`, body: text(' '.repeat(n)) })),
  )
  .map(labelled);

test.serial('malformed bodies are 400 (413 and closed when too large) and store nothing', async (t) => {
  const seen = new Map<string, number>();
  await fc.assert(
    fc.asyncProperty(
      badBody.filter((c) => !bodyVerdict(c.body).ok),
      async (c) => {
        const verdict = bodyVerdict(c.body) as Extract<Verdict, { ok: false }>;
        seen.set(`${verdict.http} ${verdict.message.source}`, (seen.get(`${verdict.http} ${verdict.message.source}`) ?? 0) + 1);
        const before = await mark();
        const res = await raw(ping({ 'X-User-Claim': sentinelClaim, 'Content-Type': 'application/json' }, c.body), {
          lingerMs: verdict.http === 413 ? 300 : 0,
        });
        assertAnswer(res, verdict.http, verdict.message, `${c.label} (${c.body.length} bytes)`);
        if (verdict.http === 413) assert.ok(res.closedAfter, `${c.label}: the connection stays open after 413`);
        await afterHostile(before, c.label);
      },
    ),
    { numRuns: 200, ...REPORT },
  );
  t.log([...seen].map(([k, n]) => `${n}× ${k}`).join(', '));
  t.pass();
});

// ---------------------------------------------------------------------------------------------
// 4. Odd but valid: numbers, prototype keys, blank bodies, a BOM

const oddBody: fc.Arbitrary<BodyCase> = fc
  .oneof(
    fc
      .double({ noNaN: true, noDefaultInfinity: true })
      .map((d) => ({ label: `status ${JSON.stringify(d)}`, body: text(`{"status":${JSON.stringify(d)}}`) })),
    fc
      .bigInt({ min: -(10n ** 300n), max: 10n ** 300n })
      .map((n) => ({ label: `status ${String(n).slice(0, 20)}…`, body: text(`{"status":${n}}`) })),
    fc
      .tuple(fc.integer({ min: 1, max: 200 }), fc.integer({ min: -300, max: 300 }))
      .map(([digits, exp]) => ({ label: `status 0.${digits}e${exp}`, body: text(`{"status":0.${'1'.repeat(digits)}e${exp}}`) })),
    fc
      .array(
        fc.tuple(
          fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', 'status'),
          fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.string()),
        ),
        { maxLength: 5 },
      )
      .map((entries) => ({
        label: 'prototype keys',
        body: text(`{${entries.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`),
      })),
    fc
      .constantFrom(
        '{"__proto__":{"status":"polluted"}}',
        '{"constructor":{"prototype":{"status":"polluted"}}}',
        '{"status":null}',
        '{}',
        '{"status":""}',
      )
      .map((s) => ({ label: s, body: text(s) })),
    fc
      .string({ unit: fc.constantFrom(' ', '\t', '\n', '\r', '\u00a0', '\ufeff', '\u2028', '\u3000'), maxLength: 30 })
      .map((s) => ({ label: `blank ${JSON.stringify(s)}`, body: text(s) })),
    fc
      .string({ maxLength: 30 })
      .map((s) => ({ label: 'BOM + body', body: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), text(JSON.stringify({ status: s }))]) })),
  )
  .map(labelled);

const magicUserid = fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', '__defineGetter__');

test.serial('numbers, prototype keys, blank bodies and ids like __proto__ are plain data', async (t) => {
  await fc.assert(
    fc.asyncProperty(
      oddBody.filter((c) => bodyVerdict(c.body).ok),
      fc.option(magicUserid, { nil: undefined }),
      fc.option(magicUserid, { nil: undefined }),
      async (c, magicUser, magicClient) => {
        const verdict = bodyVerdict(c.body) as Extract<Verdict, { ok: true }>;
        const userid = magicUser ?? `odd-${randomUUID()}`;
        const claim = Object.fromEntries<unknown>([
          ['__proto__', { userid: 'polluter' }],
          ['userid', userid],
          ['clientid', magicClient ?? 'odd'],
        ]);
        const sentinelBefore = await mark();
        const res = await raw(ping({ 'X-User-Claim': asciiJson(claim) }, c.body));
        assertAnswer(res, 200, undefined, `${c.label} as ${userid}`);
        stored.add(userid);
        // Redis stores UTF-8: a lone surrogate (sent as a JSON escape) is read back as U+FFFD.
        const expected = verdict.status.toWellFormed();
        const one = await fetch(`${service.url}/lastseen/${encodeURIComponent(userid)}`);
        assert.equal(one.status, 200);
        assert.equal(((await one.json()) as { status: string }).status, expected, c.label);
        const many = await fetch(`${service.url}/lastseen?user=${encodeURIComponent(userid)}&user=polluter&user=${SENTINEL}`);
        const body = (await many.json()) as Record<string, { status: string } | null>;
        assert.deepEqual(Object.keys(body).sort(), [userid, 'polluter', SENTINEL].sort());
        assert.equal(body[userid]?.status, expected);
        assert.equal(body.polluter, null);
        assert.equal(JSON.stringify(body[SENTINEL]), sentinelSeen);
        assert.equal((await mark()).sentinel, sentinelBefore.sentinel);
        assertAlive();
      },
    ),
    { numRuns: 150, ...REPORT },
  );
  t.pass();
});

// ---------------------------------------------------------------------------------------------
// 5. Ids in paths and queries

const idToken = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('a', 'Z', '0', '-', '_', '.', '~', '!', '*', "'", '(', ')', ':', '@', '$', ',', ';', '=') },
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      '%zz',
      '%',
      '%0',
      '%g0',
      '%00',
      '%2F',
      '%2f',
      '%2E',
      '%2e%2e',
      '.',
      '..',
      '%20',
      '+',
      '%2B',
      '%25',
      '%C3%A9',
      '%E2%82%AC',
      '%F0%9F%98%80',
      '%ED%A0%80',
      '%ED%BF%BF',
      '%C0%AF',
      '%E0%80%AF',
      '%FF',
      '%7F',
      '%C2%80',
      '%C2%9F',
      '%C2%A0',
      '%E2%80%A8',
      '%EF%BB%BF',
      '%0A',
      '%0D',
      '%09',
      '%3F',
      '%23',
      '%26',
      '%3D',
      '%5C',
      '%22',
      '%3C',
      '%3E',
      '%7B',
      '%7D',
    ),
  },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 6 }).map(encodeURIComponent) },
  // Raw UTF-8 in the request line (as latin1 chars, one per byte): uWS decodes it as UTF-8.
  // Raw bytes that are not UTF-8 are left out: uWS turns them into U+FFFD (see the report).
  {
    weight: 1,
    arbitrary: fc
      .string({
        unit: fc
          .integer({ min: 0xa0, max: 0x10ffff })
          .filter((c) => c < 0xd800 || c > 0xdfff)
          .map((c) => String.fromCodePoint(c)),
        minLength: 1,
        maxLength: 2,
      })
      .map((c) => Buffer.from(c).toString('latin1')),
  },
);

/** The text uWS hands over for a path or query sent as these bytes (latin1 chars): UTF-8 decoded. */
const asUws = (seg: string) => Buffer.from(seg, 'latin1').toString('utf8');

const idSegment = fc.oneof(
  { weight: 8, arbitrary: fc.array(idToken, { maxLength: 12 }).map((a) => a.join('')) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      'a'.repeat(256),
      'a'.repeat(257),
      '%41'.repeat(256),
      '%41'.repeat(257),
      '%C3%A9'.repeat(128),
      '%C3%A9'.repeat(129),
      '%F0%9F%98%80'.repeat(64),
      '%F0%9F%98%80'.repeat(65),
      'a'.repeat(10_240),
      '%zz'.repeat(3_414),
      '%2F'.repeat(3_414),
    ),
  },
  { weight: 1, arbitrary: fc.integer({ min: 200, max: 10_240 }).map((n) => 'b'.repeat(n)) },
);

type IdRoute = 'lastseen' | 'lastseen?' | 'subscribe' | 'subscribe/client' | 'subscribe?';

test.serial('hostile ids in paths and queries are 400 or 404, never a crash', async (t) => {
  let valid = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom<IdRoute>('lastseen', 'lastseen?', 'subscribe', 'subscribe/client', 'subscribe?'),
      idSegment,
      idSegment,
      async (route, seg, seg2) => {
        // In a query, `+` is a space and `&`/`#` would end the value (not generated).
        const inQuery = route.endsWith('?');
        const id = idOf(asUws(inQuery ? seg.replace(/\+/g, ' ') : seg));
        const clientid = idOf(asUws(seg2));
        const path =
          route === 'lastseen'
            ? `/lastseen/${seg}`
            : route === 'lastseen?'
              ? `/lastseen?user=${seg}`
              : route === 'subscribe'
                ? `/subscribe/${seg}`
                : route === 'subscribe/client'
                  ? `/subscribe/${seg}/client/${seg2}`
                  : `/subscribe?user=${seg}`;
        const what = `GET ${path.slice(0, 120)}${path.length > 120 ? `… (${path.length})` : ''}`;
        const before = await mark();
        const streaming = route.startsWith('subscribe');
        const bytes = request('GET', path);
        const res = await raw(bytes, { headOnly: streaming });
        // Every head here (two ids of at most 10,240 bytes) is within MAX_HEAD: answered by heartbeat.
        const emptySegment = !inQuery && (seg === '' || (route === 'subscribe/client' && seg2 === ''));
        if (emptySegment) assertAnswer(res, 404, streaming ? undefined : /^NOT_FOUND$/, what);
        else if (id === null || (route === 'subscribe/client' && clientid === null))
          assertAnswer(res, 400, streaming ? undefined : MESSAGE.id, what);
        else {
          valid++;
          if (route === 'lastseen') assertAnswer(res, stored.has(id) ? 200 : 404, stored.has(id) ? undefined : /^NEVER_SEEN$/, what);
          else if (route === 'lastseen?') {
            assertAnswer(res, 200, undefined, what);
            const body = JSON.parse(res.body.toString('utf8')) as Record<string, unknown>;
            assert.deepEqual(Object.keys(body), [id], what);
            assert.equal(body[id] === null, !stored.has(id), what);
          } else {
            assertAnswer(res, 200, undefined, what);
            assert.match(res.headers['content-type'] ?? '', /^text\/event-stream/, what);
          }
        }
        await afterHostile(before, what);
      },
    ),
    { numRuns: 200, ...REPORT },
  );
  t.log(`${valid} of 200 generated ids were valid`);
  t.pass();
});

// ---------------------------------------------------------------------------------------------
// 6. Methods

const KNOWN_METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS', 'TRACE', 'CONNECT'];
const NEVER_SEEN = `never-${randomUUID()}`;
const ROUTES: Record<string, { allow: string; get?: { status: number; sse?: boolean } }> = {
  '/ping': { allow: 'POST, DELETE, OPTIONS' },
  '/subscribe': { allow: 'GET, OPTIONS', get: { status: 400 } },
  [`/subscribe/${NEVER_SEEN}`]: { allow: 'GET, OPTIONS', get: { status: 200, sse: true } },
  [`/subscribe/${NEVER_SEEN}/client/c`]: { allow: 'GET, OPTIONS', get: { status: 200, sse: true } },
  '/lastseen': { allow: 'GET, OPTIONS', get: { status: 400 } },
  [`/lastseen/${NEVER_SEEN}`]: { allow: 'GET, OPTIONS', get: { status: 404 } },
};

test.serial('any method on any path: 405 with Allow, 204 for OPTIONS, 404 off the map, never a 2xx write', async (t) => {
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(
        fc.constantFrom(...KNOWN_METHODS),
        fc.stringMatching(/^[A-Z]{1,12}$/),
        fc.constantFrom('get', 'Post', 'PROPFIND', 'MKCOL', 'PURGE', 'M-SEARCH', 'BREW', 'SOURCE', 'QUERY'),
      ),
      fc.constantFrom(...Object.keys(ROUTES), '/', '/nope', '/ping/extra', '/lastseen/a/b', '/PING', '/ping/'),
      fc.option(fc.string({ maxLength: 50 }), { nil: undefined }),
      async (method, path, body) => {
        const what = `${method} ${path}`;
        const before = await mark();
        const route = ROUTES[path];
        const sse = method === 'GET' && route?.get?.sse === true;
        // No claim: a POST or DELETE /ping is a 400 CLAIM_MISSING, never a stored or erased ping.
        const bytes = body === undefined ? undefined : Buffer.from(body);
        const headers: Record<string, number> = bytes === undefined ? {} : { 'Content-Length': bytes.length };
        const res = await raw(request(method, path, headers, bytes), { headOnly: sse || method === 'HEAD' });
        if (!KNOWN_METHODS.includes(method)) {
          // uWS 20.30 closes the connection on methods it does not know; an answer must be an error.
          if (res.kind === 'response') assert.ok(res.status >= 400, `${what}: ${describe(res)}`);
          else assert.equal(res.kind, 'closed', `${what}: ${describe(res)}`);
        } else if (!route) {
          assertAnswer(res, 404, method === 'HEAD' ? undefined : /^NOT_FOUND$/, what);
        } else if (method === 'OPTIONS') {
          assertAnswer(res, 204, undefined, what);
          assert.equal(res.headers.allow, route.allow, what);
        } else if (route.allow.split(', ').includes(method)) {
          if (method === 'POST' || method === 'DELETE') assertAnswer(res, 400, /^CLAIM_MISSING$/, what);
          else assertAnswer(res, route.get!.status, undefined, what);
        } else {
          assertAnswer(res, 405, method === 'HEAD' ? undefined : /^METHOD_NOT_ALLOWED$/, what);
          assert.equal(res.headers.allow, route.allow, what);
        }
        await afterHostile(before, what);
      },
    ),
    { numRuns: 150, ...REPORT },
  );
  t.pass();
});

// ---------------------------------------------------------------------------------------------
// 7. Big headers

const headerName = fc.stringMatching(/^[A-Za-z0-9]{1,24}$/).map((n) => `X-${n}`);

/** Splits a request into pieces with short pauses, so the server reads it in several reads. */
function split(bytes: Buffer, cuts: number[]): Piece[] {
  const at = [...new Set(cuts.map((c) => Math.min(Math.max(1, c), bytes.length - 1)))].sort((a, b) => a - b);
  const pieces: Piece[] = [];
  let from = 0;
  for (const cut of at) {
    pieces.push(bytes.subarray(from, cut), { pause: 20 });
    from = cut;
  }
  pieces.push(bytes.subarray(from));
  return pieces;
}

/** heartbeat's default UWS_HTTP_MAX_HEADERS_SIZE (README, src/http/uws.ts): the largest request head. */
const MAX_HEAD = 32 * 1024;
/** uWS counts a head's bytes its own way (its CRLFs): sizes this close to the limit may go either way. */
const EDGE = 128;

/**
 * uWebSockets.js (v20.51) parses a request head of up to UWS_HTTP_MAX_HEADERS_SIZE bytes however
 * it arrives, and answers a larger one 431 itself. So: heads within the limit, whole or split
 * across reads, get heartbeat's answer (a huge claim a 400); larger ones a 431, never anything else.
 */
test.serial(
  'big and many headers: a head within the limit always works, a larger one is 431, a huge claim within it is a 400',
  async (t) => {
    const outcomes = { within: 0, over: 0, edge: 0 };
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(headerName, fc.integer({ min: 0, max: 4_000 })), { minLength: 1, maxLength: 24 }),
        fc.integer({ min: 257, max: 60_000 }),
        fc.array(fc.nat(), { maxLength: 3 }),
        fc.boolean(),
        async (list, claimBytes, cuts, asClaim) => {
          const before = await mark();
          const headers: [string, string][] = list.map(([name, size], i) => [`${name}-${i}`, 'v'.repeat(size)]);
          const bytes = asClaim
            ? ping({ 'X-User-Claim': asciiJson({ userid: 'u'.repeat(claimBytes), clientid: 'c' }) }, '{"status":"big"}')
            : request('GET', `/lastseen/${SENTINEL}`, headers);
          const head = bytes.indexOf('\r\n\r\n') + 4;
          const what = `${asClaim ? `a ${claimBytes}-byte userid` : `${list.length} headers`}: ${head}-byte head in ${cuts.length + 1} pieces`;
          const res = await raw(
            split(
              bytes,
              cuts.map((c) => c % bytes.length),
            ),
          );
          if (head <= MAX_HEAD - EDGE) {
            outcomes.within++;
            if (asClaim) assertAnswer(res, 400, MESSAGE.badUserid, what);
            else {
              assertAnswer(res, 200, undefined, what);
              assert.equal(res.body.toString(), sentinelSeen, what);
            }
          } else if (head > MAX_HEAD + EDGE) {
            outcomes.over++;
            // uWS's own answer: an HTML page, not heartbeat's JSON.
            assertAnswer(res, 431, undefined, what);
            assert.match(res.body.toString('latin1'), /Request Header Fields Too Large/, what);
          } else {
            outcomes.edge++;
            assert.ok(res.kind === 'response' && [asClaim ? 400 : 200, 431].includes(res.status), `${what}: ${describe(res)}`);
          }
          await afterHostile(before, what);
        },
      ),
      { numRuns: 80, ...REPORT },
    );
    t.log(`heads within ${MAX_HEAD} bytes: ${outcomes.within}; over: ${outcomes.over} (431); at the edge: ${outcomes.edge}`);
    t.true(outcomes.within > 0 && outcomes.over > 0, 'both sides of the limit were tried');
  },
);

// ---------------------------------------------------------------------------------------------
// 8. Last: whatever uWS held open is closed, and none of it was ever stored

test.serial('every connection held without an answer is closed by the server within 20 s, and stored nothing', async (t) => {
  const times = await Promise.all(held.map((h) => h.closed));
  const open = held.filter((_, i) => times[i] === null).map((h) => h.label);
  t.deepEqual(open, [], 'still open after 30 s');
  // Closed without a word: no late answer of any kind (a late 2xx would mean a late store).
  const answered = held
    .map((h) => `${h.label}: ${JSON.stringify(h.received().toString('latin1').slice(0, 60))}`)
    .filter((_, i) => held[i].received().length > 0);
  t.deepEqual(answered, []);
  const ms = times.filter((x): x is number => x !== null);
  t.true(
    ms.every((x) => x <= 20_000),
    `closed after ${Math.max(...ms)} ms`,
  );
  if (ms.length > 0) t.log(`${ms.length} held connections closed after ${Math.min(...ms)}–${Math.max(...ms)} ms`);
  t.is((await mark()).sentinel, sentinelSeen);
  assertAlive();
  await assertGoodPingWorks();
});
