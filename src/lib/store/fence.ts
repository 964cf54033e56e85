// Fencing for one consumer: which of its running jobs this worker may still call
// its own, judged by when each job's lock was last renewed, and whether the
// worker is cut off from its store. Bookkeeping over times the consumer passes
// in (no clock, no timer of its own), so tests drive it with plain numbers.

export interface FenceSettings {
  /**
   * A job whose lock was last renewed (or taken) longer ago than this is given
   * up. Below the lock time, so the worker lets go before the lock can expire
   * and another worker's stalled check hand the job to someone else.
   */
  lockLostAfterMs: number;
  /** No answer from the store for this long: the worker is cut off and stops fetching. */
  cutOffAfterMs: number;
}

export interface LostLock {
  id: string;
  sinceRenewalMs: number;
}

/** A change of the cut-off state, reported once by the check that saw it; `aborted`: jobs given up since the store last answered. */
export type CutOffChange = { cutOff: true; sinceContactMs: number; aborted: number } | { cutOff: false; cutOffForMs: number };

export interface FenceCheck {
  /** Jobs to abort now; each is reported once and no longer tracked. */
  lost: LostLock[];
  change?: CutOffChange;
}

export class Fence {
  /** When each running job's lock was last taken or renewed, by id. */
  private readonly renewedAt = new Map<string, number>();
  private lastContact: number;
  /** Jobs given up since the store last answered. */
  private lostSinceContact = 0;
  /** While cut off: the store's last answer before the silence; undefined while connected. */
  private silentSince: number | undefined;

  constructor(private readonly settings: FenceSettings, now: number) {
    this.lastContact = now;
  }

  /** A job was fetched: its lock is fresh, and the store just answered. */
  started(id: string, now: number): void {
    this.renewedAt.set(id, now);
    this.contact(now);
  }

  ended(id: string): void {
    this.renewedAt.delete(id);
  }

  /** BullMQ renewed these jobs' locks. */
  renewed(ids: readonly string[], now: number): void {
    for (const id of ids) if (this.renewedAt.has(id)) this.renewedAt.set(id, now);
    this.contact(now);
  }

  /** Any answer from the store. */
  contact(now: number): void {
    if (now > this.lastContact) this.lastContact = now;
    this.lostSinceContact = 0;
  }

  /** This job's lock is known lost (its renewal was refused): stop tracking it and say for how long it was not renewed. */
  lose(id: string, now: number): LostLock | undefined {
    const at = this.renewedAt.get(id);
    if (at === undefined) return undefined;
    this.renewedAt.delete(id);
    this.lostSinceContact++;
    return { id, sinceRenewalMs: now - at };
  }

  get cutOff(): boolean {
    return this.silentSince !== undefined;
  }

  /** Whether a probe of the store is due: nothing has answered for half the cut-off time. */
  quiet(now: number): boolean {
    return now - this.lastContact > this.settings.cutOffAfterMs / 2;
  }

  check(now: number): FenceCheck {
    const lost: LostLock[] = [];
    for (const [id, at] of this.renewedAt) {
      if (now - at > this.settings.lockLostAfterMs) lost.push({ id, sinceRenewalMs: now - at });
    }
    for (const { id } of lost) this.renewedAt.delete(id);
    this.lostSinceContact += lost.length;
    const sinceContactMs = now - this.lastContact;
    const cutOff = sinceContactMs > this.settings.cutOffAfterMs;
    if (cutOff === this.cutOff) return { lost };
    if (cutOff) {
      this.silentSince = this.lastContact;
      return { lost, change: { cutOff: true, sinceContactMs, aborted: this.lostSinceContact } };
    }
    const cutOffForMs = this.lastContact - this.silentSince!;
    this.silentSince = undefined;
    return { lost, change: { cutOff: false, cutOffForMs } };
  }
}
