import type { MessagePort } from 'node:worker_threads';
import { PortRequests } from './port-requests.js';
import { receivedNow } from './received-clock.js';
import type { Erasure, Store, StoreListener, RateLimited, SaveOutcome, StoredPing } from './types.js';

/**
 * The embedded store with WORKERS > 1: the one EmbeddedStore lives in the main thread
 * (RelayServer) and every worker thread reaches it through a RelayStore over its own
 * MessagePort. Commands are requests with ids; the main thread pushes each published ping to the
 * workers that subscribed its user. A port delivers in order, so a worker sees the answer to its
 * `save` before the ping it published, as a Redis reply comes before its pub/sub message.
 */

type Op =
  | { op: 'save'; args: [userid: string, clientid: string, status: string, invisible: boolean, receivedMs: number] }
  | { op: 'erase'; args: [userid: string, clientid: string] }
  | { op: 'lastMany'; args: [userids: readonly string[], clientid: string | undefined, own: boolean] }
  | { op: 'subscribe'; args: [userid: string, own: boolean] }
  | { op: 'unsubscribe'; args: [userid: string, own: boolean] };

export type RelayRequest = Op & { id: number };

export type RelayMessage =
  | { type: 'reply'; id: number; ok: true; value: unknown }
  | { type: 'reply'; id: number; ok: false; error: string }
  | { type: 'ping'; userid: string; ping: StoredPing; invisible: boolean }
  | { type: 'erased'; userid: string; erasure: Erasure }
  | { type: 'recovered' }
  | { type: 'availability'; up: boolean };

const OWN_PREFIX = 'o';

/** A channel's name in the relay: `p` or `o` (the user's own channel) and the user id, never ambiguous. */
function channelOf(userid: string, own: boolean): string {
  return `${own ? OWN_PREFIX : 'p'}${userid}`;
}

/** A worker thread's view of the main thread's store (the Store its hub and routes use). */
export class RelayStore implements Store {
  readonly kind = 'embedded' as const;
  private readonly requests = new PortRequests<unknown>();
  /** Subscribed channels, named by channelOf. */
  private readonly channels = new Set<string>();
  private listener: StoreListener | null = null;
  private available = true;
  private closed = false;

  constructor(private readonly port: MessagePort) {
    port.on('message', (message: RelayMessage) => this.receive(message));
    port.on('close', () => this.fail('the main thread closed the store relay'));
  }

  /** `receivedMs` is stamped here, in the worker that received the ping, not when the main thread gets to it. */
  save(userid: string, clientid: string, status: string, invisible = false, receivedMs = receivedNow()): Promise<SaveOutcome> {
    return this.request({ op: 'save', args: [userid, clientid, status, invisible, receivedMs] }) as Promise<SaveOutcome>;
  }

  erase(userid: string, clientid: string): Promise<RateLimited | null> {
    return this.request({ op: 'erase', args: [userid, clientid] }) as Promise<RateLimited | null>;
  }

  lastMany(userids: readonly string[], clientid?: string, own = false): Promise<(StoredPing | null)[]> {
    return this.request({ op: 'lastMany', args: [userids, clientid, own] }) as Promise<(StoredPing | null)[]>;
  }

  subscribe(userid: string, own = false): Promise<void> {
    this.channels.add(channelOf(userid, own));
    return this.request({ op: 'subscribe', args: [userid, own] }).then(() => undefined);
  }

  unsubscribe(userid: string, own = false): Promise<void> {
    this.channels.delete(channelOf(userid, own));
    return this.request({ op: 'unsubscribe', args: [userid, own] }).then(() => undefined);
  }

  channelCount(): number {
    return this.channels.size;
  }

  isAvailable(): boolean {
    return this.available && !this.closed;
  }

  setListener(listener: StoreListener): void {
    this.listener = listener;
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.channels.clear();
    this.fail('the store relay is closed');
    // The main thread sees its end close and drops this worker's subscriptions.
    this.port.close();
    return Promise.resolve();
  }

  private request(op: Op): Promise<unknown> {
    if (this.closed) return Promise.reject(new Error('the store relay is closed'));
    return this.requests.send((id) => this.port.postMessage({ ...op, id } satisfies RelayRequest));
  }

