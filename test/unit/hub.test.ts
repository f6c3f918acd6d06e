// The hub over the embedded store, with fake subscription actors recording what they are handed.
import test from 'ava';
import type { PingFrames, SubscriptionEvent } from '../../machines/subscription.js';
import { Hub, type SubscriptionActorRef } from '../../src/streams/hub.js';
import { loadConfig } from '../../src/process/config.js';
import { storeOptionsOf } from '../../src/store/connect.js';
import { EmbeddedStore } from '../../src/store/embedded.js';

/** Lets queued microtasks and promise callbacks (publishes, re-reads) run. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

class FakeActor implements SubscriptionActorRef {
  readonly received: PingFrames[] = [];
  send(event: SubscriptionEvent): void {
    if (event.type === 'presence') this.received.push(event.ping);
  }
  /** What this actor was handed, as `user:status`. */
  seen(): string[] {
    return this.received.map((p) => `${p.userid}:${statusOf(p)}`);
  }
}

function statusOf(ping: PingFrames): string {
  const frame = new TextDecoder().decode(ping.frame('single', false));
  return (JSON.parse(frame.slice('data: '.length)) as { status: string }).status;
}

function hub() {
  const store = new EmbeddedStore(storeOptionsOf(loadConfig({})).limits);
  const delivered: number[] = [];
  const h = new Hub(store, { onDelivered: (count) => delivered.push(count) });
  return { store, hub: h, delivered };
}

test('the first stream of a user subscribes its channel, the last to leave unsubscribes it', async (t) => {
  const { store, hub: h } = hub();
  const w1 = new FakeActor();
  const w2 = new FakeActor();
  h.add(['alice'], w1);
  await h.ready(['alice']);
  t.is(store.channelCount(), 1);
  h.add(['alice'], w2);
  await h.ready(['alice']);
  t.is(store.channelCount(), 1, 'one channel whatever the number of streams');

  h.remove(['alice'], w1);
  t.is(store.channelCount(), 1);
  h.remove(['alice'], w2);
  t.is(store.channelCount(), 0);
  t.is(h.watchedUsers(), 0);
});

test('a stream of several users holds one channel per user until it leaves', async (t) => {
  const { store, hub: h } = hub();
  const w = new FakeActor();
  h.add(['alice', 'bob', 'carol'], w);
  await h.ready(['alice', 'bob', 'carol']);
  t.is(store.channelCount(), 3);
  t.is(h.watchedUsers(), 3);
  h.remove(['alice', 'bob', 'carol'], w);
  t.is(store.channelCount(), 0);
  t.is(h.watchedUsers(), 0);
});

test('removing an actor that was never added changes nothing', async (t) => {
  const { store, hub: h } = hub();
  const w = new FakeActor();
  h.add(['alice'], w);
  await h.ready(['alice']);
  h.remove(['alice'], new FakeActor());
  h.remove(['bob'], w);
  t.is(store.channelCount(), 1);
  t.is(h.watchedUsers(), 1);
});

test("a ping reaches each stream of its user once, and no other user's streams", async (t) => {
  const { store, hub: h, delivered } = hub();
  const aliceOnly = new FakeActor();
  const aliceToo = new FakeActor();
  const bobOnly = new FakeActor();
  h.add(['alice'], aliceOnly);
  await h.ready(['alice']);
  h.add(['alice', 'bob'], aliceToo);
  await h.ready(['alice', 'bob']);
  h.add(['bob'], bobOnly);
  await h.ready(['bob']);

  await store.save('alice', 'phone', 'online');
  await settle();

  t.deepEqual(aliceOnly.seen(), ['alice:online']);
  t.deepEqual(aliceToo.seen(), ['alice:online']);
  t.deepEqual(bobOnly.seen(), []);
  t.deepEqual(delivered, [2]);
});

test('a stream that left receives nothing more', async (t) => {
  const { store, hub: h } = hub();
  const stays = new FakeActor();
  const leaves = new FakeActor();
  h.add(['alice'], stays);
  await h.ready(['alice']);
  h.add(['alice'], leaves);
  await h.ready(['alice']);
  h.remove(['alice'], leaves);

  await store.save('alice', '', 'away');
  await settle();
  t.deepEqual(stays.seen(), ['alice:away']);
  t.deepEqual(leaves.seen(), []);
});

test('a ping of a user nobody watches here is not delivered', async (t) => {
  const { store, hub: h, delivered } = hub();
  const w = new FakeActor();
  h.add(['alice'], w);
  await h.ready(['alice']);
  h.onPing('mallory', { time: 1, status: 'x', clientid: '', seq: 1 });
  await store.save('bob', '', 'online');
  await settle();
  t.deepEqual(w.seen(), []);
  t.deepEqual(delivered, []);
});

test('watchedUsers counts users watched by at least one stream', async (t) => {
  const { hub: h } = hub();
  const w1 = new FakeActor();
  const w2 = new FakeActor();
  t.is(h.watchedUsers(), 0);
  h.add(['alice', 'bob'], w1);
  await h.ready(['alice', 'bob']);
  h.add(['bob', 'carol'], w2);
  await h.ready(['bob', 'carol']);
  t.is(h.watchedUsers(), 3);
  h.remove(['alice', 'bob'], w1);
  t.is(h.watchedUsers(), 2);
});

test('ready() resolves for users whose channels are live', async (t) => {
  const { hub: h } = hub();
  h.add(['alice'], new FakeActor());
  await h.ready(['alice']);
  await t.notThrowsAsync(h.ready(['alice', 'nobody']));
});

