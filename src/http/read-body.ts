import { MAX_BODY_BYTES } from '../../machines/ping-request.js';
import type { HttpResponse } from './uws.js';

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** Bytes as text, or null when they are not valid UTF-8. */
export function utf8(bytes: Uint8Array | ArrayBuffer): string | null {
  try {
    return UTF8.decode(bytes);
  } catch {
    return null;
  }
}

/**
 * Reads a request body of up to `limit` bytes as UTF-8 text (`null`: not valid UTF-8). Past the
 * limit it stops collecting and reports `tooLarge` at once (the caller answers 413 and closes:
 * the rest of the body is never read).
 *
 * uWS neuters each chunk when its callback returns. A body that comes in one chunk (every ping
 * body: a few dozen bytes) is decoded straight from it; only a body in several chunks is copied.
 * Copying costs several times more than the decoding for a ping-sized body (ArrayBuffer.slice
 * allocates a backing store; `bench/probes/ping-edge.ts` measures both).
 */
export function readBody(res: HttpResponse, done: (text: string | null, tooLarge: boolean) => void, limit = MAX_BODY_BYTES): void {
  let chunks: Buffer[] | null = null;
  let size = 0;
  let finished = false;
  res.onData((chunk, isLast) => {
    if (finished) return;
    size += chunk.byteLength;
    if (size > limit) {
      finished = true;
      done(null, true);
      return;
    }
    if (isLast && chunks === null) {
      finished = true;
      done(utf8(chunk), false);
      return;
    }
    if (chunk.byteLength > 0) (chunks ??= []).push(Buffer.from(chunk.slice(0)));
    if (isLast) {
      finished = true;
      done(utf8(Buffer.concat(chunks ?? [])), false);
    }
  });
}
