import { createRequire } from 'node:module';

export type { HttpRequest, HttpResponse, TemplatedApp, us_listen_socket } from 'uWebSockets.js';

type Uws = typeof import('uWebSockets.js');

/**
 * The largest request head (request line and headers) in bytes, unless UWS_HTTP_MAX_HEADERS_SIZE
 * says otherwise; a larger one is answered 431 by uWebSockets.js itself. uWS reads that variable
 * once, when its binary loads. v20.51 applies its default, 4096, to every head (v20.30 only to
 * one split over several reads): too small for `/subscribe?user=…` and `/lastseen?user=…` (a
 * hundred UUIDs are 4.2 KB). 32 KiB holds MAX_USERS_PER_STREAM's default of 500 UUID-sized ids
 * with room for a token and traefik's headers.
 */
const DEFAULT_MAX_HEAD_BYTES = 32 * 1024;

/**
 * The package (@based/uws) loads the binary built for this platform and Node ABI and throws when
 * there is none or it does not load (Node 24 here, an older glibc, Alpine's musl): it has no JS
 * fallback. Caught so that main refuses to start with a log line that says why, instead of a
 * stack trace from an import; whatever touches the module then rethrows the load error.
 */
function load(): { uWS: Uws; error: Error | null } {
  process.env.UWS_HTTP_MAX_HEADERS_SIZE ||= String(DEFAULT_MAX_HEAD_BYTES);
  try {
    return { uWS: createRequire(import.meta.url)('uWebSockets.js') as Uws, error: null };
  } catch (thrown) {
    const error = thrown instanceof Error ? thrown : new Error(String(thrown));
    const uWS = new Proxy({} as Uws, {
      get() {
        throw error;
      },
    });
    return { uWS, error };
  }
}

let loaded: { uWS: Uws; error: Error | null } | null = null;

/**
 * uWebSockets.js, loaded on first use rather than on import: main reads `.env` first, so a
 * UWS_HTTP_MAX_HEADERS_SIZE set there reaches the binary, which reads it once when it loads.
 */
export const uWS = new Proxy({} as Uws, {
  get: (_, key) => Reflect.get((loaded ??= load()).uWS, key) as unknown,
});

/** Why uWebSockets.js did not load, or null (loads it if nothing has yet). */
export function uwsLoadError(): Error | null {
  return (loaded ??= load()).error;
}

/**
 * A uWebSockets.js package may fall back silently to a JS shim (node:http underneath, many
 * times slower and without real backpressure) when its native binary does not load; the one
 * shipped (@based/uws) throws instead (`uwsLoadError()`). A native function's source is
 * `[native code]`; a shim's App is an ordinary JS function.
 */
export function isNativeUws(): boolean {
  return uwsLoadError() === null && /\[native code\]/.test(Function.prototype.toString.call(uWS.App));
}
