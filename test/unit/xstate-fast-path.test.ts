// heartbeat's one patch to a dependency (patches/xstate+5.33.3.patch, docs/xstate-patch.md): a fast
// path in XState's microstep for one transition without a target, and an actor's empty observers,
// listeners, tags and deferred effects held without a Set, Map or array of its own. It may change
// the cost and nothing else. The same machines and event sequences run through the patched XState (the one
// installed) and a pristine copy (the patch reversed) must show the same snapshots, events,
// microsteps and executed actions; and the patched copy must really have taken the fast path, or
// the comparison proves nothing.
import test, { type ExecutionContext } from 'ava';
import fc from 'fast-check';
import assert from 'node:assert/strict';
import type { AnyActor, AnyMachineSnapshot, AnyStateMachine } from 'xstate';
import { pingMachine, type PingRequest, type StoreOutcome } from '../../machines/ping.js';
import { subscriptionMachine, type StreamSink } from '../../machines/subscription.js';
import { SharedPingFrames } from '../../src/streams/frames.js';
import { fastPathSteps, inspector, patched, plain, pristineCopy, snapshotOf, type XState } from '../support/xstate-copies.js';

const pristine = pristineCopy();
test.after.always(() => pristine.remove());

/** The same definition (config and implementations) as a machine of XState copy `x`. */
const machineOf = (x: XState, machine: AnyStateMachine): AnyStateMachine =>
  (x.createMachine as (config: unknown, implementations: unknown) => AnyStateMachine)(machine.config, machine.implementations);

/**
 * Runs `run` on the patched XState and on the pristine copy; their traces must be equal. Returns
 * the fast-path steps each took (the pristine copy has no fast path: it never counts).
 */
function compare(run: (x: XState) => unknown[]): { patched: number; pristine: number } {
  const start = fastPathSteps() ?? 0;
  const withPatch = run(patched);
  const afterPatched = fastPathSteps() ?? 0;
  const without = run(pristine.xstate);
  const afterPristine = fastPathSteps() ?? 0;
  assert.deepStrictEqual(withPatch, without);
  return { patched: afterPatched - start, pristine: afterPristine - afterPatched };
}

/**
 * A property over `cases`: for each, the two copies' traces are equal (`compare`). Over all of them
 * the patched copy took its fast path (more than once per case on average) and the pristine one never.
 */
function differential<T>(t: ExecutionContext, cases: fc.Arbitrary<T>, run: (x: XState, c: T) => unknown[]): void {
  const steps = { runs: 0, patched: 0, pristine: 0 };
  fc.assert(
    fc.property(cases, (c) => {
      const taken = compare((x) => run(x, c));
      steps.runs++;
      steps.patched += taken.patched;
      steps.pristine += taken.pristine;
    }),
    { numRuns: 300 },
  );
  t.log(`${steps.runs} runs: ${steps.patched} steps took the fast path`);
  t.true(steps.patched > steps.runs, 'the patched XState took its fast path');
  t.is(steps.pristine, 0, 'the pristine copy has no fast path');
}

/** Starts `actor`, applies each command, and adds the snapshot after each to `trace`. */
function drive<C>(actor: AnyActor, trace: unknown[], commands: readonly C[], apply: (command: C) => void): void {
  actor.start();
  trace.push(snapshotOf(actor.getSnapshot() as AnyMachineSnapshot));
  for (const command of commands) {
    apply(command);
    trace.push(snapshotOf(actor.getSnapshot() as AnyMachineSnapshot));
  }
}

test('the installed XState is the patched one: it registers its fast path when it loads', (t) => {
  t.not(fastPathSteps(), undefined, 'no patched XState loaded: see docs/xstate-patch.md');
});

// ---------------------------------------------------------------------------------------------
// Small generated machines: targetless and targeted transitions, guards, raise, always, entry
// and exit actions, a compound state and a parallel one.

