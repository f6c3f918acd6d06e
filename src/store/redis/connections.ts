import { Cluster, type Redis } from 'ioredis';
import type { Logger } from '../../process/logger.js';
import { FailureLog } from './failure-log.js';
import { Scripts } from './scripts.js';

/** The Lua scripts (scripts.ts), each defined as a command on the connections that run it. */
type ScriptName = keyof typeof Scripts;

/** A connection that runs the scripts (save-pings.lua, erase-presence.lua), defined on it by RedisConnections. */
export type Commands = (Redis | Cluster) & Record<ScriptName, (numberOfKeys: number, ...keysThenArgs: string[]) => Promise<string[]>>;

/** How long after a failed resubscription confirmation it is tried again. */
const CONFIRM_RETRY_MS = 200;

/** What the connections tell the store. */
export interface ConnectionEvents {
  /** A message published on a channel the subscriber connection subscribed. */
  onMessage(channel: string, message: string): void;
  /** Commands can be served (true) or not (false). */
  onAvailability(up: boolean): void;
  /** Every connection is back after an outage, with its channel subscriptions confirmed. */
  onRecovered(): void;
}

export interface RedisConnectionsOptions {
  /** The topology, as failures and logs name it. */
  kind: 'redis' | 'cluster';
  /** Opens one connection, with `lazyConnect` (connect() connects it), for commands or for pub/sub. */
  open(role: 'commands' | 'subscriber'): Redis | Cluster;
  /** The subscriber connection's event for a published message: `message`, or `smessage` (sharded pub/sub). */
  messageEvent: 'message' | 'smessage';
  /**
   * Resolves once the subscriber connection's resubscriptions after a reconnect have landed, so
   * the store can re-read what it missed without missing what comes next. Default: at once.
   */
  confirmSubscribed?(subscriber: Redis | Cluster): Promise<unknown>;
  /** REDIS_WAIT_REPLICAS: acknowledge a save only once this many replicas have it too (WAIT). */
  waitReplicas: number;
  /** A command not answered within this many ms fails; WAIT waits half of it. */
  commandTimeoutMs: number;
  /** Failure causes (FailureLog) and, at debug, each connection's state changes. Default: not logged. */
  log?: Logger;
  events: ConnectionEvents;
}

/**
 * The Redis store's connections and their lifecycle, apart from the commands (BullMQ-style):
 * `commands` reads and runs the save script, `writer` runs it instead when saves WAIT for
 * replicas, `subscriber` is subscribed to the channels. Owns connecting, readiness, whether the
 * store is available (and its recovery after an outage), why it fails (FailureLog) and WAIT. The
 * topology (standalone.ts, cluster.ts) says how each connection is opened and runs the commands.
 */
export class RedisConnections {
  readonly commands: Commands;
  /** Where pings are saved: `commands`, or a connection of its own when saves WAIT for replicas. */
  readonly writer: Commands;
  readonly subscriber: Redis | Cluster;
  /** Fed by every connection error and by the store's failed and successful commands. */
  readonly failures: FailureLog;
  private available = false;
  private wasDown = false;
  private closing = false;
  private confirming = false;
  private readonly log: Logger | null;

  constructor(private readonly options: RedisConnectionsOptions) {
    this.log = options.log?.isLevelEnabled('debug') ? options.log : null;
    this.failures = new FailureLog(options.log, options.kind);
    this.commands = options.open('commands') as Commands;
    // WAIT blocks its connection until the replicas answer: on a connection of its own it cannot
    // hold back reads (and a shard that lost its replicas answers 503, not every shard).
    this.writer = options.waitReplicas > 0 ? (options.open('commands') as Commands) : this.commands;
    this.subscriber = options.open('subscriber');
    this.subscriber.on(options.messageEvent, (channel: string, message: string) => options.events.onMessage(channel, message));
    // The key count is the call's first argument (a batch has two keys per ping); a Cluster
    // routes the call by its first key's slot.
    for (const connection of new Set([this.commands, this.writer]))
      for (const [name, lua] of Object.entries(Scripts)) connection.defineCommand(name, { lua });
    this.watchAvailability();
  }

  /** Connects every connection; rejects when Redis does not answer. */
  async connect(): Promise<void> {
    await this.commands.connect();
    if (this.writer !== this.commands) await this.writer.connect();
    await this.subscriber.connect();
    await this.commands.ping();
    this.setAvailable(true);
  }

