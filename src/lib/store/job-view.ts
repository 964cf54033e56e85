// BullMQ's job, as jobvisor shows it: one state out of six, a timeline, ISO
// times. Pure functions over plain fields, so they are tested with numbers.
import { DEFAULT_TENANT } from '../tenants.js';
import { DEFAULT_PRIORITY } from './job-options.js';
import type { BackoffSpec, JobState, JobView, Progress, TimelineEntry, TimelineEvent } from './types.js';

/** The fields of a BullMQ Job that the view reads. */
export interface RawJob {
  id?: string;
  name: string;
  data: unknown;
  opts: {
    priority?: number;
    delay?: number;
    attempts?: number;
    backoff?: number | { type: string; delay?: number };
    deduplication?: { id: string };
    timeoutMs?: number;
    /** Unset on jobs from before tenants, whose dedup id is the bare key. */
    tenant?: string;
    projectId?: string;
  };
  progress: unknown;
  attemptsStarted?: number;
  attemptsMade: number;
  returnvalue: unknown;
  failedReason?: string;
  stacktrace?: string[] | null;
  timestamp: number;
  processedOn?: number;
  /** The worker (`host:pid`) that started the last attempt, as BullMQ records it. */
  processedBy?: string;
  finishedOn?: number;
}

/** BullMQ's state names, folded into jobvisor's six. */
export function stateOf(bullState: string, cancelRequested: boolean): JobState {
  switch (bullState) {
    case 'active': return 'active';
    case 'delayed': return 'delayed';
    case 'completed': return 'completed';
    case 'failed': return cancelRequested ? 'cancelled' : 'failed';
    default: return 'waiting'; // waiting, prioritized, paused, waiting-children
  }
}

const TIMELINE_MARK = '{"tl":';

/** A timeline entry as a job log line; user log lines never start with the mark. */
export function timelineLine(event: TimelineEvent, at: number, detail?: string): string {
  return JSON.stringify({ tl: 1, at, event, ...(detail === undefined ? {} : { detail }) });
}

function parseTimelineLines(lines: string[]): { at: number; event: TimelineEvent; detail?: string }[] {
  const entries = [];
  for (const line of lines) {
    if (!line.startsWith(TIMELINE_MARK)) continue;
    try {
      entries.push(JSON.parse(line) as { at: number; event: TimelineEvent; detail?: string });
    } catch {
      // a damaged line costs that entry, not the view
    }
  }
  return entries;
}

export function userLogLines(lines: string[]): string[] {
  return lines.filter((l) => !l.startsWith(TIMELINE_MARK));
}

/** Epoch milliseconds as ISO 8601; null for a time that is not set (BullMQ leaves 0 or nothing). */
export const iso = (ms: number | undefined | null) => (ms ? new Date(ms).toISOString() : null);

function backoffOf(raw: RawJob['opts']['backoff']): BackoffSpec {
  if (typeof raw === 'number') return { type: 'fixed', delayMs: raw };
  if (!raw) return { type: 'fixed', delayMs: 0 };
  return { type: raw.type === 'exponential' ? 'exponential' : 'fixed', delayMs: raw.delay ?? 0 };
}

/** Jobs from before tenants have none: they were the default tenant's. */
export const tenantOf = (opts: RawJob['opts']): string => opts.tenant ?? DEFAULT_TENANT;

/** The key as the client gave it: BullMQ's id less its tenant's prefix (job-options.ts, dedupId). */
function dedupKeyOf(opts: RawJob['opts']): string | null {
  const id = opts.deduplication?.id;
  if (id === undefined) return null;
  return opts.tenant !== undefined && id.startsWith(`${opts.tenant}:`) ? id.slice(opts.tenant.length + 1) : id;
}

function progressOf(raw: unknown): Progress {
  if (typeof raw === 'number') return raw;
  if (raw && typeof raw === 'object' && 'current' in raw && 'total' in raw) return raw as Progress;
  return 0;
}

/** Entries BullMQ's own fields already prove, merged with those the worker logged. */
export function buildTimeline(job: RawJob, state: JobState, logLines: string[]): TimelineEntry[] {
  const logged = parseTimelineLines(logLines);
  const entries: { at: number; event: TimelineEvent; detail?: string }[] = [{ at: job.timestamp, event: 'created' }];
  const delay = job.opts.delay ?? 0;
  if (delay > 0) entries.push({ at: job.timestamp, event: 'delayed', detail: `until ${iso(job.timestamp + delay)}` });
  entries.push(...logged);
  const lastStart = job.processedOn;
  if (lastStart && !logged.some((e) => e.event === 'active' && e.at === lastStart)) {
    entries.push({ at: lastStart, event: 'active', ...(job.processedBy ? { detail: job.processedBy } : {}) });
  }
  const end = job.finishedOn;
  if (end && (state === 'completed' || state === 'failed' || state === 'cancelled')) {
    if (!logged.some((e) => e.event === state)) {
      entries.push({ at: end, event: state, ...(state === 'failed' && job.failedReason ? { detail: job.failedReason } : {}) });
    }
  }
  return entries
    .map((e, order) => ({ ...e, order }))
    .sort((a, b) => a.at - b.at || a.order - b.order)
    .map(({ at, event, detail }) => ({ at: new Date(at).toISOString(), event, ...(detail === undefined ? {} : { detail }) }));
}

export function toView(queue: string, job: RawJob, state: JobState, logLines: string[], defaultTimeoutMs: number): JobView {
  const failed = state === 'failed' || state === 'cancelled';
  return {
    id: String(job.id),
    queue,
    name: job.name,
    state,
    priority: job.opts.priority || DEFAULT_PRIORITY,
    progress: progressOf(job.progress),
    data: job.data,
    attempts: job.attemptsStarted ?? job.attemptsMade,
    maxAttempts: job.opts.attempts ?? 1,
    backoff: backoffOf(job.opts.backoff),
    timeoutMs: job.opts.timeoutMs ?? defaultTimeoutMs,
    dedupKey: dedupKeyOf(job.opts),
    tenant: tenantOf(job.opts),
    projectId: job.opts.projectId ?? null,
    result: state === 'completed' ? (job.returnvalue ?? null) : null,
    error: failed && job.failedReason
      ? { message: job.failedReason, ...(job.stacktrace?.length ? { stack: job.stacktrace.at(-1) } : {}) }
      : null,
    createdAt: iso(job.timestamp)!,
    runAt: iso(job.timestamp + (job.opts.delay ?? 0))!,
    startedAt: iso(job.processedOn),
    finishedAt: state === 'completed' || failed ? iso(job.finishedOn) : null,
    timeline: buildTimeline(job, state, logLines),
  };
}

/** The view of a job that was cancelled before it ever ran, or while it ran. */
export function cancelledView(view: JobView, at: number): JobView {
  const timeline = view.timeline.filter((e) => e.event !== 'failed' && e.event !== 'cancelled');
  return {
    ...view,
    state: 'cancelled',
    error: { message: 'job cancelled' },
    finishedAt: new Date(at).toISOString(),
    timeline: [...timeline, { at: new Date(at).toISOString(), event: 'cancelled' }],
  };
}
