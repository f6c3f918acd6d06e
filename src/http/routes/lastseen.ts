import { Errors } from '../../errors.js';
import { PresenceEvent } from '../../presence/presence-event.js';
import type { PresenceBackend } from '../../presence/types.js';
import { decodeId, usersOfQuery } from '../ids.js';
import { answerError, answerJson } from '../respond.js';
import type { HttpRequest, HttpResponse } from '../uws.js';

/** Reads the users' last pings and answers with `build(pings)`, or 503 when the store is away. */
function answerLastPings(res: HttpResponse, backend: PresenceBackend, users: string[], build: (pings: Awaited<ReturnType<PresenceBackend['lastMany']>>) => unknown | null): void {
  let aborted = false;
  res.onAborted(() => {
    aborted = true;
  });
  backend.lastMany(users).then(
    (pings) => {
      if (aborted) return;
      const body = build(pings);
      if (body === null) answerError(res, Errors.NEVER_SEEN);
      else answerJson(res, body);
    },
    () => aborted || answerError(res, Errors.STORE_UNAVAILABLE),
  );
}

/** `GET /lastseen/:userid` → `{"time","status"}` or 404. */
export function lastSeenUserRoute(backend: PresenceBackend) {
  return (res: HttpResponse, req: HttpRequest): void => {
    const userid = decodeId(req.getParameter(0));
    if (userid === null) return answerError(res, Errors.ID_INVALID);
    answerLastPings(res, backend, [userid], ([ping]) => (ping ? PresenceEvent.payload(ping) : null));
  };
}

/** `GET /lastseen?user=a&user=b` → `{"a":{…},"b":null}`. */
export function lastSeenManyRoute(backend: PresenceBackend, maxUsers: number) {
  return (res: HttpResponse, req: HttpRequest): void => {
    const users = usersOfQuery(req.getQuery() ?? '');
    if (users === null) return answerError(res, Errors.ID_INVALID);
    if (users.length === 0) return answerError(res, Errors.NO_USERS);
    if (users.length > maxUsers) return answerError(res, Errors.TOO_MANY_USERS);
    answerLastPings(res, backend, users, (pings) => {
      // A null-prototype object: a user called `__proto__` is just a key.
      const body: Record<string, unknown> = Object.create(null);
      users.forEach((u, i) => (body[u] = pings[i] ? PresenceEvent.payload(pings[i]) : null));
      return body;
    });
  };
}
