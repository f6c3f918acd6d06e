// The hub over the embedded store, with fake subscription actors recording what they are handed.
import test from 'ava';
import type { OfflineFrames, PingFrames, SubscriptionEvent } from '../../machines/subscription.js';
import { Hub, type HubHooks, type SubscriptionActorRef } from '../../src/streams/hub.js';
import { loadConfig } from '../../src/process/config.js';
import { storeOptionsOf } from '../../src/store/connect.js';
import { EmbeddedStore } from '../../src/store/embedded.js';

/** Lets queued microtasks, promise callbacks and the next turn's deliveries run. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

class FakeActor implements SubscriptionActorRef {
  /** Every ping handed over, the replay's marked `replay:`. */
  readonly log: string[] = [];
  readonly received: PingFrames[] = [];
  private replayed: (() => void) | null = null;
  readonly replayedOnce = new Promise<void>((resolve) => (this.replayed = resolve));
  send(event: SubscriptionEvent): void {
    if (event.type === 'presence') {
      this.received.push(event.ping);
      this.log.push(label(event.ping));
    }
    if (event.type === 'offline') this.log.push(`offline:${event.offline.userid}`);
    if (event.type === 'replay.loaded') {
      this.log.push(`replay:${event.pings.map(label).join(',')}`);
      this.replayed?.();
    }
  }
  /** The presence events this actor was handed, as `user:status`. */
  seen(): string[] {
    return this.received.map(label);
  }
}

function label(ping: PingFrames | OfflineFrames): string {
  if ('offline' in ping) return `offline:${ping.userid}`;
  const frame = new TextDecoder().decode(ping.frame('single', false));
  return `${ping.userid}:${(JSON.parse(frame.slice('data: '.length)) as { status: string }).status}`;
}

/** The embedded store, counting the reads the hub makes. */
class CountedStore extends EmbeddedStore {
  readonly reads: number[] = [];
  failReads = 0;
  override lastMany(userids: readonly string[], clientid?: string, own?: boolean) {
    this.reads.push(userids.length);
    if (this.failReads > 0) {
      this.failReads--;
      return Promise.reject(new Error('store away'));
    }
    return super.lastMany(userids, clientid, own);
  }
}

function hub(hooks: HubHooks = {}, offlineAfterSeconds = 0) {
  const store = new CountedStore(storeOptionsOf(loadConfig({})).limits);
  const delivered: number[] = [];
  const h = new Hub(store, { onDelivered: (count) => delivered.push(count), ...hooks }, offlineAfterSeconds);
  /** Adds a stream as the subscription actor does (register, then ask for the replay); resolves once replayed. */
  const join = async (users: string[], actor: FakeActor, clientid?: string, watcher?: string) => {
    h.add(users, actor, clientid, watcher);
    h.replay(users, actor, clientid, watcher);
    await actor.replayedOnce;
  };
  return { store, hub: h, delivered, join };
}

test('the first stream of a user subscribes its channel, the last to leave unsubscribes it', async (t) => {
  const { store, hub: h, join } = hub();
  const w1 = new FakeActor();
  const w2 = new FakeActor();
  await join(['alice'], w1);
  t.is(store.channelCount(), 1);
  await join(['alice'], w2);
  t.is(store.channelCount(), 1, 'one channel whatever the number of streams');

  h.remove(['alice'], w1);
  t.is(store.channelCount(), 1);
  h.remove(['alice'], w2);
  t.is(store.channelCount(), 0);
  t.is(h.watchedUsers(), 0);
});

test('a stream of several users holds one channel per user until it leaves', async (t) => {
  const { store, hub: h, join } = hub();
  const w = new FakeActor();
  await join(['alice', 'bob', 'carol'], w);
  t.is(store.channelCount(), 3);
  t.is(h.watchedUsers(), 3);
  h.remove(['alice', 'bob', 'carol'], w);
  t.is(store.channelCount(), 0);
  t.is(h.watchedUsers(), 0);
});

