import type { ListenAddress } from '../process/config.js';
import { uWS, type TemplatedApp, type us_listen_socket } from './uws.js';

/** A bound listen socket and the port it got (the one asked for, or the OS's pick for port 0). */
export interface Listening {
  readonly socket: us_listen_socket;
  readonly port: number;
}

/**
 * Binds `app` to `address` (an empty host: every interface). The one way this process listens:
 * the public app, the admin app and the worker pool's port probe. `what` names the address in
 * the error (`LISTEN`, `ADMIN_LISTEN`).
 */
export function listen(app: TemplatedApp, address: ListenAddress, what: string): Promise<Listening> {
  return new Promise((resolve, reject) => {
    const done = (socket: us_listen_socket | false) => {
      if (!socket) return reject(new Error(`cannot listen on ${what} ${address.host || '*'}:${address.port}`));
      resolve({ socket, port: uWS.us_socket_local_port(socket) });
    };
    if (address.host) app.listen(address.host, address.port, done);
    else app.listen(address.port, done);
  });
}

/** `host:port` as a log line shows an address (`*` for every interface, brackets for IPv6). */
export function formatAddress(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host || '*'}:${port}`;
}
