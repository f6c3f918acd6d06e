import test from 'ava';
import { randomUUID } from 'node:crypto';
import { startService, type ServiceProcess } from '../support/service.js';
import { ping } from '../support/sse.js';

/**
 * CORS_ORIGINS over plain HTTP: which answers carry CORS headers, for which Origin. (The browser
 * itself, honouring them or not, is in test/browser/cors.test.ts.)
 */
const ALLOWED = 'http://app.example.test:3000';
let listed: ServiceProcess;
let any: ServiceProcess;
let none: ServiceProcess;

test.before(async () => {
  [listed, any, none] = await Promise.all([
    startService({ REDIS: 'memory', CORS_ORIGINS: `https://other.example.test,${ALLOWED}` }),
    startService({ REDIS: 'memory', CORS_ORIGINS: '*' }),
    startService({ REDIS: 'memory' }),
  ]);
});

test.after.always(async () => {
  await Promise.all([listed, any, none].map((s) => s?.stop()));
});

const CORS_HEADERS = [
  'access-control-allow-origin',
  'access-control-allow-credentials',
  'access-control-allow-methods',
  'access-control-allow-headers',
  'vary',
];

function corsOf(res: Response): Record<string, string> {
  return Object.fromEntries(CORS_HEADERS.flatMap((h) => (res.headers.has(h) ? [[h, res.headers.get(h)!]] : [])));
}

const user = () => `cors-${randomUUID()}`;

async function get(service: ServiceProcess, path: string, headers: Record<string, string> = {}): Promise<Response> {
  const controller = new AbortController();
  const res = await fetch(`${service.url}${path}`, { headers, signal: controller.signal });
  // A stream's head is all we need; do not wait for its end.
  controller.abort();
  return res;
}

test('an allowed Origin gets itself back, with credentials and Vary: Origin, on reads, streams and pings', async (t) => {
  const u = user();
  const expected = { 'access-control-allow-origin': ALLOWED, 'access-control-allow-credentials': 'true', vary: 'Origin' };
  const pinged = await ping(listed.url, u, 'online', 'web', { Origin: ALLOWED });
  t.is(pinged.status, 200);
  t.deepEqual(corsOf(pinged), expected);
  for (const path of [`/lastseen/${u}`, `/lastseen?user=${u}`, `/subscribe/${u}`, `/subscribe?user=${u}`, `/subscribe/${u}/client/web`]) {
    const res = await get(listed, path, { Origin: ALLOWED });
    t.is(res.status, 200, path);
    t.deepEqual(corsOf(res), expected, path);
  }
  // Errors too, so a web app can read why it was refused.
  const refused = await fetch(`${listed.url}/ping`, { method: 'POST', headers: { Origin: ALLOWED }, body: '{}' });
  t.is(refused.status, 400);
  t.deepEqual(corsOf(refused), expected);
  t.is((await get(listed, `/lastseen/${user()}`, { Origin: ALLOWED })).headers.get('access-control-allow-origin'), ALLOWED);
  const wrongMethod = await fetch(`${listed.url}/ping`, { method: 'PUT', headers: { Origin: ALLOWED } });
  t.is(wrongMethod.status, 405);
  t.is(wrongMethod.headers.get('access-control-allow-origin'), ALLOWED);
});

test('a disallowed, missing or "null" Origin gets no CORS headers at all', async (t) => {
  const u = user();
  for (const origin of ['http://evil.example.test', 'http://app.example.test', 'http://app.example.test:3001', 'null', undefined]) {
    const headers: Record<string, string> = origin ? { Origin: origin } : {};
    t.deepEqual(corsOf(await ping(listed.url, u, 'x', 'web', headers)), {}, origin);
    t.deepEqual(corsOf(await get(listed, `/lastseen/${u}`, headers)), {}, origin);
    t.deepEqual(corsOf(await get(listed, `/subscribe/${u}`, headers)), {}, origin);
    t.deepEqual(
      corsOf(await fetch(`${listed.url}/ping`, { method: 'OPTIONS', headers: { ...headers, 'Access-Control-Request-Method': 'POST' } })),
      {},
      origin,
    );
  }
});

test('a preflight from an allowed Origin names the methods and request headers, never X-User-Claim; OPTIONS keeps its Allow', async (t) => {
  const preflight = await fetch(`${listed.url}/ping`, {
    method: 'OPTIONS',
    headers: {
      Origin: ALLOWED,
      'Access-Control-Request-Method': 'POST',
      'Access-Control-Request-Headers': 'authorization,content-type,x-user-claim',
    },
  });
  t.is(preflight.status, 204);
  t.is(preflight.headers.get('allow'), 'POST, DELETE, OPTIONS');
  t.is(preflight.headers.get('access-control-allow-origin'), ALLOWED);
  t.is(preflight.headers.get('access-control-allow-credentials'), 'true');
  t.is(preflight.headers.get('access-control-allow-methods'), 'POST, DELETE');
  t.is(preflight.headers.get('access-control-allow-headers'), 'Authorization, Content-Type, Last-Event-ID');
  t.is(preflight.headers.get('vary'), 'Origin');
  t.regex(preflight.headers.get('access-control-max-age') ?? '', /^\d+$/);
  const stream = await fetch(`${listed.url}/subscribe/${user()}`, {
    method: 'OPTIONS',
    headers: { Origin: ALLOWED, 'Access-Control-Request-Method': 'GET' },
  });
  t.is(stream.headers.get('access-control-allow-methods'), 'GET');
  t.is(stream.headers.get('allow'), 'GET, OPTIONS');
});

test('CORS_ORIGINS=* names back any origin (never a literal *), still with credentials', async (t) => {
  for (const origin of ['http://a.example.test', 'https://b.example.test:8443']) {
    const res = await get(any, `/lastseen/${user()}`, { Origin: origin });
    t.deepEqual(corsOf(res), { 'access-control-allow-origin': origin, 'access-control-allow-credentials': 'true', vary: 'Origin' });
  }
  t.deepEqual(corsOf(await get(any, `/lastseen/${user()}`)), {});
});

test('without CORS_ORIGINS no answer carries CORS headers, and OPTIONS answers 204 with Allow as before', async (t) => {
  t.deepEqual(corsOf(await ping(none.url, user(), 'x', 'web', { Origin: ALLOWED })), {});
  t.deepEqual(corsOf(await get(none, `/subscribe/${user()}`, { Origin: ALLOWED })), {});
  const options = await fetch(`${none.url}/ping`, {
    method: 'OPTIONS',
    headers: { Origin: ALLOWED, 'Access-Control-Request-Method': 'POST' },
  });
  t.is(options.status, 204);
  t.is(options.headers.get('allow'), 'POST, DELETE, OPTIONS');
  t.deepEqual(corsOf(options), {});
});
