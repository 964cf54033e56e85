// The Store over BullMQ: one Queue per queue name, jobvisor's job view and
// cancelled state on top, extras per backend. See types.ts for the contract.
import type { FlowProducer, Job, JobsOptions, JobType, Queue } from 'bullmq';
import { NotFoundError, StateConflictError, StoreUnavailableError } from '../errors.js';
import { createFlowProducer, createQueue, type Engine } from './connection.js';
import { addFlow } from './flows.js';
import { newJobId } from './job-id.js';
import { BullConsumer } from './consumer.js';
import type { Retention } from './extras.js';
import { cancelledView, stateOf, timelineLine, toView, type RawJob } from './job-view.js';
import { BullSchedules } from './schedules.js';
import type {
  ConsumeOptions, Consumer, ConsumerEvents, EnqueueInput, EnqueueResult, FlowInput, FlowResult, JobProcessor, JobState,
  JobView, ListQuery, ProcessRecord, ScheduleStore, StateCounts, Store,
} from './types.js';

export interface JobDefaults {
  attempts: number;
  backoffMs: number;
  timeoutMs: number;
  keepCompleted: Retention;
  keepFailed: Retention;
  lockMs: number;
  stalledIntervalMs: number;
}

/** BullMQ's lists behind each of jobvisor's states. */
const BULL_TYPES: Record<Exclude<JobState, 'cancelled'>, JobType[]> = {
  waiting: ['prioritized', 'waiting', 'waiting-children'],
  delayed: ['delayed'],
  active: ['active'],
  completed: ['completed'],
  failed: ['failed'],
};

const CANCEL_WAIT_MS = 3000;
const LIST_SCAN_CAP = 10_000;
/** Log lines (user lines and timeline entries) kept per job; the oldest go first. */
const KEEP_LOG_LINES = 500;

export class BullStore implements Store {
  private readonly queues = new Map<string, Queue>();
  private readonly indexBatches = new Map<string, { entries: { id: string; createdAt: number }[]; written: Promise<void> }>();
  private flowProducer?: FlowProducer;
  private closed?: Promise<void>;
  private scheduleStore?: ScheduleStore;

  constructor(private readonly engine: Engine, private readonly defaults: JobDefaults) {}

  get schedules(): ScheduleStore {
    return (this.scheduleStore ??= new BullSchedules({
      extras: this.engine.extras,
      queue: (name) => this.queue(name),
      templateOptions: (priority) => {
        const { jobId: _jobId, ...opts } = this.jobOptions({ queue: '', data: null, priority }, '');
        return opts;
      },
      enqueue: (input) => this.enqueue(input),
      get: (queue, id) => this.get(queue, id),
    }));
  }

  get mode() {
    return this.engine.mode;
  }

  private queue(name: string): Queue {
    let queue = this.queues.get(name);
    if (!queue) {
      queue = createQueue(this.engine, name);
      queue.on('error', () => {}); // surfaced by the failing call instead
      this.queues.set(name, queue);
    }
    return queue;
  }

  private jobOptions(input: EnqueueInput, jobId: string): JobsOptions & { timeoutMs: number; projectId?: string } {
    const delay = input.runAt ? Math.max(0, input.runAt.getTime() - Date.now()) : (input.delayMs ?? 0);
    const backoff = input.backoff ?? { type: 'exponential', delayMs: this.defaults.backoffMs };
    const { keepCompleted, keepFailed } = this.defaults;
    return {
      jobId,
      priority: input.priority ?? 5,
      ...(delay > 0 ? { delay } : {}),
      attempts: input.attempts ?? this.defaults.attempts,
      backoff: { type: backoff.type, delay: backoff.delayMs },
      removeOnComplete: { count: keepCompleted.count, age: keepCompleted.ageSeconds },
      removeOnFail: { count: keepFailed.count, age: keepFailed.ageSeconds },
      keepLogs: KEEP_LOG_LINES, // a handler that reports progress every second must not grow its job without bound
      ...(input.dedupKey ? { deduplication: { id: input.dedupKey } } : {}),
      timeoutMs: input.timeoutMs ?? this.defaults.timeoutMs,
      ...(input.projectId ? { projectId: input.projectId } : {}),
    };
  }

