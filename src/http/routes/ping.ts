import type { PingRequest } from '../../../machines/ping.js';
import { submitPing, type PingActor } from '../../ping-pipeline.js';
import { readBody, utf8 } from '../read-body.js';
import { answerEmpty, answerError, errorByCode } from '../respond.js';
import type { ProxyTrust } from '../trust.js';
import type { HttpRequest, HttpResponse } from '../uws.js';

/**
 * `POST /ping`: collects the claim and body and hands them to the ping actor, which decides
 * the answer. The edge only guarantees that a response is written once, and never after abort.
 */
export function pingRoute(pipeline: PingActor, trust: ProxyTrust, onAnswered?: (status: number, code?: string) => void) {
  return (res: HttpResponse, req: HttpRequest): void => {
    const claim = req.getHeader('x-user-claim') || undefined;
    const fromTrustedPeer = trust.isTrustedPeer(res);
    let finished = false;
    res.onAborted(() => {
      finished = true;
    });
    readBody(res, (result) => {
      const request: PingRequest = {
        claim,
        body: result.tooLarge ? '' : utf8(result.body),
        bodyTooLarge: result.tooLarge,
        fromTrustedPeer,
        answer: (status, code) => {
          if (finished) return;
          finished = true;
          onAnswered?.(status, code);
          if (status === 200) answerEmpty(res, 200);
          else answerError(res, errorByCode(code), status === 413);
        },
      };
      submitPing(pipeline, request);
    });
  };
}
