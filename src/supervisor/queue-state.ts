// What the supervisor keeps per queue on this host: the crash history behind
// the backoff and the crash-loop mark, when each slot may start a worker again,
// the restart counts it publishes, and whether memory pressure holds fetching.
import type { QueueConfig } from '../lib/config.js';
import { RESTART_REASONS, type RestartReason } from '../lib/metric-names.js';
import type { SupervisorStateMessage } from './messages.js';
import { NO_CRASHES, isCrashLooping, isHealthy, recordCrash, type CrashHistory, type PolicySettings } from './policy.js';

export class QueueState {
  readonly name: string;
  /** Under host memory pressure this queue's workers fetch nothing new. */
  held = false;
  private crashes: CrashHistory = NO_CRASHES;
  private looping = false;
  private readonly restartAt: number[];
  private readonly restarts = Object.fromEntries(RESTART_REASONS.map((r) => [r, 0])) as Record<RestartReason, number>;

  constructor(readonly config: QueueConfig, private readonly policy: PolicySettings) {
    this.name = config.name;
    this.restartAt = Array<number>(config.processes.max).fill(0);
  }

  get crashLooping(): boolean {
    return this.looping;
  }

  get crashesSinceHealthy(): number {
    return this.crashes.sinceHealthy;
  }

  get recentCrashes(): number {
    return this.crashes.times.length;
  }

  /** Whether `slot` may start a worker now, or must wait out a crash's backoff. */
  mayStart(slot: number, now: number): boolean {
    return this.restartAt[slot]! <= now;
  }

  /** A crash (or a liveness kill) of the worker in `slot`: returns how long the slot now waits. */
  recordCrash(slot: number, now: number): number {
    const { history, delayMs } = recordCrash(this.crashes, now, this.policy);
    this.crashes = history;
    this.restartAt[slot] = Math.max(this.restartAt[slot]!, now + delayMs);
    return delayMs;
  }

  count(reason: RestartReason): void {
    this.restarts[reason]++;
  }

  /**
   * Given when the queue's ready workers became ready: one up long enough since the
   * last crash forgets the crashes. Returns the crash-loop mark when it changed.
   */
  checkHealth(readySince: readonly number[], now: number): boolean | undefined {
    const healthy = readySince.some((at) => isHealthy(at, this.crashes.lastAt, now, this.policy.healthyUptimeMs));
    if (this.crashes.sinceHealthy > 0 && healthy) this.crashes = NO_CRASHES;
    const looping = isCrashLooping(this.crashes.times, now, this.policy);
    if (looping === this.looping) return undefined;
    this.looping = looping;
    return looping;
  }

  /** What the queue's workers publish in their registry records. */
  stateMessage(supervisor: string): SupervisorStateMessage {
    return { type: 'state', supervisor, restarts: { ...this.restarts }, crashLooping: this.looping };
  }
}
