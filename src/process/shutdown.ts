import type { Logger } from './logger.js';

/**
 * The last step of every shutdown (the process, or one worker thread): `drain` answers the exit
 * code, and `exit` is called with it once the drain ends; with 1 when the drain fails ("shutdown
 * failed") or has not ended after SHUTDOWN_TIMEOUT, less `earlierByMs` ("shutdown timed out").
 */
export function exitAfterDrain(
  drain: () => Promise<number>,
  options: { timeoutSeconds: number; log: Logger; exit: (code: number) => void; earlierByMs?: number },
): void {
  const { timeoutSeconds, log, exit, earlierByMs = 0 } = options;
  const timeoutMs = Math.max(100, timeoutSeconds * 1000 - earlierByMs);
  const deadline = setTimeout(() => {
    log.error({ timeoutSeconds }, 'shutdown timed out');
    exit(1);
  }, timeoutMs);
  drain().then(
    (code) => {
      clearTimeout(deadline);
      // Let uWS flush the final writes (the streams' closing `retry:`) before sockets close.
      setTimeout(() => exit(code), 50);
    },
    (error: unknown) => {
      clearTimeout(deadline);
      log.error({ err: error }, 'shutdown failed');
      exit(1);
    },
  );
}
