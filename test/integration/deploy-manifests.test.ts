import test from 'ava';
import { readFileSync } from 'node:fs';
import { parseAllDocuments, parse } from 'yaml';
import { loadConfig } from '../../src/config.js';
import { startStore } from '../support/stores.js';
import { acceptedVariables } from '../support/config-variables.js';
import { startService } from '../support/service.js';

/**
 * The Kubernetes manifests (deploy/k8s/) and the compose file match the service: every env name
 * is one the configuration reads, the values pass its validation, the probes hit the admin port's
 * real routes, and the grace period outlasts the drain.
 */

interface Container {
  env?: { name: string; value?: string; valueFrom?: unknown }[];
  ports?: { name: string; containerPort: number }[];
  livenessProbe?: { httpGet: { path: string; port: string | number } };
  readinessProbe?: { httpGet: { path: string; port: string | number } };
  lifecycle?: { preStop?: { exec?: { command: string[] } } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
}

type Manifest = { kind: string; spec: Record<string, unknown> };

const read = (file: string) => readFileSync(new URL(`../../${file}`, import.meta.url), 'utf8');
const manifests: Manifest[] = ['deploy/k8s/deployment.yaml', 'deploy/k8s/service.yaml', 'deploy/k8s/pdb.yaml'].flatMap((file) =>
  parseAllDocuments(read(file)).map((doc) => {
    if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0].message}`);
    return doc.toJS() as Manifest;
  }),
);
const deployment = manifests.find((m) => m.kind === 'Deployment')!;
const pod = (deployment.spec.template as { spec: unknown }).spec as { terminationGracePeriodSeconds: number; containers: Container[] };
const container = pod.containers[0];
const env = Object.fromEntries((container.env ?? []).map((e) => [e.name, e.value]));
const portOf = (name: string | number) => (typeof name === 'number' ? name : container.ports!.find((p) => p.name === name)!.containerPort);

test('every env name of the Deployment and of docker-compose.yml is a setting the service reads', (t) => {
  const accepted = acceptedVariables();
  t.true(accepted.has('TRUSTED_PROXIES') && accepted.has('REDIS'), 'the configuration was read');
  for (const { name } of container.env ?? []) t.true(accepted.has(name), `deployment.yaml sets ${name}, which the service does not read`);
  const compose = parse(read('docker-compose.yml')) as { 'x-heartbeat': { environment: Record<string, string> } };
  for (const name of Object.keys(compose['x-heartbeat'].environment)) t.true(accepted.has(name), `docker-compose.yml sets ${name}`);
});

test('the Deployment sets REDIS and TRUSTED_PROXIES explicitly, and its values pass validation', (t) => {
  t.truthy((container.env ?? []).find((e) => e.name === 'REDIS')?.valueFrom, 'REDIS comes from a Secret');
  t.truthy(env.TRUSTED_PROXIES, 'TRUSTED_PROXIES is set (the default refuses traefik)');
  t.notThrows(() => loadConfig({ ...env, REDIS: 'redis://redis:6379' }));
  const config = loadConfig({ ...env, REDIS: 'redis://redis:6379' });
  t.not(config.trustedProxies, '*');
  t.is(config.workers, 1);
});

test('ports, probes and grace period agree with LISTEN, ADMIN_LISTEN and SHUTDOWN_TIMEOUT', (t) => {
  // What the service reads from the Deployment's environment.
  const config = loadConfig({ ...env, REDIS: 'redis://redis:6379' });
  t.is(portOf('http'), config.listen.port);
  const admin = config.adminListen!;
  t.is(admin.host, '0.0.0.0', 'the admin port is reachable by the kubelet');
  t.is(portOf(container.livenessProbe!.httpGet.port), admin.port);
  t.is(portOf(container.readinessProbe!.httpGet.port), admin.port);
  t.is(container.livenessProbe!.httpGet.path, '/healthz');
  t.is(container.readinessProbe!.httpGet.path, '/readyz');
  const preStop = container.lifecycle?.preStop?.exec?.command;
  const sleep = preStop?.[0] === 'sleep' ? Number(preStop[1]) : 0;
  t.true(pod.terminationGracePeriodSeconds > sleep + Number(env.SHUTDOWN_TIMEOUT), 'the kubelet waits longer than preStop plus the drain');
  const service = manifests.find((m) => m.kind === 'Service')!;
  t.deepEqual(
    (service.spec.ports as { targetPort: string | number }[]).map((p) => portOf(p.targetPort)),
    [portOf('http')],
    'the Service exposes the public port only, never the admin port',
  );
  const pdb = manifests.find((m) => m.kind === 'PodDisruptionBudget')!;
  t.deepEqual(pdb.spec.selector, deployment.spec.selector);
  t.truthy(container.resources?.requests?.memory && container.resources?.limits?.memory);
  t.truthy(env.MAX_CONNECTIONS, 'streams per pod are bounded to what the memory limit was sized for');
});

test('a service started with the Deployment environment answers the probes the manifest names', async (t) => {
  const store = await startStore('redis');
  const service = await startService({ ...env, REDIS: store.redis, LISTEN: '127.0.0.1:0', ADMIN_LISTEN: '127.0.0.1:0' });
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
