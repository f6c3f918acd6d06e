import type { Store, StoredPing } from '../store/types.js';
import type { HubRecord } from './hub-record.js';

/** A failed read is tried again after 1 s, then 2, 4, … up to 30 s, until it succeeds. */
const RETRY_FIRST_MS = 1_000;
const RETRY_MAX_MS = 30_000;

/** What a read found for a record (null: the user never pinged in that view). */
export type ReadResult = (record: HubRecord, ping: StoredPing | null) => void;

/**
 * The stored last pings of hub records, read in batches: the records that need a read during
 * one event-loop turn (a storm of new streams, a recovery) are read together, one `lastMany` per
 * view (on Redis, read-pings.lua: at most 1,000 users a call), instead of one read per user per stream.
 * A record whose read failed is kept and read again with a growing delay (1 s doubling to
 * 30 s) while any stream still holds it.
 */
export class RecordReads {
  private queued: HubRecord[] = [];
  /** Settles when the queued reads have: read this turn, or failed (and will be retried). */
  private scheduled: Promise<void> = Promise.resolve();
  private failed = new Set<HubRecord>();
  private retryMs = RETRY_FIRST_MS;
  private retryTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly store: Store,
    /** Called for every record whose read succeeded. */
    private readonly found: ReadResult,
  ) {}

  /** Reads `record`'s stored ping with this turn's other reads; resolves when its read settled (failed or not). */
  read(record: HubRecord): Promise<void> {
    return this.readAll([record]);
  }

  /** Reads every record in `records` together (and with this turn's other reads). */
  readAll(records: Iterable<HubRecord>): Promise<void> {
    if (this.queued.length === 0) this.scheduled = new Promise((resolve) => setImmediate(() => resolve(this.flush())));
    for (const record of records) this.queued.push(record);
    return this.scheduled;
  }

  /** Records waiting for a retry. */
  get retrying(): number {
    return this.failed.size;
  }

  /** Stops retrying (the hub is closing, or the records are gone). */
  stop(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.failed.clear();
  }

  private async flush(): Promise<void> {
    const records = this.queued.filter((r) => r.streams > 0);
    this.queued = [];
    const views = new Map<string, HubRecord[]>();
    for (const record of records) {
      const key = `${record.own ? 'o' : 'p'}${record.clientid ?? ''}`;
      const view = views.get(key);
      if (view) view.push(record);
      else views.set(key, [record]);
    }
    // One read per view; the Redis store splits it into calls of at most 1,000 users.
    await Promise.all([...views.values()].map((view) => this.readView(view)));
  }

  private async readView(records: HubRecord[]): Promise<void> {
    const { own, clientid } = records[0];
    let pings: (StoredPing | null)[];
    try {
      pings = await this.store.lastMany(
        records.map((r) => r.userid),
        clientid,
        own,
      );
    } catch {
      for (const record of records) {
        record.unread = true;
        this.failed.add(record);
      }
      this.armRetry();
      return;
    }
    this.retryMs = RETRY_FIRST_MS;
    records.forEach((record, i) => {
      record.unread = false;
      this.failed.delete(record);
      this.found(record, pings[i]);
    });
  }

  private armRetry(): void {
    if (this.retryTimer !== null) return;
    const delay = this.retryMs;
    this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      const again = [...this.failed].filter((r) => r.streams > 0);
      this.failed.clear();
      if (again.length > 0) void this.readAll(again);
    }, delay);
    this.retryTimer.unref();
  }
}
