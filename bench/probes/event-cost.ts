/**
 * CPU time and heap allocated per event delivered to one live subscription actor, without
 * sockets (the sink is a stub), next to the smallest XState machine and to no actor at all.
 *
 *   node --expose-gc --import tsx bench/probes/event-cost.ts
 *
 * Time is measured with V8's default heap, so it includes the scavenges the garbage causes.
 * Allocation is measured in a second process whose young generation (256 MiB semi-spaces) is
 * large enough that no scavenge runs during a measured loop: bytes = heapUsed after − before.
 * A loop during which a GC ran anyway is reported as such instead of a number.
 */
import { execFileSync } from 'node:child_process';
import { PerformanceObserver } from 'node:perf_hooks';
import { createActor, setup } from 'xstate';
import { subscriptionMachine, type PingFrames, type StreamSink } from '../../machines/subscription.js';

const ALLOC_MODE = process.execArgv.some((a) => a.startsWith('--max-semi-space-size'));
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');

const FRAME = new Uint8Array(40);
const sink: StreamSink = { open: () => {}, write: () => {}, endWithRetry: () => {}, close: () => {} };
const ping = (seq: number): PingFrames => ({ userid: 'u', clientid: 'c', seq, frame: () => FRAME });

let gcsSeen = 0;
new PerformanceObserver((list) => void (gcsSeen += list.getEntries().length)).observe({ entryTypes: ['gc'] });
const settle = () => new Promise((resolve) => setTimeout(resolve, 100));

async function measure(send: (i: number) => void, seq: { next: number }): Promise<string> {
  const N = ALLOC_MODE ? 40_000 : 500_000;
  for (let i = 0; i < 50_000; i++) send(seq.next++);
  gc!();
  await settle();
  const gcsBefore = gcsSeen;
  const heap0 = process.memoryUsage().heapUsed;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) send(seq.next++);
  const ns = Number(process.hrtime.bigint() - t0) / N;
  const bytes = (process.memoryUsage().heapUsed - heap0) / N;
  await settle();
  if (!ALLOC_MODE) return (ns / 1000).toFixed(2);
  return gcsSeen === gcsBefore ? String(Math.round(bytes)) : 'n/a (a GC ran)';
}

const machine = subscriptionMachine.provide({ actions: { register: () => {}, unregister: () => {}, loadCachedPings: () => {} } });
const actor = createActor(machine, { input: { sink, users: ['u'], format: 'single' } }).start();
actor.send({ type: 'replay.loaded', pings: [] });
if (actor.getSnapshot().value !== 'live') throw new Error('the probe expects a live stream');
const KEEPALIVE = { type: 'keepalive' } as const;
const smallest = setup({ actions: { write: () => void sink.write(FRAME) } }).createMachine({ on: { presence: { actions: 'write' } } });
const tiny = createActor(smallest).start();

// Events are built inside the loop, as the hub builds one per ping (shared by its subscribers).
const cases: [string, (i: number) => void][] = [
  ['subscription machine, presence (one write each)', (i) => actor.send({ type: 'presence', ping: ping(i + 1) })],
  ['subscription machine, keepalive', () => actor.send(KEEPALIVE)],
  ['one-transition machine (XState floor)', (i) => tiny.send({ type: 'presence', seq: i })],
  ['no actor: the write alone', () => void sink.write(FRAME)],
];
const seq = { next: 1 };
const results: string[] = [];
for (const [, send] of cases) results.push(await measure(send, seq));

if (ALLOC_MODE) {
  process.stdout.write(JSON.stringify(results));
} else {
  const args = ['--expose-gc', '--min-semi-space-size=256', '--max-semi-space-size=256', ...process.execArgv, process.argv[1]];
  const bytes = JSON.parse(execFileSync(process.execPath, args).toString()) as string[];
  console.log('   µs/event   B allocated/event   what');
  cases.forEach(([name], i) => console.log(`${results[i].padStart(11)}   ${bytes[i].padStart(17)}   ${name}`));
}