type Name = 'inc' | 'spend' | 'record' | 'raiseA' | 'raiseB' | 'raiseC';
interface TransitionSpec {
  target?: string;
  reenter: boolean;
  guard?: 'even' | 'odd' | 'budgetLeft';
  actions: Name[];
}
interface StateSpec {
  entry: Name[];
  exit: Name[];
  on: Partial<Record<'A' | 'B' | 'C', TransitionSpec[]>>;
  /** `count up` (targetless, while the count is low) or a target (while budget lasts). */
  always?: string;
}

const EVENTS = ['A', 'B', 'C'] as const;
/** Every state node, by id; `s1` is compound (s1a, s1b), `s2` parallel (regions r1, r2). */
const NODES = ['root', 's0', 's1', 's1a', 's1b', 's2', 'r1', 'r1x', 'r1y', 'r2', 'r2p', 'r2q'] as const;
const TARGETS = ['#s0', '#s1', '#s1a', '#s1b', '#s2', '#r1x', '#r1y', '#r2q'];

const names = fc.subarray<Name>(['inc', 'record']);
const transition: fc.Arbitrary<TransitionSpec> = fc
  .record({
    target: fc.option(fc.constantFrom(...TARGETS), { nil: undefined, freq: 2 }),
    reenter: fc.boolean(),
    guard: fc.option(fc.constantFrom('even' as const, 'odd' as const), { nil: undefined }),
    actions: names,
    raise: fc.option(fc.constantFrom<Name>('raiseA', 'raiseB', 'raiseC'), { nil: undefined, freq: 3 }),
  })
  // A raised event costs budget, and only a transition with budget left raises: every run ends.
  .map(({ raise, ...t }) => (raise ? { ...t, guard: 'budgetLeft' as const, actions: [...t.actions, 'spend' as const, raise] } : t));
const state: fc.Arbitrary<StateSpec> = fc.record(
  {
    entry: names,
    exit: names,
    on: fc.record(
      { A: fc.array(transition, { maxLength: 2 }), B: fc.array(transition, { maxLength: 2 }), C: fc.array(transition, { maxLength: 2 }) },
      { requiredKeys: [] },
    ),
    // Targetless while the count is low (it counts up, so it ends), or to a target while budget lasts.
    always: fc.constantFrom('count up', ...TARGETS),
  },
  { requiredKeys: ['entry', 'exit', 'on'] },
);
const machineSpec = fc.record(Object.fromEntries(NODES.map((id) => [id, state])) as Record<(typeof NODES)[number], typeof state>);

function stateConfig(spec: Record<(typeof NODES)[number], StateSpec>, id: (typeof NODES)[number], children?: object) {
  const s = spec[id];
  const always =
    s.always === undefined
      ? undefined
      : s.always === 'count up'
        ? { guard: { type: 'below', params: { k: 3 } }, actions: 'inc' }
        : { guard: 'budgetLeft', target: s.always, actions: 'spend' };
  return { id, entry: s.entry, exit: s.exit, on: s.on, ...(always && { always }), ...children };
}

function generatedConfig(spec: Record<(typeof NODES)[number], StateSpec>) {
  const leaf = (id: (typeof NODES)[number]) => stateConfig(spec, id);
  return {
    ...stateConfig(spec, 'root', {
      initial: 's0',
      context: { n: 0, budget: 4 },
      states: {
        s0: leaf('s0'),
        // Tags on two states: snapshots with tags and without (the patch shares one empty Set).
        s1: stateConfig(spec, 's1', { initial: 's1a', states: { s1a: leaf('s1a'), s1b: { ...leaf('s1b'), tags: ['deep'] } } }),
        s2: stateConfig(spec, 's2', {
          type: 'parallel',
          states: {
            r1: stateConfig(spec, 'r1', { initial: 'r1x', states: { r1x: leaf('r1x'), r1y: leaf('r1y') } }),
            r2: stateConfig(spec, 'r2', { initial: 'r2p', states: { r2p: leaf('r2p'), r2q: { ...leaf('r2q'), tags: ['deep', 'q'] } } }),
          },
        }),
      },
    }),
    id: 'gen',
  };
}

