// A workaround for BullMQ's PostgreSQL backend, whose errors while the server restarts
// BullMQ's worker takes for job failures. BullMQ's worker retries a completion (or a
// fetch) that failed on a lost connection, but it recognises a lost connection only by
// ioredis's words: ConnectionClosedError or ECONNREFUSED. pg says the same thing as
// 57P01 "terminating connection due to administrator command", "Connection terminated
// unexpectedly", 57P03 "the database system is starting up"… and for those the worker
// treats a handler's finished result as a failure: the completion is dropped, the attempt
// counted failed, the job retried — its handler runs twice. Rethrown as BullMQ's
// ConnectionClosedError, a completion is retried until the server answers (or the lock is
// found lost), as on Redis.
import { ConnectionClosedError, createPostgresBackend } from 'bullmq';

const PG_CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', '57P01', '57P02', '57P03', '08000', '08001', '08003', '08006']);
const PG_CONNECTION_WORDS = /Connection terminated|connection (is )?(closed|terminated)|not queryable|timeout exceeded when trying to connect|terminating connection|Client was closed/i;

export function isPgConnectionLoss(error: unknown): boolean {
  if (!(error instanceof Error) || error instanceof ConnectionClosedError) return false;
  const code = (error as { code?: unknown }).code;
  return (typeof code === 'string' && PG_CONNECTION_CODES.has(code)) || PG_CONNECTION_WORDS.test(error.message);
}

function translated(error: unknown): unknown {
  return isPgConnectionLoss(error) ? new ConnectionClosedError((error as Error).message) : error;
}

/** Every method of the backend, with a lost connection reported the way BullMQ's worker understands. */
function wrapBackend<T extends object>(backend: T): T {
  return new Proxy(backend, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        const result: unknown = (value as (...a: unknown[]) => unknown).apply(target, args);
        if (result instanceof Promise) return result.catch((error: unknown) => { throw translated(error); });
        return result;
      };
    },
  });
}

/** createPostgresBackend, with the translation above. */
export const blinkTolerantPostgresBackend = ((...args: Parameters<typeof createPostgresBackend>) =>
  wrapBackend(createPostgresBackend(...args))) as typeof createPostgresBackend;
