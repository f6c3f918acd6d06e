import type { ErrorSpec } from './errors.js';
import type { HttpResponse } from './uws.js';

const STATUS_LINES: Record<number, string> = {
  200: '200 OK',
  204: '204 No Content',
  400: '400 Bad Request',
  403: '403 Forbidden',
  404: '404 Not Found',
  405: '405 Method Not Allowed',
  413: '413 Payload Too Large',
  429: '429 Too Many Requests',
  500: '500 Internal Server Error',
  503: '503 Service Unavailable',
};

/** Seconds a client should wait before retrying a 503 (or a 429 that names no other wait). */
const RETRY_AFTER_SECONDS = '1';

/**
 * Answers with an error from the catalogue: the status, a short plain-text reason, and
 * `Retry-After` on 503 and 429 (`headers` may name another wait). `closeConnection` when the
 * request body was not read to its end.
 */
export function answerError(
  res: HttpResponse,
  error: ErrorSpec,
  closeConnection = false,
  headers?: Readonly<Record<string, string>>,
): void {
  res.cork(() => {
    res.writeStatus(STATUS_LINES[error.status]).writeHeader('Content-Type', 'text/plain; charset=utf-8');
    if ((error.status === 503 || error.status === 429) && headers?.['Retry-After'] === undefined) {
      res.writeHeader('Retry-After', RETRY_AFTER_SECONDS);
    }
    for (const [name, value] of Object.entries(headers ?? {})) res.writeHeader(name, value);
    res.end(`${error.message}\n`, closeConnection);
  });
}

export function answerJson(res: HttpResponse, body: unknown, headers?: Readonly<Record<string, string>>): void {
  res.cork(() => {
    res.writeStatus(STATUS_LINES[200]).writeHeader('Content-Type', 'application/json');
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
