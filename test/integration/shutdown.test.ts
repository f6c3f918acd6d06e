import test from 'ava';
import { randomUUID } from 'node:crypto';
import { startStore, type TestStore } from '../support/stores.js';
import { startService } from '../support/service.js';
import { ping } from '../support/sse.js';
import { readUntilEnd } from '../support/stream-reader.js';

let store: TestStore;

test.before(async () => {
  store = await startStore('redis');
});

test.after.always(async () => {
  await store?.close();
});

test('SIGTERM: pings in flight finish, streams get a jittered retry and end, new pings 503, exit 0', async (t) => {
  const service = await startService({ REDIS: store.redis, SHUTDOWN_TIMEOUT: '5' });
  const user = `bye-${randomUUID()}`;
  const streams = Array.from({ length: 20 }, () => readUntilEnd(`${service.url}/subscribe/${user}`, 8_000));
  await Promise.all(streams.map((s) => s.opened));

  // Pings in flight while the signal arrives: each is either stored (200) or refused (503, or the
  // connection closed before it was accepted); never a 200 for a ping that was not stored.
  const inFlight = Array.from({ length: 50 }, (_, i) =>
    ping(service.url, `${user}-${i}`, `p${i}`).then(
      (r) => r.status,
      () => 'refused' as const,
    ),
  );
  const exit = service.stop('SIGTERM');
  const answers = await Promise.all(inFlight);
  const after = await ping(service.url, user, 'late').then(
    (r) => r.status,
    () => 'refused' as const,
  );
  const { code } = await exit;
  const texts = await Promise.all(streams.map((s) => s.text));

  t.is(code, 0);
  t.true(after === 503 || after === 'refused', `a ping after SIGTERM: ${after}`);
  t.true(
    answers.every((a) => a === 200 || a === 503 || a === 'refused'),
    `answers ${answers.join(',')}`,
  );
  for (const [i, answer] of answers.entries()) {
    if (answer !== 200) continue;
    const stored = await store.server!.cli('HGET', `heartbeat:{${user}-${i}}`, 'status');
    t.is(stored, `p${i}`, `acknowledged ping ${i} is stored`);
  }
  // Every stream ended with a retry hint after its opening one; the hints are jittered.
  const retries = texts.map((text) => {
    const hints = [...text.matchAll(/^retry: (\d+)$/gm)].map((m) => Number(m[1]));
    return hints.at(-1)!;
  });
  t.true(
    texts.every((text) => [...text.matchAll(/^retry: /gm)].length === 2),
    'an opening and a closing retry',
  );
  t.true(new Set(retries).size > 10, `jittered retries: ${retries.join(',')}`);
  t.true(retries.every((r) => r >= 1000 && r <= 10_000));
});

test('SIGINT on an idle service exits 0 at once and closes the listen socket', async (t) => {
  const service = await startService({ REDIS: store.redis });
  const { code } = await service.stop('SIGINT');
  t.is(code, 0);
  await t.throwsAsync(fetch(`${service.url}/lastseen/x`));
});
