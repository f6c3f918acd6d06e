import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';

/**
 * The CPUs this process may use, for WORKERS=auto. A container sees every CPU of its host in
 * os.cpus(), but runs on what its cgroup's CPU quota allows (a Kubernetes CPU limit) and on the
 * CPUs its affinity mask names (cpuset, `taskset`): more workers than that only share the same
 * quota and get throttled together.
 */
export interface AvailableCpus {
  /** The smallest of the limits, rounded up, at least 1. */
  readonly count: number;
  /** Each limit found and where, for the start line: `cgroup v2 /sys/fs/cgroup/cpu.max 150000 100000 = 1.5; affinity mask 4`. */
  readonly from: string;
}

/** Where this process's cpu controller is, from /proc/self/cgroup. */
interface CpuCgroup {
  readonly version: 1 | 2;
  /** The cgroup's path in its hierarchy (`/` inside a container with its own cgroup namespace). */
  readonly path: string;
  /** cgroup v1: the hierarchy's controllers as listed (`cpu,cpuacct`), which names its directory. */
  readonly controllers?: string;
}

/**
 * Reads /proc/self/cgroup: `0::/path` is the cgroup v2 (unified) hierarchy, `N:cpu,cpuacct:/path`
 * a cgroup v1 one. On a hybrid host the cpu controller is on v1 when a v1 line names it.
 * @internal exported for its test
 */
export function cpuCgroupOf(procSelfCgroup: string): CpuCgroup | null {
  let unified: string | null = null;
  for (const line of procSelfCgroup.split('\n')) {
    const match = /^(\d+):([^:]*):(.*)$/.exec(line.trim());
    if (!match) continue;
    const [, id, controllers, cgroupPath] = match;
    if (id === '0' && controllers === '') unified = cgroupPath;
    else if (controllers.split(',').includes('cpu')) return { version: 1, path: cgroupPath, controllers };
  }
  return unified === null ? null : { version: 2, path: unified };
}

/** CPUs a quota allows: quota over period, or null for no limit (or a value that is not one). */
function ratio(quota: string, period: string): number | null {
  const q = Number(quota);
  const p = Number(period);
  return Number.isFinite(q) && Number.isFinite(p) && q > 0 && p > 0 ? q / p : null;
}

/**
 * cgroup v2 `cpu.max`: `$QUOTA $PERIOD` in µs; `max` is no limit.
 * @internal exported for its test
 */
export function parseCpuMax(text: string): number | null {
  const [quota = '', period = '100000'] = text.trim().split(/\s+/);
  return quota === 'max' ? null : ratio(quota, period);
}

/**
 * cgroup v1 CFS: `cpu.cfs_quota_us` (-1 is no limit) over `cpu.cfs_period_us`.
 * @internal exported for its test
 */
export function parseCfsQuota(quota: string, period: string): number | null {
  return quota.trim() === '-1' ? null : ratio(quota.trim(), period.trim());
}

function readOrNull(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

/** The cgroup's directory and each of its ancestors' up to the mount, deepest first. */
function directoriesUp(mount: string, cgroupPath: string): string[] {
  const out: string[] = [];
  for (let p = path.posix.normalize(`/${cgroupPath}`); ; p = path.posix.dirname(p)) {
    out.push(p === '/' ? mount : path.join(mount, p));
    if (p === '/') return out;
  }
}

/**
 * The smallest CPU quota on the cgroup and its ancestors (a pod's limit sits on the pod's cgroup,
 * the container's below it). Ancestors the mount does not show are skipped: a container without
 * its own cgroup namespace sees its own cgroup mounted at the root, under a path naming the host's.
 */
function quotaOf(cgroup: CpuCgroup, cgroupRoot: string): { cpus: number; from: string } | null {
  const mount = cgroup.version === 2 ? cgroupRoot : path.join(cgroupRoot, cgroup.controllers ?? 'cpu');
  const mounts = cgroup.version === 2 ? [mount] : [...new Set([mount, path.join(cgroupRoot, 'cpu')])];
  let found: { cpus: number; from: string } | null = null;
  for (const dir of mounts.flatMap((m) => directoriesUp(m, cgroup.path))) {
    const quota = cgroup.version === 2 ? readQuotaV2(dir) : readQuotaV1(dir);
    if (quota && (found === null || quota.cpus < found.cpus)) found = quota;
  }
  return found;
}

function readQuotaV2(dir: string): { cpus: number; from: string } | null {
  const file = path.join(dir, 'cpu.max');
  const text = readOrNull(file);
  const cpus = text === null ? null : parseCpuMax(text);
  return cpus === null ? null : { cpus, from: `cgroup v2 ${file} ${text!.trim()} = ${cpus}` };
}

function readQuotaV1(dir: string): { cpus: number; from: string } | null {
  const quota = readOrNull(path.join(dir, 'cpu.cfs_quota_us'));
  const period = readOrNull(path.join(dir, 'cpu.cfs_period_us'));
  const cpus = quota === null || period === null ? null : parseCfsQuota(quota, period);
  return cpus === null
    ? null
    : { cpus, from: `cgroup v1 ${path.join(dir, 'cpu.cfs_quota_us')} ${quota!.trim()} over cpu.cfs_period_us ${period!.trim()} = ${cpus}` };
}

/**
 * The CPUs this process may use: the cgroup CPU quota (v2 `cpu.max`, v1 CFS quota, the smallest
 * on the way up the hierarchy) and the affinity mask (os.availableParallelism(), which reads
 * sched_getaffinity), the smaller rounded up, at least 1. A cgroup that cannot be read counts as
 * no limit: the affinity mask still bounds the count.
 */
export function availableCpus(
  files: { procSelfCgroup: string; cgroupRoot: string } = { procSelfCgroup: '/proc/self/cgroup', cgroupRoot: '/sys/fs/cgroup' },
  affinity: number = availableParallelism(),
): AvailableCpus {
  const text = readOrNull(files.procSelfCgroup);
  const cgroup = text === null ? null : cpuCgroupOf(text);
  const quota = cgroup === null ? null : quotaOf(cgroup, files.cgroupRoot);
  const limits = [
    quota?.from ?? (cgroup === null ? 'no cgroup cpu controller found' : `cgroup v${cgroup.version}: no CPU quota`),
    `affinity mask ${affinity}`,
  ];
  return { count: Math.max(1, Math.ceil(Math.min(affinity, quota?.cpus ?? Infinity))), from: limits.join('; ') };
}
