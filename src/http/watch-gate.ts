import type { ContactsPolicy, WatchDecision } from '../watch/contacts-policy.js';
import { Errors, type ErrorSpec } from './errors.js';
import type { HttpResponse } from './uws.js';

/** How long a client refused CONTACTS_UNAVAILABLE should wait: a watcher's failed call is retried after a second at the earliest. */
export const CONTACTS_RETRY_AFTER = { 'Retry-After': '2' };

const REFUSALS: Record<Exclude<WatchDecision, 'allowed'>, ErrorSpec> = {
  not_a_contact: Errors.NOT_A_CONTACT,
  unavailable: Errors.CONTACTS_UNAVAILABLE,
};

/**
 * WATCH_POLICY at a route: `proceed()` when `watcher` may see `users` (at once with no policy, or
 * with a decision from a fresh cached contact set), else `refuse(error)`. Under WATCH_POLICY=contacts
 * a request without a claim is refused 401 CLAIM_REQUIRED. When backend-core must be asked, the
 * answer comes later: the request's headers must have been read already, and nothing is done
 * for a client that went away meanwhile (uWS: never touch an aborted response).
 */
export function whenAllowed(
  res: HttpResponse,
  policy: ContactsPolicy | null,
  watcher: string | undefined,
  claim: string,
  users: readonly string[],
  proceed: () => void,
  refuse: (error: ErrorSpec) => void,
): void {
  if (policy === null) return proceed();
  if (watcher === undefined) return refuse(Errors.CLAIM_REQUIRED);
  const decision = policy.decide(watcher, claim, users);
  if (typeof decision === 'string') return decision === 'allowed' ? proceed() : refuse(REFUSALS[decision]);
  let aborted = false;
  // Replaced by the stream sink's own handler once the stream opens.
  res.onAborted(() => {
    aborted = true;
  });
  void decision.then((later) => {
    if (aborted) return;
    if (later === 'allowed') proceed();
    else refuse(REFUSALS[later]);
  });
}
