import { setTimeout as sleep } from 'node:timers/promises';
import { eventually } from './metrics.js';
import { ping } from './sse.js';

export interface PingAnswer {
  readonly user: string;
  /** The ping's number: its status is `String(n)`, so a stream can check the order. */
  readonly n: number;
  readonly status: number;
  readonly ms: number;
}

/**
 * One sender per user, posting pings numbered 1, 2, … about 10 ms apart until stopped, every
 * answer recorded: the live traffic the failover and outage tests run through.
 */
export class PingSenders {
  readonly answers: PingAnswer[] = [];
  private running = true;
  private readonly senders: Promise<void>[];

  constructor(
    url: string,
    private readonly users: readonly string[],
  ) {
    this.senders = users.map(async (user) => {
      for (let n = 1; this.running; n++) {
        const started = performance.now();
        const res = await ping(url, user, String(n));
        await res.arrayBuffer();
        this.answers.push({ user, n, status: res.status, ms: performance.now() - started });
        await sleep(10);
      }
    });
  }

  /** Resolves once every user (any user, with `anyUser`) has an answer `status` after the first `from` answers. */
  answered(from: number, status: number, what: string, anyUser = false, timeoutMs = 90_000): Promise<unknown> {
    return eventually(
      () => {
        const seen = (u: string) => this.answers.slice(from).some((a) => a.user === u && a.status === status);
        return Promise.resolve((anyUser ? this.users.some(seen) : this.users.every(seen)) || undefined);
      },
      what,
      timeoutMs,
    );
  }

  /** The number of the user's last acknowledged (200) ping, 0 for none. */
  lastAcknowledged(user: string): number {
    return Math.max(0, ...this.answers.filter((a) => a.user === user && a.status === 200).map((a) => a.n));
  }

  /** The slowest answer so far, in ms. */
  slowestMs(): number {
    return Math.max(0, ...this.answers.map((a) => a.ms));
  }

  /** Each user's stored last ping (its number as a status), read through `/lastseen`. */
  async stored(url: string): Promise<Map<string, string>> {
    const stored = new Map<string, string>();
    for (const user of this.users) {
      const { status } = (await (await fetch(`${url}/lastseen/${user}`)).json()) as { status: string };
      stored.set(user, status);
    }
    return stored;
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.senders);
  }
}
