import test from 'ava';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { documentedMessages, loggedMessages, sameMessage } from '../support/log-messages.js';

/**
 * The log table of docs/operations.md is the one a person reads to know what heartbeat logs: every
 * message the code logs (found in the source) is in it with its level, and it lists nothing the
 * code no longer logs.
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const logged = loggedMessages(ROOT);
const documented = documentedMessages(readFileSync(`${ROOT}/docs/operations.md`, 'utf8'));

test('the source logs messages the test can find', (t) => {
  t.true(logged.length > 20, `${logged.length} messages`);
  t.true(logged.some((m) => m.msg === 'heartbeat started' && m.level === 'info'));
  t.true(logged.some((m) => m.msg === 'presence store unavailable' && m.level === 'warn'));
});

test('every message the code logs is in the docs table, with its level', (t) => {
  for (const message of logged) {
    const row = documented.find((d) => sameMessage(d.msg, message.msg));
    t.truthy(row, `${message.at} logs "${message.msg}" (${message.level}), missing from docs/operations.md's log table`);
    if (row) t.is(row.level, message.level, `level of "${message.msg}" (${message.at})`);
  }
});

test('every message in the docs table is one the code logs', (t) => {
  t.true(documented.length > 10);
  for (const row of documented) {
    t.true(
      logged.some((m) => sameMessage(row.msg, m.msg)),
      `docs/operations.md lists "${row.msg}", which no code logs`,
    );
  }
});
