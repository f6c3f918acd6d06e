import test from 'ava';
import { randomUUID } from 'node:crypto';
import { startStore, type StoreName } from '../support/stores.js';
import { startService } from '../support/service.js';
import { assertEveryPingOnceInOrder, pingEveryUser, sequenceStatus } from '../support/exactly-once.js';
import { ping, StreamClient } from '../support/sse.js';

/**
 * Three instances on one Redis (standalone and Cluster): subscribers spread over all three, pings
 * sent to all three; every subscriber gets every ping of its users, in order, exactly once.
 */
for (const name of ['redis', 'cluster'] as StoreName[]) {
  test(`${name}: three instances deliver every ping to every stream exactly once, in order`, async (t) => {
    const store = await startStore(name);
    const instances = await Promise.all([1, 2, 3].map(() => startService({ REDIS: store.redis })));
    try {
      const users = Array.from({ length: 6 }, () => `multi-${randomUUID()}`);
      // 36 subscribers: every user watched from every instance, both alone and in a contact list.
      const single = users.flatMap((u) => instances.map((s) => ({ user: u, client: new StreamClient(`${s.url}/subscribe/${u}`) })));
      const lists = instances.map((s) => new StreamClient(`${s.url}/subscribe?${users.map((u) => `user=${u}`).join('&')}`));
      await Promise.all([...single.map((s) => s.client.ready), ...lists.map((c) => c.ready)]);
      // A first ping per user, seen by everyone (cached or live), shows every subscription is in place.
      for (const user of users) await ping(instances[0].url, user, sequenceStatus(0));
      await Promise.all([...single.map((s) => s.client.count(1)), ...lists.map((c) => c.count(users.length))]);

      const perUser = 15;
      await pingEveryUser(
        users,
        perUser,
        async (user, i) => (await ping(instances[(i + users.indexOf(user)) % 3].url, user, sequenceStatus(i))).status,
      );
      await assertEveryPingOnceInOrder(t, { users, single, lists }, perUser);
      for (const { client } of single) client.close();
      for (const c of lists) c.close();
    } finally {
      await Promise.all(instances.map((s) => s.stop()));
      await store.close();
    }
  });
}