  private view(queue: string, job: Job, state: JobState, logs: string[] = []): JobView {
    return toView(queue, job as unknown as RawJob, state, logs, this.defaults.timeoutMs);
  }

  /**
   * Creation-index entries wait for the end of the current tick and go in one
   * write per queue: under load, many concurrent enqueues cost one extra command,
   * not one each.
   */
  private indexSoon(queue: string, entries: { id: string; createdAt: number }[]): Promise<void> {
    let batch = this.indexBatches.get(queue);
    if (!batch) {
      const entriesOfBatch: { id: string; createdAt: number }[] = [];
      const written = new Promise<void>((resolve, reject) => {
        setImmediate(() => {
          this.indexBatches.delete(queue);
          this.engine.extras.indexCreated(queue, entriesOfBatch).then(resolve, reject);
        });
      });
      batch = { entries: entriesOfBatch, written };
      this.indexBatches.set(queue, batch);
    }
    batch.entries.push(...entries);
    return batch.written;
  }

  private async afterAdd(input: EnqueueInput, job: Job, jobId: string): Promise<EnqueueResult> {
    if (job.id !== jobId) {
      const existing = await this.get(input.queue, String(job.id));
      if (existing) return { job: existing, created: false };
    }
    if (input.projectId) await this.engine.extras.indexProject(input.queue, input.projectId, jobId, job.timestamp);
    const state = (job.opts.delay ?? 0) > 0 ? 'delayed' : 'waiting';
    return { job: this.view(input.queue, job, state), created: true };
  }

  async enqueue(input: EnqueueInput): Promise<EnqueueResult> {
    const jobId = newJobId();
    const [job] = await Promise.all([
      this.queue(input.queue).add(input.name ?? 'default', input.data, this.jobOptions(input, jobId)),
      this.indexSoon(input.queue, [{ id: jobId, createdAt: Date.now() }]), // beside the add, not after it
    ]);
    return this.afterAdd(input, job, jobId);
  }

  async enqueueBulk(inputs: EnqueueInput[]): Promise<EnqueueResult[]> {
    const byQueue = new Map<string, EnqueueInput[]>();
    for (const input of inputs) byQueue.set(input.queue, [...(byQueue.get(input.queue) ?? []), input]);
    const results = new Map<EnqueueInput, EnqueueResult>();
    for (const [queue, group] of byQueue) {
      const ids = group.map(() => newJobId());
      const now = Date.now();
      const [jobs] = await Promise.all([
        this.queue(queue).addBulk(
          group.map((input, i) => ({ name: input.name ?? 'default', data: input.data, opts: this.jobOptions(input, ids[i]!) }))),
        this.indexSoon(queue, ids.map((id) => ({ id, createdAt: now }))),
      ]);
      for (const [i, job] of jobs.entries()) results.set(group[i]!, await this.afterAdd(group[i]!, job, ids[i]!));
    }
    return inputs.map((input) => results.get(input)!);
  }

  async enqueueFlow(flow: FlowInput): Promise<FlowResult> {
    this.flowProducer ??= createFlowProducer(this.engine);
    const result = await addFlow(this.flowProducer, flow, (input, jobId) => this.jobOptions(input, jobId));
    // Every node into its queue's creation index, so the jobs of a flow show in lists like any other.
    const now = Date.now();
    const byQueue = new Map<string, string[]>();
    const walk = (node: FlowResult) => {
      byQueue.set(node.queue, [...(byQueue.get(node.queue) ?? []), node.id]);
      node.children.forEach(walk);
    };
    walk(result);
    await Promise.all([...byQueue].map(([queue, ids]) => this.indexSoon(queue, ids.map((id) => ({ id, createdAt: now })))));
    return result;
  }

