import test from 'ava';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseAllDocuments, parse } from 'yaml';
import { availableCpus } from '../../src/process/available-cpus.js';
import { ConfigError, loadConfig } from '../../src/process/config.js';
import { startStore } from '../support/stores.js';
import { acceptedVariables } from '../support/config-variables.js';
import { startService } from '../support/service.js';

/**
 * The Kubernetes manifests (deploy/k8s/) and the compose file match the service: every env name
 * is one the configuration reads, the values pass its validation once the `<…>` placeholders are
 * filled in (and stop it while they are not), the probes hit the admin port's real routes, the
 * grace period outlasts the drain, the NetworkPolicy admits each port the Services expose from its
 * one intended peer, and every selector selects the Deployment's pods.
 */

interface Container {
  env?: { name: string; value?: string; valueFrom?: unknown }[];
  ports?: { name: string; containerPort: number }[];
  livenessProbe?: { httpGet: { path: string; port: string | number } };
  readinessProbe?: { httpGet: { path: string; port: string | number } };
  lifecycle?: { preStop?: { exec?: { command: string[] } } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
}

type Labels = Record<string, string>;
interface Selector {
  matchLabels?: Labels;
  matchExpressions?: unknown[];
}
interface Manifest {
  kind: string;
  metadata: { name: string; labels?: Labels };
  spec: Record<string, unknown>;
}
interface Peer {
  namespaceSelector?: Selector;
  podSelector?: Selector;
  ipBlock?: unknown;
}
interface IngressRule {
  from?: Peer[];
  ports?: { port: string | number; protocol?: string }[];
}
interface ServicePort {
  name: string;
  port: number;
  targetPort: string | number;
}

const ROOT = new URL('../../', import.meta.url);
const read = (file: string) => readFileSync(new URL(file, ROOT), 'utf8');
const kustomization = (dir: string) => parse(read(`${dir}/kustomization.yaml`)) as { resources: string[] };
function load(dir: string): Manifest[] {
  return kustomization(dir).resources.flatMap((file) =>
    parseAllDocuments(read(`${dir}/${file}`)).map((doc) => {
      if (doc.errors.length > 0) throw new Error(`${dir}/${file}: ${doc.errors[0].message}`);
      return doc.toJS() as Manifest;
    }),
  );
}
const manifests = [...load('deploy/k8s'), ...load('deploy/k8s/monitoring')];
const only = (kind: string) => {
  const found = manifests.filter((m) => m.kind === kind);
  if (found.length !== 1) throw new Error(`${found.length} ${kind} manifests`);
  return found[0];
};
const deployment = only('Deployment');
const template = deployment.spec.template as { metadata: { labels: Labels }; spec: unknown };
const pod = template.spec as { terminationGracePeriodSeconds: number; containers: Container[] };
const container = pod.containers[0];
const env = Object.fromEntries((container.env ?? []).map((e) => [e.name, e.value]));
const portOf = (name: string | number) => (typeof name === 'number' ? name : container.ports!.find((p) => p.name === name)!.containerPort);
const services = manifests.filter((m) => m.kind === 'Service');
const policy = only('NetworkPolicy');
const ingress = policy.spec.ingress as IngressRule[];

/** What the operator fills in for the `<…>` placeholders. */
const FILLED = { TRUSTED_PROXIES: '10.42.0.0/16', REDIS: 'redis://redis:6379' };
/** A label value as the API server validates it (k8s.io/apimachinery IsValidLabelValue). */
const isLabelValue = (value: string) => value.length <= 63 && /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/.test(value);
/** Does a selector (matchLabels only: the manifests use nothing else) select objects with these labels? */
function selects(selector: Selector | undefined, labels: Labels): boolean {
  if (!selector || selector.matchExpressions) return false;
  return Object.entries(selector.matchLabels ?? {}).every(([key, value]) => labels[key] === value);
}

test('every manifest of deploy/k8s and deploy/k8s/monitoring is in its kustomization', (t) => {
  for (const dir of ['deploy/k8s', 'deploy/k8s/monitoring']) {
    const files = readdirSync(new URL(dir, ROOT)).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');
    t.deepEqual([...kustomization(dir).resources].sort(), files.sort(), dir);
  }
});

test('every env name of the Deployment and of docker-compose.yml is a setting the service reads', (t) => {
  const accepted = acceptedVariables();
  t.true(accepted.has('TRUSTED_PROXIES') && accepted.has('REDIS'), 'the configuration was read');
  for (const { name } of container.env ?? []) t.true(accepted.has(name), `deployment.yaml sets ${name}, which the service does not read`);
  const compose = parse(read('docker-compose.yml')) as { 'x-heartbeat': { environment: Record<string, string> } };
  for (const name of Object.keys(compose['x-heartbeat'].environment)) t.true(accepted.has(name), `docker-compose.yml sets ${name}`);
});

test('the Deployment sets REDIS and TRUSTED_PROXIES explicitly, and its values pass validation once the placeholder is filled in', (t) => {
  t.truthy((container.env ?? []).find((e) => e.name === 'REDIS')?.valueFrom, 'REDIS comes from a Secret');
  const config = loadConfig({ ...env, ...FILLED });
  t.deepEqual(config.trustedProxies, ['10.42.0.0/16']);
});

test('until TRUSTED_PROXIES is filled in, the configuration check refuses it, naming the variable', (t) => {
  t.regex(env.TRUSTED_PROXIES!, /^<.+>$/, 'a placeholder, not a range that would quietly trust pods');
  const error = t.throws(() => loadConfig({ ...env, REDIS: FILLED.REDIS }), { instanceOf: ConfigError });
  t.is(error.variable, 'TRUSTED_PROXIES');
});

test('a heartbeat started with the Deployment environment as shipped refuses to start (exit 2) and says why', async (t) => {
  const error = await t.throwsAsync(startService({ ...env, REDIS: 'memory', LISTEN: '127.0.0.1:0', ADMIN_LISTEN: '127.0.0.1:0' }));
  t.regex(error.message, /exited with 2 before starting: heartbeat: invalid TRUSTED_PROXIES="<pod-CIDR>": expected/);
});

test('ports, probes and grace period agree with LISTEN, ADMIN_LISTEN and SHUTDOWN_TIMEOUT', (t) => {
  // What the service reads from the Deployment's environment.
  const config = loadConfig({ ...env, ...FILLED });
  t.is(portOf('http'), config.listen.port);
  const admin = config.adminListen!;
  t.is(admin.host, '0.0.0.0', 'the admin port is reachable by the kubelet');
  t.is(portOf('admin'), admin.port);
  t.is(portOf(container.livenessProbe!.httpGet.port), admin.port);
  t.is(portOf(container.readinessProbe!.httpGet.port), admin.port);
  t.is(container.livenessProbe!.httpGet.path, '/healthz');
  t.is(container.readinessProbe!.httpGet.path, '/readyz');
  const preStop = container.lifecycle?.preStop?.exec?.command;
  const sleep = preStop?.[0] === 'sleep' ? Number(preStop[1]) : 0;
  t.true(pod.terminationGracePeriodSeconds > sleep + Number(env.SHUTDOWN_TIMEOUT), 'the kubelet waits longer than preStop plus the drain');
  const publicService = services.find((s) => s.metadata.name === 'heartbeat')!;
  t.deepEqual(
    (publicService.spec.ports as ServicePort[]).map((p) => portOf(p.targetPort)),
    [portOf('http')],
    'the Service traefik uses exposes the public port only, never the admin port',
  );
  t.truthy(container.resources?.requests?.memory && container.resources?.limits?.memory);
  t.truthy(env.MAX_CONNECTIONS, 'streams per pod are bounded to what the memory limit was sized for');
});

test('WORKERS=auto with a whole-CPU limit equal to the request: one worker per CPU of the limit, as the container sees it', (t) => {
  t.is(env.WORKERS, 'auto');
  const { requests, limits } = container.resources!;
  t.is(limits?.cpu, requests?.cpu, 'the CPU limit equals the request');
  t.regex(limits!.cpu, /^[1-9]\d*$/, 'a whole number of CPUs: a fractional quota would throttle a worker’s event loop');
  // The cgroup v2 files the kubelet writes for this limit, as the container sees them.
  const dir = mkdtempSync(path.join(tmpdir(), 'heartbeat-limit-'));
  try {
    writeFileSync(path.join(dir, 'cgroup'), '0::/\n');
    writeFileSync(path.join(dir, 'cpu.max'), `${Number(limits!.cpu) * 100_000} 100000\n`);
    t.is(availableCpus({ procSelfCgroup: path.join(dir, 'cgroup'), cgroupRoot: dir }, 64).count, Number(limits!.cpu));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('every selector selects the Deployment’s pods: its own, the Services’, the PodDisruptionBudget’s, the NetworkPolicy’s', (t) => {
  const labels = template.metadata.labels;
  t.true(selects(deployment.spec.selector as Selector, labels), 'Deployment');
  for (const service of services) t.true(selects({ matchLabels: service.spec.selector as Labels }, labels), service.metadata.name);
  t.true(selects(only('PodDisruptionBudget').spec.selector as Selector, labels), 'PodDisruptionBudget');
  t.true(selects(policy.spec.podSelector as Selector, labels), 'NetworkPolicy');
  t.deepEqual(policy.spec.policyTypes, ['Ingress']);
});

test('the NetworkPolicy admits each port a Service exposes from its one peer: the public port from traefik, the admin port from the monitoring namespace', (t) => {
  for (const rule of ingress) {
    t.true((rule.from ?? []).length > 0, 'no rule admits every source');
    t.true((rule.ports ?? []).length > 0, 'no rule admits every port');
    for (const peer of rule.from!) t.falsy(peer.ipBlock, 'peers are pods, never address ranges');
  }
  /** The rules that admit a container port, by its name or number. */
  const rulesFor = (port: number) =>
    ingress.filter((rule) => rule.ports!.some((p) => portOf(p.port) === port && (p.protocol ?? 'TCP') === 'TCP'));
  const exposed = services.flatMap((s) => (s.spec.ports as ServicePort[]).map((p) => portOf(p.targetPort)));
  t.deepEqual([...new Set(exposed)].sort(), [portOf('admin'), portOf('http')].sort(), 'the Services expose the public and the admin port');
  const [publicRule, ...morePublic] = rulesFor(portOf('http'));
  t.is(morePublic.length, 0);
  t.deepEqual(publicRule.from, [
    {
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': '<traefik-namespace>' } },
      podSelector: { matchLabels: { 'app.kubernetes.io/name': 'traefik' } },
    },
  ]);
  const [adminRule, ...moreAdmin] = rulesFor(portOf('admin'));
  t.is(moreAdmin.length, 0);
  t.deepEqual(adminRule.from, [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': '<monitoring-namespace>' } } }]);
  t.is(ingress.length, 2, 'nothing else is admitted');
});

test('the NetworkPolicy’s placeholders are not label values, so the API server refuses it until they are filled in', (t) => {
  const values = ingress.flatMap((rule) => rule.from!.map((peer) => peer.namespaceSelector!.matchLabels!['kubernetes.io/metadata.name']));
  t.deepEqual(values, ['<traefik-namespace>', '<monitoring-namespace>']);
  for (const value of values) t.false(isLabelValue(value), value);
  for (const value of ['traefik', 'kube-system', 'monitoring']) t.true(isLabelValue(value), value);
});

test('the ServiceMonitor scrapes the admin port of the headless admin Service only, under job="heartbeat"', (t) => {
  const monitor = only('ServiceMonitor').spec as { jobLabel: string; selector: Selector; endpoints: { port: string; path: string }[] };
  const selected = services.filter((s) => selects(monitor.selector, s.metadata.labels ?? {}));
  t.deepEqual(
    selected.map((s) => s.metadata.name),
    ['heartbeat-admin'],
  );
  const admin = selected[0];
  t.is(admin.spec.clusterIP, 'None', 'headless: nothing routes to it');
  t.deepEqual(
    monitor.endpoints.map((e) => [e.port, e.path]),
    [['admin', '/metrics']],
  );
  const port = (admin.spec.ports as ServicePort[]).find((p) => p.name === 'admin')!;
  t.is(portOf(port.targetPort), portOf('admin'));
  t.is(admin.metadata.labels?.[monitor.jobLabel], 'heartbeat', 'the job label the alerts select');
});

test('a service started with the Deployment environment answers the probes the manifest names', async (t) => {
  const store = await startStore('redis');
  const service = await startService({ ...env, ...FILLED, REDIS: store.redis, LISTEN: '127.0.0.1:0', ADMIN_LISTEN: '127.0.0.1:0' });
  try {
    for (const probe of [container.livenessProbe!, container.readinessProbe!]) {
      const res = await fetch(`${service.adminUrl}${probe.httpGet.path}`);
      t.is(res.status, 200, probe.httpGet.path);
      await res.arrayBuffer();
    }
  } finally {
    t.is((await service.stop()).code, 0);
    await store.close();
  }
});
