// The error catalogue (src/http/errors.ts) and the README's status-code table name the same codes with
// the same statuses, Fastify-style: a code added, renamed or removed on one side fails here.
import test from 'ava';
import { readFileSync } from 'node:fs';
import type { PingRequest } from '../../machines/ping.js';
import { Errors, type ErrorCode } from '../../src/http/errors.js';
import { MAX_BODY_BYTES, MAX_ID_BYTES, MAX_STATUS_CHARACTERS } from '../../machines/ping-request.js';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

/** The rows of the Markdown table under `heading`, as cells. */
function tableUnder(heading: string): string[][] {
  const section = readme.split(/^#+ /m).find((s) => s.startsWith(`${heading}\n`));
  if (!section) throw new Error(`README has no section "${heading}"`);
  return section
    .split('\n')
    .filter((line) => line.startsWith('|') && !/^\|[-| ]+\|$/.test(line))
    .slice(1)
    .map((line) =>
      line
        .split('|')
        .slice(1, -1)
        .map((cell) => cell.trim()),
    );
}

/** Every configuration variable is written `LIKE_THIS` too: those are not codes. */
const variables = new Set(tableUnder('Configuration').map(([name]) => name.replace(/`/g, '')));

/** code → the statuses of the error rows (4xx, 5xx) that name it. */
const documented = new Map<string, number[]>();
for (const [status, when] of tableUnder('Status codes').filter(([status]) => Number(status) >= 400)) {
  for (const [, word] of when.matchAll(/`([A-Z][A-Z0-9_]+)`/g)) {
    if (!variables.has(word)) documented.set(word, [...(documented.get(word) ?? []), Number(status)]);
  }
}

test('every code of the catalogue is in the README status table, in the row of its status', (t) => {
  for (const { code, status } of Object.values(Errors)) t.deepEqual(documented.get(code), [status], code);
});

test('every code in the README status table is in the catalogue', (t) => {
  const catalogue = new Set<string>(Object.keys(Errors));
  t.deepEqual(
    [...documented.keys()].filter((code) => !catalogue.has(code)),
    [],
  );
});

test('each entry answers with its own code', (t) => {
  t.deepEqual(
    Object.values(Errors).map((spec) => spec.code),
    Object.keys(Errors),
  );
});

test('messages quote the limits the parser enforces', (t) => {
  t.true(Errors.CLAIM_BAD_USERID.message.includes(`at most ${MAX_ID_BYTES} bytes`));
  t.true(Errors.STATUS_TOO_LONG.message.includes(`${MAX_STATUS_CHARACTERS} characters`));
  t.true(Errors.BODY_TOO_LARGE.message.includes(`${MAX_BODY_BYTES} bytes`));
});

test('an answer names a code of the catalogue; any other string does not compile', (t) => {
  const answered: (ErrorCode | undefined)[] = [];
  const answer: PingRequest['answer'] = (code) => void answered.push(code);
  answer('STORE_UNAVAILABLE');
  // @ts-expect-error: not a code of the catalogue (`npm run typecheck` fails if this compiles)
  answer('STORE_DOWN');
  t.deepEqual(answered, ['STORE_UNAVAILABLE', 'STORE_DOWN']);
});
