import { Errors, type ErrorSpec } from '../errors.js';
import { pingPayload } from '../../streams/frames.js';
import type { Store, StoredPing } from '../../store/types.js';
import { lastPingsAsSeenBy } from '../../store/views.js';
import { watcherOf } from '../claim.js';
import type { Headers } from '../cors.js';
import { decodeId, usersOfQuery } from '../ids.js';
import { answerError, answerJson } from '../respond.js';
import type { ProxyTrust } from '../trust.js';
import { CONTACTS_RETRY_AFTER, whenAllowed } from '../watch-gate.js';
import type { ContactsPolicy } from '../../watch/contacts-policy.js';
import type { HttpRequest, HttpResponse } from '../uws.js';

/** What the `/lastseen` routes read: the store, who may send a claim, and who may watch whom. */
export interface LastSeenOptions {
  readonly store: Store;
  readonly trust: ProxyTrust;
  /** WATCH_POLICY=contacts; null: anyone may read anyone's last ping. */
  readonly watchPolicy: ContactsPolicy | null;
  /** OFFLINE_AFTER in seconds: each answer says `"online"` by it (0: no `"online"`). */
  readonly offlineAfterSeconds: number;
}

/**
 * Reads the users' last pings as the watcher may see them (the public view, or with a trusted
 * claim its own view of itself) and answers with `build(pings)`, or 503 when the store is away.
 * Under WATCH_POLICY=contacts a batch with any user the watcher may not see is refused whole.
 */
function answerLastPings(
  res: HttpResponse,
  req: HttpRequest,
  { store, trust, watchPolicy }: LastSeenOptions,
  cors: Headers | undefined,
  users: string[],
  build: (pings: (StoredPing | null)[]) => unknown,
): void {
  const claimed = watcherOf(res, req, trust);
  if ('error' in claimed) return answerError(res, claimed.error, false, cors);
  const refuse = (error: ErrorSpec) =>
    answerError(res, error, false, error === Errors.CONTACTS_UNAVAILABLE ? { ...CONTACTS_RETRY_AFTER, ...cors } : cors);
  whenAllowed(
    res,
    watchPolicy,
    claimed.watcher,
    req.getHeader('x-user-claim'),
    users,
    () => read(res, store, cors, users, claimed.watcher, build),
    refuse,
  );
}

function read(
  res: HttpResponse,
  store: Store,
  cors: Headers | undefined,
  users: string[],
  watcher: string | undefined,
  build: (pings: (StoredPing | null)[]) => unknown,
): void {
  let aborted = false;
  res.onAborted(() => {
    aborted = true;
  });
  lastPingsAsSeenBy(store, users, watcher).then(
    (pings) => {
      if (aborted) return;
      const body = build(pings);
      if (body === null) answerError(res, Errors.NEVER_SEEN, false, cors);
      else answerJson(res, body, cors);
    },
    () => aborted || answerError(res, Errors.STORE_UNAVAILABLE, false, cors),
  );
}

/**
 * A /lastseen answer for one user: `{"time","status"}`, and `"online"` by OFFLINE_AFTER (the same
 * rule as the streams' `offline`: the last ping, in the view read, is younger than it).
 */
function lastSeenPayload(ping: StoredPing, offlineAfterSeconds: number): { time: number; status: string; online?: boolean } {
  const payload = pingPayload(ping);
  return offlineAfterSeconds > 0 ? { ...payload, online: Date.now() < (ping.time + offlineAfterSeconds) * 1000 } : payload;
}

/** `GET /lastseen/:userid` → `{"time","status","online"}` or 404. */
export function lastSeenUserRoute(options: LastSeenOptions) {
  return (res: HttpResponse, req: HttpRequest, cors?: Headers): void => {
    const userid = decodeId(req.getParameter(0));
    if (userid === null) return answerError(res, Errors.ID_INVALID, false, cors);
    answerLastPings(res, req, options, cors, [userid], ([ping]) => (ping ? lastSeenPayload(ping, options.offlineAfterSeconds) : null));
  };
}

/** `GET /lastseen?user=a&user=b` → `{"a":{…},"b":null}`. */
export function lastSeenManyRoute(options: LastSeenOptions, maxUsers: number) {
  return (res: HttpResponse, req: HttpRequest, cors?: Headers): void => {
    const users = usersOfQuery(req.getQuery() ?? '');
    if (users === null) return answerError(res, Errors.ID_INVALID, false, cors);
    if (users.length === 0) return answerError(res, Errors.NO_USERS, false, cors);
    if (users.length > maxUsers) return answerError(res, Errors.TOO_MANY_USERS, false, cors);
    answerLastPings(res, req, options, cors, users, (pings) => {
      // A null-prototype object: a user called `__proto__` is just a key.
      const body = Object.create(null) as Record<string, unknown>;
      users.forEach((u, i) => (body[u] = pings[i] ? lastSeenPayload(pings[i], options.offlineAfterSeconds) : null));
      return body;
    });
  };
}
