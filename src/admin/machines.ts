import { readdirSync } from 'node:fs';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { join } from 'node:path';
import type { AnyStateMachine } from 'xstate';

/** machines/ of this checkout: `../../machines/` from src/admin/ and from dist/src/admin/. */
const MACHINES_DIR = fileURLToPath(new URL('../../machines/', import.meta.url));

export interface FoundMachine {
  readonly machine: AnyStateMachine;
  /** The machine's id (`subscription`), which names its diagram file. */
  readonly id: string;
  /** The file that exports it, relative to the machines directory (`subscription.ts`). */
  readonly file: string;
  /** The export's name (`subscriptionMachine`). */
  readonly exportName: string;
}

/** Whether a module export is an XState machine (a StateMachine has a root node and its config). */
function isMachine(value: unknown): value is AnyStateMachine {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.root === 'object' &&
    v.root !== null &&
    typeof v.config === 'object' &&
    typeof v.id === 'string' &&
    typeof v.transition === 'function' &&
    typeof v.getInitialSnapshot === 'function'
  );
}

/**
 * Imports every module in `dir` (`.ts` when run from source, `.js` from dist/) and returns the
 * machines they export, ordered by file and export name. Two different machines with one id
 * would write the same diagram file: that is an error.
 */
export async function discoverMachines(dir: string = MACHINES_DIR): Promise<FoundMachine[]> {
  const files = readdirSync(dir)
    .filter((f) => /\.(ts|js|mts|mjs)$/.test(f) && !/\.d\.m?ts$/.test(f) && !/\.test\./.test(f))
    .sort();
  const found: FoundMachine[] = [];
  const seen = new Set<AnyStateMachine>();
  for (const file of files) {
    const module = (await import(pathToFileURL(join(dir, file)).href)) as Record<string, unknown>;
    for (const exportName of Object.keys(module).sort()) {
      const machine = module[exportName];
      if (!isMachine(machine) || seen.has(machine)) continue;
      seen.add(machine);
      const clash = found.find((m) => m.id === machine.id);
      if (clash) {
        throw new Error(`machines ${clash.file}#${clash.exportName} and ${file}#${exportName} share the id "${machine.id}"`);
      }
      found.push({ machine, id: machine.id, file, exportName });
    }
  }
  return found;
}