test('removing an actor that was never added changes nothing', async (t) => {
  const { store, hub: h, join } = hub();
  const w = new FakeActor();
  await join(['alice'], w);
  h.remove(['alice'], new FakeActor());
  h.remove(['bob'], w);
  t.is(store.channelCount(), 1);
  t.is(h.watchedUsers(), 1);
});

test("a ping reaches each stream of its user once, and no other user's streams", async (t) => {
  const { store, delivered, join } = hub();
  const aliceOnly = new FakeActor();
  const aliceToo = new FakeActor();
  const bobOnly = new FakeActor();
  await join(['alice'], aliceOnly);
  await join(['alice', 'bob'], aliceToo);
  await join(['bob'], bobOnly);

  await store.save('alice', 'phone', 'online');
  await settle();

  t.deepEqual(aliceOnly.seen(), ['alice:online']);
  t.deepEqual(aliceToo.seen(), ['alice:online']);
  t.deepEqual(bobOnly.seen(), []);
  t.deepEqual(delivered, [2]);
});

test('a stream that left receives nothing more', async (t) => {
  const { store, hub: h, join } = hub();
  const stays = new FakeActor();
  const leaves = new FakeActor();
  await join(['alice'], stays);
  await join(['alice'], leaves);
  h.remove(['alice'], leaves);

  await store.save('alice', '', 'away');
  await settle();
  t.deepEqual(stays.seen(), ['alice:away']);
  t.deepEqual(leaves.seen(), []);
});

test('a ping of a user nobody watches here is not delivered', async (t) => {
  const { store, hub: h, delivered, join } = hub();
  const w = new FakeActor();
  await join(['alice'], w);
  h.onPing('mallory', { time: 1, status: 'x', clientid: '', seq: 1 });
  await store.save('bob', '', 'online');
  await settle();
  t.deepEqual(w.seen(), []);
  t.deepEqual(delivered, []);
});

test('watchedUsers counts users watched by at least one stream', async (t) => {
  const { hub: h, join } = hub();
  const w1 = new FakeActor();
  const w2 = new FakeActor();
  t.is(h.watchedUsers(), 0);
  await join(['alice', 'bob'], w1);
  await join(['bob', 'carol'], w2);
  t.is(h.watchedUsers(), 3);
  h.remove(['alice', 'bob'], w1);
  t.is(h.watchedUsers(), 2);
});

test('a replay holds the last ping of each user; a later stream gets it from the hub, without a read', async (t) => {
  const { store, join } = hub();
  await store.save('alice', 'phone', 'stored');
  const first = new FakeActor();
  await join(['alice', 'bob'], first);
  t.deepEqual(first.log, ['replay:alice:stored']);
  t.deepEqual(store.reads, [2], 'one read for both users');

  await store.save('bob', 'web', 'live');
  await settle();
  const second = new FakeActor();
  await join(['bob', 'alice'], second);
  t.deepEqual(second.log, ['replay:bob:live,alice:stored']);
  t.deepEqual(store.reads, [2], 'the second stream was served from the records');
});

test("the streams opened in one turn read their users' stored pings together", async (t) => {
  const { store, join } = hub();
  const contacts = (n: number) => Array.from({ length: 50 }, (_, i) => `user${(n * 7 + i) % 200}`);
  await Promise.all(Array.from({ length: 40 }, (_, n) => join(contacts(n), new FakeActor())));
  t.is(
    store.reads.reduce((a, b) => a + b, 0),
    200,
    'each watched user read once',
  );
  t.is(store.reads.length, 1, 'in one call');
});

test('every ping reaches a stream exactly once and in order, across its replay and a recovery re-read', async (t) => {
  const { store, hub: h, join } = hub();
  await store.save('alice', 'phone', '1');
  const early = new FakeActor();
  await join(['alice'], early);
  // A stream that joins while pings arrive: each ping is in its replay or after it, never both.
  const late = new FakeActor();
  h.add(['alice'], late);
  await store.save('alice', 'phone', '2');
  h.replay(['alice'], late);
  await store.save('alice', 'phone', '3');
  await settle();
  h.onRecovered();
  await settle();
  await settle();
  t.deepEqual(early.log, ['replay:alice:1', 'alice:2', 'alice:3']);
  t.deepEqual(late.log, ['alice:2', 'replay:alice:2', 'alice:3'], 'the ping handed before its replay is covered by it');
});

