// The ping machine: each POST /ping is one event; the store is a fake answered by hand, and its
// result answers the request without another event to the actor.
// Every assertion is on the answer the client gets and on what reached the store.
import test from 'ava';
import { createActor } from 'xstate';
import { pingMachine, type PingRequest } from '../../machines/ping.js';
import { Errors } from '../../src/http/errors.js';

type Answer = [status: number, code?: string, retryAfterSeconds?: number];

interface Stored {
  userid: string;
  clientid: string;
  status: string;
  /** The store confirms (the client gets 200) or fails (503). */
  ok(): Promise<void>;
  fail(): Promise<void>;
  /** The store's rate limit refused it (the client gets 429 with Retry-After). */
  limit(retryAfterSeconds: number): Promise<void>;
}

const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

function pingActor() {
  const stored: Stored[] = [];
  const actor = createActor(
    pingMachine.provide({
      actions: {
        // Wired like src/pings/ping-actor.ts: a store call whose result answers the ping.
        storePing: (_, { ping, answer }) => {
          let confirm!: (limited?: number) => void;
          let refuse!: (error: Error) => void;
          new Promise<number | undefined>((resolve, reject) => {
            confirm = resolve;
            refuse = reject;
          }).then(
            (limited) => answer(limited === undefined ? 'stored' : { retryAfterSeconds: limited }),
            () => answer('failed'),
          );
          stored.push({
            userid: ping.userid,
            clientid: ping.clientid,
            status: ping.status,
            ok: () => (confirm(), settle()),
            fail: () => (refuse(new Error('redis away')), settle()),
            limit: (seconds) => (confirm(seconds), settle()),
          });
        },
      },
    }),
  );
  actor.start();
  // every event the actor processes, to show that a ping costs one
  const events: string[] = [];
  actor.system.inspect((e) => {
    if (e.type === '@xstate.event' && e.actorRef === actor) events.push(e.event.type);
  });

  /** Sends one POST /ping and returns the answers it got (so far). */
  function post(request: Partial<Omit<PingRequest, 'answer'>> = {}): Answer[] {
    const answers: Answer[] = [];
    actor.send({
      type: 'ping.received',
      request: {
        claim: JSON.stringify({ userid: 'alice', clientid: 'phone' }),
        body: '{"status":"online"}',
        bodyTooLarge: false,
        fromTrustedPeer: true,
        // What the edge writes: 200, or the code's status from the catalogue (and a 429's wait).
        answer: (code, retryAfterSeconds) =>
          void answers.push(
            code === undefined
              ? [200]
              : retryAfterSeconds === undefined
                ? [Errors[code].status, code]
                : [Errors[code].status, code, retryAfterSeconds],
          ),
        ...request,
      },
    });
    return answers;
  }

  return { actor, stored, post, events, state: () => actor.getSnapshot().value };
}

test('a ping is answered 200 only once the store has it', async (t) => {
  const p = pingActor();
  const answers = p.post();
  t.deepEqual(
    p.stored.map(({ userid, clientid, status }) => ({ userid, clientid, status })),
    [{ userid: 'alice', clientid: 'phone', status: 'online' }],
  );
  t.deepEqual(answers, [], 'nothing is answered while the store works');
  await p.stored[0].ok();
  t.deepEqual(answers, [[200]]);
});

test('a store failure is answered 503 STORE_UNAVAILABLE', async (t) => {
  const p = pingActor();
  const answers = p.post();
  await p.stored[0].fail();
  t.deepEqual(answers, [[503, 'STORE_UNAVAILABLE']]);
  t.is(p.state(), 'accepting', 'the next ping is still tried');
});

test('a ping the store rate-limited is answered 429 RATE_LIMITED with the seconds to wait', async (t) => {
  const p = pingActor();
  const answers = p.post();
  await p.stored[0].limit(3);
  t.deepEqual(answers, [[429, 'RATE_LIMITED', 3]]);
  t.is(p.state(), 'accepting');
});

test('answers go to their own request when the store answers out of order', async (t) => {
  const p = pingActor();
  const first = p.post();
  const second = p.post({ body: '{"status":"away"}' });
  await p.stored[1].ok();
  await p.stored[0].fail();
  t.deepEqual(first, [[503, 'STORE_UNAVAILABLE']]);
  t.deepEqual(second, [[200]]);
});

const claim = (value: unknown) => JSON.stringify(value);

