import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { ROOT } from '../../helpers/fork.js';
import { redisAnswers, requireService } from '../../helpers/services.js';
import { isAlive, readLedger, tally, testDeployment } from '../../helpers/supervisor.js';
import { waitFor } from '../../helpers/wait.js';

const run = promisify(execFile);
const PM2 = path.join(ROOT, 'node_modules/.bin/pm2');

interface Pm2Process {
  name: string;
  pid: number;
  pm2_env: { status: string; restart_time: number; pm_out_log_path: string };
}

describe('supervisor under pm2 (ecosystem.config.js)', function () {
  this.timeout(180_000);
  let deployment: Awaited<ReturnType<typeof testDeployment>>;
  let pm2Env: NodeJS.ProcessEnv;

  const pm2 = async (...args: string[]) => (await run(PM2, args, { cwd: ROOT, env: pm2Env, timeout: 90_000 })).stdout;
  const list = async () => (JSON.parse(await pm2('jlist')) as Pm2Process[]).filter((p) => p.name === 'workers');

  before(async function () {
    await requireService(this, 'Redis', redisAnswers);
    await run(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', ROOT], { cwd: ROOT }); // pm2 runs the built code
    deployment = await testDeployment();
    pm2Env = {
      ...process.env,
      ...deployment.env,
      PM2_HOME: path.join(deployment.dir, 'pm2'),
      WORKER_QUEUES: 'video',
      QUEUE_VIDEO_CONCURRENCY: '4',
      JOBVISOR_HANDLER_MODULE_VIDEO: path.join(ROOT, 'test/fixtures/handlers/sleep-built.cjs'),
      METRICS_PORT: '0',
      SHUTDOWN_TIMEOUT_MS: '15000',
      LOG_LEVEL: 'info',
    };
  });
  after(async () => {
    if (!deployment) return;
    await pm2('kill').catch(() => {});
    await deployment.cleanup();
  });

  it('starts the workers app, reloads it mid-run without losing or repeating a job, and stops it leaving no worker', async () => {
    const { store, ledger } = deployment;
    await pm2('start', 'ecosystem.config.js', '--only', 'workers');
    const liveWorkers = async () => (await store.listProcesses()).filter((p) => p.queue === 'video');
    await waitFor(async () => (await liveWorkers()).length === 1, { timeoutMs: 30_000, message: 'a video worker in the registry' });
    const [before] = await list();
    expect(before?.pm2_env.status).to.equal('online');

    const n = 150;
    const ids = (await store.enqueueBulk(Array.from({ length: n }, () => ({ queue: 'video', data: { ledger, ms: 100 } })))).map((r) => r.job.id);
    await waitFor(() => readLedger(ledger).length >= 20, { timeoutMs: 30_000, message: 'some jobs done before the reload' });
    const firstWorker = (await liveWorkers())[0]!.pid;

    await pm2('reload', 'workers');
    const [after] = await list();
    expect(after?.pm2_env.restart_time).to.equal(1);
    expect(after?.pid).to.not.equal(before?.pid);
    expect(isAlive(firstWorker), 'the old supervisor drained its worker').to.equal(false);

    await waitFor(async () => (await store.counts('video')).completed === n, { timeoutMs: 60_000, intervalMs: 250, message: 'every job completed' });
    const counts = tally(readLedger(ledger));
    expect(counts.size).to.equal(n);
    expect([...counts.values()].every((c) => c === 1), 'none ran twice').to.equal(true);
    expect([...counts.keys()].sort()).to.deep.equal([...ids].sort());
    const out = fs.readFileSync(after!.pm2_env.pm_out_log_path, 'utf8');
    expect(out).to.include('"msg":"supervisor stopped"');

    const secondWorker = (await waitFor(async () => (await liveWorkers())[0]))!.pid;
    await pm2('stop', 'workers');
    expect((await list())[0]?.pm2_env.status).to.equal('stopped');
    await waitFor(() => !isAlive(secondWorker), { timeoutMs: 10_000, message: 'the worker gone after pm2 stop' });
  });
});
