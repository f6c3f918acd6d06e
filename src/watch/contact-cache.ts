/** What the cache knows of one watcher. */
export interface ContactEntry {
  /** The watcher's contacts as backend-core last answered; null when no call has succeeded yet. */
  readonly contacts: ReadonlySet<string> | null;
  /** When `contacts` were read (ms, the policy's clock); 0 when never. */
  readonly fetchedAt: number;
  /** When the last call for this watcher started, successful or not (ms): at most one a second. */
  readonly attemptedAt: number;
  /** The X-User-Claim of the last call: the re-check of open streams calls with it again. */
  readonly claim: string;
}

/**
 * Heap bytes per cached watcher, and per contact beyond its id's characters: an entry object, its
 * Map slot and an empty Set; a Set slot and a string header. Measured by
 * `node --expose-gc --import tsx bench/probes/contact-cache-memory.ts` (docs/api.md gives the figures).
 */
const ENTRY_BYTES = 300;
const CONTACT_BYTES = 44;

/** What one entry is counted as against the cache's memory bound. */
function entryBytes(watcher: string, entry: ContactEntry): number {
  let bytes = ENTRY_BYTES + watcher.length + entry.claim.length;
  if (entry.contacts) for (const id of entry.contacts) bytes += CONTACT_BYTES + id.length;
  return bytes;
}

export interface ContactCacheLimits {
  /** Watchers kept at most. Default 100,000. */
  readonly maxEntries?: number;
  /** Estimated heap bytes kept at most (entryBytes). Default 64 MiB. */
  readonly maxBytes?: number;
}

/**
 * The contact sets of one worker thread's watchers, least recently used evicted first, bounded in
 * entries and in estimated bytes, whichever is reached first. Worst case per worker: maxBytes
 * (64 MiB) of contact sets, however many watchers and contacts backend-core returns; an entry
 * larger than a quarter of maxBytes is not kept at all (its watcher's every request asks
 * backend-core, still once a second at most: ContactsPolicy). A JS Map keeps insertion order, so
 * re-inserting on use makes its first key the least recently used.
 */
export class ContactCache {
  private readonly entries = new Map<string, { entry: ContactEntry; bytes: number }>();
  private totalBytes = 0;
  readonly maxEntries: number;
  readonly maxBytes: number;

  constructor(limits: ContactCacheLimits = {}) {
    this.maxEntries = limits.maxEntries ?? 100_000;
    this.maxBytes = limits.maxBytes ?? 64 * 1024 * 1024;
  }

  /** The watcher's entry, marked as just used. */
  get(watcher: string): ContactEntry | undefined {
    const slot = this.entries.get(watcher);
    if (slot === undefined) return undefined;
    this.entries.delete(watcher);
    this.entries.set(watcher, slot);
    return slot.entry;
  }

  /** The watcher's entry, its place in the eviction order untouched (the re-check sweep). */
  peek(watcher: string): ContactEntry | undefined {
    return this.entries.get(watcher)?.entry;
  }

  set(watcher: string, entry: ContactEntry): void {
    this.delete(watcher);
    const bytes = entryBytes(watcher, entry);
    if (bytes > this.maxBytes / 4) return;
    this.entries.set(watcher, { entry, bytes });
    this.totalBytes += bytes;
    for (const oldest of this.entries.keys()) {
      if (this.entries.size <= this.maxEntries && this.totalBytes <= this.maxBytes) break;
      this.delete(oldest);
    }
  }

  delete(watcher: string): void {
    const slot = this.entries.get(watcher);
    if (slot === undefined) return;
    this.entries.delete(watcher);
    this.totalBytes -= slot.bytes;
  }

  get size(): number {
    return this.entries.size;
  }

  /** The estimated heap bytes of every entry (heartbeat_contacts_cache_bytes). */
  get bytes(): number {
    return this.totalBytes;
  }
}
