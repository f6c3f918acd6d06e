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
let active = false;
let n = 0;
const heapWindow = process.env.BENCH_HEAP_WINDOW === 'promoted';
if (heapWindow) session.post('HeapProfiler.enable');
const snapshots = process.env.BENCH_HEAP_WINDOW === 'snapshots';
process.on('SIGUSR2', () => {
  if (snapshots) {
    const edge = active ? 'end' : 'start';
    const k = active ? n++ : n;
    active = !active;
    v8.writeHeapSnapshot(path.join(dir, `window-${process.pid}-${k}-${edge}.heapsnapshot`));
    return;
  }
  if (heapWindow) {
    if (!active) {
      active = true;
      session.post('HeapProfiler.startSampling', { samplingInterval: Number(process.env.BENCH_HEAP_INTERVAL ?? 4096) });
      return;
    }
    active = false;
    globalThis.gc?.({ type: 'minor' });
    globalThis.gc?.({ type: 'minor' });
    const k = n++;
    session.post('HeapProfiler.stopSampling', (err, res) => {
      if (!err) fs.writeFileSync(path.join(dir, `window-${process.pid}-${k}.heapprofile`), JSON.stringify(res.profile));
    });
    return;
  }
  if (!active) {
    active = true;
    session.post('Profiler.start');
    return;
  }
  session.post('Profiler.stop', (err, res) => {
    active = false;
    const tmp = path.join(dir, `.window-${process.pid}-${n}.tmp`);
    fs.writeFileSync(tmp, err ? '{}' : JSON.stringify(res.profile));
    fs.renameSync(tmp, path.join(dir, `window-${process.pid}-${n++}.cpuprofile`));
  });
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
