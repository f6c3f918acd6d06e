import type { SinkListener, StreamSink, SubscriptionEvent } from '../../machines/subscription.js';
import type { HttpResponse } from '../http/uws.js';
import { WriteQueue, type WriteTarget } from './write-queue.js';

const HEAD_COMMENT = ': heartbeat\n';
const EMPTY = new Uint8Array(0);
/** An SSE comment line: every client ignores it, and the stream is always at a line start here. */
const DRAIN_COMMENT = new TextEncoder().encode(':\n');
const SOCKET_FULL: SubscriptionEvent = { type: 'socket.full' };
const SOCKET_DRAINED: SubscriptionEvent = { type: 'socket.drained' };
const SOCKET_ABORTED: SubscriptionEvent = { type: 'socket.aborted' };

/** The writes of every stream of this thread (uWebSockets.js is single-threaded per thread). */
const writes = new WriteQueue();

// A write runs inside `res.cork`. One shared callback and three module slots (cork runs it
// synchronously) instead of a closure per delivery or a bound function per stream: at 15,000
// streams both the garbage and the per-stream bytes show.
let corkedResponse: HttpResponse | null = null;
let corkedChunk: Uint8Array = EMPTY;
let corkedResult = true;
function writeCorked(): void {
  corkedResult = corkedResponse!.write(corkedChunk);
}

/**
 * A stream's sink: its SSE response over uWebSockets.js. After abort or end the response must never
 * be touched again (uWS would crash the process), so every method checks `done` first. Writes
 * come from Redis callbacks and timers, outside any handler, so each is corked; they are queued
 * in the thread's WriteQueue and sent together once the actors have run (see WriteQueue).
 *
 * Constructed inside the request handler: uWS needs `onAborted` before the handler returns, and
 * `onWritable` on every streaming response (a response that once saw backpressure without it is
 * closed by uWS about ten seconds later).
 */
export class UwsStreamSink implements StreamSink, WriteTarget {
  private done = false;
  private listener: SinkListener | null = null;

  /** `headers`: added to the response head (CORS); dropped once the head is written. */
  constructor(
    private readonly res: HttpResponse,
    private readonly retryMs: number,
    private headers?: Readonly<Record<string, string>>,
  ) {
    res.onAborted(() => {
      this.done = true;
      this.listener?.send(SOCKET_ABORTED);
    });
    res.onWritable(() => {
      if (this.done) return true;
      // uWS (v20.30, HttpContext.h) does not send the bytes it buffered itself on a writable event
      // when an onWritable handler is registered: only a write from the handler does. Without one,
      // a stream whose last write met backpressure keeps its newest ping (or half a frame) until
      // the next ping. An empty write does not help (uWS returns before touching the socket), so
      // write a comment: it sends the held bytes first. Drained only once the kernel took it all;
      // otherwise still full (a stream that looked live learns it now), and uWS calls this again
      // when the socket can take more.
      this.writeCorked(DRAIN_COMMENT);
      this.listener?.send(corkedResult ? SOCKET_DRAINED : SOCKET_FULL);
      return true;
    });
  }

  open(listener: SinkListener): void {
    this.listener = listener;
    if (this.done) return;
    this.res.cork(() => {
      this.res
        .writeStatus('200 OK')
        .writeHeader('Content-Type', 'text/event-stream; charset=utf-8')
        .writeHeader('Cache-Control', 'no-cache')
        .writeHeader('X-Accel-Buffering', 'no');
      if (this.headers) for (const [name, value] of Object.entries(this.headers)) this.res.writeHeader(name, value);
      this.res.write(`${HEAD_COMMENT}retry: ${this.retryMs}\n\n`);
    });
    this.headers = undefined;
  }

  write(chunk: Uint8Array): void {
    if (!this.done) writes.push(this, chunk);
  }

  /** Called by the queue: the socket write itself; a refused write is reported as `socket.full`. */
  writeNow(chunk: Uint8Array): void {
    if (this.done) return;
    this.writeCorked(chunk);
    if (!corkedResult) this.listener?.send(SOCKET_FULL);
  }

  /** Writes through the shared cork callback; the outcome is left in `corkedResult`. */
  private writeCorked(chunk: Uint8Array): void {
    corkedResponse = this.res;
    corkedChunk = chunk;
    this.res.cork(writeCorked);
    corkedChunk = EMPTY;
  }

  endWithRetry(retryMs: number): void {
    if (this.done) return;
    writes.flush();
    this.done = true;
    this.res.cork(() => {
      this.res.write(`retry: ${retryMs}\n\n`);
      this.res.end();
    });
  }

  close(): void {
    if (this.done) return;
    this.done = true;
    this.res.close();
  }
}
