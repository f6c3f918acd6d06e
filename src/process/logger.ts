import { pino, type Logger } from 'pino';

export type { Logger };

/** Structured JSON logs on stdout; pretty output is `npm run dev` (pino-pretty), not code here. */
export function createLogger(level: string): Logger {
  return pino({ level, base: { service: 'heartbeat' } });
}
