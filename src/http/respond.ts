import type { ErrorSpec } from './errors.js';
import type { HttpResponse } from './uws.js';

/** Every status heartbeat answers with: a status the catalogue gains without its line here does not compile. */
const STATUS_LINES: Readonly<Record<number, string>> = {
  200: '200 OK',
  204: '204 No Content',
  400: '400 Bad Request',
  401: '401 Unauthorized',
  403: '403 Forbidden',
  404: '404 Not Found',
  405: '405 Method Not Allowed',
  409: '409 Conflict',
  413: '413 Payload Too Large',
  429: '429 Too Many Requests',
  500: '500 Internal Server Error',
  503: '503 Service Unavailable',
} satisfies Record<ErrorSpec['status'] | 200 | 204, string>;

/** Seconds a client should wait before retrying a 503 (or a 429 that names no other wait). */
const RETRY_AFTER_SECONDS = '1';
const JSON_TYPE = 'application/json';

/** The JSON body of each code's answer, built on first use: a refused ping costs no stringify. */
const BODIES = new Map<ErrorSpec, string>();

/** `{"code","message"}`: what every non-2xx answer of both ports carries. */
function errorBody(error: ErrorSpec, message = error.message): string {
  if (message !== error.message) return JSON.stringify({ code: error.code, message });
  let body = BODIES.get(error);
  if (body === undefined) BODIES.set(error, (body = JSON.stringify({ code: error.code, message })));
  return body;
}

/**
 * Answers with an error from the catalogue: its status, the JSON body `{"code","message"}` (so a
 * client tells RATE_LIMITED from TOO_MANY_STREAMS, both 429, by its code), and `Retry-After` on
 * 503 and 429 (`headers` may name another wait). `closeConnection` when the request body was not
 * read to its end; `message` when a more specific reason than the catalogue's helps (the admin
 * port names what it serves).
 */
export function answerError(
  res: HttpResponse,
  error: ErrorSpec,
  closeConnection = false,
  headers?: Readonly<Record<string, string>>,
  message?: string,
): void {
  res.cork(() => {
    res.writeStatus(STATUS_LINES[error.status]).writeHeader('Content-Type', JSON_TYPE);
    if ((error.status === 503 || error.status === 429) && headers?.['Retry-After'] === undefined) {
      res.writeHeader('Retry-After', RETRY_AFTER_SECONDS);
    }
    if (headers) for (const [name, value] of Object.entries(headers)) res.writeHeader(name, value);
    res.end(errorBody(error, message), closeConnection);
  });
}

export function answerJson(res: HttpResponse, body: unknown, headers?: Readonly<Record<string, string>>): void {
  res.cork(() => {
    res.writeStatus(STATUS_LINES[200]).writeHeader('Content-Type', JSON_TYPE);
    if (headers) for (const [name, value] of Object.entries(headers)) res.writeHeader(name, value);
    res.end(JSON.stringify(body));
  });
}

export function answerEmpty(res: HttpResponse, status: 200 | 204, headers?: Readonly<Record<string, string>>): void {
  res.cork(() => {
    res.writeStatus(STATUS_LINES[status]);
    // Every acknowledged ping comes here: no entries array when there are no extra headers.
    if (headers) for (const [name, value] of Object.entries(headers)) res.writeHeader(name, value);
    res.endWithoutBody(0);
  });
}

/**
 * Any other answer (the admin port's probes, metrics and pages): a status, its content type, a
 * body and headers, written the same way as the public port's.
 */
export function answer(
  res: HttpResponse,
  status: number,
  type: string,
  body: string | Buffer,
  headers?: Readonly<Record<string, string>>,
): void {
  res.cork(() => {
    res.writeStatus(STATUS_LINES[status]).writeHeader('Content-Type', type);
    if (headers) for (const [name, value] of Object.entries(headers)) res.writeHeader(name, value);
    res.end(body);
  });
}
