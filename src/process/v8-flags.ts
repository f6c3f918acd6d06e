import v8 from 'node:v8';

/**
 * V8 flags for this process and its worker threads (V8 flags are per process; imported first by
 * main.ts, before any worker starts).
 *
 * No allocation-site pretenuring: V8 moves the objects of an allocation site that often survives
 * a scavenge straight to the old generation. A ping's objects live across a Redis round trip, so
 * under load they look long-lived, then die just after: pretenured, they fill the old generation,
 * lengthen every scavenge and bring frequent mark-compacts, which is where the ping's latency tail
 * came from (BENCHMARKS.md, `ping`).
 */
v8.setFlagsFromString('--no-allocation-site-pretenuring');