/** The implementations, made with copy `x`'s own action creators; `record` adds to `trace`. */
function implementations(x: XState, trace: unknown[]) {
  type Ctx = { n: number; budget: number };
  return {
    actions: {
      inc: x.assign({ n: ({ context }: { context: Ctx }) => context.n + 1 }),
      spend: x.assign({ budget: ({ context }: { context: Ctx }) => context.budget - 1 }),
      record: ({ context, event }: { context: Ctx; event: { type: string } }) =>
        void trace.push(['record', event.type, context.n, context.budget]),
      raiseA: x.raise({ type: 'A' }),
      raiseB: x.raise({ type: 'B' }),
      raiseC: x.raise({ type: 'C' }),
    },
    guards: {
      even: ({ context }: { context: Ctx }) => context.n % 2 === 0,
      odd: ({ context }: { context: Ctx }) => context.n % 2 === 1,
      budgetLeft: ({ context }: { context: Ctx }) => context.budget > 0,
      below: ({ context }: { context: Ctx }, params: { k: number }) => context.n < params.k,
    },
  };
}

/** An actor run and XState's pure transition functions, over the same events. */
function runGenerated(x: XState, spec: Record<(typeof NODES)[number], StateSpec>, events: readonly string[]): unknown[] {
  const trace: unknown[] = [];
  try {
    const machine = (x.createMachine as (config: unknown, implementations: unknown) => AnyStateMachine)(
      generatedConfig(spec),
      implementations(x, trace),
    );
    const actor = x.createActor(machine, { inspect: inspector(trace) });
    drive(actor, trace, events, (type) => actor.send({ type }));
    // What each step returns as its actions (XState's own list, not only the executed ones).
    let [snapshot, actions] = x.initialTransition(machine);
    trace.push(['pure', snapshotOf(snapshot), actions.map((a) => [a.type, plain(a.params)])]);
    for (const type of events) {
      [snapshot, actions] = x.transition(machine, snapshot, { type });
      trace.push(['pure', snapshotOf(snapshot), actions.map((a) => [a.type, plain(a.params)])]);
    }
  } catch (error) {
    trace.push(['threw', String(error)]);
  }
  return trace;
}

test('observers and event listeners: each actor gets its own once it has a first one, however many actors have none', (t) => {
  compare((x) => {
    const trace: unknown[] = [];
    const machine = x.setup({ types: { emitted: {} as { type: 'note' } } }).createMachine({
      initial: 'a',
      states: { a: { on: { go: { target: 'b', actions: x.emit({ type: 'note' }) } } }, b: { tags: ['done'] } },
    });
    const [one, two, three] = [1, 2, 3].map(() => x.createActor(machine).start());
    one.subscribe((s) => trace.push(['one saw', s.value, [...s.tags]]));
    two.on('note', () => trace.push(['two heard']));
    const quiet = three.subscribe(() => trace.push(['three saw']));
    quiet.unsubscribe();
    for (const actor of [one, two, three]) actor.send({ type: 'go' });
    trace.push([one, two, three].map((a) => [a.getSnapshot().value, a.getSnapshot().hasTag('done')]));
    for (const actor of [one, two, three]) actor.stop();
    two.send({ type: 'go' });
    return trace;
  });
  t.pass();
});

test('history states and spawned children: recorded and restored the same (the patch shares one frozen empty history and children object)', (t) => {
  compare((x) => {
    const child = x.createMachine({ initial: 'on', states: { on: {} } });
    const machine = x.setup({ actors: { child } }).createMachine({
      initial: 'work',
      states: {
        work: {
          initial: 'a',
          states: { a: { on: { next: 'b' } }, b: { on: { next: 'a' } }, hist: { type: 'history' } },
          on: {
            pause: 'paused',
            spawn: { actions: x.spawnChild('child', { id: 'kid' }) },
            drop: { actions: x.stopChild('kid') },
          },
        },
        paused: { on: { resume: 'work.hist' } },
      },
    });
    const trace: unknown[] = [];
    const actor = x.createActor(machine).start();
    for (const type of ['next', 'spawn', 'pause', 'resume', 'drop', 'next', 'pause', 'resume', 'spawn']) {
      actor.send({ type });
      trace.push(snapshotOf(actor.getSnapshot() as AnyMachineSnapshot));
    }
    trace.push(Object.keys((x.createActor(machine).getSnapshot() as AnyMachineSnapshot).historyValue));
    return trace;
  });
  t.pass();
});