test('on recovery a ping stored during the outage is delivered; one already delivered is not', async (t) => {
  const { store, hub: h, join } = hub();
  const alice = new FakeActor();
  const bob = new FakeActor();
  await store.save('bob', 'web', 'bob was here');
  await join(['alice'], alice);
  await join(['bob'], bob);
  await store.save('alice', 'phone', 'before the outage');
  await settle();
  // A ping stored while the channel was away (its message lost): only the re-read brings it.
  store.setListener({ onPing: () => {}, onErased: () => {}, onRecovered: () => {}, onAvailability: () => {} });
  await store.save('bob', 'web', 'during the outage');
  store.setListener(h);

  h.onRecovered();
  await settle();
  await settle();
  t.deepEqual(alice.seen(), ['alice:before the outage']);
  t.deepEqual(bob.log, ['replay:bob:bob was here', 'bob:during the outage']);
});

test("a /client stream replays its client's last ping and gets only its client's pings", async (t) => {
  const { store, join } = hub();
  const phoneStream = new FakeActor();
  await store.save('alice', 'phone', 'from the phone');
  await store.save('alice', 'web', 'from the web');
  await join(['alice'], phoneStream, 'phone');
  await store.save('alice', 'web', 'web again');
  await store.save('alice', 'phone', 'phone again');
  await settle();
  t.deepEqual(phoneStream.log, ['replay:alice:from the phone', 'alice:phone again']);
});

test('an invisible ping reaches only the streams its own user opened; a visible one reaches everyone', async (t) => {
  const { store, hub: h, join } = hub();
  const stranger = new FakeActor();
  const ownDevice = new FakeActor();
  const bobsList = new FakeActor();
  const alicesList = new FakeActor();
  await join(['alice'], stranger);
  await join(['alice'], ownDevice, undefined, 'alice');
  await join(['bob', 'alice'], bobsList, undefined, 'bob');
  await join(['alice', 'bob'], alicesList, undefined, 'alice');
  t.is(store.channelCount(), 4, "alice's and bob's channels, and each one's own (bob's list is bob's own stream)");

  await store.save('alice', 'phone', 'online');
  await store.save('alice', 'phone', '3', true);
  await store.save('bob', 'web', '3', true);
  await settle();
  t.deepEqual(stranger.seen(), ['alice:online']);
  t.deepEqual(bobsList.seen(), ['alice:online', 'bob:3'], "bob's own view covers bob only");
  t.deepEqual(ownDevice.seen(), ['alice:online', 'alice:3']);
  t.deepEqual(alicesList.seen(), ['alice:online', 'alice:3']);

  const late = new FakeActor();
  await join(['alice'], late, undefined, 'alice');
  t.deepEqual(late.log, ['replay:alice:3'], 'the own view replays the invisible ping');

  h.remove(['alice'], ownDevice, undefined, 'alice');
  h.remove(['alice', 'bob'], alicesList, undefined, 'alice');
  h.remove(['alice'], late, undefined, 'alice');
  t.is(store.channelCount(), 3, "alice's own channel goes with her last own stream");
});

