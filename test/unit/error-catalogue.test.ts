// The one catalogue of errors (src/errors.ts) and README's status-code table say the same things.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { Errors } from '../../src/errors.js';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const table = readme.split('\n## Status codes\n')[1]?.split('\n## ')[0] ?? '';

for (const spec of Object.values(Errors)) {
  test(`${spec.code} is in README's status table on the ${spec.status} row`, (t) => {
    const row = table.split('\n').find((line) => line.startsWith(`| ${spec.status} |`));
    t.truthy(row, `a row for ${spec.status}`);
    t.true(row!.includes(`\`${spec.code}\``), row);
  });
}

test('every code in README\'s status table is in the catalogue', (t) => {
  // Upper-case words in backquotes that are not codes: settings and an HTTP method.
  const notCodes = ['MAX_CONNECTIONS', 'TRUSTED_PROXIES', 'PING_BURST', 'PING_RATE', 'MAX_STREAMS_PER_USER', 'OPTIONS'];
  const codes = [...table.matchAll(/`([A-Z][A-Z_]+[A-Z])`/g)].map((m) => m[1]).filter((c) => !notCodes.includes(c));
  t.true(codes.length >= Object.keys(Errors).length);
  for (const code of codes) t.true(code in Errors, `${code} is in src/errors.ts`);
});
