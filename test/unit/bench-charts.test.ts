// The charts of BENCHMARKS.md show the figures of its tables: CPU per delivery is the median of
// the runs' totals, split as the run that gave it, never a sum of two other medians.
import test from 'ava';
import { charts } from '../../bench/charts.js';
import type { Line } from '../../bench/tables.js';

const run = (user: number, kernel: number) => ({ cpuUsPerDelivery: user + kernel, userUsPerDelivery: user, sysUsPerDelivery: kernel });

function hotLine(runs: ReturnType<typeof run>[]): Line {
  const median = (key: keyof ReturnType<typeof run>) => [...runs].map((r) => r[key]).sort((a, b) => a - b)[Math.floor(runs.length / 2)];
  const results = {
    cpuUsPerDelivery: median('cpuUsPerDelivery'),
    userUsPerDelivery: median('userUsPerDelivery'),
    sysUsPerDelivery: median('sysUsPerDelivery'),
  };
  return {
    scenario: 'hot',
    n: 15000,
    runs: runs.length,
    at: '2026-11-30T12:52:36.320Z',
    results: { ours: results },
    ratio: {},
    checks: {},
    raw: { ours: runs },
  };
}

const cpuBar = (line: Line) => charts([line]).find((c) => c.file === 'cpu-per-delivery.svg')!.groups[0].values.ours as [number, number];

test("the CPU bar is the median of the runs' totals, split as that run split it", (t) => {
  // Round 5's ours: totals 9.25, 9.09, 9.48; the medians of the parts (2.11 + 7.00) add up to 9.11.
  const [user, kernel] = cpuBar(hotLine([run(2.36, 6.89), run(2.09, 7), run(2.11, 7.37)]));
  t.is(Math.round((user + kernel) * 100) / 100, 9.25);
  t.deepEqual([user, kernel], [2.36, 6.89]);
});

test('with an even number of runs the median total is split in the proportion of the parts', (t) => {
  const line = hotLine([run(1, 3), run(2, 6)]);
  const [user, kernel] = cpuBar(line);
  t.is(user + kernel, line.results.ours!.cpuUsPerDelivery as number);
  t.is(user / kernel, 1 / 3);
});
