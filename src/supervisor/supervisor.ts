// The supervisor's loop. Each tick(now) reaps exited workers (a crash restarts
// after backoff), kills the silent and the far-over-budget ones, recycles the
// ones policy.ts says to (replacement first, then drain), and on shutdown drains
// all and kills what is left at the deadline. Process events and signals only
// record and wake the loop; only tick acts. Starting a process and reading the
// clock are given to it, so tests drive it with fake workers and a fake clock.
// How many processes each queue runs is the autoscaler's (autoscaler.ts).
// Longer than ~300 lines on purpose: each pass step is a short method over the same few fields, read in order from tick().
import os from 'node:os';
import type { Config } from '../lib/config.js';
import type { Logger } from '../lib/logger.js';
import { RESTART_REASONS, type RestartReason } from '../lib/metric-names.js';
import type { Store } from '../lib/store/index.js';
import { DEFAULT_AUTOSCALE, type AutoscaleSettings, type Backlog } from './autoscale.js';
import { HostAutoscaler, liveSlots, type ReadBacklog } from './autoscaler.js';
import { RetiredMetrics, exposition, supervisorMetrics, type SupervisorMetrics } from './metrics-server.js';
import { largest, livenessFailure, overHardCeiling, queueToHold, recycleReason, underPressure, type HostMemory, type PolicySettings } from './policy.js';
import { QueueState } from './queue-state.js';
import { releaseDead, releaseLeftovers } from './release.js';
import { WorkerHandle, type WorkerState } from './worker-handle.js';
import { forkWorker, type StartWorker } from './worker-process.js';

export interface SupervisorOptions {
  config: Config;
  policy: PolicySettings;
  logger: Logger;
  /** Where a dead worker's registry record and jobs are released. */
  store: Pick<Store, 'mode' | 'removeProcess' | 'releaseJobs' | 'claimsOf'>;
  /** Whether a process of this host still runs (signal 0); given to tests. */
  isAlive?: (pid: number) => boolean;
  /** Starts one worker process: forkWorker(process.env), with the config's env deny list, unless given. */
  startWorker?: StartWorker;
  clock?: () => number;
  tickMs?: number;
  memoryPollMs?: number;
  readMemory?: () => Promise<HostMemory | undefined>;
  autoscale?: AutoscaleSettings;
  /** Reads the backlog of the autoscaled queues; without it they stay at their minimum. */
  readBacklog?: ReadBacklog;
  /** For the autoscaler's jitter: Math.random unless given. */
  random?: () => number;
}

/** The `workers` gauge keeps the registry's words for a worker's state. */
const GAUGE_STATE: Record<Exclude<WorkerState, 'exited'>, string> = { starting: 'starting', ready: 'running', draining: 'draining', stopping: 'stopping' };

export class Supervisor {
  readonly id = `${os.hostname()}:${process.pid}`;
  readonly metrics: SupervisorMetrics = supervisorMetrics();
  private readonly retired = new RetiredMetrics();
  private readonly clock: () => number;
  private readonly startWorker: StartWorker;
  private workers: WorkerHandle[] = [];
  private readonly queues = new Map<string, QueueState>();
  private readonly autoscaler: HostAutoscaler;
  private stop?: { force: boolean; deadline: number };
  private memory?: HostMemory;
  private pressureCooldownUntil = 0;
  private wake: () => void = () => {};
  /** Releases under way: a stopping supervisor waits for them before its store closes. */
  private readonly releasing = new Set<Promise<void>>();

  constructor(private readonly options: SupervisorOptions) {
    this.clock = options.clock ?? Date.now;
    this.startWorker = options.startWorker ?? forkWorker(process.env, { envDeny: options.config.workerProcess.envDeny });
    for (const name of options.config.workerQueues) {
      this.queues.set(name, new QueueState(options.config.queues[name], options.policy));
      for (const reason of RESTART_REASONS) this.metrics.restarts.inc({ queue: name, reason }, 0);
    }
    const configs = options.config.workerQueues.map((name) => options.config.queues[name]);
    this.autoscaler = new HostAutoscaler(configs, options.autoscale ?? DEFAULT_AUTOSCALE, options.random);
  }

  /** From a signal handler: record the request, the loop acts on it. */
  requestStop(force = false): void {
    if (!this.stop) this.stop = { force, deadline: this.clock() + this.options.config.shutdownTimeoutMs };
    else this.stop.force ||= force;
    this.wake();
  }

  /** The host's memory as last read; pressure is judged on the next tick. */
  observeMemory(memory: HostMemory | undefined): void {
    this.memory = memory;
  }

  /** The backlog of autoscaled queues as last read; acted on by the next tick. */
  observeBacklog(backlogs: ReadonlyMap<string, Backlog>): void {
    this.autoscaler.observeBacklog(backlogs);
  }

