import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { onProcessExit } from './on-exit.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const live = new Set<ChildProcess>();
function killAll(): void {
  for (const child of live) child.kill('SIGKILL');
}
onProcessExit(killAll);

/**
 * How long a start may take: tsx compiles the sources first, which takes seconds on an idle box
 * and over a minute on a busy one (the suite running beside a bench on two cores).
 */
const START_TIMEOUT_MS = 90_000;

export interface ServiceProcess {
  /** `http://127.0.0.1:<port>` of the public API. */
  readonly url: string;
  readonly port: number;
  /** `http://127.0.0.1:<port>` of the admin port, when ADMIN_LISTEN was not emptied. */
  readonly adminUrl: string | null;
  readonly child: ChildProcess;
  /** Every JSON log line printed so far. */
  readonly logs: Record<string, unknown>[];
  /** Everything printed on stderr so far (a crash's stack trace). */
  readonly stderr: string[];
  /** Resolves with the exit code and signal when the process ends. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Sends `signal` (default SIGTERM) and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Starts a real heartbeat process (src/process/main.ts through tsx) on free ports and resolves once it
 * logged its start line. `env` is added to a minimal environment (REDIS must be given);
 * `launcher` runs it through another command (`['taskset', '-c', '0']`).
 */
export async function startService(
  env: Record<string, string>,
  timeoutMs = START_TIMEOUT_MS,
  launcher: string[] = [],
): Promise<ServiceProcess> {
  const [command, ...args] = [...launcher, process.execPath, '--import', 'tsx', 'src/process/main.ts'];
  const child = spawn(command, args, {
    cwd: ROOT,
    // PING_RATE=0: most tests post thousands of pings from one client; the rate-limit tests set it.
    env: { PATH: process.env.PATH, LISTEN: '127.0.0.1:0', ADMIN_LISTEN: '127.0.0.1:0', LOG_LEVEL: 'info', PING_RATE: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  const logs: Record<string, unknown>[] = [];
  const stderr: string[] = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => {
      live.delete(child);
      resolve({ code, signal });
    }),
  );
  child.stderr.on('data', (d: Buffer) => stderr.push(d.toString()));
  let buffered = '';
  const started = new Promise<Record<string, unknown>>((resolve, reject) => {
    // A fatal start error is a JSON log line on stdout, not stderr: name both in the failure.
    const why = () => [stderr.join(''), ...logs.slice(-3).map((entry) => JSON.stringify(entry))].filter(Boolean).join('\n');
    const timer = setTimeout(() => reject(new Error(`service did not start: ${why()}`)), timeoutMs);
    void exited.then(({ code }) => reject(new Error(`service exited with ${code} before starting: ${why()}`)));
    child.stdout.on('data', (d: Buffer) => {
      buffered += d.toString();
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        try {
          const entry = JSON.parse(line) as Record<string, unknown>;
          logs.push(entry);
          if (entry.msg === 'heartbeat started') {
            clearTimeout(timer);
            resolve(entry);
          }
        } catch {
          // not a log line
        }
      }
    });
  });
  const line = await started;
  const port = Number(String(line.listen).split(':').pop());
  const admin = typeof line.admin === 'string' ? Number(line.admin.split(':').pop()) : null;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    adminUrl: admin ? `http://127.0.0.1:${admin}` : null,
    child,
    logs,
    stderr,
    exited,
    stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
