// The zero-setup promise: with no REDIS_URL and no DATABASE_URL, four worker
// processes started at once bring up one embedded PostgreSQL between them,
// run real jobs, leave nothing behind when stopped, and find their jobs again.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import type { ChildProcess } from 'node:child_process';
import { openStore, type Store, type StoreConfig } from '../../src/lib/store/index.js';
import { FFMPEG, run } from '../../src/queues/video/ffmpeg.js';
import { TEST_JOBS } from '../conformance/describe-store.js';
import { exited, forkWorker } from '../helpers/fork.js';
import { waitFor } from '../helpers/wait.js';
import { freePort } from '../helpers/ports.js';

const FIXTURES = path.resolve(__dirname, '../fixtures/documents');
const QUEUES = ['video', 'document', 'ai', 'rag-sync'];

/** One real job per queue, its inputs in the default input root (<data>/input): a clip made by ffmpeg here, a fixture document, texts, a folder to sync. */
async function sampleJobs(dataDir: string): Promise<Record<string, unknown>> {
  const scratch = path.join(dataDir, 'input');
  fs.mkdirSync(scratch);
  fs.copyFileSync(path.join(FIXTURES, 'lighthouse.pdf'), path.join(scratch, 'lighthouse.pdf'));
  const clip = path.join(scratch, 'clip.mp4');
  await run(FFMPEG, ['-hide_banner', '-y', '-f', 'lavfi', '-i', 'testsrc=duration=1:size=160x120:rate=10',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', clip], new AbortController().signal);
  const folder = path.join(scratch, 'knowledge');
  fs.mkdirSync(folder);
  fs.copyFileSync(path.join(FIXTURES, 'bees.md'), path.join(folder, 'bees.md'));
  return {
    video: { source: clip, height: 64 },
    document: { source: 'lighthouse.pdf' },
    ai: { texts: ['hello world', 'jobvisor runs jobs'] },
    'rag-sync': { source: folder },
  };
}

/** Server processes (postmaster and its children) whose command line names this data dir. */
function postgresProcesses(dataDir: string): number[] {
  const out = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' });
  return out.split('\n').filter((line) => line.includes(dataDir) && /postgres/.test(line) && !line.includes('mocha'))
    .map((line) => Number(line.trim().split(/\s+/)[0]));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('embedded mode with one worker per queue', function () {
  this.timeout(120_000);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'jobvisor-workers-'));
  const env = {
    REDIS_URL: '', DATABASE_URL: '', JOBVISOR_DATA_DIR: dataDir, EMBEDDED_PG_PORT: '',
    JOBVISOR_OUTPUT_DIR: path.join(dataDir, 'output'),
  };
  const config: StoreConfig = { mode: 'embedded', dataDir, embeddedPgPort: 0, prefix: 'jobvisor', jobs: TEST_JOBS };

  before(async () => {
    config.embeddedPgPort = await freePort();
    env.EMBEDDED_PG_PORT = String(config.embeddedPgPort);
  });
  let workers: ChildProcess[] = [];
  let store: Store | undefined;
  const ids = new Map<string, string>();

  after(async () => {
    for (const worker of workers) worker.kill('SIGKILL');
    await store?.close();
    for (const pid of postgresProcesses(dataDir)) process.kill(pid, 'SIGKILL');
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('brings up the embedded server once for four workers started together, and runs a job on each queue', async () => {
    const jobs = await sampleJobs(dataDir);
    workers = QUEUES.map((queue) => forkWorker(queue, env));
    store = await waitFor(async () => {
      const lock = path.join(dataDir, 'postgres.lock', 'pid');
      return fs.existsSync(lock) && (await openStore(config));
    }, { timeoutMs: 60_000, message: 'the embedded server to come up' });
    const owner = Number(fs.readFileSync(path.join(dataDir, 'postgres.lock', 'pid'), 'utf8'));
    expect(workers.map((w) => w.pid)).to.include(owner);
    const postmasters = fs.readFileSync(path.join(dataDir, 'postgres', 'postmaster.pid'), 'utf8').split('\n')[0];
    expect(Number(postmasters)).to.be.greaterThan(0);

    for (const queue of QUEUES) ids.set(queue, (await store.enqueue({ queue, data: jobs[queue] })).job.id);
    for (const queue of QUEUES) {
      const done = await waitFor(async () => {
        const job = await store!.get(queue, ids.get(queue)!);
        return job && job.state !== 'waiting' && job.state !== 'active' ? job : undefined;
      }, { timeoutMs: 30_000, message: `the ${queue} job` });
      expect(done.state, `${queue}: ${JSON.stringify(done.error)}`).to.equal('completed');
      expect(done.result).to.not.equal(null);
    }
    const live = await waitFor(async () => { const p = await store!.listProcesses(); return p.length === 4 && p; });
    expect(live.map((p) => p.queue).sort()).to.deep.equal([...QUEUES].sort());
  });

  it('leaves no worker and no server process behind when the workers are stopped', async () => {
    await store!.close();
    store = undefined;
    for (const worker of workers) worker.kill('SIGTERM');
    const codes = await Promise.all(workers.map(exited));
    expect(codes).to.deep.equal([0, 0, 0, 0]);
    expect(workers.filter((w) => alive(w.pid!))).to.have.length(0);
    await waitFor(() => postgresProcesses(dataDir).length === 0, { timeoutMs: 15_000, message: 'the server processes to exit' });
    expect(fs.existsSync(path.join(dataDir, 'postgres.lock'))).to.equal(false);
  });

  it('finds the finished jobs still stored when started again', async () => {
    store = await openStore(config);
    for (const queue of QUEUES) expect((await store.get(queue, ids.get(queue)!))!.state).to.equal('completed');
  });
});
