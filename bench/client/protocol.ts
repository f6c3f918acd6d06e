/** IPC messages between bench/client/pool.ts (parent) and bench/client/worker.ts (child). */
import type { HistogramData } from './histogram.js';

import type { Api } from './api.js';

export interface Target {
  host: string;
  port: number;
  /** which routes the streams take (bench/client/api.ts) */
  api: Api;
  /** source addresses to bind, rotated per connection */
  localAddrs: string[];
}

export interface ConnectCmd extends Target {
  t: 'connect';
  /** global index of this worker's first subscriber; subscriber g watches user g % users */
  first: number;
  count: number;
  users: number;
  userPrefix: string;
  /** every k-th subscriber uses /subscribe/:u/client/:clientid (0 = never) */
  clientEvery: number;
  clientId: string;
  concurrency: number;
  timeoutMs: number;
  /** track per-seq arrival count / max latency for seq 1..trackSeqs (hot scenario) */
  trackSeqs: number;
}

export interface ChurnCmd extends Target {
  t: 'churn';
  parallel: number;
  durationMs: number;
  maxCycles: number;
  users: number;
  userPrefix: string;
  timeoutMs: number;
}

export interface FirstEventCmd extends Target {
  t: 'first';
  paths: string[];
  timeoutMs: number;
}

export type Cmd = ConnectCmd | ChurnCmd | FirstEventCmd | { t: 'stats'; pings: number } | { t: 'reset' } | { t: 'close' };

export interface ConnectedMsg {
  t: 'connected';
  ok: number;
  failed: number;
  reasons: Record<string, number>;
  ms: number;
  ttfc: HistogramData;
}

export interface StatsMsg {
  t: 'stats';
  open: number;
  dropped: number;
  delivered: number;
  other: number;
  dups: number;
  gaps: number;
  complete: number;
  incomplete: number;
  /** sum over connected subscribers of the pings their user got */
  expected: number;
  hist: HistogramData;
  /** the worker's own event-loop delay since the last reset */
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
  seqCount: number[];
  seqMax: number[];
  /** worst latency (ms) per 100 ms of arrival time since the last reset */
  timeline: number[];
}

export interface ChurnedMsg {
  t: 'churned';
  cycles: number;
  failed: number;
  reasons: Record<string, number>;
  ms: number;
  ttfc: HistogramData;
}

export interface FirstMsg {
  t: 'first';
  statuses: (string | null)[];
}

export type Reply = ConnectedMsg | StatsMsg | ChurnedMsg | FirstMsg | { t: 'closed' } | { t: 'error'; msg: string };
