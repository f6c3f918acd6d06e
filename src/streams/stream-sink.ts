import type { SinkListener, StreamSink, SubscriptionEvent } from '../../machines/subscription.js';
import type { HttpResponse } from '../http/uws.js';
import { WriteQueue, type WriteTarget } from './write-queue.js';
import { KeepaliveSweep } from './keepalive-sweep.js';

const HEAD_COMMENT = ': heartbeat\n';
const EMPTY = new Uint8Array(0);
/** An SSE comment line: every client ignores it, and the stream is always at a line start here. */
const DRAIN_COMMENT = new TextEncoder().encode(':\n');
const SOCKET_FULL: SubscriptionEvent = { type: 'socket.full' };
const SOCKET_DRAINED: SubscriptionEvent = { type: 'socket.drained' };
const SOCKET_ABORTED: SubscriptionEvent = { type: 'socket.aborted' };

/** The writes of every stream of this thread (uWebSockets.js is single-threaded per thread). */
const writes = new WriteQueue();

/**
 * How often a stream whose socket may hold bytes that uWS could not send is visited (see
 * `visitHeld`). uWebSockets.js v20.51 arms its HTTP timeout (HTTP_TIMEOUT_S = 10, src/HttpResponse.h)
 * whenever a write meets backpressure, and only a writable event disarms it; uSockets checks
 * timeouts every 4 s (LIBUS_TIMEOUT_GRANULARITY), so an armed timeout closes the socket 8 to 12 s
 * later. A congested stream is visited every 2 s, and a stream's last write is probed at most two
 * visits (4 s) after it: both well before that, so no timer but heartbeat's own
 * SLOW_CLIENT_TIMEOUT closes a stream.
 */
const HELD_VISIT_MS = 2_000;

/** Where a stream is in the `held` sweep's probing of its last write (see `visitHeld`). */
const QUIET = 0;
/** Written since the last visit: a later write would find bytes uWS held by itself. */
const WRITTEN = 1;
/** Written before the last visit and not since: its last write is probed at the next visit. */
const PROBE_DUE = 2;

/** One sweep for the thread, not a timer per stream: holds only streams written or congested lately. */
const held = new KeepaliveSweep<UwsStreamSink>(HELD_VISIT_MS, (sink) => sink.visitHeld());

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
  /** A write met backpressure and no writable event has drained it since. */
  private congested = false;
  /** QUIET, WRITTEN or PROBE_DUE: a member of the `held` sweep unless QUIET and not congested. */
  private lastWrite = QUIET;

  /** `headers`: added to the response head (CORS); dropped once the head is written. */
  constructor(
    private readonly res: HttpResponse,
    private readonly retryMs: number,
    private headers?: Readonly<Record<string, string>>,
  ) {
    res.onAborted(() => {
      // uWS also calls this when heartbeat closed the socket itself (a slow client): that close
      // was decided, and reported, by the actor, so only a client that went away is reported here.
      if (this.done) return;
      this.finish();
      this.listener?.send(SOCKET_ABORTED);
    });
    res.onWritable(() => {
      if (this.done) return true;
      // uWS (v20.51, src/HttpContext.h, the writable handler) does not send the bytes it buffered itself on a writable event
      // when an onWritable handler is registered: only a write from the handler does. Without one,
      // a stream whose last write met backpressure keeps its newest ping (or half a frame) until
      // the next ping. An empty write does not help (uWS returns before touching the socket), so
      // write a comment: it sends the held bytes first. Drained only once the kernel took it all;
      // otherwise still full (a stream that looked live learns it now), and uWS calls this again
      // when the socket can take more.
      this.writeCorked(DRAIN_COMMENT);
      this.congested = !corkedResult;
      // The comment itself may be left in uWS's buffer once the cork is sent (see visitHeld).
      this.noteWritten();
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
    this.noteWritten();
    if (!corkedResult) this.becameCongested();
  }

  private noteWritten(): void {
    if (this.lastWrite === WRITTEN) return;
    this.lastWrite = WRITTEN;
    held.add(this);
    held.start();
  }

  private becameCongested(): void {
    this.congested = true;
    held.add(this);
    this.listener?.send(SOCKET_FULL);
  }

  /**
   * Visited by the `held` sweep about every 2 s while this stream was written lately or is congested.
   * - Congested: `pause()` then `resume()`. resume() re-arms uWS's timeout to 10 s from now
   *   (HttpResponse.h, `resume`), so uWS never closes the socket: heartbeat's SLOW_CLIENT_TIMEOUT
   *   does. Only congested streams: on a socket with nothing buffered no writable event would
   *   come to disarm it again.
   * - A write made inside `cork` returns true when it fits in the cork buffer, even if sending
   *   that buffer then met backpressure (uWS keeps the rest and arms its timeout, and the JS side
   *   never learns). The next write finds out by itself: uWS first tries the bytes it holds, and
   *   the write fails if they still do not fit (and if the client read them meanwhile, the
   *   writable event that follows disarms the timeout). Only a stream's last write before a
   *   silence is left unchecked: a phone in the background, whose stream uWS would close 10 s
   *   later. So a stream written since the last visit waits one more visit (WRITTEN, PROBE_DUE),
   *   and one still not written again by then gets a probe comment, which fails the same way.
   *   A stream written at every visit (a busy one) costs no probe at all; one written now and
   *   then costs one 7-byte write after its last write, within 4 s of it.
   * - Otherwise it leaves the sweep until its next write.
   */
  visitHeld(): void {
    if (this.done) return held.delete(this);
    if (this.congested) {
      this.res.pause();
      this.res.resume();
      return;
    }
    if (this.lastWrite === WRITTEN) {
      this.lastWrite = PROBE_DUE;
      return;
    }
    if (this.lastWrite === QUIET) return held.delete(this);
    this.lastWrite = QUIET;
    this.writeCorked(DRAIN_COMMENT);
    if (!corkedResult) this.becameCongested();
  }

  /** Never touched again: out of the sweep. */
  private finish(): void {
    this.done = true;
    held.delete(this);
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
    this.finish();
    this.res.cork(() => {
      this.res.write(`retry: ${retryMs}\n\n`);
      this.res.end();
    });
  }

  close(): void {
    if (this.done) return;
    this.finish();
    this.res.close();
  }
}
