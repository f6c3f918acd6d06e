import test from 'ava';
import { randomUUID } from 'node:crypto';
import { request } from 'node:http';
import { startStore, type StoreName } from '../support/stores.js';
import { startService, type ServiceProcess } from '../support/service.js';
import { eventually, scrape as scrapeAdmin, series } from '../support/metrics.js';
import { assertEveryPingOnceInOrder, pingEveryUser, sequenceStatus } from '../support/exactly-once.js';
import { StreamClient } from '../support/sse.js';
import { readUntilEnd } from '../support/stream-reader.js';

const scrape = (service: ServiceProcess) => scrapeAdmin(service.adminUrl!);

/**
 * WORKERS=2: two uWebSockets.js apps in worker threads of one process on one port, over Redis
 * and over the embedded store (kept in the main thread, relayed to the workers). Subscribers and
 * pings land on both workers (the kernel spreads connections); every subscriber gets every ping of
 * its users in order exactly once; the admin port labels and sums per worker; SIGTERM drains
 * both workers and exits 0.
 */

/** `name` of worker "0" and "1", and their sum. */
function perWorker(m: Map<string, number>, name: string, labels: Record<string, string> = {}): { w0: number; w1: number; sum: number } {
  const w0 = m.get(series(name, { ...labels, worker: '0' })) ?? NaN;
  const w1 = m.get(series(name, { ...labels, worker: '1' })) ?? NaN;
  return { w0, w1, sum: w0 + w1 };
}

/**
 * A ping on a connection of its own (no keep-alive pool), so that the kernel picks a worker for
 * every ping: with fetch's pool most pings would reuse a connection to the same worker.
 */
