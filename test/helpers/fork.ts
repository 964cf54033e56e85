// Forking real worker processes from tests, running the TypeScript sources through tsx.
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';

export const ROOT = path.resolve(__dirname, '../..');
export const WORKER_MAIN = path.join(ROOT, 'src/workers/main.ts');

export function fixture(name: string): string {
  return path.join(ROOT, 'test/fixtures/handlers', `${name}.ts`);
}

export function forkWorker(queue: string, env: NodeJS.ProcessEnv, handlerModule?: string): ChildProcess {
  return fork(WORKER_MAIN, [queue], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, LOG_LEVEL: 'warn', ...env, ...(handlerModule ? { JOBVISOR_HANDLER_MODULE: handlerModule } : {}) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
}

export function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}
