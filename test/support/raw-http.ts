import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * A tiny raw HTTP/1.1 client over node:net, for what fetch cannot do: arbitrary bytes, lying
 * Content-Length, chunked bodies that never end, bytes trickled slowly, a chosen local address.
 */

export interface RawResponse {
  readonly kind: 'response';
  /** e.g. 400 */
  readonly status: number;
  /** The whole status line, e.g. `HTTP/1.1 400 Bad Request`. */
  readonly statusLine: string;
  /** Header names lower-cased; repeated headers joined with `, `. */
  readonly headers: Record<string, string>;
  readonly body: Buffer;
  /** The server closed the connection right after this response (or before we could reuse it). */
  readonly closedAfter: boolean;
}

/** The connection closed before a complete response arrived (`partial`: what did arrive). */
export interface RawClosed {
  readonly kind: 'closed';
  readonly partial: Buffer;
  /** ms from the start of the request until the close. */
  readonly afterMs: number;
}

/**
 * No complete response and no close within the timeout. The socket is destroyed by us, unless
 * `keepOnTimeout` was set: then `closed` resolves with the ms from the start of the request until
 * the server closed it (null if it was still open after `maxHoldMs`, when we destroy it).
 */
export interface RawTimeout {
  readonly kind: 'timeout';
  readonly partial: Buffer;
  readonly closed?: Promise<number | null>;
  /** With keepOnTimeout: every byte received so far, including after the timeout. */
  readonly received?: () => Buffer;
}

export type RawResult = RawResponse | RawClosed | RawTimeout;

export interface RawTarget {
  port: number;
  host?: string;
  /** Local address to bind (e.g. `127.0.0.2`). */
  localAddress?: string;
}

/**
 * A request as a list of pieces: bytes sent at once, or a pause between them. A string piece is
 * sent as latin1 (one char, one byte: `'\xff'` is the byte 0xFF); use a Buffer for UTF-8 text.
 */
export type Piece = string | Uint8Array | { pause: number };

function bytesOf(piece: string | Uint8Array): Uint8Array {
  return typeof piece === 'string' ? Buffer.from(piece, 'latin1') : piece;
}

export interface RawOptions extends RawTarget {
  /** Give up waiting for a response after this many ms (default 5,000). */
  timeoutMs?: number;
  /** Keep the socket open after a complete response for this many ms to see whether the server closes it. Default 0. */
  lingerMs?: number;
  /** On timeout, leave the socket open and report when the server closes it (see RawTimeout). */
  keepOnTimeout?: boolean;
  /** With keepOnTimeout: destroy the socket ourselves after this many ms from the start (default 30,000). */
  maxHoldMs?: number;
  /** Resolve as soon as the status line and headers arrived (for streams), with an empty body. */
  headOnly?: boolean;
}

const CRLF = '\r\n';

/**
 * Builds `METHOD path HTTP/1.1` + headers + blank line (+ body), with nothing checked or added but
 * a Host header when none is given (no Content-Length: pass it). The head is sent as latin1 (so
 * `'\xff'` in a path or value is the byte 0xFF); a string body as UTF-8.
 */
export function request(
  method: string,
  path: string,
  headers: Record<string, string | number> | [string, string][] = {},
  body?: string | Uint8Array,
): Buffer {
  const list: [string, string][] = Array.isArray(headers) ? [...headers] : Object.entries(headers).map(([k, v]) => [k, String(v)]);
  if (!list.some(([k]) => k.toLowerCase() === 'host')) list.unshift(['Host', 'localhost']);
  const head = `${method} ${path} HTTP/1.1${CRLF}${list.map(([k, v]) => `${k}: ${v}${CRLF}`).join('')}${CRLF}`;
  return Buffer.concat([
    Buffer.from(head, 'latin1'),
    body === undefined ? Buffer.alloc(0) : typeof body === 'string' ? Buffer.from(body) : Buffer.from(body),
  ]);
}

/** Splits `data` into one-byte pieces separated by `pauseMs` pauses (a slow-loris trickle). */
export function trickle(data: string | Uint8Array, pauseMs: number, bytesPerPiece = 1): Piece[] {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'latin1') : Buffer.from(data);
  const pieces: Piece[] = [];
  for (let i = 0; i < bytes.length; i += bytesPerPiece) {
    if (i > 0) pieces.push({ pause: pauseMs });
    pieces.push(bytes.subarray(i, i + bytesPerPiece));
  }
  return pieces;
}

