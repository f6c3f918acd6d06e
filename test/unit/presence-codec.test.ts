// What a ping becomes on the wire: the pub/sub message, the Redis key and channel names, and
// the SSE frame a subscriber receives.
import test from 'ava';
import { decodeMessage, encodeMessageTail } from '../../src/store/redis/message.js';
import { KeySpace } from '../../src/store/redis/keys.js';
import { SharedPingFrames } from '../../src/streams/frames.js';
import type { StoredPing } from '../../src/store/types.js';

const awkwardStatuses = [
  '',
  'online',
  'in a meeting until 3',
  'line one\nline two',
  'carriage\rreturn\r\n',
  'say "hi" \\ bye',
  'unicode: é 日本 😀 \u2028\u2029',
  '["x","y"]',
  '1 2 ["a","b"]',
  'data: {"status":"forged"}',
  '\n\nid: 9\ndata: forged\n\n',
  '\u0000\u001f\u007f',
];

const ping = (status: string, extra: Partial<StoredPing> = {}): StoredPing => ({
  time: 1_700_000_000,
  status,
  clientid: 'phone',
  seq: 1_700_000_000_123_456,
  ...extra,
});

/** A message as save-pings.lua publishes it: `<seq> <time> ` and the tail Node encoded. */
const encodeMessage = (p: StoredPing) => `${p.seq} ${p.time} ${encodeMessageTail(p.clientid, p.status)}`;

for (const status of awkwardStatuses) {
  test(`message round trip: ${JSON.stringify(status)}`, (t) => {
    const p = ping(status, { clientid: `c ${status}` });
    t.deepEqual(decodeMessage(encodeMessage(p)), p);
  });
}

const malformed = [
  '',
  'garbage',
  '1 2',
  '1 2 ',
  '1 2 not json',
  '1 2 {"clientid":"a","status":"b"}',
  '1 2 ["a"]',
  '1 2 [1,"b"]',
  '1 2 ["a",2]',
  'x 2 ["a","b"]',
  '1 y ["a","b"]',
  '1.5 2 ["a","b"]',
  '99999999999999999999 2 ["a","b"]',
];

for (const message of malformed) {
  test(`a malformed message is null: ${JSON.stringify(message)}`, (t) => {
    t.is(decodeMessage(message), null);
  });
}

const keys = new KeySpace('heartbeat:');

test('keys of different users or clients never collide, whatever the ids contain', (t) => {
  const users = ['a', 'b', 'a}', '{a', '{a}', 'a:client:b', 'a}:client:b', 'a%7D', '', 'a b', 'é', 'a\u0000'];
  const clients = ['', 'b', 'b}', ':client:', 'x:client:y', '%3A'];
  const names = new Map<string, string>();
  const claim = (name: string, owner: string) => {
    t.is(names.get(name) ?? owner, owner, `${name} is both ${names.get(name)} and ${owner}`);
    names.set(name, owner);
  };
  for (const u of users) {
    claim(keys.user(u), `user ${JSON.stringify(u)}`);
    for (const c of clients) claim(keys.client(u, c), `client ${JSON.stringify(u)}/${JSON.stringify(c)}`);
  }
  claim(keys.sequence(), 'the sequence');
  t.is(names.size, users.length * (clients.length + 1) + 1);
});

test("a user's keys and channel share one cluster hash tag", (t) => {
  const tag = (name: string) => /\{([^}]*)\}/.exec(name)?.[1];
  for (const u of ['alice', 'a}b', '{x}', 'a:client:b']) {
    t.is(tag(keys.client(u, 'phone')), tag(keys.user(u)));
    t.is(tag(keys.channel(u)), tag(keys.user(u)));
  }
  t.not(tag(keys.user('a}b')), tag(keys.user('a')));
});

