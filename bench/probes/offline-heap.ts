/**
 * The heap OFFLINE_AFTER costs per watched user: 20,000 users watched by one stream each (a
 * do-nothing actor) on one Hub over the embedded store, each with one ping delivered, measured by
 * heapUsed after a GC, with OFFLINE_AFTER=0 (no offline wheel) and OFFLINE_AFTER=60 (every hub
 * record scheduled in the wheel). The difference is what offline-after-silence adds per user.
 *
 *   node --expose-gc --import tsx bench/probes/offline-heap.ts [users]
 */
import type { SubscriptionEvent } from '../../machines/subscription.js';
import { loadConfig } from '../../src/process/config.js';
import { storeOptionsOf } from '../../src/store/connect.js';
import { EmbeddedStore } from '../../src/store/embedded.js';
import { Hub } from '../../src/streams/hub.js';
import { settledHeap } from './settled-heap.js';

const USERS = Number(process.argv[2] ?? 20_000);

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

async function perUser(offlineAfterSeconds: number): Promise<number> {
  const store = new EmbeddedStore(storeOptionsOf(loadConfig({ PING_RATE: '0' })).limits);
  const hub = new Hub(store, {}, offlineAfterSeconds);
  const users = Array.from({ length: USERS }, (_, i) => `user-${i}-${'x'.repeat(24)}`);
  let replays = 0;
  const actor = { send: (event: SubscriptionEvent) => void (event.type === 'replay.loaded' && replays++) };
  await turn();
  const before = settledHeap();
  for (const userid of users) {
    hub.add([userid], actor);
    hub.replay([userid], actor);
  }
  while (replays < USERS) await turn();
  for (const userid of users) await store.save(userid, 'phone', '0');
  while (hub.queuedDeliveries() > 0) await turn();
  await turn();
  const bytes = (settledHeap() - before) / USERS;
  hub.close();
  return bytes;
}

const off = await perUser(0);
const on = await perUser(60);
console.log(
  `${USERS} watched users, one ping each: ${off.toFixed(0)} B per user with OFFLINE_AFTER=0, ${on.toFixed(0)} B with 60: ${(on - off).toFixed(0)} B per watched user for offline`,
);
