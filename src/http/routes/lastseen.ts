import { Errors } from '../errors.js';
import { pingPayload } from '../../streams/frames.js';
import type { Store, StoredPing } from '../../store/types.js';
import { lastPingsAsSeenBy } from '../../store/views.js';
import { watcherOf } from '../claim.js';
import type { Headers } from '../cors.js';
import { decodeId, usersOfQuery } from '../ids.js';
import { answerError, answerJson } from '../respond.js';
import type { ProxyTrust } from '../trust.js';
import type { HttpRequest, HttpResponse } from '../uws.js';

/**
 * Reads the users' last pings as the watcher may see them (the public view, or with a trusted
 * claim its own view of itself) and answers with `build(pings)`, or 503 when the store is away.
 */
function answerLastPings(
  res: HttpResponse,
  req: HttpRequest,
  store: Store,
  trust: ProxyTrust,
  cors: Headers | undefined,
  users: string[],
  build: (pings: (StoredPing | null)[]) => unknown,
): void {
  const claimed = watcherOf(res, req, trust);
  if ('error' in claimed) return answerError(res, claimed.error, false, cors);
  let aborted = false;
  res.onAborted(() => {
    aborted = true;
  });
  lastPingsAsSeenBy(store, users, claimed.watcher).then(
    (pings) => {
      if (aborted) return;
      const body = build(pings);
      if (body === null) answerError(res, Errors.NEVER_SEEN, false, cors);
      else answerJson(res, body, cors);
    },
    () => aborted || answerError(res, Errors.STORE_UNAVAILABLE, false, cors),
  );
}

/** `GET /lastseen/:userid` → `{"time","status"}` or 404. */
export function lastSeenUserRoute(store: Store, trust: ProxyTrust) {
  return (res: HttpResponse, req: HttpRequest, cors?: Headers): void => {
    const userid = decodeId(req.getParameter(0));
    if (userid === null) return answerError(res, Errors.ID_INVALID, false, cors);
    answerLastPings(res, req, store, trust, cors, [userid], ([ping]) => (ping ? pingPayload(ping) : null));
  };
}

/** `GET /lastseen?user=a&user=b` → `{"a":{…},"b":null}`. */
export function lastSeenManyRoute(store: Store, trust: ProxyTrust, maxUsers: number) {
  return (res: HttpResponse, req: HttpRequest, cors?: Headers): void => {
    const users = usersOfQuery(req.getQuery() ?? '');
    if (users === null) return answerError(res, Errors.ID_INVALID, false, cors);
    if (users.length === 0) return answerError(res, Errors.NO_USERS, false, cors);
    if (users.length > maxUsers) return answerError(res, Errors.TOO_MANY_USERS, false, cors);
    answerLastPings(res, req, store, trust, cors, users, (pings) => {
      // A null-prototype object: a user called `__proto__` is just a key.
      const body = Object.create(null) as Record<string, unknown>;
      users.forEach((u, i) => (body[u] = pings[i] ? pingPayload(pings[i]) : null));
      return body;
    });
  };
}
