// queue-stats' view of autoscaling: per queue, one entry per supervisor (host)
// running it, from the scaling record that supervisor gives its workers to
// publish. Every worker of one supervisor repeats it, so one record is taken each.
import type { ProcessRecord } from '../lib/store/index.js';

/** Of two records of one supervisor, the one with its latest word: a draining worker stopped hearing it. */
function fresher(a: ProcessRecord, b: ProcessRecord): ProcessRecord {
  if ((a.state === 'draining') !== (b.state === 'draining')) return a.state === 'draining' ? b : a;
  return (b.scaling?.lastDecision?.at ?? 0) > (a.scaling?.lastDecision?.at ?? 0) ? b : a;
}

export function scalingOf(queue: string, records: readonly ProcessRecord[]) {
  const bySupervisor = new Map<string, ProcessRecord>();
  for (const record of records) {
    if (record.queue !== queue || !record.scaling) continue;
    const supervisor = record.supervisor ?? record.id;
    const seen = bySupervisor.get(supervisor);
    bySupervisor.set(supervisor, seen ? fresher(seen, record) : record);
  }
  return [...bySupervisor.entries()].map(([supervisor, { host, scaling }]) => {
    const { min, max, desired, live, lastDecision } = scaling!;
    return { host, supervisor, range: { min, max }, desired, live, lastDecision: lastDecision && { ...lastDecision, at: new Date(lastDecision.at).toISOString() } };
  });
}
