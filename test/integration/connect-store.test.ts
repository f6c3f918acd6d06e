// REDIS unset: the service uses a Redis that answers on the default address, else the embedded
// store with a warning. Private servers and free ports stand in for 127.0.0.1:6379, which the
// tests never touch.
import test from 'ava';
import { pino } from 'pino';
import { loadConfig } from '../../src/process/config.js';
import { storeOptionsOf, connectStore } from '../../src/store/connect.js';
import { freePort } from '../support/ports.js';
import { startRedis } from '../support/redis-server.js';

const options = storeOptionsOf(loadConfig({}));

/** A logger whose lines are kept, to see what an operator would read. */
function recordingLog() {
  const lines: { level: number; msg: string }[] = [];
  const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as { level: number; msg: string }) });
  return { log, lines };
}

test('REDIS unset and a Redis answering on the default address: that Redis is the store', async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.close());
  const { log, lines } = recordingLog();
  const store = await connectStore({ kind: 'auto', url: redis.url }, options, log);
  t.teardown(() => store.close());
  t.is(store.kind, 'redis');
  await store.save('alice', 'phone', 'online');
  t.is(await redis.cli('HGET', 'heartbeat:{alice}', 'status'), 'online', 'stored in that Redis');
  t.false(lines.some((l) => l.msg.includes('EMBEDDED')));
});

test('REDIS unset and nothing answering: the embedded store, and a warning that says so', async (t) => {
  const { log, lines } = recordingLog();
  const store = await connectStore({ kind: 'auto', url: `redis://127.0.0.1:${await freePort()}` }, options, log);
  t.teardown(() => store.close());
  t.is(store.kind, 'embedded');
  const warning = lines.find((l) => l.msg.includes('running with the EMBEDDED single-instance store'));
  t.is(warning?.level, 40);
});
