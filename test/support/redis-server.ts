import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, rmSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { onProcessExit } from './on-exit.js';
import { freePort } from './ports.js';

export interface RedisServerOptions {
  /** Enables AOF with this fsync policy. Default: persistence off (save "" appendonly no). */
  appendfsync?: 'always' | 'everysec' | 'no';
  /** Default: a free port picked by the OS. Never 6379 (a shared Redis may live there). */
  port?: number;
  /** Appended to the redis-server command line, after the generated config file. */
  extraArgs?: string[];
}

export interface RedisServer {
  readonly host: string;
  readonly port: number;
  /** 'redis://127.0.0.1:<port>' */
  readonly url: string;
  /** '127.0.0.1:<port>', the form the service's REDIS env var takes. */
  readonly address: string;
  /** Private temp dir holding config, log, AOF and nodes.conf. */
  readonly dir: string;
  /** True between a successful start() and the process exiting. */
  readonly running: boolean;
  /** SIGKILL; resolves once the process has exited. */
  kill(): Promise<void>;
  /** Graceful SHUTDOWN (SAVE when AOF is on), then waits for exit. */
  stop(): Promise<void>;
  /** Freezes (SIGSTOP) or thaws (SIGCONT) the process: connections stay open, nothing answers. */
  freeze(frozen: boolean): void;
  /** (Re)starts on the same port, dir and config; resolves once PING answers PONG. */
  start(): Promise<void>;
  /**
   * Runs `redis-cli -h 127.0.0.1 -p <port> ...args`; resolves with trimmed stdout. Rejects only if
   * redis-cli fails (e.g. connection refused): redis-cli 7.0 prints error replies ("ERR ...") and exits 0.
   */
  cli(...args: string[]): Promise<string>;
  /** Kills the process if running and removes dir. Idempotent. */
  close(): Promise<void>;
}

/** redis-server could not bind its port (another process took it after we probed it). */
export class PortInUseError extends Error {}

const HOST = '127.0.0.1';
const SHARED_REDIS_PORT = 6379;
// Generous: a passing run waits for the event, and a busy box (two cores, a bench beside the
// suite) can take many seconds to start a process or answer one command.
const READY_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 30_000;
const CLI_TIMEOUT_MS = 30_000;
const PROBE_TIMEOUT_MS = 500;
const POLL_MS = 25;
const PORT_ATTEMPTS = 5;

// Children still alive and dirs not yet removed, cleaned up synchronously when this process
// ends so a test that forgets close() (or crashes) leaves no redis-server behind.
const liveChildren = new Set<ChildProcess>();
const liveDirs = new Set<string>();

function cleanupSync(): void {
  for (const child of liveChildren) child.kill('SIGKILL');
  for (const dir of liveDirs) rmSync(dir, { recursive: true, force: true });
}

onProcessExit(cleanupSync);

export async function startRedis(opts: RedisServerOptions = {}): Promise<RedisServer> {
  if (opts.port !== undefined) return launch(opts.port, opts);
  for (let attempt = 1; ; attempt++) {
    try {
      return await launch(await freePort(), opts);
    } catch (err) {
      if (!(err instanceof PortInUseError) || attempt >= PORT_ATTEMPTS) throw err;
    }
  }
}

async function launch(port: number, opts: RedisServerOptions): Promise<RedisServer> {
  if (port === SHARED_REDIS_PORT) throw new Error('refusing to start a test Redis on 6379');
  const dir = await mkdtemp(join(tmpdir(), 'heartbeat-redis-'));
  liveDirs.add(dir);
  const server = new Server(port, dir, opts);
  try {
    await writeFile(server.configFile, configText(port, dir, opts));
    await server.start();
    return server;
  } catch (err) {
    await server.close();
    throw err;
  }
}

function configText(port: number, dir: string, opts: RedisServerOptions): string {
  const lines = [
    `port ${port}`,
    `bind ${HOST}`,
    // JSON string quoting is a subset of what redis.conf accepts.
    `dir ${JSON.stringify(dir)}`,
    `logfile ${JSON.stringify(join(dir, 'redis.log'))}`,
    'daemonize no',
    'save ""',
    `appendonly ${opts.appendfsync ? 'yes' : 'no'}`,
  ];
  if (opts.appendfsync) lines.push(`appendfsync ${opts.appendfsync}`);
  return lines.join('\n') + '\n';
}

