// The keepalive sweep: one timer for every stream, driven by XState's SimulatedClock.
import test from 'ava';
import { SimulatedClock } from 'xstate';
import { KeepaliveSweep } from '../../src/streams/keepalive-sweep.js';

const INTERVAL = 25_000;
const SLOTS = 10;
const TICK = INTERVAL / SLOTS;
const STEP = 125;

function sweep() {
  const clock = new SimulatedClock();
  const visits: [member: string, at: number][] = [];
  const s = new KeepaliveSweep<string>(INTERVAL, (member) => visits.push([member, clock.now()]), clock, SLOTS);
  return {
    s,
    clock,
    /** Moves time on by `ms` in 125 ms steps, so that every timer fires when it is due. */
    advance: (ms: number) => {
      for (let i = 0; i < ms; i += STEP) clock.increment(Math.min(STEP, ms - i));
    },
    visitsOf: (member: string) => visits.filter(([m]) => m === member).map(([, at]) => at),
  };
}

test('every member is visited exactly once per interval', (t) => {
  const { s, advance, visitsOf } = sweep();
  const members = Array.from({ length: 25 }, (_, i) => `m${i}`);
  s.start();
  for (const m of members) {
    s.add(m);
    advance(INTERVAL / members.length);
  }
  advance(3 * INTERVAL);
  for (const m of members) {
    const at = visitsOf(m);
    t.true(at.length >= 3, `${m} visited ${at.length} times`);
    for (let i = 1; i < at.length; i++) t.is(at[i] - at[i - 1], INTERVAL, `${m} visited at ${at.join(', ')}`);
  }
});

test("a newcomer's first visit comes within one interval of joining", (t) => {
  const { s, clock, advance, visitsOf } = sweep();
  s.start();
  // Join at every offset within a tick, and in every slot of the rotation.
  const joined = new Map<string, number>();
  for (let i = 0; i < 2 * SLOTS * 4; i++) {
    const m = `m${i}`;
    joined.set(m, clock.now());
    s.add(m);
    advance(TICK / 4);
  }
  advance(2 * INTERVAL);
  for (const [m, at] of joined) {
    const first = visitsOf(m)[0];
    t.not(first, undefined, `${m} was never visited`);
    t.true(first - at > 0 && first - at <= INTERVAL, `${m} joined at ${at}, first visit at ${first}`);
  }
});

test('streams that join at the same moment are spread evenly: by default no tick visits more than its 100 ms share', (t) => {
  const clock = new SimulatedClock();
  const perTick = new Map<number, number>();
  const s = new KeepaliveSweep<number>(INTERVAL, () => perTick.set(clock.now(), (perTick.get(clock.now()) ?? 0) + 1), clock);
  const streams = 15_000;
  s.start();
  for (let i = 0; i < streams; i++) s.add(i);
  for (let elapsed = 0; elapsed < INTERVAL; elapsed += 100) clock.increment(100);
  const visits = [...perTick.values()];
  t.is(
    visits.reduce((a, b) => a + b, 0),
    streams,
    'every stream once in the interval',
  );
  t.is(Math.max(...visits), streams / (INTERVAL / 100), 'each tick visits 60 of the 15,000 streams');
});

test('a member added before start is first visited within one interval after start', (t) => {
  const { s, advance, visitsOf } = sweep();
  s.add('early');
  advance(INTERVAL);
  t.deepEqual(visitsOf('early'), [], 'nothing happens before start');
  s.start();
  advance(INTERVAL);
  t.is(visitsOf('early').length, 1);
  t.true(visitsOf('early')[0] > INTERVAL && visitsOf('early')[0] <= 2 * INTERVAL, `visited at ${visitsOf('early').join(',')}`);
});

test('a deleted member is never visited again', (t) => {
  const { s, advance, visitsOf } = sweep();
  s.start();
  s.add('gone');
  s.add('stays');
  advance(INTERVAL);
  t.is(visitsOf('gone').length, 1);
  s.delete('gone');
  advance(3 * INTERVAL);
  t.is(visitsOf('gone').length, 1);
  t.is(visitsOf('stays').length, 4);
});

test('a member deleted before its first visit is never visited', (t) => {
  const { s, advance, visitsOf } = sweep();
  s.start();
  s.add('brief');
  advance(TICK / 2);
  s.delete('brief');
  advance(2 * INTERVAL);
  t.deepEqual(visitsOf('brief'), []);
});

test('a member deleted by the visit of another in the same slot is not visited', (t) => {
  const clock = new SimulatedClock();
  const visited: string[] = [];
  const s = new KeepaliveSweep<string>(
    INTERVAL,
    (m) => {
      visited.push(m);
      if (m === 'first') s.delete('second');
    },
    clock,
    SLOTS,
  );
  s.add('first');
  s.add('second');
  s.start();
  for (let i = 0; i < SLOTS * 2; i++) clock.increment(TICK);
  t.deepEqual(visited, ['first', 'first']);
});

test('stop() stops every visit; start() resumes', (t) => {
  const { s, advance, visitsOf } = sweep();
  s.start();
  s.add('m');
  advance(INTERVAL);
  t.is(visitsOf('m').length, 1);
  s.stop();
  advance(5 * INTERVAL);
  t.is(visitsOf('m').length, 1);
  s.start();
  advance(INTERVAL);
  t.is(visitsOf('m').length, 2);
});

test('start() twice does not double the visits', (t) => {
  const { s, advance, visitsOf } = sweep();
  s.start();
  s.start();
  s.add('m');
  advance(3 * INTERVAL);
  t.is(visitsOf('m').length, 3);
});

test('the sweep lists its members: added once, gone after delete', (t) => {
  const { s } = sweep();
  s.add('a');
  s.add('b');
  s.add('a');
  t.is(s.size, 2);
  t.deepEqual([...s.members()], ['a', 'b']);
  s.delete('a');
  t.is(s.size, 1);
  t.deepEqual([...s.members()], ['b']);
});
