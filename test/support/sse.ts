import { EventSource } from 'eventsource';

export interface ReceivedEvent {
  readonly data: string;
  readonly lastEventId: string;
}

/**
 * A real EventSource client (the `eventsource` package, as a browser's) that records every
 * message and lets a test wait for a count or a predicate.
 */
export class StreamClient {
  readonly events: ReceivedEvent[] = [];
  /** Parsed `data` of every `event: offline`, in order. */
  readonly offlines: { time: number; userid?: string }[] = [];
  /** Every message and offline, in the order they arrived: `status` of a message, `offline` for an offline. */
  readonly sequence: string[] = [];
  readonly source: EventSource;
  /** The response head arrived (EventSource `onopen`). */
  readonly opened: Promise<void>;
  /** The replay is written and the channel is live: every later ping will arrive. */
  readonly ready: Promise<void>;
  private waiters: (() => void)[] = [];
  errors = 0;

  constructor(url: string, headers?: Record<string, string>) {
    this.source = new EventSource(url, {
      fetch: (input, init) => fetch(input, { ...init, headers: { ...(init?.headers as Record<string, string>), ...headers } }),
    });
    this.opened = new Promise((resolve, reject) => {
      this.source.onopen = () => resolve();
      this.source.onerror = (e) => {
        this.errors++;
        reject(new Error(`stream failed: ${(e as { message?: string }).message ?? 'error'} (${(e as { code?: number }).code ?? ''})`));
        this.wake();
      };
    });
    this.opened.catch(() => {});
    this.ready = new Promise((resolve) => this.source.addEventListener('ready', () => resolve()));
    this.source.onmessage = (e) => {
      this.events.push({ data: e.data as string, lastEventId: e.lastEventId });
      this.sequence.push((JSON.parse(e.data as string) as { status: string }).status);
      this.wake();
    };
    this.source.addEventListener('offline', (e) => {
      this.offlines.push(JSON.parse(e.data as string) as { time: number; userid?: string });
      this.sequence.push('offline');
      this.wake();
    });
  }

  /** Parsed `data` of every event so far. */
  json<T = { time: number; status: string; userid?: string }>(): T[] {
    return this.events.map((e) => JSON.parse(e.data) as T);
  }

  statuses(): string[] {
    return this.json().map((e) => e.status);
  }

  /** The statuses of `userid`'s events on a multi-user stream, in the order they arrived. */
  statusesOf(userid: string): string[] {
    return this.json()
      .filter((e) => e.userid === userid)
      .map((e) => e.status);
  }

  /** Resolves once `predicate` holds; rejects after `timeoutMs` (generous: a busy box) with what arrived. */
  async until(predicate: (c: StreamClient) => boolean, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this)) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out; received ${JSON.stringify(this.events.map((e) => e.data))}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  count(n: number, timeoutMs?: number): Promise<void> {
    return this.until((c) => c.events.length >= n, timeoutMs);
  }

  close(): void {
    this.source.close();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}

/** POSTs a ping as the Beep app does behind traefik (text/plain body, claim header). */
export async function ping(
  url: string,
  userid: string,
  status: unknown,
  clientid = 'test',
  extra: Record<string, string> = {},
): Promise<Response> {
  return fetch(`${url}/ping`, {
    method: 'POST',
    headers: { 'Content-Type': 'text/plain;charset=UTF-8', 'X-User-Claim': JSON.stringify({ userid, clientid }), ...extra },
    body: JSON.stringify({ status }),
  });
}

/** The `X-User-Claim` header traefik's forward-auth adds for `userid` on its device `clientid`. */
export function claimHeader(userid: string, clientid: string): Record<string, string> {
  return { 'X-User-Claim': JSON.stringify({ userid, clientid }) };
}

/** The streams a suite opens, closed together when it ends. */
export class StreamPool {
  private readonly clients: StreamClient[] = [];

  open(url: string, headers?: Record<string, string>): StreamClient {
    const client = new StreamClient(url, headers);
    this.clients.push(client);
    return client;
  }

  closeAll(): void {
    for (const client of this.clients) client.close();
  }
}