const badClaims: [string, string | undefined, string][] = [
  ['missing', undefined, 'CLAIM_MISSING'],
  ['empty', '', 'CLAIM_MISSING'],
  ['not JSON', '{userid: alice}', 'CLAIM_INVALID_JSON'],
  ['an array', claim(['alice']), 'CLAIM_NOT_OBJECT'],
  ['a string', claim('alice'), 'CLAIM_NOT_OBJECT'],
  ['null', 'null', 'CLAIM_NOT_OBJECT'],
  ['without userid', claim({ clientid: 'phone' }), 'CLAIM_BAD_USERID'],
  ['with an empty userid', claim({ userid: '' }), 'CLAIM_BAD_USERID'],
  ['with a numeric userid', claim({ userid: 42 }), 'CLAIM_BAD_USERID'],
  ['with a 257-byte userid', claim({ userid: 'é'.repeat(128) + 'x' }), 'CLAIM_BAD_USERID'],
  ['with a control character in the userid', claim({ userid: 'al\nice' }), 'CLAIM_BAD_USERID'],
  ['with a C1 control character in the userid', claim({ userid: 'al\u0085ice' }), 'CLAIM_BAD_USERID'],
  ['with a lone surrogate in the userid', '{"userid":"al\\ud800ice"}', 'CLAIM_BAD_USERID'],
  ['with a numeric clientid', claim({ userid: 'alice', clientid: 7 }), 'CLAIM_BAD_CLIENTID'],
  ['with a control character in the clientid', claim({ userid: 'alice', clientid: 'a\tb' }), 'CLAIM_BAD_CLIENTID'],
];

for (const [what, value, code] of badClaims) {
  test(`a claim ${what} is answered 400 ${code} and nothing is stored`, (t) => {
    const p = pingActor();
    t.deepEqual(p.post({ claim: value }), [[400, code]]);
    t.deepEqual(p.stored, []);
  });
}

test('a 256-byte userid is accepted', (t) => {
  const p = pingActor();
  p.post({ claim: claim({ userid: 'é'.repeat(128) }) });
  t.is(p.stored[0].userid, 'é'.repeat(128));
});

test('a claim without clientid stores the empty clientid', (t) => {
  const p = pingActor();
  p.post({ claim: claim({ userid: 'alice' }) });
  t.is(p.stored[0].clientid, '');
});

const goodBodies: [string, string, string][] = [
  ['an empty body', '', ''],
  ['a blank body', ' \r\n', ''],
  ['an object without status', '{}', ''],
  ['a numeric status', '{"status":42}', '42'],
  ['a fractional status', '{"status":-1.5}', '-1.5'],
  ['a status with spaces, quotes and newlines', claim({ status: 'in a "call"\nback soon' }), 'in a "call"\nback soon'],
  ['a 256-character status', claim({ status: 'x'.repeat(256) }), 'x'.repeat(256)],
  ['256 astral characters (512 UTF-16 units)', claim({ status: '😀'.repeat(256) }), '😀'.repeat(256)],
];

for (const [what, body, status] of goodBodies) {
  test(`${what} is stored as status ${JSON.stringify(status.slice(0, 20))}`, async (t) => {
    const p = pingActor();
    const answers = p.post({ body });
    t.is(p.stored[0]?.status, status);
    await p.stored[0].ok();
    t.deepEqual(answers, [[200]]);
  });
}

const badBodies: [string, string | null, string][] = [
  ['an object status', '{"status":{"text":"x"}}', 'BODY_BAD_STATUS'],
  ['an array status', '{"status":["x"]}', 'BODY_BAD_STATUS'],
  ['a boolean status', '{"status":true}', 'BODY_BAD_STATUS'],
  ['invalid JSON', '{"status":', 'BODY_INVALID_JSON'],
  ['a body that is not UTF-8', null, 'BODY_INVALID_JSON'],
  ['a JSON array body', '["online"]', 'BODY_NOT_OBJECT'],
  ['a JSON string body', '"online"', 'BODY_NOT_OBJECT'],
  ['a 257-character status', claim({ status: 'x'.repeat(257) }), 'STATUS_TOO_LONG'],
  ['257 astral characters', claim({ status: '😀'.repeat(257) }), 'STATUS_TOO_LONG'],
];

for (const [what, body, code] of badBodies) {
  test(`${what} is answered 400 ${code} and nothing is stored`, (t) => {
    const p = pingActor();
    t.deepEqual(p.post({ body }), [[400, code]]);
    t.deepEqual(p.stored, []);
  });
}

test('a body past the limit is answered 413 and nothing is stored', (t) => {
  const p = pingActor();
  t.deepEqual(p.post({ body: '', bodyTooLarge: true }), [[413, 'BODY_TOO_LARGE']]);
  t.deepEqual(p.stored, []);
});

test('a claim from an untrusted peer is answered 403 and nothing is stored', (t) => {
  const p = pingActor();
  t.deepEqual(p.post({ fromTrustedPeer: false }), [[403, 'CLAIM_UNTRUSTED']]);
  t.deepEqual(p.stored, []);
});

