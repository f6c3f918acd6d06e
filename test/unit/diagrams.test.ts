import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { assign, fromPromise, setup } from 'xstate';
import { checkDiagrams, writeDiagrams } from '../../scripts/diagrams/files.js';
import { discoverMachines, type FoundMachine } from '../../src/admin/machines.js';
import { leafStates, stateKeys, toMermaid } from '../../src/admin/mermaid.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** A tiny machine with one of everything the generator draws. */
const fetcher = setup({
  types: { context: {} as { tries: number } },
  actors: { fetchData: fromPromise(() => Promise.resolve(42)) },
  actions: { store: () => {}, reportError: () => {}, startFetch: () => {}, log: () => {} },
  guards: { canFetch: () => true, gaveUp: ({ context }) => context.tries > 3 },
  delays: { retryDelay: 1_000 },
}).createMachine({
  id: 'fetcher',
  context: { tries: 0 },
  initial: 'idle',
  on: { RESET: '.idle' },
  states: {
    idle: {
      entry: 'log',
      on: { FETCH: { target: 'loading', guard: 'canFetch', actions: 'startFetch' }, PING: { actions: 'log' } },
    },
    loading: {
      invoke: { src: 'fetchData', onDone: { target: 'done', actions: 'store' }, onError: { target: 'failed', actions: 'reportError' } },
    },
    failed: {
      entry: assign({ tries: ({ context }) => context.tries + 1 }),
      always: { guard: 'gaveUp', target: 'done' },
      after: { retryDelay: 'loading', 60_000: 'idle' },
    },
    done: { type: 'final' },
  },
});

test('the Mermaid text has every state and labelled transition of the machine', (t) => {
  const text = toMermaid(fetcher);
  const lines = text.split('\n').map((l) => l.trim());
  t.is(lines[0], 'stateDiagram-v2');
  for (const expected of [
    '[*] --> idle',
    'state idle',
    'idle : entry / log',
    'idle : PING / log',
    'idle --> loading : FETCH [canFetch] / startFetch',
    'loading : invoke fetchData',
    'loading --> done : done: fetchData / store',
    'loading --> failed : error: fetchData / reportError',
    'failed : entry / assign',
    'failed --> done : always [gaveUp]',
    'failed --> loading : after retryDelay',
    'failed --> idle : after 60s',
    'done --> [*]',
    'state "any state" as any_state',
    'any_state --> idle : RESET',
  ]) {
    t.true(lines.includes(expected), `missing: ${expected}\n${text}`);
  }
  // The raise/cancel XState adds for `after` timers is not an action of ours.
  t.false(/xstate|cancel|raise/.test(text), text);
  t.deepEqual(leafStates(fetcher), ['idle', 'loading', 'failed', 'done']);
  // Deterministic: the check compares text.
  t.is(toMermaid(fetcher), text);
});

test('counts go into the state labels and occupied states are highlighted', (t) => {
  const text = toMermaid(fetcher, { counts: { idle: 2, loading: 0 } });
  t.true(text.includes('state "idle (2)" as idle'));
  t.true(text.includes('state "loading (0)" as loading'));
  t.true(text.includes('state "done (0)" as done'));
  t.regex(text, /^ {2}class idle occupied$/m);
});

test('nested and parallel states become composite states; reserved ids are renamed', (t) => {
  const machine = setup({}).createMachine({
    id: 'nested',
    initial: 'on',
    states: {
      on: {
        type: 'parallel',
        states: {
          light: { initial: 'dim', states: { dim: { on: { UP: 'bright' } }, bright: {} } },
          sound: { initial: 'end', states: { end: { type: 'final' } } },
        },
        onDone: 'end',
      },
      end: { type: 'final' },
    },
  });
  const text = toMermaid(machine, { counts: { 'on.light.dim': 1 } });
  t.true(text.includes('state on {'));
  t.true(text.includes('state "light" as on_light {'));
  t.true(text.includes('state "dim (1)" as on_light_dim'));
  t.regex(text, /^\s+--$/m);
  t.true(text.includes('on_light_dim --> on_light_bright : UP'));
  // `end` means something to Mermaid: the id changes, the label does not.
  t.true(text.includes('state "end (0)" as end_'));
  t.true(text.includes('on --> end_ : done'));
  t.true(text.includes('end_ --> [*]'));
  t.deepEqual(leafStates(machine), ['on.light.dim', 'on.light.bright', 'on.sound.end', 'end']);
  t.deepEqual(stateKeys({ on: { light: 'dim', sound: 'end' } }), ['on.light.dim', 'on.sound.end']);
  t.deepEqual(stateKeys('live'), ['live']);
});

