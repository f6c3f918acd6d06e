import { spawn } from 'node:child_process';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

/**
 * uSockets (inside uWebSockets.js v20.51) calls `listen(fd, 512)` with no way to ask for more.
 * Under a connect storm (a reconnect after a deploy, 16,000 streams per process) a queue of 512
 * fills in milliseconds; the kernel then drops handshakes (ListenOverflows), answers with SYN
 * cookies, and the clients wait on TCP retransmission back-off (seconds, then tens of seconds) or
 * get a reset: connections accepted by TCP that are answered late or never (docs/scaling.md).
 *
 * Linux applies `listen()` called again on a listening socket as a new queue size (capped by
 * net.core.somaxconn). Nothing in this process can make that call without handing the socket to
 * libuv, which would poll it and close it; a short-lived child that inherits the socket can: its
 * copy of the descriptor is closed when it exits, the socket stays ours. The child exits before
 * its event loop ever runs, so it accepts nothing.
 */

/** What raiseListenBacklog did: the queue size now in force, and why it is still uSockets' own when it failed. */
export type BacklogResult = { readonly backlog: number; readonly sockets: number } | { readonly backlog: number; readonly reason: string };

/** uSockets' own queue size (bsd.c: `listen(listenFd, 512)`). */
const USOCKETS_BACKLOG = 512;

/** The queue size the kernel gives a `listen(fd, asked)`. */
const capped = (asked: number) => Math.min(asked, somaxconn() ?? asked);

/** The inodes of listening TCP sockets (IPv4 and IPv6) on `port` in this network namespace. */
function listeningInodes(port: number): Set<string> {
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
      const cols = line.trim().split(/\s+/);
      if (cols.length > 9 && cols[3] === '0A' && parseInt(cols[1].split(':')[1] ?? '', 16) === port) inodes.add(cols[9]);
    }
  }
  return inodes;
}

/** The descriptors of this process that are listening TCP sockets on `port` (every worker thread's). */
function listeningDescriptors(port: number): number[] {
  const inodes = listeningInodes(port);
  const fds: number[] = [];
  for (const name of readdirSync('/proc/self/fd')) {
    try {
      const inode = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${name}`))?.[1];
      if (inode && inodes.has(inode)) fds.push(Number(name));
    } catch {
      // closed while we looked (the readdir's own descriptor, a socket that just closed)
    }
  }
  return fds;
}

/** net.core.somaxconn of this network namespace: the kernel caps every queue size at it. */
function somaxconn(): number | null {
  try {
    const n = Number(readFileSync('/proc/sys/net/core/somaxconn', 'utf8').trim());
    return Number.isInteger(n) && n > 0 ? n : null;
  } catch {
    return null;
  }
}

/**
 * The child: `listen()` again on each inherited descriptor (3, 4, …) with the new size. Node's
 * `listen({ fd }, backlog)` takes the size from the argument, not from `{ backlog }`. Exit code 0
 * only if every call succeeded; process.exit runs before the event loop, so nothing is accepted.
 */
const CHILD = `const net = require('node:net');
const [count, backlog] = process.argv.slice(1).map(Number);
let ok = true;
for (let i = 0; i < count; i++) {
  const server = net.createServer();
  server.on('error', () => {});
  server.listen({ fd: 3 + i }, backlog);
  ok = ok && server.listening;
}
process.exit(ok ? 0 : 1);`;

/**
 * Sets the accept queue of every listening socket of this process on `port` to `backlog` (the
 * kernel caps it at net.core.somaxconn); 512 or less leaves uSockets' own. Linux only; elsewhere,
 * or if the child fails, the queue stays at uSockets' 512 and the result says why.
 */
export async function raiseListenBacklog(port: number, backlog: number): Promise<BacklogResult> {
  const unchanged = (reason: string) => ({ backlog: capped(USOCKETS_BACKLOG), reason });
  if (process.platform !== 'linux') return unchanged(`not Linux (${process.platform})`);
  if (backlog <= USOCKETS_BACKLOG) return { backlog: capped(USOCKETS_BACKLOG), sockets: 0 };
  let fds: number[];
  try {
    fds = listeningDescriptors(port);
  } catch (error) {
    return unchanged(`cannot list this process's sockets: ${String(error)}`);
  }
  if (fds.length === 0) return unchanged(`no listening socket of this process found on port ${port}`);
  const code = await new Promise<number | string>((resolve) => {
    const child = spawn(process.execPath, ['-e', CHILD, String(fds.length), String(backlog)], {
      stdio: ['ignore', 'ignore', 'ignore', ...fds],
      env: { PATH: process.env.PATH },
    });
    child.on('error', (error) => resolve(error.message));
    child.on('exit', (exitCode, signal) => resolve(exitCode ?? String(signal)));
  });
  if (code !== 0) return unchanged(`the child that calls listen() exited with ${code}`);
  return { backlog: capped(backlog), sockets: fds.length };
}
