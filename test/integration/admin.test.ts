import test from 'ava';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { startStore, type TestStore } from '../support/stores.js';
import { startService, type ServiceProcess } from '../support/service.js';
import { eventually, parseMetrics, series } from '../support/metrics.js';
import { ping, StreamClient } from '../support/sse.js';
import { errorOf } from '../support/error-answer.js';

const PACKAGE = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
  dependencies: Record<string, string>;
};
const UWS_PACKAGE = PACKAGE.dependencies['uWebSockets.js'].replace(/^npm:/, '');

/**
 * The admin port (ADMIN_LISTEN) of a real process over a real Redis: probes, Prometheus metrics,
 * and that none of it is reachable on the public port.
 */
let store: TestStore;
let service: ServiceProcess;
let admin: string;

test.before(async () => {
  store = await startStore('redis');
  service = await startService({ REDIS: store.redis });
  admin = service.adminUrl!;
});

test.after.always(async () => {
  await service?.stop();
  await store?.close();
});

/** With WORKERS=1 every heartbeat_* series is worker "0"'s. */
const W0 = { worker: '0' };

async function scrape(): Promise<Map<string, number>> {
  const res = await fetch(`${admin}/metrics`);
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  return parseMetrics(await res.text());
}

/** /readyz: `{"ready":true}` when ready, else a refusal whose code says why. */
async function readyz(): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${admin}/readyz`);
  if (res.status === 200) return { status: 200, body: await res.json() };
  const { code, message } = await errorOf(res);
  return { status: res.status, body: { code, message, retryAfter: res.headers.get('retry-after') } };
}

test.serial('the start line names the admin address; /healthz answers 200', async (t) => {
  const started = service.logs.find((l) => l.msg === 'heartbeat started')!;
  t.regex(String(started.admin), /^127\.0\.0\.1:\d+$/);
  t.is(started.uwsNative, true);
  // patches/xstate+*.patch is applied by every install (postinstall), so the service runs patched.
  t.is(started.xstateFastPath, true);
  t.is(started.workers, 1);
  t.true(Number(started.cpus) >= 1, 'the CPUs WORKERS=auto would use');
  t.regex(String(started.cpusFrom), /affinity mask \d+$/);
  const res = await fetch(`${admin}/healthz`);
  t.is(res.status, 200);
  t.deepEqual(await res.json(), { alive: true });
});

test.serial('admin routes are not served on the public port, and the admin port serves nothing else', async (t) => {
  for (const path of ['/metrics', '/healthz', '/readyz', '/debug/machines', '/debug/machines.json', '/debug/mermaid.min.js']) {
    const res = await fetch(`${service.url}${path}`);
    t.is(res.status, 404, `public ${path}`);
    await res.arrayBuffer();
  }
  for (const path of ['/ping', '/subscribe/alice', '/lastseen/alice']) {
    const answer = await errorOf(await fetch(`${admin}${path}`));
    t.like(answer, { status: 404, code: 'NOT_FOUND', contentType: 'application/json' }, `admin ${path}`);
    t.regex(answer.message, /the admin port serves \/healthz/);
  }
  const post = await fetch(`${admin}/metrics`, { method: 'POST' });
  t.is(post.headers.get('allow'), 'GET');
  t.like(await errorOf(post), { status: 405, code: 'METHOD_NOT_ALLOWED' });
});

test.serial('/metrics: streams, actors, pings, deliveries, latencies, channels, store, runtime and Node metrics', async (t) => {
  const res = await fetch(`${admin}/metrics`);
  t.regex(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  for (const name of [
    'heartbeat_streams_open',
    'heartbeat_watched_users',
    'heartbeat_actors',
    'heartbeat_pings_total',
    'heartbeat_deliveries_total',
    'heartbeat_coalesced_total',
    'heartbeat_store_up',
    'heartbeat_store_recoveries_total',
    'heartbeat_pubsub_channels',
    'heartbeat_streams_opened_total',
    'heartbeat_streams_closed_total',
    'heartbeat_streams_refused_total',
    'heartbeat_build_info',
    'heartbeat_eventloop_lag_p99_seconds',
    'heartbeat_eventloop_lag_max_seconds',
    'heartbeat_heap_used_bytes',
    'heartbeat_heap_total_bytes',
    'nodejs_eventloop_lag_seconds',
    'nodejs_eventloop_lag_p99_seconds',
    'process_resident_memory_bytes',
    'nodejs_heap_size_used_bytes',
  ]) {
    t.true(text.includes(`# TYPE ${name} `), `${name} is exported`);
  }
  for (const name of ['heartbeat_ping_duration_seconds', 'heartbeat_delivery_lag_seconds', 'heartbeat_fanout_duration_seconds']) {
    t.true(text.includes(`# TYPE ${name} histogram`), `${name} is a histogram`);
  }
  const build = /^heartbeat_build_info\{(.*)\} 1$/m.exec(text);
  t.truthy(build, 'heartbeat_build_info is 1');
  t.true(build![1].includes(`version="${PACKAGE.version}"`));
  t.true(build![1].includes(`node="${process.version}"`));
  // The package that package.json pins (`npm:@based/uws@6.0.1`), as name@version.
  t.true(build![1].includes(`uws="${UWS_PACKAGE}"`), build![1]);
  t.true(build![1].includes(`uws_native="true"`), 'the native binary serves');
  t.true(build![1].includes(`xstate_fast_path="true"`), 'XState runs with the fast path');
  const before = parseMetrics(text);
  const histogramCount = (m: Map<string, number>, name: string) => m.get(series(`${name}_count`, W0)) ?? 0;

  const [u1, u2, u3] = [1, 2, 3].map((i) => `admin-${i}-${randomUUID()}`);
  const clients = [
    new StreamClient(`${service.url}/subscribe/${u1}`),
    new StreamClient(`${service.url}/subscribe/${u2}`),
    new StreamClient(`${service.url}/subscribe?user=${u1}&user=${u3}`),
  ];
  await Promise.all(clients.map((c) => c.opened));
  const live = series('heartbeat_actors', { machine: 'subscription', state: 'live', ...W0 });
  const open = await eventually(async () => {
    const m = await scrape();
    return m.get(live) === 3 ? m : undefined;
  }, 'three live subscription actors');
  t.is(open.get(series('heartbeat_streams_open', W0)), 3);
  t.is(open.get(series('heartbeat_watched_users', W0)), 3);
  t.is(open.get(series('heartbeat_pubsub_channels', W0)), 3);
  t.is(open.get(series('heartbeat_actors', { machine: 'subscription', state: 'congested', ...W0 })), 0);
  t.is(open.get(series('heartbeat_actors', { machine: 'ping', state: 'accepting', ...W0 })), 1);
  t.is(open.get(series('heartbeat_actors', { machine: 'ping', state: 'degraded', ...W0 })), 0);
  t.is(open.get(series('heartbeat_store_up', W0)), 1);

  const ok = series('heartbeat_pings_total', { code: '200', ...W0 });
  const missing = series('heartbeat_pings_total', { code: '400', reason: 'CLAIM_MISSING', ...W0 });
  t.is((await ping(service.url, u1, 'one')).status, 200);
  t.is((await ping(service.url, u2, 'two')).status, 200);
  const bad = await fetch(`${service.url}/ping`, { method: 'POST', body: '{"status":"0"}' });
  t.is(bad.status, 400);
  await bad.arrayBuffer();
  const refused = await fetch(`${service.url}/subscribe`);
  t.is(refused.status, 400);
  await refused.arrayBuffer();
  await Promise.all(clients.map((c) => c.count(1)));

  const after = await scrape();
  t.is(after.get(ok), 2);
  t.is(after.get(missing), 1);
  // u1's ping reached two streams, u2's one.
  t.is(after.get(series('heartbeat_deliveries_total', W0)), 3);
  t.is(after.get(series('heartbeat_store_recoveries_total', W0)), 0);
  t.is(after.get(series('heartbeat_streams_opened_total', W0)), 3);
  t.is(after.get(series('heartbeat_streams_refused_total', { code: '400', reason: 'NO_USERS', ...W0 })), 1);
  for (const reason of ['client_gone', 'slow_client', 'shutdown']) {
    t.is(after.get(series('heartbeat_streams_closed_total', { reason, ...W0 })), 0, reason);
  }
  // Three answers timed (two 200s, one 400); two pings came over the bus, each timed once
  // however many streams watched it.
  t.is(histogramCount(after, 'heartbeat_ping_duration_seconds') - histogramCount(before, 'heartbeat_ping_duration_seconds'), 3);
  t.is(histogramCount(after, 'heartbeat_delivery_lag_seconds') - histogramCount(before, 'heartbeat_delivery_lag_seconds'), 2);
  t.is(histogramCount(after, 'heartbeat_fanout_duration_seconds') - histogramCount(before, 'heartbeat_fanout_duration_seconds'), 2);
  for (const name of ['heartbeat_ping_duration_seconds', 'heartbeat_delivery_lag_seconds', 'heartbeat_fanout_duration_seconds']) {
    // Cumulative buckets: +Inf holds every observation; the sum is positive and under a minute.
    t.is(after.get(series(`${name}_bucket`, { le: '+Inf', ...W0 })), histogramCount(after, name), name);
    const sum = after.get(series(`${name}_sum`, W0))!;
    t.true(sum > 0 && sum < 60, `${name}_sum ${sum}`);
  }
  t.true(after.get(series('heartbeat_heap_used_bytes', W0))! > 1_000_000);
  t.true(after.get(series('heartbeat_heap_total_bytes', W0))! >= after.get(series('heartbeat_heap_used_bytes', W0))!);
  t.true(after.get(series('heartbeat_eventloop_lag_max_seconds', W0))! >= 0);
  t.true(after.get('process_resident_memory_bytes')! > 10_000_000);
  t.true(after.get('nodejs_eventloop_lag_seconds')! >= 0);

  for (const c of clients) c.close();
  const closed = await eventually(async () => {
    const m = await scrape();
    return m.get(series('heartbeat_streams_open', W0)) === 0 && m.get(series('heartbeat_pubsub_channels', W0)) === 0 ? m : undefined;
  }, 'every stream closed');
  t.is(closed.get(live), 0);
  t.is(closed.get(series('heartbeat_watched_users', W0)), 0);
  t.is(closed.get(series('heartbeat_streams_closed_total', { reason: 'client_gone', ...W0 })), 3);
});

