import type { Logger } from '../../process/logger.js';
import { CauseLog } from '../cause-log.js';

/** Why Redis could not serve, in the words an operator acts on. */
export type FailureCause = 'refused' | 'timeout' | 'auth' | 'cluster down' | 'connection lost' | 'other';

/**
 * The cause of a failed connection or command, from its error code and message.
 * @internal exported for its test
 */
export function causeOf(error: unknown): FailureCause {
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  if (code === 'ECONNREFUSED' || /ECONNREFUSED/.test(message)) return 'refused';
  if (/NOAUTH|WRONGPASS|invalid (username-)?password|AUTH .*(fail|error)/i.test(message)) return 'auth';
  if (/CLUSTERDOWN|Failed to refresh slots cache|None of startup nodes is available|cluster is down/i.test(message)) return 'cluster down';
  if (code === 'ETIMEDOUT' || /timed? ?out|deadline/i.test(message)) return 'timeout';
  if (
    ['ECONNRESET', 'EPIPE', 'ENOTCONN'].includes(String(code)) ||
    /Connection is closed|ECONNRESET|EPIPE|Stream isn't writeable/i.test(message)
  ) {
    return 'connection lost';
  }
  return 'other';
}

/**
 * Logs why the store fails, once per change of cause (never once per failed command), and when
 * it works again, with how many failures of that cause were not logged (`repeats`). Fed by every
 * connection error and every failed command; a success costs one comparison.
 */
export class FailureLog {
  private readonly causes: CauseLog<FailureCause>;

  constructor(log: Logger | undefined, store: string) {
    this.causes = new CauseLog({
      failing: (cause, error, previous) => log?.warn({ store, cause, error, ...previous }, 'presence store failing'),
      worksAgain: (cause, repeats, failingMs) => log?.info({ store, cause, repeats, failingMs }, 'presence store works again'),
    });
  }

  failed(error: unknown): void {
    this.causes.failed(causeOf(error), error instanceof Error ? error.message : String(error));
  }

  succeeded(): void {
    this.causes.succeeded();
  }
}
