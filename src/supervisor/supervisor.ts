// The supervisor's loop: reap exited workers, replace them (after backoff when
// they crashed), recycle the ones policy.ts says to (replacement first, then
// drain), kill the silent ones, and release what a dead worker held. Event and
// signal handlers only record and wake the loop; only the loop acts.
import os from 'node:os';
import path from 'node:path';
import { envName } from '../queues/index.js';
import type { Config, QueueConfig } from '../lib/config.js';
import type { Logger } from '../lib/logger.js';
import type { Store } from '../lib/store/index.js';
import { RetiredMetrics, exposition, supervisorMetrics, type SupervisorMetrics } from './metrics-server.js';
import {
  RESTART_REASONS, backoffDelay, isCrashLooping, isHealthy, largest, livenessFailure, maxOldSpaceMb, queueToHold,
  recentCrashes, recycleReason, underPressure, type HostMemory, type PolicySettings, type RestartReason,
} from './policy.js';
import { WorkerHandle } from './worker-handle.js';

// Under tsx (tests) the sources run as they are; built, dist/ holds .js.
const RUNNING_TS = __filename.endsWith('.ts');
const WORKER_ENTRY = path.resolve(__dirname, '../workers', RUNNING_TS ? 'main.ts' : 'main.js');
const LOADER_ARGS = RUNNING_TS ? ['--import', 'tsx'] : [];

export interface SupervisorOptions {
  config: Config;
  policy: PolicySettings;
  logger: Logger;
  store: Store;
  /** The environment workers inherit. */
  env?: NodeJS.ProcessEnv;
  tickMs?: number;
  memoryPollMs?: number;
  readMemory?: () => Promise<HostMemory | undefined>;
}

interface QueueState {
  config: QueueConfig;
  /** When each slot may fork again (after a crash's backoff). */
  restartAt: number[];
  crashTimes: number[];
  crashesSinceHealthy: number;
  lastCrashAt?: number;
  crashLooping: boolean;
  held: boolean;
  restarts: Record<RestartReason, number>;
}

export class Supervisor {
  readonly id = `${os.hostname()}:${process.pid}`;
  readonly metrics: SupervisorMetrics = supervisorMetrics();
  private readonly retired = new RetiredMetrics();
  private workers: WorkerHandle[] = [];
  private readonly queues = new Map<string, QueueState>();
  private stop?: { force: boolean; deadline: number };
  private memory?: HostMemory;
  private pressureCooldownUntil = 0;
  private wake: () => void = () => {};

  constructor(private readonly options: SupervisorOptions) {
    for (const name of options.config.workerQueues) {
      const config = options.config.queues[name];
      const restarts = Object.fromEntries(RESTART_REASONS.map((r) => [r, 0])) as Record<RestartReason, number>;
      this.queues.set(name, {
        config, restartAt: Array(config.processes).fill(0), crashTimes: [], crashesSinceHealthy: 0,
        crashLooping: false, held: false, restarts,
      });
      for (const reason of RESTART_REASONS) this.metrics.restarts.inc({ queue: name, reason }, 0);
    }
  }

  /** From a signal handler: record the request, the loop acts on it. */
  requestStop(force = false): void {
    const now = Date.now();
    if (!this.stop) this.stop = { force, deadline: now + this.options.config.shutdownTimeoutMs };
    else this.stop.force ||= force;
    this.wake();
  }

