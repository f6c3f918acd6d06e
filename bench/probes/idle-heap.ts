/**
 * RSS and V8 heap spaces of a server while N idle streams are held, every 5 s.
 *
 *   npm run build && node --import tsx bench/probes/idle-heap.ts [N=15000] [seconds=120] [ours|baseline|floor] [--ours <main.js>]
 *
 * `--ours <main.js>`: another build of ours (an older commit's worktree, after its build).
 *
 * Heap spaces come from the admin port's Prometheus metrics (`nodejs_heap_space_size_*`), so they
 * are shown for ours only; RSS is read from /proc for every target. It shows where an idle
 * stream's bytes sit (old space, new space, outside the heap) and when V8's memory reducer runs.
 */
import { Pool } from '../client/pool.js';
import { prometheusSamples, rssKiB, setOursEntry, sleep, withServer, type Server, type TargetName } from '../server-proc.js';

const args = process.argv.slice(2);
const oursAt = args.indexOf('--ours');
if (oursAt >= 0) setOursEntry(args.splice(oursAt, 2)[1]);
const n = Number(args[0] ?? 15_000);
const seconds = Number(args[1] ?? 120);
const target = (args[2] ?? 'ours') as TargetName;
const MiB = 1024 * 1024;

async function heapSpaces(server: Server): Promise<string> {
  if (target !== 'ours' || !server.adminPort) return '';
  const samples = prometheusSamples(await (await fetch(`http://127.0.0.1:${server.adminPort}/metrics`)).text());
  const read = (kind: 'used' | 'total', space: string) =>
    (samples.find((s) => s.name === `nodejs_heap_space_size_${kind}_bytes` && s.labels.includes(`space="${space}"`))?.value ?? NaN) / MiB;
  return ['new', 'old', 'code', 'large_object']
    .map((space) => `${space} ${read('used', space).toFixed(1)}/${read('total', space).toFixed(1)} MiB`)
    .join('  ');
}

await withServer(target, { admin: true }, async (server) => {
  const pool = Pool.forSockets(n);
  try {
    await sleep(15_000); // V8 gives back the startup garbage ~8 s after start (see Method)
    const rss0 = rssKiB(server.pid);
    console.log(`before: RSS ${rss0} KiB  ${await heapSpaces(server)}`);
    const conn = await pool.connect({ host: '127.0.0.1', port: server.port }, n, { users: n });
    console.log(`connected ${conn.ok}, failed ${conn.failed}`);
    for (let s = 5; s <= seconds; s += 5) {
      await sleep(5_000);
      const rss = rssKiB(server.pid);
      const per = Math.round(((rss - rss0) * 1024) / Math.max(1, conn.ok));
      console.log(`${String(s).padStart(4)} s: RSS ${rss} KiB, ${per} B per stream  ${await heapSpaces(server)}`);
    }
  } finally {
    await pool.close();
  }
});
