// docs/glossary.md picks one word per concept. A word it retires must not come back in an
// identifier of the service (src/, machines/), and every name it gives for the code must exist.
import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface Term {
  readonly term: string;
  /** How the code spells the term: identifiers (or parts of them). */
  readonly inCode: readonly string[];
  /** Words (or identifiers) no identifier may use, unless it holds an in-code name with them. */
  readonly retired: readonly string[];
}

/** The rows of the glossary's tables: term, what it is, in code, retired. */
function glossary(): Term[] {
  const text = readFileSync(path.join(ROOT, 'docs/glossary.md'), 'utf8');
  // The names in backticks; a parenthesis is a note about a name (its metric, its label value).
  const ticked = (cell: string) => [...cell.replace(/\([^)]*\)/g, '').matchAll(/`([^`]+)`/g)].map((m) => m[1]);
  return text
    .split('\n')
    .filter((line) => line.startsWith('| ') && !line.startsWith('| term |'))
    .map((line) => line.split(' | ').map((cell) => cell.replace(/^\| ?| ?\|$/g, '')))
    .map(([term, , inCode, retired]) => ({ term, inCode: ticked(inCode ?? ''), retired: ticked(retired ?? '') }));
}

/** An identifier's words, lower case, without a plural `s`: `BucketParentsOptions` → bucket parent option. */
function wordsOf(name: string): string[] {
  return (name.match(/[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])/g) ?? []).map((w) => w.toLowerCase().replace(/(?<=...)s$/, ''));
}

function contains(words: readonly string[], part: readonly string[]): boolean {
  return words.some((_, i) => part.length > 0 && part.every((w, j) => words[i + j] === w));
}

/** Every identifier of a TypeScript source (comments and strings are not identifiers). */
function identifiersOf(source: string): Set<string> {
  const file = ts.createSourceFile('file.ts', source, ts.ScriptTarget.Latest, false);
  const names = new Set<string>();
  const visit = (node: ts.Node) => {
    if (ts.isIdentifier(node) || ts.isPrivateIdentifier(node)) names.add(node.text.replace(/^#/, ''));
    node.forEachChild(visit);
  };
  visit(file);
  return names;
}

function sources(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => path.join(dir, f));
}

/** `identifier (file)` for every identifier that uses a retired word no in-code name of it allows. */
function retiredNames(terms: readonly Term[], files: ReadonlyMap<string, string>): string[] {
  const allowed = terms.flatMap((t) => t.inCode).map(wordsOf);
  const found: string[] = [];
  for (const [file, source] of files) {
    for (const name of identifiersOf(source)) {
      const words = wordsOf(name);
      for (const { term, retired } of terms) {
        for (const old of retired.map(wordsOf)) {
          if (!contains(words, old)) continue;
          if (allowed.some((ok) => contains(ok, old) && contains(words, ok))) continue;
          found.push(`${name} (${file}: "${old.join(' ')}" is retired for "${term}")`);
        }
      }
    }
  }
  return found;
}

test('the glossary retires the synonyms the code used to have', (t) => {
  const retired = glossary().flatMap((term) => term.retired);
  for (const word of ['claimant', 'viewer', 'reader', 'owner', 'PresenceEvent', 'MemoryStore', 'WriteBatch', 'bucket']) {
    t.true(retired.includes(word), `${word} is not retired`);
  }
});

test('no identifier in src/ or machines/ uses a retired word', (t) => {
  const files = new Map([...sources('src'), ...sources('machines')].map((f) => [f, readFileSync(path.join(ROOT, f), 'utf8')]));
  t.true(files.size > 50, `${files.size} files read`);
  t.deepEqual(retiredNames(glossary(), files), []);
});

test('the check finds a retired word in any identifier, and lets an in-code name that holds it pass', (t) => {
  const source = `
    // a claimant in a comment, and 'owner' in a string, are not identifiers
    class MemoryStore {}
    const keepaliveBuckets = new Map();
    function open(claimant: string, sinkOwner: unknown) { return { viewerOf: claimant, sinkOwner }; }
    const bucketParentSize = 64;
    const bucketChildren = 0;
    const label = 'owner';
  `;
  const flagged = retiredNames(glossary(), new Map([['example.ts', source]])).map((found) => found.split(' ')[0]);
  t.deepEqual([...new Set(flagged)], ['MemoryStore', 'keepaliveBuckets', 'claimant', 'sinkOwner', 'viewerOf']);
});

test('every name the glossary gives for the code is in src/ or machines/', (t) => {
  const identifiers = [...sources('src'), ...sources('machines')].flatMap((f) => [
    ...identifiersOf(readFileSync(path.join(ROOT, f), 'utf8')),
  ]);
  const named = identifiers.map(wordsOf);
  for (const { term, inCode } of glossary()) {
    for (const name of inCode.filter((n) => /^[A-Za-z_$][\w$]*$/.test(n))) {
      t.true(
        named.some((words) => contains(words, wordsOf(name))),
        `${name} (glossary: ${term}) is not an identifier, nor part of one`,
      );
    }
  }
});