  /** Runs until a requested stop has seen every worker out; resolves with the exit code. */
  async run(): Promise<number> {
    const log = this.options.logger;
    log.info({ supervisor: this.id, queues: [...this.queues.keys()], mode: this.options.store.mode }, 'supervisor started');
    const readMemory = this.options.readMemory;
    const memoryTimer = readMemory
      ? setInterval(() => void readMemory().then((m) => { this.memory = m; }, () => {}), this.options.memoryPollMs ?? 2000)
      : undefined;
    try {
      for (;;) {
        this.tick(Date.now());
        if (this.stop && this.workers.length === 0) break;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, this.options.tickMs ?? 200);
          this.wake = () => { clearTimeout(timer); resolve(); };
        });
      }
    } finally {
      if (memoryTimer) clearInterval(memoryTimer);
    }
    log.info({ forced: this.stop?.force ?? false }, 'supervisor stopped');
    return this.stop?.force ? 1 : 0;
  }

  private tick(now: number): void {
    this.reap(now);
    if (this.stop) {
      this.shutdownStep(now);
    } else {
      this.checkHealth(now);
      this.checkLiveness(now);
      this.checkRecycles(now);
      this.applyPressure(now);
      this.finishHandoffs(now);
      this.enforceDrainDeadlines(now);
      this.fillSlots(now);
    }
    this.publish();
  }

  /** Remove exited workers; an exit we did not ask for is a crash, restarted after backoff. */
  private reap(now: number): void {
    const exited = this.workers.filter((w) => !w.alive);
    if (exited.length === 0) return;
    this.workers = this.workers.filter((w) => w.alive);
    for (const worker of exited) {
      for (const other of this.workers) {
        if (other.replacement !== worker) continue;
        // The replacement died before it was ready: the old worker stays, and the recycle is tried again.
        other.replacement = undefined;
        if (other.state !== 'draining') other.stopReason = undefined;
      }
      // Release what the dead worker held: its registry record now, its jobs through BullMQ's stalled check.
      void this.options.store.removeProcess(`${os.hostname()}:${worker.pid}:${worker.queue}`).catch(() => {});
      if (worker.lastMetrics) void this.retired.add(worker.lastMetrics);
      const { code, signal } = worker.exit!;
      if (worker.stopReason || this.stop) {
        this.options.logger.info({ queue: worker.queue, pid: worker.pid, code, signal, reason: worker.stopReason }, 'worker exited');
        continue;
      }
      const queue = this.queues.get(worker.queue)!;
      const delayMs = backoffDelay(queue.crashesSinceHealthy, this.options.policy);
      queue.crashesSinceHealthy++;
      queue.crashTimes = [...recentCrashes(queue.crashTimes, now, this.options.policy.crashLoopWindowMs), now];
      queue.lastCrashAt = now;
      queue.restartAt[worker.slot] = now + delayMs;
      this.count(worker, 'crash', 'restart', { code, signal, delayMs, crashes: queue.crashesSinceHealthy });
    }
  }

  /** A worker up long enough since the last crash resets the backoff and clears the crash-loop mark. */
  private checkHealth(now: number): void {
    for (const [name, queue] of this.queues) {
      const healthy = queue.crashesSinceHealthy > 0 && this.workers.some((w) => w.queue === name && w.ready && w.state === 'running'
        && isHealthy(w.readyAt ?? now, queue.lastCrashAt, now, this.options.policy.healthyUptimeMs));
      if (healthy) {
        queue.crashesSinceHealthy = 0;
        queue.crashTimes = [];
      }
      const looping = isCrashLooping(queue.crashTimes, now, this.options.policy);
      if (looping !== queue.crashLooping) {
        queue.crashLooping = looping;
        const fields = { queue: name, crashes: queue.crashTimes.length };
        if (looping) this.options.logger.error(fields, 'queue is crash-looping');
        else this.options.logger.info(fields, 'queue is no longer crash-looping');
      }
    }
  }

  /** Silent past the heartbeat timeout (or never ready): kill it, and fill its slot at once. */
  private checkLiveness(now: number): void {
    for (const worker of this.workers) {
      if (worker.killed || worker.state === 'draining') continue;
      if (!livenessFailure(worker, now, this.options.policy)) continue;
      worker.stopReason = 'heartbeat';
      worker.state = 'draining';
      this.count(worker, 'heartbeat', 'kill', { silentMs: now - (worker.lastHeartbeatAt ?? worker.forkedAt) });
      worker.kill();
    }
  }

  private checkRecycles(now: number): void {
    for (const worker of this.running()) {
      const queue = this.queues.get(worker.queue)!;
      if (worker.replacement || queue.restartAt[worker.slot]! > now) continue;
      const reason = recycleReason({ ...worker.stats, overBudgetStreak: worker.overBudgetStreak }, queue.config.maxJobs, this.options.policy);
      if (reason) this.startRecycle(worker, reason);
    }
  }

  /** Graceful: the replacement starts first; the old worker drains once it is ready (finishHandoffs). */
  private startRecycle(worker: WorkerHandle, reason: RestartReason): void {
    worker.stopReason = reason;
    this.count(worker, reason, 'recycle', { processed: worker.stats.processed, zombies: worker.stats.zombies });
    worker.replacement = this.fork(this.queues.get(worker.queue)!, worker.slot);
  }

  private finishHandoffs(now: number): void {
    for (const worker of this.workers) {
      const replacement = worker.replacement;
      if (!replacement?.ready) continue;
      worker.replacement = undefined;
      this.beginDrain(worker, now);
    }
  }

  private beginDrain(worker: WorkerHandle, now: number): void {
    worker.state = 'draining';
    worker.drainDeadline ??= now + this.queues.get(worker.queue)!.config.drainTimeoutMs;
    worker.sendDrain();
  }

  /** Past the queue's drain timeout a worker is killed; its jobs are recovered as stalled. */
  private enforceDrainDeadlines(now: number): void {
    for (const worker of this.workers) {
      if (worker.state !== 'draining' || worker.killed || worker.drainDeadline === undefined || now <= worker.drainDeadline) continue;
      this.options.logger.warn({ queue: worker.queue, pid: worker.pid, reason: worker.stopReason, rss: worker.stats.rss, active: worker.stats.active },
        'drain timeout: killing worker; its active jobs will be recovered as stalled');
      worker.kill();
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
    if (this.workers.some((w) => w.replacement || (w.state === 'draining' && w.alive))) return;
    const victim = largest(this.running().map((worker) => ({ worker, rss: worker.stats.rss })))?.worker;
    if (!victim) return;
    this.pressureCooldownUntil = now + this.options.policy.pressureCooldownMs;
    this.startRecycle(victim, 'pressure');
  }

  /** Fork into every slot that has no worker (and whose backoff has passed). */
  private fillSlots(now: number): void {
    for (const queue of this.queues.values()) {
      for (let slot = 0; slot < queue.config.processes; slot++) {
        const occupied = this.workers.some((w) => w.queue === queue.config.name && w.slot === slot && w.state !== 'draining');
        if (!occupied && queue.restartAt[slot]! <= now) this.fork(queue, slot);
      }
    }
  }

  private shutdownStep(now: number): void {
    const stop = this.stop!;
    for (const worker of this.workers) {
      worker.replacement = undefined;
      worker.stopReason ??= 'shutdown';
      worker.state = 'draining';
      if (!worker.killed) worker.sendDrain();
      if ((stop.force || now > stop.deadline) && !worker.killed) {
        this.options.logger.warn({ queue: worker.queue, pid: worker.pid, reason: 'shutdown', rss: worker.stats.rss, active: worker.stats.active, forced: stop.force },
          'shutdown: killing worker; its active jobs will be recovered as stalled');
        worker.kill();
      }
    }
  }

  /** Send each worker what changed for it: a pending drain, hold, and its queue's restart counts. */
  private publish(): void {
    this.metrics.workers.reset();
    this.metrics.memory.reset();
    for (const name of this.queues.keys()) {
      for (const state of ['starting', 'running', 'draining']) this.metrics.workers.set({ queue: name, state }, 0);
      this.metrics.memory.set({ queue: name }, 0);
    }
    for (const worker of this.workers) {
      const queue = this.queues.get(worker.queue)!;
      this.metrics.workers.inc({ queue: worker.queue, state: worker.state });
      this.metrics.memory.inc({ queue: worker.queue }, worker.stats.rss);
      if (!worker.ready || !worker.alive) continue;
      if (worker.state === 'draining') {
        if (!worker.drainSent) worker.sendDrain();
        continue;
      }
      if (worker.sent.held !== queue.held) {
        worker.send({ type: 'hold', held: queue.held });
        worker.sent.held = queue.held;
      }
      const state = { type: 'state' as const, supervisor: this.id, restarts: { ...queue.restarts }, crashLooping: queue.crashLooping };
      const key = JSON.stringify(state);
      if (worker.sent.state !== key) {
        worker.send(state);
        worker.sent.state = key;
      }
    }
  }

  private fork(queue: QueueState, slot: number): WorkerHandle {
    const { name, maxMemoryMb } = queue.config;
    const env = { ...(this.options.env ?? process.env) };
    // Per-queue handler overrides, for tests and for user queues: JOBVISOR_HANDLER_MODULE_<NAME>.
    const override = env[`JOBVISOR_HANDLER_MODULE_${envName(name)}`];
    if (override) env.JOBVISOR_HANDLER_MODULE = override;
    const worker = new WorkerHandle({
      queue: name, slot, entry: WORKER_ENTRY, env, budgetBytes: maxMemoryMb * 1024 * 1024,
      execArgv: [`--max-old-space-size=${maxOldSpaceMb(maxMemoryMb)}`, ...LOADER_ARGS],
    }, () => this.wake());
    this.workers.push(worker);
    this.options.logger.info({ queue: name, pid: worker.pid, slot }, 'worker forked');
    return worker;
  }

  private running(): WorkerHandle[] {
    return this.workers.filter((w) => w.ready && w.state === 'running' && !w.stopReason);
  }

  /** One log line and one counter step per recycle, restart or kill. */
  private count(worker: WorkerHandle, reason: RestartReason, action: 'recycle' | 'restart' | 'kill', extra: object): void {
    const queue = this.queues.get(worker.queue)!;
    queue.restarts[reason]++;
    this.metrics.restarts.inc({ queue: worker.queue, reason });
    this.options.logger.warn({ queue: worker.queue, pid: worker.pid, reason, rss: worker.stats.rss, action, ...extra }, `worker ${action}: ${reason}`);
  }

  /** Prometheus text: the supervisor's series and every worker's, aggregated. */
  async metricsExposition(timeoutMs = 1000): Promise<{ contentType: string; body: string }> {
    const answers = await Promise.all(this.workers.map((w) => w.requestMetrics(timeoutMs)));
    return exposition(this.metrics.registry, [await this.retired.json(), ...answers.filter((a): a is unknown[] => a !== undefined)]);
  }
}
