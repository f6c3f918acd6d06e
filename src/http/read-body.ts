import type { HttpResponse } from './uws.js';

export const MAX_BODY_BYTES = 4096;

export type BodyResult = { tooLarge: false; body: Buffer } | { tooLarge: true };

/**
 * Collects a request body up to `limit` bytes. uWS neuters each chunk when its callback returns,
 * so chunks are copied. Past the limit it stops collecting and reports at once (the caller
 * answers 413 and closes: the rest of the body is never read).
 */
export function readBody(res: HttpResponse, done: (result: BodyResult) => void, limit = MAX_BODY_BYTES): void {
  let chunks: Buffer[] | null = [];
  let size = 0;
  res.onData((chunk, isLast) => {
    if (chunks === null) return;
    size += chunk.byteLength;
    if (size > limit) {
      chunks = null;
      done({ tooLarge: true });
      return;
    }
    if (chunk.byteLength > 0) chunks.push(Buffer.from(chunk.slice(0)));
    if (isLast) {
      const body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
      chunks = null;
      done({ tooLarge: false, body });
    }
  });
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** The body as text, or null when it is not valid UTF-8. */
export function utf8(body: Buffer): string | null {
  try {
    return UTF8.decode(body);
  } catch {
    return null;
  }
}
