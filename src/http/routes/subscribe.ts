import type { StreamFormat } from '../../../machines/subscription.js';
import { Errors, type ErrorCode } from '../../errors.js';
import type { Subscriptions } from '../../subscriptions.js';
import { viewerOf } from '../claim.js';
import type { Headers } from '../cors.js';
import { decodeId, parseLastEventId, usersOfQuery } from '../ids.js';
import { answerError } from '../respond.js';
import { UwsStreamSink } from '../stream-sink.js';
import type { ProxyTrust } from '../trust.js';
import type { HttpRequest, HttpResponse } from '../uws.js';

/** How long a client refused TOO_MANY_STREAMS should wait: streams close on their owner's schedule. */
const STREAMS_RETRY_AFTER = { 'Retry-After': '10' };

export interface SubscribeRouteOptions {
  subscriptions: Subscriptions;
  /**
   * Who may send X-User-Claim (TRUSTED_PROXIES): only their claims count against
   * MAX_STREAMS_PER_USER and let a user's own devices see its invisible pings.
   */
  trust: ProxyTrust;
  /** A refused stream, by error code (metrics). */
  onRefused?: (code: ErrorCode) => void;
  /** The `retry:` hint sent at open, in ms. */
  retryMs: number;
  maxUsersPerStream: number;
  /** Whether new streams are refused (shutting down). */
  isClosing: () => boolean;
}

type Target = { users: string[]; clientid?: string; format: StreamFormat };

/** Turns the request into a stream's target, or answers the error and returns null. */
type Resolve = (res: HttpResponse, req: HttpRequest, cors: Headers | undefined) => Target | null;

function openStream(options: SubscribeRouteOptions, resolve: Resolve) {
  return (res: HttpResponse, req: HttpRequest, cors?: Headers): void => {
    const target = resolve(res, req, cors);
    if (target === null) return;
    const refuse = (code: ErrorCode, headers?: Record<string, string>) => {
      options.onRefused?.(code);
      answerError(res, Errors[code], false, headers ? { ...headers, ...cors } : cors);
    };
    // A claim is optional; one that is present must be valid and come from a trusted proxy.
    const reader = viewerOf(res, req, options.trust);
    if ('error' in reader) return refuse(reader.error.code as ErrorCode);
    if (options.isClosing()) return refuse('SHUTTING_DOWN');
    if (!options.subscriptions.hasRoom()) return refuse('TOO_MANY_CONNECTIONS');
    const claimant = reader.viewer;
    if (claimant !== undefined && !options.subscriptions.hasRoomFor(claimant)) return refuse('TOO_MANY_STREAMS', STREAMS_RETRY_AFTER);
    // A malformed Last-Event-ID (never sent by a browser, but a proxy may mangle it) resumes nothing:
    // the stream replays everything rather than failing the reconnect.
    const resumeAfter = parseLastEventId(req.getHeader('last-event-id'));
    // The sink registers onAborted/onWritable now and reports them to the actor it is opened by.
    const sink = new UwsStreamSink(res, options.retryMs, cors);
    options.subscriptions.open({ sink, ...target, resumeAfter, claimant });
  };
}

/** `GET /subscribe/:userid` and `GET /subscribe/:userid/client/:clientid`. */
export function subscribeUserRoute(options: SubscribeRouteOptions, withClient: boolean) {
  return openStream(options, (res, req, cors) => {
    const userid = decodeId(req.getParameter(0));
    const clientid = withClient ? decodeId(req.getParameter(1)) : undefined;
    if (userid === null || clientid === null) {
      answerError(res, Errors.ID_INVALID, false, cors);
      return null;
    }
    return { users: [userid], clientid, format: 'single' };
  });
}

/** `GET /subscribe?user=a&user=b`: one stream for a whole contact list. */
export function subscribeManyRoute(options: SubscribeRouteOptions) {
  return openStream(options, (res, req, cors) => {
    const users = usersOfQuery(req.getQuery() ?? '');
    if (users === null) answerError(res, Errors.ID_INVALID, false, cors);
    else if (users.length === 0) answerError(res, Errors.NO_USERS, false, cors);
    else if (users.length > options.maxUsersPerStream) answerError(res, Errors.TOO_MANY_USERS, false, cors);
    else return { users, format: 'multi' };
    return null;
  });
}
