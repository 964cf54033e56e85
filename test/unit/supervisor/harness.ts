// The supervisor's loop with fake worker processes (EventEmitters with the
// ChildProcess surface it uses) and a clock the test moves: every policy path
// runs in microseconds. test/integration/supervisor/ proves it on real processes.
import { EventEmitter } from 'node:events';
import { pino } from 'pino';
import { loadConfig } from '../../../src/lib/config.js';
import { DEFAULT_AUTOSCALE, type AutoscaleSettings, type Backlog } from '../../../src/supervisor/autoscale.js';
import type { HeartbeatMessage, SupervisorMessage } from '../../../src/supervisor/messages.js';
import { DEFAULT_POLICY, type PolicySettings } from '../../../src/supervisor/policy.js';
import { Supervisor } from '../../../src/supervisor/supervisor.js';
import type { WorkerProcess } from '../../../src/supervisor/worker-process.js';

export const MB = 1024 * 1024;

let lastPid = 10_000;

export class FakeWorker extends EventEmitter implements WorkerProcess {
  readonly pid: number | undefined = ++lastPid;
  connected = true;
  readonly sent: SupervisorMessage[] = [];
  readonly signals: NodeJS.Signals[] = [];

  constructor(readonly queue: string) {
    super();
  }

  send(message: SupervisorMessage, callback: (error: Error | null) => void): boolean {
    this.sent.push(message);
    callback(null);
    return true;
  }

  kill(signal: NodeJS.Signals): boolean {
    this.signals.push(signal);
    return true;
  }

  ready(): void {
    this.emit('message', { type: 'ready' });
  }

  beat(fields: Partial<Omit<HeartbeatMessage, 'type'>> = {}): void {
    const beat: HeartbeatMessage = { type: 'heartbeat', rss: 100 * MB, heapUsed: 50 * MB, active: 0, processed: 0, failed: 0, eventLoopLagMs: 0, zombies: 0, started: 0, held: [], storeCutOff: false, ...fields };
    this.emit('message', beat);
  }

  exit(code: number | null, signal: NodeJS.Signals | null = null): void {
    this.connected = false;
    this.emit('exit', code, signal);
  }

  get drained(): boolean {
    return this.sent.some((m) => m.type === 'drain');
  }

  get killed(): boolean {
    return this.signals.includes('SIGKILL');
  }

  /** The last value of a hold or state message sent to it. */
  last<T extends SupervisorMessage['type']>(type: T): Extract<SupervisorMessage, { type: T }> | undefined {
    return this.sent.filter((m): m is Extract<SupervisorMessage, { type: T }> => m.type === type).at(-1);
  }
}

export type LogLine = Record<string, unknown> & { msg: string };

/**
 * A supervisor over fake workers; `env` as the real one would read it, `policy` and
 * `autoscale` over the defaults. The autoscaler's jitter is 0 (its random is 0).
 */
export function loop(
  env: NodeJS.ProcessEnv = {}, policy: Partial<PolicySettings> = {}, makeWorker = (queue: string) => new FakeWorker(queue), autoscale: Partial<AutoscaleSettings> = {},
) {
  const clock = { now: 1_000_000 };
  const started: FakeWorker[] = [];
  const logs: LogLine[] = [];
  const released: string[] = [];
  const releasedJobs: { queue: string; ids: string[]; why: string }[] = [];
  const supervisor = new Supervisor({
    config: loadConfig({ WORKER_QUEUES: 'ai', ...env }),
    policy: { ...DEFAULT_POLICY, ...policy },
    logger: pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line) as LogLine) }),
    store: {
      mode: 'redis',
      removeProcess: async (id) => void released.push(id),
      releaseJobs: async (queue, held, why) => {
        releasedJobs.push({ queue, ids: held.map((h) => h.id), why });
        return held.map((h) => h.id);
      },
      claimsOf: async () => [],
    },
    startWorker: (queue) => {
      const worker = makeWorker(queue.name);
      started.push(worker);
      return worker;
    },
    clock: () => clock.now,
    autoscale: { ...DEFAULT_AUTOSCALE, ...autoscale },
    random: () => 0,
  });
  return {
    supervisor, started, logs, released, releasedJobs,
    get now() {
      return clock.now;
    },
    /** Move the clock on by `ms`, then run one pass of the loop. */
    tick(ms = 0) {
      clock.now += ms;
      supervisor.tick(clock.now);
    },
    /** The workers started since the first `skip`. */
    since: (skip: number) => started.slice(skip),
    /** Log lines with this message (and these fields). */
    lines: (msg: string, fields: Record<string, unknown> = {}) =>
      logs.filter((l) => l.msg === msg && Object.entries(fields).every(([k, v]) => l[k] === v)),
    actions: () => logs.filter((l) => l.action).map((l) => `${l.action}:${l.reason as string}`),
    handle: (worker: FakeWorker) => supervisor.handles.find((h) => h.pid === worker.pid),
    /** The backlog of a queue as read from the store now (nothing waiting, unless told). */
    backlog(queue: string, fields: Partial<Backlog> = {}) {
      supervisor.observeBacklog(new Map([[queue, { ready: 0, waitingSince: null, paused: false, fleetLive: 0, readAt: clock.now, ...fields }]]));
    },
  };
}

export type Loop = ReturnType<typeof loop>;

/** Ticks once, then makes the newest worker ready with a first heartbeat; returns it. */
export function startReady(t: Loop, beat: Partial<Omit<HeartbeatMessage, 'type'>> = {}): FakeWorker {
  t.tick();
  const worker = t.started.at(-1)!;
  worker.ready();
  worker.beat(beat);
  t.tick();
  return worker;
}
