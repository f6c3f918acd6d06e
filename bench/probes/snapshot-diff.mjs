// The objects alive in a later heap snapshot that the earlier one did not have, by kind, and
// which objects own the new property stores among them (a sign of shape changes at run time).
//
//   node --max-old-space-size=12000 bench/probes/snapshot-diff.mjs <start.heapsnapshot> <end.heapsnapshot> [streams]
//
// With `streams` (the streams opened between the two), each kind also shows its bytes per stream.
// Snapshots come from `BENCH_HEAP_WINDOW=snapshots npm run bench -- <scenario> --target ours
// --profile` (the start and the end of the measured window; each snapshot runs a full GC first,
// so only live objects are in it).
import fs from 'node:fs';

const [before, after] = process.argv.slice(2, 4).map((f) => JSON.parse(fs.readFileSync(f, 'utf8')));
const streams = Number(process.argv[4] ?? 0);
const perStream = (b) => (streams > 0 ? `${(b / streams).toFixed(1).padStart(9)} B/stream` : '');
const meta = after.snapshot.meta;
const NF = meta.node_fields.length;
const EF = meta.edge_fields.length;
const field = (name) => meta.node_fields.indexOf(name);
const [TYPE, NAME, ID, SIZE, EDGES] = ['type', 'name', 'id', 'self_size', 'edge_count'].map(field);
const [E_TYPE, E_NAME, E_TO] = ['type', 'name_or_index', 'to_node'].map((n) => meta.edge_fields.indexOf(n));
const nodeTypes = meta.node_types[0];
const edgeTypes = meta.edge_types[0];

const old = new Set();
for (let i = 0; i < before.nodes.length; i += NF) old.add(before.nodes[i + ID]);
const isNew = (i) => !old.has(after.nodes[i + ID]);
const kind = (i) => {
  const type = nodeTypes[after.nodes[i + TYPE]];
  if (type.includes('string')) return 'string';
  if (type === 'number') return 'number (heap number)';
  return `${type} ${after.strings[after.nodes[i + NAME]].slice(0, 60)}`;
};

const byKind = new Map();
const owners = new Map();
let count = 0;
let bytes = 0;
for (let i = 0, e = 0; i < after.nodes.length; i += NF) {
  if (isNew(i)) {
    const entry = byKind.get(kind(i)) ?? { count: 0, bytes: 0 };
    entry.count++;
    entry.bytes += after.nodes[i + SIZE];
    byKind.set(kind(i), entry);
    count++;
    bytes += after.nodes[i + SIZE];
  }
  const props = [];
  let ownsNewStore = false;
  for (const end = e + after.nodes[i + EDGES] * EF; e < end; e += EF) {
    const type = edgeTypes[after.edges[e + E_TYPE]];
    if (type === 'property') props.push(after.strings[after.edges[e + E_NAME]]);
    if (type === 'internal' && after.strings[after.edges[e + E_NAME]] === 'properties' && isNew(after.edges[e + E_TO])) ownsNewStore = true;
  }
  if (ownsNewStore) {
    const key = `${kind(i)} {${props.join(', ')}}`;
    owners.set(key, (owners.get(key) ?? 0) + 1);
  }
}

console.log(`${count} objects, ${bytes} bytes alive at the end that were not there at the start ${perStream(bytes)}`);
for (const [k, v] of [...byKind].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, streams > 0 ? 40 : 15)) {
  console.log(`${String(v.bytes).padStart(10)} B ${String(v.count).padStart(8)} ${perStream(v.bytes)}  ${k}`);
}
console.log('owners of new property stores:');
for (const [k, c] of [...owners].sort((a, b) => b[1] - a[1]).slice(0, 5)) console.log(`${String(c).padStart(8)}  ${k.slice(0, 200)}`);
