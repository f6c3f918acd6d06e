import test from 'ava';
import { LatencyHistogram } from '../../src/admin/latency-histogram.js';

test('an observation lands in the first bucket whose bound it does not exceed, as Prometheus `le`', (t) => {
  const h = new LatencyHistogram([0.001, 0.01, 0.1]);
  for (const seconds of [0.0005, 0.001, 0.002, 0.1, 0.5, 3]) h.observe(seconds);
  const data = h.data();
  t.deepEqual(data.counts, [2, 1, 1, 2]);
  t.is(data.count, 6);
  t.is(Math.round(data.sum * 1e4) / 1e4, 3.6035);
});

test('a negative duration (clock skew) counts as 0 and never lowers the sum', (t) => {
  const h = new LatencyHistogram([0.001]);
  h.observe(-0.25);
  t.deepEqual(h.data(), { bounds: [0.001], counts: [1, 0], sum: 0, count: 1 });
});

test('data() is a copy: later observations do not change a snapshot already taken', (t) => {
  const h = new LatencyHistogram([1]);
  const before = h.data();
  h.observe(0.5);
  t.deepEqual(before.counts, [0, 0]);
  t.deepEqual(LatencyHistogram.empty([1, 2]), { bounds: [1, 2], counts: [0, 0, 0], sum: 0, count: 0 });
});
