/**
 * The charts of BENCHMARKS.md, drawn as plain SVG from the bench's JSON lines:
 *   npm run bench:charts                      (reads docs/benchmarks/results/*.jsonl)
 *   node --import tsx bench/charts.ts <dir-or-files…> [--out docs/benchmarks/charts]
 * For each chart the newest line of its scenario (and size) is used; one bar per target it
 * measured, labelled with its value. No dependencies: hand-written SVG.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from './server-proc.js';
import { mergeSeparateRuns, readLines, type Line } from './tables.js';

const ORDER = ['ours', 'nchan', 'baseline', 'floor', 'xstate-floor'] as const;
const COLOURS: Record<string, string> = {
  ours: '#2b6cb0',
  nchan: '#dd6b20',
  baseline: '#718096',
  floor: '#a0aec0',
  'xstate-floor': '#9f7aea',
};
/** The lighter shade of a stacked bar's second part (kernel time). */
const LIGHT: Record<string, string> = {
  ours: '#90cdf4',
  nchan: '#fbd38d',
  baseline: '#cbd5e0',
  floor: '#e2e8f0',
  'xstate-floor': '#d6bcfa',
};

interface Group {
  label: string;
  /** per target: one value, or [user, kernel] for a stacked bar */
  values: Partial<Record<string, number | [number, number]>>;
}

