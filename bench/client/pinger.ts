/**
 * POST /ping sender used by the scenarios (keep-alive node:http agent); against nchan,
 * POST /pub/<user> with the same body, which nchan hands to the subscribers as it is.
 * Tags each ping with `b:<seq>:<send time ms>` so subscribers can measure
 * latency and check order; ping i goes to user i % users with seq ⌊i/users⌋+1.
 */
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { Histogram } from './histogram.js';
import { pingAccepted, type Api } from './api.js';

const nowMs = () => performance.timeOrigin + performance.now();

export class Pinger {
  private agent: http.Agent;
  sent = 0;
  okCount = 0;
  errors: Record<string, number> = {};
  /** time from writing a ping to its 200 (the POST /ping path alone, Redis write included) */
  ack = new Histogram();

  constructor(
    private host: string,
    private port: number,
    sockets = 32,
    private api: Api = 'heartbeat',
  ) {
    this.agent = new http.Agent({ keepAlive: true, maxSockets: sockets });
  }

  /** One ping; resolves with the HTTP status (0 on network error). Accepted: 200 (nchan: 201 or 202). */
  ping(user: string, status: string, clientId = 'c1'): Promise<number> {
    this.sent++;
    const body = JSON.stringify({ status });
    const t0 = nowMs();
    return new Promise((resolve) => {
      const req = http.request(
        {
          host: this.host,
          port: this.port,
          method: 'POST',
          path: this.api === 'nchan' ? `/pub/${user}` : '/ping',
          agent: this.agent,
          headers: {
            'Content-Type': 'text/plain',
            'Content-Length': Buffer.byteLength(body),
            ...(this.api === 'nchan' ? {} : { 'X-User-Claim': JSON.stringify({ userid: user, clientid: clientId }) }),
          },
          timeout: 10000,
        },
        (res) => {
          res.resume();
          res.on('end', () => {
            if (pingAccepted(this.api, res.statusCode)) {
              this.okCount++;
              this.ack.add(nowMs() - t0);
            } else this.err('http_' + res.statusCode);
            resolve(res.statusCode ?? 0);
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', (e: NodeJS.ErrnoException) => {
        this.err(e.code ?? e.message);
        resolve(0);
      });
      req.end(body);
    });
  }

  private chains = new Map<string, Promise<number>>();

  /**
   * Tagged ping number i (0-based) of a round-robin over `users` users. Pings of
   * one user are sent one after another (as one device would), so that the
   * order the server acknowledged them in is the order they were sent in; the
   * timestamp is taken when the request actually goes out.
   */
  tagged(i: number, users: number, prefix = 'u', tag = 'b'): Promise<number> {
    const seq = Math.floor(i / users) + 1;
    const user = prefix + (i % users);
    const prev = this.chains.get(user);
    const send = () => this.ping(user, `${tag}:${seq}:${nowMs().toFixed(3)}`);
    const p = prev ? prev.then(send) : send();
    this.chains.set(user, p);
    void p.then(() => {
      if (this.chains.get(user) === p) this.chains.delete(user);
    });
    return p;
  }

  /** Sends `count` tagged pings with at most `parallel` in flight. */
  async burst(count: number, users: number, parallel = 64, prefix = 'u'): Promise<void> {
    let next = 0;
    const lane = async () => {
      while (next < count) await this.tagged(next++, users, prefix);
    };
    await Promise.all(Array.from({ length: Math.min(parallel, count) }, lane));
  }

  /**
   * Sends `count` tagged pings paced at `rate`/s (bounded by count and count/rate + 10 s).
   * tag 'w' marks warm-up pings, which subscribers count as "other", not as measured.
   */
  paced(count: number, rate: number, users: number, prefix = 'u', tag = 'b'): Promise<{ ms: number; lagMaxMs: number }> {
    const t0 = nowMs();
    const hardStop = t0 + (count / rate) * 1000 + 10000;
    let i = 0;
    let lagMax = 0;
    const inflight: Promise<number>[] = [];
    return new Promise((resolve) => {
      const tick = () => {
        const t = nowMs();
        const due = Math.min(count, Math.floor(((t - t0) * rate) / 1000) + 1);
        if (due - i > 1) lagMax = Math.max(lagMax, ((due - i - 1) * 1000) / rate);
        while (i < due) inflight.push(this.tagged(i++, users, prefix, tag));
        if (i < count && t < hardStop) setTimeout(tick, 1);
        else void Promise.all(inflight).then(() => resolve({ ms: nowMs() - t0, lagMaxMs: lagMax }));
      };
      tick();
    });
  }

  private err(k: string): void {
    this.errors[k] = (this.errors[k] ?? 0) + 1;
  }

  close(): void {
    this.agent.destroy();
  }
}
