// The delivery queue: one FIFO for every event the hub hands to subscription actors, at most
// `perTurn` events per event-loop turn.
import test from 'ava';
import type { SubscriptionEvent } from '../../machines/subscription.js';
import { DeliveryQueue } from '../../src/streams/delivery-queue.js';

const settle = () => new Promise<void>((resolve) => setImmediate(resolve));
const KEEPALIVE: SubscriptionEvent = { type: 'keepalive' };

test('a burst of thousands of deliveries goes out whole and in order, a batch per turn', async (t) => {
  const queue = new DeliveryQueue(100);
  const got: number[] = [];
  const done: number[] = [];
  for (let i = 0; i < 5_000; i++) {
    queue.push({ to: { send: () => got.push(i) }, event: KEEPALIVE, done: () => done.push(i) });
  }
  t.is(got.length, 100, 'the first batch at once');
  // One more pushed while the burst drains: after it.
  queue.push({ to: { send: () => got.push(-1) }, event: KEEPALIVE });
  let turns = 0;
  while (queue.size > 0) {
    await settle();
    turns++;
  }
  t.deepEqual(got, [...Array.from({ length: 5_000 }, (_, i) => i), -1]);
  t.deepEqual(
    done,
    Array.from({ length: 5_000 }, (_, i) => i),
  );
  t.true(turns >= 50, `${turns} turns`);
  // Empty again: the next push is handed over at once.
  queue.push({ to: { send: () => got.push(-2) }, event: KEEPALIVE });
  t.is(got.at(-1), -2);
});
