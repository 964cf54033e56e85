// One pino logger per process; every line is JSON with the process role bound in.
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(role: string, level = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({ level, base: { role, pid: process.pid } });
}
