// FailureLog: the cause of each Redis error, logged once per change of cause with its repeats.
import test from 'ava';
import type { Logger } from '../../src/process/logger.js';
import { causeOf, FailureLog } from '../../src/store/redis/failure-log.js';

const errorWith = (message: string, code?: string) => Object.assign(new Error(message), code ? { code } : {});

test('causes from the errors ioredis and Redis give', (t) => {
  t.is(causeOf(errorWith('connect ECONNREFUSED 127.0.0.1:6390', 'ECONNREFUSED')), 'refused');
  t.is(causeOf(errorWith('Command timed out')), 'timeout');
  t.is(causeOf(errorWith('connect ETIMEDOUT', 'ETIMEDOUT')), 'timeout');
  t.is(causeOf(errorWith('store deadline passed')), 'timeout');
  t.is(causeOf(errorWith('NOAUTH Authentication required.')), 'auth');
  t.is(causeOf(errorWith('WRONGPASS invalid username-password pair or user is disabled.')), 'auth');
  t.is(causeOf(errorWith('CLUSTERDOWN The cluster is down')), 'cluster down');
  t.is(causeOf(errorWith('Failed to refresh slots cache.')), 'cluster down');
  t.is(causeOf(errorWith('read ECONNRESET', 'ECONNRESET')), 'connection lost');
  t.is(causeOf(errorWith('Connection is closed.')), 'connection lost');
  t.is(causeOf(errorWith('ERR something else')), 'other');
});

test('one line per change of cause, repeats counted, one line when it works again', (t) => {
  const lines: [string, Record<string, unknown>, string][] = [];
  const log = {
    warn: (fields: Record<string, unknown>, msg: string) => lines.push(['warn', fields, msg]),
    info: (fields: Record<string, unknown>, msg: string) => lines.push(['info', fields, msg]),
  } as unknown as Logger;
  const failures = new FailureLog(log, 'redis');
  failures.succeeded();
  t.is(lines.length, 0);
  failures.failed(errorWith('Connection is closed.'));
  for (let i = 0; i < 50; i++) failures.failed(errorWith('connect ECONNREFUSED 127.0.0.1:1', 'ECONNREFUSED'));
  failures.succeeded();
  failures.succeeded();
  t.deepEqual(
    lines.map(([level, fields, msg]) => [level, msg, fields.cause]),
    [
      ['warn', 'presence store failing', 'connection lost'],
      ['warn', 'presence store failing', 'refused'],
      ['info', 'presence store works again', 'refused'],
    ],
  );
  t.is(lines[1][1].previousCause, 'connection lost');
  t.is(lines[1][1].previousRepeats, 0);
  t.is(lines[2][1].repeats, 49);
});