  private receive(message: RelayMessage): void {
    switch (message.type) {
      case 'reply':
        if (message.ok) this.requests.answer(message.id, message.value);
        else this.requests.fail(message.id, new Error(message.error));
        return;
      case 'ping':
        if (this.channels.has(channelOf(message.userid, message.invisible)))
          this.listener?.onPing(message.userid, message.ping, message.invisible);
        return;
      case 'erased':
        if (this.channels.has(channelOf(message.userid, false))) this.listener?.onErased(message.userid, message.erasure);
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
    this.requests.failAll(new Error(reason));
  }
}

/**
 * The main thread's end: serves the workers' RelayStore requests from one store and fans its
 * pings out to the workers subscribed to each channel. Holds one set of ports per channel, nothing
 * per ping.
 */
export class RelayServer {
  private readonly ports = new Set<MessagePort>();
  /** The ports of the workers subscribed to each channel (channelOf: a user's public channel, or its own). */
  private readonly portsByChannel = new Map<string, Set<MessagePort>>();
  /** Store subscriptions being confirmed, so a second worker's subscribe waits for the first. */
  private readonly subscribing = new Map<string, Promise<void>>();

  constructor(private readonly store: Store) {
    store.setListener({
      onPing: (userid, ping, invisible) => {
        const set = this.portsByChannel.get(channelOf(userid, invisible));
        if (!set) return;
        const message: RelayMessage = { type: 'ping', userid, ping, invisible };
        for (const port of set) port.postMessage(message);
      },
      onErased: (userid, erasure) => {
        const message: RelayMessage = { type: 'erased', userid, erasure };
        for (const port of this.portsByChannel.get(channelOf(userid, false)) ?? []) port.postMessage(message);
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
          port.postMessage({
            type: 'reply',
            id: request.id,
            ok: false,
            error: error instanceof Error ? error.message : String(error),
          } satisfies RelayMessage),
      );
    });
    port.on('close', () => this.detach(port));
  }

  /** Channels (a user's public or own) at least one worker is subscribed to (leak checks: 0 once every stream closed). */
  channelCount(): number {
    return this.portsByChannel.size;
  }

  async close(): Promise<void> {
    for (const port of [...this.ports]) port.close();
    await this.store.close();
  }

  private handle(port: MessagePort, request: RelayRequest): Promise<unknown> {
    switch (request.op) {
      case 'save':
        return this.store.save(...request.args);
      case 'erase':
        return this.store.erase(...request.args);
      case 'lastMany':
        return this.store.lastMany(...request.args);
      case 'subscribe':
        return this.subscribe(port, ...request.args);
      case 'unsubscribe':
        this.unsubscribe(port, ...request.args);
        return Promise.resolve();
      default:
        return Promise.reject(new Error(`unknown relay request ${JSON.stringify(request)}`));
    }
  }

  private subscribe(port: MessagePort, userid: string, own: boolean): Promise<void> {
    const channel = channelOf(userid, own);
    let set = this.portsByChannel.get(channel);
    if (!set) {
      set = new Set();
      this.portsByChannel.set(channel, set);
      const subscribed = this.store.subscribe(userid, own).finally(() => {
        if (this.subscribing.get(channel) === subscribed) this.subscribing.delete(channel);
      });
      this.subscribing.set(channel, subscribed);
    }
    set.add(port);
    return this.subscribing.get(channel) ?? Promise.resolve();
  }

  private unsubscribe(port: MessagePort, userid: string, own: boolean): void {
    const channel = channelOf(userid, own);
    const set = this.portsByChannel.get(channel);
    if (!set?.delete(port) || set.size > 0) return;
    this.portsByChannel.delete(channel);
    this.subscribing.delete(channel);
    this.store.unsubscribe(userid, own).catch(() => {});
  }

  private detach(port: MessagePort): void {
    this.ports.delete(port);
    for (const channel of [...this.portsByChannel.keys()]) {
      const own = channel.startsWith(OWN_PREFIX);
      this.unsubscribe(port, own ? channel.slice(OWN_PREFIX.length) : channel.slice(1), own);
    }
  }

  private broadcast(message: RelayMessage): void {
    for (const port of this.ports) port.postMessage(message);
  }
}