  async getValue<T = unknown>(key: string): Promise<T | undefined> {
    const json = await this.engine.extras.getValue(key);
    return json === undefined ? undefined : (JSON.parse(json) as T);
  }

  async setValue(key: string, value: unknown): Promise<void> {
    await this.engine.extras.setValue(key, JSON.stringify(value));
  }

  get(queue: string, id: string): Promise<JobView | undefined> {
    return this.read(queue, id, 1);
  }

  private async read(queue: string, id: string, rereads: number): Promise<JobView | undefined> {
    const bullQueue = this.queue(queue);
    // The state first, then the job: a job finishing between the two reads then shows its final
    // state with its result or error, never a final state with neither.
    const stateRead = await bullQueue.getJobState(id);
    const job = await bullQueue.getJob(id);
    if (!job) return this.engine.extras.getCancelled(queue, id);
    const [bullState, { logs }] = await Promise.all([
      stateRead === 'unknown' ? job.getState() : stateRead, bullQueue.getJobLogs(id)]);
    // The job finished (or was archived as cancelled) between our reads: read again, so that
    // its state and its fields (result, finishedOn) agree.
    const stale = bullState === 'unknown' || ((bullState === 'completed' || bullState === 'failed') && !job.finishedOn);
    if (stale && rereads > 0) return this.read(queue, id, rereads - 1);
    if (bullState === 'failed') {
      const archived = await this.engine.extras.getCancelled(queue, id);
      if (archived) return archived;
    }
    const cancelRequested = bullState === 'failed' && (await this.engine.extras.cancelRequested(queue, [id])).length > 0;
    const state = stateOf(bullState, cancelRequested);
    const view = this.view(queue, job, state, logs);
    return state === 'cancelled' ? cancelledView(view, job.finishedOn ?? Date.now()) : view;
  }

  /** Up to `want` jobs of one state, newest first, as views without timeline. */
  private async listState(queue: string, state: JobState, want: number): Promise<JobView[]> {
    if (state === 'cancelled') return this.engine.extras.listCancelled(queue, 0, want);
    const bullQueue = this.queue(queue);
    const lists = await Promise.all(BULL_TYPES[state].map((type) => bullQueue.getJobs([type], 0, want - 1, false)));
    let jobs = lists.flat().filter((j): j is Job => Boolean(j));
    if (lists.filter((l) => l.length > 0).length > 1) jobs = jobs.sort((a, b) => b.timestamp - a.timestamp || String(b.id).localeCompare(String(a.id)));
    const cancelled = state === 'failed'
      ? new Set(await this.engine.extras.cancelRequested(queue, jobs.map((j) => String(j.id))))
      : new Set<string>();
    return jobs.slice(0, want).map((job) => this.view(queue, job, cancelled.has(String(job.id)) ? 'cancelled' : state));
  }

  /**
   * Newest first. Finished states come in the order they finished (BullMQ's own
   * order, most recent first); everything else is read from the creation index,
   * scanning at most LIST_SCAN_CAP of the newest jobs.
   */
  async list(query: ListQuery): Promise<JobView[]> {
    const { queue, state, projectId, limit, offset } = query;
    const extras = this.engine.extras;
    let views: JobView[];
    if (projectId) {
      views = await this.scanIndex(query, (o, l) => extras.listProject(queue, projectId, o, l), (gone) => extras.unindexProject(queue, projectId, gone));
    } else if (state === 'completed' || state === 'failed' || state === 'cancelled' || state === 'active') {
      views = (await this.listState(queue, state, offset + limit)).slice(offset, offset + limit);
    } else {
      views = await this.scanIndex(query, (o, l) => extras.listCreated(queue, o, l), (gone) => extras.unindexCreated(queue, gone));
    }
    return views.map((v) => ({ ...v, timeline: [] }));
  }

