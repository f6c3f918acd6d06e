import test from 'ava';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { startStore } from '../support/stores.js';
import { startService } from '../support/service.js';
import { ping, StreamClient } from '../support/sse.js';
import { errorOf } from '../support/error-answer.js';
import { TcpRelay } from '../support/tcp-relay.js';
import { Errors } from '../../src/http/errors.js';

/**
 * The real thing ping-order.* drives the store with: a ping that reaches Redis after a newer ping
 * of the same user. Instance `late` reaches Redis through a relay that can hold what it sends; a
 * ping through `other` is stored while `late`'s is held, then the relay lets the held ping
 * through. It must change nothing. Standalone Redis: a command that ioredis had sent before a
 * timeout, or re-sends after a reconnect, reaches Redis just as late.
 */
test('a ping answered 503 that reaches Redis after a newer ping changes nothing: streams and /lastseen keep the newer one', async (t) => {
  const store = await startStore('redis');
  const relay = await TcpRelay.start(store.server!.port);
  const [late, other] = await Promise.all([startService({ REDIS: relay.address }), startService({ REDIS: store.redis })]);
  const user = `late-${randomUUID()}`;
  const watcher = new StreamClient(`${other.url}/subscribe/${user}`);
  t.teardown(async () => {
    watcher.close();
    await Promise.all([late.stop(), other.stop()]);
    await relay.close();
    await store.close();
  });
  await watcher.ready;
  // Statuses 11, 12, …, not 1, 2, 3: 3 is Invisible (INVISIBLE_STATUSES), which the watcher would not see.
  t.is((await ping(late.url, user, '11', 'phone')).status, 200);
  await watcher.until((c) => c.statuses().at(-1) === '11');

  relay.hold();
  const held = await ping(late.url, user, '12', 'phone');
  t.is(held.status, 503);
  t.is((await errorOf(held)).code, 'STORE_UNAVAILABLE');
  t.is((await ping(other.url, user, '13', 'laptop')).status, 200);
  await watcher.until((c) => c.statuses().at(-1) === '13');

  // The held ping reaches Redis now, after 13. The next ping through `late` follows it on the same
  // connection (or, after a reconnect, is sent after ioredis re-sends it), so once that one is
  // answered 200 the held one has run.
  relay.release();
  for (let i = 0; ; i++) {
    const answer = await ping(late.url, user, `14.${i}`, 'phone');
    if (answer.status === 200) break;
    t.is(answer.status, 503, 'only 503 while the instance finds its Redis again');
  }
  await watcher.until((c) => c.statuses().at(-1)?.startsWith('14.') === true);
  // In the order sent (11, 12, 13, then 14.0, 14.1, … until one is acknowledged), without the late 12.
  const seen = watcher.statuses();
  t.true(
    seen.every((s, i) => i === 0 || Number(s) > Number(seen[i - 1])) && !seen.includes('12'),
    `in order, without the late 12: ${seen.join(',')}`,
  );
  const lastSeen = (await (await fetch(`${other.url}/lastseen/${user}`)).json()) as { status: string };
  t.is(lastSeen.status, seen[seen.length - 1]);
});

test('a ping overtaken before its deadline is answered 409 PING_OVERTAKEN and changes nothing', async (t) => {
  const store = await startStore('redis');
  const relay = await TcpRelay.start(store.server!.port);
  const [late, other] = await Promise.all([startService({ REDIS: relay.address }), startService({ REDIS: store.redis })]);
  t.teardown(async () => {
    await Promise.all([late.stop(), other.stop()]);
    await relay.close();
    await store.close();
  });
  // The overtaken ping must reach Redis within its deadline (800 ms) to be answered: a try on a
  // box so busy that it did not (503) is repeated with a new user.
  for (let attempt = 1; ; attempt++) {
    const user = `overtaken-${randomUUID()}`;
    t.is((await ping(late.url, user, '11', 'phone')).status, 200);
    relay.hold();
    const answer = ping(late.url, user, '12', 'phone');
    // `late` received 12 (its script call is held here) before `other` receives 13.
    for (let waited = 0; relay.heldBytes() === 0; waited += 5) {
      if (waited > 10_000) throw new Error('the ping never reached the relay');
      await sleep(5);
    }
    t.is((await ping(other.url, user, '13', 'laptop')).status, 200);
    relay.release();
    const refused = await answer;
    if (refused.status === 503 && attempt < 3) continue;
    t.deepEqual(await errorOf(refused), {
      status: 409,
      code: 'PING_OVERTAKEN',
      message: Errors.PING_OVERTAKEN.message,
      contentType: 'application/json',
    });
    const lastSeen = (await (await fetch(`${other.url}/lastseen/${user}`)).json()) as { status: string };
    t.is(lastSeen.status, '13', 'the newer ping stays');
    return;
  }
});