test.serial('/readyz: 200 with Redis, 503 "store unavailable" while it is away, 200 when it is back', async (t) => {
  t.deepEqual(await readyz(), { status: 200, body: { ready: true } });
  const server = store.server!;
  await server.kill();
  const down = await eventually(async () => {
    const r = await readyz();
    return r.status === 503 ? r : undefined;
  }, '/readyz 503');
  t.deepEqual(down.body, { code: 'STORE_UNAVAILABLE', message: 'store unavailable', retryAfter: '1' });
  t.is((await fetch(`${admin}/healthz`)).status, 200, 'alive while not ready');
  const m = await scrape();
  t.is(m.get(series('heartbeat_store_up', W0)), 0);
  t.is(m.get(series('heartbeat_actors', { machine: 'ping', state: 'degraded', ...W0 })), 1);

  await server.start();
  await eventually(async () => ((await readyz()).status === 200 ? true : undefined), '/readyz 200 again', 30_000);
  const back = await scrape();
  t.is(back.get(series('heartbeat_store_up', W0)), 1);
  t.true(back.get(series('heartbeat_store_recoveries_total', W0))! >= 1);
  t.is(back.get(series('heartbeat_actors', { machine: 'ping', state: 'accepting', ...W0 })), 1);
  t.true(service.logs.some((l) => l.msg === 'presence store unavailable' && l.level === 40));
  t.true(service.logs.some((l) => l.msg === 'presence store available' && l.level === 30));
});

