import type { PresenceBackend, PresenceListener, StoredPing } from './types.js';

/**
 * The embedded backend: one process, no Redis. For development and for the suites that run
 * over every backend; it keeps the Redis backend's guarantees (monotonic seq, store-then-publish).
 */
export class MemoryPresence implements PresenceBackend {
  readonly mode = 'memory' as const;
  private readonly users = new Map<string, StoredPing>();
  private readonly clients = new Map<string, StoredPing>();
  private readonly channels = new Set<string>();
  private listener: PresenceListener | null = null;
  private lastSeq = 0;

  async save(userid: string, clientid: string, status: string): Promise<StoredPing> {
    const nowMicros = Date.now() * 1000;
    this.lastSeq = nowMicros > this.lastSeq ? nowMicros : this.lastSeq + 1;
    const ping: StoredPing = { time: Math.floor(nowMicros / 1e6), status, clientid, seq: this.lastSeq };
    this.users.set(userid, ping);
    this.clients.set(clientKey(userid, clientid), ping);
    // Publish after the caller's await resumes, as a Redis message would arrive later.
    if (this.channels.has(userid)) queueMicrotask(() => this.listener?.onPing(userid, ping));
    return ping;
  }

  async lastMany(userids: readonly string[], clientid?: string): Promise<(StoredPing | null)[]> {
    return userids.map((u) => (clientid === undefined ? this.users.get(u) : this.clients.get(clientKey(u, clientid))) ?? null);
  }

  async subscribe(userid: string): Promise<void> {
    this.channels.add(userid);
  }

  async unsubscribe(userid: string): Promise<void> {
    this.channels.delete(userid);
  }

  channelCount(): number {
    return this.channels.size;
  }

  isAvailable(): boolean {
    return true;
  }

  setListener(listener: PresenceListener): void {
    this.listener = listener;
  }

  async close(): Promise<void> {
    this.channels.clear();
  }
}

function clientKey(userid: string, clientid: string): string {
  return `${userid}\u0000${clientid}`;
}
