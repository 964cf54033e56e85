// One pino logger per process; every line is JSON with the process role bound in.
import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * `buffered`: lines are written to stdout asynchronously, those that arrive
 * while a write is under way joined into the next one, so that a busy api pays
 * one write per batch instead of one per request line (measured: a sync write
 * per request cost the enqueue route a quarter of its throughput). pino
 * flushes what is left when the process exits.
 */
export function createLogger(role: string, level = process.env.LOG_LEVEL ?? 'info', { buffered = false } = {}): Logger {
  const options = { level, base: { role, pid: process.pid } };
  return buffered ? pino(options, pino.destination({ dest: 1, sync: false })) : pino(options);
}