/** Opens a TCP connection; resolves once connected. Later socket errors (resets) are only a close. */
export function open(target: RawTarget): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port: target.port, host: target.host ?? '127.0.0.1', localAddress: target.localAddress });
    socket.once('connect', () => {
      socket.removeListener('error', reject);
      socket.on('error', () => {});
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/** Parses one response at the start of `buf`: null while incomplete. */
export function parseResponse(buf: Buffer, method = 'GET'): { response: Omit<RawResponse, 'kind' | 'closedAfter'>; length: number } | null {
  const headEnd = buf.indexOf('\r\n\r\n');
  if (headEnd < 0) return null;
  const lines = buf.subarray(0, headEnd).toString('latin1').split('\r\n');
  const statusLine = lines[0];
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? NaN);
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
  }
  const start = headEnd + 4;
  const noBody = method === 'HEAD' || status === 204 || status === 304 || (status >= 100 && status < 200);
  if (noBody) return { response: { status, statusLine, headers, body: Buffer.alloc(0) }, length: start };
  if (headers['content-length'] !== undefined) {
    const n = Number(headers['content-length']);
    if (buf.length < start + n) return null;
    return { response: { status, statusLine, headers, body: buf.subarray(start, start + n) }, length: start + n };
  }
  if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
    const chunks: Buffer[] = [];
    let pos = start;
    for (;;) {
      const eol = buf.indexOf('\r\n', pos);
      if (eol < 0) return null;
      const size = parseInt(buf.subarray(pos, eol).toString('latin1'), 16);
      if (Number.isNaN(size)) throw new Error(`bad chunk size in ${JSON.stringify(buf.toString('latin1'))}`);
      if (size === 0) {
        const end = buf.indexOf('\r\n\r\n', eol);
        if (end < 0 && buf.length < eol + 4) return null;
        return { response: { status, statusLine, headers, body: Buffer.concat(chunks) }, length: end < 0 ? eol + 4 : end + 4 };
      }
      if (buf.length < eol + 2 + size + 2) return null;
      chunks.push(buf.subarray(eol + 2, eol + 2 + size));
      pos = eol + 2 + size + 2;
    }
  }
  // No length: the body runs until the close (handled by the caller).
  return null;
}

/**
 * Sends `pieces` on one fresh connection and waits for a response. Resolves with the parsed
 * response, 'closed' when the server closed first, or 'timeout'. Never rejects on socket errors
 * (a reset is a close). The socket is always destroyed before resolving.
 */
export async function send(target: RawOptions, pieces: Piece | Piece[], method?: string): Promise<RawResult> {
  const list = Array.isArray(pieces) ? pieces : [pieces];
  const started = Date.now();
  let socket: Socket;
  try {
    socket = await open(target);
  } catch {
    return { kind: 'closed', partial: Buffer.alloc(0), afterMs: Date.now() - started };
  }
  const responseMethod = target.headOnly ? 'HEAD' : (method ?? guessMethodOf(list));
  const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now() - started)));
  return new Promise<RawResult>((resolve) => {
    let buf = Buffer.alloc(0);
    let settled = false;
    let parsed: ReturnType<typeof parseResponse> = null;
    const finish = (result: RawResult, destroy = true) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (destroy) socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => {
      if (!target.keepOnTimeout) return finish({ kind: 'timeout', partial: buf });
      let gaveUp = false;
      const hold = setTimeout(
        () => {
          gaveUp = true;
          socket.destroy();
        },
        Math.max(0, (target.maxHoldMs ?? 30_000) - (Date.now() - started)),
      );
      hold.unref();
      const serverClosed = closed.then((ms) => {
        clearTimeout(hold);
        return gaveUp ? null : ms;
      });
      finish({ kind: 'timeout', partial: buf, closed: serverClosed, received: () => buf }, false);
    }, target.timeoutMs ?? 5_000);
    const onClosed = () => {
      if (settled) return;
      if (parsed) return finish({ kind: 'response', ...parsed.response, closedAfter: true });
      // A response without a length, ended by the close.
      const headEnd = buf.indexOf('\r\n\r\n');
      if (headEnd >= 0) {
        const head = parseResponse(buf.subarray(0, headEnd + 4), 'HEAD');
        if (head) return finish({ kind: 'response', ...head.response, body: buf.subarray(headEnd + 4), closedAfter: true });
      }
      finish({ kind: 'closed', partial: buf, afterMs: Date.now() - started });
    };
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (parsed || settled) return;
      try {
        parsed = parseResponse(buf, responseMethod);
      } catch {
        parsed = null;
      }
      if (parsed) {
        const p = parsed;
        const linger = target.lingerMs ?? 0;
        if (linger <= 0) finish({ kind: 'response', ...p.response, closedAfter: false });
        else setTimeout(() => finish({ kind: 'response', ...p.response, closedAfter: false }), linger);
      }
    });
    socket.on('error', () => {});
    socket.on('close', onClosed);
    void (async () => {
      for (const piece of list) {
        if (socket.destroyed) return;
        if (typeof piece === 'object' && 'pause' in piece) await sleep(piece.pause);
        else socket.write(bytesOf(piece));
      }
    })();
  });
}

function guessMethodOf(pieces: Piece[]): string {
  const first = pieces.find((p): p is string | Uint8Array => !(typeof p === 'object' && 'pause' in p));
  if (first === undefined) return 'GET';
  const text = Buffer.from(typeof first === 'string' ? Buffer.from(first, 'latin1') : first)
    .subarray(0, 16)
    .toString('latin1');
  return /^HEAD /.test(text) ? 'HEAD' : 'GET';
}

/**
 * Opens a connection, sends `pieces` (pauses included) and holds it: `closed` resolves with the
 * ms from the connect until the server closed it, or null if it was still open after `maxMs`
 * (then we destroy it). `received()` is everything the server wrote so far.
 */
export async function hold(
  target: RawTarget,
  pieces: Piece[] = [],
  maxMs = 30_000,
): Promise<{ socket: Socket; closed: Promise<number | null>; received: () => Buffer }> {
  const socket = await open(target);
  const started = Date.now();
  let received = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => (received = Buffer.concat([received, chunk])));
  socket.on('error', () => {});
  const closed = new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(null);
    }, maxMs);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(Date.now() - started);
    });
  });
  void (async () => {
    for (const piece of pieces) {
      if (socket.destroyed) return;
      if (typeof piece === 'object' && 'pause' in piece) await sleep(piece.pause);
      else socket.write(bytesOf(piece));
    }
  })();
  return { socket, closed, received: () => received };
}
