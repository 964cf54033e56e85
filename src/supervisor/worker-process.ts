// The one place that forks a worker process. The rest of the supervisor sees
// only the WorkerProcess surface (a ChildProcess has it; tests give an
// EventEmitter), so its loop runs the same with real processes and fake ones.
import { fork } from 'node:child_process';
import path from 'node:path';
import type { QueueConfig } from '../lib/config.js';
import { envName } from '../queues/index.js';
import type { SupervisorMessage } from './messages.js';
import { maxOldSpaceMb } from './policy.js';

export interface WorkerProcess {
  /** Undefined when the spawn itself failed: an 'error' then comes, never an 'exit'. */
  readonly pid?: number | undefined;
  readonly connected: boolean;
  send(message: SupervisorMessage, callback: (error: Error | null) => void): boolean;
  kill(signal: NodeJS.Signals): boolean;
  on(event: 'message', listener: (message: unknown) => void): unknown;
  on(event: 'exit', listener: (code: number | null, signal: NodeJS.Signals | null) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
}

/** Starts one worker process for a queue. */
export type StartWorker = (queue: QueueConfig) => WorkerProcess;

// Under tsx (tests) the sources run as they are; built, dist/ holds .js.
const RUNNING_TS = __filename.endsWith('.ts');
const WORKER_ENTRY = path.resolve(__dirname, '../workers', RUNNING_TS ? 'main.ts' : 'main.js');
const LOADER_ARGS = RUNNING_TS ? ['--import', 'tsx'] : [];

/** Forks `node workers/main <queue>` with the queue's heap limit, inheriting `env`. */
export function forkWorker(env: NodeJS.ProcessEnv): StartWorker {
  return (queue) => {
    const childEnv = { ...env };
    // Per-queue handler overrides, for tests and for user queues: JOBVISOR_HANDLER_MODULE_<NAME>.
    const override = childEnv[`JOBVISOR_HANDLER_MODULE_${envName(queue.name)}`];
    if (override) childEnv.JOBVISOR_HANDLER_MODULE = override;
    return fork(WORKER_ENTRY, [queue.name], {
      execArgv: [`--max-old-space-size=${maxOldSpaceMb(queue.maxMemoryMb)}`, ...LOADER_ARGS],
      env: childEnv,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
  };
}
