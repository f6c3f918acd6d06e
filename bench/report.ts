/** Medians across runs, ours/baseline ratios, PASS/FAIL and the human summary. */
import type { Check, Metrics } from './scenarios/types.js';

export function medianOf(runs: Metrics[]): Metrics {
  if (runs.length === 1) return runs[0];
  const out: Metrics = {};
  for (const k of Object.keys(runs[runs.length - 1])) {
    const vals = runs.map((r) => r[k]);
    if (vals.every((v) => typeof v === 'number')) {
      const s = (vals as number[]).slice().sort((a, b) => a - b);
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
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

export function humanSummary(o: {
  scenario: string;
  n: number;
  runs: number;
  /** WORKERS of ours. */
  workers: number;
  headline: string[];
  results: Partial<Record<'ours' | 'baseline', Metrics>>;
  errors: Partial<Record<'ours' | 'baseline', string>>;
  ratio: Record<string, number>;
  checks: Partial<Record<'ours' | 'baseline', Check[]>>;
}): string {
  const lines: string[] = [];
  lines.push(`== ${o.scenario}  n=${o.n}  runs=${o.runs}${o.runs > 1 ? ' (medians)' : ''}${o.workers > 1 ? `  ours WORKERS=${o.workers}` : ''}`);
  const w = Math.max(...o.headline.map((h) => h.length), 8);
  lines.push(`${'metric'.padEnd(w)}  ${'ours'.padStart(12)}  ${'baseline'.padStart(12)}  ${'ours/base'.padStart(9)}`);
  for (const k of o.headline) {
    const a = fmt(o.results.ours?.[k]);
    const b = fmt(o.results.baseline?.[k]);
    const r = o.ratio[k] !== undefined ? String(o.ratio[k]) : '';
    lines.push(`${k.padEnd(w)}  ${a.padStart(12)}  ${b.padStart(12)}  ${r.padStart(9)}`);
  }
  for (const t of ['ours', 'baseline'] as const) {
    if (o.errors[t]) lines.push(`${t}: ERROR ${o.errors[t]}`);
    for (const c of o.checks[t] ?? []) lines.push(`${t.padEnd(8)} ${mark(c.pass)}  ${c.name}  [${c.detail}]`);
  }
  return lines.join('\n');
}
