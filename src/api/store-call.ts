// A store call as the api makes it: bounded in time, and a backend that is
// down becomes StoreUnavailableError (→ 503), whatever client library failed.
import { NotFoundError, StateConflictError, StoreUnavailableError } from '../lib/errors.js';

const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'EAI_AGAIN', 'ENETUNREACH', '57P01', '57P03', '08000', '08001', '08003', '08006']);

/** ioredis and pg report a lost backend in a few ways; any of them means "unavailable", not "bug". */
export function isConnectionFailure(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as NodeJS.ErrnoException).code;
  if (code && CONNECTION_CODES.has(code)) return true;
  if (error.name === 'MaxRetriesPerRequestError') return true;
  return /connection (is )?(closed|terminated|refused|timeout)|connect ECONNREFUSED|Connection terminated|stream isn't writeable|timeout exceeded when trying to connect/i.test(error.message);
}

export type StoreCall = <T>(work: Promise<T>, timeoutMs?: number) => Promise<T>;

export function storeCaller(defaultTimeoutMs: number): StoreCall {
  return async <T>(work: Promise<T>, timeoutMs = defaultTimeoutMs): Promise<T> => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new StoreUnavailableError(`store did not answer within ${timeoutMs} ms`)), timeoutMs);
    });
    work.catch(() => {}); // a call that loses the race must not become an unhandled rejection
    try {
      return await Promise.race([work, timeout]);
    } catch (error) {
      if (error instanceof NotFoundError || error instanceof StateConflictError || error instanceof StoreUnavailableError) throw error;
      if (isConnectionFailure(error)) throw new StoreUnavailableError((error as Error).message);
      throw error;
    } finally {
      clearTimeout(timer);
    }
  };
}
