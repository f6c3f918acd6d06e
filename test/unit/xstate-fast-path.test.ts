// The project's patch to XState (docs/xstate-patch.md): it is installed, the script that applies
// it is safe to run again and on an XState it does not know, and transitions without a target
// behave as XState defines them.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { assign, createActor, raise, setup } from 'xstate';
import { FAST_PATH, MARKER, RUNTIME_FILE } from '../../scripts/patch-xstate.mjs';

const SCRIPT = fileURLToPath(new URL('../../scripts/patch-xstate.mjs', import.meta.url));
const XSTATE_DIST = path.join(path.dirname(createRequire(import.meta.url).resolve('xstate/package.json')), 'dist');
const runtimeFiles = (dir: string) => readdirSync(dir).filter((name) => RUNTIME_FILE.test(name));

function runScript(dir: string) {
  const run = spawnSync(process.execPath, [SCRIPT, dir], { encoding: 'utf8' });
  return { status: run.status, out: run.stdout + run.stderr };
}

test('the installed XState carries the fast path in each of its four runtime builds', (t) => {
  const files = runtimeFiles(XSTATE_DIST);
  t.is(files.length, 4);
  for (const name of files) {
    t.true(readFileSync(path.join(XSTATE_DIST, name), 'utf8').includes(MARKER), `${name} is not patched: see docs/xstate-patch.md`);
  }
});

test('the script patches an XState it knows once, and running it again changes nothing', (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'xstate-patch-'));
  const patched = new Map(runtimeFiles(XSTATE_DIST).map((name) => [name, readFileSync(path.join(XSTATE_DIST, name), 'utf8')]));
  for (const [name, source] of patched) writeFileSync(path.join(dir, name), source.replace(FAST_PATH, ''));

  const first = runScript(dir);
  t.is(first.status, 0);
  t.regex(first.out, /fast path applied to 4 files/);
  for (const [name, source] of patched) t.is(readFileSync(path.join(dir, name), 'utf8'), source, name);

  const second = runScript(dir);
  t.is(second.status, 0);
  t.regex(second.out, /already applied/);
  for (const [name, source] of patched) t.is(readFileSync(path.join(dir, name), 'utf8'), source, name);
});

test('an XState the script does not know is left as it is, with a warning, and the install goes on', (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'xstate-patch-'));
  const source = 'function microstep(transitions, snapshot) {\n  return [snapshot, []];\n}\n';
  writeFileSync(path.join(dir, 'raise-0123abcd.cjs.js'), source);
  const run = runScript(dir);
  t.is(run.status, 0);
  t.regex(run.out, /not the one scripts\/patch-xstate\.mjs knows \(raise-0123abcd\.cjs\.js\)/);
  t.is(readFileSync(path.join(dir, 'raise-0123abcd.cjs.js'), 'utf8'), source);
});

test('a directory without XState gets a warning, and the install goes on', (t) => {
  const run = runScript(path.join(os.tmpdir(), 'no-such-xstate-dist'));
  t.is(run.status, 0);
  t.regex(run.out, /without the targetless fast path/);
});

test('a transition without a target runs its actions in order on the updated context, and the state stays', (t) => {
  const seen: number[] = [];
  const machine = setup({
    types: { context: {} as { count: number } },
    actions: { record: ({ context }) => void seen.push(context.count) },
  }).createMachine({
    context: { count: 0 },
    initial: 'idle',
    states: { idle: { on: { bump: { actions: [assign({ count: ({ context }) => context.count + 1 }), 'record'] } } } },
  });
  const actor = createActor(machine).start();
  actor.send({ type: 'bump' });
  actor.send({ type: 'bump' });
  t.is(actor.getSnapshot().value, 'idle');
  t.is(actor.getSnapshot().context.count, 2);
  t.deepEqual(seen, [1, 2]);
});

test('an eventless transition is taken as soon as a targetless one has made its guard true', (t) => {
  const machine = setup({ types: { context: {} as { count: number } } }).createMachine({
    context: { count: 0 },
    initial: 'counting',
    states: {
      counting: {
        always: { guard: ({ context }) => context.count >= 2, target: 'done' },
        on: { bump: { actions: assign({ count: ({ context }) => context.count + 1 }) } },
      },
      done: {},
    },
  });
  const actor = createActor(machine).start();
  actor.send({ type: 'bump' });
  t.is(actor.getSnapshot().value, 'counting');
  actor.send({ type: 'bump' });
  t.is(actor.getSnapshot().value, 'done');
});

test('an event raised by a targetless transition is handled before send returns', (t) => {
  const machine = setup({}).createMachine({
    initial: 'waiting',
    states: {
      waiting: { on: { poke: { actions: raise({ type: 'go' }) }, go: 'gone' } },
      gone: {},
    },
  });
  const actor = createActor(machine).start();
  actor.send({ type: 'poke' });
  t.is(actor.getSnapshot().value, 'gone');
});

test('a targetless transition whose guard fails lets the next candidate run', (t) => {
  const ran: string[] = [];
  const machine = setup({
    actions: { first: () => void ran.push('first'), second: () => void ran.push('second') },
  }).createMachine({
    on: { ping: [{ guard: () => false, actions: 'first' }, { actions: 'second' }] },
  });
  createActor(machine).start().send({ type: 'ping' });
  t.deepEqual(ran, ['second']);
});

test('a targetless transition of a parent state neither exits nor re-enters the active child', (t) => {
  const entries: string[] = [];
  const machine = setup({
    types: { context: {} as { bumps: number } },
    actions: { enterChild: () => void entries.push('child') },
  }).createMachine({
    context: { bumps: 0 },
    initial: 'parent',
    states: {
      parent: {
        on: { bump: { actions: assign({ bumps: ({ context }) => context.bumps + 1 }) } },
        initial: 'child',
        states: { child: { entry: 'enterChild' } },
      },
    },
  });
  const actor = createActor(machine).start();
  actor.send({ type: 'bump' });
  actor.send({ type: 'bump' });
  t.deepEqual(actor.getSnapshot().value, { parent: 'child' });
  t.is(actor.getSnapshot().context.bumps, 2);
  t.deepEqual(entries, ['child']);
});
