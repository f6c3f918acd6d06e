import test, { type ExecutionContext } from 'ava';
import { randomUUID } from 'node:crypto';
import { MessageChannel } from 'node:worker_threads';
import { startPingActor, submitPing } from '../../src/pings/ping-actor.js';
import { Errors } from '../../src/http/errors.js';
import { EmbeddedStore } from '../../src/store/embedded.js';
import { RedisStore } from '../../src/store/redis/redis-store.js';
import { RelayServer, RelayStore } from '../../src/store/relay.js';
import type { SaveOutcome, Store, StoreLimits, StoredPing } from '../../src/store/types.js';
import { startStore, type StoreName, type TestStore } from '../support/stores.js';

/**
 * A user's pings are ordered by when heartbeat received them, whatever order they reach the store
 * in. The case this is for: on a failover (or a reconnect) the Redis client sends a ping that
 * already got its 503 once more, after a newer ping of the same user was stored; that late ping
 * must change nothing. Here the store is driven directly with two pings whose received times are
 * out of order, as such a late retry would be, over every store (the embedded one also through
 * the worker threads' relay) against a real redis-server or Redis Cluster: deterministic, no
 * failover needed (cluster-failover provokes the real thing).
 */
export function pingOrderSuite(name: StoreName | 'relay'): void {
  let testStore: TestStore | null = null;
  const limits: StoreLimits = { pingRate: 0, pingBurst: 10, clientKeyTtlSeconds: 0 };
  const user = () => `order-${randomUUID()}`;

  test.before(async () => {
    if (name === 'redis' || name === 'cluster') testStore = await startStore(name);
  });

  test.after.always(async () => {
    await testStore?.close();
  });

  /** A store of this suite's kind with `limits`, and every ping it hears, closed after the test. */
  async function open(t: ExecutionContext, storeLimits = limits) {
    let store: Store;
    if (name === 'embedded') store = new EmbeddedStore(storeLimits);
    else if (name === 'relay') {
      const server = new RelayServer(new EmbeddedStore(storeLimits));
      const { port1, port2 } = new MessageChannel();
      server.attach(port1);
      store = new RelayStore(port2);
      t.teardown(() => server.close());
    } else {
      const redis = new RedisStore({
        target: testStore!.cluster ? { seeds: testStore!.cluster.seedList } : { url: testStore!.server!.url },
        keyPrefix: 'heartbeat:',
        waitReplicas: 0,
        limits: storeLimits,
      });
      await redis.connect();
      store = redis;
    }
    t.teardown(() => store.close());
    const heard: string[] = [];
    store.setListener({
      onPing: (userid: string, ping: StoredPing, invisible: boolean) => heard.push(`${ping.status}${invisible ? ' (own)' : ''}`),
      onErased: () => {},
      onRecovered: () => {},
      onAvailability: () => {},
    });
    return { store, heard };
  }

  const outcome = (saved: SaveOutcome) => ('overtaken' in saved ? 'overtaken' : 'retryAfterSeconds' in saved ? 'limited' : saved.status);

  async function until(condition: () => boolean, what: string): Promise<void> {
    for (let i = 0; i < 300 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
    if (!condition()) throw new Error(`timed out waiting for ${what}`);
  }

  test('a ping received before the stored one (a late retry) changes nothing: not stored, not published, the newer one stays', async (t) => {
    const { store, heard } = await open(t);
    const u = user();
    await store.subscribe(u);
    await store.subscribe(u, true);
    const received = Date.now();
    t.is(outcome(await store.save(u, 'phone', '8', false, received)), '8');
    t.is(outcome(await store.save(u, 'phone', '9', false, received + 1000)), '9');
    // Ping 8 once more, as the Redis client re-sends it after its 503: received before 9.
    t.is(outcome(await store.save(u, 'phone', '8', false, received)), 'overtaken');
    t.is(outcome(await store.save(u, 'laptop', '7', false, received + 500)), 'overtaken', 'from another client too');
    const views = await Promise.all([store.lastMany([u]), store.lastMany([u], undefined, true), store.lastMany([u], 'phone')]);
    t.deepEqual(
      views.map(([p]) => p?.status),
      ['9', '9', '9'],
      'public, own and client views keep the newer ping',
    );
    t.deepEqual(await store.lastMany([u], 'laptop'), [null], 'nothing stored for the overtaken client');
    // A ping received later goes through, and is the next thing heard: nothing was published in between.
    t.is(outcome(await store.save(u, 'phone', '10', false, received + 2000)), '10');
    await until(() => heard.includes('10'), 'ping 10 published');
    t.deepEqual(heard, ['8', '9', '10']);
  });

  test('an invisible ping and a visible one are ordered together: the older is overtaken whichever view it is for', async (t) => {
    const { store, heard } = await open(t);
    const u = user();
    await store.subscribe(u);
    await store.subscribe(u, true);
    const received = Date.now();
    t.is(outcome(await store.save(u, 'phone', 'hidden', true, received + 1000)), 'hidden');
    t.is(outcome(await store.save(u, 'phone', 'seen', false, received)), 'overtaken', 'a visible ping older than the invisible one');
    t.deepEqual(await store.lastMany([u]), [null], 'the public view gets nothing older');
    t.is(outcome(await store.save(u, 'phone', 'seen', false, received + 2000)), 'seen');
    t.is(
      outcome(await store.save(u, 'phone', 'hidden-late', true, received + 1500)),
      'overtaken',
      'an invisible ping older than the visible one',
    );
    t.is((await store.lastMany([u], undefined, true))[0]?.status, 'seen', 'the own view keeps the newest');
    t.is(outcome(await store.save(u, 'phone', 'last', false, received + 3000)), 'last');
    await until(() => heard.includes('last'), 'the last ping published');
    t.deepEqual(heard, ['hidden (own)', 'seen', 'last']);
  });

  test('pings received in the same millisecond are both stored, in the order they reach the store', async (t) => {
    const { store } = await open(t);
    const u = user();
    const received = Date.now();
    const first = (await store.save(u, 'phone', 'a', false, received)) as StoredPing;
    const second = (await store.save(u, 'laptop', 'b', false, received)) as StoredPing;
    t.true(second.seq > first.seq);
    t.is((await store.lastMany([u]))[0]?.status, 'b');
  });

  test('an overtaken ping takes no rate-limit token', async (t) => {
    const { store } = await open(t, { pingRate: 0.001, pingBurst: 2, clientKeyTtlSeconds: 0 });
    const u = user();
    const received = Date.now();
    const outcomes = [];
    outcomes.push(outcome(await store.save(u, 'phone', 'new', false, received + 1000)));
    for (let i = 0; i < 3; i++) outcomes.push(outcome(await store.save(u, 'phone', `late ${i}`, false, received)));
    outcomes.push(outcome(await store.save(u, 'phone', 'newer', false, received + 2000)));
    outcomes.push(outcome(await store.save(u, 'phone', 'newest', false, received + 3000)));
    t.deepEqual(
      outcomes,
      ['new', 'overtaken', 'overtaken', 'overtaken', 'newer', 'limited'],
      'a burst of 2: the second token was left for "newer"',
    );
  });

  test('POST /ping overtaken by a ping received later is answered 409 PING_OVERTAKEN and changes nothing', async (t) => {
    const { store, heard } = await open(t);
    const u = user();
    await store.subscribe(u);
    // A ping another instance received a minute from now (its clock ahead, or simply later than
    // this one's ping reached Redis) is stored already.
    t.is(outcome(await store.save(u, 'phone', 'newer', false, Date.now() + 60_000)), 'newer');
    await until(() => heard.length === 1, 'the newer ping published');
    const actor = startPingActor(store);
    t.teardown(() => actor.stop());
    const answer = await new Promise<[number, string?]>((resolve) =>
      submitPing(actor, {
        claim: JSON.stringify({ userid: u, clientid: 'laptop' }),
        body: '{"status":"older"}',
        bodyTooLarge: false,
        fromTrustedPeer: true,
        answer: (code) => resolve(code === undefined ? [200] : [Errors[code].status, code]),
      }),
    );
    t.deepEqual(answer, [409, 'PING_OVERTAKEN']);
    t.is((await store.lastMany([u]))[0]?.status, 'newer');
    t.deepEqual(await store.lastMany([u], 'laptop'), [null]);
    t.deepEqual(heard, ['newer']);
  });
}
