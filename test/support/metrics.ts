import { setTimeout as sleep } from 'node:timers/promises';

/** Prometheus text → `name{label="v",…}` (labels sorted) → value. */
export function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    const labels = [...(match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map(([, k, v]) => `${k}="${v}"`).sort();
    out.set(labels.length ? `${match[1]}{${labels.join(',')}}` : match[1], Number(match[3]));
  }
  return out;
}

/** The key parseMetrics gives a series: `name{a="1",b="2"}` with labels sorted. */
export function series(name: string, labels: Record<string, string> = {}): string {
  const list = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .sort();
  return list.length ? `${name}{${list.join(',')}}` : name;
}

/** GET /metrics on an admin port, parsed. */
export async function scrape(adminUrl: string): Promise<Map<string, number>> {
  const res = await fetch(`${adminUrl}/metrics`);
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  return parseMetrics(await res.text());
}

/**
 * Polls `probe` until it returns a value, for at most `timeoutMs`: a bound for a broken service,
 * generous enough for a busy box (a passing test returns as soon as the event happens).
 */
export async function eventually<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`);
    await sleep(50);
  }
}
