import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

const HOST = '127.0.0.1';
// The shared Redis some machines run; never hand it out even if it happens to be free.
const FORBIDDEN = new Set([6379, 16379]);
// Redis cluster nodes also listen on port + 10000 (the cluster bus).
const BUS_OFFSET = 10000;
const RANGE_MIN = 20000;
// Keep both port and bus port below the OS ephemeral range: outgoing connections (and freePort())
// take ports from there at any time, which would make redis-server fail to bind. If the OS
// leaves no room below it, settle for any pair whose bus port still fits under 65536.
const BELOW_EPHEMERAL = ephemeralLowerBound() - BUS_OFFSET;
const RANGE_MAX = BELOW_EPHEMERAL >= RANGE_MIN + 1000 ? BELOW_EPHEMERAL : 65536 - BUS_OFFSET;
const MAX_ATTEMPTS = 200;

// Ports handed out by this process. A probed port is released again before the caller
// binds it, so concurrent callers in one process could otherwise get the same one.
// Other processes are not covered: callers must retry when a bind fails.
const handedOut = new Set<number>();

function ephemeralLowerBound(): number {
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').split(/\s+/)[0]);
  } catch {
    return 32768; // not Linux: the lowest common default (macOS uses 49152)
  }
}

function tryListen(port: number): Promise<number | null> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(null));
    server.listen(port, HOST, () => {
      const address = server.address();
      const bound = typeof address === 'object' && address !== null ? address.port : null;
      server.close(() => resolve(bound));
    });
  });
}

function claim(...ports: number[]): boolean {
  if (ports.some((p) => handedOut.has(p) || FORBIDDEN.has(p))) return false;
  for (const p of ports) handedOut.add(p);
  return true;
}

/** A TCP port on 127.0.0.1 that was free a moment ago (picked by the OS). */
export async function freePort(): Promise<number> {
  for (let i = 0; i < MAX_ATTEMPTS; i++) {
    const port = await tryListen(0);
    if (port !== null && claim(port)) return port;
  }
  throw new Error('freePort: no free port found');
}

/** A port P such that both P and P + 10000 (the Redis cluster bus port) were free. */
export async function freePortWithBus(): Promise<number> {
  for (let i = 0; i < MAX_ATTEMPTS; i++) {
    const port = RANGE_MIN + Math.floor(Math.random() * (RANGE_MAX - RANGE_MIN));
    const bus = port + BUS_OFFSET;
    if (handedOut.has(port) || handedOut.has(bus)) continue;
    if ((await tryListen(port)) === null || (await tryListen(bus)) === null) continue;
    if (claim(port, bus)) return port;
  }
  throw new Error('freePortWithBus: no free port pair found');
}
