import { Errors } from '../errors.js';
import type { PingActor } from '../ping-pipeline.js';
import type { PresenceBackend } from '../presence/types.js';
import { lastSeenManyRoute, lastSeenUserRoute } from './routes/lastseen.js';
import { pingRoute } from './routes/ping.js';
import { subscribeManyRoute, subscribeUserRoute, type SubscribeRouteOptions } from './routes/subscribe.js';
import { answerEmpty, answerError } from './respond.js';
import type { ProxyTrust } from './trust.js';
import { uWS, type HttpRequest, type HttpResponse, type TemplatedApp } from './uws.js';

export interface PublicAppOptions extends SubscribeRouteOptions {
  pipeline: PingActor;
  backend: PresenceBackend;
  trust: ProxyTrust;
  onPingAnswered?: (status: number, code?: string) => void;
  /** A handler threw: a bug. The request gets a 500 instead of the process dying. */
  onHandlerError?: (error: unknown) => void;
}

type Handler = (res: HttpResponse, req: HttpRequest) => void;
type Method = 'get' | 'post';

type Report = (error: unknown) => void;

/** A throwing handler must not take the process (and every open stream) down with it. */
function guarded(handler: Handler, report: Report): Handler {
  return (res, req) => {
    try {
      handler(res, req);
    } catch (error) {
      report(error);
      try {
        answerError(res, Errors.INTERNAL, true);
      } catch {
        // already answered or aborted
      }
    }
  };
}

/**
 * Registers a path with its handlers, an OPTIONS answer (2xx with Allow: browsers behind traefik
 * preflight POST /ping) and a 405 with Allow for every other method.
 */
function route(app: TemplatedApp, report: Report, pattern: string, handlers: Partial<Record<Method, Handler>>): void {
  const allow = [...Object.keys(handlers).map((m) => m.toUpperCase()), 'OPTIONS'].join(', ');
  for (const [method, handler] of Object.entries(handlers) as [Method, Handler][]) app[method](pattern, guarded(handler, report));
  app.options(pattern, (res) => answerEmpty(res, 204, { Allow: allow }));
  app.any(pattern, (res) => answerError(res, Errors.METHOD_NOT_ALLOWED, false, { Allow: allow }));
}

/** The public port: the Beep presence API. */
export function createPublicApp(options: PublicAppOptions): TemplatedApp {
  const app = uWS.App();
  const report: Report = options.onHandlerError ?? (() => {});
  route(app, report, '/ping', { post: pingRoute(options.pipeline, options.trust, options.onPingAnswered) });
  route(app, report, '/subscribe', { get: subscribeManyRoute(options) });
  route(app, report, '/subscribe/:userid', { get: subscribeUserRoute(options, false) });
  route(app, report, '/subscribe/:userid/client/:clientid', { get: subscribeUserRoute(options, true) });
  route(app, report, '/lastseen', { get: lastSeenManyRoute(options.backend, options.maxUsersPerStream) });
  route(app, report, '/lastseen/:userid', { get: lastSeenUserRoute(options.backend) });
  app.any('/*', (res) => answerError(res, Errors.NOT_FOUND));
  return app;
}