test('generated machines: the patched XState and a pristine one go through the same states and actions', (t) =>
  differential(t, fc.tuple(machineSpec, fc.array(fc.constantFrom(...EVENTS), { maxLength: 12 })), (x, [spec, events]) =>
    runGenerated(x, spec, events),
  ));

// ---------------------------------------------------------------------------------------------
// The subscription machine: one SSE stream.

type SubscriptionCommand =
  | { type: 'presence'; user: number; client: number; seq: number }
  | { type: 'replay.loaded'; pings: { user: number; client: number; seq: number }[] }
  | { type: 'keepalive' | 'socket.full' | 'socket.drained' | 'socket.aborted' }
  | { type: 'server.shutdown'; retryMs: number }
  | { type: 'tick'; ms: number };

const USERS = ['ann', 'bob'];
const CLIENTS = ['phone', 'web'];
const pingSpec = fc.record({ user: fc.nat(1), client: fc.nat(1), seq: fc.integer({ min: 1, max: 40 }) });
const subscriptionCommand: fc.Arbitrary<SubscriptionCommand> = fc.oneof(
  { weight: 8, arbitrary: pingSpec.map((p) => ({ type: 'presence' as const, ...p })) },
  { weight: 1, arbitrary: fc.array(pingSpec, { maxLength: 3 }).map((pings) => ({ type: 'replay.loaded' as const, pings })) },
  {
    weight: 3,
    arbitrary: fc
      .constantFrom(...(['keepalive', 'socket.full', 'socket.drained', 'socket.drained', 'socket.aborted'] as const))
      .map((type) => ({ type })),
  },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 5000 }).map((retryMs) => ({ type: 'server.shutdown' as const, retryMs })) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 70_000 }).map((ms) => ({ type: 'tick' as const, ms })) },
);
const subscriptionInput = fc.record({
  users: fc.constantFrom(['ann'], ['ann', 'bob']),
  clientid: fc.option(fc.constantFrom(...CLIENTS), { nil: undefined }),
  format: fc.constantFrom('single' as const, 'multi' as const),
  resumeAfter: fc.option(fc.nat(5), { nil: undefined }),
});

const presence = (p: { user: number; client: number; seq: number }) =>
  new SharedPingFrames(USERS[p.user], {
    time: 1_700_000_000 + p.seq,
    status: `${USERS[p.user]}${p.seq}`,
    clientid: CLIENTS[p.client],
    seq: p.seq,
  });

function runSubscription(
  x: XState,
  input: { users: readonly string[]; clientid?: string; format: 'single' | 'multi'; resumeAfter?: number },
  commands: readonly SubscriptionCommand[],
): unknown[] {
  const trace: unknown[] = [];
  const decoder = new TextDecoder();
  const sink: StreamSink = {
    open: () => void trace.push('open'),
    write: (chunk) => void trace.push(['write', decoder.decode(chunk)]),
    endWithRetry: (retryMs) => void trace.push(['endWithRetry', retryMs]),
    close: () => void trace.push('close'),
  };
  const machine = machineOf(
    x,
    subscriptionMachine.provide({
      actions: {
        loadCachedPings: () => void trace.push('loadCachedPings'),
        register: () => void trace.push('register'),
        unregister: ({ event }) => void trace.push(['unregister', event.type]),
        countCoalesced: () => void trace.push('countCoalesced'),
      },
      delays: { slowClientTimeout: 60_000 },
    }),
  );
  const clock = new x.SimulatedClock();
  const actor = x.createActor(machine, { input: { ...input, sink }, clock, inspect: inspector(trace) });
  drive(actor, trace, commands, (command) => {
    if (command.type === 'tick') clock.increment(command.ms);
    else if (command.type === 'presence') actor.send({ type: 'presence', ping: presence(command) });
    else if (command.type === 'replay.loaded') actor.send({ type: 'replay.loaded', pings: command.pings.map(presence) });
    else actor.send(command);
  });
  return trace;
}

