import type { StreamFormat } from '../../../machines/subscription.js';
import { Errors, type ErrorSpec } from '../errors.js';
import type { Subscriptions } from '../../streams/subscriptions.js';
import { watcherOf } from '../claim.js';
import type { Headers } from '../cors.js';
import { decodeId, parseLastEventId, usersOfQuery } from '../ids.js';
import { answerError } from '../respond.js';
import { UwsStreamSink } from '../../streams/stream-sink.js';
import type { ProxyTrust } from '../trust.js';
import { CONTACTS_RETRY_AFTER, whenAllowed } from '../watch-gate.js';
import type { ContactsPolicy } from '../../watch/contacts-policy.js';
import type { HttpRequest, HttpResponse } from '../uws.js';

/** How long a client refused TOO_MANY_STREAMS should wait: streams close on their watcher's schedule. */
const STREAMS_RETRY_AFTER = { 'Retry-After': '10' };

export interface SubscribeRouteOptions {
  subscriptions: Subscriptions;
  /**
   * Who may send X-User-Claim (TRUSTED_PROXIES): only their claims count against
   * MAX_STREAMS_PER_USER and let a user's own devices see its invisible pings.
   */
  trust: ProxyTrust;
  /** A stream request was refused with `error`, whatever the reason (metrics). */
  onStreamRefused?: (error: ErrorSpec) => void;
  /** The `retry:` hint sent at open, in ms. */
  retryMs: number;
  maxUsersPerStream: number;
  /** Whether new streams are refused (shutting down). */
  isClosing: () => boolean;
  /** WATCH_POLICY=contacts: who may watch whom; null lets anyone watch anyone. */
  watchPolicy: ContactsPolicy | null;
}

type Target = { users: string[]; clientid?: string; format: StreamFormat };

/** Turns the request into a stream's target, or the error it is refused with. */
type Resolve = (req: HttpRequest) => Target | ErrorSpec;

function openStream(options: SubscribeRouteOptions, resolve: Resolve) {
  return (res: HttpResponse, req: HttpRequest, cors?: Headers): void => {
    // Every refusal goes through here, so the metrics count each one by its catalogue code.
    const refuse = (error: ErrorSpec, headers?: Record<string, string>) => {
      options.onStreamRefused?.(error);
      answerError(res, error, false, headers ? { ...headers, ...cors } : cors);
    };
    const target = resolve(req);
    if ('code' in target) return refuse(target);
    // A claim is optional; one that is present must be valid and come from a trusted proxy.
    const claimed = watcherOf(res, req, options.trust);
    if ('error' in claimed) return refuse(claimed.error);
    const { watcher } = claimed;
    const roomError = () => {
      if (options.isClosing()) return Errors.SHUTTING_DOWN;
      if (!options.subscriptions.hasRoom()) return Errors.TOO_MANY_CONNECTIONS;
      if (watcher !== undefined && !options.subscriptions.hasRoomFor(watcher)) return Errors.TOO_MANY_STREAMS;
      return null;
    };
    const refuseRoom = (error: ErrorSpec) => refuse(error, error === Errors.TOO_MANY_STREAMS ? STREAMS_RETRY_AFTER : undefined);
    const full = roomError();
    if (full !== null) return refuseRoom(full);
    // Read now: the request is gone once this handler returns, and the policy may answer later.
    // A malformed Last-Event-ID (never sent by a browser, but a proxy may mangle it) resumes nothing:
    // the stream replays everything rather than failing the reconnect.
    const resumeAfter = parseLastEventId(req.getHeader('last-event-id'));
    const claim = req.getHeader('x-user-claim');
    whenAllowed(
      res,
      options.watchPolicy,
      watcher,
      claim,
      target.users,
      () => {
        // Checked again: the policy may have answered after other streams opened or shutdown began.
        const stillFull = roomError();
        if (stillFull !== null) return refuseRoom(stillFull);
        // Takes the watcher's place in one step for every worker: the checks above only refuse early.
        if (watcher !== undefined && !options.subscriptions.claimStreamFor(watcher)) return refuseRoom(Errors.TOO_MANY_STREAMS);
        // The sink registers onAborted/onWritable now and reports them to the actor it is opened by.
        const sink = new UwsStreamSink(res, options.retryMs, cors);
        options.subscriptions.open({ sink, ...target, resumeAfter, watcher });
      },
      (error) => refuse(error, error === Errors.CONTACTS_UNAVAILABLE ? CONTACTS_RETRY_AFTER : undefined),
    );
  };
}

/** `GET /subscribe/:userid` and `GET /subscribe/:userid/client/:clientid`. */
export function subscribeUserRoute(options: SubscribeRouteOptions, withClient: boolean) {
  return openStream(options, (req) => {
    const userid = decodeId(req.getParameter(0));
    const clientid = withClient ? decodeId(req.getParameter(1)) : undefined;
    if (userid === null || clientid === null) return Errors.ID_INVALID;
    return { users: [userid], clientid, format: 'single' };
  });
}

/** `GET /subscribe?user=a&user=b`: one stream for a whole contact list. */
export function subscribeManyRoute(options: SubscribeRouteOptions) {
  return openStream(options, (req) => {
    const users = usersOfQuery(req.getQuery() ?? '');
    if (users === null) return Errors.ID_INVALID;
    if (users.length === 0) return Errors.NO_USERS;
    if (users.length > options.maxUsersPerStream) return Errors.TOO_MANY_USERS;
    return { users, format: 'multi' };
  });
}
