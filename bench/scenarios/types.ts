import type { ContactsStandIn } from '../contacts-stand-in.js';
import type { MemSnapshot, Proc, Server, TargetName } from '../server-proc.js';

export interface Opts {
  n: number;
  runs: number;
  profile: boolean;
  /** WORKERS for ours (uWebSockets.js apps in worker threads); the baseline and the floor always have one thread. */
  workers: number;
}

export interface Ctx {
  target: TargetName;
  server: Server;
  redis: Proc;
  opts: Opts;
  /** the stand-in of backend-core ours asks (Scenario.watchContacts; null otherwise): the scenario registers its watchers' contacts */
  contacts: ContactsStandIn | null;
  /** register cleanup run after the scenario (also on timeout / server death) */
  defer(fn: () => unknown): void;
  log(msg: string): void;
  /** starts/stops the window CPU profile (no-op without --profile) */
  profileWindow(on: boolean): Promise<void>;
  /** with --profile: the server's memory after a full GC (null otherwise) */
  memSnapshot(): Promise<MemSnapshot | null>;
  /** restart the server under test on the same redis (ping scenario's persistence check) */
  restartServer(): Promise<Server>;
}

export type Metrics = Record<string, number | string | boolean | null | Record<string, unknown>>;

export interface Check {
  name: string;
  /** null = not measurable */
  pass: boolean | null;
  detail: string;
}

export interface Scenario {
  name: string;
  /** servers are started with ADMIN_LISTEN set */
  admin?: boolean;
  /**
   * ours runs with WATCH_POLICY=contacts against a stand-in of backend-core started for each run
   * (bench/contacts-stand-in.ts, handed to the scenario as ctx.contacts), whatever the environment says
   */
  watchContacts?: boolean;
  /** added to (and overriding) the environment of the Node targets */
  env?: Record<string, string>;
  /** hard limit for one run of one target, ms */
  budgetMs(o: Opts): number;
  /** the largest --n it accepts; default 19,000 (one server process under the open-file limit) */
  maxN?: number;
  /** left out of `all` (it is run by its name) */
  onlyByName?: boolean;
  /**
   * each server as this many processes on one port (nchan: nginx workers); one process when
   * absent. RSS and CPU are then those of the whole process tree.
   */
  processes?(o: Opts): number;
  run(ctx: Ctx): Promise<Metrics>;
  checks(m: Metrics, o: Opts): Check[];
  /** metrics shown in the human summary table, in order */
  headline: string[];
}

export const num = (m: Metrics, k: string): number => (typeof m[k] === 'number' ? m[k] : NaN);
export const round = (x: number, d = 2): number => (Number.isFinite(x) ? Math.round(x * 10 ** d) / 10 ** d : x);
/** A metric as a check's detail shows it (null when it was not measurable). */
export const text = (m: Metrics, k: string): string => {
  const v = m[k];
  return typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v);
};
