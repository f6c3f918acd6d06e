/**
 * Incremental HTTP/1.1 response + chunked de-chunker + SSE parser.
 *
 * One `SseState` object per socket holds all parse state; `feed()` is a plain
 * function taking the state, the bytes and a shared sink, so holding many
 * thousands of sockets needs no per-socket closures.
 *
 * De-chunking delivers a chunk's payload as soon as its size-declared bytes
 * have arrived; the chunk's closing CRLF may arrive later, together with the
 * next chunk (uWebSockets.js does exactly that).
 */

export interface SseSink<S extends SseState = SseState> {
  onHeaders(s: S, status: number, head: string): void;
  onEvent(s: S, data: string, id: string, type: string): void;
  onComment(s: S, text: string): void;
  onRetry(s: S, ms: number): void;
  /** Response body ended (zero chunk / content-length reached). */
  onEnd(s: S): void;
  onError(s: S, msg: string): void;
}

const CR = 13;
const LF = 10;

// phases
const P_HEAD = 0;
const P_BODY = 1;
const P_DONE = 2;
const P_ERROR = 3;

// chunked states
const C_SIZE = 0;
const C_EXT = 1;
const C_SIZE_LF = 2;
const C_DATA = 3;
const C_DATA_CR = 4;
const C_DATA_LF = 5;
const C_TRAILER = 6;

const MAX_HEAD = 16 * 1024;
const MAX_LINE = 64 * 1024;

export class SseState {
  phase = P_HEAD;
  status = 0;
  head: Buffer | null = null; // partial header bytes
  chunked = false;
  remaining = -1; // identity body: bytes left, -1 = until close
  cstate = C_SIZE;
  csize = 0;
  cdigits = 0;
  trailerLen = 0;
  line: Buffer | null = null; // partial SSE line
  lastCR = false;
  data: string | null = null;
  id = '';
  type = '';
  retry = -1;
}

export function isDone(s: SseState): boolean {
  return s.phase === P_DONE;
}

export function isError(s: SseState): boolean {
  return s.phase === P_ERROR;
}

function fail<S extends SseState>(s: S, sink: SseSink<S>, msg: string): void {
  s.phase = P_ERROR;
  sink.onError(s, msg);
}

export function feed<S extends SseState>(s: S, buf: Buffer, sink: SseSink<S>): void {
  let start = 0;
  if (s.phase === P_HEAD) {
    start = feedHead(s, buf, sink);
    if (start < 0) return;
  }
  if (s.phase !== P_BODY || start >= buf.length) return;
  if (s.chunked) feedChunked(s, buf, start, sink);
  else feedIdentity(s, buf, start, sink);
}

/** Returns body start offset within buf, or -1 if headers incomplete / error. */
function feedHead<S extends SseState>(s: S, buf: Buffer, sink: SseSink<S>): number {
  let all = buf;
  let prev = 0;
  if (s.head !== null) {
    prev = s.head.length;
    all = Buffer.concat([s.head, buf]);
  }
  const from = prev > 3 ? prev - 3 : 0;
  const end = all.indexOf('\r\n\r\n', from, 'latin1');
  if (end < 0) {
    if (all.length > MAX_HEAD) fail(s, sink, 'response head too large');
    else s.head = prev === 0 ? Buffer.from(buf) : all;
    return -1;
  }
  s.head = null;
  const head = all.toString('latin1', 0, end);
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(head);
  if (m === null) {
    fail(s, sink, 'bad status line');
    return -1;
  }
  s.status = Number(m[1]);
  const lower = head.toLowerCase();
  s.chunked = /\r\ntransfer-encoding:[^\r]*chunked/.test(lower);
  const cl = /\r\ncontent-length:\s*(\d+)/.exec(lower);
  s.remaining = !s.chunked && cl !== null ? Number(cl[1]) : -1;
  s.phase = P_BODY;
  sink.onHeaders(s, s.status, head);
  if (s.phase !== P_BODY) return -1; // sink may have aborted
  if (s.remaining === 0) {
    s.phase = P_DONE;
    sink.onEnd(s);
    return -1;
  }
  // offset of body start inside `buf`
  return end + 4 - prev;
}

function feedIdentity<S extends SseState>(s: S, buf: Buffer, i: number, sink: SseSink<S>): void {
  let n = buf.length - i;
  if (s.remaining >= 0 && n > s.remaining) n = s.remaining;
  feedSse(s, buf, i, i + n, sink);
  if (s.remaining >= 0) {
    s.remaining -= n;
    if (s.remaining === 0 && s.phase === P_BODY) {
      s.phase = P_DONE;
      sink.onEnd(s);
    }
  }
}

