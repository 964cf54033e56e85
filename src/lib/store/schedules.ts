// Cron schedules over BullMQ's job schedulers. BullMQ keeps the clock: one
// scheduler per enabled schedule (id = the schedule's name) whose pending job
// has an id made of the name and the tick, so however many processes upsert
// it, a tick yields one job. Beside it, in the side data (side/schedule-runs.ts),
// jobvisor keeps what BullMQ does not: the definition of a disabled schedule,
// which declaration a record came from, and the last job a schedule started.
import type { JobSchedulerJson, JobsOptions, Queue } from 'bullmq';
import { NotFoundError } from '../errors.js';
import { iso } from './job-view.js';
import type { ScheduleRun, ScheduleRuns } from './side/index.js';
import type { EnqueueInput, EnqueueResult, JobView, ScheduleRecord, ScheduleStore, ScheduleView } from './types.js';

export interface ScheduleDeps {
  records: ScheduleRuns;
  queue(name: string): Queue;
  /** The options every job of this priority gets (attempts, backoff, timeout). */
  templateOptions(priority: number): JobsOptions;
  enqueue(input: EnqueueInput): Promise<EnqueueResult>;
  get(queue: string, id: string): Promise<JobView | undefined>;
}

/** Whether BullMQ's scheduler already runs this definition. */
function matches(current: JobSchedulerJson, record: ScheduleRecord): boolean {
  return current.pattern === record.cron
    && (current.tz ?? undefined) === (record.timezone ?? undefined)
    && JSON.stringify(current.template?.data ?? {}) === JSON.stringify(record.payload ?? {})
    && current.template?.opts?.priority === record.priority;
}

export class BullSchedules implements ScheduleStore {
  constructor(private readonly deps: ScheduleDeps) {}

  records(): Promise<ScheduleRecord[]> {
    return this.deps.records.list();
  }

  private async record(name: string): Promise<ScheduleRecord | undefined> {
    return (await this.records()).find((r) => r.name === name);
  }

  async save(record: ScheduleRecord): Promise<void> {
    const previous = await this.record(record.name);
    if (previous && previous.queue !== record.queue) await this.deps.queue(previous.queue).removeJobScheduler(record.name);
    // Unchanged (a reconcile at start): no write, so it cannot undo an api change made meanwhile elsewhere.
    if (JSON.stringify(previous) !== JSON.stringify(record)) await this.deps.records.save(record);
    await this.apply(record);
  }

  private async apply(record: ScheduleRecord): Promise<void> {
    const queue = this.deps.queue(record.queue);
    if (!record.enabled) {
      await queue.removeJobScheduler(record.name);
      return;
    }
    // An upsert replaces the pending job with one at the next tick from now, so
    // a scheduler already in line is left alone: its overdue run (missed while
    // every worker was down) then still runs once when a worker comes back.
    const current = await queue.getJobScheduler(record.name);
    if (current && matches(current, record)) return;
    try {
      await queue.upsertJobScheduler(
        record.name,
        { pattern: record.cron, ...(record.timezone ? { tz: record.timezone } : {}) },
        { name: record.name, data: record.payload ?? {}, opts: this.deps.templateOptions(record.priority) },
      );
    } catch (error) {
      // Another process upserted the same schedule at the same moment and its job for this tick
      // exists already (BullMQ's -10): that is the outcome we wanted, not a failure.
      if (!String((error as Error).message).includes('job ID already exists')) throw error;
    }
  }

  async remove(name: string): Promise<void> {
    const record = await this.record(name);
    if (record) await this.deps.queue(record.queue).removeJobScheduler(name);
    await this.deps.records.remove(name);
  }

  async list(): Promise<ScheduleView[]> {
    const [records, runs] = await Promise.all([this.records(), this.deps.records.runs()]);
    const views = await Promise.all(records.map((r) => this.view(r, runs.get(r.name))));
    return views.sort((a, b) => a.name.localeCompare(b.name));
  }

  async get(name: string): Promise<ScheduleView | undefined> {
    const record = await this.record(name);
    if (!record) return undefined;
    return this.view(record, (await this.deps.records.runs()).get(name));
  }

  private async view(record: ScheduleRecord, run: ScheduleRun | undefined): Promise<ScheduleView> {
    const { declaredHash: _hash, updatedAt: _updated, ...spec } = record;
    const scheduler = record.enabled ? await this.deps.queue(record.queue).getJobScheduler(record.name) : undefined;
    const lastJob = run ? { id: run.jobId, state: (await this.deps.get(run.queue, run.jobId))?.state ?? null } : null;
    return { ...spec, timezone: spec.timezone ?? null, lastRunAt: iso(run?.at), nextRunAt: iso(scheduler?.next), lastJob };
  }

  async runNow(name: string): Promise<JobView> {
    const record = await this.record(name);
    if (!record) throw new NotFoundError(`no schedule ${name}`);
    const { job } = await this.deps.enqueue({ queue: record.queue, name: record.name, data: record.payload ?? {}, priority: record.priority });
    await this.deps.records.recordRun(name, { queue: record.queue, jobId: job.id, at: Date.now() });
    return job;
  }
}
