// One worker process as the supervisor sees it. Its state changes only through
// the named transitions below: what the process reports (ready, heartbeat,
// exit) is recorded as it arrives; the loop in supervisor.ts decides the rest
// (recycle, drain, kill) and calls them. Nothing outside writes its fields.
import type { RestartReason } from '../lib/metric-names.js';
import type { HoldMessage, SupervisorMessage, SupervisorStateMessage, WorkerMessage, WorkerStats } from './messages.js';
import { isWorkerMessage } from './messages.js';
import { overBudgetStreak } from './policy.js';
import type { WorkerProcess } from './worker-process.js';

/**
 * starting → ready → draining → exited, the usual life; `stopping` is a SIGKILL
 * sent and not yet seen through. Any state but `exited` can end in a kill or a crash.
 */
export type WorkerState = 'starting' | 'ready' | 'draining' | 'stopping' | 'exited';

/** Why we stopped a worker: an exit with a reason was asked for, one without is a crash. */
export type StopReason = RestartReason | 'shutdown' | 'scale_down';


export interface WorkerSpec {
  queue: string;
  slot: number;
  budgetBytes: number;
  process: WorkerProcess;
  clock: () => number;
  /** Called after each recorded event, so the loop wakes to act on it. */
  onEvent: () => void;
}

let nextRequestId = 1;

export class WorkerHandle {
  readonly queue: string;
  readonly slot: number;
  readonly budgetBytes: number;
  readonly startedAt: number;
  private readonly process: WorkerProcess;
  private readonly clock: () => number;
  private readonly onEvent: () => void;
  #state: WorkerState = 'starting';
  #readyAt?: number;
  #lastHeartbeatAt?: number;
  #overBudgetStreak = 0;
  #fetchingStopped = false;
  #stats: WorkerStats = { rss: 0, heapUsed: 0, active: 0, processed: 0, failed: 0, zombies: 0, eventLoopLagMs: 0, started: 0, held: [], storeCutOff: false };
  #stopReason?: StopReason;
  #killReason?: StopReason;
  #drainDeadline?: number;
  #recycle?: { reason: RestartReason; replacement: WorkerHandle };
  #exit?: { code: number | null; signal: NodeJS.Signals | null };
  /** The worker's registry as last seen (a scrape, or the final one it sends after draining). */
  #lastMetrics?: unknown[];
  /** The last hold and state messages sent, so that only changes are sent. */
  private readonly lastSent = new Map<string, string>();
  private readonly pendingMetrics = new Map<number, (metrics: unknown[] | undefined) => void>();

  constructor(spec: WorkerSpec) {
    this.queue = spec.queue;
    this.slot = spec.slot;
    this.budgetBytes = spec.budgetBytes;
    this.process = spec.process;
    this.clock = spec.clock;
    this.onEvent = spec.onEvent;
    this.startedAt = this.clock();
    this.process.on('message', (message) => {
      if (isWorkerMessage(message)) this.record(message);
    });
    this.process.on('exit', (code, signal) => this.exited(code, signal));
    // A failed send is harmless; a failed spawn (EAGAIN, EMFILE, ENOENT…) never emits 'exit': make it one,
    // so the loop counts a crash and backs off instead of waiting on a process that never was.
    this.process.on('error', () => {
      if (this.process.pid === undefined) this.exited(-1, null);
    });
  }

