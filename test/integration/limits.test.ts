import test from 'ava';
import { randomUUID } from 'node:crypto';
import { get as httpGet, type IncomingMessage } from 'node:http';
import { scrape, series } from '../support/metrics.js';
import { startService, type ServiceProcess } from '../support/service.js';
import { ping, StreamClient } from '../support/sse.js';
import { errorOf } from '../support/error-answer.js';

let service: ServiceProcess;
let perUser: ServiceProcess;
let twoWorkers: ServiceProcess;
let perUserTwoWorkers: ServiceProcess;

test.before(async () => {
  service = await startService({ REDIS: 'memory', MAX_CONNECTIONS: '3', MAX_USERS_PER_STREAM: '4' });
  perUser = await startService({ REDIS: 'memory', MAX_STREAMS_PER_USER: '2' });
  twoWorkers = await startService({ REDIS: 'memory', MAX_CONNECTIONS: '5', WORKERS: '2' });
  perUserTwoWorkers = await startService({ REDIS: 'memory', MAX_STREAMS_PER_USER: '2', WORKERS: '2' });
});

test.after.always(async () => {
  await Promise.all([service?.stop(), perUser?.stop(), twoWorkers?.stop(), perUserTwoWorkers?.stop()]);
});

test.serial('beyond MAX_CONNECTIONS new streams get 503 with Retry-After; open ones are untouched', async (t) => {
  const user = `full-${randomUUID()}`;
  const open = Array.from({ length: 3 }, () => new StreamClient(`${service.url}/subscribe/${user}`));
  await Promise.all(open.map((s) => s.opened));
  const refused = await fetch(`${service.url}/subscribe/${user}`);
  t.is(refused.status, 503);
  t.truthy(refused.headers.get('retry-after'));
  t.regex(await refused.text(), /too many/);
  // The operator sees the refusal by its code.
  const refusals = series('heartbeat_streams_refused_total', { code: '503', reason: 'TOO_MANY_CONNECTIONS', worker: '0' });
  t.is((await scrape(service.adminUrl!)).get(refusals), 1);
  await ping(service.url, user, 'still here');
  await Promise.all(open.map((s) => s.count(1)));
  t.deepEqual(
    open.map((s) => s.statuses()),
    [['still here'], ['still here'], ['still here']],
  );
  open[0].close();
  // The freed slot is usable again once the server saw the close.
  await t.notThrowsAsync(async () => {
    // Until the server saw the close: a bound for a busy box, not a sleep.
    for (const deadline = Date.now() + 30_000; Date.now() < deadline;) {
      const res = await fetch(`${service.url}/subscribe/${user}`);
      if (res.status === 200) return void (await res.body!.cancel());
      await res.text();
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error('no slot freed');
  });
  for (const s of open) s.close();
});

test.serial('with WORKERS=2, MAX_CONNECTIONS bounds the whole process, however the kernel spreads the streams', async (t) => {
  // Five streams: one worker always gets at least three, more than half of MAX_CONNECTIONS.
  const user = `spread-${randomUUID()}`;
  const open = Array.from({ length: 5 }, () => new StreamClient(`${twoWorkers.url}/subscribe/${user}`));
  await Promise.all(open.map((s) => s.opened));
  const refused = await fetch(`${twoWorkers.url}/subscribe/${user}`);
  t.is(refused.status, 503);
  await refused.text();
  const metrics = await scrape(twoWorkers.adminUrl!);
  const perWorker = ['0', '1'].map((worker) => metrics.get(series('heartbeat_streams_open', { worker })) ?? 0);
  t.is(perWorker[0] + perWorker[1], 5);
  t.true(Math.max(...perWorker) >= 3, `streams per worker ${perWorker.join(', ')}`);
  for (const s of open) s.close();
});

test.serial('MAX_USERS_PER_STREAM bounds /subscribe and /lastseen; duplicates do not count', async (t) => {
  const users = ['a', 'b', 'c', 'd', 'e'];
  const tooMany = users.map((u) => `user=${u}`).join('&');
  t.is((await fetch(`${service.url}/subscribe?${tooMany}`)).status, 400);
  t.is((await fetch(`${service.url}/lastseen?${tooMany}`)).status, 400);
  const withDuplicates = 'user=a&user=b&user=a&user=c&user=d&user=d';
  t.is((await fetch(`${service.url}/lastseen?${withDuplicates}`)).status, 200);
  t.is((await fetch(`${service.url}/subscribe`)).status, 400);
  t.is((await fetch(`${service.url}/lastseen`)).status, 400);
});

test.serial(
  'beyond MAX_STREAMS_PER_USER a claimed subscriber gets 429 TOO_MANY_STREAMS with Retry-After; its open streams, other users and unclaimed streams are untouched',
  async (t) => {
    const watched = `watched-${randomUUID()}`;
    const claim = (userid: string) => ({ 'X-User-Claim': JSON.stringify({ userid, clientid: 'web' }) });
    const alice = `alice-${randomUUID()}`;
    const open = [0, 1].map(() => new StreamClient(`${perUser.url}/subscribe/${watched}`, claim(alice)));
    await Promise.all(open.map((s) => s.ready));
    const refused = await fetch(`${perUser.url}/subscribe?user=${watched}`, { headers: claim(alice) });
    t.is(refused.status, 429);
    t.truthy(refused.headers.get('retry-after'));
    t.like(await errorOf(refused), { status: 429, code: 'TOO_MANY_STREAMS' });
    // Another user, and a request without a claim (local development), are not counted against alice.
    const bob = new StreamClient(`${perUser.url}/subscribe/${watched}`, claim(`bob-${randomUUID()}`));
    const unclaimed = [0, 1, 2].map(() => new StreamClient(`${perUser.url}/subscribe/${watched}`));
    await Promise.all([bob.ready, ...unclaimed.map((s) => s.ready)]);
    t.is((await ping(perUser.url, watched, 'everyone')).status, 200);
    await Promise.all([...open, bob, ...unclaimed].map((s) => s.count(1)));
    for (const s of [...open, bob, ...unclaimed]) t.deepEqual(s.statuses(), ['everyone']);
    const metrics = await scrape(perUser.adminUrl!);
    t.is(metrics.get(series('heartbeat_streams_refused_total', { code: '429', reason: 'TOO_MANY_STREAMS', worker: '0' })), 1);
    // Closing one of alice's streams frees her a slot once the server saw the close.
    open[0].close();
    await t.notThrowsAsync(async () => {
      // Until the server saw the close: a bound for a busy box, not a sleep.
      for (const deadline = Date.now() + 30_000; Date.now() < deadline;) {
        const res = await fetch(`${perUser.url}/subscribe/${watched}`, { headers: claim(alice) });
        if (res.status === 200) return void (await res.body!.cancel());
        await res.text();
        await new Promise((r) => setTimeout(r, 20));
      }
      throw new Error('no slot freed');
    });
    for (const s of [...open, bob, ...unclaimed]) s.close();
  },
);

/**
 * GET on a connection of its own (no keep-alive pool), so that the kernel picks a worker for every
 * request: the status and code, and the response kept open while it streams.
 */
function getOnNewConnection(
  url: string,
  headers: Record<string, string>,
): Promise<{ status: number; code?: string; res: IncomingMessage }> {
  return new Promise((resolve, reject) => {
    const req = httpGet(url, { headers, agent: false }, (res) => {
      if (res.statusCode === 200) return resolve({ status: 200, res });
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, code: (JSON.parse(body) as { code: string }).code, res }));
    });
    req.on('error', reject);
  });
}

