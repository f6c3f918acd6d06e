// Open streams per watcher in one table that every worker thread shares (MAX_STREAMS_PER_USER):
// exact per watcher, and exact when threads take the last places at the same instant.
import test from 'ava';
import { Worker } from 'node:worker_threads';
import { WatcherStreams } from '../../src/streams/watcher-streams.js';

const RACER = new URL('../support/watcher-race.ts', import.meta.url);

test('counts each watcher up to the limit, gives places back, and forgets a watcher with none', (t) => {
  const table = new WatcherStreams(16);
  t.true(table.tryAdd('alice', 2));
  t.true(table.tryAdd('alice', 2));
  t.false(table.tryAdd('alice', 2), 'the third is refused');
  t.true(table.tryAdd('bob', 2), 'another watcher has places of its own');
  table.remove('alice');
  t.is(table.count('alice'), 1);
  t.true(table.tryAdd('alice', 2), 'a place given back is free again');
  table.remove('alice');
  table.remove('alice');
  t.is(table.count('alice'), 0);
  table.remove('alice');
  t.is(table.count('alice'), 0, 'a stray remove does not go below zero');
});

test('many watchers in a small table, added and removed in any order, each keep their own count', (t) => {
  // 1,024 slots, 500 watchers: long probe runs, and every removal shifts keys back along them.
  const table = new WatcherStreams(400);
  const ids = Array.from({ length: 500 }, (_, i) => `user-${i}`);
  for (const [i, id] of ids.entries()) for (let n = 0; n <= i % 3; n++) t.true(table.tryAdd(id, 3));
  for (const id of ids.filter((_, i) => i % 2 === 0)) while (table.count(id) > 0) table.remove(id);
  for (const [i, id] of ids.entries()) t.is(table.count(id), i % 2 === 0 ? 0 : (i % 3) + 1, id);
  for (const [i, id] of ids.entries()) if (i % 2 === 1) t.is(table.tryAdd(id, 3), i % 3 < 2, id);
});

test('worker threads taking places of one watcher at once never take more than the limit', async (t) => {
  const table = new WatcherStreams(64);
  const taken = await Promise.all(
    Array.from({ length: 4 }, () => {
      // Through tsx's API, as src/process/workers/pool.ts starts its workers from source.
      const bootstrap =
        `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))})` +
        `.then(({ register }) => { register(); return import(${JSON.stringify(RACER.href)}); });`;
      const worker = new Worker(bootstrap, { eval: true, workerData: { shared: table.shared, watcher: 'carol', limit: 50, tries: 2_000 } });
      return new Promise<number>((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
      });
    }),
  );
  t.is(
    taken.reduce((a, b) => a + b, 0),
    50,
    `taken per thread: ${taken.join(', ')}`,
  );
  t.is(table.count('carol'), 50);
});
