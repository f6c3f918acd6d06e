import type { MessagePort } from 'node:worker_threads';
import type { PresenceBackend, PresenceListener, RateLimited, StoredPing } from './types.js';

/**
 * The embedded store with WORKERS > 1: the one MemoryPresence lives in the main thread
 * (RelayServer) and every worker thread reaches it through a RelayPresence over its own
 * MessagePort. Commands are requests with ids; the main thread pushes each published ping to the
 * workers that subscribed its user. A port delivers in order, so a worker sees the answer to its
 * `save` before the ping it published, as a Redis reply comes before its pub/sub message.
 */

type Op =
  | { op: 'save'; args: [userid: string, clientid: string, status: string] }
  | { op: 'lastMany'; args: [userids: readonly string[], clientid: string | undefined] }
  | { op: 'subscribe'; args: [userid: string] }
  | { op: 'unsubscribe'; args: [userid: string] };

export type RelayRequest = Op & { id: number };

export type RelayMessage =
  | { type: 'reply'; id: number; ok: true; value: unknown }
  | { type: 'reply'; id: number; ok: false; error: string }
  | { type: 'ping'; userid: string; ping: StoredPing }
  | { type: 'recovered' }
  | { type: 'availability'; up: boolean };

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
}

/** A worker thread's view of the main thread's store (the PresenceBackend its hub and routes use). */
export class RelayPresence implements PresenceBackend {
  readonly mode = 'memory' as const;
  private readonly pending = new Map<number, Pending>();
  private readonly channels = new Set<string>();
  private listener: PresenceListener | null = null;
  private nextId = 1;
  private available = true;
  private closed = false;

  constructor(private readonly port: MessagePort) {
    port.on('message', (message: RelayMessage) => this.receive(message));
    port.on('close', () => this.fail('the main thread closed the store relay'));
  }

  save(userid: string, clientid: string, status: string): Promise<StoredPing | RateLimited> {
    return this.request({ op: 'save', args: [userid, clientid, status] }) as Promise<StoredPing | RateLimited>;
  }

  lastMany(userids: readonly string[], clientid?: string): Promise<(StoredPing | null)[]> {
    return this.request({ op: 'lastMany', args: [userids, clientid] }) as Promise<(StoredPing | null)[]>;
  }

  subscribe(userid: string): Promise<void> {
    this.channels.add(userid);
    return this.request({ op: 'subscribe', args: [userid] }).then(() => undefined);
  }

  unsubscribe(userid: string): Promise<void> {
    this.channels.delete(userid);
    return this.request({ op: 'unsubscribe', args: [userid] }).then(() => undefined);
  }

  channelCount(): number {
    return this.channels.size;
  }

  isAvailable(): boolean {
    return this.available && !this.closed;
  }

  setListener(listener: PresenceListener): void {
    this.listener = listener;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.channels.clear();
    this.fail('the store relay is closed');
    // The main thread sees its end close and drops this worker's subscriptions.
    this.port.close();
  }

  private request(op: Op): Promise<unknown> {
    if (this.closed) return Promise.reject(new Error('the store relay is closed'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.port.postMessage({ ...op, id } satisfies RelayRequest);
    });
  }

  private receive(message: RelayMessage): void {
    switch (message.type) {
      case 'reply': {
        const pending = this.pending.get(message.id);
        if (!pending) return;
        this.pending.delete(message.id);
        if (message.ok) pending.resolve(message.value);
        else pending.reject(new Error(message.error));
        return;
      }
      case 'ping':
        if (this.channels.has(message.userid)) this.listener?.onPing(message.userid, message.ping);
        return;
      case 'recovered':
        this.listener?.onRecovered();
        return;
      case 'availability':
        this.available = message.up;
        this.listener?.onAvailability(message.up);
        return;
    }
  }

  private fail(reason: string): void {
    this.closed = true;
    const error = new Error(reason);
    for (const pending of this.pending.values()) pending.reject(error);
    this.pending.clear();
  }
}

/**
 * The main thread's end: serves the workers' RelayPresence requests from one store and fans its
 * pings out to the workers watching each user. Holds one set of ports per watched user, nothing
 * per ping.
 */
export class RelayServer {
  private readonly ports = new Set<MessagePort>();
  private readonly watchers = new Map<string, Set<MessagePort>>();
  /** Store subscriptions being confirmed, so a second worker's subscribe waits for the first. */
  private readonly subscribing = new Map<string, Promise<void>>();

  constructor(private readonly store: PresenceBackend) {
    store.setListener({
      onPing: (userid, ping) => {
        const set = this.watchers.get(userid);
        if (!set) return;
        const message: RelayMessage = { type: 'ping', userid, ping };
        for (const port of set) port.postMessage(message);
      },
      onRecovered: () => this.broadcast({ type: 'recovered' }),
      onAvailability: (up) => this.broadcast({ type: 'availability', up }),
    });
  }

  /** Serves a worker's end of a MessageChannel until it closes. */
  attach(port: MessagePort): void {
    this.ports.add(port);
    port.on('message', (request: RelayRequest) => {
      this.handle(port, request).then(
        (value) => port.postMessage({ type: 'reply', id: request.id, ok: true, value } satisfies RelayMessage),
        (error: unknown) =>
          port.postMessage({ type: 'reply', id: request.id, ok: false, error: error instanceof Error ? error.message : String(error) } satisfies RelayMessage),
      );
    });
    port.on('close', () => this.detach(port));
  }

  /** Users watched by at least one worker (tests, leak checks). */
  watchedUsers(): number {
    return this.watchers.size;
  }

  async close(): Promise<void> {
    for (const port of [...this.ports]) port.close();
    await this.store.close();
  }

  private handle(port: MessagePort, request: RelayRequest): Promise<unknown> {
    switch (request.op) {
      case 'save':
        return this.store.save(...request.args);
      case 'lastMany':
        return this.store.lastMany(...request.args);
      case 'subscribe':
        return this.subscribe(port, request.args[0]);
      case 'unsubscribe':
        this.unsubscribe(port, request.args[0]);
        return Promise.resolve();
      default:
        return Promise.reject(new Error(`unknown relay request ${JSON.stringify(request)}`));
    }
  }

  private subscribe(port: MessagePort, userid: string): Promise<void> {
    let set = this.watchers.get(userid);
    if (!set) {
      set = new Set();
      this.watchers.set(userid, set);
      const subscribed = this.store.subscribe(userid).finally(() => {
        if (this.subscribing.get(userid) === subscribed) this.subscribing.delete(userid);
      });
      this.subscribing.set(userid, subscribed);
    }
    set.add(port);
    return this.subscribing.get(userid) ?? Promise.resolve();
  }

  private unsubscribe(port: MessagePort, userid: string): void {
    const set = this.watchers.get(userid);
    if (!set?.delete(port) || set.size > 0) return;
    this.watchers.delete(userid);
    this.subscribing.delete(userid);
    this.store.unsubscribe(userid).catch(() => {});
  }

  private detach(port: MessagePort): void {
    this.ports.delete(port);
    for (const userid of [...this.watchers.keys()]) this.unsubscribe(port, userid);
  }

  private broadcast(message: RelayMessage): void {
    for (const port of this.ports) port.postMessage(message);
  }
}