test.serial('/readyz says "shutting down" while the service drains; the admin port closes at exit', async (t) => {
  // A ping held in flight (Redis paused) keeps the service draining for up to its command timeout.
  const info = await store.server!.cli('INFO', 'server');
  const redisPid = Number(/process_id:(\d+)/.exec(info)![1]);
  process.kill(redisPid, 'SIGSTOP');
  try {
    const held = ping(service.url, `drain-${randomUUID()}`, 'x').then(
      (r) => r.status,
      () => 'refused',
    );
    await sleep(150);
    const exit = service.stop('SIGTERM');
    const draining = await eventually(async () => {
      const r = await readyz();
      return r.status === 503 ? r : undefined;
    }, '/readyz 503 during the drain');
    t.deepEqual(draining.body, { code: 'SHUTTING_DOWN', message: 'shutting down', retryAfter: '1' });
    process.kill(redisPid, 'SIGCONT');
    // Stored once Redis resumes (200) or timed out while it was paused (503).
    t.true([200, 503].includes((await held) as number), `held ping answered ${await held}`);
    t.is((await exit).code, 0);
    await t.throwsAsync(fetch(`${admin}/healthz`), undefined, 'nothing listens on the admin port after exit');
  } finally {
    process.kill(redisPid, 'SIGCONT');
  }
  const lines = service.logs.map((l) => l.msg);
  t.true(lines.includes('shutting down') && lines.includes('shutdown complete'));
});

test('ADMIN_LISTEN empty disables the admin port', async (t) => {
  const plain = await startService({ REDIS: 'memory', ADMIN_LISTEN: '' });
  try {
    t.is(plain.adminUrl, null);
    t.is(plain.logs.find((l) => l.msg === 'heartbeat started')!.admin, 'disabled');
  } finally {
    await plain.stop();
  }
});

test('no log line per request at the default level', async (t) => {
  const quiet = await startService({ REDIS: 'memory' });
  try {
    const before = quiet.logs.length;
    for (let i = 0; i < 5; i++) {
      await (await ping(quiet.url, `quiet-${i}`, 'x')).arrayBuffer();
      await (await fetch(`${quiet.adminUrl}/metrics`)).arrayBuffer();
      await (await fetch(`${quiet.adminUrl}/readyz`)).arrayBuffer();
    }
    await sleep(100);
    t.is(quiet.logs.length, before);
  } finally {
    await quiet.stop();
  }
});
