import test from 'ava';
import { startService, type ServiceProcess } from '../support/service.js';
import { request, send } from '../support/raw-http.js';

/**
 * What uWebSockets.js hands over loosely, the edge checks itself: Content-Length values uWS would
 * read as 0, a second X-User-Claim, claims in raw UTF-8, raw non-UTF-8 bytes in a path.
 */
let service: ServiceProcess;

test.before(async () => {
  service = await startService({ REDIS: 'memory' });
});

test.after.always(async () => {
  await service?.stop();
});

const claim = (userid: string) => JSON.stringify({ userid, clientid: 'c' });

async function lastSeen(user: string): Promise<number> {
  return (await fetch(`${service.url}/lastseen/${encodeURIComponent(user)}`)).status;
}

for (const value of ['', ' ', '\t', '\xa0', '\xff', '12abc', '-1']) {
  test(`Content-Length bytes [${Buffer.from(value, 'latin1').toString('hex')}] are a 400 that closes the connection and stores nothing`, async (t) => {
    const user = `cl-${Buffer.from(value, 'latin1').toString('hex')}`;
    const body = '{"status":"q"}';
    const result = await send(
      { port: service.port, lingerMs: 300 },
      request(
        'POST',
        '/ping',
        [
          ['X-User-Claim', claim(user)],
          ['Content-Length', value],
        ],
        body,
      ),
    );
    if (result.kind === 'response') {
      t.is(result.status, 400);
      t.true(result.closedAfter);
    } else {
      t.is(result.kind, 'closed', 'or uWS refused the head outright');
    }
    t.is(await lastSeen(user), 404);
  });
}

test('two X-User-Claim headers are a 400 and store nothing', async (t) => {
  const result = await send(
    { port: service.port },
    request(
      'POST',
      '/ping',
      [
        ['X-User-Claim', claim('first')],
        ['X-User-Claim', claim('second')],
        ['Content-Length', '2'],
      ],
      '{}',
    ),
  );
  t.is(result.kind === 'response' ? result.status : result.kind, 400);
  t.is(await lastSeen('first'), 404);
  t.is(await lastSeen('second'), 404);
});

test('a claim in raw UTF-8 names the user its UTF-8 spells', async (t) => {
  const head = Buffer.from('POST /ping HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nX-User-Claim: ', 'latin1');
  const raw = Buffer.concat([head, Buffer.from(claim('zoë'), 'utf8'), Buffer.from('\r\n\r\n', 'latin1')]);
  const result = await send({ port: service.port }, raw);
  t.is(result.kind === 'response' ? result.status : result.kind, 200);
  t.is(await lastSeen('zoë'), 200);
});

test('a claim that is not UTF-8 is a 400', async (t) => {
  const result = await send(
    { port: service.port },
    request('POST', '/ping', [
      ['X-User-Claim', '{"userid":"\xff\xfe"}'],
      ['Content-Length', '0'],
    ]),
  );
  t.is(result.kind === 'response' ? result.status : result.kind, 400);
});

test('raw non-UTF-8 bytes in a path are a 400, not another user', async (t) => {
  const result = await send({ port: service.port }, request('GET', '/lastseen/\xff'));
  t.is(result.kind === 'response' ? result.status : result.kind, 400);
});

test('a status number too large to be finite is a 400', async (t) => {
  const res = await fetch(`${service.url}/ping`, { method: 'POST', headers: { 'X-User-Claim': claim('huge') }, body: '{"status":1e999}' });
  t.is(res.status, 400);
  t.is(await lastSeen('huge'), 404);
});
