// The runner behind `npm run dev:full` / `npm start`, on Redis: it restarts a
// child that crashes (the supervisor, here), and on SIGINT to its own pid it
// stops every child and exits 0.
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { ROOT } from '../../helpers/fork.js';
import { dropRedisPrefix, REDIS_URL, redisAnswers, requireService, uniqueName } from '../../helpers/services.js';
import { freePort } from '../../helpers/ports.js';
import { waitFor } from '../../helpers/wait.js';
import { isAlive as alive } from '../../helpers/supervisor.js';

const startedPids = (text: string, name: string) => [...text.matchAll(new RegExp(`started ${name}  childPid=(\\d+)`, 'g'))].map((m) => Number(m[1]));

describe('runner (dev:full, npm start)', function () {
  this.timeout(90_000);
  const prefix = uniqueName('jvrun');
  let port: number;
  let runner: ChildProcess | undefined;
  let output = '';

  before(async function () {
    await requireService(this, `Redis at ${REDIS_URL}`, () => redisAnswers());
    port = await freePort();
  });
  after(async () => {
    if (runner && runner.exitCode === null) runner.kill('SIGKILL');
    for (const pid of [...startedPids(output, 'api'), ...startedPids(output, 'supervisor')]) if (alive(pid)) process.kill(pid, 'SIGKILL');
    await dropRedisPrefix(prefix);
  });

  it('restarts the supervisor after it crashed, then stops everything on SIGINT and exits 0', async () => {
    runner = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/runner/main.ts')], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, REDIS_URL, JOBVISOR_PREFIX: prefix, PORT: String(port), METRICS_PORT: '0', WORKER_QUEUES: 'document', LOG_LEVEL: 'info', API_KEYS: '', ADMIN_API_KEYS: '', NODE_ENV: 'development' },
    });
    runner.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    runner.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));

    await waitFor(() => /\[worker:document\] worker started/.test(output) && /\[api\] api listening/.test(output), { timeoutMs: 45_000, message: `children to start:\n${output}` });
    expect(output).to.match(/\[jobvisor\] store: redis/);
    const [first] = startedPids(output, 'supervisor');
    process.kill(first!, 'SIGKILL'); // its worker sees the IPC channel close, drains and leaves on its own
    await waitFor(() => startedPids(output, 'supervisor').length === 2, { timeoutMs: 20_000, message: `a restart:\n${output}` });
    expect(output).to.match(/supervisor exited \(code null, signal SIGKILL\); restarting in 1000 ms/);
    await waitFor(() => output.match(/\[worker:document\] worker started/g)?.length === 2, { timeoutMs: 20_000, message: `the new worker to start:\n${output}` });
    await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/api/health/ready`)).status === 200, { timeoutMs: 20_000, message: 'readiness' });

    const pids = [...startedPids(output, 'api'), ...startedPids(output, 'supervisor')];
    const exited = new Promise<number | null>((resolve) => runner!.once('exit', (code) => resolve(code)));
    runner.kill('SIGINT');
    expect(await exited, output).to.equal(0);
    await waitFor(() => pids.every((pid) => !alive(pid)), { timeoutMs: 5000, message: 'every child to be gone' });
    expect(output).to.match(/\[api\] api stopped/);
    expect(output, output).to.match(/\[worker:document\] worker stopped/);
    expect(output, output).to.match(/\[supervisor\] .*stopped/);
  });

  it('stops everything with exit 78 when a child refuses its configuration (production without keys)', async () => {
    let text = '';
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/runner/main.ts')], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, REDIS_URL, JOBVISOR_PREFIX: prefix, PORT: String(await freePort()), METRICS_PORT: '0', WORKER_QUEUES: 'document', NODE_ENV: 'production', API_KEYS: '', ADMIN_API_KEYS: '' },
    });
    child.stdout!.on('data', (chunk: Buffer) => (text += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (text += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    expect(code, text).to.equal(78);
    expect(text).to.match(/API_KEYS or ADMIN_API_KEYS: at least one key is required/);
    expect(text).to.match(/api refused its configuration; stopping everything/);
    await waitFor(() => startedPids(text, 'supervisor').every((pid) => !alive(pid)), { timeoutMs: 5000, message: 'the supervisor to be gone' });
  });
});
