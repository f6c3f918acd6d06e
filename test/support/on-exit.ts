/**
 * Runs `cleanup` synchronously when this test process ends, however it ends, so a test that
 * forgets to close (or crashes, or times out) leaves no child process or temp dir behind.
 * ava ends a timed-out test process with SIGTERM, which skips 'exit' handlers: the signal handler
 * cleans up, then re-raises the signal so its default action (terminate) still happens unless
 * someone else handles it.
 */
const cleanups: (() => void)[] = [];

function runAll(): void {
  for (const cleanup of cleanups.splice(0)) cleanup();
}

process.on('exit', runAll);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  const onSignal = (): void => {
    runAll();
    process.removeListener(signal, onSignal);
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  };
  process.on(signal, onSignal);
}

export function onProcessExit(cleanup: () => void): void {
  cleanups.push(cleanup);
}