test('the machines exported from machines/ are discovered', async (t) => {
  const found = (await discoverMachines()).map((m) => [m.id, m.file, m.exportName]);
  t.deepEqual(
    found.filter(([id]) => id === 'ping' || id === 'subscription'),
    [
      ['ping', 'ping.ts', 'pingMachine'],
      ['subscription', 'subscription.ts', 'subscriptionMachine'],
    ],
  );
});

test('check reports stale, missing and orphaned files; write fixes them', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'heartbeat-diagrams-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const machines: FoundMachine[] = [{ machine: fetcher, id: 'fetcher', file: 'fetcher.ts', exportName: 'fetcher' }];

  t.deepEqual(checkDiagrams(machines, dir), [{ file: 'fetcher.md', kind: 'missing' }]);
  t.deepEqual(writeDiagrams(machines, dir), { written: ['fetcher.md'], removed: [], unchanged: [] });
  t.deepEqual(checkDiagrams(machines, dir), []);
  const file = join(dir, 'fetcher.md');
  t.true(readFileSync(file, 'utf8').startsWith('<!-- Generated by `npm run diagrams` from machines/fetcher.ts (export `fetcher`).'));
  t.true(readFileSync(file, 'utf8').includes('```mermaid\nstateDiagram-v2\n'));

  // Someone edits the diagram by hand, or the machine changes: stale.
  writeFileSync(file, readFileSync(file, 'utf8').replace('FETCH [canFetch]', 'FETCH'));
  t.deepEqual(checkDiagrams(machines, dir), [{ file: 'fetcher.md', kind: 'stale' }]);
  // A diagram of a machine that no longer exists; hand-written Markdown next to them is left alone.
  writeFileSync(join(dir, 'gone.md'), '<!-- Generated by `npm run diagrams` from machines/gone.ts -->\n');
  writeFileSync(join(dir, 'notes.md'), '# notes\n');
  t.deepEqual(checkDiagrams(machines, dir), [
    { file: 'fetcher.md', kind: 'stale' },
    { file: 'gone.md', kind: 'orphan' },
  ]);
  t.deepEqual(writeDiagrams(machines, dir), { written: ['fetcher.md'], removed: ['gone.md'], unchanged: [] });
  t.deepEqual(checkDiagrams(machines, dir), []);
  t.deepEqual(writeDiagrams(machines, dir), { written: [], removed: [], unchanged: ['fetcher.md'] });
});

function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', 'scripts/diagrams/cli.ts', ...args], { cwd: ROOT }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

test('the CLI: --check fails naming the stale file, a write makes it pass', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'heartbeat-diagrams-cli-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const missing = await cli('--check', '--out', dir);
  t.is(missing.code, 1);
  t.regex(missing.stderr, /subscription\.md is missing/);
  t.is((await cli('--out', dir)).code, 0);
  t.is((await cli('--check', '--out', dir)).code, 0);
  writeFileSync(join(dir, 'ping.md'), readFileSync(join(dir, 'ping.md'), 'utf8').replace('store.down', 'store.gone'));
  const stale = await cli('--check', '--out', dir);
  t.is(stale.code, 1);
  t.regex(stale.stderr, /ping\.md is stale/);
});

test('the committed docs/machines diagrams are up to date', async (t) => {
  const result = await cli('--check');
  t.is(result.code, 0, result.stderr);
});
