/**
 * `npm run diagrams`: writes docs/machines/<machine-id>.md for every machine exported from
 * machines/*.ts. `npm run diagrams:check` (`--check`): writes nothing, exits 1 naming every file
 * that is stale, missing or left over.
 *
 *   node --import tsx scripts/diagrams/cli.ts [--check] [--machines <dir>] [--out <dir>]
 */
import { relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { checkDiagrams, writeDiagrams } from './files.js';
import { discoverMachines } from '../../src/admin/machines.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      check: { type: 'boolean', default: false },
      machines: { type: 'string', default: resolve(ROOT, 'machines') },
      out: { type: 'string', default: resolve(ROOT, 'docs/machines') },
    },
  });
  const out = resolve(values.out);
  const shown = (file: string) => relative(process.cwd(), resolve(out, file)) || file;
  const machines = await discoverMachines(resolve(values.machines));
  if (machines.length === 0) {
    process.stderr.write(`diagrams: no XState machine exported from ${values.machines}\n`);
    return 1;
  }
  if (values.check) {
    const problems = checkDiagrams(machines, out);
    for (const p of problems) {
      const why =
        p.kind === 'stale'
          ? 'is stale (differs from its machine)'
          : p.kind === 'missing'
            ? 'is missing'
            : 'was generated for a machine that no longer exists';
      process.stderr.write(`diagrams: ${shown(p.file)} ${why}; run \`npm run diagrams\` and commit the result\n`);
    }
    if (problems.length === 0) process.stdout.write(`diagrams: ${machines.length} diagrams up to date\n`);
    return problems.length === 0 ? 0 : 1;
  }
  const result = writeDiagrams(machines, out);
  for (const file of result.written) process.stdout.write(`wrote ${shown(file)}\n`);
  for (const file of result.removed) process.stdout.write(`removed ${shown(file)}\n`);
  for (const file of result.unchanged) process.stdout.write(`unchanged ${shown(file)}\n`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`diagrams: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);
