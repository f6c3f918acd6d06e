import { waitFor } from 'xstate';
import type { Config } from './config.js';
import { createPublicApp } from '../http/app.js';
import { CorsPolicy } from '../http/cors.js';
import { listen } from '../http/listen.js';
import { ProxyTrust } from '../http/trust.js';
import { uWS, type TemplatedApp, type us_listen_socket } from '../http/uws.js';
import type { Logger } from './logger.js';
import { startPingActor, type PingActor } from '../pings/ping-actor.js';
import { Hub } from '../streams/hub.js';
import type { Store } from '../store/types.js';
import { RuntimeSampler } from '../admin/runtime-sampler.js';
import { Stats } from '../admin/stats.js';
import { Subscriptions } from '../streams/subscriptions.js';
import type { Clock } from '../streams/keepalive-sweep.js';
import type { StreamCount } from '../streams/stream-count.js';
import { watchPolicyOf } from './watch-policy.js';
import type { ContactsPolicy } from '../watch/contacts-policy.js';
import type { WatcherStreams } from '../streams/watcher-streams.js';
import { OpenStreamRecheck } from '../watch/open-stream-recheck.js';

export interface ServiceOptions {
  config: Config;
  store: Store;
  log: Logger;
  /** Drives keepalives; tests pass SimulatedClock. */
  clock?: Clock;
  /** With WORKERS > 1: the process's open streams, counted by every worker against MAX_CONNECTIONS. */
  streamCount?: StreamCount;
  /** With WORKERS > 1: open streams per watcher, counted by every worker against MAX_STREAMS_PER_USER. */
  watcherStreams?: WatcherStreams;
}

/** The `retry:` hint of a fresh stream: how long EventSource waits before reconnecting. */
const RETRY_MS = 3_000;

/**
 * One heartbeat instance: the public uWS app, the ping actor, the hub and the subscription
 * actors over one presence store. `main.ts` adds process concerns (signals, exit).
 */
export class HeartbeatService {
  readonly stats = new Stats();
  /** This thread's event-loop delay and heap, for the admin port's per-worker figures. */
  readonly runtime = new RuntimeSampler();
  readonly hub: Hub;
  readonly subscriptions: Subscriptions;
  readonly pingActor: PingActor;
  /** WATCH_POLICY=contacts: this thread's contact cache and its backend-core client; null with `anyone`. */
  readonly watchPolicy: ContactsPolicy | null;
  /** WATCH_POLICY=contacts: ends open streams whose watcher lost the contact. */
  private readonly recheck: OpenStreamRecheck | null;
  private listenSocket: us_listen_socket | null = null;
  private app: TemplatedApp | null = null;
  private closing = false;

  constructor(private readonly options: ServiceOptions) {
    const { config, store, log } = options;
    this.hub = new Hub(
      store,
      {
        onAvailability: (up) => {
          log[up ? 'info' : 'warn']({ store: store.kind, available: up }, up ? 'presence store available' : 'presence store unavailable');
          if (up && this.closing === false) this.stats.storeRecoveries++;
          this.pingActor?.send({ type: up ? 'store.up' : 'store.down' });
        },
        onDelivered: (count) => {
          this.stats.deliveries += count;
        },
        onFanOutTimed: (lagSeconds, fanOutSeconds) => {
          this.stats.deliveryLagSeconds.observe(lagSeconds);
          this.stats.fanOutSeconds.observe(fanOutSeconds);
        },
      },
      config.offlineAfterSeconds,
    );
    this.subscriptions = new Subscriptions({
      hub: this.hub,
      keepaliveMs: config.keepaliveSeconds * 1000,
      slowClientTimeoutMs: config.slowClientTimeoutSeconds * 1000,
      maxStreams: config.maxConnections,
      streamCount: options.streamCount,
      watcherStreams: options.watcherStreams,
      maxStreamsPerUser: config.maxStreamsPerUser,
      clock: options.clock,
      onOpened: () => this.stats.streamsOpened++,
      onClosed: (reason) => this.stats.streamsClosed[reason]++,
      onCoalesced: () => this.stats.coalesced++,
      log,
    });
    this.pingActor = startPingActor(store, new Set(config.invisibleStatuses));
    this.watchPolicy = watchPolicyOf(config, log, this.stats.watch);
    this.recheck =
      this.watchPolicy && new OpenStreamRecheck({ policy: this.watchPolicy, subscriptions: this.subscriptions, retryMs: RETRY_MS });
  }

