import test from 'ava';
import { randomUUID } from 'node:crypto';
import { startStore, type StoreName, type TestStore } from '../support/stores.js';
import { startService, type ServiceProcess } from '../support/service.js';
import { ContactsBackend } from '../support/contacts-backend.js';
import { errorOf } from '../support/error-answer.js';
import { ping, StreamClient } from '../support/sse.js';
import { scrape } from '../support/metrics.js';

/** One deployment the suite runs over: its store, and the WORKERS of each instance (two instances need a shared store). */
export interface WatchSetup {
  readonly store: StoreName;
  readonly workers: readonly number[];
}

/** Short enough that revocation is seen within a test; the policy's rules are the same at 60. */
const CONTACTS_TTL = 2;
const CONTACTS_TIMEOUT = 1.5;

/**
 * WATCH_POLICY=contacts end to end, one suite over every setup (the api suite's pattern): real
 * service processes, the stand-in of backend-core over HTTP, the `eventsource` client. Serial:
 * the tests share the stand-in, and some make it fail or hang.
 */
export function watchSuite({ store: storeName, workers }: WatchSetup): void {
  let store: TestStore;
  let backend: ContactsBackend;
  let instances: ServiceProcess[] = [];
  const clients: StreamClient[] = [];
  const user = () => `user-${randomUUID()}`;
  const claim = (userid: string) => ({ 'X-User-Claim': JSON.stringify({ userid, clientid: 'phone' }) });
  /** The instance each request goes to, in turn: a watcher's requests land on every instance. */
  let turn = 0;
  const next = () => instances[turn++ % instances.length].url;
  const get = (path: string, watcher?: string) => fetch(`${next()}${path}`, { headers: watcher ? claim(watcher) : {} });
  const stream = (path: string, watcher: string, url = next()) => {
    const client = new StreamClient(`${url}${path}`, claim(watcher));
    clients.push(client);
    return client;
  };

  /** Opens a stream with fetch; `ended` resolves with everything it sent once the server ends it. */
  const rawStream = async (path: string, watcher: string) => {
    const controller = new AbortController();
    const res = await fetch(`${next()}${path}`, { headers: claim(watcher), signal: controller.signal });
    const ended = res.text();
    ended.catch(() => {});
    aborts.push(controller);
    return { status: res.status, ended };
  };
  const aborts: AbortController[] = [];

  test.before(async () => {
    store = await startStore(storeName);
    backend = await ContactsBackend.start();
    const env = {
      REDIS: store.redis,
      WATCH_POLICY: 'contacts',
      CONTACTS_URL: backend.url,
      CONTACTS_TTL: String(CONTACTS_TTL),
      CONTACTS_TIMEOUT: String(CONTACTS_TIMEOUT),
    };
    instances = await Promise.all(workers.map((n) => startService({ ...env, WORKERS: String(n) })));
  });

  test.after.always(async () => {
    for (const c of clients) c.close();
    for (const a of aborts) a.abort();
    await Promise.all(instances.map((i) => i.stop()));
    await backend?.stop();
    await store?.close();
  });

  test.serial('without a claim: 401 CLAIM_REQUIRED on every presence route', async (t) => {
    for (const path of [
      `/subscribe/${user()}`,
      `/subscribe/${user()}/client/phone`,
      `/subscribe?user=${user()}`,
      `/lastseen/${user()}`,
      `/lastseen?user=${user()}`,
    ]) {
      const answer = await errorOf(await get(path));
      t.is(answer.code, 'CLAIM_REQUIRED', path);
      t.is(answer.status, 401, path);
    }
  });

  test.serial('a stranger gets 403 NOT_A_CONTACT, the same answer whether or not the user exists', async (t) => {
    const [a, existing] = [user(), user()];
    backend.setContacts(a, []);
    await ping(next(), existing, '0');
    const answers = [];
    for (const target of [existing, user()]) {
      for (const path of [`/subscribe/${target}`, `/subscribe/${target}/client/test`, `/lastseen/${target}`]) {
        const res = await get(path, a);
        answers.push({ status: res.status, body: await res.text() });
      }
    }
    t.true(answers.every((x) => x.status === 403 && (JSON.parse(x.body) as { code: string }).code === 'NOT_A_CONTACT'));
    t.is(new Set(answers.map((x) => x.body)).size, 1);
  });

  test.serial(
    'a watcher sees itself and its contacts: streams, the client route, multi-user streams, /lastseen single and batch',
    async (t) => {
      const [a, b, c] = [user(), user(), user()];
      backend.setContacts(a, [b, c]);
      await ping(next(), b, 'b-first', 'phone');
      await ping(next(), c, 'c-first');
      await ping(next(), a, '3');
      const own = stream(`/subscribe/${a}`, a);
      const single = stream(`/subscribe/${b}`, a);
      const client = stream(`/subscribe/${b}/client/phone`, a);
      const multi = stream(`/subscribe?user=${b}&user=${c}&user=${a}`, a);
      await Promise.all([own.ready, single.ready, client.ready, multi.ready]);
      t.deepEqual(own.statuses(), ['3'], 'its own invisible ping');
      await ping(next(), b, 'b-second', 'phone');
      await single.count(2);
      await client.count(2);
      await multi.until((m) => m.statusesOf(b).length === 2);
      t.deepEqual(single.statuses(), ['b-first', 'b-second']);
      t.deepEqual(client.statuses(), ['b-first', 'b-second']);
      t.deepEqual(multi.statusesOf(c), ['c-first']);
      t.is(((await (await get(`/lastseen/${b}`, a)).json()) as { status: string }).status, 'b-second');
      const batch = (await (await get(`/lastseen?user=${b}&user=${c}&user=${a}`, a)).json()) as Record<string, { status: string }>;
      t.deepEqual([batch[b].status, batch[c].status, batch[a].status], ['b-second', 'c-first', '3']);
    },
  );

  test.serial('a multi-user stream or batch read with one user not allowed is refused whole', async (t) => {
    const [a, b, stranger] = [user(), user(), user()];
    backend.setContacts(a, [b]);
    for (const path of [`/subscribe?user=${b}&user=${stranger}`, `/lastseen?user=${b}&user=${stranger}`]) {
      t.is((await errorOf(await get(path, a))).code, 'NOT_A_CONTACT', path);
    }
    t.is(backend.callsOf(b), 0, 'contacts are one-directional: only the watcher’s list is read');
  });

  test.serial('a contact added a moment ago is allowed at once', async (t) => {
    const [a, b] = [user(), user()];
    backend.setContacts(a, []);
    t.is((await get(`/lastseen/${b}`, a)).status, 403);
    backend.addContact(a, b);
    // A refusal is re-checked at most once a second per watcher (per worker): wait for it to pass.
    const deadline = Date.now() + 5_000;
    let status = 403;
    while (status === 403 && Date.now() < deadline) status = (await get(`/lastseen/${b}`, a)).status;
    t.is(status, 404, 'allowed (never seen)');
  });

  test.serial('a watcher opening 50 streams at once costs one call per worker', async (t) => {
    const a = user();
    const contacts = Array.from({ length: 50 }, user);
    backend.setContacts(a, contacts);
    const url = instances[0].url;
    const streams = contacts.map((c) => stream(`/subscribe/${c}`, a, url));
    await Promise.all(streams.map((s) => s.opened));
    t.true(backend.callsOf(a) <= workers[0], `${backend.callsOf(a)} calls`);
    for (const s of streams) s.close();
  });

  test.serial(
    'backend-core down: 503 CONTACTS_UNAVAILABLE with Retry-After for unknown watchers; cached ones and open streams go on',
    async (t) => {
      const [a, b, newcomer] = [user(), user(), user()];
      backend.setContacts(a, [b]);
      backend.setContacts(newcomer, [b]);
      const open = stream(`/subscribe/${b}`, a);
      await open.ready;
      // Every instance (and worker) caches a's set before the outage.
      for (let i = 0; i < 8; i++) t.is((await get(`/lastseen/${b}`, a)).status, 404);
      const logged = instances.map((i) => i.logs.length);
      await backend.stop();
      try {
        const res = await get(`/lastseen/${b}`, newcomer);
        t.is(res.headers.get('retry-after'), '2');
        t.like(await errorOf(res), { status: 503, code: 'CONTACTS_UNAVAILABLE' });
        t.is((await errorOf(await get(`/subscribe/${b}`, newcomer))).code, 'CONTACTS_UNAVAILABLE');
        t.is((await get(`/lastseen/${b}`, a)).status, 404, 'cached: still allowed');
        await ping(next(), b, 'during-outage');
        await open.until((s) => s.statuses().includes('during-outage'));
        const ready = await fetch(`${instances[0].adminUrl}/readyz`);
        t.is(ready.status, 200, '/readyz is not affected');
        t.pass();
      } finally {
        await backend.resume();
      }
      const logs = instances.flatMap((i, n) => i.logs.slice(logged[n])).filter((l) => l.msg === 'contacts backend failing');
      t.true(logs.length > 0 && logs.every((l) => l.cause === 'refused'), JSON.stringify(logs));
    },
  );

  test.serial(
    'a contact removed: within CONTACTS_TTL its streams end (a multi-user stream whole) and the reconnect is refused 403',
    async (t) => {
      const [a, b, c, d] = [user(), user(), user(), user()];
      backend.setContacts(a, [b, c, d]);
      await ping(next(), b, 'b');
      const single = await rawStream(`/subscribe/${b}`, a);
      const multi = await rawStream(`/subscribe?user=${c}&user=${b}`, a);
      const kept = stream(`/subscribe/${d}`, a);
      const own = stream(`/subscribe/${a}`, a);
      await Promise.all([kept.ready, own.ready]);
      t.deepEqual([single.status, multi.status], [200, 200]);
      const removed = Date.now();
      backend.removeContact(a, b);
      const [singleBody, multiBody] = await Promise.all([single.ended, multi.ended]);
      const seconds = (Date.now() - removed) / 1000;
      t.true(seconds < CONTACTS_TTL + 2, `ended after ${seconds} s`);
      t.regex(singleBody, /retry: \d+\n\n$/, 'ended with a retry hint');
      t.regex(multiBody, /retry: \d+\n\n$/);
      t.is((await errorOf(await get(`/subscribe/${b}`, a))).code, 'NOT_A_CONTACT', 'the reconnect is refused');
      await ping(next(), d, 'still-here');
      await ping(next(), a, 'own');
      await kept.until((k) => k.statuses().includes('still-here'));
      await own.until((o) => o.statuses().includes('own'));
      t.is(kept.errors + own.errors, 0, 'streams still allowed stay open');
    },
  );

  test.serial('backend-core down longer than CONTACTS_TTL: open streams keep flowing', async (t) => {
    const [a, b] = [user(), user()];
    backend.setContacts(a, [b]);
    const open = stream(`/subscribe/${b}`, a);
    await open.ready;
    backend.setMode('fail');
    try {
      await new Promise((resolve) => setTimeout(resolve, (CONTACTS_TTL + 1) * 1000));
      await ping(next(), b, 'after-ttl');
      await open.until((s) => s.statuses().includes('after-ttl'));
      t.is(open.errors, 0);
    } finally {
      backend.setMode('ok');
    }
  });

  test.serial('a hanging backend: 503 within CONTACTS_TIMEOUT, never a hung request', async (t) => {
    const [a, b] = [user(), user()];
    backend.setMode('hang');
    try {
      const started = Date.now();
      const answers = await Promise.all([get(`/lastseen/${b}`, a), get(`/subscribe/${b}`, a)]);
      for (const res of answers) t.is((await errorOf(res)).code, 'CONTACTS_UNAVAILABLE');
      t.true(Date.now() - started < CONTACTS_TIMEOUT * 1000 + 3_000, `${Date.now() - started} ms`);
    } finally {
      backend.setMode('ok');
    }
  });

  test.serial(
    'the metrics count what the suite did: decisions by result, cache hits and misses, calls, failures by cause, revoked streams',
    async (t) => {
      const totals = new Map<string, number>();
      for (const instance of instances) {
        for (const [key, value] of await scrape(instance.adminUrl!)) {
          const name = key.replace(/,?worker="\d+"/, '').replace('{}', '');
          totals.set(name, (totals.get(name) ?? 0) + value);
        }
      }
      const total = (key: string) => totals.get(key) ?? 0;
      for (const result of ['allowed', 'not_a_contact', 'unavailable'])
        t.true(total(`heartbeat_watch_decisions_total{result="${result}"}`) > 0, result);
      t.true(total('heartbeat_contacts_cache_lookups_total{result="hit"}') > 0);
      t.true(total('heartbeat_contacts_cache_lookups_total{result="miss"}') > 0);
      for (const cause of ['refused', 'timeout', 'status']) t.true(total(`heartbeat_contacts_failures_total{cause="${cause}"}`) > 0, cause);
      t.true(total('heartbeat_contacts_request_duration_seconds_count') >= total('heartbeat_contacts_failures_total{cause="refused"}'));
      t.true(total('heartbeat_streams_closed_total{reason="revoked"}') >= 2);
      t.true(total('heartbeat_contacts_cached_watchers') > 0);
      t.true(total('heartbeat_contacts_cache_bytes') > 0);
    },
  );
}