test('on recovery the last ping of every watched user is read again and delivered', async (t) => {
  const { store, hub: h } = hub();
  const alice = new FakeActor();
  const bob = new FakeActor();
  await store.save('bob', 'web', 'bob was here');
  h.add(['alice'], alice);
  await h.ready(['alice']);
  h.add(['bob'], bob);
  await h.ready(['bob']);
  await store.save('alice', 'phone', 'first');
  await store.save('alice', 'phone', 'before the outage');
  await settle();
  t.deepEqual(alice.seen(), ['alice:first', 'alice:before the outage']);

  // Pings published during an outage are lost; the last stored one is handed over again.
  h.onRecovered();
  await settle();
  t.deepEqual(alice.seen(), ['alice:first', 'alice:before the outage', 'alice:before the outage']);
  t.deepEqual(bob.seen(), ['bob:bob was here']);
});

test("on recovery a /client stream also gets its client's last ping", async (t) => {
  const { store, hub: h } = hub();
  const phoneStream = new FakeActor();
  await store.save('alice', 'phone', 'from the phone');
  await store.save('alice', 'web', 'from the web');
  h.add(['alice'], phoneStream, 'phone');
  await h.ready(['alice']);

  h.onRecovered();
  await settle();
  // The user's last ping (web) and the phone's last ping: the subscription filters by client.
  t.deepEqual(phoneStream.received.map((p) => `${p.clientid}:${statusOf(p)}`).sort(), ['phone:from the phone', 'web:from the web']);
});

test('on recovery nothing is delivered for users nobody watches or who never pinged', async (t) => {
  const { store, hub: h } = hub();
  const w = new FakeActor();
  await store.save('alice', '', 'x');
  h.add(['carol'], w);
  await h.ready(['carol']);
  h.onRecovered();
  await settle();
  t.deepEqual(w.seen(), []);
});

test('an invisible ping reaches only the streams its own user opened; a visible one reaches everyone', async (t) => {
  const { store, hub: h } = hub();
  const stranger = new FakeActor();
  const ownDevice = new FakeActor();
  const bobsList = new FakeActor();
  const alicesList = new FakeActor();
  h.add(['alice'], stranger);
  h.add(['alice'], ownDevice, undefined, 'alice');
  h.add(['bob', 'alice'], bobsList, undefined, 'bob');
  h.add(['alice', 'bob'], alicesList, undefined, 'alice');
  await h.ready(['alice', 'bob'], 'alice');
  t.is(store.channelCount(), 4, "alice's and bob's channels, and each one's own (bob's list is bob's own stream)");

  await store.save('alice', 'phone', 'online');
  await store.save('alice', 'phone', '3', true);
  await store.save('bob', 'web', '3', true);
  await settle();
  t.deepEqual(stranger.seen(), ['alice:online']);
  t.deepEqual(bobsList.seen(), ['alice:online', 'bob:3'], "bob's own view covers bob only");
  t.deepEqual(ownDevice.seen(), ['alice:online', 'alice:3']);
  t.deepEqual(alicesList.seen(), ['alice:online', 'alice:3']);

  h.remove(['alice'], ownDevice, undefined, 'alice');
  h.remove(['alice', 'bob'], alicesList, undefined, 'alice');
  t.is(store.channelCount(), 3, "alice's own channel goes with her last own stream");
});

test("on recovery the user's own streams get the own view first, everyone else the last visible ping", async (t) => {
  const { store, hub: h } = hub();
  const stranger = new FakeActor();
  const ownDevice = new FakeActor();
  const ownPhone = new FakeActor();
  h.add(['alice'], stranger);
  h.add(['alice'], ownDevice, undefined, 'alice');
  h.add(['alice'], ownPhone, 'phone', 'alice');
  await h.ready(['alice'], 'alice');
  await store.save('alice', 'phone', 'online');
  await store.save('alice', 'phone', '3', true);
  await settle();
  stranger.received.length = 0;
  ownDevice.received.length = 0;
  ownPhone.received.length = 0;

  h.onRecovered();
  await settle();
  t.deepEqual(stranger.seen(), ['alice:online']);
  t.is(ownDevice.seen()[0], 'alice:3');
  t.false(ownPhone.seen().some((s) => s !== 'alice:3' && s !== 'alice:online'));
  t.true(ownPhone.seen().includes('alice:3'));
});

test('each ping from the bus is timed once however many watch it, and re-reads are not timed', async (t) => {
  const store = new EmbeddedStore(storeOptionsOf(loadConfig({})).limits);
  const timed: { lag: number; fanOut: number }[] = [];
  const h = new Hub(store, { onFanOutTimed: (lag, fanOut) => timed.push({ lag, fanOut }) });
  const actors = [new FakeActor(), new FakeActor(), new FakeActor()];
  for (const w of actors) h.add(['alice'], w);
  await h.ready(['alice']);
  await store.save('alice', 'phone', 'one');
  await store.save('alice', 'phone', 'two');
  await store.save('bob', 'phone', 'nobody watches bob');
  await settle();
  for (const w of actors) t.deepEqual(w.seen(), ['alice:one', 'alice:two']);
  t.is(timed.length, 2, 'one figure per ping, not per stream');
  for (const { lag, fanOut } of timed) {
    // The embedded store's seq is this machine's clock in microseconds, as Redis' TIME is.
    t.true(lag >= 0 && lag < 5, `lag ${lag} s`);
    t.true(fanOut >= 0 && fanOut <= lag + 0.001, `fan-out ${fanOut} s`);
  }
  h.onRecovered();
  await settle();
  t.deepEqual(actors[0].seen(), ['alice:one', 'alice:two', 'alice:two']);
  t.is(timed.length, 2, 'a re-read after an outage is delivered, not timed as a live ping');
});