interface Chart {
  file: string;
  title: string;
  subtitle: string;
  unit: string;
  groups: Group[];
  /** legend of the two parts of a stacked bar */
  stack?: [string, string];
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const total = (v: number | [number, number]) => (typeof v === 'number' ? v : v[0] + v[1]);
/** As the tables print them: whole numbers from 1,000, one decimal from 10, two below (119.3 ms, 9.25 µs). */
const fmt = (x: number) =>
  x >= 1000 ? Math.round(x).toLocaleString('en-US') : String(x >= 10 ? Math.round(x * 10) / 10 : Math.round(x * 100) / 100);

/** A grouped (optionally stacked) bar chart. */
export function svg(c: Chart): string {
  const targets = ORDER.filter((t) => c.groups.some((g) => g.values[t] !== undefined));
  const bar = 34;
  const gap = 26;
  const left = 70;
  const top = 64;
  const height = 220;
  const groupWidth = targets.length * bar + gap;
  // wide enough for the bars, the title and the subtitle (~8 and ~6.5 px per character)
  const width = Math.max(460, left + c.groups.length * groupWidth + 20, left + c.title.length * 8.5, left + c.subtitle.length * 6.5);
  const max = Math.max(...c.groups.flatMap((g) => Object.values(g.values).map((v) => total(v!)))) * 1.12 || 1;
  const y = (v: number) => top + height - (v / max) * height;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${top + height + 70}" viewBox="0 0 ${width} ${top + height + 70}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="${left}" y="22" font-size="15" font-weight="bold">${esc(c.title)}</text>`,
    `<text x="${left}" y="40" fill="#4a5568">${esc(c.subtitle)}</text>`,
  ];
  for (let i = 0; i <= 4; i++) {
    const v = (max / 1.12) * (i / 4);
    out.push(`<line x1="${left - 4}" x2="${width - 10}" y1="${y(v)}" y2="${y(v)}" stroke="#e2e8f0"/>`);
    out.push(`<text x="${left - 8}" y="${y(v) + 4}" text-anchor="end" fill="#4a5568">${fmt(v)}</text>`);
  }
  out.push(
    `<text x="14" y="${top + height / 2}" transform="rotate(-90 14 ${top + height / 2})" text-anchor="middle" fill="#4a5568">${esc(c.unit)}</text>`,
  );
  c.groups.forEach((g, gi) => {
    const x0 = left + gap / 2 + gi * groupWidth;
    targets.forEach((t, ti) => {
      const v = g.values[t];
      if (v === undefined) return;
      const x = x0 + ti * bar;
      if (typeof v === 'number') {
        out.push(
          `<rect x="${x}" y="${y(v)}" width="${bar - 4}" height="${top + height - y(v)}" fill="${COLOURS[t]}"><title>${t}: ${fmt(v)} ${esc(c.unit)}</title></rect>`,
        );
      } else {
        out.push(
          `<rect x="${x}" y="${y(v[0])}" width="${bar - 4}" height="${top + height - y(v[0])}" fill="${COLOURS[t]}"><title>${t} ${c.stack?.[0]}: ${fmt(v[0])}</title></rect>`,
        );
        out.push(
          `<rect x="${x}" y="${y(v[0] + v[1])}" width="${bar - 4}" height="${y(v[0]) - y(v[0] + v[1])}" fill="${LIGHT[t]}"><title>${t} ${c.stack?.[1]}: ${fmt(v[1])}</title></rect>`,
        );
      }
      out.push(`<text x="${x + (bar - 4) / 2}" y="${y(total(v)) - 4}" text-anchor="middle" font-size="10">${fmt(total(v))}</text>`);
    });
    out.push(`<text x="${x0 + (targets.length * bar) / 2}" y="${top + height + 18}" text-anchor="middle">${esc(g.label)}</text>`);
  });
  out.push(`<line x1="${left}" x2="${width - 10}" y1="${top + height}" y2="${top + height}" stroke="#2d3748"/>`);
  let lx = left;
  const ly = top + height + 44;
  for (const t of targets) {
    out.push(`<rect x="${lx}" y="${ly - 10}" width="12" height="12" fill="${COLOURS[t]}"/><text x="${lx + 16}" y="${ly}">${t}</text>`);
    lx += 28 + t.length * 7;
  }
  if (c.stack) out.push(`<text x="${lx + 10}" y="${ly}" fill="#4a5568">dark: ${esc(c.stack[0])}, light: ${esc(c.stack[1])}</text>`);
  out.push('</svg>');
  return out.join('\n') + '\n';
}

function newest(lines: Line[], scenario: string, n?: number): Line | undefined {
  return [...lines].reverse().find((l) => l.scenario === scenario && (n === undefined || l.n === n));
}

function values(line: Line | undefined, pick: (m: Record<string, unknown>) => number | [number, number] | undefined): Group['values'] {
  const out: Group['values'] = {};
  for (const t of ORDER) {
    const m = line?.results[t];
    const v = m ? pick(m) : undefined;
    if (v !== undefined && (typeof v === 'number' ? Number.isFinite(v) : v.every(Number.isFinite))) out[t] = v;
  }
  return out;
}

/**
 * Server CPU per delivery as the table reports it, one median (cpuUsPerDelivery), split into user
 * and kernel time as the run that gave the median split it: the medians of the two parts are
 * each another run's and need not add up to it. With an even number of runs (no middle run) the
 * median is split in the proportion of the parts' medians.
 */
function cpuSplit(line: Line | undefined): Group['values'] {
  const out: Group['values'] = {};
  for (const t of ORDER) {
    const median = line?.results[t];
    const total = median?.cpuUsPerDelivery;
    if (median === undefined || typeof total !== 'number') continue;
    const runs = line?.raw?.[t] ?? [median];
    const middle = runs.length % 2 === 1 ? runs.find((run) => run.cpuUsPerDelivery === total) : undefined;
    const parts = middle ?? median;
    const user = parts.userUsPerDelivery as number;
    const kernel = parts.sysUsPerDelivery as number;
    if (!Number.isFinite(user) || !Number.isFinite(kernel)) continue;
    const userPart = (total * user) / (user + kernel);
    out[t] = middle ? [user, kernel] : [userPart, total - userPart];
  }
  return out;
}

const when = (l: Line | undefined) =>
  l
    ? `${l.runs > 1 ? `median of ${l.runs} runs` : '1 run'}, ${l.at.slice(0, 16).replace('T', ' ')} UTC${(l.oursWorkers ?? 1) > 1 ? `, ours WORKERS=${l.oursWorkers}` : ''}`
    : 'not measured';

export function charts(lines: Line[]): Chart[] {
  const h15 = newest(lines, 'hold', 15000);
  const h19 = newest(lines, 'hold', 19000);
  const hot = newest(lines, 'hot');
  const ping = newest(lines, 'ping');
  const fan = newest(lines, 'fanout');
  const con = newest(lines, 'contacts', 5000);
  const big = newest(lines, 'scale', 100000);
  const num = (k: string) => (m: Record<string, unknown>) => (typeof m[k] === 'number' ? m[k] : undefined);
  return [
    {
      file: 'memory-per-stream.svg',
      title: 'Memory per idle stream (110 s after connecting)',
      subtitle: `hold: ${when(h15 ?? h19)}; lower is better`,
      unit: 'bytes per stream',
      groups: [
        { label: '15,000 streams', values: values(h15, num('bytesPerConnSettled')) },
        { label: '19,000 streams', values: values(h19, num('bytesPerConnSettled')) },
      ].filter((g) => Object.keys(g.values).length),
    },
    {
      file: 'cpu-per-delivery.svg',
      title: `Server CPU per delivery (${(hot?.n ?? 15000).toLocaleString('en-US')} streams of one user)`,
      subtitle: `hot: ${when(hot)}, split as the median run's; lower is better`,
      unit: 'µs per delivery',
      stack: ['user', 'kernel'],
      groups: [{ label: 'hot', values: cpuSplit(hot) }],
    },
    {
      file: 'ping-throughput.svg',
      title: 'POST /ping throughput (nchan: its publish), wrk',
      subtitle: `ping: ${when(ping)}; higher is better`,
      unit: 'requests per second',
      groups: [
        { label: '64 connections', values: values(ping, num('rps64')) },
        { label: '256 connections', values: values(ping, num('rps256')) },
      ],
    },
    {
      file: 'fanout-latency.svg',
      title: `Fan-out latency (${(fan?.n ?? 15000).toLocaleString('en-US')} streams over ${Math.round((fan?.n ?? 15000) / 10).toLocaleString('en-US')} users, 1,000 pings/s)`,
      subtitle: `fanout: ${when(fan)}; lower is better`,
      unit: 'ms from send to arrival',
      groups: [
        { label: 'p50', values: values(fan, num('p50Ms')) },
        { label: 'p99', values: values(fan, num('p99Ms')) },
        { label: 'POST ack p99', values: values(fan, num('pingAckP99Ms')) },
      ],
    },
    {
      file: 'contacts-memory.svg',
      title: 'Memory per Beep client: its 50 contacts as one stream or as 50 (60 s after the pings)',
      subtitle: `contacts, 5,000 clients: ${when(con)}; the 50 one-user streams measured on 300 clients; lower is better`,
      unit: 'KiB of RSS per client',
      groups: [
        { label: 'one 50-contact stream', values: values(con, num('rssPerStreamKiB')) },
        { label: '50 one-user streams', values: values(con, num('fiftySinglesKiB')) },
      ],
    },
    {
      file: 'contacts-latency.svg',
      title: 'Delivery latency, 5,000 clients of 50 contacts, 500 pings/s',
      subtitle: `contacts: ${when(con)}; lower is better`,
      unit: 'ms from send to arrival',
      groups: [
        { label: 'p50', values: values(con, num('p50Ms')) },
        { label: 'p99', values: values(con, num('p99Ms')) },
      ],
    },
    {
      file: 'scale-memory.svg',
      title: 'Memory per stream at 100,000 streams (every server process summed, 110 s after connecting)',
      subtitle: `scale: ${when(big)}; lower is better`,
      unit: 'bytes per stream',
      groups: [{ label: '100,000 streams', values: values(big, num('bytesPerStreamSettled')) }],
    },
    {
      file: 'scale-latency.svg',
      title: 'At 100,000 streams: one ping to its 10,000 watchers, and fan-out at 500 pings/s',
      subtitle: `scale: ${when(big)}; lower is better`,
      unit: 'ms',
      groups: [
        { label: 'reach all 10,000 (median ping)', values: values(big, num('reachAllP50Ms')) },
        { label: 'fan-out p50', values: values(big, num('fanoutP50Ms')) },
        { label: 'fan-out p99', values: values(big, num('fanoutP99Ms')) },
      ],
    },
    {
      file: 'hot-reach.svg',
      title: `Time for one ping to reach all ${(hot?.n ?? 15000).toLocaleString('en-US')} streams watching one user`,
      subtitle: `hot: ${when(hot)}; lower is better`,
      unit: 'ms',
      groups: [
        { label: 'median ping', values: values(hot, num('reachAllP50Ms')) },
        { label: 'slowest ping', values: values(hot, num('reachAllMaxMs')) },
      ],
    },
  ];
}

if (process.argv[1]?.endsWith('charts.ts')) {
  const args = process.argv.slice(2);
  const outAt = args.indexOf('--out');
  const outDir = outAt >= 0 ? args.splice(outAt, 2)[1] : path.join(ROOT, 'docs/benchmarks/charts');
  const inputs = args.length ? args : [path.join(ROOT, 'docs/benchmarks/results')];
  const files = inputs.flatMap((p) =>
    fs.statSync(p).isDirectory()
      ? fs
          .readdirSync(p)
          .filter((f) => f.endsWith('.jsonl'))
          .sort()
          .map((f) => path.join(p, f))
      : [p],
  );
  const lines = mergeSeparateRuns(readLines(files).sort((a, b) => a.at.localeCompare(b.at)));
  fs.mkdirSync(outDir, { recursive: true });
  for (const c of charts(lines)) {
    if (!c.groups.some((g) => Object.keys(g.values).length)) continue;
    fs.writeFileSync(path.join(outDir, c.file), svg(c));
    process.stdout.write(`wrote ${path.relative(ROOT, path.join(outDir, c.file))}\n`);
  }
}
