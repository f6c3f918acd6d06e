// A worker thread of test/unit/watcher-streams.test.ts: takes places of one watcher in a shared
// WatcherStreams as fast as it can, and reports how many it got.
import { parentPort, workerData } from 'node:worker_threads';
import { WatcherStreams } from '../../src/streams/watcher-streams.js';

const { shared, watcher, limit, tries } = workerData as { shared: SharedArrayBuffer; watcher: string; limit: number; tries: number };
const table = new WatcherStreams(64, shared);
let taken = 0;
for (let i = 0; i < tries; i++) if (table.tryAdd(watcher, limit)) taken++;
parentPort!.postMessage(taken);
