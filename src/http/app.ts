import { Errors } from './errors.js';
import type { PingActor } from '../pings/ping-actor.js';
import type { Store } from '../store/types.js';
import { lastSeenManyRoute, lastSeenUserRoute } from './routes/lastseen.js';
import { eraseRoute, pingRoute } from './routes/ping.js';
import { subscribeManyRoute, subscribeUserRoute, type SubscribeRouteOptions } from './routes/subscribe.js';
import type { CorsPolicy, Headers } from './cors.js';
import { answerEmpty, answerError } from './respond.js';
import type { ProxyTrust } from './trust.js';
import { uWS, type HttpRequest, type HttpResponse, type TemplatedApp } from './uws.js';
import { PUBLIC_ROUTES, type Method, type PublicRoute } from './route-table.js';

export interface PublicAppOptions extends SubscribeRouteOptions {
  pingActor: PingActor;
  store: Store;
  trust: ProxyTrust;
  /** OFFLINE_AFTER in seconds: /lastseen says `"online"` by it (0: no `"online"`). */
  offlineAfterSeconds: number;
  /** CORS_ORIGINS: which browser origins may call the API. */
  cors: CorsPolicy;
  /** A ping was answered: HTTP status, error code (refusals), seconds from request to answer. */
  onPingAnswered?: (status: number, code: string | undefined, seconds: number) => void;
  /** An erasure (DELETE /ping) was answered: HTTP status, error code (refusals). */
  onEraseAnswered?: (status: number, code: string | undefined) => void;
  /** A handler threw: a bug. The request gets a 500 instead of the process dying. */
  onHandlerError?: (error: unknown) => void;
}

/** `cors`: the CORS headers every answer to this request carries (undefined: none). */
type Handler = (res: HttpResponse, req: HttpRequest, cors?: Headers) => void;

/** uWS names DELETE's handler `del`. */
const METHOD_NAMES: Record<Method, string> = { get: 'GET', post: 'POST', del: 'DELETE' };

type Report = (error: unknown) => void;

/** A throwing handler must not take the process (and every open stream) down with it. */
function guarded(handler: Handler, report: Report): Handler {
  return (res, req, cors) => {
    try {
      handler(res, req, cors);
    } catch (error) {
      report(error);
      try {
        answerError(res, Errors.INTERNAL, true, cors);
      } catch {
        // already answered or aborted
      }
    }
  };
}

/**
 * Registers a path with its handlers, an OPTIONS answer (2xx with Allow: browsers behind traefik
 * preflight POST /ping; with the CORS preflight headers for an allowed Origin) and a 405 with
 * Allow for every other method. With CORS_ORIGINS empty no handler reads Origin at all.
 */
function route(app: TemplatedApp, report: Report, cors: CorsPolicy, pattern: string, handlers: Partial<Record<Method, Handler>>): void {
  const methods = (Object.keys(handlers) as Method[]).map((m) => METHOD_NAMES[m]);
  const allow = [...methods, 'OPTIONS'].join(', ');
  for (const [method, handler] of Object.entries(handlers) as [Method, Handler][]) {
    const safe = guarded(handler, report);
    app[method](pattern, cors.enabled ? (res, req) => safe(res, req, cors.headersFor(req.getHeader('origin'))) : safe);
  }
  app.options(pattern, (res, req) => {
    const preflight = cors.enabled ? cors.preflightFor(req.getHeader('origin'), methods.join(', ')) : undefined;
    answerEmpty(res, 204, preflight ? { Allow: allow, ...preflight } : { Allow: allow });
  });
  app.any(pattern, (res, req) => {
    const headers = cors.enabled ? cors.headersFor(req.getHeader('origin')) : undefined;
    answerError(res, Errors.METHOD_NOT_ALLOWED, false, { Allow: allow, ...headers });
  });
}

/** The public port: the Beep presence API. */
export function createPublicApp(options: PublicAppOptions): TemplatedApp {
  const app = uWS.App();
  const report: Report = options.onHandlerError ?? (() => {});
  const { cors, trust, store } = options;
  const lastSeen = { store, trust, watchPolicy: options.watchPolicy, offlineAfterSeconds: options.offlineAfterSeconds };
  const handlers: { [P in PublicRoute]: Record<(typeof PUBLIC_ROUTES)[P][number], Handler> } = {
    '/ping': {
      post: pingRoute(options.pingActor, trust, options.onPingAnswered),
      del: eraseRoute(options.pingActor, trust, options.onEraseAnswered),
    },
    '/subscribe': { get: subscribeManyRoute(options) },
    '/subscribe/:userid': { get: subscribeUserRoute(options, false) },
    '/subscribe/:userid/client/:clientid': { get: subscribeUserRoute(options, true) },
    '/lastseen': { get: lastSeenManyRoute(lastSeen, options.maxUsersPerStream) },
    '/lastseen/:userid': { get: lastSeenUserRoute(lastSeen) },
  };
  for (const pattern of Object.keys(PUBLIC_ROUTES) as PublicRoute[]) route(app, report, cors, pattern, handlers[pattern]);
  app.any('/*', (res) => answerError(res, Errors.NOT_FOUND));
  return app;
}
