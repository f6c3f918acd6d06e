/**
 * Heap per subscription actor, without sockets: N actors of the real subscription machine
 * (I/O actions stubbed), measured with gc() before and after, and the time to spawn and stop
 * them all.
 *
 *   node --expose-gc --import tsx bench/probes/actor-heap.ts [N]
 *
 * Rows: the bare input objects (what a stream would hold without any actor), an independent
 * root actor per stream (the service before bucket parents), and children of bucket parents
 * (src/streams/bucket-parents.ts, the service now) for several parent sizes: heap per stream, and
 * µs per stream to spawn N and to stop them all (a stop goes through the parent: done event,
 * stopChild, which copies the parent's table of children).
 */
import { createActor } from 'xstate';
import { subscriptionMachine, type StreamSink, type SubscriptionInput } from '../../machines/subscription.js';
import { BucketParents } from '../../src/streams/bucket-parents.js';

const N = Number(process.argv[2] ?? 20_000);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');

const machine = subscriptionMachine.provide({ actions: { register: () => {}, unregister: () => {}, loadCachedPings: () => {} } });
const sink: StreamSink = { open: () => {}, write: () => {}, endWithRetry: () => {}, close: () => {} };
const input = (i: number): SubscriptionInput => ({ sink, users: [`user-${i}`], format: 'single' });
const ABORTED = { type: 'socket.aborted' } as const;

function measure(make: (i: number) => unknown, stop?: (x: unknown) => void): [number, number, number] {
  gc!();
  const before = process.memoryUsage().heapUsed;
  const kept: unknown[] = [];
  const t0 = performance.now();
  for (let i = 0; i < N; i++) kept.push(make(i));
  const spawnUs = ((performance.now() - t0) * 1000) / N;
  gc!();
  const per = (process.memoryUsage().heapUsed - before) / N;
  const t1 = performance.now();
  if (stop) for (const x of kept) stop(x);
  const stopUs = ((performance.now() - t1) * 1000) / N;
  return [Math.round(per), Math.round(spawnUs * 10) / 10, Math.round(stopUs * 10) / 10];
}

const rows: [string, [number, number, number]][] = [
  ['input only (no actor)', measure(input)],
  [
    'independent root actor',
    measure(
      (i) => createActor(machine, { input: input(i) }).start(),
      (a) => (a as ReturnType<typeof createActor>).send(ABORTED),
    ),
  ],
];
for (const size of [16, 64, 256, 1024]) {
  const parents = new BucketParents({ subscription: machine, size });
  rows.push([
    `child of a bucket parent of ${size}`,
    measure(
      (i) => parents.spawn(input(i)),
      (a) => (a as { send(e: typeof ABORTED): void }).send(ABORTED),
    ),
  ]);
  if (parents.children() !== 0) throw new Error(`${parents.children()} children left in bucket parents of ${size}`);
}
console.log('  heap/stream  spawn µs  stop µs');
for (const [what, [bytes, spawn, stop]] of rows)
  console.log(`${String(bytes).padStart(8)} B ${String(spawn).padStart(9)} ${String(stop).padStart(8)}  ${what}`);