  /** Walk an index of ids, newest first, keeping the jobs in the wanted state; ids of removed jobs are dropped from it. */
  private async scanIndex(
    query: ListQuery,
    page: (offset: number, limit: number) => Promise<string[]>,
    unindex: (ids: string[]) => Promise<void>,
  ): Promise<JobView[]> {
    const { queue, state, limit, offset } = query;
    const matched: JobView[] = [];
    const chunk = 200;
    for (let position = 0, scanned = 0; matched.length < offset + limit && scanned < LIST_SCAN_CAP; scanned += chunk) {
      const ids = await page(position, chunk);
      const views = await Promise.all(ids.map((id) => this.summary(queue, id)));
      const gone = ids.filter((_, i) => !views[i]);
      await unindex(gone);
      position += ids.length - gone.length;
      matched.push(...views.filter((v): v is JobView => v !== undefined && (!state || v.state === state)));
      if (ids.length < chunk) break;
    }
    return matched.slice(offset, offset + limit);
  }

  /** A job's view without its logs: two reads instead of three, for lists. */
  private async summary(queue: string, id: string): Promise<JobView | undefined> {
    const stateRead = await this.queue(queue).getJobState(id); // state first, as in get()
    const job = await this.queue(queue).getJob(id);
    if (!job) return this.engine.extras.getCancelled(queue, id);
    const bullState = stateRead === 'unknown' ? await job.getState() : stateRead;
    const cancelRequested = bullState === 'failed' && (await this.engine.extras.cancelRequested(queue, [id])).length > 0;
    return this.view(queue, job, stateOf(bullState, cancelRequested));
  }

  async cancel(queue: string, id: string): Promise<JobView> {
    const job = await this.queue(queue).getJob(id);
    if (!job) {
      const archived = await this.engine.extras.getCancelled(queue, id);
      if (archived) throw new StateConflictError('job is already cancelled', 'cancelled');
      throw new NotFoundError(`no job ${id} in queue ${queue}`);
    }
    const state = await this.get(queue, id);
    if (!state) throw new NotFoundError(`no job ${id} in queue ${queue}`);
    if (state.state === 'completed' || state.state === 'failed' || state.state === 'cancelled') {
      throw new StateConflictError(`job is already ${state.state}`, state.state);
    }
    if (state.state !== 'active' && (await this.removeBeforeRun(queue, job, state))) {
      return (await this.engine.extras.getCancelled(queue, id))!;
    }
    // Active (or became active as we looked): the worker holding it sees the request and aborts it.
    await this.engine.extras.requestCancel(queue, id);
    return this.waitForCancelled(queue, id);
  }

  /** A job that has not started is archived as cancelled and removed, so no worker can take it. */
  private async removeBeforeRun(queue: string, job: Job, view: JobView): Promise<boolean> {
    if (job.repeatJobKey) {
      // BullMQ will not remove a scheduler's pending job: its schedule owns it.
      throw new StateConflictError('this job belongs to a cron schedule: disable the schedule instead', view.state);
    }
    const now = Date.now();
    await this.engine.extras.archiveCancelled(cancelledView(view, now), this.defaults.keepFailed);
    try {
      await job.remove();
      return true;
    } catch {
      // Locked: a worker took it between our read and the removal.
      await this.engine.extras.deleteCancelled(queue, String(job.id));
      return false;
    }
  }

  private async waitForCancelled(queue: string, id: string): Promise<JobView> {
    const deadline = Date.now() + CANCEL_WAIT_MS;
    let view = await this.get(queue, id);
    while (view && view.state === 'active' && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      view = await this.get(queue, id);
    }
    if (!view) throw new NotFoundError(`no job ${id} in queue ${queue}`);
    // Finished on its own before the request reached it: the request has nothing left to do.
    if (view.state === 'completed' || view.state === 'failed') await this.engine.extras.clearCancel(queue, id);
    return view;
  }