  isAvailable(): boolean {
    return this.available;
  }

  /** One call of a writing script on the writer, followed by a WAIT when saves wait for replicas. */
  runScript(name: ScriptName, keys: readonly string[], args: readonly string[]): Promise<string[]> {
    if (this.options.waitReplicas === 0) return this.writer[name](keys.length, ...keys, ...args);
    return this.runOnReplicas(name, keys, args);
  }

  /** The script and a WAIT in one pipeline, so both go to the user's master. */
  private async runOnReplicas(name: ScriptName, keys: readonly string[], args: readonly string[]): Promise<string[]> {
    const { waitReplicas, commandTimeoutMs } = this.options;
    const pipeline = this.writer.pipeline() as ReturnType<Redis['pipeline']> & Record<ScriptName, (n: number, ...a: string[]) => unknown>;
    pipeline[name](keys.length, ...keys, ...args);
    // Half the command timeout, so a missing replica still gets its 503 within a second.
    pipeline.wait(waitReplicas, Math.floor(commandTimeoutMs / 2));
    const [[saveError, saved], [waitError, replicas]] = (await pipeline.exec()) as [Error | null, unknown][];
    if (saveError) {
      // A pipeline does not follow MOVED/ASK by itself (the WAIT in it is not redirected): learn
      // the new slot owner now, so the next ping goes to it; this one is answered 503.
      if (/^(MOVED|ASK) /.test(saveError.message) && this.writer instanceof Cluster) this.writer.refreshSlotsCache();
      throw saveError;
    }
    // WAIT itself may time out on the client (commandTimeout) when a stalled box answers late.
    if (waitError) throw new Error(`replicas not confirmed: ${waitError.message}`);
    if ((replicas as number) < waitReplicas) throw new Error(`only ${String(replicas)} replicas acknowledged`);
    return saved as string[];
  }

  async close(): Promise<void> {
    this.closing = true;
    this.setAvailable(false);
    await Promise.allSettled([this.commands.quit(), this.writer.quit(), this.subscriber.quit()]);
    this.commands.disconnect();
    this.writer.disconnect();
    this.subscriber.disconnect();
  }

  private watchAvailability(): void {
    const connections = new Map<Redis | Cluster, string>([
      [this.commands, 'commands'],
      [this.subscriber, 'subscriber'],
    ]);
    if (this.writer !== this.commands) connections.set(this.writer, 'writer');
    for (const [connection, role] of connections) {
      const debug = this.log?.child({ connection: role });
      // Availability follows 'close' / 'ready'; the error only says why (and must never crash).
      connection.on('error', (error: unknown) => {
        this.failures.failed(error);
        debug?.debug({ err: error }, 'redis connection error');
      });
      connection.on('close', () => {
        debug?.debug('redis connection closed');
        this.setAvailable(false);
      });
      connection.on('end', () => this.setAvailable(false));
      connection.on('reconnecting', (delayMs: unknown) => debug?.debug({ delayMs }, 'redis reconnecting'));
      connection.on('ready', () => {
        debug?.debug('redis connection ready');
        void this.whenReady();
      });
    }
  }

  /** Every connection is back: confirm the resubscriptions landed, then tell the store. */
  private async whenReady(): Promise<void> {
    const ready = (c: Redis | Cluster) => c.status === 'ready';
    const allReady = () => !this.closing && ready(this.commands) && ready(this.writer) && ready(this.subscriber);
    // One confirmation at a time: each connection's 'ready' calls this.
    if (this.confirming || !allReady()) return;
    this.confirming = true;
    try {
      await this.options.confirmSubscribed?.(this.subscriber);
    } catch (error) {
      this.failures.failed(error);
      this.log?.debug({ err: error }, 'redis resubscriptions not confirmed, retrying');
      // Every connection may stay 'ready', so no event would call this again.
      setTimeout(() => void this.whenReady(), CONFIRM_RETRY_MS).unref();
      return;
    } finally {
      this.confirming = false;
    }
    if (!allReady()) return;
    this.setAvailable(true);
    this.failures.succeeded();
    if (this.wasDown) {
      this.wasDown = false;
      this.options.events.onRecovered();
    }
  }

  private setAvailable(up: boolean): void {
    if (up === this.available) return;
    this.available = up;
    if (!up && !this.closing) this.wasDown = true;
    this.options.events.onAvailability(up);
  }
}
