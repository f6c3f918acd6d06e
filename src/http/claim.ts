import { parseClaim } from '../../machines/ping-request.js';
import { Errors, type ErrorSpec } from './errors.js';
import { utf8 } from './read-body.js';
import type { ProxyTrust } from './trust.js';
import type { HttpRequest, HttpResponse } from './uws.js';

/** X-User-Claim arrives as latin1 from uWS; a claim is UTF-8 JSON. Undecodable → invalid JSON. */
export function claimText(raw: string): string | undefined {
  if (raw === '') return undefined;
  // eslint-disable-next-line no-control-regex
  if (!/[^\x00-\x7f]/.test(raw)) return raw;
  return utf8(Buffer.from(raw, 'latin1')) ?? '\ufffd';
}

/** How many X-User-Claim headers the request has (a proxy that appends instead of replacing: 2). */
function claimCount(req: HttpRequest): number {
  let claims = 0;
  req.forEach((name) => {
    if (name === 'x-user-claim') claims++;
  });
  return claims;
}

/**
 * The watcher (`GET /subscribe…`, `/lastseen…`): the user a trusted proxy's X-User-Claim
 * names, so that user's own devices see its invisible pings. The claim is optional there: none
 * means the public view. A claim that is present must be valid and come from TRUSTED_PROXIES, as
 * on POST /ping (403 CLAIM_UNTRUSTED otherwise), rather than being quietly ignored: a client
 * that sends one expects to be recognised, and a proxy left out of TRUSTED_PROXIES shows at once.
 */
export function watcherOf(res: HttpResponse, req: HttpRequest, trust: ProxyTrust): { watcher: string | undefined } | { error: ErrorSpec } {
  const claim = claimText(req.getHeader('x-user-claim'));
  if (claim === undefined) return { watcher: undefined };
  if (claimCount(req) > 1) return { error: Errors.CLAIM_DUPLICATE };
  if (!trust.isTrustedPeer(res)) {
    trust.claimRefused(res);
    return { error: Errors.CLAIM_UNTRUSTED };
  }
  const parsed = parseClaim(claim);
  return parsed.ok ? { watcher: parsed.userid } : { error: Errors[parsed.rejection] };
}
