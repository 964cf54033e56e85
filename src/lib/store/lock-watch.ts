// The consumer's fencing, wired to its BullMQ Worker: BullMQ's renewal events
// feed the fence (fence.ts), one timer per worker checks it and aborts the jobs
// whose locks went stale, a probe asks the store while nothing else answers, and
// the consumer is told when the store goes silent or answers again.
import type { Worker } from 'bullmq';
import { JobLockLostError } from '../errors.js';
import { Fence, type CutOffChange, type LostLock } from './fence.js';
import type { JobController } from './job-controller.js';

/** How often the fence is checked; a recovery is seen within this. */
const CHECK_MS = 500;

export interface LockWatchOptions {
  lockMs: number;
  storeCutOffMs: number;
  /** The running jobs' abort switches, by id: the consumer's own map, read at each check. */
  running: ReadonlyMap<string, JobController>;
  /** Any cheap question to the store. */
  ping(): Promise<void>;
  /** The store went silent (stop fetching) or answers again (fetch again). */
  cutOffChanged(change: CutOffChange): void;
}

/** The job's signal fired because this worker lost its lock: another attempt may own the job now. */
export function fencedOut(controller: JobController): boolean {
  return controller.aborted && controller.signal.reason instanceof JobLockLostError;
}

export class LockWatch {
  private readonly fence: Fence;
  private readonly timer: NodeJS.Timeout;
  private readonly intervalMs: number;
  private lastCheck = Date.now();
  /** A probe under way: one at a time, however long the store is silent. */
  private probing = false;

  constructor(worker: Worker, private readonly options: LockWatchOptions) {
    // Half the lock time: the job is given up while its lock still holds, before another worker may take it.
    this.fence = new Fence({ lockLostAfterMs: options.lockMs / 2, cutOffAfterMs: options.storeCutOffMs }, Date.now());
    worker.on('locksRenewed', ({ jobIds }) => this.fence.renewed(jobIds, Date.now()));
    // A refused renewal means another worker holds the lock now, or it expired: no reason to wait for the timer.
    // The refusal is the store's answer: it is contact, not silence.
    worker.on('lockRenewalFailed', (jobIds) => {
      const now = Date.now();
      this.fence.contact(now);
      for (const id of jobIds) this.abort(this.fence.lose(id, now));
    });
    this.intervalMs = Math.min(CHECK_MS, options.storeCutOffMs / 4);
    this.timer = setInterval(() => this.check(), this.intervalMs);
  }

  /** A job was fetched: its lock is fresh. */
  started(id: string): void {
    this.fence.started(id, Date.now());
  }

  ended(id: string): void {
    this.fence.ended(id);
  }

  get cutOff(): boolean {
    return this.fence.cutOff;
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private check(): void {
    const now = Date.now();
    const stalled = now - this.lastCheck > 2 * this.intervalMs;
    this.lastCheck = now;
    if (this.fence.quiet(now)) this.probe();
    // A blocked event loop sent no renewals meanwhile, though the locks may well hold: BullMQ's renewal
    // timer is due too, so give it one round. A lock that did expire is refused, and lockRenewalFailed aborts it.
    if (stalled) return;
    const { lost, change } = this.fence.check(now);
    for (const lock of lost) this.abort(lock);
    if (change) this.options.cutOffChanged(change);
  }

  private abort(lock: LostLock | undefined): void {
    if (lock) this.options.running.get(lock.id)?.abort(new JobLockLostError(lock.sinceRenewalMs));
  }

  /** Asked only while nothing else (renewals, fetches) answers, so an idle worker learns of a cut-off too. */
  private probe(): void {
    if (this.probing) return;
    this.probing = true;
    this.options.ping().then(() => this.fence.contact(Date.now()), () => {}).finally(() => (this.probing = false));
  }
}
