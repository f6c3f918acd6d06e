// ChannelBatcher: the channel calls of one event-loop turn become one command per run of a kind.
import test from 'ava';
import { ChannelBatcher, type ChannelOp } from '../../src/store/redis/channel-batcher.js';

function recording(fail?: (op: ChannelOp) => boolean) {
  const sent: string[] = [];
  const batcher = new ChannelBatcher((op, channels) => {
    sent.push(`${op} ${channels.join(',')}`);
    return fail?.(op) ? Promise.reject(new Error('store unavailable')) : Promise.resolve();
  });
  return { batcher, sent };
}

test('subscriptions made in one turn go out as one command, and every caller is answered', async (t) => {
  const { batcher, sent } = recording();
  await Promise.all(['a', 'b', 'c'].map((channel) => batcher.subscribe(channel)));
  t.deepEqual(sent, ['subscribe a,b,c']);
});

test('a subscribe, unsubscribe, subscribe of one turn keep their order', async (t) => {
  const { batcher, sent } = recording();
  await Promise.all([batcher.subscribe('a'), batcher.subscribe('b'), batcher.unsubscribe('a'), batcher.subscribe('a')]);
  t.deepEqual(sent, ['subscribe a,b', 'unsubscribe a', 'subscribe a']);
});

test('calls of a later turn make a command of their own', async (t) => {
  const { batcher, sent } = recording();
  await batcher.subscribe('a');
  await batcher.subscribe('b');
  t.deepEqual(sent, ['subscribe a', 'subscribe b']);
});

test('a failed command rejects every caller whose channel it carried, and only those', async (t) => {
  const { batcher } = recording((op) => op === 'subscribe');
  const results = await Promise.allSettled([batcher.subscribe('a'), batcher.subscribe('b'), batcher.unsubscribe('c')]);
  t.deepEqual(
    results.map((r) => r.status),
    ['rejected', 'rejected', 'fulfilled'],
  );
});
