/**
 * The clients of the `contacts` scenario, held in the bench process itself: each stream watches a
 * list of users (heartbeat: `/subscribe?user=a&user=b…`, or one user per stream; nchan: a
 * multiplexed subscriber `/multi/a,b,…`, or `/sub/<user>`). Every ping's status is a tag
 * `b:<seq>:<send ms>:<user>` (nchan hands the body over as it is, so the user must be in it); each
 * (stream, user) must see seqs 1, 2, 3… exactly once, in order. A stream of heartbeat carries its
 * client's claim (`X-User-Claim: {"userid","clientid"}`, as traefik's forward-auth adds it), so
 * that WATCH_POLICY=contacts asks backend-core for that user's contacts; nchan gets no claim.
 */
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { feed, SseState, type SseSink } from './sse-parser.js';
import { Histogram } from './histogram.js';
import type { Api } from './api.js';

const now = () => performance.timeOrigin + performance.now();

/** What one stream watches, and the client (its claim) that opens it. */
export interface Watch {
  users: readonly string[];
  /** the claim's userid and clientid; no claim when absent */
  claim?: { userid: string; clientid: string };
}

/** The tag a ping of `user` carries: its seq for that user and when it was sent. */
export const tagOf = (seq: number, user: string) => `b:${seq}:${Math.round(now())}:${user}`;

class Stream extends SseState {
  sock: net.Socket | null = null;
  ready = false;
  closing = false;
  /** Resolves the open() waiting for this stream: called once, when it is ready or failed. */
  wake: (() => void) | null = null;
  /** Last seq seen per watched user (index in `users`). */
  readonly lastSeq: Uint32Array;
  constructor(
    readonly users: readonly string[],
    readonly index: Map<string, number>,
  ) {
    super();
    this.lastSeq = new Uint32Array(users.length);
  }
}

export class ContactStreams {
  readonly latency = new Histogram();
  delivered = 0;
  dups = 0;
  gaps = 0;
  dropped = 0;
  failed = 0;
  /** `event: offline` seen (heartbeat, OFFLINE_AFTER of silence): one per (stream, user) per silence. */
  offline = 0;
  /**
   * Pings tagged before this (ms since the epoch) are replays of an earlier phase, not measured
   * deliveries (nchan replays its oldest buffered message, which may be an earlier phase's ping).
   */
  ignoreBefore = 0;
  /** The answers of the streams refused, by HTTP status (403: a user not a contact, 503: backend-core unavailable). */
  readonly refused: Record<number, number> = {};
  private readonly streams: Stream[] = [];
  private readyCount = 0;

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly api: Api,
    /** a stream is ready with its 200 head (nchan and the floor send no `ready` event) rather than at `event: ready` */
    private readonly readyOnHead = api === 'nchan',
  ) {}

  private readonly sink: SseSink<Stream> = {
    onHeaders: (s, status) => {
      if (status !== 200) {
        this.refused[status] = (this.refused[status] ?? 0) + 1;
        this.fail(s);
      }
      // nchan (and the floor) say nothing more until a message: the stream is open with the head.
      else if (this.readyOnHead) this.markReady(s);
    },
    onComment: () => {},
    onRetry: () => {},
    onEvent: (s, data, _id, type) => {
      if (type === 'ready') return this.markReady(s);
      if (type === 'offline') this.offline++;
      if (type !== 'message') return;
      let status: unknown;
      try {
        status = (JSON.parse(data) as { status?: unknown }).status;
      } catch {
        return;
      }
      if (typeof status !== 'string' || !status.startsWith('b:')) return; // a seed ping's replay
      const [, seqText, sentText, user] = status.split(':');
      const i = s.index.get(user);
      if (i === undefined) return;
      if (Number(sentText) < this.ignoreBefore) return;
      const seq = Number(seqText);
      this.delivered++;
      this.latency.add(now() - Number(sentText));
      if (seq === s.lastSeq[i] + 1) s.lastSeq[i] = seq;
      else if (seq <= s.lastSeq[i]) this.dups++;
      else {
        this.gaps += seq - s.lastSeq[i] - 1;
        s.lastSeq[i] = seq;
      }
    },
    onEnd: (s) => this.lost(s),
    onError: (s) => this.lost(s),
  };

  /** Opens one stream per watch, `concurrency` at a time; resolves once every one is ready (or failed). */
  async open(watches: readonly Watch[], concurrency = 256): Promise<void> {
    let next = 0;
    const openOne = async (): Promise<void> => {
      while (next < watches.length) {
        const watch = watches[next++];
        await new Promise<void>((resolve) => this.start(watch, resolve));
      }
    };
    await Promise.all(Array.from({ length: concurrency }, openOne));
  }

  /** Streams that are open and ready. */
  get ready(): number {
    return this.readyCount;
  }

  /** (stream, user) pairs whose last seq is `expected(user)`: they got every ping once, in order. */
  complete(expected: (user: string) => number): { complete: number; pairs: number } {
    let complete = 0;
    let pairs = 0;
    for (const s of this.streams) {
      s.users.forEach((u, i) => {
        pairs++;
        if (s.lastSeq[i] === expected(u)) complete++;
      });
    }
    return { complete, pairs };
  }

  close(): void {
    for (const s of this.streams) {
      s.closing = true;
      s.sock?.destroy();
      s.sock = null;
    }
    this.streams.length = 0;
  }

  private start({ users, claim }: Watch, onReady: () => void): void {
    const index = new Map(users.map((u, i) => [u, i]));
    const s = new Stream(users, index);
    this.streams.push(s);
    const path =
      this.api === 'nchan'
        ? `${users.length === 1 ? '/sub/' : '/multi/'}${users.join(',')}`
        : users.length === 1
          ? `/subscribe/${users[0]}`
          : `/subscribe?${users.map((u) => `user=${u}`).join('&')}`;
    const sock = net.connect({ host: this.host, port: this.port, noDelay: true });
    s.sock = sock;
    s.wake = onReady;
    const claimHeader = claim && this.api !== 'nchan' ? `X-User-Claim: ${JSON.stringify(claim)}\r\n` : '';
    sock.on('connect', () => sock.write(`GET ${path} HTTP/1.1\r\nHost: bench\r\nAccept: text/event-stream\r\n${claimHeader}\r\n`));
    sock.on('data', (buf: Buffer) => feed(s, buf, this.sink));
    sock.on('error', () => this.lost(s));
    sock.on('close', () => this.lost(s));
  }

  private markReady(s: Stream): void {
    if (s.ready) return;
    s.ready = true;
    this.readyCount++;
    s.wake?.();
    s.wake = null;
  }

  private fail(s: Stream): void {
    if (!s.ready && s.wake !== null) {
      this.failed++;
      s.wake();
      s.wake = null;
    }
    s.closing = true;
    s.sock?.destroy();
  }

  private lost(s: Stream): void {
    if (s.closing) return;
    s.closing = true;
    if (s.ready) this.dropped++;
    else this.fail(s);
  }
}