test('each ping from the bus is timed once however many watch it, and re-reads are not timed', async (t) => {
  const timed: { lag: number; fanOut: number }[] = [];
  const { store, hub: h, join } = hub({ onFanOutTimed: (lag, fanOut) => timed.push({ lag, fanOut }) });
  const actors = [new FakeActor(), new FakeActor(), new FakeActor()];
  for (const w of actors) await join(['alice'], w, undefined, w === actors[0] ? 'alice' : undefined);
  await store.save('alice', 'phone', 'one');
  await store.save('alice', 'phone', 'two');
  await store.save('bob', 'phone', 'nobody watches bob');
  await settle();
  for (const w of actors) t.deepEqual(w.seen(), ['alice:one', 'alice:two']);
  t.is(timed.length, 2, 'one figure per ping, not per stream or view');
  for (const { lag, fanOut } of timed) {
    // The embedded store's seq is this machine's clock in microseconds, as Redis' TIME is.
    t.true(lag >= 0 && lag < 5, `lag ${lag} s`);
    t.true(fanOut >= 0 && fanOut <= lag + 0.001, `fan-out ${fanOut} s`);
  }
  h.onRecovered();
  await settle();
  t.is(timed.length, 2, 'a re-read after an outage is not timed as a live ping');
});

test('a failed read is retried: the stream replays without it and gets the ping once read', async (t) => {
  const { store, join } = hub();
  await store.save('alice', 'phone', 'stored');
  store.failReads = 1;
  const w = new FakeActor();
  await join(['alice', 'bob'], w);
  t.deepEqual(w.log, ['replay:']);
  while (w.received.length === 0) await new Promise((resolve) => setTimeout(resolve, 50));
  t.deepEqual(w.log, ['replay:', 'alice:stored']);
  t.deepEqual(store.reads, [2, 2], 'read again about a second later');
});

test('a fan-out never holds the event loop for more than one batch of events', async (t) => {
  const perTurn = 500;
  const { store, hub: h, join, delivered } = hub({ deliveriesPerTurn: perTurn });
  // Sends made in one stretch of the event loop (no other callback in between) share a stretch
  // number: a microtask queued at a stretch's first send runs as soon as the stretch ends.
  let stretch = 0;
  let inStretch = false;
  const perStretch = new Map<number, number>();
  const count = (event: SubscriptionEvent) => {
    if (event.type !== 'presence') return;
    if (!inStretch) {
      inStretch = true;
      stretch++;
      queueMicrotask(() => (inStretch = false));
    }
    perStretch.set(stretch, (perStretch.get(stretch) ?? 0) + 1);
  };
  await join(['alice'], new FakeActor());
  for (let i = 0; i < 3_000; i++) h.add(['alice'], { send: count });

  await store.save('alice', 'phone', 'to 3,001 streams');
  await store.save('alice', 'phone', 'and again');
  while (delivered.length < 2) await settle();

  const counts = [...perStretch.values()];
  t.is(
    counts.reduce((a, b) => a + b, 0),
    6_000,
    'every delivery was made',
  );
  t.true(Math.max(...counts) <= perTurn, `at most ${perTurn} in one stretch, got ${Math.max(...counts)}`);
  t.true(counts.length >= 6_002 / perTurn, `spread over ${counts.length} stretches`);
  t.deepEqual(delivered, [3_001, 3_001]);
  t.is(h.queuedDeliveries(), 0);
});

test('streams that leave and join while a fan-out is spread over turns: every stream still watching gets the ping once, a leaver nothing after it left', async (t) => {
  const { store, hub: h, join, delivered } = hub({ deliveriesPerTurn: 100 });
  const got = new Map<number, number>();
  const actors = Array.from({ length: 1_000 }, (_, i) => ({
    send: (event: SubscriptionEvent) => {
      if (event.type === 'presence') got.set(i, (got.get(i) ?? 0) + 1);
    },
  }));
  await join(['alice'], new FakeActor());
  for (const actor of actors) h.add(['alice'], actor);

  await store.save('alice', 'phone', 'to 1,001 streams');
  // The first turn handed the ping to the first streams in order (at most 100, what that turn had left).
  const reached = got.size;
  t.true(reached > 20 && reached < 100, `${reached} reached in the first turn`);
  t.deepEqual([...got.keys()], [...Array(reached).keys()]);
  // Leaving between turns: some already reached (before the walk's place), some not yet.
  const left = [0, 10, reached - 1, reached, reached + 1, 500, 999];
  for (const i of left) h.remove(['alice'], actors[i]);
  const late = new FakeActor();
  h.add(['alice'], late);
  while (delivered.length < 1) await settle();

  for (const [i] of actors.entries()) {
    if (left.includes(i) && i >= reached) t.is(got.get(i), undefined, `stream ${i} left before its turn`);
    else t.is(got.get(i), 1, `stream ${i}`);
  }
  t.deepEqual(late.seen(), ['alice:to 1,001 streams'], 'a stream that joined during the fan-out gets it too');
  t.deepEqual(delivered, [1_001 - 4 + 1], 'the 1,001 less the 4 that left before their turn, and the late one');
});

