// The Store over BullMQ: one Queue per queue name, jobvisor's job view and cancelled state
// on top, side data per backend. Each part lives in its own module; this class wires them.
import { StoreUnavailableError } from '../errors.js';
import { countJobs, countReady, pingBackend, waitingByPriority } from './admin.js';
import { cancelJob } from './cancel.js';
import type { Engine } from './connection.js';
import { BullConsumer } from './consumer.js';
import { addTimelineEntry, CALLBACK_QUEUE, enqueueCallback, type CallbackPayload } from './callbacks.js';
import { enqueue, enqueueBulk, enqueueFlow } from './enqueue.js';
import { EventHub } from './events.js';
import { templateOptions, workerRetention, type JobDefaults } from './job-options.js';
import { listJobs } from './list.js';
import { listAllJobs } from './list-all.js';
import { oldestJobs } from './oldest.js';
import { readJob } from './read.js';
import { releaseJobs } from './release.js';
import { retryJob } from './retry.js';
import { BullSchedules } from './schedules.js';
import type { AllJobsEntry } from './side/index.js';
import { batchPerTick, BullObjects, type StoreContext } from './store-context.js';
import type {
  AllJobsPage, AllJobsQuery, ConsumeOptions, Consumer, ConsumerEvents, EnqueueInput, EnqueueResult, FlowInput, FlowResult, HeldJob, JobEvents, IdempotencyRecord, JobProcessor,
  JobView, ListQuery, OldestJobs, ProcessClaims, ProcessListing, ProcessRecord, ScheduleStore, StateCounts, Store, TimelineEvent,
} from './types.js';

export class BullStore implements Store {
  private readonly bull: BullObjects;
  private readonly ctx: StoreContext;
  private closed?: Promise<void>;
  private scheduleStore?: ScheduleStore;
  private eventHub?: EventHub;

  /** `registry.forgetMs`: how long a silent worker stays listed after its last heartbeat (JOBVISOR_HOST_FORGET_MS). */
  constructor(private readonly engine: Engine, private readonly defaults: JobDefaults, private readonly registry: { forgetMs: number }) {
    const bull = (this.bull = new BullObjects(engine));
    const { side } = engine;
    const indexAll = batchPerTick<AllJobsEntry>((_, entries) => side.allJobs.add(entries));
    this.ctx = {
      side,
      defaults,
      assertSendable: () => {
        if (!engine.sendable()) throw new StoreUnavailableError('store not connected (no offline queue): nothing was sent');
      },
      queue: (name) => bull.queue(name),
      flowProducer: () => bull.flowProducer(),
      indexCreated: batchPerTick((queue, entries) => side.jobIndex.addCreated(queue, entries)),
      indexAll: (entries) => indexAll('all', entries),
      get: (queue, id) => readJob(this.ctx, queue, id),
    };
  }

  get mode() {
    return this.engine.mode;
  }

  get events(): JobEvents {
    return (this.eventHub ??= new EventHub(this.engine, (name) => this.bull.queue(name)));
  }

  get schedules(): ScheduleStore {
    return (this.scheduleStore ??= new BullSchedules({
      records: this.engine.side.scheduleRuns,
      queue: (name) => this.bull.queue(name),
      templateOptions: (priority) => templateOptions(this.defaults, priority),
      enqueue: (input) => this.enqueue(input),
      get: (queue, id) => this.get(queue, id),
    }));
  }

  enqueue(input: EnqueueInput): Promise<EnqueueResult> {
    return enqueue(this.ctx, input);
  }

  enqueueBulk(inputs: EnqueueInput[]): Promise<EnqueueResult[]> {
    return enqueueBulk(this.ctx, inputs);
  }

  enqueueFlow(flow: FlowInput): Promise<FlowResult> {
    return enqueueFlow(this.ctx, flow);
  }

  get(queue: string, id: string, tenant?: string): Promise<JobView | undefined> {
    return readJob(this.ctx, queue, id, tenant);
  }

  list(query: ListQuery): Promise<JobView[]> {
    return listJobs(this.ctx, query);
  }

  listAll(query: AllJobsQuery): Promise<AllJobsPage> {
    return listAllJobs(this.ctx, query);
  }

  cancel(queue: string, id: string, tenant?: string): Promise<JobView> {
    return cancelJob(this.ctx, queue, id, tenant);
  }

  retry(queue: string, id: string, tenant?: string): Promise<JobView> {
    return retryJob(this.ctx, queue, id, tenant);
  }

