import test from 'ava';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { startStore, type TestStore } from '../support/stores.js';
import { startService, type ServiceProcess } from '../support/service.js';
import { ping, StreamClient } from '../support/sse.js';

/**
 * Redis dies (SIGKILL), comes back, is stopped gracefully and comes back again, all during live
 * traffic. Redis runs with `appendfsync always`, so whatever it acknowledged survives.
 */
let store: TestStore;
let service: ServiceProcess;

test.before(async () => {
  store = await startStore('redis', { appendfsync: 'always' });
  service = await startService({ REDIS: store.redis, KEEPALIVE: '1' });
});

test.after.always(async () => {
  await service?.stop();
  await store?.close();
});

interface Answer {
  user: string;
  n: number;
  status: number;
  ms: number;
  retryAfter: string | null;
}

test('no acknowledged ping is lost, 503s come fast, streams stay open and catch up in order', async (t) => {
  const users = Array.from({ length: 20 }, (_, i) => `outage-${i}-${randomUUID()}`);
  const watcher = new StreamClient(`${service.url}/subscribe?${users.map((u) => `user=${u}`).join('&')}`);
  await watcher.ready;
  // A raw reader of the same stream, to see keepalive comments while Redis is away.
  const raw = await fetch(`${service.url}/subscribe/${users[0]}`);
  const reader = raw.body!.getReader() as ReadableStreamDefaultReader<Uint8Array>;
  let rawText = '';
  const pump = (async () => {
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
      if (done) return;
      rawText += Buffer.from(value!).toString();
    }
  })();

  const answers: Answer[] = [];
  let running = true;
  const senders = users.map(async (user) => {
    for (let n = 1; running; n++) {
      const started = performance.now();
      const res = await ping(service.url, user, String(n));
      answers.push({ user, n, status: res.status, ms: performance.now() - started, retryAfter: res.headers.get('retry-after') });
      await res.arrayBuffer();
      await sleep(5);
    }
  });

  const server = store.server!;
  await sleep(500);
  await server.kill();
  await sleep(1500);
  const commentsBefore = (rawText.match(/^:/gm) ?? []).length;
  await sleep(1500);
  const commentsDuringOutage = (rawText.match(/^:/gm) ?? []).length - commentsBefore;
  await server.start();
  await sleep(1500);
  await server.stop();
  await sleep(1000);
  await server.start();
  await sleep(1500);
  running = false;
  await Promise.all(senders);

  // Every 503 came within a second, with Retry-After; Redis really was away for a while.
  const refused = answers.filter((a) => a.status !== 200);
  t.true(refused.length > 0, 'some pings were refused while Redis was away');
  t.true(
    refused.every((a) => a.status === 503 && a.retryAfter !== null),
    JSON.stringify(refused.filter((a) => a.status !== 503).slice(0, 3)),
  );
  t.true(
    answers.every((a) => a.ms < 1000),
    `slowest answer ${Math.max(...answers.map((a) => a.ms)).toFixed(0)} ms`,
  );
  t.true(answers.filter((a) => a.status === 200).length > 100);
  t.true(commentsDuringOutage >= 1, 'keepalives continued while Redis was away');

  // Every acknowledged ping is readable: per user the stored status is at least the last 200.
  for (const user of users) {
    const lastAcked = Math.max(0, ...answers.filter((a) => a.user === user && a.status === 200).map((a) => a.n));
    const stored = (await (await fetch(`${service.url}/lastseen/${user}`)).json()) as { status: string };
    t.true(Number(stored.status) >= lastAcked, `${user}: stored ${stored.status}, last acknowledged ${lastAcked}`);
  }

  // The open stream caught up: per user, strictly increasing, ending on the stored ping.
  const stored = new Map<string, string>();
  for (const user of users)
    stored.set(user, ((await (await fetch(`${service.url}/lastseen/${user}`)).json()) as { status: string }).status);
  await watcher.until((c) => users.every((u) => c.statusesOf(u).at(-1) === stored.get(u)), 10_000);
  for (const user of users) {
    const seen = watcher.statusesOf(user).map(Number);
    t.true(
      seen.every((n, i) => i === 0 || n > seen[i - 1]),
      `${user} in order: ${seen.join(',')}`,
    );
  }
  watcher.close();
  await reader.cancel();
  await pump;
});
