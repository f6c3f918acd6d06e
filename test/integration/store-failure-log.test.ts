import test from 'ava';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { startStore, type TestStore } from '../support/stores.js';
import { startService, type ServiceProcess } from '../support/service.js';
import { ping } from '../support/sse.js';

/**
 * Why Redis is unavailable is in the service's log: the cause (refused, timeout, auth), once per
 * change and not once per failed command, and a line with the count of repeats when it works again.
 * Each test has its own Redis and service, and pings throughout so that many commands fail.
 */
let store: TestStore | undefined;
let service: ServiceProcess | undefined;

test.afterEach.always(async () => {
  store?.server?.freeze(false);
  await service?.stop();
  await store?.close();
});

async function start(): Promise<{ store: TestStore; service: ServiceProcess }> {
  store = await startStore('redis');
  service = await startService({ REDIS: store.redis });
  return { store, service };
}

/**
 * Pings every 20 ms until stopped; counts the answers that were 200 and those that were not, so
 * that a test waits for pings to have failed (or succeeded) instead of for a fixed time.
 */
function keepPinging(url: string): { acked(): number; failed(): number; stop(): Promise<number> } {
  let running = true;
  let failed = 0;
  let acked = 0;
  const user = `log-${randomUUID()}`;
  const loop = (async () => {
    while (running) {
      const res = await ping(url, user, 'x');
      if (res.status !== 200) failed++;
      else acked++;
      await res.arrayBuffer();
      await sleep(20);
    }
  })();
  return {
    acked: () => acked,
    failed: () => failed,
    async stop() {
      running = false;
      await loop;
      return failed;
    },
  };
}

const failing = (s: ServiceProcess) => s.logs.filter((l) => l.msg === 'presence store failing');
const worksAgain = (s: ServiceProcess) => s.logs.filter((l) => l.msg === 'presence store works again');

async function until(what: string, probe: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

test.serial('Redis killed: "refused" is logged once, not per failed ping; its repeats are counted when it is back', async (t) => {
  const { store, service } = await start();
  const pings = keepPinging(service.url);
  await until('a ping acknowledged', () => pings.acked() > 0);
  await store.server!.kill();
  await until('20 pings failed', () => pings.failed() >= 20);
  await store.server!.start();
  await until('a ping stored again', async () => (await ping(service.url, `probe-${randomUUID()}`, 'y')).status === 200);
  await until('the recovery line', () => worksAgain(service).length > 0);
  const failed = await pings.stop();
  const lines = failing(service);
  t.true(failed >= 20, `${failed} pings failed`);
  t.true(
    lines.some((l) => l.cause === 'refused'),
    JSON.stringify(lines),
  );
  // One line per change of cause (connection lost, then refused), not one per failed command.
  t.true(lines.length <= 3, JSON.stringify(lines));
  const back = worksAgain(service)[0];
  t.is(back.store, 'redis');
  t.true(Number(back.repeats) > 0, JSON.stringify(back));
});

test.serial('Redis frozen: "timeout" is logged once while pings time out, and the end of it when it answers again', async (t) => {
  const { store, service } = await start();
  const pings = keepPinging(service.url);
  await until('a ping acknowledged', () => pings.acked() > 0);
  store.server!.freeze(true);
  await until('the timeout line and 2 pings failed', () => pings.failed() >= 2 && failing(service).length > 0);
  store.server!.freeze(false);
  await until('the recovery line', () => worksAgain(service).length > 0);
  const failed = await pings.stop();
  const lines = failing(service);
  t.true(failed >= 2, `${failed} pings failed`);
  t.deepEqual(
    lines.map((l) => l.cause),
    ['timeout'],
  );
  t.is(worksAgain(service)[0].cause, 'timeout');
  t.true(Number(worksAgain(service)[0].repeats) >= 1);
});

test.serial('Redis asks for a password the service does not have: "auth" is logged once', async (t) => {
  const { store, service } = await start();
  const pings = keepPinging(service.url);
  await until('a ping acknowledged', () => pings.acked() > 0);
  await store.server!.cli('CONFIG', 'SET', 'requirepass', 'not-the-services');
  // Drops every connection: the service reconnects without the password.
  await store.server!.cli('-a', 'not-the-services', '--no-auth-warning', 'CLIENT', 'KILL', 'TYPE', 'normal');
  await store.server!.cli('-a', 'not-the-services', '--no-auth-warning', 'CLIENT', 'KILL', 'TYPE', 'pubsub');
  await until('the auth line', () => failing(service).some((l) => l.cause === 'auth'));
  await until('20 pings failed', () => pings.failed() >= 20);
  const failed = await pings.stop();
  const auth = failing(service).filter((l) => l.cause === 'auth');
  t.is(auth.length, 1, JSON.stringify(failing(service)));
  t.true(failed >= 20, `${failed} pings failed`);
  t.regex(String(auth[0].error), /NOAUTH|WRONGPASS|auth/i);
  await store.server!.cli('-a', 'not-the-services', '--no-auth-warning', 'CONFIG', 'SET', 'requirepass', '');
});
