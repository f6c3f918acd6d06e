/** Medians across runs, ours/baseline (and ours/nchan, ours/floor, ours/xstate-floor) ratios, PASS/FAIL and the human summary. */
import type { Check, Metrics } from './scenarios/types.js';

export function medianOf(runs: Metrics[]): Metrics {
  if (runs.length === 1) return runs[0];
  const out: Metrics = {};
  for (const k of Object.keys(runs[runs.length - 1])) {
    const vals = runs.map((r) => r[k]);
    if (vals.every((v) => typeof v === 'number')) {
      const s = vals.slice().sort((a, b) => a - b);
      out[k] = s[Math.floor(s.length / 2)];
    } else out[k] = runs[runs.length - 1][k];
  }
  return out;
}

export function ratios(ours: Metrics | undefined, base: Metrics | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  if (!ours || !base) return out;
  for (const [k, v] of Object.entries(ours)) {
    const b = base[k];
    if (typeof v === 'number' && typeof b === 'number' && b !== 0 && Number.isFinite(v) && Number.isFinite(b)) {
      out[k] = Math.round((v / b) * 100) / 100;
    }
  }
  return out;
}

const mark = (p: boolean | null) => (p === null ? 'N/A ' : p ? 'PASS' : 'FAIL');

function fmt(v: unknown): string {
  if (v === undefined) return '-';
  if (v === null) return 'n/a';
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

type Target = 'ours' | 'nchan' | 'baseline' | 'floor' | 'xstate-floor';

export function humanSummary(o: {
  scenario: string;
  n: number;
  runs: number;
  /** WORKERS of ours. */
  workers: number;
  headline: string[];
  /** the targets asked for, in order: one column each */
  targets: readonly Target[];
  results: Partial<Record<Target, Metrics>>;
  errors: Partial<Record<Target, string>>;
  /** ours/baseline */
  ratio: Record<string, number>;
  /** ours/floor, when the floor was measured */
  ratioFloor?: Record<string, number>;
  /** ours/xstate-floor, when it was measured */
  ratioXstateFloor?: Record<string, number>;
  /** ours/nchan, when it was measured */
  ratioNchan?: Record<string, number>;
  checks: Partial<Record<Target, Check[]>>;
}): string {
  const lines: string[] = [];
  lines.push(
    `== ${o.scenario}  n=${o.n}  runs=${o.runs}${o.runs > 1 ? ' (medians)' : ''}${o.workers > 1 ? `  ours WORKERS=${o.workers}` : ''}`,
  );
  const w = Math.max(...o.headline.map((h) => h.length), 8);
  const has = (t: Target) => o.targets.includes(t);
  const ratioCols: [string, Record<string, number>][] = [];
  if (has('ours') && has('nchan') && o.ratioNchan) ratioCols.push(['ours/nchan', o.ratioNchan]);
  if (has('ours') && has('baseline')) ratioCols.push(['ours/base', o.ratio]);
  if (has('ours') && has('floor') && o.ratioFloor) ratioCols.push(['ours/floor', o.ratioFloor]);
  if (has('ours') && has('xstate-floor') && o.ratioXstateFloor) ratioCols.push(['ours/xfloor', o.ratioXstateFloor]);
  const head = ['metric'.padEnd(w), ...o.targets.map((t) => t.padStart(12)), ...ratioCols.map(([name]) => name.padStart(10))];
  lines.push(head.join('  '));
  for (const k of o.headline) {
    const row = [
      k.padEnd(w),
      ...o.targets.map((t) => fmt(o.results[t]?.[k]).padStart(12)),
      ...ratioCols.map(([, r]) => (r[k] !== undefined ? String(r[k]) : '').padStart(10)),
    ];
    lines.push(row.join('  ').trimEnd());
  }
  for (const t of o.targets) {
    if (o.errors[t]) lines.push(`${t}: ERROR ${o.errors[t]}`);
    for (const c of o.checks[t] ?? []) lines.push(`${t.padEnd(12)} ${mark(c.pass)}  ${c.name}  [${c.detail}]`);
  }
  return lines.join('\n');
}
