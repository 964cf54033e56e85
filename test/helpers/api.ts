// Forking the real api process (src/api/server.ts through tsx) from tests, on a
// port the OS picks; it says which one over IPC once it listens.
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { ROOT } from './fork.js';

export interface RunningApi {
  child: ChildProcess;
  /** Resolves with `http://127.0.0.1:<port>` once the api listens; rejects if it exits first. */
  base: Promise<string>;
}

export function startApi(env: NodeJS.ProcessEnv): RunningApi {
  const child = fork(path.join(ROOT, 'src/api/server.ts'), [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, LOG_LEVEL: 'warn', PORT: '0', ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const base = new Promise<string>((resolve, reject) => {
    child.on('message', (message: { type?: string; port?: number }) => {
      if (message.type === 'api-listening') resolve(`http://127.0.0.1:${message.port!}`);
    });
    child.once('exit', (code) => reject(new Error(`api exited with ${code} before listening`)));
  });
  return { child, base };
}

/** SIGKILL, for a test's cleanup; nothing to wait for when it is gone already. */
export function killApi(api: RunningApi | undefined): void {
  if (api && api.child.exitCode === null && api.child.signalCode === null) api.child.kill('SIGKILL');
}
