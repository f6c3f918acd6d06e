// The error catalogue (src/http/errors.ts) and the README's status-code table name the same codes with
// the same statuses, Fastify-style: a code added, renamed or removed on one side fails here; and
// every code reaches a client in the one shape the docs promise.
import test from 'ava';
import { readFileSync } from 'node:fs';
import type { PingRequest } from '../../machines/ping.js';
import { Errors, type ErrorCode } from '../../src/http/errors.js';
import { listen } from '../../src/http/listen.js';
import { answerError } from '../../src/http/respond.js';
import { uWS } from '../../src/http/uws.js';
import { errorOf } from '../support/error-answer.js';
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

test('every code is answered over a real socket as {"code","message"} JSON, with Retry-After on 429 and 503', async (t) => {
  // The one function both ports refuse through (src/http/respond.ts), in a uWS app of its own.
  const app = uWS.App();
  app.get('/:code', (res, req) => answerError(res, Errors[req.getParameter(0) as ErrorCode]));
  const { socket, port } = await listen(app, { host: '127.0.0.1', port: 0 }, 'test');
  try {
    for (const spec of Object.values(Errors)) {
      const res = await fetch(`http://127.0.0.1:${port}/${spec.code}`);
      const retryAfter = res.headers.get('retry-after');
      t.deepEqual(await errorOf(res), { status: spec.status, code: spec.code, message: spec.message, contentType: 'application/json' });
      t.is(retryAfter, spec.status === 429 || spec.status === 503 ? '1' : null, spec.code);
    }
  } finally {
    uWS.us_listen_socket_close(socket);
  }
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