  get store(): Store {
    return this.options.store;
  }

  isClosing(): boolean {
    return this.closing;
  }

  /** Whether this instance can serve: store usable and not shutting down. */
  isReady(): boolean {
    return !this.closing && this.options.store.isAvailable();
  }

  /** Starts listening; resolves with the bound port. */
  async listen(): Promise<number> {
    const { config } = this.options;
    const app = createPublicApp({
      pingActor: this.pingActor,
      store: this.options.store,
      trust: new ProxyTrust(config.trustedProxies, { onLocalPeerRefused: (peer) => this.warnUntrustedProxy(peer) }),
      cors: new CorsPolicy(config.corsOrigins),
      subscriptions: this.subscriptions,
      retryMs: RETRY_MS,
      maxUsersPerStream: config.maxUsersPerStream,
      offlineAfterSeconds: config.offlineAfterSeconds,
      isClosing: () => this.closing,
      watchPolicy: this.watchPolicy,
      onPingAnswered: (status, code, seconds) => this.stats.countPing(status, code, seconds),
      onEraseAnswered: (status, code) => this.stats.countErasure(status, code),
      onStreamRefused: (error) => this.stats.countRefusedStream(error.status, error.code),
      onHandlerError: (error) => this.options.log.error({ err: error }, 'request handler failed'),
    });
    this.app = app;
    this.subscriptions.start();
    this.recheck?.start();
    const { socket, port } = await listen(app, config.listen, 'LISTEN');
    this.listenSocket = socket;
    return port;
  }

  /**
   * A claim came from a loopback or private peer outside TRUSTED_PROXIES (once per peer): most
   * likely the proxy on a network nobody named yet, so the warning spells out the remedy.
   */
  private warnUntrustedProxy(peer: string): void {
    const trusted = this.options.config.trustedProxies;
    const remedy = [...(trusted === '*' ? [] : trusted), peer.includes(':') ? `${peer}/128` : `${peer}/32`].join(',');
    this.options.log.warn(
      { peer, trustedProxies: trusted },
      `X-User-Claim refused (403) from ${peer}, a local or private address outside TRUSTED_PROXIES. ` +
        `If this is your proxy (traefik), set TRUSTED_PROXIES to include it or its network, e.g. TRUSTED_PROXIES=${remedy}. Logged once per peer.`,
    );
  }

  /**
   * Closes every socket of the public app at once: the listen socket and every connection still
   * open (idle keep-alives included). A worker thread does this after shutdown(), before it exits:
   * uWS aborts the process when a worker's event loop closes with one of its sockets open.
   */
  closeConnections(): void {
    this.listenSocket = null;
    (this.app as unknown as { close?: () => void } | null)?.close?.();
  }

  /**
   * Graceful shutdown: stop accepting connections, answer new pings 503, finish the pings in
   * flight, send every stream a jittered `retry:` and close it, close the store.
   */
  async shutdown(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    if (this.listenSocket) uWS.us_listen_socket_close(this.listenSocket);
    this.listenSocket = null;
    this.recheck?.stop();
    this.pingActor.send({ type: 'shutdown' });
    await waitFor(this.pingActor, (s) => s.matches('drained'));
    this.subscriptions.closeAll();
    this.hub.close();
    await this.options.store.close();
    this.runtime.stop();
  }
}