test('the subscription machine: the patched XState and a pristine one write the same stream', (t) =>
  differential(t, fc.tuple(subscriptionInput, fc.array(subscriptionCommand, { maxLength: 40 })), (x, [input, commands]) =>
    runSubscription(x, input, commands),
  ));

test('a live stream takes the fast path for each presence event, and only the patched XState does', (t) => {
  const commands: SubscriptionCommand[] = [
    { type: 'replay.loaded', pings: [] },
    ...[1, 2, 3, 4, 5].map((seq) => ({ type: 'presence' as const, user: 0, client: 0, seq })),
  ];
  const steps = compare((x) => runSubscription(x, { users: ['ann'], format: 'single' }, commands));
  // replay.loaded has a target (live); the five pings are targetless; `always` in opening is not a step of its own.
  t.deepEqual(steps, { patched: 5, pristine: 0 });
});

// ---------------------------------------------------------------------------------------------
// The ping machine: each POST /ping is one event; the store answers when the test says.

type PostKind = 'valid' | 'tooLarge' | 'untrusted' | 'badClaim' | 'badBody' | 'badLength';
type PingCommand =
  | { type: 'post'; kind: PostKind; user: number }
  | { type: 'settle'; result: 'stored' | 'failed' | 'limited' }
  | { type: 'store.down' | 'store.up' | 'shutdown' };

const pingCommand: fc.Arbitrary<PingCommand> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      type: fc.constant('post' as const),
      kind: fc.constantFrom<PostKind>('valid', 'valid', 'valid', 'tooLarge', 'untrusted', 'badClaim', 'badBody', 'badLength'),
      user: fc.nat(1),
    }),
  },
  {
    weight: 4,
    arbitrary: fc
      .constantFrom('stored' as const, 'failed' as const, 'limited' as const)
      .map((result) => ({ type: 'settle' as const, result })),
  },
  { weight: 2, arbitrary: fc.constantFrom('store.down' as const, 'store.up' as const, 'shutdown' as const).map((type) => ({ type })) },
);

function request(kind: PostKind, user: number, trace: unknown[]): PingRequest {
  const claim = kind === 'badClaim' ? '{"userid":' : JSON.stringify({ userid: USERS[user], clientid: 'phone' });
  return {
    claim,
    body: kind === 'badBody' ? '{"status":' : '{"status":"0"}',
    bodyTooLarge: kind === 'tooLarge',
    fromTrustedPeer: kind !== 'untrusted',
    ...(kind === 'badLength' && { headerRejection: 'BAD_CONTENT_LENGTH' as const }),
    answer: (code, retryAfterSeconds) => void trace.push(['answer', USERS[user], code ?? 200, retryAfterSeconds]),
  };
}

function runPing(x: XState, commands: readonly PingCommand[]): unknown[] {
  const trace: unknown[] = [];
  const inFlight: StoreOutcome[] = [];
  const machine = machineOf(
    x,
    pingMachine.provide({
      actions: {
        storePing: (_, { ping, answer }) => {
          trace.push(['store', ping.userid, ping.status]);
          inFlight.push(answer);
        },
      },
    }),
  );
  const actor = x.createActor(machine, { inspect: inspector(trace) });
  drive(actor, trace, commands, (command) => {
    if (command.type === 'post') actor.send({ type: 'ping.received', request: request(command.kind, command.user, trace) });
    else if (command.type === 'settle') inFlight.shift()?.(command.result === 'limited' ? { retryAfterSeconds: 2 } : command.result);
    else actor.send(command);
  });
  return trace;
}

test('the ping machine: the patched XState and a pristine one answer every ping the same', (t) =>
  differential(t, fc.array(pingCommand, { maxLength: 40 }), runPing));
