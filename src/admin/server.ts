import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { ListenAddress } from '../process/config.js';
import { discoverMachines, type FoundMachine } from './machines.js';
import { toMermaid } from './mermaid.js';
import { Errors, type ErrorSpec } from '../http/errors.js';
import { formatAddress, listen } from '../http/listen.js';
import { answer, answerError } from '../http/respond.js';
import { uWS, type HttpResponse } from '../http/uws.js';
import type { Logger } from '../process/logger.js';
import { DEBUG_PAGE } from './debug-page.js';
import { ADMIN_ROUTES, type AdminRoute } from './routes.js';
import { createMetrics } from './metrics.js';
import { notReadyReason, sumActors, type AdminSource, type NotReadyReason } from './source.js';

export interface AdminServerOptions {
  source: AdminSource;
  listen: ListenAddress;
  log: Logger;
  /** The machines of /debug/machines; default: every machine exported from machines/. */
  machines?: readonly FoundMachine[];
}

export interface AdminServer {
  /** `host:port` actually bound (`*:9090` when listening on every interface). */
  readonly address: string;
  readonly port: number;
  /** Stops listening (us_listen_socket_close); open admin connections end with the process. */
  close(): void;
}

const JSON_TYPE = 'application/json';
/** Admin answers are live (probes, metrics): never cached unless a route says otherwise. */
const NO_STORE = { 'Cache-Control': 'no-store' };

/** An admin answer that succeeded. */
function send(res: HttpResponse, status: number, type: string, body: string | Buffer, headers: Record<string, string> = {}): void {
  answer(res, status, type, body, { ...NO_STORE, ...headers });
}

/** An admin refusal: the same `{"code","message"}` body as the public port's, with its own words. */
function refuse(res: HttpResponse, error: ErrorSpec, message?: string, headers?: Record<string, string>): void {
  answerError(res, error, false, { ...NO_STORE, ...headers }, message);
}

/** /readyz's 503: each reason the instances are not ready is a code of the catalogue. */
const NOT_READY: Record<NotReadyReason, ErrorSpec> = {
  'shutting down': Errors.SHUTTING_DOWN,
  'store unavailable': Errors.STORE_UNAVAILABLE,
  'worker not responding': Errors.WORKER_UNRESPONSIVE,
};

/**
 * Answers once `work` settles (the instances are sampled asynchronously: over worker threads when
 * WORKERS > 1); a 500 when it fails, nothing when the client went away meanwhile.
 */
function later<T>(res: HttpResponse, log: Logger, work: Promise<T>, respond: (value: T) => void): void {
  let aborted = false;
  res.onAborted(() => (aborted = true));
  work.then(
    (value) => aborted || respond(value),
    (error: unknown) => {
      log.error({ err: error }, 'metrics collection failed');
      if (!aborted) refuse(res, Errors.INTERNAL, 'metrics collection failed');
    },
  );
}

/**
 * mermaid.min.js, read once (no CDN: the page must work offline). mermaid is a devDependency
 * (~84 MB installed for this one file): `npm run build` copies the file next to the compiled
 * module; run from source, it is read from node_modules.
 */
function mermaidScript(): () => Buffer | null {
  let script: Buffer | null | undefined;
  const candidates = [
    () => new URL('./mermaid.min.js', import.meta.url),
    () => createRequire(import.meta.url).resolve('mermaid/dist/mermaid.min.js'),
  ];
  return () => {
    for (const candidate of candidates) {
      if (script !== undefined) break;
      try {
        script = readFileSync(candidate());
      } catch {
        // not at this place
      }
    }
    script ??= null;
    return script;
  };
}

/**
 * The admin port (ADMIN_LISTEN), a uWS app of its own, never the public one: health and
 * readiness probes, Prometheus metrics and the live machine diagrams. Nothing is logged per
 * request.
 */
export async function startAdminServer(options: AdminServerOptions): Promise<AdminServer> {
  const { source, log } = options;
  let machines: readonly FoundMachine[] = [];
  try {
    machines = options.machines ?? (await discoverMachines());
  } catch (error) {
    log.warn({ err: error }, 'machine diagrams unavailable on /debug/machines');
  }
  const diagrams = machines.map((m) => ({ ...m, diagram: toMermaid(m.machine) }));
  const metrics = createMetrics(source);
  const script = mermaidScript();

  const app = uWS.App();
  const get = (pattern: AdminRoute, handler: (res: HttpResponse) => void) => {
    app.get(pattern, handler);
    app.any(pattern, (res) => refuse(res, Errors.METHOD_NOT_ALLOWED, undefined, { Allow: 'GET' }));
  };

  const handlers: Record<AdminRoute, (res: HttpResponse) => void> = {
    '/healthz': (res) => send(res, 200, JSON_TYPE, '{"alive":true}'),
    '/readyz': (res) =>
      later(res, log, source.health(), (instances) => {
        const reason = notReadyReason(instances, source.workers);
        if (reason === null) send(res, 200, JSON_TYPE, '{"ready":true}');
        else refuse(res, NOT_READY[reason], reason);
      }),
    '/metrics': (res) => later(res, log, metrics.metrics(), (text) => send(res, 200, metrics.contentType, text)),
    '/debug/machines': (res) => send(res, 200, 'text/html; charset=utf-8', DEBUG_PAGE),
    '/debug/machines.json': (res) =>
      later(res, log, source.snapshots(), (instances) => {
        const counts = sumActors(instances);
        const reason = notReadyReason(instances, source.workers);
        const body = {
          streams: instances.reduce((sum, i) => sum + i.streams, 0),
          bucketChildren: instances.reduce((sum, i) => sum + i.bucketChildren, 0),
          workers: source.workers,
          ready: reason === null,
          ...(reason !== null && { reason }),
          machines: diagrams.map((m) => {
            const tracked = counts[m.id] !== undefined;
            return {
              id: m.id,
              file: m.file,
              export: m.exportName,
              tracked,
              counts: counts[m.id] ?? {},
              diagram: m.diagram,
              annotated: tracked ? toMermaid(m.machine, { counts: counts[m.id] }) : m.diagram,
            };
          }),
        };
        send(res, 200, JSON_TYPE, JSON.stringify(body));
      }),
    '/debug/mermaid.min.js': (res) => {
      const js = script();
      if (js === null)
        refuse(
          res,
          Errors.NOT_FOUND,
          'mermaid.min.js is missing: build with `npm run build` (it copies it from the devDependency mermaid)',
        );
      else send(res, 200, 'text/javascript; charset=utf-8', js, { 'Cache-Control': 'max-age=3600' });
    },
  };
  for (const pattern of ADMIN_ROUTES) get(pattern, handlers[pattern]);
  app.any('/*', (res) => refuse(res, Errors.NOT_FOUND, 'not found: the admin port serves /healthz, /readyz, /metrics, /debug/machines'));

  const { socket, port } = await listen(app, options.listen, 'ADMIN_LISTEN');
  let open = true;
  return {
    address: formatAddress(options.listen.host, port),
    port,
    close() {
      if (!open) return;
      open = false;
      uWS.us_listen_socket_close(socket);
    },
  };
}
