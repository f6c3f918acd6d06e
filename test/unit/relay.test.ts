// The embedded store's relay to worker threads (WORKERS > 1): the main thread's RelayServer over
// one EmbeddedStore, and a RelayStore per worker on a MessagePort. Here the "workers" are two
// RelayStores in this thread, each on its own MessageChannel: the same messages, the same order.
import test from 'ava';
import { setTimeout as sleep } from 'node:timers/promises';
import { MessageChannel } from 'node:worker_threads';
import { EmbeddedStore } from '../../src/store/embedded.js';
import { RelayServer, RelayStore } from '../../src/store/relay.js';
import type { StoredPing } from '../../src/store/types.js';

function relayed() {
  const store = new EmbeddedStore({ pingRate: 0, pingBurst: 10, clientKeyTtlSeconds: 0 });
  const server = new RelayServer(store);
  const worker = (name: string) => {
    const { port1, port2 } = new MessageChannel();
    server.attach(port1);
    const relay = new RelayStore(port2);
    const heard: string[] = [];
    relay.setListener({
      onPing: (userid: string, ping: StoredPing, invisible: boolean) =>
        heard.push(`${name} ${userid}:${ping.status}${invisible ? ' (own)' : ''}`),
      onErased: (userid: string) => heard.push(`${name} ${userid} erased`),
      onRecovered: () => {},
      onAvailability: () => {},
    });
    return { relay, heard };
  };
  return { store, server, worker };
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await sleep(5);
  if (!condition()) throw new Error(`timed out waiting for ${what}`);
}

test('two workers on one user share one store channel; a ping reaches each, an invisible one only the worker on the own channel', async (t) => {
  const { store, server, worker } = relayed();
  const a = worker('a');
  const b = worker('b');
  t.teardown(() => server.close());
  await Promise.all([a.relay.subscribe('alice'), b.relay.subscribe('alice'), b.relay.subscribe('alice', true)]);
  t.is(server.channelCount(), 2, "alice's public channel and her own");
  t.is(store.channelCount(), 2);
  await a.relay.save('alice', 'phone', 'here');
  await b.relay.save('alice', 'phone', 'hidden', true);
  await until(() => a.heard.length + b.heard.length === 3, 'three deliveries');
  t.deepEqual(a.heard, ['a alice:here']);
  t.deepEqual(b.heard, ['b alice:here', 'b alice:hidden (own)']);
});

test('a channel stays while one worker is subscribed, and goes with the last; a worker that closes leaves none behind', async (t) => {
  const { store, server, worker } = relayed();
  const a = worker('a');
  const b = worker('b');
  t.teardown(() => server.close());
  await Promise.all([a.relay.subscribe('bob'), b.relay.subscribe('bob'), b.relay.subscribe('carol')]);
  t.is(server.channelCount(), 2);
  // A worker's port delivers in order: its request's answer comes after the server handled it.
  await a.relay.unsubscribe('bob');
  t.is(server.channelCount(), 2, 'bob is kept for b');
  t.is(store.channelCount(), 2);
  await b.relay.unsubscribe('bob');
  t.is(server.channelCount(), 1, 'only carol is left');
  t.is(store.channelCount(), 1);
  await b.relay.close();
  await until(() => server.channelCount() === 0, "the closed worker's channels gone");
  t.is(store.channelCount(), 0);
  await t.throwsAsync(b.relay.save('carol', 'x', 'late'), { message: 'the store relay is closed' });
});

test('an erasure through one worker erases the store and reaches every worker watching the user, and only them', async (t) => {
  const { store, server, worker } = relayed();
  const a = worker('a');
  const b = worker('b');
  t.teardown(() => server.close());
  await Promise.all([a.relay.subscribe('dave'), b.relay.subscribe('erin')]);
  await a.relay.save('dave', 'phone', 'here');
  await until(() => a.heard.length === 1, 'the ping');
  t.is(await b.relay.erase('dave', 'web'), null);
  await until(() => a.heard.length === 2, 'the erasure');
  t.deepEqual(a.heard, ['a dave:here', 'a dave erased']);
  t.deepEqual(b.heard, []);
  t.deepEqual(await store.lastMany(['dave'], undefined, true), [null]);
});
