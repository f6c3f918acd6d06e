/** Summarises a V8 .cpuprofile (self time per function) or a .heapprofile (bytes per allocating stack). */
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from './server-proc.js';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: Node[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface SelfEntry {
  fn: string;
  where: string;
  selfMs: number;
  pct: number;
}

/** Where a frame is, repo-relative (also for a snapshot copy of dist/ in a temp dir); '' for natives. */
function frameLocation(cf: Node['callFrame']): string {
  let url = cf.url;
  // ES modules are file:// URLs, CommonJS modules plain paths
  if (url.startsWith('file://') || url.startsWith('/')) {
    const abs = url.startsWith('/') ? url : new URL(url).pathname;
    const m = /\/(node_modules|dist)\/.*$/.exec(abs);
    url = m ? m[0].slice(1) : path.relative(ROOT, abs);
  }
  return url ? `${url}:${cf.lineNumber + 1}` : '';
}

export function topSelf(file: string, top = 15): { totalMs: number; entries: SelfEntry[] } {
  const p = JSON.parse(fs.readFileSync(file, 'utf8')) as Profile;
  const byId = new Map<number, Node>();
  const parent = new Map<number, number>();
  for (const n of p.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const selfUs = new Map<number, number>();
  if (p.samples && p.timeDeltas && p.samples.length) {
    // delta i+1 is the time the sample i was "on CPU" for
    for (let i = 0; i < p.samples.length; i++) {
      const d = p.timeDeltas[i + 1] ?? 0;
      selfUs.set(p.samples[i], (selfUs.get(p.samples[i]) ?? 0) + Math.max(0, d));
    }
  } else {
    const interval =
      (p.endTime - p.startTime) /
      Math.max(
        1,
        p.nodes.reduce((a, n) => a + (n.hitCount ?? 0), 0),
      );
    for (const n of p.nodes) selfUs.set(n.id, (n.hitCount ?? 0) * interval);
  }
  const agg = new Map<string, SelfEntry>();
  let total = 0;
  for (const [id, us] of selfUs) {
    const cf = byId.get(id)!.callFrame;
    const fn = cf.functionName || '(anonymous)';
    let where = frameLocation(cf);
    // native functions have no location: name the JS caller instead
    const pid = parent.get(id);
    if (!where && !fn.startsWith('(') && pid !== undefined) {
      const pcf = byId.get(pid)!.callFrame;
      where = `native, called from ${pcf.functionName || '(anonymous)'} ${frameLocation(pcf)}`;
    }
    const k = fn + '|' + where;
    const e = agg.get(k) ?? { fn, where, selfMs: 0, pct: 0 };
    e.selfMs += us / 1000;
    total += us / 1000;
    agg.set(k, e);
  }
  const entries = [...agg.values()].sort((a, b) => b.selfMs - a.selfMs).slice(0, top);
  for (const e of entries) {
    e.pct = Math.round((1000 * e.selfMs) / total) / 10;
    e.selfMs = Math.round(e.selfMs * 10) / 10;
  }
  return { totalMs: Math.round(total), entries };
}

export function formatTop(t: { totalMs: number; entries: SelfEntry[] }): string {
  const lines = [`total sampled ${t.totalMs} ms`, '| # | self ms | % | function | location |', '|---|---:|---:|---|---|'];
  t.entries.forEach((e, i) => lines.push(`| ${i + 1} | ${e.selfMs} | ${e.pct} | \`${e.fn}\` | ${e.where} |`));
  return lines.join('\n');
}

interface HeapNode {
  callFrame: Node['callFrame'];
  selfSize: number;
  children: HeapNode[];
}

/**
 * Summarises a sampling heap profile (.heapprofile, as written by BENCH_HEAP_WINDOW): bytes per
 * allocating stack, the innermost `depth` frames, largest first.
 */
export function topAllocations(file: string, top = 15, depth = 8): string {
  const p = JSON.parse(fs.readFileSync(file, 'utf8')) as { head: HeapNode };
  const short = (cf: Node['callFrame']) => `${cf.functionName || '(anonymous)'} ${frameLocation(cf)}`.trim();
  const stacks = new Map<string, number>();
  let total = 0;
  const walk = (n: HeapNode, path: string[]) => {
    const here = [...path, short(n.callFrame)];
    if (n.selfSize) {
      const key = here.slice(-depth).reverse().join(' < ');
      stacks.set(key, (stacks.get(key) ?? 0) + n.selfSize);
      total += n.selfSize;
    }
    for (const c of n.children) walk(c, here);
  };
  walk(p.head, []);
  const lines = [`total ${Math.round(total / 1024)} KB sampled`];
  for (const [stack, bytes] of [...stacks].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    lines.push(`${String(Math.round(bytes / 1024)).padStart(8)} KB  ${stack}`);
  }
  return lines.join('\n');
}

// CLI: node --import tsx bench/profile.ts <file.cpuprofile|file.heapprofile> [top]
if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  const f = process.argv[2];
  if (!f) {
    console.error('usage: profile.ts <file.cpuprofile|file.heapprofile> [top]');
    process.exit(2);
  }
  const top = Number(process.argv[3] ?? 15);
  console.log(f.endsWith('.heapprofile') ? topAllocations(f, top) : formatTop(topSelf(f, top)));
}
