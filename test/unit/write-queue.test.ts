// The write queue: stream writes of one task are held and sent together, in order, once.
import test from 'ava';
import { WriteQueue, type WriteTarget } from '../../src/streams/write-queue.js';

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (chunk: Uint8Array) => new TextDecoder().decode(chunk);

/** A queue whose end-of-task is run by hand, and the order in which targets were written. */
function queueByHand() {
  const scheduled: (() => void)[] = [];
  const queue = new WriteQueue((flush) => scheduled.push(flush));
  const sent: string[] = [];
  const target = (name: string, onWrite?: () => void): WriteTarget => ({
    writeNow: (chunk) => {
      sent.push(`${name}:${text(chunk)}`);
      onWrite?.();
    },
  });
  return { queue, scheduled, sent, target };
}

test('nothing is sent until the task ends; then one write per target, its frames joined in order', (t) => {
  const { queue, scheduled, sent, target } = queueByHand();
  const a = target('a');
  const b = target('b');
  queue.push(a, bytes('1'));
  queue.push(b, bytes('2'));
  queue.push(a, bytes('3'));
  t.deepEqual(sent, []);
  t.is(queue.size, 2, 'one entry per target');
  t.is(scheduled.length, 1, 'one flush per task, however many writes');

  scheduled[0]();
  t.deepEqual(sent, ['a:13', 'b:2']);
  t.is(queue.size, 0);
});

test('a write made while flushing goes out in the same flush, after the others', (t) => {
  const { queue, scheduled, sent, target } = queueByHand();
  const b = target('b');
  const a = target('a', () => {
    if (sent.length === 1) queue.push(b, bytes('reaction'));
  });
  queue.push(a, bytes('1'));
  queue.push(b, bytes('2'));
  scheduled[0]();
  t.deepEqual(sent, ['a:1', 'b:2reaction'], "joined to b's entry, which was not sent yet");
  t.is(scheduled.length, 1, 'no second flush was scheduled for it');
});

test('after a flush, the next write schedules the next flush', (t) => {
  const { queue, scheduled, sent, target } = queueByHand();
  const a = target('a');
  queue.push(a, bytes('1'));
  scheduled[0]();
  queue.push(a, bytes('2'));
  t.is(scheduled.length, 2);
  scheduled[1]();
  t.deepEqual(sent, ['a:1', 'a:2']);
});

test('flushing early (a stream ending) sends what is queued; the scheduled flush then has nothing', (t) => {
  const { queue, scheduled, sent, target } = queueByHand();
  const a = target('a');
  queue.push(a, bytes('1'));
  queue.flush();
  t.deepEqual(sent, ['a:1']);
  scheduled[0]();
  t.deepEqual(sent, ['a:1']);
});

test('a target that throws does not stop the others, and the queue keeps working', (t) => {
  const { queue, scheduled, sent, target } = queueByHand();
  const broken: WriteTarget = {
    writeNow: () => {
      throw new Error('broken target');
    },
  };
  const a = target('a');
  queue.push(a, bytes('1'));
  queue.push(broken, bytes('2'));
  queue.push(a, bytes('3'));
  t.throws(() => scheduled[0](), { message: 'broken target' }, 'the error surfaces once the queue is flushed');
  t.deepEqual(sent, ['a:13']);
  t.is(queue.size, 0);

  queue.push(a, bytes('4'));
  t.is(scheduled.length, 2, 'the next write schedules a flush again');
  scheduled[1]();
  t.deepEqual(sent, ['a:13', 'a:4']);
});

test('by default the flush runs at the end of the current task (a microtask)', async (t) => {
  const queue = new WriteQueue();
  const sent: string[] = [];
  queue.push({ writeNow: (chunk) => sent.push(text(chunk)) }, bytes('1'));
  t.deepEqual(sent, []);
  await Promise.resolve();
  t.deepEqual(sent, ['1']);
});

test('a write queued for a target while the flush is past it goes out after it, in the same flush', (t) => {
  const { queue, scheduled, sent, target } = queueByHand();
  const a = target('a');
  const b = target('b', () => queue.push(a, bytes('late')));
  queue.push(a, bytes('1'));
  queue.push(b, bytes('2'));
  queue.push(a, bytes('3'));
  scheduled[0]();
  t.deepEqual(sent, ['a:13', 'b:2', 'a:late']);
});
