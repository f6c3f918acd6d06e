import test from 'ava';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { acceptedVariables } from '../support/config-variables.js';

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
  const registered = [
    ...readFileSync(path.join(ROOT, 'src/http/app.ts'), 'utf8').matchAll(/\broute\(app,[^']*'([^']+)'/g),
    ...readFileSync(path.join(ROOT, 'src/admin/server.ts'), 'utf8').matchAll(/\bget\('([^']+)'/g),
  ].map((m) => m[1]);
  t.true(registered.length >= 10, `${registered.length} routes found`);
  for (const route of registered) t.true(table.includes(route), `${route} is missing from README's routes table`);
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

test('every relative link of README.md, docs/ and deploy/ leads to a file that exists, and to a heading in it', (t) => {
  const pages = [
    'README.md',
    'docs/api.md',
    'docs/guarantees.md',
    'docs/operations.md',
    'docs/scaling.md',
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
