import test from 'ava';
import { feed, SseState, isDone, isError, type SseSink } from '../../bench/client/sse-parser.js';

type Ev = { kind: string; data?: string; id?: string; type?: string; n?: number };

class Rec extends SseState {
  events: Ev[] = [];
}

const sink: SseSink<Rec> = {
  onHeaders(s, status) {
    s.events.push({ kind: 'headers', n: status });
  },
  onEvent(s, data, id, type) {
    s.events.push({ kind: 'event', data, id, type });
  },
  onComment(s, text) {
    s.events.push({ kind: 'comment', data: text });
  },
  onRetry(s, ms) {
    s.events.push({ kind: 'retry', n: ms });
  },
  onEnd(s) {
    s.events.push({ kind: 'end' });
  },
  onError(s, msg) {
    s.events.push({ kind: 'error', data: msg });
  },
};

const HEAD = 'HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n';
const PAYLOADS = [
  ': hello\n\nretry: 2000\n\n',
  'id: 7\ndata: {"time":1700000000,"status":"b:1:123.5"}\n\n',
  'data: line1\r\ndata: line2\r\n\r\n',
  'data: split-',
  'across-chunks\ndata: é€😀\n\n',
  ':\n\nevent: custom\ndata:x\rdata\r\r',
];

/** Encodes payloads the way uWebSockets.js does: each chunk's closing CRLF goes out with the next chunk. */
function uwsChunked(payloads: string[], end: boolean): Buffer {
  let out = HEAD;
  let pendingCRLF = false;
  for (const p of payloads) {
    const b = Buffer.from(p);
    out += (pendingCRLF ? '\r\n' : '') + b.length.toString(16) + '\r\n' + b.toString('latin1');
    pendingCRLF = true;
  }
  if (end) out += (pendingCRLF ? '\r\n' : '') + '0\r\n\r\n';
  return Buffer.from(out, 'latin1');
}

const EXPECTED: Ev[] = [
  { kind: 'headers', n: 200 },
  { kind: 'comment', data: 'hello' },
  { kind: 'retry', n: 2000 },
  { kind: 'event', data: '{"time":1700000000,"status":"b:1:123.5"}', id: '7', type: 'message' },
  { kind: 'event', data: 'line1\nline2', id: '7', type: 'message' },
  { kind: 'event', data: 'split-across-chunks\né€😀', id: '7', type: 'message' },
  { kind: 'comment', data: '' },
  { kind: 'event', data: 'x\n', id: '7', type: 'custom' },
  { kind: 'end' },
];

function run(parts: Buffer[]): Ev[] {
  const s = new Rec();
  for (const p of parts) feed(s, p, sink);
  return s.events;
}

test('whole stream in one piece', (t) => {
  t.deepEqual(run([uwsChunked(PAYLOADS, true)]), EXPECTED);
});

test('split at every byte boundary (two pieces)', (t) => {
  const all = uwsChunked(PAYLOADS, true);
  for (let k = 1; k < all.length; k++) {
    t.deepEqual(run([all.subarray(0, k), all.subarray(k)]), EXPECTED, `split at ${k}`);
  }
});

test('fed one byte at a time', (t) => {
  const all = uwsChunked(PAYLOADS, true);
  const parts: Buffer[] = [];
  for (let k = 0; k < all.length; k++) parts.push(all.subarray(k, k + 1));
  t.deepEqual(run(parts), EXPECTED);
});

test('chunk payload is delivered before its trailing CRLF arrives', (t) => {
  const s = new Rec();
  const body = Buffer.from('id: 1\ndata: {"status":"0"}\n\n');
  feed(s, Buffer.from(HEAD + body.length.toString(16) + '\r\n', 'latin1'), sink);
  feed(s, body, sink); // no CRLF yet: uWS sends it with the next chunk
  t.deepEqual(s.events.at(-1), { kind: 'event', data: '{"status":"0"}', id: '1', type: 'message' });
  const next = Buffer.from(': keepalive\n\n');
  feed(s, Buffer.concat([Buffer.from('\r\n' + next.length.toString(16) + '\r\n'), next]), sink);
  t.deepEqual(s.events.at(-1), { kind: 'comment', data: 'keepalive' });
  t.false(isError(s));
});

test('standard chunked encoding (CRLF with its own chunk) and chunk extensions', (t) => {
  const p = Buffer.from('data: a\n\n');
  const raw = HEAD + p.length.toString(16) + ';ext=1\r\n' + p.toString() + '\r\n' + '0\r\nX-Trailer: 1\r\n\r\n';
  const s = new Rec();
  feed(s, Buffer.from(raw), sink);
  t.deepEqual(
    s.events.map((e) => e.kind),
    ['headers', 'event', 'end'],
  );
  t.true(isDone(s));
});

test('identity body with content-length and CR-only line endings', (t) => {
  const body = ': c\r\rid: 9\rdata: a\rdata: b\r\r';
  const raw = `HTTP/1.1 200 OK\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
  const all = Buffer.from(raw);
  for (let k = 1; k < all.length; k++) {
    const ev = run([all.subarray(0, k), all.subarray(k)]);
    t.deepEqual(
      ev,
      [
        { kind: 'headers', n: 200 },
        { kind: 'comment', data: 'c' },
        { kind: 'event', data: 'a\nb', id: '9', type: 'message' },
        { kind: 'end' },
      ],
      `split at ${k}`,
    );
  }
});

test('non-200 status is reported and malformed chunk size is an error', (t) => {
  const s = new Rec();
  feed(s, Buffer.from('HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n'), sink);
  t.deepEqual(s.events[0], { kind: 'headers', n: 404 });
  t.is(s.events[1]?.kind, 'error');
  t.true(isError(s));
});

test('event without data is not dispatched; id persists across events', (t) => {
  const body = 'id: 3\n\ndata: x\n\nid\ndata: y\n\n';
  const ev = run([Buffer.from(`HTTP/1.1 200 OK\r\n\r\n${body}`)]);
  t.deepEqual(ev, [
    { kind: 'headers', n: 200 },
    { kind: 'event', data: 'x', id: '3', type: 'message' },
    { kind: 'event', data: 'y', id: '', type: 'message' },
  ]);
});
