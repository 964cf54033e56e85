// Each queue's autoscaler on this host: its desired process count, the timers and
// last decision behind it, how fast its processes finish jobs, and the backlog as
// last read from the store. autoscale.ts decides; supervisor.ts starts and drains.
import type { QueueConfig } from '../lib/config.js';
import type { ProcessRecord, ScalingRecord, Store } from '../lib/store/index.js';
import { NO_STEP, decide, scaleDownVictim, type AutoscaleSettings, type Backlog, type HostRoom, type QueueLoad, type ScaleDecision, type ScaleTimers } from './autoscale.js';
import type { HostMemory } from './policy.js';
import type { QueueState } from './queue-state.js';
import type { WorkerHandle } from './worker-handle.js';

/** Finished-job counts are averaged over this window: long enough to smooth 1 s heartbeats, short enough to follow a burst. */
const RATE_WINDOW_MS = 15_000;

/** Jobs a queue's processes on this host finish per second, from the `processed` of their heartbeats. */
export class Throughput {
  private seen = new Map<object, number>();
  private samples: { at: number; total: number }[] = [];
  private total = 0;

  /** Each live worker (any object that stands for it) with its processed count so far. */
  observe(workers: ReadonlyArray<{ worker: object; processed: number }>, now: number): void {
    const current = new Map<object, number>();
    for (const { worker, processed } of workers) {
      this.total += Math.max(0, processed - (this.seen.get(worker) ?? 0));
      current.set(worker, processed);
    }
    this.seen = current;
    this.samples = [...this.samples.filter((s) => now - s.at <= RATE_WINDOW_MS), { at: now, total: this.total }];
  }

  perSecond(): number {
    const first = this.samples[0];
    const last = this.samples.at(-1);
    if (!first || !last || last.at === first.at) return 0;
    return ((last.total - first.total) * 1000) / (last.at - first.at);
  }
}

/** A step taken (or a hold: more needed, refused), as logged and shown in queue-stats. */
export interface LastDecision extends ScaleDecision {
  at: number;
  from: number;
  to: number;
}

/** What the supervisor counts of a queue's processes on this host; the rest of a QueueLoad the scaler knows. */
export type LocalLoad = Pick<QueueLoad, 'live' | 'starting' | 'active' | 'held' | 'crashLooping'>;

export class QueueScaler {
  #desired: number;
  readonly throughput = new Throughput();
  private timers: ScaleTimers = NO_STEP;
  private backlog?: Backlog;
  private last?: LastDecision;
  /** The reason of the hold last reported: reported again only after a step or another reason. */
  private holding?: string;

  constructor(private readonly config: QueueConfig, private readonly settings: AutoscaleSettings, private readonly random: () => number) {
    this.#desired = config.processes.min;
  }

  get autoscaled(): boolean {
    return this.config.processes.max > this.config.processes.min;
  }

  get desired(): number {
    return this.#desired;
  }

  observeBacklog(backlog: Backlog): void {
    this.backlog = backlog;
  }