test('__proto__ in claim or body neither pollutes nor crashes', async (t) => {
  const p = pingActor();
  t.deepEqual(p.post({ claim: '{"__proto__":{"userid":"mallory"}}' }), [[400, 'CLAIM_BAD_USERID']]);
  const answers = p.post({
    claim: '{"userid":"alice","__proto__":{"clientid":"x","status":"evil"}}',
    body: '{"__proto__":{"status":"evil"}}',
  });
  t.deepEqual(
    p.stored.map(({ userid, clientid, status }) => ({ userid, clientid, status })),
    [{ userid: 'alice', clientid: '', status: '' }],
  );
  await p.stored[0].ok();
  t.deepEqual(answers, [[200]]);
  t.is(({} as Record<string, unknown>).status, undefined);
  t.is(({} as Record<string, unknown>).userid, undefined);
});

test('degraded: valid pings are answered 503 at once without storing, bad input still 400', (t) => {
  const p = pingActor();
  p.actor.send({ type: 'store.down' });
  t.deepEqual(p.post(), [[503, 'STORE_UNAVAILABLE']]);
  t.deepEqual(p.post({ claim: undefined }), [[400, 'CLAIM_MISSING']]);
  t.deepEqual(p.post({ bodyTooLarge: true }), [[413, 'BODY_TOO_LARGE']]);
  t.deepEqual(p.post({ fromTrustedPeer: false }), [[403, 'CLAIM_UNTRUSTED']]);
  t.deepEqual(p.stored, []);
});

test('store.up accepts pings again', async (t) => {
  const p = pingActor();
  p.actor.send({ type: 'store.down' });
  p.actor.send({ type: 'store.up' });
  const answers = p.post();
  t.is(p.stored.length, 1);
  await p.stored[0].ok();
  t.deepEqual(answers, [[200]]);
});

test('a ping stored before the store went down is still answered 200', async (t) => {
  const p = pingActor();
  const answers = p.post();
  p.actor.send({ type: 'store.down' });
  await p.stored[0].ok();
  t.deepEqual(answers, [[200]]);
});

test('a stored ping costs the actor one event, its answer none', async (t) => {
  const p = pingActor();
  const answers = [p.post(), p.post(), p.post()];
  await p.stored[0].ok();
  await p.stored[1].fail();
  await p.stored[2].limit(3);
  t.deepEqual(answers, [[[200]], [[503, 'STORE_UNAVAILABLE']], [[429, 'RATE_LIMITED', 3]]]);
  t.deepEqual(p.events, ['ping.received', 'ping.received', 'ping.received']);
});

test.serial('shutdown drains: in-flight pings are answered, new ones get 503 SHUTTING_DOWN', async (t) => {
  const p = pingActor();
  const inFlight = p.post();
  p.actor.send({ type: 'shutdown' });
  t.is(p.state(), 'draining');

  t.deepEqual(p.post(), [[503, 'SHUTTING_DOWN']]);
  t.deepEqual(p.post({ claim: undefined }), [[400, 'CLAIM_MISSING']], 'bad input is still told why');
  t.is(p.stored.length, 1, 'nothing new is stored');

  await p.stored[0].ok();
  t.deepEqual(inFlight, [[200]]);
  t.is(p.state(), 'drained');
  t.deepEqual(p.post(), [[503, 'SHUTTING_DOWN']]);
});

test.serial('draining waits for every ping in flight, answered in any order', async (t) => {
  const p = pingActor();
  const answers = [p.post(), p.post(), p.post()];
  p.actor.send({ type: 'shutdown' });
  await p.stored[2].ok();
  await p.stored[0].fail();
  t.is(p.state(), 'draining', 'one ping is still in flight');
  await p.stored[1].limit(1);
  t.deepEqual(answers, [[[503, 'STORE_UNAVAILABLE']], [[429, 'RATE_LIMITED', 1]], [[200]]]);
  t.is(p.state(), 'drained');
});

test.serial('shutdown with nothing in flight is drained at once', (t) => {
  const p = pingActor();
  p.actor.send({ type: 'shutdown' });
  t.is(p.state(), 'drained');
});

test.serial('shutdown while degraded waits for the pings stored before', async (t) => {
  const p = pingActor();
  const inFlight = p.post();
  p.actor.send({ type: 'store.down' });
  p.actor.send({ type: 'shutdown' });
  t.is(p.state(), 'draining');
  await p.stored[0].fail();
  t.deepEqual(inFlight, [[503, 'STORE_UNAVAILABLE']]);
  t.is(p.state(), 'drained');
});
