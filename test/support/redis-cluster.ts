import { execFile } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePortWithBus } from './ports.js';
import { PortInUseError, startRedis, type RedisServer } from './redis-server.js';

export interface RedisClusterOptions {
  /** Default 3, which is also the minimum `redis-cli --cluster create` accepts. */
  masters?: number;
  /** Default 0. */
  replicasPerMaster?: number;
  /** Enables AOF on every node with this fsync policy. Default: persistence off. */
  appendfsync?: 'always' | 'everysec' | 'no';
}

export interface RedisCluster {
  /** All nodes, masters first (in the role they had right after creation). */
  readonly nodes: RedisServer[];
  /** 'redis-cluster://127.0.0.1:p1,127.0.0.1:p2,...' listing every node (the service's REDIS form). */
  readonly seeds: string;
  readonly seedList: { host: string; port: number }[];
  /** The node currently serving the key's slot, according to a live node. */
  masterFor(key: string): Promise<RedisServer>;
  /** Resolves once a replica owns the dead master's slots and every live node reports cluster_state:ok. */
  waitForFailover(deadMaster: RedisServer, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

const SLOTS = 16384;
const NODE_TIMEOUT_MS = 1000;
const NODE_ARGS = [
  '--cluster-enabled',
  'yes',
  '--cluster-config-file',
  'nodes.conf',
  // Short, so a killed master is marked FAIL (and failed over) within a couple of seconds.
  '--cluster-node-timeout',
  String(NODE_TIMEOUT_MS),
  // 0 = a replica may always take over, however stale its data or long its link has been down;
  // otherwise a slow test box can leave the cluster without an eligible replica.
  '--cluster-replica-validity-factor',
  '0',
  // The default 5 s delay (waiting for more replicas to share one diskless sync) dominates startup.
  '--repl-diskless-sync-delay',
  '0',
];
const PORT_ATTEMPTS = 5;
const CREATE_TIMEOUT_MS = 30_000;
// Generous bounds for a busy box: a passing run returns as soon as the cluster is ready or failed over.
const READY_TIMEOUT_MS = 60_000;
const DEFAULT_FAILOVER_TIMEOUT_MS = 60_000;
const POLL_MS = 100;

export async function startRedisCluster(opts: RedisClusterOptions = {}): Promise<RedisCluster> {
  const masters = opts.masters ?? 3;
  const replicas = opts.replicasPerMaster ?? 0;
  if (masters < 3) throw new Error('redis-cli --cluster create needs at least 3 masters');

  const launched = await Promise.allSettled(Array.from({ length: masters * (1 + replicas) }, () => startNode(opts.appendfsync)));
  const nodes = launched.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = launched.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  try {
    if (failed) throw failed.reason;
    await redisCli(
      ['--cluster', 'create', ...nodes.map((n) => n.address), '--cluster-replicas', String(replicas), '--cluster-yes'],
      CREATE_TIMEOUT_MS,
    );
    await waitUntil(
      'cluster ready',
      READY_TIMEOUT_MS,
      () => isReady(nodes, masters, replicas),
      () => describe(nodes),
    );
    return await Cluster.create(nodes);
  } catch (err) {
    await Promise.all(nodes.map((n) => n.close()));
    throw err;
  }
}

async function startNode(appendfsync: RedisClusterOptions['appendfsync']): Promise<RedisServer> {
  // freePortWithBus only probes; another process may grab port or bus port before redis binds.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startRedis({ port: await freePortWithBus(), appendfsync, extraArgs: NODE_ARGS });
    } catch (err) {
      if (!(err instanceof PortInUseError) || attempt >= PORT_ATTEMPTS) throw err;
    }
  }
}

class Cluster implements RedisCluster {
  readonly seeds: string;
  readonly seedList: { host: string; port: number }[];

  private constructor(
    readonly nodes: RedisServer[],
    // Node ids survive restarts (nodes.conf), so they are read once.
    private readonly ids: Map<RedisServer, string>,
  ) {
    this.seedList = nodes.map((n) => ({ host: n.host, port: n.port }));
    this.seeds = `redis-cluster://${nodes.map((n) => n.address).join(',')}`;
  }

  static async create(nodes: RedisServer[]): Promise<Cluster> {
    const ids = new Map(await Promise.all(nodes.map(async (n) => [n, await n.cli('CLUSTER', 'MYID')] as const)));
    const view = parseClusterNodes(await nodes[0].cli('CLUSTER', 'NODES'));
    const isMaster = (n: RedisServer): boolean => view.find((entry) => entry.id === ids.get(n))?.flags.includes('master') ?? false;
    const ordered = [...nodes.filter(isMaster), ...nodes.filter((n) => !isMaster(n))];
    return new Cluster(ordered, ids);
  }

  async masterFor(key: string): Promise<RedisServer> {
    const node = this.liveNode();
    const slot = Number(await node.cli('CLUSTER', 'KEYSLOT', key));
    const owner = parseClusterNodes(await node.cli('CLUSTER', 'NODES')).find((entry) =>
      entry.slots.some(([from, to]) => slot >= from && slot <= to),
    );
    const server = owner && this.nodes.find((n) => n.port === owner.port);
    if (!server) throw new Error(`no node owns slot ${slot} (key ${key}) according to ${node.address}`);
    return server;
  }