  get pid(): number { return this.process.pid ?? 0; }
  get state(): WorkerState { return this.#state; }
  get readyAt(): number | undefined { return this.#readyAt; }
  get lastHeartbeatAt(): number | undefined { return this.#lastHeartbeatAt; }
  get overBudgetStreak(): number { return this.#overBudgetStreak; }
  /** The worker reached max-jobs: it finishes what it runs and fetches nothing more. */
  get fetchingStopped(): boolean { return this.#fetchingStopped; }
  get stats(): Readonly<WorkerStats> { return this.#stats; }
  get stopReason(): StopReason | undefined { return this.#stopReason; }
  get killReason(): StopReason | undefined { return this.#killReason; }
  get drainDeadline(): number | undefined { return this.#drainDeadline; }
  /** A recycle under way: the worker that takes this one's place once it is ready. */
  get recycle(): Readonly<{ reason: RestartReason; replacement: WorkerHandle }> | undefined { return this.#recycle; }
  get exit(): Readonly<{ code: number | null; signal: NodeJS.Signals | null }> | undefined { return this.#exit; }
  get lastMetrics(): unknown[] | undefined { return this.#lastMetrics; }

  /** The process fetches jobs. One told to drain before that stays draining. */
  markReady(): void {
    if (this.#state !== 'starting') return;
    this.#state = 'ready';
    this.#readyAt = this.clock();
  }

  /** Policy wants this worker replaced: it goes on working while `replacement` starts, then drains. */
  beginRecycle(reason: RestartReason, replacement: WorkerHandle): void {
    if (this.#state !== 'ready' || this.#recycle) throw new Error(`cannot recycle a ${this.#state} worker${this.#recycle ? ' already recycling' : ''}`);
    this.#recycle = { reason, replacement };
  }

  /** The replacement died before it was ready: this worker stays, and policy may try again later. */
  abandonRecycle(): void {
    this.#recycle = undefined;
  }

  /** Stop fetching, finish the active jobs, exit 0; the loop kills it past `deadline`. */
  drain(deadline: number, reason: StopReason): void {
    if (this.#state !== 'starting' && this.#state !== 'ready') return;
    const wasReady = this.#state === 'ready';
    this.#state = 'draining';
    this.#stopReason = reason;
    this.#drainDeadline = deadline;
    this.#recycle = undefined;
    // A worker still starting has no drain handler yet: its SIGTERM handler does the same.
    if (wasReady) this.send({ type: 'drain' });
    else this.process.kill('SIGTERM');
  }

  /** SIGKILL: the jobs it held come back through stalled detection. */
  kill(reason: StopReason): void {
    if (this.#state === 'stopping' || this.#state === 'exited') return;
    this.#state = 'stopping';
    this.#stopReason ??= reason;
    this.#killReason = reason;
    this.#recycle = undefined;
    this.process.kill('SIGKILL');
  }

  /** The process is gone, asked or not. */
  exited(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.#state === 'exited') return;
    this.#state = 'exited';
    this.#exit = { code, signal };
    this.#recycle = undefined;
    for (const resolve of this.pendingMetrics.values()) resolve(undefined);
    this.pendingMetrics.clear();
    this.onEvent();
  }

  private record(message: WorkerMessage): void {
    switch (message.type) {
      case 'ready':
        this.markReady();
        this.onEvent();
        return;
      case 'heartbeat': {
        const { type: _type, ...stats } = message;
        this.#stats = stats;
        this.#lastHeartbeatAt = this.clock();
        this.#overBudgetStreak = overBudgetStreak(this.#overBudgetStreak, stats.rss, this.budgetBytes);
        return;
      }
      case 'fetching-stopped':
        this.#fetchingStopped = true;
        this.#stats = { ...this.#stats, started: message.started };
        this.onEvent();
        return;
      case 'metrics':
        this.#lastMetrics = message.metrics;
        this.pendingMetrics.get(message.requestId)?.(message.metrics);
        this.pendingMetrics.delete(message.requestId);
        return;
    }
  }

  /** Sends a hold or state message unless the worker already has this one. */
  sendIfChanged(message: HoldMessage | SupervisorStateMessage): void {
    const key = JSON.stringify(message);
    if (this.lastSent.get(message.type) === key) return;
    this.lastSent.set(message.type, key);
    this.send(message);
  }

  private send(message: SupervisorMessage): void {
    if (this.process.connected) this.process.send(message, () => {});
  }

  /** The worker's prom-client registry as JSON, or undefined if it does not answer in time. */
  requestMetrics(timeoutMs: number): Promise<unknown[] | undefined> {
    if (this.#state === 'starting' || this.#state === 'exited' || !this.process.connected) return Promise.resolve(undefined);
    const requestId = nextRequestId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pendingMetrics.delete(requestId);
        resolve(undefined);
      }, timeoutMs);
      this.pendingMetrics.set(requestId, (metrics) => {
        clearTimeout(timer);
        resolve(metrics);
      });
      this.send({ type: 'metrics', requestId });
    });
  }
}
