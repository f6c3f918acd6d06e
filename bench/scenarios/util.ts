import type { Pool, Stats } from '../client/pool.js';
import { sleep } from '../server-proc.js';

/**
 * Polls worker stats until `delivered` reaches `expected` or no progress is made
 * for `quietMs` / `maxMs` passes ('auto' = the workers' own expected count). `pings` is the round-robin ping count for the
 * per-subscriber exactly-once check.
 */
export async function waitDelivered(pool: Pool, pings: number, expected: number | 'auto', maxMs: number, quietMs = 3000): Promise<Stats> {
  const end = Date.now() + maxMs;
  let last = -1;
  let lastChange = Date.now();
  for (;;) {
    const st = await pool.stats(pings);
    if (st.delivered >= (expected === 'auto' ? st.expected : expected)) {
      await sleep(500); // late duplicates would show up here
      return pool.stats(pings);
    }
    if (Date.now() > end) return st;
    if (st.delivered !== last) {
      last = st.delivered;
      lastChange = Date.now();
    } else if (Date.now() - lastChange > quietMs) return st;
    await sleep(100);
  }
}
