// The Store over BullMQ: one Queue per queue name, jobvisor's job view and cancelled state
// on top, side data per backend. Each part lives in its own module; this class wires them.
import { countJobs, countReady, pingBackend } from './admin.js';
import { cancelJob } from './cancel.js';
import type { Engine } from './connection.js';
import { BullConsumer } from './consumer.js';
import { enqueue, enqueueBulk, enqueueFlow } from './enqueue.js';
import { templateOptions, type JobDefaults } from './job-options.js';
import { listJobs } from './list.js';
import { oldestJobs } from './oldest.js';
import { readJob } from './read.js';
import { retryJob } from './retry.js';
import { BullSchedules } from './schedules.js';
import { batchPerTick, BullObjects, type StoreContext } from './store-context.js';
import type {
  ConsumeOptions, Consumer, ConsumerEvents, EnqueueInput, EnqueueResult, FlowInput, FlowResult, JobProcessor,
  JobView, ListQuery, OldestJobs, ProcessRecord, ScheduleStore, StateCounts, Store,
} from './types.js';

export class BullStore implements Store {
  private readonly bull: BullObjects;
  private readonly ctx: StoreContext;
  private closed?: Promise<void>;
  private scheduleStore?: ScheduleStore;

  constructor(private readonly engine: Engine, private readonly defaults: JobDefaults) {
    const bull = (this.bull = new BullObjects(engine));
    const { side } = engine;
    this.ctx = {
      side,
      defaults,
      queue: (name) => bull.queue(name),
      flowProducer: () => bull.flowProducer(),
      indexCreated: batchPerTick((queue, entries) => side.jobIndex.addCreated(queue, entries)),
      get: (queue, id) => readJob(this.ctx, queue, id),
    };
  }

  get mode() {
    return this.engine.mode;
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

  get(queue: string, id: string): Promise<JobView | undefined> {
    return readJob(this.ctx, queue, id);
  }

  list(query: ListQuery): Promise<JobView[]> {
    return listJobs(this.ctx, query);
  }

  cancel(queue: string, id: string): Promise<JobView> {
    return cancelJob(this.ctx, queue, id);
  }

  retry(queue: string, id: string): Promise<JobView> {
    return retryJob(this.ctx, queue, id);
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

  listProcesses(): Promise<ProcessRecord[]> {
    return this.engine.side.registry.list();
  }

  consume(queue: string, processor: JobProcessor, options: ConsumeOptions, events: ConsumerEvents = {}): Consumer {
    return new BullConsumer(this.engine, queue, this.bull.queue(queue), processor, options, events, {
      lockMs: this.defaults.lockMs,
      stalledIntervalMs: this.defaults.stalledIntervalMs,
      defaultTimeoutMs: this.defaults.timeoutMs,
      keepCancelled: this.defaults.keepFailed,
    });
  }

  async getValue<T = unknown>(key: string): Promise<T | undefined> {
    const json = await this.engine.side.keyValue.get(key);
    return json === undefined ? undefined : (JSON.parse(json) as T);
  }

  async setValue(key: string, value: unknown): Promise<void> {
    await this.engine.side.keyValue.set(key, JSON.stringify(value));
  }

  ping(timeoutMs = 1000): Promise<void> {
    return pingBackend(this.ctx, timeoutMs);
  }

  close(): Promise<void> {
    return (this.closed ??= this.closeAll());
  }

  private async closeAll(): Promise<void> {
    await this.bull.close();
    await Promise.allSettled([this.engine.side.close()]);
    await Promise.allSettled([this.engine.close()]);
  }
}