test("a user's own channel shares its hash tag, and parseChannel tells the two channels apart", (t) => {
  const tag = (name: string) => /\{([^}]*)\}/.exec(name)?.[1];
  for (const u of ['alice', 'a}b', '{x}', 'a:own', 'é 😀']) {
    t.is(tag(keys.ownChannel(u)), tag(keys.user(u)));
    t.not(keys.ownChannel(u), keys.channel(u));
    t.deepEqual(keys.parseChannel(keys.channel(u)), { userid: u, own: false });
    t.deepEqual(keys.parseChannel(keys.ownChannel(u)), { userid: u, own: true });
  }
  // A user called `x}:own` cannot pass for the own channel of `x`: ids are percent-encoded.
  t.deepEqual(keys.parseChannel(keys.channel('x}:own')), { userid: 'x}:own', own: false });
  t.is(keys.parseChannel('heartbeat:{alice}:client:own'), null);
});

test('userOfChannel inverts channel()', (t) => {
  for (const u of ['alice', 'a}b', '{x}', 'a:client:b', '100%', 'é 😀', 'a\u0000']) {
    t.is(keys.userOfChannel(keys.channel(u)), u);
  }
});

test('userOfChannel is null for a channel that is not ours', (t) => {
  t.is(keys.userOfChannel('other:{alice}'), null);
  t.is(keys.userOfChannel('heartbeat:alice'), null);
  t.is(keys.userOfChannel('heartbeat:{alice'), null);
  t.is(keys.userOfChannel('heartbeat:seq'), null);
  t.is(keys.userOfChannel(keys.client('alice', 'phone')), null);
  t.is(keys.userOfChannel('heartbeat:{%E0%A4%A}'), null);
});

interface SseEvent {
  id?: string;
  data: string;
}

/** Parses an SSE stream as the EventSource spec does (lines end in \r\n, \n or \r). */
function parseSse(text: string): SseEvent[] {
  const events: SseEvent[] = [];
  let data: string[] = [];
  let id: string | undefined;
  for (const line of text.split(/\r\n|\r|\n/)) {
    if (line === '') {
      if (data.length > 0) events.push(id === undefined ? { data: data.join('\n') } : { id, data: data.join('\n') });
      data = [];
      id = undefined;
      continue;
    }
    if (line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'data') data.push(value);
    else if (field === 'id') id = value;
  }
  return events;
}

const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

for (const status of awkwardStatuses) {
  test(`one ping is exactly one SSE event: ${JSON.stringify(status)}`, (t) => {
    const event = new SharedPingFrames('alice\n\nid: 1', ping(status, { seq: 42 }));
    t.deepEqual(parseSse(decode(event.frame('single', true))), [{ id: '42', data: JSON.stringify({ time: 1_700_000_000, status }) }]);
    t.deepEqual(parseSse(decode(event.frame('multi', false))), [
      { data: JSON.stringify({ userid: 'alice\n\nid: 1', time: 1_700_000_000, status }) },
    ]);
  });
}

test('the frame payload round-trips through JSON', (t) => {
  const status = 'he said "hi"\n😀';
  const event = new SharedPingFrames('bob', ping(status));
  const [single] = parseSse(decode(event.frame('single', false)));
  const [multi] = parseSse(decode(event.frame('multi', false)));
  t.deepEqual(JSON.parse(single.data), { time: 1_700_000_000, status });
  t.deepEqual(JSON.parse(multi.data), { userid: 'bob', time: 1_700_000_000, status });
});

test('id: is present only when asked, and is the seq', (t) => {
  const event = new SharedPingFrames('bob', ping('x', { seq: 7 }));
  t.is(decode(event.frame('single', true)), 'id: 7\ndata: {"time":1700000000,"status":"x"}\n\n');
  t.is(decode(event.frame('single', false)), 'data: {"time":1700000000,"status":"x"}\n\n');
  t.is(decode(event.frame('multi', true)), 'id: 7\ndata: {"userid":"bob","time":1700000000,"status":"x"}\n\n');
  t.is(decode(event.frame('multi', false)), 'data: {"userid":"bob","time":1700000000,"status":"x"}\n\n');
});

test('each frame is serialised once and shared', (t) => {
  const event = new SharedPingFrames('bob', ping('x'));
  for (const format of ['single', 'multi'] as const) {
    for (const withId of [true, false]) t.is(event.frame(format, withId), event.frame(format, withId));
  }
  t.not(event.frame('single', true), event.frame('single', false));
  t.not(event.frame('single', true), event.frame('multi', true));
});