  /** A requested stop has seen every worker out. */
  get stopped(): boolean {
    return this.stop !== undefined && this.workers.length === 0;
  }

  /** The workers not yet reaped, for tests to look at. */
  get handles(): readonly WorkerHandle[] {
    return this.workers;
  }

  /** Runs until a requested stop has seen every worker out; resolves with the exit code. */
  async run(): Promise<number> {
    const log = this.options.logger;
    log.info({ supervisor: this.id, queues: [...this.queues.keys()], mode: this.options.store.mode }, 'supervisor started');
    void releaseLeftovers(this.options, os.hostname(), this.options.isAlive);
    const readMemory = this.options.readMemory;
    const memoryTimer = readMemory
      ? setInterval(() => void readMemory().then((m) => this.observeMemory(m), () => {}), this.options.memoryPollMs ?? 2000)
      : undefined;
    const stopBacklog = this.options.readBacklog ? this.autoscaler.poll(this.options.readBacklog, this.clock) : () => {};
    try {
      for (;;) {
        this.tick(this.clock());
        if (this.stopped) break;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, this.options.tickMs ?? 200);
          this.wake = () => { clearTimeout(timer); resolve(); };
        });
      }
    } finally {
      if (memoryTimer) clearInterval(memoryTimer);
      stopBacklog();
    }
    await Promise.allSettled([...this.releasing]);
    log.info({ forced: this.stop?.force ?? false }, 'supervisor stopped');
    return this.stop?.force ? 1 : 0;
  }

  /** One pass of the policy at time `now`. */
  tick(now: number): void {
    this.reap(now);
    if (this.stop) {
      this.shutdownStep(now);
    } else {
      this.checkHealth(now);
      this.checkLiveness(now);
      this.checkHardCeiling();
      this.checkRecycles(now);
      this.applyPressure(now);
      this.finishHandoffs(now);
      this.autoscale(now);
      this.fillSlots(now);
    }
    this.enforceDrainDeadlines(now);
    this.publish();
  }

  /** Remove exited workers and release what they held; an exit nobody asked for is a crash. */
  private reap(now: number): void {
    for (const worker of this.workers.filter((w) => w.state === 'exited')) {
      this.workers.splice(this.workers.indexOf(worker), 1);
      // The replacement died before it was ready: the old worker stays and is not drained.
      for (const other of this.workers) if (other.recycle?.replacement === worker) other.abandonRecycle();
      const { code, signal } = worker.exit!;
      // Release what the dead worker held: its jobs back to waiting at once (a clean exit holds none), then its record.
      const held = code === 0 ? [] : worker.stats.held;
      const why = worker.killReason ? `was killed (${worker.killReason})` : 'died';
      const release = releaseDead(this.options, { id: `${os.hostname()}:${worker.pid}:${worker.queue}`, queue: worker.queue, pid: worker.pid, held }, why);
      this.releasing.add(release);
      void release.finally(() => this.releasing.delete(release));
      if (worker.lastMetrics) void this.retired.add(worker, worker.lastMetrics);
      if (worker.stopReason || this.stop) {
        this.options.logger.info({ queue: worker.queue, pid: worker.pid, code, signal, reason: worker.stopReason }, 'worker exited');
        continue;
      }
      const queue = this.queueOf(worker);
      const delayMs = queue.recordCrash(worker.slot, now);
      this.count(worker, 'crash', 'restart', { code, signal, delayMs, crashes: queue.crashesSinceHealthy });
    }
  }

  /** A worker up long enough since the last crash resets the backoff and clears the crash-loop mark. */
  private checkHealth(now: number): void {
    for (const [name, queue] of this.queues) {
      const readySince = this.workers.filter((w) => w.queue === name && w.state === 'ready').map((w) => w.readyAt!);
      const looping = queue.checkHealth(readySince, now);
      if (looping === undefined) continue;
      const fields = { queue: name, crashes: queue.recentCrashes };
      if (looping) this.options.logger.error(fields, 'queue is crash-looping');
      else this.options.logger.info(fields, 'queue is no longer crash-looping');
    }
  }

  /** Silent past the heartbeat timeout, or not ready within the start timeout: killed, and counted like a crash. */
  private checkLiveness(now: number): void {
    for (const worker of this.workers) {
      if (worker.state !== 'starting' && worker.state !== 'ready') continue;
      const facts = { ready: worker.state === 'ready', forkedAt: worker.startedAt, lastHeartbeatAt: worker.lastHeartbeatAt };
      if (!livenessFailure(facts, now, this.options.policy)) continue;
      const delayMs = this.queueOf(worker).recordCrash(worker.slot, now);
      this.count(worker, 'heartbeat', 'kill', { silentMs: now - (worker.lastHeartbeatAt ?? worker.startedAt), ready: facts.ready, delayMs });
      worker.kill('heartbeat');
    }
  }

  /** Far over budget, a graceful recycle would come too late: killed at once, draining or not. */
  private checkHardCeiling(): void {
    for (const worker of this.workers) {
      if (worker.state === 'stopping' || worker.state === 'exited') continue;
      const { hardMemoryFactor } = this.queueOf(worker).config;
      if (!overHardCeiling(worker.stats.rss, worker.budgetBytes, hardMemoryFactor)) continue;
      // A worker already being replaced was counted when its recycle began.
      if (worker.state === 'draining' || worker.recycle) this.options.logger.warn({ queue: worker.queue, pid: worker.pid, rss: worker.stats.rss, hardMemoryFactor }, 'hard memory ceiling: killing a worker already being replaced');
      else this.count(worker, 'memory', 'kill', { hardMemoryFactor });
      worker.kill('memory');
    }
  }

  private checkRecycles(now: number): void {
    for (const worker of this.workers) {
      const queue = this.queueOf(worker);
      if (worker.state !== 'ready' || worker.recycle || !queue.mayStart(worker.slot, now)) continue;
      const facts = { ...worker.stats, overBudgetStreak: worker.overBudgetStreak, fetchingStopped: worker.fetchingStopped };
      const reason = recycleReason(facts, queue.config.maxJobs, this.options.policy, queue.config.concurrency);
      if (reason) this.startRecycle(worker, reason);
    }
  }

  /** Graceful: the replacement starts first; the old worker drains once it is ready (finishHandoffs). */
  private startRecycle(worker: WorkerHandle, reason: RestartReason): void {
    this.count(worker, reason, 'recycle', { processed: worker.stats.processed, started: worker.stats.started, zombies: worker.stats.zombies });
    worker.beginRecycle(reason, this.start(this.queueOf(worker), worker.slot));
  }

  private finishHandoffs(now: number): void {
    for (const worker of this.workers) {
      const recycle = worker.recycle;
      if (worker.state !== 'ready' || recycle?.replacement.state !== 'ready') continue;
      worker.drain(now + this.queueOf(worker).config.drainTimeoutMs, recycle.reason);
    }
  }

  /** Host memory pressure: hold the lowest-priority queue, and recycle the largest worker (one at a time). */
  private applyPressure(now: number): void {
    const pressure = this.memory !== undefined && underPressure(this.memory, this.options.policy.minAvailableRatio);
    const hold = pressure ? queueToHold([...this.queues.values()].map((q) => q.config)) : undefined;
    for (const [name, queue] of this.queues) {
      const held = name === hold;
      if (held !== queue.held) this.options.logger.warn({ queue: name, held, memory: this.memory }, held ? 'memory pressure: holding fetching' : 'memory pressure over: fetching again');
      queue.held = held;
    }
    if (!pressure || now < this.pressureCooldownUntil) return;
    if (this.workers.some((w) => w.recycle || w.state === 'draining')) return;
    const victim = largest(this.workers.filter((w) => w.state === 'ready').map((worker) => ({ worker, rss: worker.stats.rss })))?.worker;
    if (!victim) return;
    this.pressureCooldownUntil = now + this.options.policy.pressureCooldownMs;
    this.startRecycle(victim, 'pressure');
  }

  /**
   * Each queue's autoscaler steps its desired count: one log line per step (or hold) with its
   * reason, naming the worker a step down drains. A queue left above its count drains later.
   */
  private autoscale(now: number): void {
    const host = { memory: this.memory, minAvailableRatio: this.options.policy.minAvailableRatio };
    for (const { queue, decision: { step, reason, detail, from, to } } of this.autoscaler.tick(this.workers, this.queues, host, now)) {
      const drained = step === 'down' ? this.shedExcess(queue, now) : undefined;
      const victim = drained && { pid: drained.pid, rss: drained.stats.rss, active: drained.stats.active };
      this.options.logger.info({ queue, step, reason, detail, from, to, ...victim }, `autoscale ${step}: ${reason}`);
    }
    for (const name of this.queues.keys()) this.shedExcess(name, now);
  }

  /** Above its desired count, a queue drains one worker (which: scaleDownVictim). */
  private shedExcess(name: string, now: number): WorkerHandle | undefined {
    const victim = this.autoscaler.toShed(this.workers, name);
    victim?.drain(now + this.queues.get(name)!.config.drainTimeoutMs, 'scale_down');
    return victim;
  }

  /** Start workers until each queue has its desired count. */
  private fillSlots(now: number): void {
    for (const queue of this.queues.values()) {
      for (const slot of this.autoscaler.slotsToFill(this.workers, queue, now)) this.start(queue, slot);
    }
  }

  /** Past its drain deadline a worker is killed; its jobs are recovered as stalled. */
  private enforceDrainDeadlines(now: number): void {
    for (const worker of this.workers) {
      if (worker.state !== 'draining' || now < worker.drainDeadline!) continue;
      this.options.logger.warn({ queue: worker.queue, pid: worker.pid, reason: 'timeout', stopReason: worker.stopReason, rss: worker.stats.rss, active: worker.stats.active },
        'drain timeout: killing worker; its active jobs will be recovered as stalled');
      worker.kill('timeout');
    }
  }

  /** Every worker drains in parallel; at the shutdown deadline (or when forced) what is left is killed. */
  private shutdownStep(now: number): void {
    const { force, deadline } = this.stop!;
    for (const worker of this.workers) {
      worker.abandonRecycle();
      worker.drain(deadline, 'shutdown');
      if (!force && now < deadline) continue;
      if (worker.state !== 'draining') continue;
      this.options.logger.warn({ queue: worker.queue, pid: worker.pid, reason: 'shutdown', rss: worker.stats.rss, active: worker.stats.active, forced: force },
        'shutdown: killing worker; its active jobs will be recovered as stalled');
      worker.kill('shutdown');
    }
  }

  /** Gauges, and to each ready worker what changed for it: hold, and its queue's restart counts. */
  private publish(): void {
    this.metrics.workers.reset();
    this.metrics.memory.reset();
    for (const name of this.queues.keys()) {
      for (const state of Object.values(GAUGE_STATE)) this.metrics.workers.set({ queue: name, state }, 0);
      this.metrics.memory.set({ queue: name }, 0);
      this.metrics.desired.set({ queue: name }, this.autoscaler.desired(name));
    }
    for (const worker of this.workers) {
      if (worker.state === 'exited') continue;
      const queue = this.queueOf(worker);
      this.metrics.workers.inc({ queue: worker.queue, state: GAUGE_STATE[worker.state] });
      this.metrics.memory.inc({ queue: worker.queue }, worker.stats.rss);
      if (worker.state !== 'ready') continue;
      worker.sendIfChanged({ type: 'hold', held: queue.held });
      worker.sendIfChanged({ ...queue.stateMessage(this.id), scaling: this.autoscaler.record(worker.queue, liveSlots(this.workers, worker.queue).size) });
    }
  }

  private start(queue: QueueState, slot: number): WorkerHandle {
    const { name, maxMemoryMb } = queue.config;
    const worker = new WorkerHandle({
      queue: name, slot, budgetBytes: maxMemoryMb * 1024 * 1024, process: this.startWorker(queue.config), clock: this.clock, onEvent: () => this.wake(),
    });
    this.workers.push(worker);
    this.options.logger.info({ queue: name, pid: worker.pid, slot }, 'worker forked');
    return worker;
  }

  private queueOf(worker: WorkerHandle): QueueState {
    return this.queues.get(worker.queue)!;
  }

  /** One log line and one counter step per recycle, restart or kill, with the last heartbeat's event-loop lag. */
  private count(worker: WorkerHandle, reason: RestartReason, action: 'recycle' | 'restart' | 'kill', extra: object): void {
    this.queueOf(worker).count(reason);
    this.metrics.restarts.inc({ queue: worker.queue, reason });
    const { rss, eventLoopLagMs } = worker.stats;
    this.options.logger.warn({ queue: worker.queue, pid: worker.pid, reason, rss, eventLoopLagMs, action, ...extra }, `worker ${action}: ${reason}`);
  }

  /** This host's word on its workers, for a load balancer or an operator asking the host itself: which queues are cut off from the store. */
  hostReadiness(): { ready: boolean; storeCutOff: string[] } {
    const storeCutOff = [...new Set(this.workers.filter((w) => w.stats.storeCutOff).map((w) => w.queue))];
    return { ready: storeCutOff.length === 0, storeCutOff };
  }

  /**
   * Prometheus text: the supervisor's series and every worker's, aggregated. A worker that
   * exits between its answer and the retired totals is counted once, in the totals.
   */

  async metricsExposition(timeoutMs = 1000): Promise<{ contentType: string; body: string }> {
    const asked = [...this.workers];
    const answers = await Promise.all(asked.map((w) => w.requestMetrics(timeoutMs)));
    const { totals, counts } = await this.retired.snapshot();
    const live = answers.filter((answer, i): answer is unknown[] => answer !== undefined && !counts(asked[i]!));
    return exposition(this.metrics.registry, [totals, ...live]);
  }
}