  counts(queue: string): Promise<StateCounts> {
    return countJobs(this.ctx, queue);
  }

  oldest(queue: string): Promise<OldestJobs> {
    return oldestJobs(this.bull.queue(queue));
  }

  readyCount(queue: string): Promise<number> {
    return countReady(this.ctx, queue);
  }

  lastMinute(queue: string): Promise<{ completed: number; failed: number }> {
    return this.engine.side.throughput.lastMinute(queue);
  }

  meanDuration(queue: string): Promise<number | null> {
    return this.engine.side.throughput.meanDuration(queue);
  }

  waitingByPriority(queue: string): Promise<number[]> {
    return waitingByPriority(this.bull.queue(queue));
  }

  async pause(queue: string): Promise<void> {
    await this.bull.queue(queue).pause();
  }

  async resume(queue: string): Promise<void> {
    await this.bull.queue(queue).resume();
  }

  isPaused(queue: string): Promise<boolean> {
    return this.bull.queue(queue).isPaused();
  }

  heartbeat(record: ProcessRecord, ttlMs: number): Promise<void> {
    return this.engine.side.registry.heartbeat(record, ttlMs);
  }

  removeProcess(id: string): Promise<void> {
    return this.engine.side.registry.remove(id);
  }

  async listProcesses(): Promise<ProcessRecord[]> {
    return (await this.listFleet()).live;
  }

  listFleet(): Promise<ProcessListing> {
    return this.engine.side.registry.list(this.registry.forgetMs);
  }

  claim(claims: ProcessClaims, ttlMs: number): Promise<void> {
    return this.engine.side.registry.claim(claims, ttlMs);
  }

  claimsOf(host: string): Promise<ProcessClaims[]> {
    return this.engine.side.registry.claimsOf(host);
  }

  releaseJobs(queue: string, held: HeldJob[], reason: string): Promise<string[]> {
    return releaseJobs(this.bull.queue(queue), held, reason, {
      keepFailed: workerRetention(this.defaults).removeOnFail,
      deliverCallback: this.deliverCallback,
    });
  }

  reserveIdempotencyKey(key: string, record: IdempotencyRecord, ttlMs: number): Promise<IdempotencyRecord | undefined> {
    return this.engine.side.idempotency.reserve(key, record, ttlMs);
  }

  markIdempotencyCreated(key: string, record: IdempotencyRecord): Promise<void> {
    return this.engine.side.idempotency.markCreated(key, record);
  }

  /** A webhook's delivery, as the consumer and the supervisor's release enqueue it. */
  private readonly deliverCallback = (url: string, payload: CallbackPayload, startedAt: number | undefined): Promise<void> =>
    enqueueCallback(this.bull.queue(CALLBACK_QUEUE), this.defaults, url, payload, startedAt);

  consume(queue: string, processor: JobProcessor, options: ConsumeOptions, events: ConsumerEvents = {}): Consumer {
    return new BullConsumer(this.engine, queue, this.bull.queue(queue), processor, options, events, {
      lockMs: this.defaults.lockMs,
      stalledIntervalMs: this.defaults.stalledIntervalMs,
      storeCutOffMs: this.defaults.storeCutOffMs ?? this.defaults.lockMs / 2,
      defaultTimeoutMs: this.defaults.timeoutMs,
      retention: workerRetention(this.defaults),
      keepCancelled: this.defaults.keepFailed,
      deliverCallback: this.deliverCallback,
    });
  }

  async getValue<T = unknown>(key: string): Promise<T | undefined> {
    const json = await this.engine.side.keyValue.get(key);
    return json === undefined ? undefined : (JSON.parse(json) as T);
  }

  async setValue(key: string, value: unknown): Promise<void> {
    await this.engine.side.keyValue.set(key, JSON.stringify(value));
  }

  async addTimelineEntry(queue: string, id: string, event: TimelineEvent, detail: string): Promise<void> {
    await addTimelineEntry(this.bull.queue(queue), id, event, detail).catch(() => {}); // gone, or archived as cancelled
  }

  ping(timeoutMs = 1000): Promise<void> {
    return pingBackend(this.ctx, timeoutMs);
  }

  close(): Promise<void> {
    return (this.closed ??= this.closeAll());
  }

  private async closeAll(): Promise<void> {
    await this.eventHub?.close();
    await this.bull.close();
    await Promise.allSettled([this.engine.side.close()]);
    await Promise.allSettled([this.engine.close()]);
  }
}
