// Forking a real supervisor process from tests (the TypeScript sources through
// tsx), reading its JSON log lines and those of the workers it forks.
import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/lib/config.js';
import { openStore, type JobView, type Store } from '../../src/lib/store/index.js';
import { ROOT } from './fork.js';
import { REDIS_URL, dropRedisPrefix, redisAnswers, requireService, uniqueName } from './services.js';
import { waitFor } from './wait.js';

export const SUPERVISOR_MAIN = path.join(ROOT, 'src/supervisor/main.ts');

export type LogLine = Record<string, unknown> & { msg?: string; role?: string; pid?: number };

export interface RunningSupervisor {
  child: ChildProcess;
  logs: LogLine[];
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  waitForLog(match: (line: LogLine) => boolean, timeoutMs?: number, message?: string): Promise<LogLine>;
}

/** Every supervisor a test started; useDeployment() kills them (and their workers) after each test. */
const started: RunningSupervisor[] = [];

export function startSupervisor(env: NodeJS.ProcessEnv): RunningSupervisor {
  const supervisor = spawnSupervisor(env);
  started.push(supervisor);
  return supervisor;
}

function spawnSupervisor(env: NodeJS.ProcessEnv): RunningSupervisor {
  const child = fork(SUPERVISOR_MAIN, [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, LOG_LEVEL: 'info', METRICS_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  return watchSupervisor(child);
}

/** Collects the JSON log lines a supervisor (and the workers it forks) write on its piped stdout and stderr. */
export function watchSupervisor(child: ChildProcess): RunningSupervisor {
  const logs: LogLine[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    let rest = '';
    stream?.on('data', (chunk: Buffer) => {
      const lines = (rest + chunk.toString('utf8')).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) {
        try {
          logs.push(JSON.parse(line) as LogLine);
        } catch {
          if (line.trim()) process.stdout.write(`${line}\n`);
        }
      }
    });
  }
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  return {
    child,
    logs,
    exit,
    waitForLog: (match, timeoutMs = 30_000, message = 'a log line') => waitFor(() => logs.find(match), { timeoutMs, message }),
  };
}

export type Deployment = Awaited<ReturnType<typeof testDeployment>>;

/**
 * The hooks of a supervisor suite: Redis required (skipped loudly, or failed under
 * REQUIRE_SERVICES=1), a deployment of its own per test, and every supervisor the
 * test started killed afterwards with its workers, so no process outlives its test.
 */
export function useDeployment(): { deployment: Deployment } {
  const t = {} as { deployment: Deployment };
  before(async function () {
    await requireService(this, 'Redis', redisAnswers);
  });
  beforeEach(async () => {
    t.deployment = await testDeployment();
  });
  afterEach(async () => {
    for (const supervisor of started.splice(0)) killAll([supervisor.child.pid!, ...workerPids(supervisor.logs)]);
    await t.deployment.cleanup();
  });
  return t;
}

/** A deployment of its own for one test: a Redis prefix, a store client, a temp dir for ledgers. */
export async function testDeployment() {
  const prefix = uniqueName('sv');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jobvisor-sv-'));
  const env: NodeJS.ProcessEnv = {
    REDIS_URL, JOBVISOR_PREFIX: prefix, JOB_KEEP_COMPLETED_COUNT: '100000', JOB_KEEP_FAILED_COUNT: '100000',
  };
  const store: Store = await openStore(loadConfig(env));
  return {
    prefix, dir, env, store,
    ledger: path.join(dir, 'ledger.txt'),
    async cleanup() {
      await store.close();
      await dropRedisPrefix(prefix);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function readLedger(file: string): string[] {
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
}

/** How many times each line occurs. */
export function tally(lines: string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const line of lines) counts.set(line, (counts.get(line) ?? 0) + 1);
  return counts;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Every job's final view, in pages. */
export async function allJobs(store: Store, queue: string, ids: string[]): Promise<JobView[]> {
  const views: JobView[] = [];
  for (let i = 0; i < ids.length; i += 100) {
    views.push(...(await Promise.all(ids.slice(i, i + 100).map((id) => store.get(queue, id)))).filter((v): v is JobView => v !== undefined));
  }
  return views;
}

/** Kill whatever a failed test left behind, by pid. */
export function killAll(pids: Iterable<number>): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch { /* already gone */ }
  }
}

export function workerPids(logs: LogLine[]): number[] {
  return logs.filter((l) => l.role === 'supervisor' && l.msg === 'worker forked').map((l) => l.pid as number);
}
