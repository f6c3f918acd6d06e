/**
 * The heap of one stream, by what it holds: `streams` streams of `contacts` users each
 * (`GET /subscribe?user=…`, or `/subscribe/<user>` for one), drawn from `users` users who all
 * pinged first, so each replay carries `contacts` cached pings. WORKERS=1 on Redis. A heap
 * snapshot (a full GC first) is taken before the streams open and once every stream said
 * `event: ready`; the difference, divided by the streams, is the heap per stream, and
 * snapshot-diff.mjs names where it sits (bytes per stream by object kind).
 *
 *   npm run build && node --import tsx bench/probes/contacts-heap.ts [streams=1000] [contacts=50] [users=2000] [options]
 *
 * Options:
 * - `--idle`: nobody pings first (the `hold` scenario's idle streams: nothing to replay).
 * - `--claims`: each stream carries a claim of a watcher of its own, as the bench's streams do
 *   with WATCH_POLICY=contacts (run with that in the environment; without CONTACTS_URL the
 *   probe starts the backend-core stand-in).
 * - `--ours <main.js>`: another build of ours (an older commit's worktree, after its build).
 * - `--hold <seconds>`: no snapshots (writing one leaves the process tens of MB of malloc'd memory,
 *   which the RSS would show); instead the streams are held that long and RSS and the V8 heap
 *   spaces (used/committed, from the admin port) are printed every 10 s: how much of the RSS per
 *   stream is the heap's committed memory (young generation, old space's free pages) and how much
 *   is not.
 *
 * The hold scenario's shape, 5,000 idle one-user streams:
 *   node --import tsx bench/probes/contacts-heap.ts 5000 1 5000 --idle
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { Pinger } from '../client/pinger.js';
import { benchWatcher, startContactsStandIn } from '../contacts-stand-in.js';
import { ROOT, prometheusSamples, rssKiB, setOursEntry, sleep, withServer, type Server } from '../server-proc.js';

const args = process.argv.slice(2);
const flag = (name: string) => args.includes(name);
const oursAt = args.indexOf('--ours');
if (oursAt >= 0) setOursEntry(args.splice(oursAt, 2)[1]);
const [streams = 1_000, contacts = 50, users = 2_000] = args.filter((a) => !a.startsWith('--')).map(Number);
const idle = flag('--idle');
const claims = flag('--claims');
const holdAt = args.indexOf('--hold');
const holdSeconds = holdAt >= 0 ? Number(args.splice(holdAt, 2)[1]) : 0;
process.env.BENCH_NODE_ARGS = `${process.env.BENCH_NODE_ARGS ?? ''} --heapsnapshot-signal=SIGUSR2`;

/** Signals the server to write a heap snapshot into its working directory and waits for it. */
async function snapshot(server: Server, name: string): Promise<string> {
  const before = new Set(fs.readdirSync(ROOT));
  process.kill(server.pid, 'SIGUSR2');
  for (;;) {
    await sleep(500);
    const file = fs.readdirSync(ROOT).find((f) => f.endsWith('.heapsnapshot') && !before.has(f));
    if (!file) continue;
    const full = path.join(ROOT, file);
    const size = fs.statSync(full).size;
    await sleep(1_000);
    if (size > 0 && fs.statSync(full).size === size) {
      const target = path.join(fs.mkdtempSync('/tmp/contacts-heap-'), `${name}.heapsnapshot`);
      fs.renameSync(full, target);
      return target;
    }
  }
}

/** Bytes of every object in a snapshot (self sizes; a snapshot holds only what survived a full GC). */
function heapBytes(file: string): number {
  const snap = JSON.parse(fs.readFileSync(file, 'utf8')) as { snapshot: { meta: { node_fields: string[] } }; nodes: number[] };
  const fields = snap.snapshot.meta.node_fields;
  const nf = fields.length;
  const size = fields.indexOf('self_size');
  let sum = 0;
  for (let i = size; i < snap.nodes.length; i += nf) sum += snap.nodes[i];
  return sum;
}

