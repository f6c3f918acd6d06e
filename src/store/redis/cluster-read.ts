import type { Cluster } from 'ioredis';
import { keySlot } from './key-slot.js';

type Rows = (string | null)[][];

/**
 * The `fields` of each hash in `keys`, on a cluster: one pipeline of HMGETs per master, instead of
 * one command (one write, one reply, one promise) per key. read-pings.lua cannot serve a cluster:
 * a script's keys must share a slot, and 50 users' keys do not. A key whose slot the client does
 * not know yet (no slots map) is read alone, and ioredis routes it.
 */
export async function readPerMaster(cluster: Cluster, keys: readonly string[], fields: readonly string[]): Promise<Rows> {
  const byMaster = new Map<string, number[]>();
  const alone: number[] = [];
  keys.forEach((key, i) => {
    const master = (cluster.slots[keySlot(key)] as string[] | undefined)?.[0];
    if (master === undefined) return alone.push(i);
    const indexes = byMaster.get(master);
    if (indexes) indexes.push(i);
    else byMaster.set(master, [i]);
  });
  const rows: Rows = new Array<(string | null)[]>(keys.length);
  const reads: Promise<void>[] = alone.map(async (i) => {
    rows[i] = await cluster.hmget(keys[i], ...fields);
  });
  for (const indexes of byMaster.values()) {
    const pipeline = cluster.pipeline();
    for (const i of indexes) pipeline.hmget(keys[i], ...fields);
    reads.push(
      pipeline.exec().then((replies) => {
        indexes.forEach((keyIndex, j) => {
          const [error, value] = replies![j];
          if (error) throw error;
          rows[keyIndex] = value as (string | null)[];
        });
      }),
    );
  }
  await Promise.all(reads);
  return rows;
}