test("after most of a user's streams left, a ping reaches exactly the ones left, once", async (t) => {
  const { store, hub: h, delivered } = hub();
  const got = new Map<number, number>();
  const actors = Array.from({ length: 200 }, (_, i) => ({
    send: (event: SubscriptionEvent) => {
      if (event.type === 'presence') got.set(i, (got.get(i) ?? 0) + 1);
    },
  }));
  for (const actor of actors) h.add(['alice'], actor);
  // In an order that moves the last into each freed place, and past three quarters empty.
  const staying = new Set([3, 50, 51, 120, 199]);
  for (const [i, actor] of actors.entries()) if (!staying.has(i)) h.remove(['alice'], actor);
  h.add(['alice'], actors[0]);
  await store.save('alice', 'phone', 'to the few');
  while (delivered.length < 1) await settle();
  t.deepEqual(
    [...got.entries()].sort((a, b) => a[0] - b[0]),
    [[0, 1], ...[...staying].map((i): [number, number] => [i, 1])],
  );
  t.deepEqual(delivered, [6]);
});

test('an erasure reaches every stream of the user once, in order with its pings; new streams replay nothing of it', async (t) => {
  const { store, join } = hub();
  const stranger = new FakeActor();
  const own = new FakeActor();
  await join(['alice', 'bob'], stranger, undefined, 'bob');
  await join(['alice'], own, undefined, 'alice');
  await store.save('alice', 'phone', 'before');
  await store.erase('alice', 'phone');
  await store.save('alice', 'phone', 'after');
  await settle();
  t.deepEqual(stranger.log, ['replay:', 'alice:before', 'offline:alice', 'alice:after']);
  t.deepEqual(own.log, ['replay:', 'alice:before', 'offline:alice', 'alice:after']);
  await store.erase('alice', 'web');
  await settle();
  const late = new FakeActor();
  await join(['alice'], late);
  t.deepEqual(late.log, ['replay:'], 'the erased ping is not replayed');
});

/** Resolves once `condition` holds (checked every turn and every 10 ms); rejects after 5 s. */
async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

test('OFFLINE_AFTER: each view of a silent user gets one offline after its last ping; a replay of a silent user carries it; a ping starts over', async (t) => {
  const { store, hub: h, join } = hub({}, 1);
  t.teardown(() => h.close());
  const others = new FakeActor();
  const own = new FakeActor();
  await join(['alice'], others);
  await join(['alice'], own, undefined, 'alice');
  await store.save('alice', 'phone', 'here');
  await store.save('alice', 'phone', '3', true);
  await until(() => others.log.includes('offline:alice') && own.log.filter((l) => l === 'offline:alice').length === 1, 'offline');
  t.deepEqual(others.log, ['replay:', 'alice:here', 'offline:alice'], 'the public view froze at the visible ping');
  t.deepEqual(own.log, ['replay:', 'alice:here', 'alice:3', 'offline:alice']);
  const late = new FakeActor();
  await join(['alice'], late);
  t.deepEqual(late.log, ['replay:alice:here,offline:alice']);
  await store.save('alice', 'phone', 'back');
  await until(() => others.log.filter((l) => l === 'offline:alice').length === 2, 'the second offline');
  t.deepEqual(others.log, ['replay:', 'alice:here', 'offline:alice', 'alice:back', 'offline:alice'], 'once per silence');
});
