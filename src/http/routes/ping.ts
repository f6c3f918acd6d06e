import { performance } from 'node:perf_hooks';
import type { PingRequest } from '../../../machines/ping.js';
import { submitPing, type PingActor } from '../../pings/ping-actor.js';
import { claimText } from '../claim.js';
import type { Headers } from '../cors.js';
import { readBody } from '../read-body.js';
import { Errors } from '../errors.js';
import { answerEmpty, answerError } from '../respond.js';
import type { ProxyTrust } from '../trust.js';
import type { HttpRequest, HttpResponse } from '../uws.js';

/**
 * `POST /ping`: collects the claim and body and hands them to the ping actor, which decides
 * the answer. The edge only guarantees that a response is written once, and never after abort.
 */
/**
 * What only the whole header list shows: a second X-User-Claim (a proxy that appends instead of
 * replacing), or a Content-Length uWS would read as 0 (empty, blanks, non-digits), which would
 * store a bare ping and parse the body as the next request.
 */
function headerRejection(req: HttpRequest): PingRequest['headerRejection'] {
  let claims = 0;
  let badLength = false;
  req.forEach((name, value) => {
    if (name === 'x-user-claim') claims++;
    else if (name === 'content-length' && !/^\d+$/.test(value)) badLength = true;
  });
  return badLength ? 'BAD_CONTENT_LENGTH' : claims > 1 ? 'CLAIM_DUPLICATE' : undefined;
}

export function pingRoute(
  pingActor: PingActor,
  trust: ProxyTrust,
  onAnswered?: (status: number, code: string | undefined, seconds: number) => void,
) {
  return (res: HttpResponse, req: HttpRequest, cors?: Headers): void => {
    const startedAt = performance.now();
    const claim = claimText(req.getHeader('x-user-claim'));
    const rejection = headerRejection(req);
    const fromTrustedPeer = trust.isTrustedPeer(res);
    if (!fromTrustedPeer && claim !== undefined) trust.claimRefused(res);
    let finished = false;
    res.onAborted(() => {
      finished = true;
    });
    readBody(res, (body, tooLarge) => {
      const request: PingRequest = {
        claim,
        body: tooLarge ? '' : body,
        bodyTooLarge: tooLarge,
        headerRejection: rejection,
        fromTrustedPeer,
        answer: (code, retryAfterSeconds) => {
          if (finished) return;
          finished = true;
          const seconds = (performance.now() - startedAt) / 1000;
          if (code === undefined) {
            onAnswered?.(200, undefined, seconds);
            return answerEmpty(res, 200, cors);
          }
          const error = Errors[code];
          onAnswered?.(error.status, code, seconds);
          if (retryAfterSeconds !== undefined) return answerError(res, error, false, { 'Retry-After': String(retryAfterSeconds), ...cors });
          // The body was not read to its end, or its length is unknown: close the connection.
          answerError(res, error, code === 'BODY_TOO_LARGE' || code === 'BAD_CONTENT_LENGTH', cors);
        },
      };
      submitPing(pingActor, request);
    });
  };
}