/** Opens one stream of `ids` and resolves once it said `event: ready`; the socket is kept open, its data dropped. */
function openStream(port: number, ids: string[], sockets: net.Socket[], n: number): Promise<void> {
  const path = ids.length === 1 ? `/subscribe/${ids[0]}` : `/subscribe?${ids.map((id) => `user=${id}`).join('&')}`;
  const claim = claims ? `X-User-Claim: ${JSON.stringify({ userid: benchWatcher(n, path), clientid: 'bench' })}\r\n` : '';
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    sockets.push(socket);
    let seen = '';
    let ready = false;
    socket.on('connect', () => socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n${claim}\r\n`));
    socket.on('data', (chunk: Buffer) => {
      if (ready) return;
      if (seen === '' && !chunk.toString().startsWith('HTTP/1.1 200')) reject(new Error(`refused: ${chunk.toString().split('\r\n')[0]}`));
      seen = (seen + chunk.toString()).slice(-64);
      if (seen.includes('event: ready')) {
        ready = true;
        resolve();
      }
    });
    socket.on('error', reject);
  });
}

const standIn = process.env.WATCH_POLICY === 'contacts' && !process.env.CONTACTS_URL ? await startContactsStandIn() : null;
if (standIn) process.env.CONTACTS_URL = standIn.url;

/** RSS and the heap spaces (used/committed MiB) from the admin port's metrics. */
async function memoryLine(server: Server, rss0: number): Promise<string> {
  const samples = prometheusSamples(await (await fetch(`http://127.0.0.1:${server.adminPort}/metrics`)).text());
  const mib = (kind: string, space: string) =>
    (
      (samples.find((x) => x.name === `nodejs_heap_space_size_${kind}_bytes` && x.labels.includes(`space="${space}"`))?.value ?? NaN) /
      2 ** 20
    ).toFixed(1);
  const rss = rssKiB(server.pid);
  const spaces = ['new', 'old', 'code', 'large_object'].map((space) => `${space} ${mib('used', space)}/${mib('total', space)}`).join('  ');
  return `RSS ${rss} KiB, ${(((rss - rss0) * 1024) / streams).toFixed(0)} B per stream  ${spaces} MiB`;
}

await withServer('ours', { admin: holdSeconds > 0 }, async (server) => {
  const ids = Array.from({ length: users }, (_, i) => `u${i}`);
  if (!idle) {
    const pinger = new Pinger('127.0.0.1', server.port, 32);
    for (let i = 0; i < users; i += 200) await Promise.all(ids.slice(i, i + 200).map((u) => pinger.ping(u, 'online')));
    console.log(`pinged ${pinger.okCount} of ${users} users`);
  }
  await sleep(15_000); // V8 gives back the startup garbage ~8 s after start
  const rss0 = rssKiB(server.pid);
  if (holdSeconds > 0) console.log(`before: ${await memoryLine(server, rss0)}`);
  const start = holdSeconds > 0 ? '' : await snapshot(server, 'start');
  const sockets: net.Socket[] = [];
  const t0 = Date.now();
  // Stream s watches `contacts` users in a row from a spread start: each user gets streams × contacts / users watchers.
  const lists = Array.from({ length: streams }, (_, s) => Array.from({ length: contacts }, (_, k) => ids[(s * 37 + k) % users]));
  // In slices: a storm of thousands at once would overflow the listen queue of an older build.
  for (let i = 0; i < streams; i += 500)
    await Promise.all(lists.slice(i, i + 500).map((list, k) => openStream(server.port, list, sockets, i + k)));
  console.log(`${streams} streams of ${contacts} users ready in ${Date.now() - t0} ms`);
  if (holdSeconds > 0) {
    for (let s = 10; s <= holdSeconds; s += 10) {
      await sleep(10_000);
      console.log(`${String(s).padStart(4)} s after ready: ${await memoryLine(server, rss0)}`);
    }
    for (const socket of sockets) socket.destroy();
    return;
  }
  await sleep(5_000);
  const rss1 = rssKiB(server.pid);
  const end = await snapshot(server, 'end');
  const [a, b] = [heapBytes(start), heapBytes(end)];
  console.log(`heap (snapshot, after full GC): ${(a / 1e6).toFixed(1)} MB -> ${(b / 1e6).toFixed(1)} MB`);
  console.log(`per stream: ${((b - a) / streams / 1024).toFixed(2)} KiB heap, ${((rss1 - rss0) / streams).toFixed(2)} KiB RSS`);
  console.log(
    execFileSync(process.execPath, [
      '--max-old-space-size=8000',
      path.join(ROOT, 'bench/probes/snapshot-diff.mjs'),
      start,
      end,
      String(streams),
    ]).toString(),
  );
  for (const socket of sockets) socket.destroy();
  if (process.env.PROBE_KEEP_SNAPSHOTS) console.log(`snapshots kept: ${start} ${end}`);
  else for (const file of [start, end]) fs.rmSync(path.dirname(file), { recursive: true, force: true });
});
standIn?.close();
