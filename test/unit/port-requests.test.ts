// Id-keyed requests to another thread (the store relay, the worker pool's samples): each answer
// settles the request whose id it carries, and a request left unanswered ends in a timeout.
import test from 'ava';
import { MessageChannel } from 'node:worker_threads';
import { PortRequests } from '../../src/store/port-requests.js';

/** The other thread: once it has `count` requests, answers each (its value doubled), last first. */
function echo(count: number) {
  const { port1, port2 } = new MessageChannel();
  const received: { id: number; value: number }[] = [];
  port2.on('message', (message: { id: number; value: number }) => {
    if (received.push(message) < count) return;
    for (const { id, value } of received.reverse()) port2.postMessage({ id, value: value * 2 });
  });
  return { port: port1, close: () => port1.close() };
}

test('each answer settles the request of its id, whatever the order', async (t) => {
  const { port, close } = echo(3);
  t.teardown(close);
  const requests = new PortRequests<number>();
  port.on('message', ({ id, value }: { id: number; value: number }) => requests.answer(id, value));
  const answers = [1, 2, 3].map((value) => requests.send((id) => port.postMessage({ id, value })));
  t.deepEqual(await Promise.all(answers), [2, 4, 6]);
});

test('a failure rejects its request only; failAll rejects the rest', async (t) => {
  const requests = new PortRequests<string>();
  const ids: number[] = [];
  const [a, b, c] = [0, 1, 2].map(() => requests.send((id) => ids.push(id)));
  requests.fail(ids[1], new Error('no such user'));
  await t.throwsAsync(b, { message: 'no such user' });
  requests.answer(ids[0], 'first');
  t.is(await a, 'first');
  requests.failAll(new Error('the other end closed'));
  await t.throwsAsync(c, { message: 'the other end closed' });
});

test('a request unanswered within timeoutMs rejects with a timeout; a late answer is ignored', async (t) => {
  const requests = new PortRequests<string>(20);
  let sent = 0;
  const answer = requests.send((id) => (sent = id));
  await t.throwsAsync(answer, { name: 'RequestTimeoutError', message: 'no answer within 20 ms' });
  t.notThrows(() => requests.answer(sent, 'too late'));
});
