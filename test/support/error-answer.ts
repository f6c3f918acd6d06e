import type { RawResult } from './raw-http.js';

/** What a client sees of a refusal: every non-2xx answer of both ports is `{"code","message"}` JSON. */
export interface ErrorAnswer {
  readonly status: number;
  readonly code: string;
  readonly message: string;
  readonly contentType: string | null;
}

/**
 * The refusal's shape, checked: throws when the body is not exactly the catalogue's
 * `{"code","message"}`, so a test that names a code also checks the shape every client relies on.
 */
function parse(status: number, contentType: string | null, text: string): ErrorAnswer {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`${status} answer is not JSON: ${JSON.stringify(text.slice(0, 200))}`);
  }
  const { code, message, ...rest } = body as Record<string, unknown>;
  if (typeof code !== 'string' || typeof message !== 'string' || Object.keys(rest).length > 0) {
    throw new Error(`${status} answer is not {"code","message"}: ${text.slice(0, 200)}`);
  }
  return { status, code, message, contentType };
}

/** A refusal read with fetch. */
export async function errorOf(res: Response): Promise<ErrorAnswer> {
  return parse(res.status, res.headers.get('content-type'), await res.text());
}

/** The catalogue code of a refusal read off a raw socket (test/support/raw-http.ts). */
export function codeOf(res: RawResult): string {
  if (res.kind !== 'response') throw new Error(`expected an answer, got ${res.kind}`);
  const answer = parse(res.status, res.headers['content-type'] ?? null, res.body.toString('utf8'));
  if (answer.contentType !== 'application/json') throw new Error(`${res.status} answer is ${answer.contentType}, not application/json`);
  return answer.code;
}
