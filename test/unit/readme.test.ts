import test from 'ava';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { acceptedVariables } from '../support/config-variables.js';
import { PUBLIC_ROUTES } from '../../src/http/route-table.js';
import { ADMIN_ROUTES } from '../../src/admin/routes.js';

/**
 * README.md stays the reference a newcomer and an operator start from: every setting the
 * configuration reads is in its table, every route the public and admin apps register is listed,
 * and its links lead somewhere (error codes: error-catalogue.test.ts).
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const sectionOf = (title: string) => readme.split(`\n## ${title}\n`)[1]?.split('\n## ')[0] ?? '';

test('every setting the configuration reads is in the configuration table', (t) => {
  const table = sectionOf('Configuration');
  for (const name of acceptedVariables()) t.true(table.includes(`| \`${name}\` |`), `${name} is missing from README's configuration table`);
});

test('every route of the public and admin apps is in the routes table', (t) => {
  const table = sectionOf('Routes');
  const registered = [...Object.keys(PUBLIC_ROUTES), ...ADMIN_ROUTES];
  t.true(registered.length >= 10, `${registered.length} routes found`);
  for (const route of registered) t.true(table.includes(route), `${route} is missing from README's routes table`);
});

/** The folders of the code: src/ and everything below it, machines/, scripts/ and below. */
function codeFolders(): string[] {
  const below = (dir: string): string[] =>
    readdirSync(path.join(ROOT, dir))
      .filter((name) => statSync(path.join(ROOT, dir, name)).isDirectory())
      .flatMap((name) => [`${dir}/${name}`, ...below(`${dir}/${name}`)]);
  return ['src', ...below('src'), 'machines', ...below('machines'), 'scripts', ...below('scripts')];
}

/** The Layout table's rows: the folder (first column) and the files its other columns name. */
function layoutRows(): { folders: string[]; files: string[] }[] {
  return sectionOf('Layout')
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .map((line) => {
      const [first, ...rest] = line.split(' | ');
      const ticked = (text: string) => [...text.matchAll(/`([^`]+)`/g)].map((m) => m[1]);
      return { folders: ticked(first), files: ticked(rest.join(' ')).filter((name) => /\.(ts|mjs|lua)$/.test(name)) };
    });
}

test("README's layout lists every folder of the code, and every folder and file it names exists", (t) => {
  const rows = layoutRows();
  const listed = rows.flatMap((row) => row.folders.map((folder) => folder.replace(/\/$/, '')));
  for (const folder of codeFolders()) {
    if (folder === 'src') continue; // the table lists its folders, not src/ itself
    t.true(listed.includes(folder), `${folder}/ is not in README's layout table`);
  }
  for (const row of rows) {
    for (const folder of row.folders) t.true(existsSync(path.join(ROOT, folder)), `README's layout lists ${folder}, which does not exist`);
    for (const file of row.files) {
      // A file is named from the root, or by its name within its row's folder.
      const found = file.includes('/')
        ? existsSync(path.join(ROOT, file))
        : row.folders.some((folder) =>
            readdirSync(path.join(ROOT, folder), { recursive: true, encoding: 'utf8' }).some((f) => path.basename(f) === file),
          );
      t.true(found, `README's layout names ${file} in ${row.folders.join(', ')}, which does not exist`);
    }
  }
  t.deepEqual(
    readdirSync(path.join(ROOT, 'src')).filter((name) => !statSync(path.join(ROOT, 'src', name)).isDirectory()),
    [],
    'no loose files in src/: each lives in the folder of what it changes with',
  );
});

test('the two commands are there', (t) => {
  t.true(readme.includes('npm install && npm start'));
  t.true(readme.includes('npm test'));
});

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces as hyphens. */
function anchorOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');
}

function anchorsIn(markdown: string): Set<string> {
  return new Set([...markdown.matchAll(/^#{1,6} (.+)$/gm)].map((m) => anchorOf(m[1])));
}

test('every relative link of README.md, BENCHMARKS.md, docs/ and deploy/ leads to a file that exists, and to a heading in it', (t) => {
  const pages = [
    'README.md',
    'docs/api.md',
    'docs/guarantees.md',
    'docs/operations.md',
    'docs/scaling.md',
    'docs/glossary.md',
    'BENCHMARKS.md',
    'docs/benchmarks/log.md',
    'deploy/k8s/README.md',
    'deploy/README.md',
  ];
  for (const page of pages) {
    const text = readFileSync(path.join(ROOT, page), 'utf8');
    for (const [, target, anchor] of text.matchAll(/\]\(([^)#\s]*)(?:#([^)\s]*))?\)/g)) {
      if (/^https?:/.test(target)) continue;
      const file = target === '' ? path.join(ROOT, page) : path.join(ROOT, path.dirname(page), target);
      t.true(existsSync(file), `${page} links to ${target}, which does not exist`);
      if (anchor && existsSync(file) && file.endsWith('.md')) {
        t.true(anchorsIn(readFileSync(file, 'utf8')).has(anchor), `${page} links to ${target}#${anchor}, which has no such heading`);
      }
    }
  }
});
