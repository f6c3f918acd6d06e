// Applies heartbeat's one patch to the installed XState: a fast path in `microstep` for a single
// transition without a target (docs/xstate-patch.md says why and what it measured).
//
//   node scripts/patch-xstate.mjs [xstate dist directory]   (npm runs it after every install)
//
// It never fails an install: an XState whose `microstep` it does not recognise is left as it is,
// with a warning, and test/unit/xstate-fast-path.test.ts then fails until the patch is updated.
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

/** XState's runtime builds, the files `microstep` is in: CommonJS and ES module, production and development. */
export const RUNTIME_FILE = /^raise-[0-9a-f]+(\.development)?\.(cjs|esm)\.js$/;

export const MARKER = '/* heartbeat: targetless fast path */';

// The lines `microstep` starts with in every build of xstate 5.33 (cjs, esm, development).
const ANCHOR = `function microstep(transitions, currentSnapshot, actorScope, event, isInitial, internalQueue) {
  const actions = [];
  if (!transitions.length) {
    return [currentSnapshot, actions];
  }
`;

// A transition without a target exits and enters nothing (SCXML), so only its actions run: no
// exit or entry sets, no copy of the configuration. Everything else takes XState's own path.
export const FAST_PATH = `  ${MARKER}
  if (!isInitial && transitions.length === 1 && transitions[0].target === undefined && !transitions[0].reenter) {
    const originalExecutor = actorScope.actionExecutor;
    actorScope.actionExecutor = action => {
      actions.push(action);
      originalExecutor(action);
    };
    try {
      return [resolveActionsAndContext(currentSnapshot, event, actorScope, transitions[0].actions, internalQueue, undefined), actions];
    } finally {
      actorScope.actionExecutor = originalExecutor;
    }
  }
`;

/** 'applied', 'already' (patched before) or 'unknown' (not the microstep this patch was made for). */
function patchFile(file) {
  const source = readFileSync(file, 'utf8');
  if (source.includes(MARKER)) return 'already';
  if (source.split(ANCHOR).length !== 2) return 'unknown';
  writeFileSync(
    file,
    source.replace(ANCHOR, () => ANCHOR + FAST_PATH),
  );
  return 'applied';
}

function xstateDist() {
  return path.dirname(createRequire(import.meta.url).resolve('xstate/package.json')) + '/dist';
}

function patchAll(dir) {
  const files = readdirSync(dir).filter((name) => RUNTIME_FILE.test(name));
  const results = files.map((name) => [name, patchFile(path.join(dir, name))]);
  const unknown = results.filter(([, result]) => result === 'unknown').map(([name]) => name);
  if (files.length === 0 || unknown.length > 0)
    return `not the one scripts/patch-xstate.mjs knows (${unknown.join(', ') || `no raise-*.js in ${dir}`})`;
  const applied = results.filter(([, result]) => result === 'applied').length;
  console.log(`heartbeat: XState's targetless fast path ${applied > 0 ? `applied to ${applied} files` : 'already applied'}`);
  return null;
}

/** Patches the XState in `dir` (default: the installed one); a warning instead of a failure. */
function main(dir) {
  let problem;
  try {
    problem = patchAll(dir ?? xstateDist());
  } catch (error) {
    problem = `not patched: ${error instanceof Error ? error.message : String(error)}`;
  }
  if (problem !== null) {
    console.warn(
      `heartbeat: XState's microstep is ${problem}; the service runs correctly but without the targetless fast path: see docs/xstate-patch.md`,
    );
  }
}

// Run as a script (npm's postinstall, the Dockerfile); imported, it only exports the patch.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main(process.argv[2]);
