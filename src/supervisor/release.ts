// A dead worker's jobs go back to waiting at once. The supervisor is the worker's parent: its
// last heartbeat named the jobs it held and their lock tokens, so they need not wait for
// BullMQ's lock expiry and stalled check (which stays the net for what nobody saw die).
import type { Logger } from '../lib/logger.js';
import type { ProcessClaims, Store } from '../lib/store/index.js';
import { processAlive } from '../lib/process-alive.js';

export interface Releaser {
  store: Pick<Store, 'removeProcess' | 'releaseJobs' | 'claimsOf'>;
  logger: Logger;
}

/** The jobs a dead worker held go back to waiting, then its registry record and claims go. */
export async function releaseDead({ store, logger }: Releaser, claims: Omit<ProcessClaims, 'host'>, why: string): Promise<void> {
  if (claims.held.length > 0) {
    const released = await store.releaseJobs(claims.queue, claims.held, why).catch((error: Error) => error);
    // Unreleased, the claims stay for the next supervisor of this host (or until they expire).
    if (released instanceof Error) return logger.warn({ queue: claims.queue, pid: claims.pid, err: released }, 'could not release the jobs of a dead worker');
    logger.info({ queue: claims.queue, pid: claims.pid, held: claims.held.length, released }, 'released the jobs of a dead worker');
  }
  await store.removeProcess(claims.id).catch(() => {});
}

/**
 * At start: what dead workers of this host left claimed (a power loss, a past deadline, a
 * killed supervisor's orphans killed too). Live orphans of a previous supervisor keep theirs.
 */
export async function releaseLeftovers(releaser: Releaser, host: string, isAlive: (pid: number) => boolean = processAlive): Promise<void> {
  const left = await releaser.store.claimsOf(host).catch(() => []);
  await Promise.all(left.filter((c) => c.pid !== process.pid && !isAlive(c.pid))
    .map((c) => releaseDead(releaser, c, 'died before this supervisor started')));
}
