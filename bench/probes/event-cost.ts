/**
 * CPU time and heap allocated per event delivered to one live subscription actor, without
 * sockets (the sink is a stub), next to the smallest machine that can do the same write.
 *
 *   node --expose-gc --import tsx bench/probes/event-cost.ts
 *
 * Allocation is measured with a young generation large enough that no scavenge runs during the
 * measured loop (the probe re-runs itself with --min/--max-semi-space-size=256).
 */
import { execFileSync } from 'node:child_process';
import { createActor, setup } from 'xstate';
import { subscriptionMachine, type PresencePing, type StreamSink } from '../../machines/subscription.js';

if (!process.execArgv.some((a) => a.startsWith('--max-semi-space-size'))) {
  const args = ['--expose-gc', '--min-semi-space-size=256', '--max-semi-space-size=256', ...process.execArgv, process.argv[1]];
  process.stdout.write(execFileSync(process.execPath, args));
  process.exit(0);
}

const gc = (globalThis as { gc?: () => void }).gc!;
const FRAME = new Uint8Array(40);
const sink: StreamSink = { open: () => {}, write: () => true, endWithRetry: () => {}, close: () => {} };
const ping = (seq: number): PresencePing => ({ userid: 'u', clientid: 'c', seq, frame: () => FRAME });

function measure(name: string, send: (i: number) => void): void {
  for (let i = 0; i < 50_000; i++) send(i);
  const N = 200_000;
  gc();
  const heap0 = process.memoryUsage().heapUsed;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) send(50_000 + i);
  const ns = Number(process.hrtime.bigint() - t0) / N;
  const bytes = (process.memoryUsage().heapUsed - heap0) / N;
  console.log(`${(ns / 1000).toFixed(2).padStart(6)} µs  ${String(Math.round(bytes)).padStart(5)} B allocated per event  ${name}`);
}

const machine = subscriptionMachine.provide({ actions: { register: () => {}, unregister: () => {}, loadCachedPings: () => {} } });
const actor = createActor(machine, { input: { sink, users: ['u'], format: 'single' } }).start();
actor.send({ type: 'replay.loaded', pings: [] });
if (actor.getSnapshot().value !== 'live') throw new Error('the probe expects a live stream');
// Events are built inside the loop, as the hub builds one per ping (shared by its subscribers).
measure('subscription machine, presence (one write each)', (i) => actor.send({ type: 'presence', ping: ping(i + 1) }));
const KEEPALIVE = { type: 'keepalive' } as const;
measure('subscription machine, keepalive', () => actor.send(KEEPALIVE));

const smallest = setup({ actions: { write: () => void sink.write(FRAME) } }).createMachine({ on: { presence: { actions: 'write' } } });
const tiny = createActor(smallest).start();
measure('one-transition machine (XState floor)', (i) => tiny.send({ type: 'presence', seq: i }));
measure('no actor: the write alone', () => void sink.write(FRAME));
