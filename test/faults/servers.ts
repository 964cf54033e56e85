// Private Redis and PostgreSQL servers for the fault suite, on free ports, which a test may stop
// and start again on the same data. PostgreSQL runs as the postgres user when the suite is root.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../helpers/ports.js';
import { waitFor } from '../helpers/wait.js';

export interface Server {
  url: string;
  stop(): Promise<void>;
  start(): Promise<void>;
  destroy(): Promise<void>;
  /**
   * Redis only: freeze the server (SIGSTOP) and thaw it (SIGCONT). Its clients keep their
   * connections and their commands hang unanswered, as in a network partition; no data is lost.
   */
  freeze?(): void;
  thaw?(): void;
}

function pgBin(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!fs.existsSync(root)) return undefined;
  const version = fs.readdirSync(root).sort((a, b) => Number(b) - Number(a))[0];
  return version ? path.join(root, version, 'bin') : undefined;
}

export function haveServers(): boolean {
  const redis = spawnSyncOk('redis-server', ['--version']);
  return redis && pgBin() !== undefined;
}

function spawnSyncOk(command: string, args: string[]): boolean {
  try {
    execFileSync(command, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** `bind`: the addresses it listens on (the many-hosts suite names the ones it created); the url names the first. */
export async function privateRedis(bind: string[] = ['127.0.0.1']): Promise<Server> {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jv-faults-redis-'));
  let child: ChildProcess | undefined;
  const url = `redis://${bind[0]!}:${port}`;
  const server: Server = {
    url,
    async start() {
      // appendfsync always: a restart keeps every acknowledged write, as a production Redis with AOF does.
      // Protected mode refuses every address but loopback; the suite binds only addresses it created.
      child = spawn('redis-server', ['--port', String(port), '--bind', ...bind, '--protected-mode', 'no', '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'always', '--save', ''], { stdio: 'ignore' });
      await waitFor(() => spawnSyncOk('redis-cli', ['-h', bind[0]!, '-p', String(port), 'ping']) || undefined, { timeoutMs: 10_000, intervalMs: 50, message: 'private Redis up' });
    },
    async stop() {
      const exited = new Promise((resolve) => child?.once('exit', resolve));
      child?.kill('SIGKILL');
      await exited;
    },
    freeze() {
      child?.kill('SIGSTOP');
    },
    thaw() {
      child?.kill('SIGCONT');
    },
    async destroy() {
      if (child && child.exitCode === null && child.signalCode === null) await server.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  await server.start();
  return server;
}

export async function privatePostgres(): Promise<Server> {
  const bin = pgBin()!;
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jv-faults-pg-'));
  const asRoot = process.getuid?.() === 0;
  if (asRoot) execFileSync('chown', ['postgres', dir]);
  const run = (tool: string, args: string[]) => execFileSync(asRoot ? 'runuser' : path.join(bin, tool),
    asRoot ? ['-u', 'postgres', '--', path.join(bin, tool), ...args] : args, { stdio: 'ignore', cwd: dir });
  run('initdb', ['-D', path.join(dir, 'data'), '-U', 'postgres', '--auth=trust', '-E', 'UTF8']);
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`;
  const server: Server = {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    async start() {
      run('pg_ctl', ['-D', path.join(dir, 'data'), '-o', options, '-l', path.join(dir, 'log'), '-w', 'start']);
    },
    async stop() {
      run('pg_ctl', ['-D', path.join(dir, 'data'), '-m', 'immediate', '-w', 'stop']);
    },
    async destroy() {
      try {
        await server.stop();
      } catch { /* already stopped */ }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  await server.start();
  return server;
}
