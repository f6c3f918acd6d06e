import test from 'ava';
import { randomUUID } from 'node:crypto';
import { startStore, type TestStore } from '../support/stores.js';
import { startService, type ServiceProcess } from '../support/service.js';
import { PingSenders } from '../support/ping-senders.js';
import { StreamClient } from '../support/sse.js';

/**
 * A whole Redis Cluster goes down (every node SIGKILLed) during live traffic and comes back (the
 * same nodes, their AOF with `appendfsync always` and their nodes.conf). While it is away pings
 * get 503 at once and streams stay open; once it is back pings are acknowledged again, no
 * acknowledged ping is lost, and the open stream catches up on every user's last ping, in order.
 * Each phase waits for what shows it happened, not for a fixed time.
 */
let store: TestStore;
let service: ServiceProcess;

test.before(async () => {
  store = await startStore('cluster', { appendfsync: 'always' });
  service = await startService({ REDIS: store.redis, KEEPALIVE: '1' });
});

test.after.always(async () => {
  await service?.stop();
  await store?.close();
});

test('the whole cluster down and back: 503s while away, streams stay open and catch up, no acknowledged ping lost', async (t) => {
  t.timeout(170_000);
  const nodes = store.cluster!.nodes;
  // Enough users that every master owns some of them.
  const users = Array.from({ length: 12 }, (_, i) => `cluster-down-${i}-${randomUUID()}`);
  const watcher = new StreamClient(`${service.url}/subscribe?${users.map((u) => `user=${u}`).join('&')}`);
  await watcher.ready;

  const traffic = new PingSenders(service.url, users);
  const { answers } = traffic;
  const answered = traffic.answered.bind(traffic);

  await answered(0, 200, 'pings acknowledged before the outage');
  await Promise.all(nodes.map((node) => node.kill()));
  await answered(answers.length, 503, 'a ping refused while the cluster is down', true);
  await Promise.all(nodes.map((node) => node.start()));
  await answered(answers.length, 200, 'every user acknowledged once the cluster is back');
  await answered(answers.length, 200, 'and again');
  await traffic.stop();

  t.true(
    answers.every((a) => a.status === 200 || a.status === 503),
    JSON.stringify(answers.filter((a) => a.status !== 200 && a.status !== 503).slice(0, 3)),
  );
  // No ping hangs until the client gives up: a generous bound, far above an idle box's answers.
  t.true(traffic.slowestMs() < 10_000, `slowest ${traffic.slowestMs().toFixed(0)} ms`);
  const stored = await traffic.stored(service.url);
  for (const user of users) {
    const lastAcked = traffic.lastAcknowledged(user);
    t.true(Number(stored.get(user)) >= lastAcked, `${user}: stored ${stored.get(user)}, last acknowledged ${lastAcked}`);
  }
  await watcher
    .until((c) => users.every((u) => c.statusesOf(u).at(-1) === stored.get(u)))
    .catch((error: unknown) => {
      // What the service said about its store, to tell a lost subscription from a lost re-read.
      t.log(service.logs.filter((l) => Number(l.level) >= 30 && l.msg !== 'heartbeat started').map((l) => JSON.stringify(l)));
      throw error;
    });
  for (const user of users) {
    const seen = watcher.statusesOf(user).map(Number);
    t.true(
      seen.every((n, i) => i === 0 || n > seen[i - 1]),
      `${user} in order: ${seen.join(',')}`,
    );
  }
  t.is(watcher.errors, 0, 'the stream stayed open through the outage');
  watcher.close();
});