  async retry(queue: string, id: string): Promise<JobView> {
    const bullQueue = this.queue(queue);
    const job = await bullQueue.getJob(id);
    if (!job) return this.retryCancelled(queue, id);
    const state = await job.getState();
    if (state !== 'failed') throw new StateConflictError(`only a failed or cancelled job can be retried; this one is ${stateOf(state, false)}`, stateOf(state, false));
    await this.engine.extras.clearCancel(queue, id);
    await job.log(timelineLine('retrying', Date.now(), 'retried by hand'));
    await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true }); // a fresh set of attempts
    return (await this.get(queue, id))!;
  }

  private async retryCancelled(queue: string, id: string): Promise<JobView> {
    const archived = await this.engine.extras.getCancelled(queue, id);
    if (!archived) throw new NotFoundError(`no job ${id} in queue ${queue}`);
    const input: EnqueueInput = {
      queue, name: archived.name, data: archived.data, priority: archived.priority, attempts: archived.maxAttempts,
      backoff: archived.backoff, timeoutMs: archived.timeoutMs,
      ...(archived.dedupKey ? { dedupKey: archived.dedupKey } : {}),
      ...(archived.projectId ? { projectId: archived.projectId } : {}),
    };
    const job = await this.queue(queue).add(archived.name, archived.data, this.jobOptions(input, id));
    if (job.id !== id) {
      throw new StateConflictError(`job ${job.id} holds dedupKey ${archived.dedupKey} now; this one stays cancelled`, 'cancelled');
    }
    await this.engine.extras.deleteCancelled(queue, id);
    await this.engine.extras.clearCancel(queue, id);
    await job.log(timelineLine('retrying', Date.now(), 'retried by hand after cancel'));
    return (await this.get(queue, String(job.id)))!;
  }

  async counts(queue: string): Promise<StateCounts> {
    const [c, cancelled] = await Promise.all([
      this.queue(queue).getJobCounts('waiting', 'prioritized', 'waiting-children', 'delayed', 'active', 'completed', 'failed'),
      this.engine.extras.countCancelled(queue),
    ]);
    const n = (key: string) => c[key] ?? 0;
    return {
      waiting: n('waiting') + n('prioritized') + n('waiting-children'),
      delayed: n('delayed'),
      active: n('active'),
      completed: n('completed'),
      failed: n('failed'),
      cancelled,
    };
  }

  lastMinute(queue: string) {
    return this.engine.extras.lastMinute(queue);
  }

  async pause(queue: string): Promise<void> {
    await this.queue(queue).pause();
  }

  async resume(queue: string): Promise<void> {
    await this.queue(queue).resume();
  }

  isPaused(queue: string): Promise<boolean> {
    return this.queue(queue).isPaused();
  }

  heartbeat(record: ProcessRecord, ttlMs: number): Promise<void> {
    return this.engine.extras.heartbeat(record, ttlMs);
  }

  removeProcess(id: string): Promise<void> {
    return this.engine.extras.removeProcess(id);
  }

  listProcesses(): Promise<ProcessRecord[]> {
    return this.engine.extras.listProcesses();
  }

  consume(queue: string, processor: JobProcessor, options: ConsumeOptions, events: ConsumerEvents = {}): Consumer {
    return new BullConsumer(this.engine, queue, this.queue(queue), processor, options, events, {
      lockMs: this.defaults.lockMs,
      stalledIntervalMs: this.defaults.stalledIntervalMs,
      defaultTimeoutMs: this.defaults.timeoutMs,
      keepCancelled: this.defaults.keepFailed,
    });
  }

  async ping(timeoutMs = 1000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new StoreUnavailableError(`store did not answer within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.race([this.engine.extras.ping(), timeout]);
    } catch (error) {
      throw error instanceof StoreUnavailableError ? error : new StoreUnavailableError(`store unreachable: ${(error as Error).message}`);
    } finally {
      clearTimeout(timer);
    }
  }

  close(): Promise<void> {
    return (this.closed ??= this.closeAll());
  }

  private async closeAll(): Promise<void> {
    await Promise.allSettled([...this.queues.values()].map((q) => q.close()));
    if (this.flowProducer) await Promise.allSettled([this.flowProducer.close()]);
    await Promise.allSettled([this.engine.extras.close()]);
    await Promise.allSettled([this.engine.close()]);
  }
}
