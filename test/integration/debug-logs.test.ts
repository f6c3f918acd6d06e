import test from 'ava';
import { randomUUID } from 'node:crypto';
import { startStore } from '../support/stores.js';
import { eventually } from '../support/metrics.js';
import { startService, type ServiceProcess } from '../support/service.js';
import { StreamClient } from '../support/sse.js';

/**
 * LOG_LEVEL=debug tells a person debugging what happened: streams opened and closed with why,
 * each Redis connection's state changes, the worker threads' lifecycle. (At the default level
 * none of this is logged: admin.test.ts, "no log line per request".)
 */
const DEBUG = 20;

function logged(service: ServiceProcess, msg: string, match: Record<string, unknown> = {}): Record<string, unknown>[] {
  return service.logs.filter((l) => l.msg === msg && l.level === DEBUG && Object.entries(match).every(([k, v]) => l[k] === v));
}

const until = (service: ServiceProcess, msg: string, match: Record<string, unknown> = {}) =>
  eventually(() => Promise.resolve(logged(service, msg, match).length > 0 ? true : undefined), `"${msg}" ${JSON.stringify(match)}`, 30_000);

test('streams opened and closed with their reason, and Redis going away and coming back', async (t) => {
  const store = await startStore('redis');
  const service = await startService({ REDIS: store.redis, LOG_LEVEL: 'debug' });
  try {
    const user = `debug-${randomUUID()}`;
    const gone = new StreamClient(`${service.url}/subscribe/${user}`);
    await gone.ready;
    // The service's stdout is read asynchronously: the line may arrive after the stream's first bytes.
    await until(service, 'stream opened', { userid: user });
    const opened = logged(service, 'stream opened', { userid: user });
    t.is(opened.length, 1);
    t.is(opened[0].users, 1);
    gone.close();
    await until(service, 'stream closed', { userid: user, reason: 'client_gone' });
    t.is(logged(service, 'stream closed', { userid: user })[0].stream, opened[0].stream, 'the same stream id opened and closed');

    const stays = new StreamClient(`${service.url}/subscribe/${user}`);
    await stays.ready;
    await store.server!.kill();
    await until(service, 'redis connection closed', { connection: 'subscriber' });
    await until(service, 'redis connection closed', { connection: 'commands' });
    await until(service, 'redis reconnecting');
    await store.server!.start();
    await until(service, 'redis channels resubscribed', { channels: 1 });
    t.true(logged(service, 'redis connection ready').length >= 2);

    await service.stop();
    await until(service, 'stream closed', { userid: user, reason: 'shutdown' });
    t.is(logged(service, 'stream closed', { userid: user, reason: 'shutdown' }).length, 1);
    stays.close();
  } finally {
    await service.stop();
    await store.close();
  }
});

test('WORKERS=2: each worker starting, listening, draining and exiting', async (t) => {
  const service = await startService({ REDIS: 'memory', WORKERS: '2', LOG_LEVEL: 'debug' });
  try {
    for (const worker of [0, 1]) {
      t.is(logged(service, 'worker starting', { worker }).length, 1, `worker ${worker} starting`);
      t.is(logged(service, 'worker listening', { worker }).length, 1, `worker ${worker} listening`);
    }
    t.is((await service.stop()).code, 0);
    for (const worker of [0, 1]) {
      t.is(logged(service, 'worker draining', { worker }).length, 1, `worker ${worker} draining`);
      t.is(logged(service, 'worker exited', { worker, code: 0 }).length, 1, `worker ${worker} exited`);
    }
  } finally {
    await service.stop();
  }
});