class Server implements RedisServer {
  readonly host = HOST;
  readonly url: string;
  readonly address: string;
  readonly configFile: string;
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    readonly port: number,
    readonly dir: string,
    private readonly opts: RedisServerOptions,
  ) {
    this.address = `${HOST}:${port}`;
    this.url = `redis://${this.address}`;
    this.configFile = join(dir, 'redis.conf');
  }

  get running(): boolean {
    return this.child !== null;
  }

  async start(): Promise<void> {
    if (this.closed) throw new Error(`redis ${this.address}: start() after close()`);
    if (this.child) throw new Error(`redis ${this.address}: already running`);
    // stderr goes to a file: config errors are printed there before the logfile is opened.
    const stderrFd = openSync(join(this.dir, 'stderr.log'), 'a');
    let child: ChildProcess;
    try {
      child = spawn('redis-server', [this.configFile, ...(this.opts.extraArgs ?? [])], {
        detached: false,
        stdio: ['ignore', 'ignore', stderrFd],
      });
    } finally {
      closeSync(stderrFd);
    }
    liveChildren.add(child);
    // A leaked server must not keep the test process alive; the exit handler kills it.
    child.unref();
    this.child = child;
    this.exited = new Promise((resolve) => {
      const onGone = (): void => {
        liveChildren.delete(child);
        if (this.child === child) this.child = null;
        resolve();
      };
      child.once('exit', onGone);
      child.once('error', onGone); // spawn failure: 'exit' may never come
    });

    try {
      await this.waitReady(child);
    } catch (err) {
      await this.kill();
      throw err;
    }
  }

  private async waitReady(child: ChildProcess): Promise<void> {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (this.child !== child) {
        const log = await this.logTail();
        const msg = `redis-server on ${this.address} exited during startup:\n${log}`;
        throw /address already in use/i.test(log) ? new PortInUseError(msg) : new Error(msg);
      }
      // The pid check makes sure the PONG comes from our process, not from whoever owns the port.
      const pid = await probe(this.port);
      if (pid !== null && pid === child.pid) return;
      await sleep(POLL_MS);
    }
    throw new Error(`redis-server on ${this.address} did not answer PING within ${READY_TIMEOUT_MS} ms:\n${await this.logTail()}`);
  }

  async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.ref(); // keep the event loop alive until the exit is observed
    child.kill('SIGKILL');
    await this.exited;
  }

  freeze(frozen: boolean): void {
    this.child?.kill(frozen ? 'SIGSTOP' : 'SIGCONT');
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.ref();
    // Without save points a plain SHUTDOWN would write nothing; SAVE makes AOF-backed data durable.
    await this.cli(...(this.opts.appendfsync ? ['SHUTDOWN', 'SAVE'] : ['SHUTDOWN']));
    const timedOut = Symbol('timeout');
    const result = await Promise.race([this.exited, sleep(STOP_TIMEOUT_MS, timedOut, { ref: false })]);
    if (result === timedOut) {
      await this.kill();
      throw new Error(`redis ${this.address} did not exit within ${STOP_TIMEOUT_MS} ms of SHUTDOWN`);
    }
  }

  cli(...args: string[]): Promise<string> {
    return new Promise((resolve, reject) => {
      execFile('redis-cli', ['-h', HOST, '-p', String(this.port), ...args], { timeout: CLI_TIMEOUT_MS }, (err, stdout, stderr) => {
        if (err) {
          const output = `${stdout}${stderr}`.trim();
          reject(new Error(`redis-cli -p ${this.port} ${args.join(' ')} failed: ${err.message}\n${output}`));
        } else {
          resolve(stdout.trim());
        }
      });
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.kill();
    await rm(this.dir, { recursive: true, force: true });
    liveDirs.delete(this.dir);
  }

  private async logTail(lines = 30): Promise<string> {
    const read = (name: string): Promise<string> => readFile(join(this.dir, name), 'utf8').catch(() => '');
    const text = (await read('stderr.log')) + (await read('redis.log'));
    return text.trimEnd().split('\n').slice(-lines).join('\n');
  }
}

/**
 * Sends `INFO server` + `PING` over a raw socket. Resolves with the server's process_id once it
 * answers PONG, or null if it is not reachable or not ready yet (e.g. -LOADING while reading AOF).
 */
function probe(port: number): Promise<number | null> {
  return new Promise((resolve) => {
    let buffer = '';
    const socket = connect({ port, host: HOST });
    const finish = (pid: number | null): void => {
      socket.destroy();
      resolve(pid);
    };
    socket.setTimeout(PROBE_TIMEOUT_MS, () => finish(null));
    socket.once('error', () => finish(null));
    socket.once('close', () => finish(null));
    // latin1 keeps string length equal to byte length for the bulk-length arithmetic.
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      const replies = parseReplies(buffer, 2);
      if (!replies) return;
      const [info, pong] = replies;
      const pid = /^process_id:(\d+)\r?$/m.exec(info)?.[1];
      finish(pong === '+PONG' && pid ? Number(pid) : null);
    });
    socket.write('INFO server\r\nPING\r\n');
  });
}

/** Parses `count` replies that are simple strings, errors or bulk strings; null if incomplete. */
function parseReplies(buffer: string, count: number): string[] | null {
  const replies: string[] = [];
  let pos = 0;
  while (replies.length < count) {
    const eol = buffer.indexOf('\r\n', pos);
    if (eol < 0) return null;
    const line = buffer.slice(pos, eol);
    if (line.startsWith('$')) {
      const end = eol + 2 + Number(line.slice(1));
      if (buffer.length < end + 2) return null;
      replies.push(buffer.slice(eol + 2, end));
      pos = end + 2;
    } else {
      replies.push(line);
      pos = eol + 2;
    }
  }
  return replies;
}
