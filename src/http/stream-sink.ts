import type { StreamSink } from '../../machines/subscription.js';
import type { HttpResponse } from './uws.js';

const HEAD_COMMENT = ': heartbeat\n';
const EMPTY = new Uint8Array(0);

// A delivery writes inside `res.cork`. One shared callback and three module slots (cork runs it
// synchronously) instead of a closure per delivery or a bound function per stream: at 15,000
// streams both the garbage and the per-stream bytes show.
let pendingResponse: HttpResponse | null = null;
let pendingChunk: Uint8Array = EMPTY;
let pendingResult = true;
function writePending(): void {
  pendingResult = pendingResponse!.write(pendingChunk);
}

/**
 * A subscription's SSE response over uWebSockets.js. After abort or end the response must never
 * be touched again (uWS would crash the process), so every method checks `done` first. Writes
 * come from Redis callbacks and timers, outside any handler, so each is corked.
 */
export class UwsStreamSink implements StreamSink {
  private done = false;

  constructor(
    private readonly res: HttpResponse,
    private readonly retryMs: number,
  ) {}

  /** The client went away (onAborted): nothing may be written from now on. */
  markAborted(): void {
    this.done = true;
  }

  open(): void {
    if (this.done) return;
    this.res.cork(() => {
      this.res
        .writeStatus('200 OK')
        .writeHeader('Content-Type', 'text/event-stream; charset=utf-8')
        .writeHeader('Cache-Control', 'no-cache')
        .writeHeader('X-Accel-Buffering', 'no')
        .write(`${HEAD_COMMENT}retry: ${this.retryMs}\n\n`);
    });
  }

  write(chunk: Uint8Array): boolean {
    if (this.done) return true;
    pendingResponse = this.res;
    pendingChunk = chunk;
    this.res.cork(writePending);
    pendingChunk = EMPTY;
    return pendingResult;
  }

  endWithRetry(retryMs: number): void {
    if (this.done) return;
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