function hexVal(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

function feedChunked<S extends SseState>(s: S, buf: Buffer, i: number, sink: SseSink<S>): void {
  const len = buf.length;
  while (i < len && s.phase === P_BODY) {
    const c = buf[i];
    switch (s.cstate) {
      case C_SIZE: {
        const v = hexVal(c);
        if (v >= 0) {
          if (++s.cdigits > 8) return fail(s, sink, 'chunk size too large');
          s.csize = s.csize * 16 + v;
        } else if (s.cdigits === 0) {
          return fail(s, sink, 'bad chunk size');
        } else if (c === CR) s.cstate = C_SIZE_LF;
        else if (c === LF) endSizeLine(s);
        else if (c === 59 /* ; */ || c === 32 || c === 9) s.cstate = C_EXT;
        else return fail(s, sink, 'bad chunk size');
        i++;
        break;
      }
      case C_EXT:
        if (c === CR) s.cstate = C_SIZE_LF;
        else if (c === LF) endSizeLine(s);
        i++;
        break;
      case C_SIZE_LF:
        if (c !== LF) return fail(s, sink, 'expected LF after chunk size');
        endSizeLine(s);
        i++;
        break;
      case C_DATA: {
        let n = len - i;
        if (n > s.csize) n = s.csize;
        s.csize -= n;
        if (s.csize === 0) s.cstate = C_DATA_CR; // set before delivering: payload complete
        feedSse(s, buf, i, i + n, sink);
        i += n;
        break;
      }
      case C_DATA_CR:
        if (c === CR) s.cstate = C_DATA_LF;
        else if (c === LF) s.cstate = C_SIZE;
        else return fail(s, sink, 'missing CRLF after chunk data');
        i++;
        break;
      case C_DATA_LF:
        if (c !== LF) return fail(s, sink, 'expected LF after chunk data');
        s.cstate = C_SIZE;
        i++;
        break;
      case C_TRAILER:
        // trailer section: lines until an empty line
        if (c === LF) {
          if (s.trailerLen === 0) {
            s.phase = P_DONE;
            sink.onEnd(s);
            return;
          }
          s.trailerLen = 0;
        } else if (c !== CR) s.trailerLen++;
        i++;
        break;
    }
  }
}

function endSizeLine(s: SseState): void {
  s.cdigits = 0;
  if (s.csize === 0) {
    s.cstate = C_TRAILER;
    s.trailerLen = 0;
  } else s.cstate = C_DATA;
}

/** SSE line splitting (CRLF, LF or CR) over body bytes [i, end). */
function feedSse<S extends SseState>(s: S, buf: Buffer, i: number, end: number, sink: SseSink<S>): void {
  if (i >= end) return;
  if (s.lastCR) {
    s.lastCR = false;
    if (buf[i] === LF) i++;
  }
  let lineStart = i;
  for (; i < end; i++) {
    const c = buf[i];
    if (c !== LF && c !== CR) continue;
    let line: string;
    if (s.line !== null) {
      line = Buffer.concat([s.line, buf.subarray(lineStart, i)]).toString('utf8');
      s.line = null;
    } else line = buf.toString('utf8', lineStart, i);
    if (c === CR) {
      if (i + 1 < end) {
        if (buf[i + 1] === LF) i++;
      } else s.lastCR = true;
    }
    lineStart = i + 1;
    processLine(s, line, sink);
    if (s.phase === P_ERROR || s.phase === P_DONE) return;
  }
  if (lineStart < end) {
    const rest = buf.subarray(lineStart, end);
    s.line = s.line === null ? Buffer.from(rest) : Buffer.concat([s.line, rest]);
    if (s.line.length > MAX_LINE) fail(s, sink, 'SSE line too long');
  }
}

function processLine<S extends SseState>(s: S, line: string, sink: SseSink<S>): void {
  if (line.length === 0) {
    if (s.data !== null) {
      const data = s.data;
      const type = s.type === '' ? 'message' : s.type;
      s.data = null;
      s.type = '';
      sink.onEvent(s, data, s.id, type);
    } else s.type = '';
    return;
  }
  const colon = line.indexOf(':');
  if (colon === 0) {
    sink.onComment(s, line.charCodeAt(1) === 32 ? line.slice(2) : line.slice(1));
    return;
  }
  let field: string;
  let value: string;
  if (colon < 0) {
    field = line;
    value = '';
  } else {
    field = line.slice(0, colon);
    value = line.charCodeAt(colon + 1) === 32 ? line.slice(colon + 2) : line.slice(colon + 1);
  }
  switch (field) {
    case 'data':
      s.data = s.data === null ? value : s.data + '\n' + value;
      break;
    case 'id':
      if (value.indexOf('\0') < 0) s.id = value;
      break;
    case 'event':
      s.type = value;
      break;
    case 'retry':
      if (/^\d+$/.test(value)) {
        s.retry = Number(value);
        sink.onRetry(s, s.retry);
      }
      break;
    default:
      break; // unknown field: ignored per spec
  }
}
