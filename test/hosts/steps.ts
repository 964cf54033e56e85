// Steps the many-hosts scenarios share: a host that holds slow jobs when something happens to it,
// and watching for a condition without failing yet, so that one run measures every delay and
// asserts on all of them at the end.
import { waitFor } from '../helpers/wait.js';
import type { HostsContext, HostSupervisor, QueueStatsBody } from './harness.js';
import type { HostNet } from './network.js';

/** Milliseconds from `since` until the probe first held, or undefined if it never did within `timeoutMs`. */
export async function whenHolds(probe: () => unknown, since: number, timeoutMs: number, intervalMs = 100): Promise<number | undefined> {
  try {
    await waitFor(probe, { timeoutMs, intervalMs });
    return Date.now() - since;
  } catch {
    return undefined;
  }
}

/** Waits until the host's supervisor has a worker on each of its queues registered in the store. */
export async function registered(t: HostsContext, supervisor: HostSupervisor, queues: string[]): Promise<void> {
  await waitFor(async () => {
    const records = (await t.store.listProcesses()).filter((r) => r.host === supervisor.host.hostname);
    return queues.every((q) => records.some((r) => r.queue === q && r.state === 'running'));
  }, { timeoutMs: 30_000, intervalMs: 100, message: `${supervisor.host.hostname}'s workers registered` });
}

/**
 * Jobs whose first attempt takes `ms` and later ones 300 ms, started on `host` alone: it holds
 * all of them when the scenario strikes.
 */
export async function slowJobsHeldBy(t: HostsContext, host: HostNet, count: number, ms: number): Promise<string[]> {
  const ids = await t.sleepers(Array.from({ length: count }, () => ({ ms, retryMs: 300 })));
  await waitFor(() => ids.every((id) => t.ledger().some((e) => e.event === 'start' && e.id === id && e.host === host.hostname)),
    { timeoutMs: 20_000, intervalMs: 100, message: `${host.hostname} running ${count} slow jobs` });
  return ids;
}

export function hostState(stats: QueueStatsBody, hostname: string): string | undefined {
  return stats.hosts?.find((h) => h.host === hostname)?.state;
}

/** Each of these jobs started on `hostname` at least once (its restart, for jobs another host lost). */
export function startedOn(t: HostsContext, ids: string[], hostname: string, after = 0): boolean {
  const ledger = t.ledger();
  return ids.every((id) => ledger.some((e) => e.event === 'start' && e.id === id && e.host === hostname && e.at >= after));
}

/**
 * Every assertion of a scenario, checked after the run: a failing run lists all that did not
 * hold (with what was seen), not only the first.
 */
export class Checks {
  private readonly failed: string[] = [];

  that(claim: string, holds: boolean, seen?: unknown): void {
    if (!holds) this.failed.push(seen === undefined ? claim : `${claim} (saw ${JSON.stringify(seen)})`);
  }

  /** Throws, naming every claim that did not hold. */
  assertAll(): void {
    if (this.failed.length > 0) throw new Error(`${this.failed.length} claim(s) did not hold:\n  - ${this.failed.join('\n  - ')}`);
  }
}
