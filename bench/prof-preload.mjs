// Preloaded into the server under test when `--profile` is given (node --import).
// SIGUSR2 toggles a CPU profile of just the measurement window, written to
// $BENCH_PROF_DIR/window-<pid>-<n>.cpuprofile. SIGWINCH writes a memory
// snapshot (after a full GC; the server runs with --expose-gc) to
// $BENCH_PROF_DIR/mem-<pid>-<n>.json. SIGTERM also forces a clean exit after
// 3 s so that --cpu-prof can write the whole-run profile.
// BENCH_HEAP_WINDOW=promoted makes the window sample allocations instead (one per
// BENCH_HEAP_INTERVAL bytes, default 4096) and, at its end, run two scavenges (no full GC)
// before stopping: what remains are the window's objects that outlived the young generation,
// live or promoted garbage. Written to $BENCH_PROF_DIR/window-<pid>-<n>.heapprofile.
// BENCH_HEAP_WINDOW=allocated samples every allocation of the window, garbage included (what
// feeds the young generation's scavenges).
// BENCH_HEAP_WINDOW=snapshots writes a heap snapshot at the window's start and at its end
// (window-<pid>-<n>-start/-end.heapsnapshot; compare with bench/probes/snapshot-diff.mjs).
import inspector from 'node:inspector';
import fs from 'node:fs';
import path from 'node:path';
import v8 from 'node:v8';

const dir = process.env.BENCH_PROF_DIR || '.';
const session = new inspector.Session();
session.connect();
session.post('Profiler.enable');
/** Writes a window's result atomically (the bench waits for a file named window-…). */
function writeResult(name, text) {
  const tmp = path.join(dir, `.${name}.tmp`);
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, path.join(dir, name));
}

/** A window of sampled allocations (`options` for HeapProfiler.startSampling), `beforeStop` run at its end. */
function heapSampling(options, beforeStop = () => {}) {
  return {
    heap: true,
    start: () =>
      session.post('HeapProfiler.startSampling', { samplingInterval: Number(process.env.BENCH_HEAP_INTERVAL ?? 4096), ...options }),
    stop: (k) => {
      beforeStop();
      session.post('HeapProfiler.stopSampling', (err, res) => {
        if (!err) writeResult(`window-${process.pid}-${k}.heapprofile`, JSON.stringify(res.profile));
      });
    },
  };
}

/** What a measurement window records, by BENCH_HEAP_WINDOW: start(n) and stop(n) for window n. */
const windows = {
  // default: a CPU profile of the window
  cpu: {
    start: () => session.post('Profiler.start'),
    stop: (k) =>
      session.post('Profiler.stop', (err, res) =>
        writeResult(`window-${process.pid}-${k}.cpuprofile`, err ? '{}' : JSON.stringify(res.profile)),
      ),
  },
  // the window's objects that outlived the young generation: live or promoted garbage
  promoted: heapSampling({}, () => {
    // two scavenges, no full GC: young garbage leaves the profile, promoted garbage stays
    globalThis.gc?.({ type: 'minor' });
    globalThis.gc?.({ type: 'minor' });
  }),
  // every allocation of the window, garbage included: what feeds the scavenges
  allocated: heapSampling({ includeObjectsCollectedByMinorGC: true, includeObjectsCollectedByMajorGC: true }),
  snapshots: {
    start: (k) => v8.writeHeapSnapshot(path.join(dir, `window-${process.pid}-${k}-start.heapsnapshot`)),
    stop: (k) => v8.writeHeapSnapshot(path.join(dir, `window-${process.pid}-${k}-end.heapsnapshot`)),
  },
};
const window = windows[process.env.BENCH_HEAP_WINDOW || 'cpu'] ?? windows.cpu;
if (window.heap) session.post('HeapProfiler.enable');

let active = false;
let n = 0;
process.on('SIGUSR2', () => {
  active = !active;
  if (active) window.start(n);
  else window.stop(n++);
});
process.on('SIGTERM', () => setTimeout(() => process.exit(0), 3000));

let m = 0;
process.on('SIGWINCH', () => {
  const before = process.memoryUsage().rss;
  if (typeof globalThis.gc === 'function') globalThis.gc();
  const mu = process.memoryUsage();
  const hs = v8.getHeapStatistics();
  const snap = { rssBeforeGc: before, ...mu, mallocedMemory: hs.malloced_memory, nativeContexts: hs.number_of_native_contexts };
  const tmp = path.join(dir, `.mem-${process.pid}-${m}.tmp`);
  fs.writeFileSync(tmp, JSON.stringify(snap));
  fs.renameSync(tmp, path.join(dir, `mem-${process.pid}-${m++}.json`));
});
