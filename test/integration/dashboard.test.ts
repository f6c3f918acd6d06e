import test from 'ava';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { alertRules } from '../support/alert-rules.js';
import { startStore, type TestStore } from '../support/stores.js';
import { startService, type ServiceProcess } from '../support/service.js';
import { ping, StreamClient } from '../support/sse.js';

/**
 * The Grafana dashboard (deploy/grafana/heartbeat.json) and the alerts (deploy/prometheus/) match
 * the service: every metric their queries name, and every label they select or group by, exists
 * on /metrics of a real service over a real Redis.
 */
let store: TestStore;
let service: ServiceProcess;
/** Series name → the label names seen on it. */
let exported: Map<string, Set<string>>;

const read = (file: string) => readFileSync(new URL(`../../${file}`, import.meta.url), 'utf8');
/** Labels Prometheus adds at scrape time, not on /metrics. */
const TARGET_LABELS = ['instance', 'job'];
/** Series Prometheus makes itself for each target (its scrape's health), not on /metrics. */
const SCRAPE_SERIES = ['up'];
const METRIC = /\b(?:heartbeat|nodejs|process)_[a-z0-9_]+\b/g;

/** Every PromQL expression of the dashboard: panel targets and template variable queries. */
function dashboardExpressions(): string[] {
  const out: string[] = [];
  const walk = (node: unknown) => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node && typeof node === 'object') {
      for (const [key, value] of Object.entries(node)) {
        if ((key === 'expr' || key === 'query' || key === 'definition') && typeof value === 'string') out.push(value);
        else walk(value);
      }
    }
  };
  walk(JSON.parse(read('deploy/grafana/heartbeat.json')));
  return out.filter((e) => e.match(METRIC) !== null);
}

/** The `expr` of every alert Prometheus loads (deploy/prometheus/heartbeat.rules.yml; the PrometheusRule is generated from it). */
function alertExpressions(): string[] {
  return alertRules().map((r) => r.expr);
}

test.before(async () => {
  store = await startStore('redis');
  service = await startService({ REDIS: store.redis });
  // Some traffic, so that labelled series (codes, reasons) exist: a ping, a refused ping, a
  // refused stream, a stream that opens, gets a ping and closes.
  const user = `dash-${randomUUID()}`;
  const stream = new StreamClient(`${service.url}/subscribe/${user}`);
  await stream.ready;
  await ping(service.url, user, '0');
  await stream.count(1);
  stream.close();
  await (await fetch(`${service.url}/ping`, { method: 'POST', body: '{}' })).arrayBuffer();
  await (await fetch(`${service.url}/subscribe`)).arrayBuffer();
  const text = await (await fetch(`${service.adminUrl}/metrics`)).text();
  exported = new Map();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) /.exec(line);
    if (type) exported.set(type[1], exported.get(type[1]) ?? new Set());
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? /.exec(line);
    if (!sample) continue;
    const labels = exported.get(sample[1]) ?? new Set<string>();
    for (const [, name] of (sample[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="/g)) labels.add(name);
    exported.set(sample[1], labels);
  }
});

test.after.always(async () => {
  await service?.stop();
  await store?.close();
});

/** What is wrong with one expression: metrics that are not exported, labels no named metric has. */
function problems(expr: string): string[] {
  const out: string[] = [];
  const names = [...new Set(expr.match(METRIC) ?? [])];
  for (const name of names) if (!exported.has(name)) out.push(`metric ${name} is not on /metrics`);
  // A selector names its metric: `up{…}` and anything the prefixes above do not catch.
  for (const [, name] of expr.matchAll(/\b([a-zA-Z_:][a-zA-Z0-9_:]*)\{/g)) {
    if (!exported.has(name) && !SCRAPE_SERIES.includes(name) && !names.includes(name)) out.push(`metric ${name} is not on /metrics`);
  }
  for (const [, name, selector] of expr.matchAll(/\b([a-z_][a-z0-9_]*)\{([^}]*)\}/g)) {
    for (const [, label] of selector.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)/g)) {
      if (!TARGET_LABELS.includes(label) && !exported.get(name)?.has(label)) out.push(`${name} has no label ${label}`);
    }
  }
  const known = new Set([...TARGET_LABELS, ...names.flatMap((n) => [...(exported.get(n) ?? [])])]);
  for (const [, list] of expr.matchAll(/\b(?:by|without)\s*\(([^)]*)\)/g)) {
    for (const label of list
      .split(',')
      .map((l) => l.trim())
      .filter(Boolean)) {
      if (!known.has(label)) out.push(`no metric of this expression has the label ${label} it groups by`);
    }
  }
  return out;
}

test('every metric and label the dashboard queries exists on /metrics', (t) => {
  const expressions = dashboardExpressions();
  t.true(expressions.length >= 20, `${expressions.length} queries`);
  for (const expr of expressions) t.deepEqual(problems(expr), [], expr);
});

test('the dashboard covers what an operator looks at first', (t) => {
  const all = dashboardExpressions().join('\n');
  for (const name of [
    'heartbeat_streams_open',
    'heartbeat_pings_total',
    'heartbeat_ping_duration_seconds_bucket',
    'heartbeat_delivery_lag_seconds_bucket',
    'heartbeat_streams_closed_total',
    'heartbeat_store_up',
    'heartbeat_eventloop_lag_p99_seconds',
  ]) {
    t.true(all.includes(name), name);
  }
  t.regex(all, /by \(instance, worker\) \(heartbeat_eventloop_lag/, 'event loop lag per worker');
});

test('every metric and label the alerts name exists on /metrics', (t) => {
  const expressions = alertExpressions();
  t.true(expressions.length >= 10, `${expressions.length} alerts`);
  for (const expr of expressions) t.deepEqual(problems(expr), [], expr);
});

test('a query naming a metric the service does not export is caught', (t) => {
  t.deepEqual(problems('rate(heartbeat_pings_total{status="200"}[5m])'), ['heartbeat_pings_total has no label status']);
  t.deepEqual(problems('heartbeat_slow_clients_closed_total'), ['metric heartbeat_slow_clients_closed_total is not on /metrics']);
  t.deepEqual(problems('go_goroutines{job="heartbeat"} > 0'), ['metric go_goroutines is not on /metrics']);
  t.deepEqual(problems('up{job="heartbeat"} == 0'), []);
});
