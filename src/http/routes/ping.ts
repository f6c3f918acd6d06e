import { performance } from 'node:perf_hooks';
import type { PingRequest } from '../../../machines/ping.js';
import { submitErase, submitPing, type PingActor } from '../../pings/ping-actor.js';
import { claimText } from '../claim.js';
import type { Headers } from '../cors.js';
import { readBody } from '../read-body.js';
import { Errors } from '../errors.js';
import { answerEmpty, answerError } from '../respond.js';
import type { ProxyTrust } from '../trust.js';
import type { HttpRequest, HttpResponse } from '../uws.js';

/**
 * `POST /ping` and `DELETE /ping`: collect the claim and body and hand them to the ping actor,
 * which decides the answer. The edge only guarantees that a response is written once, and never
 * after abort.
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

type Answered = (status: number, code: string | undefined, seconds: number) => void;

/**
 * Collects what the ping actor judges a request by (claim, header problems, trusted peer, body)
 * and builds its `answer`: `success` without a code, the catalogue's status with one.
 */
function pingActorRoute(trust: ProxyTrust, success: 200 | 204, onAnswered: Answered | undefined, submit: (request: PingRequest) => void) {
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
      submit({
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
            onAnswered?.(success, undefined, seconds);
            return answerEmpty(res, success, cors);
          }
          const error = Errors[code];
          onAnswered?.(error.status, code, seconds);
          if (retryAfterSeconds !== undefined) return answerError(res, error, false, { 'Retry-After': String(retryAfterSeconds), ...cors });
          // The body was not read to its end, or its length is unknown: close the connection.
          answerError(res, error, code === 'BODY_TOO_LARGE' || code === 'BAD_CONTENT_LENGTH', cors);
        },
      });
    });
  };
}

/** `POST /ping`: 200 once stored. */
export function pingRoute(pingActor: PingActor, trust: ProxyTrust, onAnswered?: Answered) {
  return pingActorRoute(trust, 200, onAnswered, (request) => submitPing(pingActor, request));
}

/**
 * `DELETE /ping`: erases the claim's user, 204 once erased. Any body is read and ignored; the
 * ping actor judges the rest as for a ping (claim, trusted peer, size, rate limit).
 */
export function eraseRoute(pingActor: PingActor, trust: ProxyTrust, onAnswered?: Answered) {
  return pingActorRoute(trust, 204, onAnswered, ({ body: _body, parsed: _parsed, ...request }) => submitErase(pingActor, request));
}