  async waitForFailover(deadMaster: RedisServer, timeoutMs = DEFAULT_FAILOVER_TIMEOUT_MS): Promise<void> {
    const deadId = this.ids.get(deadMaster);
    if (!deadId) throw new Error(`${deadMaster.address} is not a node of this cluster`);
    const view = parseClusterNodes(await this.liveNode(deadMaster).cli('CLUSTER', 'NODES'));
    const stillOwnsSlots = view.some((e) => e.id === deadId && e.slots.length > 0);
    if (stillOwnsSlots && !view.some((e) => e.masterId === deadId)) {
      throw new Error(`${deadMaster.address} has no replica that could take over`);
    }
    // Done when, on every live node, the dead master owns nothing and all slots are served again.
    // In tests slots only move by failover, so the new owner is necessarily a former replica.
    const failedOver = async (): Promise<boolean> => {
      const live = this.nodes.filter((n) => n.running && n !== deadMaster);
      const checks = await Promise.all(
        live.map(async (n) => {
          const [info, nodes] = await Promise.all([n.cli('CLUSTER', 'INFO'), n.cli('CLUSTER', 'NODES')]);
          const entries = parseClusterNodes(nodes);
          return parseInfo(info).cluster_state === 'ok' && !entries.some((e) => e.id === deadId && e.slots.length > 0);
        }),
      );
      return checks.every(Boolean);
    };
    await waitUntil(`failover of ${deadMaster.address}`, timeoutMs, failedOver, () => describe(this.nodes.filter((n) => n.running)));
  }

  async close(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.close()));
  }

  private liveNode(except?: RedisServer): RedisServer {
    const node = this.nodes.find((n) => n.running && n !== except);
    if (!node) throw new Error('no cluster node is running');
    return node;
  }
}

async function isReady(nodes: RedisServer[], masters: number, replicas: number): Promise<boolean> {
  const checks = await Promise.all(
    nodes.map(async (n) => {
      const cluster = parseInfo(await n.cli('CLUSTER', 'INFO'));
      const replication = parseInfo(await n.cli('INFO', 'replication'));
      const clusterOk =
        cluster.cluster_state === 'ok' &&
        Number(cluster.cluster_slots_assigned) === SLOTS &&
        Number(cluster.cluster_known_nodes) === nodes.length &&
        Number(cluster.cluster_size) === masters;
      // Replicas must have finished the initial sync, or a failover in the test would lose data.
      const replicationOk =
        replication.role === 'master' ? Number(replication.connected_slaves) === replicas : replication.master_link_status === 'up';
      return clusterOk && replicationOk;
    }),
  );
  return checks.every(Boolean);
}

/** Polls `check` until it returns true; on timeout throws with `diagnose()` output. */
async function waitUntil(what: string, timeoutMs: number, check: () => Promise<boolean>, diagnose: () => Promise<string>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch (err) {
      lastError = err; // e.g. a node briefly refusing connections; keep polling
    }
    await sleep(POLL_MS);
  }
  const cause = lastError instanceof Error ? `\nlast error: ${lastError.message}` : '';
  throw new Error(`redis: ${what} not reached within ${timeoutMs} ms${cause}\n${await diagnose()}`);
}

async function describe(nodes: RedisServer[]): Promise<string> {
  const views = await Promise.all(
    nodes.map(async (n) => {
      const info = await n.cli('CLUSTER', 'INFO').catch((err: Error) => err.message);
      const state = /cluster_state:\S+/.exec(info)?.[0] ?? info;
      const view = await n.cli('CLUSTER', 'NODES').catch((err: Error) => err.message);
      return `--- ${n.address} ${state}\n${view}`;
    }),
  );
  return views.join('\n');
}

interface NodeEntry {
  id: string;
  port: number;
  flags: string[];
  /** '-' for masters. */
  masterId: string;
  /** Inclusive ranges; importing/migrating markers ("[...]") are left out. */
  slots: [number, number][];
}

/** Parses CLUSTER NODES: `<id> <ip:port@cport[,hostname]> <flags> <master> <ping> <pong> <epoch> <link> <slot>...` */
function parseClusterNodes(text: string): NodeEntry[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const [id, addr, flags, masterId, , , , , ...slotFields] = line.trim().split(' ');
      const slots = slotFields
        .filter((s) => !s.startsWith('['))
        .map((s): [number, number] => {
          const [from, to = from] = s.split('-');
          return [Number(from), Number(to)];
        });
      return { id, port: Number(/:(\d+)@/.exec(addr)?.[1]), flags: flags.split(','), masterId, slots };
    });
}

function parseInfo(text: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const sep = line.indexOf(':');
    if (sep > 0) fields[line.slice(0, sep)] = line.slice(sep + 1).trim();
  }
  return fields;
}

function redisCli(args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('redis-cli', args, { timeout: timeoutMs }, (err, stdout, stderr) => {
      if (err) reject(new Error(`redis-cli ${args.join(' ')} failed: ${err.message}\n${stdout}${stderr}`));
      else resolve(stdout);
    });
  });
}
