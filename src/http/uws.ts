import uWS from 'uWebSockets.js';

export type { HttpRequest, HttpResponse, TemplatedApp, us_listen_socket } from 'uWebSockets.js';
export { uWS };

/**
 * The package silently falls back to a JS shim (node:http underneath, many times slower and
 * without real backpressure) when its native binary does not load on this Node/glibc. A native
 * function's source is `[native code]`; the shim's App is an ordinary JS function.
 */
export function isNativeUws(): boolean {
  return /\[native code\]/.test(Function.prototype.toString.call(uWS.App));
}