function freshPing(url: string, userid: string, status: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${url}/ping`,
      {
        method: 'POST',
        agent: false,
        headers: {
          'Content-Type': 'text/plain;charset=UTF-8',
          'X-User-Claim': JSON.stringify({ userid, clientid: 'w' }),
          Connection: 'close',
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify({ status }));
  });
}

for (const name of ['redis', 'embedded'] as StoreName[]) {
  test(`${name}: WORKERS=2 spreads streams and pings over both workers, delivers every ping once in order, sums metrics, drains on SIGTERM`, async (t) => {
    t.timeout(60_000);
    const store = await startStore(name);
    const service = await startService({ REDIS: store.redis, WORKERS: '2', SHUTDOWN_TIMEOUT: '5' });
    try {
      const started = service.logs.find((l) => l.msg === 'heartbeat started')!;
      t.is(started.workers, 2);
      t.is(started.store, name === 'embedded' ? 'embedded' : 'redis');
      t.regex(String(started.listen), /^127\.0\.0\.1:\d+$/);
      t.not(service.port, 0);

      // 20 single-user subscribers (5 per user) and 4 contact-list streams.
      const users = Array.from({ length: 4 }, (_, i) => `workers-${i}-${randomUUID()}`);
      const single = Array.from({ length: 20 }, (_, i) => ({
        user: users[i % 4],
        client: new StreamClient(`${service.url}/subscribe/${users[i % 4]}`),
      }));
      const lists = Array.from(
        { length: 4 },
        () => new StreamClient(`${service.url}/subscribe?${users.map((u) => `user=${u}`).join('&')}`),
      );
      const streams = single.length + lists.length;
      await Promise.all([...single.map((s) => s.client.ready), ...lists.map((c) => c.ready)]);

      const spread = await eventually(async () => {
        const m = await scrape(service);
        const open = perWorker(m, 'heartbeat_streams_open');
        return open.sum === streams ? m : undefined;
      }, `${streams} streams open`);
      const open = perWorker(spread, 'heartbeat_streams_open');
      t.true(open.w0 > 0 && open.w1 > 0, `both workers hold streams: ${open.w0} + ${open.w1}`);
      t.is(perWorker(spread, 'heartbeat_actors', { machine: 'subscription', state: 'live' }).sum, streams);
      t.is(perWorker(spread, 'heartbeat_actors', { machine: 'ping', state: 'accepting' }).sum, 2);
      // Each worker watches (and holds one channel for) the users of its own streams.
      for (const worker of ['0', '1']) {
        const watched = spread.get(series('heartbeat_watched_users', { worker }))!;
        t.true(watched >= 1 && watched <= users.length, `worker ${worker} watches ${watched}`);
        t.is(spread.get(series('heartbeat_pubsub_channels', { worker })), watched);
        t.is(spread.get(series('heartbeat_store_up', { worker })), 1);
      }

      // A first ping per user (seen by everyone, live or from the replay), then 20 more per user, each
      // on a new connection, so that both workers take pings and publish them to each other.
      for (const user of users) t.is(await freshPing(service.url, user, sequenceStatus(0)), 200);
      await Promise.all([...single.map((s) => s.client.count(1)), ...lists.map((c) => c.count(users.length))]);
      const perUser = 20;
      await pingEveryUser(users, perUser, (user, i) => freshPing(service.url, user, sequenceStatus(i)));
      await assertEveryPingOnceInOrder(t, { users, single, lists }, perUser);

      // Metrics: per-worker series that add up to the process's totals.
      const m = await scrape(service);
      const pings = perWorker(m, 'heartbeat_pings_total', { code: '200' });
      t.is(pings.sum, users.length * (perUser + 1));
      t.true(pings.w0 > 0 && pings.w1 > 0, `both workers took pings: ${pings.w0} + ${pings.w1}`);
      // Every ping reached the 5 single-user streams and the 4 lists watching its user.
      t.is(perWorker(m, 'heartbeat_deliveries_total').sum, users.length * (perUser + 1) * (5 + lists.length));
      t.is(perWorker(m, 'heartbeat_streams_closed_total', { reason: 'slow_client' }).sum, 0);
      t.is(perWorker(m, 'heartbeat_store_recoveries_total').sum, 0);
      t.is(perWorker(m, 'heartbeat_ping_duration_seconds_count').sum, users.length * (perUser + 1));
      // Each worker's own thread: its heap and event loop, not the main thread's.
      const heap = perWorker(m, 'heartbeat_heap_used_bytes');
      t.true(heap.w0 > 1_000_000 && heap.w1 > 1_000_000, `both workers report their heap: ${heap.w0}, ${heap.w1}`);
      t.not(heap.w0, heap.w1);
      const lag = perWorker(m, 'heartbeat_eventloop_lag_max_seconds');
      t.true(lag.w0 >= 0 && lag.w1 >= 0, `both workers report their event-loop lag: ${lag.w0}, ${lag.w1}`);
      t.true(m.get('process_resident_memory_bytes')! > 10_000_000);
      t.false(
        [...m.keys()].some((k) => k.startsWith('heartbeat_') && !k.startsWith('heartbeat_build_info') && !k.includes('worker="')),
        'every heartbeat_* series but heartbeat_build_info has a worker label',
      );

      const ready = await fetch(`${service.adminUrl}/readyz`);
      t.is(ready.status, 200);
      t.deepEqual(await ready.json(), { ready: true });
      const machines = (await (await fetch(`${service.adminUrl}/debug/machines.json`)).json()) as {
        streams: number;
        workers: number;
        ready: boolean;
        machines: { id: string; counts: Record<string, number> }[];
      };
      t.is(machines.streams, streams);
      t.is(machines.workers, 2);
      t.true(machines.ready);
      t.is(machines.machines.find((x) => x.id === 'subscription')!.counts.live, streams);
      t.deepEqual(machines.machines.find((x) => x.id === 'ping')!.counts, { accepting: 2, degraded: 0, draining: 0, drained: 0 });

      // Closed streams leave nothing behind on either worker (nor, embedded, in the main thread's store).
      for (const { client } of single) client.close();
      for (const c of lists) c.close();
      await eventually(async () => {
        const after = await scrape(service);
        return perWorker(after, 'heartbeat_streams_open').sum === 0 && perWorker(after, 'heartbeat_pubsub_channels').sum === 0
          ? true
          : undefined;
      }, 'every stream and channel gone');

      // SIGTERM with raw streams on both workers: each gets its closing retry:, exit 0 in time.
      const raw = Array.from({ length: 16 }, (_, i) => readUntilEnd(`${service.url}/subscribe/${users[i % 4]}`, 10_000));
      await Promise.all(raw.map((r) => r.opened));
      const rawOpen = await eventually(async () => {
        const now = perWorker(await scrape(service), 'heartbeat_streams_open');
        return now.sum === raw.length ? now : undefined;
      }, 'raw streams open');
      t.true(rawOpen.w0 > 0 && rawOpen.w1 > 0, `raw streams on both workers: ${rawOpen.w0} + ${rawOpen.w1}`);
      const t0 = Date.now();
      const { code, signal } = await service.stop('SIGTERM');
      const elapsed = Date.now() - t0;
      t.is(code, 0, service.stderr.join(''));
      t.is(signal, null);
      // SHUTDOWN_TIMEOUT (5 s) bounds the shutdown; the rest of the bound is for a busy box, where
      // delivering the signal and tearing the process down can take seconds of their own.
      t.true(elapsed < 5_000 + 5_000, `exited in ${elapsed} ms (SHUTDOWN_TIMEOUT 5 s)`);
      const texts = await Promise.all(raw.map((r) => r.text));
      t.true(
        texts.every((text) => [...text.matchAll(/^retry: /gm)].length === 2),
        'an opening and a closing retry: on every stream',
      );
      t.false(service.stderr.join('').includes('uv_loop_close'), service.stderr.join(''));
      const lines = service.logs.map((l) => l.msg);
      t.true(lines.includes('shutting down') && lines.includes('shutdown complete'));
      t.is(lines.filter((l) => l === 'heartbeat started').length, 1);
      await t.throwsAsync(fetch(`${service.url}/lastseen/x`), undefined, 'the public port is closed');
    } finally {
      await service.stop('SIGKILL');
      await store.close();
    }
  });
}

test('WORKERS=2: SIGINT on an idle process exits 0 at once', async (t) => {
  const service = await startService({ REDIS: 'memory', WORKERS: '2' });
  const t0 = Date.now();
  const { code } = await service.stop('SIGINT');
  t.is(code, 0, service.stderr.join(''));
  // At once: not after SHUTDOWN_TIMEOUT's default 10 s (the bound leaves a busy box its seconds).
  t.true(Date.now() - t0 < 8_000, `exited after ${Date.now() - t0} ms`);
  t.false(service.stderr.join('').includes('uv_loop_close'));
});

test('WORKERS=1 stays single-threaded: worker="0" on every series, workers: 1 on the start line', async (t) => {
  const service = await startService({ REDIS: 'memory' });
  try {
    const started = service.logs.find((l) => l.msg === 'heartbeat started')!;
    t.is(started.workers, 1);
    const m = await scrape(service);
    t.is(m.get(series('heartbeat_streams_open', { worker: '0' })), 0);
    t.is(m.get(series('heartbeat_actors', { machine: 'ping', state: 'accepting', worker: '0' })), 1);
    t.false([...m.keys()].some((k) => k.includes('worker="1"')));
  } finally {
    t.is((await service.stop()).code, 0);
  }
});

// Serial (ava runs it before this file's concurrent tests): one more process starting among three
// WORKERS=2 ones made their starts outlast the timeout on a loaded 2-core box.
test.serial(
  'WORKERS=auto counts the CPUs the process may use: one under an affinity mask of one CPU, and the start line says why',
  async (t) => {
    const service = await startService({ REDIS: 'memory', WORKERS: 'auto' }, undefined, ['taskset', '--cpu-list', '0']);
    try {
      const started = service.logs.find((l) => l.msg === 'heartbeat started')!;
      t.is(started.workers, 1);
      t.is(started.cpus, 1);
      t.regex(String(started.cpusFrom), /affinity mask 1$/);
    } finally {
      t.is((await service.stop()).code, 0);
    }
  },
);
