/**
 * The heap in use once garbage is gone, for the heap probes: two full GCs (the second collects what
 * the first's finalizers freed). The probe must run with `node --expose-gc`.
 */
const gc = (globalThis as { gc?: () => void }).gc;

export function settledHeap(): number {
  if (!gc) throw new Error('run with node --expose-gc');
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}
