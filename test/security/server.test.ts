// Issue 10's attacks on the api process, replayed against the real server
// (src/api/server.ts) on a real socket: `NODE_ENV=Production` must not run
// open, HOST must be where it listens and what its log says, and failed keys
// are throttled per address while a good key still gets in.
import { expect } from 'chai';
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { exited, ROOT } from '../helpers/fork.js';
import { REDIS_URL, redisAnswers, requireService, uniqueName, dropRedisPrefix } from '../helpers/services.js';

interface Started {
  child: ChildProcess;
  port: Promise<number>;
  output: () => string;
}

function startServer(env: NodeJS.ProcessEnv): Started {
  const child = fork(path.join(ROOT, 'src/api/server.ts'), [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, LOG_LEVEL: 'info', PORT: '0', API_KEYS: 'user-key', ADMIN_API_KEYS: '', NODE_ENV: 'development', HOST: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const port = new Promise<number>((resolve, reject) => {
    child.on('message', (message: { type?: string; port?: number }) => message.type === 'api-listening' && resolve(message.port!));
    child.once('exit', (code) => reject(new Error(`api exited with ${code} before listening:\n${output}`)));
  });
  port.catch(() => {});
  return { child, port, output: () => output };
}

describe('security: the api process', function () {
  this.timeout(60_000);
  const prefix = uniqueName('jvsec');
  const children: ChildProcess[] = [];
  const start = (env: NodeJS.ProcessEnv) => {
    const started = startServer({ REDIS_URL, JOBVISOR_PREFIX: prefix, ...env });
    children.push(started.child);
    return started;
  };

  before(async function () {
    await requireService(this, `Redis at ${REDIS_URL}`, () => redisAnswers());
  });
  after(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await dropRedisPrefix(prefix).catch(() => {});
  });

  it('refuses to start open with NODE_ENV=Production, whatever its case', async () => {
    for (const nodeEnv of ['Production', 'PRODUCTION']) {
      const started = start({ NODE_ENV: nodeEnv, API_KEYS: '', ADMIN_API_KEYS: '' });
      expect(await exited(started.child), started.output()).to.equal(78);
      expect(started.output()).to.match(/API_KEYS or ADMIN_API_KEYS/);
    }
  });

  it('listens on HOST only, and its start line says where', async () => {
    const started = start({ HOST: '127.0.0.2' });
    const port = await started.port;
    expect((await fetch(`http://127.0.0.2:${port}/api/health`)).status).to.equal(200);
    const elsewhere = await fetch(`http://127.0.0.1:${port}/api/health`).then(() => 'answered', (error: Error) => String((error.cause as Error)?.message ?? error));
    expect(elsewhere).to.match(/ECONNREFUSED/);
    expect(started.output()).to.include(`api listening on http://127.0.0.2:${port}`);
    started.child.kill('SIGTERM');
    await exited(started.child);
  });

  it('answers 429 with Retry-After past AUTH_FAILURE_LIMIT failed keys a minute, and still lets a good key in', async () => {
    const started = start({ AUTH_FAILURE_LIMIT: '5' });
    const base = `http://127.0.0.1:${await started.port}`;
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) statuses.push((await fetch(`${base}/api/jobs?queue=document`, { headers: { 'x-api-key': `guess-${i}` } })).status);
    expect(statuses).to.deep.equal([401, 401, 401, 401, 401, 429, 429]);
    const limited = await fetch(`${base}/api/jobs?queue=document`, { headers: { 'x-api-key': 'guess-again' } });
    expect(Number(limited.headers.get('retry-after'))).to.be.within(1, 60);
    expect(((await limited.json()) as { error: { code: string } }).error.code).to.equal('rate_limited');
    expect((await fetch(`${base}/api/jobs?queue=document`, { headers: { 'x-api-key': 'user-key' } })).status).to.equal(200);
    started.child.kill('SIGTERM');
    await exited(started.child);
  });
});
