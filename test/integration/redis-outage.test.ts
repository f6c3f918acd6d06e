import test from 'ava';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { startStore, type TestStore } from '../support/stores.js';
import { startService, type ServiceProcess } from '../support/service.js';
import { eventually } from '../support/metrics.js';
import { ping, StreamClient } from '../support/sse.js';

/**
 * Redis dies (SIGKILL), comes back, is stopped gracefully and comes back again, all during live
 * traffic. Redis runs with `appendfsync always`, so whatever it acknowledged survives. Each phase
 * waits for what shows it happened (a ping refused, a keepalive, a ping acknowledged again), not
 * for a fixed time: on a busy box the service can take seconds to notice Redis leaving or coming back.
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

  /** Resolves once an answer after the first `from` has `status` (for every user with `everyUser`). */
  const answered = (from: number, status: number, what: string, everyUser = false) =>
    eventually(() => {
      const later = answers.slice(from);
      const seen = (u?: string) => later.some((a) => a.status === status && (u === undefined || a.user === u));
      return Promise.resolve((everyUser ? users.every(seen) : seen()) || undefined);
    }, what);
  const comments = () => (rawText.match(/^:/gm) ?? []).length;

  const server = store.server!;
  await answered(0, 200, 'pings acknowledged', true);
  await server.kill();
  await answered(answers.length, 503, 'a ping refused once Redis died');
  // Redis is away now: the stream still gets keepalive comments (KEEPALIVE=1).
  const commentsBefore = comments();
  await eventually(() => Promise.resolve(comments() > commentsBefore || undefined), 'a keepalive while Redis is away');
  const commentsDuringOutage = comments() - commentsBefore;
  await server.start();
  await answered(answers.length, 200, 'a ping acknowledged once Redis is back');
  await server.stop();
  await answered(answers.length, 503, 'a ping refused once Redis stopped');
  await server.start();
  await answered(answers.length, 200, 'every user acknowledged once Redis is back again', true);
  running = false;
  await Promise.all(senders);

  // Every 503 came within a second, with Retry-After; Redis really was away for a while.
  const refused = answers.filter((a) => a.status !== 200);
  t.true(refused.length > 0, 'some pings were refused while Redis was away');
  t.true(
    refused.every((a) => a.status === 503 && a.retryAfter !== null),
    JSON.stringify(refused.filter((a) => a.status !== 503).slice(0, 3)),
  );
  // No ping hangs until the client gives up: a generous bound, far above the fast answers of an
  // idle box (the timing itself is the bench's business).
  t.true(
    answers.every((a) => a.ms < 10_000),
    `slowest answer ${Math.max(...answers.map((a) => a.ms)).toFixed(0)} ms`,
  );
  // Served before the outage and after it (the phases waited for both).
  t.true(answers.filter((a) => a.status === 200).length >= 2 * users.length);
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
  await watcher.until((c) => users.every((u) => c.statusesOf(u).at(-1) === stored.get(u)));
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
