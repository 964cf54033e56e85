// The one place that forks a worker process. The rest of the supervisor sees
// only the WorkerProcess surface (a ChildProcess has it; tests give an
// EventEmitter), so its loop runs the same with real processes and fake ones.
import { fork } from 'node:child_process';
import path from 'node:path';
import type { QueueConfig } from '../lib/config.js';
import { envName } from '../queues/index.js';
import type { SupervisorMessage } from './messages.js';
import { maxOldSpaceMb } from './policy.js';
import { workerEnv } from './worker-env.js';
import type { WorkerUser } from './worker-user.js';

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

/** How workers are forked, beyond their queue: README, Security model (what runs as whom). */
export interface WorkerLaunch {
  /** JOBVISOR_WORKER_ENV_DENY: names, or prefixes ending in `*`, no worker is given. */
  envDeny: readonly string[];
  /** JOBVISOR_WORKER_USER, resolved: workers run as this user. */
  user?: WorkerUser;
  /** Given to every worker besides `env` (the embedded server's password, for a user that cannot read its file). */
  extraEnv?: NodeJS.ProcessEnv;
}

/** Forks `node workers/main <queue>` with the queue's heap limit and what `env` holds that its handler needs (worker-env.ts). */
export function forkWorker(env: NodeJS.ProcessEnv, launch: WorkerLaunch = { envDeny: [] }): StartWorker {
  return (queue) => {
    const childEnv = { ...workerEnv(env, queue.name, launch.envDeny), ...launch.extraEnv };
    // Per-queue handler overrides, for tests and for user queues: JOBVISOR_HANDLER_MODULE_<NAME>.
    const override = childEnv[`JOBVISOR_HANDLER_MODULE_${envName(queue.name)}`];
    if (override) childEnv.JOBVISOR_HANDLER_MODULE = override;
    return fork(WORKER_ENTRY, [queue.name], {
      execArgv: [`--max-old-space-size=${maxOldSpaceMb(queue.maxMemoryMb)}`, ...LOADER_ARGS],
      env: childEnv,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      ...(launch.user ? { uid: launch.user.uid, gid: launch.user.gid } : {}),
    });
  };
}
