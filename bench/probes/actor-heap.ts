/**
 * Heap per subscription actor, without sockets: N actors of the real subscription machine
 * (I/O actions stubbed), measured with gc() before and after.
 *
 *   node --expose-gc --import tsx bench/probes/actor-heap.ts [N]
 *
 * Prints three figures: an independent root actor per stream (what the service does), the same
 * with every actor created with XState's `parent` option so that all share one actor system
 * (XState then treats them as non-root actors: see BENCHMARKS.md), and the bare input objects
 * (what a stream would hold without any actor).
 */
import { createActor, fromCallback } from 'xstate';
import { subscriptionMachine, type StreamSink, type SubscriptionInput } from '../../machines/subscription.js';

const N = Number(process.argv[2] ?? 20_000);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');

const machine = subscriptionMachine.provide({ actions: { register: () => {}, unregister: () => {}, loadCachedPings: () => {} } });
const sink: StreamSink = { open: () => {}, write: () => {}, endWithRetry: () => {}, close: () => {} };
const input = (i: number): SubscriptionInput => ({ sink, users: [`user-${i}`], format: 'single' });

function heapPer(make: (i: number) => unknown): number {
  gc!();
  const before = process.memoryUsage().heapUsed;
  const kept: unknown[] = [];
  for (let i = 0; i < N; i++) kept.push(make(i));
  gc!();
  const per = (process.memoryUsage().heapUsed - before) / N;
  if (kept.length !== N) throw new Error('unreachable');
  return Math.round(per);
}

const parent = createActor(fromCallback(() => {}));
parent.start();

const rows: [string, number][] = [
  ['input only (no actor)', heapPer(input)],
  ['independent root actor (the service)', heapPer((i) => createActor(machine, { input: input(i) }).start())],
  ['actor sharing one system (parent option)', heapPer((i) => createActor(machine, { input: input(i), parent }).start())],
];
for (const [what, bytes] of rows) console.log(`${String(bytes).padStart(6)} B heap per stream  ${what}`);
