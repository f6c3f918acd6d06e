import test from 'ava';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { TurnBatch } from '../../src/store/redis/turn-batch.js';

/** A batch runner that records each batch and answers each item with its double. */
function doubling() {
  const batches: number[][] = [];
  const batch = new TurnBatch<number, number>((items) => {
    batches.push([...items]);
    return Promise.resolve(items.map((i) => i * 2));
  }, 4);
  return { batch, batches };
}

test('calls made in one turn run as one batch at its end, each answered with its own result, in order', async (t) => {
  const { batch, batches } = doubling();
  const results = Promise.all([1, 2, 3].map((i) => batch.add(i)));
  t.deepEqual(batches, [], 'nothing runs before the turn ends');
  t.deepEqual(await results, [2, 4, 6]);
  t.deepEqual(batches, [[1, 2, 3]]);
});

test('calls of a later turn make a batch of their own', async (t) => {
  const { batch, batches } = doubling();
  const first = batch.add(1);
  await nextTurn();
  const second = batch.add(2);
  t.deepEqual(await Promise.all([first, second]), [2, 4]);
  t.deepEqual(batches, [[1], [2]]);
});

test('a full batch runs at once; the rest of the turn makes the next one', async (t) => {
  const { batch, batches } = doubling();
  const results = Promise.all([1, 2, 3, 4, 5, 6].map((i) => batch.add(i)));
  t.deepEqual(batches, [[1, 2, 3, 4]], 'the fourth call filled the batch');
  t.deepEqual(await results, [2, 4, 6, 8, 10, 12]);
  t.deepEqual(batches, [
    [1, 2, 3, 4],
    [5, 6],
  ]);
});

test('a failed batch fails every call in it, and only those', async (t) => {
  let fail = true;
  const batch = new TurnBatch<string, string>((items) => (fail ? Promise.reject(new Error('down')) : Promise.resolve(items.map((i) => i))));
  const failed = [batch.add('a'), batch.add('b')];
  for (const call of failed) await t.throwsAsync(call, { message: 'down' });
  fail = false;
  t.is(await batch.add('c'), 'c');
});

test('a runner that throws, or answers the wrong number of results, fails the calls instead of the process', async (t) => {
  const throwing = new TurnBatch<number, number>(() => {
    throw new Error('bug');
  });
  await t.throwsAsync(throwing.add(1), { message: 'bug' });
  const short = new TurnBatch<number, number>(() => Promise.resolve([1]));
  const calls = [short.add(1), short.add(2)];
  for (const call of calls) await t.throwsAsync(call, { message: 'a batch of 2 got 1 results' });
});
