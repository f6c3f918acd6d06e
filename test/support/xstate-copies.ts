import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as XStateModule from 'xstate';
import type { AnyActorRef, AnyMachineSnapshot, InspectionEvent } from 'xstate';

/** An XState module: the installed (patched) one or the pristine copy. */
export type XState = typeof XStateModule;

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const require = createRequire(import.meta.url);

/**
 * The XState that the project runs, with heartbeat's patch (patches/, applied by patch-package
 * after every install): loaded through CommonJS, the build Node's `import 'xstate'` runs too.
 */
export const patched = require('xstate') as XState;

/**
 * A pristine copy of the installed XState: the installed package copied into a temp project with
 * the patch file, and the patch reversed there by patch-package (no network needed). Loaded
 * through CommonJS like `patched`, so both run the same build of XState's runtime.
 */
export function pristineCopy(): { xstate: XState; remove: () => void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pristine-xstate-'));
  cpSync(path.dirname(require.resolve('xstate/package.json')), path.join(dir, 'node_modules/xstate'), { recursive: true });
  cpSync(path.join(ROOT, 'patches'), path.join(dir, 'patches'), { recursive: true });
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'pristine-xstate', private: true }));
  execFileSync(process.execPath, [require.resolve('patch-package/index.js'), '--reverse', '--error-on-fail'], { cwd: dir, stdio: 'pipe' });
  return {
    xstate: createRequire(path.join(dir, 'package.json'))('xstate') as XState,
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * How many steps took the fast path in this thread so far; undefined when no patched XState was
 * loaded. The patch counts them on this global (docs/xstate-patch.md).
 */
export function fastPathSteps(): number | undefined {
  return (globalThis as Record<symbol, { steps: number } | undefined>)[Symbol.for('heartbeat.xstate.targetlessFastPath')]?.steps;
}

/** A value as plain data to compare: Maps, Sets and bytes spelled out, actors and functions named. */
export function plain(value: unknown): unknown {
  if (typeof value === 'function') return '[function]';
  if (value === null || typeof value !== 'object') return value;
  if ('sessionId' in value && 'send' in value) return `[actor ${(value as AnyActorRef).id}]`;
  if (value instanceof Uint8Array) return new TextDecoder().decode(value);
  if (value instanceof Map) return { map: [...value].map(([k, v]) => [plain(k), plain(v)]) };
  if (value instanceof Set) return { set: [...value].map(plain) };
  if (Array.isArray(value)) return value.map(plain);
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
}

/** What a machine snapshot shows: its state, status, tags, context, children, output and error. */
export function snapshotOf(snapshot: AnyMachineSnapshot): unknown {
  const { value, status, tags, context, children, output, error } = snapshot as {
    value: unknown;
    tags: ReadonlySet<string>;
    status: string;
    context: unknown;
    children: Record<string, unknown>;
    output: unknown;
    error: unknown;
  };
  return {
    value,
    status,
    tags: [...tags].sort(),
    context: plain(context),
    children: Object.keys(children).sort(),
    output: plain(output),
    error: error instanceof Error ? `${error.name}: ${error.message}` : plain(error),
  };
}

/** An `inspect` option that adds each event received, action executed and microstep taken to `trace`. */
export function inspector(trace: unknown[]): (event: InspectionEvent) => void {
  const id = (ref: unknown) => (ref as AnyActorRef).id;
  return (e) => {
    if (e.type === '@xstate.event') trace.push(['event', id(e.actorRef), e.event.type]);
    else if (e.type === '@xstate.action') trace.push(['action', id(e.actorRef), e.action.type, plain(e.action.params)]);
    else if (e.type === '@xstate.microstep')
      trace.push([
        'microstep',
        id(e.actorRef),
        e.event.type,
        plain((e.snapshot as AnyMachineSnapshot).value),
        e._transitions.map((t) => `${t.source.id}:${t.eventType}->${t.target?.map((n) => n.id).join(',') ?? ''}`),
      ]);
  };
}
