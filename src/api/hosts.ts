// What the registry's listing says of hosts and of the jobs nobody holds: a host is
// `up` while any of its workers beats, `unreachable` once all of them are silent
// (until the registry forgets them), and a queue's active jobs held by no live
// worker are `orphaned` until BullMQ's stalled check takes them back.
import type { ProcessListing, ProcessRecord } from '../lib/store/index.js';

export interface HostView {
  host: string;
  state: 'up' | 'unreachable';
  /** The latest heartbeat of any of its workers, by the store's clock. */
  lastSeen: string | null;
  /** Its workers listed: live and silent. */
  workers: number;
  /** Those of them silent past their TTL. */
  unreachableWorkers: number;
}

export function hostsOf({ live, silent }: ProcessListing): HostView[] {
  const hosts = new Map<string, HostView & { latest: number }>();
  const add = (record: ProcessRecord, isLive: boolean) => {
    const view = hosts.get(record.host) ?? { host: record.host, state: 'unreachable', lastSeen: null, workers: 0, unreachableWorkers: 0, latest: 0 };
    view.workers += 1;
    if (isLive) view.state = 'up';
    else view.unreachableWorkers += 1;
    view.latest = Math.max(view.latest, record.lastSeen ?? 0);
    hosts.set(record.host, view);
  };
  for (const record of live) add(record, true);
  for (const record of silent) add(record, false);
  return [...hosts.values()]
    .sort((a, b) => (a.host < b.host ? -1 : a.host > b.host ? 1 : 0))
    .map(({ latest, ...view }) => ({ ...view, lastSeen: latest > 0 ? new Date(latest).toISOString() : null }));
}

export function unreachableHosts(listing: ProcessListing): string[] {
  return hostsOf(listing).filter((host) => host.state === 'unreachable').map((host) => host.host);
}

const activeOf = (records: readonly ProcessRecord[], queue: string) =>
  records.filter((record) => record.queue === queue).reduce((sum, record) => sum + record.active, 0);

/**
 * A queue's active jobs held by no live worker. Two bounds, both from records already read, so
 * this costs the store nothing: BullMQ's active count less what the live workers hold, and what
 * the silent workers held at their last beat. The first alone would count, for up to a
 * heartbeat, a job a live worker has just taken; the second alone would still count jobs that
 * the stalled check has already moved. The smaller is right in both cases.
 */
export function orphanedOf(queue: string, active: number, { live, silent }: ProcessListing): number {
  return Math.max(0, Math.min(active - activeOf(live, queue), activeOf(silent, queue)));
}
