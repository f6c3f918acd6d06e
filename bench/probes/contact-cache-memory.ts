/**
 * The heap one cached watcher costs in WATCH_POLICY=contacts's contact cache, against what the
 * cache counts it as (src/watch/contact-cache.ts, entryBytes): 20,000 watchers with N contacts each
 * (UUID ids, as backend-core's), filled through ContactCache.set, measured by heapUsed after a GC.
 *
 *   node --expose-gc --import tsx bench/probes/contact-cache-memory.ts [contacts per watcher...]
 */
import { randomUUID } from 'node:crypto';
import { ContactCache } from '../../src/watch/contact-cache.js';
import { settledHeap } from './settled-heap.js';

const WATCHERS = 20_000;
const sizes = process.argv.slice(2).map(Number);

for (const contacts of sizes.length ? sizes : [0, 10, 50, 200]) {
  const cache = new ContactCache({ maxEntries: WATCHERS, maxBytes: Number.MAX_SAFE_INTEGER });
  const before = settledHeap();
  for (let w = 0; w < WATCHERS; w++) {
    // As the client makes them: the ids of a parsed answer (its own strings), the watcher's id from the claim.
    const answer = JSON.parse(JSON.stringify(Array.from({ length: contacts }, () => ({ id: randomUUID() })))) as { id: string }[];
    const watcher = (JSON.parse(JSON.stringify({ userid: randomUUID() })) as { userid: string }).userid;
    cache.set(watcher, { contacts: new Set(answer.map((c) => c.id)), fetchedAt: 1, attemptedAt: 1, claim: '' });
  }
  const measured = (settledHeap() - before) / WATCHERS;
  console.log(
    `${contacts} contacts: ${Math.round(measured)} B per watcher measured, ${Math.round(cache.bytes / WATCHERS)} B counted (${(measured / Math.max(1, contacts)).toFixed(0)} B per contact)`,
  );
}
