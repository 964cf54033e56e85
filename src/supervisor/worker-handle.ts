// One forked worker process as the supervisor sees it: its state, its last
// heartbeat, why we are stopping it (if we are). Its event handlers only record
// what happened; supervisor.ts decides what to do about it.
import { fork, type ChildProcess } from 'node:child_process';
import { isWorkerMessage, type SupervisorMessage, type WorkerMessage } from './messages.js';
import { overBudgetStreak, type RestartReason } from './policy.js';

export type WorkerState = 'starting' | 'running' | 'draining';

export interface ForkSpec {
  queue: string;
  slot: number;
  entry: string;
  execArgv: string[];
  env: NodeJS.ProcessEnv;
  budgetBytes: number;
}

export interface WorkerStats {
  rss: number;
  heapUsed: number;
  active: number;
  processed: number;
  failed: number;
  zombies: number;
  eventLoopLagMs: number;
}

let nextRequestId = 1;

export class WorkerHandle {
  readonly queue: string;
  readonly slot: number;
  readonly forkedAt = Date.now();
  readonly child: ChildProcess;
  state: WorkerState = 'starting';
  ready = false;
  readyAt?: number;
  lastHeartbeatAt?: number;
  overBudgetStreak = 0;
  stats: WorkerStats = { rss: 0, heapUsed: 0, active: 0, processed: 0, failed: 0, zombies: 0, eventLoopLagMs: 0 };
  exit?: { code: number | null; signal: NodeJS.Signals | null };
  /** Set when we decided to stop this worker: its exit is then expected, not a crash. */
  stopReason?: RestartReason | 'shutdown';
  /** A recycle in progress: the new worker that takes this one's place once ready. */
  replacement?: WorkerHandle;
  drainSent = false;
  drainDeadline?: number;
  killed = false;
  /** The worker's registry as last seen (a scrape, or the final one it sends after draining). */
  lastMetrics?: unknown[];
  /** What was last sent, so the loop sends only changes. */
  sent: { held?: boolean; state?: string } = {};
  private readonly pendingMetrics = new Map<number, (metrics: unknown[] | undefined) => void>();

  constructor(spec: ForkSpec, private readonly onEvent: () => void) {
    this.queue = spec.queue;
    this.slot = spec.slot;
    this.child = fork(spec.entry, [spec.queue], {
      execArgv: spec.execArgv,
      env: spec.env,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.child.on('message', (message) => {
      if (isWorkerMessage(message)) this.record(message, spec.budgetBytes);
    });
    this.child.on('exit', (code, signal) => {
      this.exit = { code, signal };
      for (const resolve of this.pendingMetrics.values()) resolve(undefined);
      this.pendingMetrics.clear();
      this.onEvent();
    });
    this.child.on('error', () => {
      // A failed send is harmless; a failed spawn (EAGAIN, EMFILE, ENOENT…) never emits 'exit': make it one,
      // so the supervisor counts a crash and backs off instead of waiting on a process that never was.
      if (this.child.pid === undefined && this.exit === undefined) {
        this.exit = { code: -1, signal: null };
        this.onEvent();
      }
    });
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  get alive(): boolean {
    return this.exit === undefined;
  }

  private record(message: WorkerMessage, budgetBytes: number): void {
    switch (message.type) {
      case 'ready':
        this.ready = true;
        this.readyAt = Date.now();
        if (this.state === 'starting') this.state = 'running';
        this.onEvent();
        return;
      case 'heartbeat': {
        const { type: _type, ...stats } = message;
        this.stats = stats;
        this.lastHeartbeatAt = Date.now();
        this.overBudgetStreak = overBudgetStreak(this.overBudgetStreak, stats.rss, budgetBytes);
        return;
      }
      case 'metrics':
        this.lastMetrics = message.metrics;
        this.pendingMetrics.get(message.requestId)?.(message.metrics);
        this.pendingMetrics.delete(message.requestId);
        return;
    }
  }

  send(message: SupervisorMessage): void {
    if (this.child.connected) this.child.send(message, () => {});
  }

  /** Stop fetching and leave once active jobs are done; a worker not yet ready is told by signal. */
  sendDrain(): void {
    if (this.drainSent) return;
    this.drainSent = true;
    if (this.ready) this.send({ type: 'drain' });
    else this.child.kill('SIGTERM');
  }

  kill(): void {
    this.killed = true;
    this.child.kill('SIGKILL');
  }

  /** The worker's prom-client registry as JSON, or undefined if it does not answer in time. */
  requestMetrics(timeoutMs: number): Promise<unknown[] | undefined> {
    if (!this.ready || !this.alive || !this.child.connected) return Promise.resolve(undefined);
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