  /** One tick: a new decision to act on and log (a step moves `desired` by one), if there is one. */
  step(local: LocalLoad, room: HostRoom, now: number): LastDecision | undefined {
    const { processes: range, targetWaitMs, concurrency } = this.config;
    const load: QueueLoad = { ...local, range, targetWaitMs, concurrency, desired: this.#desired, finishedPerSecond: this.throughput.perSecond(), backlog: this.backlog };
    const { decision, timers } = decide(load, room, this.timers, now, this.settings, this.random);
    this.timers = timers;
    if (!decision || (decision.step === 'hold' && decision.reason === this.holding)) return undefined;
    this.holding = decision.step === 'hold' ? decision.reason : undefined;
    const to = this.#desired + (decision.step === 'up' ? 1 : decision.step === 'down' ? -1 : 0);
    this.last = { ...decision, at: now, from: this.#desired, to };
    this.#desired = to;
    return this.last;
  }

  /** What queue-stats shows for this queue on this host. */
  record(live: number): ScalingRecord {
    const { min, max } = this.config.processes;
    return { min, max, desired: this.#desired, live, lastDecision: this.last ? { ...this.last } : null };
  }
}

/** One queue's backlog. `oldest` also scans the active jobs, so it is read only when something is ready to wait. */
async function readOne(store: Pick<Store, 'readyCount' | 'oldest' | 'isPaused'>, queue: string) {
  const [ready, paused] = await Promise.all([store.readyCount(queue), store.isPaused(queue)]);
  const waitingSince = ready > 0 && !paused ? (await store.oldest(queue)).waitingSince : null;
  return { ready, paused, waitingSince };
}

/** Reads every autoscaled queue's backlog, and the registry once for how many processes fetch on every host. */
export function backlogReader(store: Pick<Store, 'readyCount' | 'oldest' | 'isPaused' | 'listProcesses'>) {
  return async (queues: readonly string[], clock: () => number): Promise<Map<string, Backlog>> => {
    const [records, perQueue] = await Promise.all([
      store.listProcesses().catch((): ProcessRecord[] => []),
      Promise.all(queues.map((queue) => readOne(store, queue))),
    ]);
    const readAt = clock();
    return new Map(queues.map((queue, i) => {
      const fleetLive = records.filter((r) => r.queue === queue && r.state !== 'draining').length;
      return [queue, { ...perQueue[i]!, fleetLive, readAt }];
    }));
  };
}

export type ReadBacklog = ReturnType<typeof backlogReader>;

/** Processes starting or fetching, by slot: a worker and the replacement of its recycle share one. */
export function liveSlots(workers: readonly WorkerHandle[], queue: string): Set<number> {
  return new Set(workers.filter((w) => w.queue === queue && (w.state === 'starting' || w.state === 'ready')).map((w) => w.slot));
}

/** Every queue's scaler on this host, and the backlog reads that feed them. */
export class HostAutoscaler {
  private readonly scalers = new Map<string, QueueScaler>();

  constructor(configs: readonly QueueConfig[], readonly settings: AutoscaleSettings, random: () => number = Math.random) {
    for (const config of configs) this.scalers.set(config.name, new QueueScaler(config, settings, random));
  }

  /** The queues whose process count may move: only theirs is read from the store. */
  get autoscaled(): string[] {
    return [...this.scalers.entries()].filter(([, s]) => s.autoscaled).map(([name]) => name);
  }

  desired(queue: string): number {
    return this.scalers.get(queue)!.desired;
  }

  observeBacklog(backlogs: ReadonlyMap<string, Backlog>): void {
    for (const [queue, backlog] of backlogs) this.scalers.get(queue)?.observeBacklog(backlog);
  }

  /** One pass over every queue: the new decisions, each to log and act on. */
  tick(workers: readonly WorkerHandle[], queues: ReadonlyMap<string, QueueState>, host: { memory?: HostMemory; minAvailableRatio: number }, now: number) {
    const budgetsBytes = workers.filter((w) => w.state !== 'exited').reduce((sum, w) => sum + w.budgetBytes, 0);
    const decisions: { queue: string; decision: LastDecision }[] = [];
    for (const [name, scaler] of this.scalers) {
      const mine = workers.filter((w) => w.queue === name && w.state !== 'exited');
      scaler.throughput.observe(mine.map((worker) => ({ worker, processed: worker.stats.processed })), now);
      const queue = queues.get(name)!;
      const fetching = mine.filter((w) => w.state === 'starting' || w.state === 'ready');
      const local = {
        live: liveSlots(workers, name).size, starting: fetching.filter((w) => w.state === 'starting').length,
        active: fetching.reduce((sum, w) => sum + w.stats.active, 0), held: queue.held, crashLooping: queue.crashLooping,
      };
      const room = { ...host, budgetsBytes, budgetBytes: queue.config.maxMemoryMb * 1024 * 1024 };
      const decision = scaler.step(local, room, now);
      if (decision) decisions.push({ queue: name, decision });
    }
    return decisions;
  }

  /** The worker to drain when the queue runs above its desired count; none while a recycle hands over. */
  toShed(workers: readonly WorkerHandle[], queue: string): WorkerHandle | undefined {
    const mine = workers.filter((w) => w.queue === queue);
    // A recycle under way holds two processes in one slot: wait for its handoff.
    if (liveSlots(workers, queue).size <= this.desired(queue) || mine.some((w) => w.recycle)) return undefined;
    return scaleDownVictim(mine.filter((w) => w.state === 'ready').map((worker) => ({ worker, rss: worker.stats.rss })))?.worker;
  }

  /**
   * The free slots to start a worker in, up to the queue's desired count. A slot waiting
   * out a crash's backoff holds its place: another slot must not start in its stead.
   */
  slotsToFill(workers: readonly WorkerHandle[], queue: QueueState, now: number): number[] {
    const occupied = liveSlots(workers, queue.name);
    const free: number[] = [];
    let count = occupied.size;
    for (let slot = 0; slot < queue.config.processes.max && count < this.desired(queue.name); slot++) {
      if (occupied.has(slot)) continue;
      if (queue.mayStart(slot, now)) free.push(slot);
      count++;
    }
    return free;
  }

  record(queue: string, live: number): ScalingRecord {
    return this.scalers.get(queue)!.record(live);
  }

  /** Reads the backlog every pollMs, one read at a time; a failed read leaves the last one to go stale. */
  poll(read: ReadBacklog, clock: () => number): () => void {
    const queues = this.autoscaled;
    if (queues.length === 0) return () => {};
    let reading = false;
    const timer = setInterval(() => {
      if (reading) return;
      reading = true;
      read(queues, clock).then((backlogs) => this.observeBacklog(backlogs), () => {}).finally(() => (reading = false));
    }, this.settings.pollMs);
    return () => clearInterval(timer);
  }
}
