// Bucket parents: each stream's subscription actor is a child of a bucket parent with a bounded number
// of children; each child still gets its own events and writes its own stream, and streams that
// end leave no child behind.
import test from 'ava';
import { subscriptionMachine, type PingFrames, type SinkListener, type StreamSink } from '../../machines/subscription.js';
import { SharedPingFrames } from '../../src/streams/frames.js';
import { BucketParents } from '../../src/streams/bucket-parents.js';

const decoder = new TextDecoder();

/** What one client receives, as the statuses of its data events; `ended` once the stream ended. */
class RecordingSink implements StreamSink {
  readonly statuses: string[] = [];
  ended = false;
  listener: SinkListener | null = null;
  open(listener: SinkListener): void {
    this.listener = listener;
  }
  write(chunk: Uint8Array): void {
    const data = /^data: (.*)$/m.exec(decoder.decode(chunk));
    if (data && data[1] !== '{}') this.statuses.push((JSON.parse(data[1]) as { status: string }).status);
  }
  endWithRetry(): void {
    this.ended = true;
  }
  close(): void {
    this.ended = true;
  }
}

function ping(userid: string, seq: number): PingFrames {
  return new SharedPingFrames(userid, { time: 1_700_000_000 + seq, status: `${userid}${seq}`, clientid: '', seq });
}

/** Bucket parents of `size` over the real subscription machine; the cache read answers "nothing stored" at once. */
function bucketParents(size: number) {
  const machine = subscriptionMachine.provide({
    actions: {
      register: () => {},
      unregister: () => {},
      loadCachedPings: ({ self }) => queueMicrotask(() => self.send({ type: 'replay.loaded', pings: [] })),
    },
  });
  return new BucketParents({ subscription: machine, size });
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

test("streams beyond a bucket parent's size go to another parent; each actor writes only its own stream", async (t) => {
  const b = bucketParents(4);
  const sinks = Array.from({ length: 10 }, () => new RecordingSink());
  const actors = sinks.map((sink, i) => b.spawn({ sink, users: [`u${i}`], format: 'single' })!);
  await tick();
  t.is(b.count(), 3);
  t.is(b.children(), 10);
  actors.forEach((actor, i) => actor.send({ type: 'presence', ping: ping(`u${i}`, 1) }));
  actors[3].send({ type: 'presence', ping: ping('u3', 2) });
  t.deepEqual(
    sinks.map((s) => s.statuses),
    sinks.map((_, i) => (i === 3 ? ['u31', 'u32'] : [`u${i}1`])),
  );
});

test('ended streams leave no child, and emptied bucket parents go while another has room', async (t) => {
  const b = bucketParents(4);
  const sinks = Array.from({ length: 10 }, () => new RecordingSink());
  const actors = sinks.map((sink, i) => b.spawn({ sink, users: [`u${i}`], format: 'single' })!);
  await tick();
  for (const actor of actors.slice(0, 9)) actor.send({ type: 'socket.aborted' });
  await tick();
  t.is(b.children(), 1);
  t.is(b.count(), 1);
  actors[9].send({ type: 'server.shutdown', retryMs: 1000 });
  await tick();
  t.true(sinks[9].ended);
  t.is(b.children(), 0);
  t.is(b.count(), 1, 'the last bucket parent stays for the next stream');
  // the room freed is used again
  const again = b.spawn({ sink: new RecordingSink(), users: ['v'], format: 'single' });
  t.truthy(again);
  t.is(b.count(), 1);
  t.is(b.children(), 1);
});

test("children are named from a bounded set of ids, reused as streams end (no per-stream growth in XState's memo)", async (t) => {
  const b = bucketParents(4);
  const ids = new Set<string>();
  for (let round = 0; round < 5; round++) {
    const actors = Array.from({ length: 6 }, (_, i) => b.spawn({ sink: new RecordingSink(), users: [`u${i}`], format: 'single' })!);
    await tick();
    for (const actor of actors) {
      ids.add(actor.id);
      actor.send({ type: 'socket.aborted' });
    }
    await tick();
  }
  t.deepEqual([...ids].sort(), ['0', '1', '2', '3']);
  t.is(b.children(), 0);
});