test.serial('with WORKERS=2, MAX_STREAMS_PER_USER bounds the whole process, whichever worker each stream lands on', async (t) => {
  const service = perUserTwoWorkers;
  const url = `${service.url}/subscribe/watched-${randomUUID()}`;
  const headers = { 'X-User-Claim': JSON.stringify({ userid: `dana-${randomUUID()}`, clientid: 'web' }) };
  const open: IncomingMessage[] = [];
  const refused: string[] = [];
  /** Streams and refusals each worker has (the kernel picks the worker by the connection's hash). */
  const perWorker = async () => {
    const metrics = await scrape(service.adminUrl!);
    return ['0', '1'].map(
      (worker) =>
        (metrics.get(series('heartbeat_streams_open', { worker })) ?? 0) +
        (metrics.get(series('heartbeat_streams_refused_total', { code: '429', reason: 'TOO_MANY_STREAMS', worker })) ?? 0),
    );
  };
  // Until both workers were asked (each request is a new connection, spread by the kernel).
  for (let attempt = 0; attempt < 6 || (await perWorker()).some((n) => n === 0); attempt++) {
    if (attempt >= 60) throw new Error(`the requests never reached both workers: ${(await perWorker()).join(', ')}`);
    const answer = await getOnNewConnection(url, headers);
    if (answer.status === 200) open.push(answer.res);
    else refused.push(`${answer.status} ${answer.code}`);
  }
  t.is(open.length, 2, 'two streams open, on whichever workers');
  t.true(
    refused.every((c) => c === '429 TOO_MANY_STREAMS'),
    refused.join(', '),
  );
  const [w0, w1] = await perWorker();
  t.true(w0 > 0 && w1 > 0, `asked on both workers: ${w0} + ${w1}`);
  // A stream that closes gives its place back, to whichever worker the next one lands on.
  open.pop()!.destroy();
  await t.notThrowsAsync(async () => {
    // Until the server saw the close: a bound for a busy box, not a sleep.
    for (const deadline = Date.now() + 30_000; Date.now() < deadline;) {
      const answer = await getOnNewConnection(url, headers);
      if (answer.status === 200) return void open.push(answer.res);
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error('no place freed');
  });
  t.is((await getOnNewConnection(url, headers)).status, 429, 'and the limit holds again');
  for (const res of open) res.destroy();
});
