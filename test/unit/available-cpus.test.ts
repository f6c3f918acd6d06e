import test from 'ava';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { availableCpus, cpuCgroupOf, parseCfsQuota, parseCpuMax } from '../../src/process/available-cpus.js';
import { loadConfig } from '../../src/process/config.js';

/**
 * WORKERS=auto counts the CPUs a container may use, not its host's: the cgroup CPU quota (v2
 * cpu.max, v1 CFS quota, on the cgroup or an ancestor) and the affinity mask, the smaller rounded
 * up. Each case lays out a temp dir standing in for /proc/self/cgroup and /sys/fs/cgroup as a
 * container would see them.
 */

/** A fake /proc/self/cgroup and /sys/fs/cgroup: `files` maps paths under the cgroup root to contents. */
function host(t: { teardown(fn: () => void): void }, procSelfCgroup: string | null, files: Record<string, string>) {
  const dir = mkdtempSync(path.join(tmpdir(), 'heartbeat-cgroup-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const cgroupRoot = path.join(dir, 'sys/fs/cgroup');
  mkdirSync(cgroupRoot, { recursive: true });
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(cgroupRoot, file)), { recursive: true });
    writeFileSync(path.join(cgroupRoot, file), text);
  }
  const procSelfCgroup_ = path.join(dir, 'cgroup');
  if (procSelfCgroup !== null) writeFileSync(procSelfCgroup_, procSelfCgroup);
  return { procSelfCgroup: procSelfCgroup_, cgroupRoot };
}

test('cgroup v2 in its own namespace (Kubernetes, containerd): cpu.max 150000 100000 is 1.5 CPUs, rounded up to 2', (t) => {
  const files = host(t, '0::/\n', { 'cpu.max': '150000 100000\n' });
  const cpus = availableCpus(files, 8);
  t.is(cpus.count, 2);
  t.regex(cpus.from, /^cgroup v2 .*\/sys\/fs\/cgroup\/cpu\.max 150000 100000 = 1\.5; affinity mask 8$/);
});

test('cgroup v2 without a quota (`max`): the affinity mask decides', (t) => {
  const cpus = availableCpus(host(t, '0::/\n', { 'cpu.max': 'max 100000\n' }), 4);
  t.is(cpus.count, 4);
  t.is(cpus.from, 'cgroup v2: no CPU quota; affinity mask 4');
});

test('cgroup v2 seen from the host: the smallest quota on the way up wins (the pod limit above the container)', (t) => {
  const pod = 'kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice';
  const files = host(t, `0::/${pod}/cri-containerd-abc.scope\n`, {
    'kubepods.slice/cpu.max': 'max 100000',
    [`${pod}/cpu.max`]: '200000 100000',
    [`${pod}/cri-containerd-abc.scope/cpu.max`]: 'max 100000',
  });
  const cpus = availableCpus(files, 16);
  t.is(cpus.count, 2);
  t.true(cpus.from.includes(`${pod}/cpu.max 200000 100000 = 2`), cpus.from);
});

test('cgroup v1 (Docker without a cgroup namespace): the container cgroup is mounted at the controller root, under the path named in /proc/self/cgroup', (t) => {
  const files = host(t, '12:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n0::/system.slice/docker.service\n', {
    'cpu,cpuacct/cpu.cfs_quota_us': '50000\n',
    'cpu,cpuacct/cpu.cfs_period_us': '100000\n',
  });
  const cpus = availableCpus(files, 2);
  t.is(cpus.count, 1, 'half a CPU is one worker, never zero');
  t.regex(cpus.from, /cgroup v1 .*\/cgroup\/cpu,cpuacct\/cpu\.cfs_quota_us 50000 over cpu\.cfs_period_us 100000 = 0\.5; affinity mask 2$/);
});

test('cgroup v1 with a separate cpu hierarchy and no quota (-1): the affinity mask decides', (t) => {
  const files = host(t, '2:cpuacct:/\n1:cpu:/\n0::/\n', { 'cpu/cpu.cfs_quota_us': '-1\n', 'cpu/cpu.cfs_period_us': '100000\n' });
  const cpus = availableCpus(files, 2);
  t.is(cpus.count, 2);
  t.is(cpus.from, 'cgroup v1: no CPU quota; affinity mask 2');
});

test('an affinity mask narrower than the quota (cpuset, taskset) decides', (t) => {
  t.is(availableCpus(host(t, '0::/\n', { 'cpu.max': '400000 100000' }), 3).count, 3);
});

test('no /proc/self/cgroup (not Linux, or hidden): the affinity mask alone', (t) => {
  const cpus = availableCpus(host(t, null, {}), 6);
  t.is(cpus.count, 6);
  t.is(cpus.from, 'no cgroup cpu controller found; affinity mask 6');
});

test('the parsers take the files as the kernel writes them', (t) => {
  t.deepEqual(cpuCgroupOf('0::/a/b\n'), { version: 2, path: '/a/b' });
  t.deepEqual(cpuCgroupOf('3:cpu,cpuacct:/x:y\n0::/\n'), { version: 1, path: '/x:y', controllers: 'cpu,cpuacct' });
  t.deepEqual(cpuCgroupOf('0::/\n5:cpuset:/\n'), { version: 2, path: '/' }, 'cpuset is not the cpu controller');
  t.is(cpuCgroupOf('garbage'), null);
  t.is(parseCpuMax('max 100000\n'), null);
  t.is(parseCpuMax('max\n'), null);
  t.is(parseCpuMax('250000 100000\n'), 2.5);
  t.is(parseCpuMax('50000 100000'), 0.5);
  t.is(parseCpuMax(''), null, 'an unreadable value counts as no limit');
  t.is(parseCfsQuota('-1\n', '100000\n'), null);
  t.is(parseCfsQuota('300000\n', '100000\n'), 3);
  t.is(parseCfsQuota('0', '100000'), null);
});

test('WORKERS=auto is the CPUs this process may use, on this machine too', (t) => {
  const here = availableCpus();
  t.is(loadConfig({ WORKERS: 'auto' }).workers, here.count);
  t.true(here.count >= 1 && here.count <= availableParallelism(), here.from);
  t.is(loadConfig({ WORKERS: '3' }).workers, 3);
});
