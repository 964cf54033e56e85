// What a worker says and counts when fencing acts (src/lib/store/fence.ts): an
// attempt given up because its lock could not be renewed, and the store going
// silent and answering again. Each cut-off is told once, and once its end.
import type { Logger } from '../lib/logger.js';
import type { ConsumerEvents } from '../lib/store/index.js';
import type { WorkerMetrics } from './metrics.js';

export function fencingEvents(queue: string, logger: Logger, metrics: WorkerMetrics): Pick<ConsumerEvents, 'lockLost' | 'storeCutOff'> {
  const lockLost = metrics.lockLost.labels({ queue });
  const cutOff = metrics.storeCutOff.labels({ queue });
  cutOff.set(0);
  return {
    lockLost: (job, reason) => {
      lockLost.inc();
      logger.warn({ queue, jobId: job.id, attempt: job.attempt, sinceRenewalMs: reason.sinceRenewalMs },
        'job lock lost: the attempt was aborted and its outcome discarded; another attempt will run it');
    },
    storeCutOff: (change, { held, aborted }) => {
      cutOff.set(change.cutOff ? 1 : 0);
      if (change.cutOff) {
        logger.warn({ queue, sinceContactMs: change.sinceContactMs, held, aborted },
          `cut off from the store for ${change.sinceContactMs} ms; holding ${held} jobs, ${aborted} aborted; fetching stopped`);
      } else {
        logger.warn({ queue, cutOffForMs: change.cutOffForMs }, `the store answers again after ${change.cutOffForMs} ms; fetching resumed`);
      }
    },
  };
}
