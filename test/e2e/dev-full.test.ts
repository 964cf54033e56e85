// `npm run dev:full` as a user runs it: on an empty data dir, the embedded
// PostgreSQL, the api and the workers come up; a job to each queue completes
// over HTTP once readiness turns 200; Ctrl-C (SIGINT to the process group, as a
// terminal sends it) stops everything, exit 0, and no process is left.
import { expect } from 'chai';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from '../helpers/fork.js';
import { FFMPEG } from '../../src/queues/video/ffmpeg.js';
import { freePorts } from '../helpers/ports.js';
import { waitFor } from '../helpers/wait.js';
import { isAlive as alive } from '../helpers/supervisor.js';

/** Processes whose parent is one of these, and theirs: the supervisor's workers. */
function descendants(pids: number[]): number[] {
  const parents = new Set(pids);
  let grew = true;
  while (grew) {
    grew = false;
    for (const name of fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
      try {
        const ppid = Number(/^PPid:\s+(\d+)$/m.exec(fs.readFileSync(`/proc/${name}/status`, 'utf8'))?.[1]);
        if (parents.has(ppid) && !parents.has(Number(name))) {
          parents.add(Number(name));
          grew = true;
        }
      } catch {
        // gone while we looked
      }
    }
  }
  return [...parents];
}

/** One real job per queue, on inputs made in the default input root: a clip (ffmpeg from npm), inline text, texts, a folder. */
function jobs(dataDir: string) {
  const scratch = path.join(dataDir, 'input');
  const output = (relative: string) => path.join(dataDir, 'output', relative);
  fs.mkdirSync(scratch);
  const clip = path.join(scratch, 'clip.mp4');
  execFileSync(FFMPEG, ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc=duration=1:size=160x120:rate=10',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', clip]);
  const folder = path.join(scratch, 'knowledge');
  fs.mkdirSync(folder);
  fs.writeFileSync(path.join(folder, 'note.md'), '# A note\n\nThe supervisor drains before it recycles.\n');
  return [
    { queue: 'video', data: { source: 'clip.mp4', height: 64 }, check: (r: any) => r.height === 64 && fs.existsSync(output(r.output)) },
    { queue: 'document', data: { content: 'hello world\n\nsecond paragraph here' }, check: (r: any) => r.chunks >= 1 && fs.existsSync(output(r.output)) },
    { queue: 'ai', data: { texts: ['a cat', 'a dog'], dimensions: 16 }, check: (r: any) => r.vectors === 2 && r.dimensions === 16 },
    { queue: 'rag-sync', data: { source: 'knowledge' }, check: (r: any) => r.fetched === 1 && r.new === 1 },
  ];
}

describe('npm run dev:full (end to end)', function () {
  this.timeout(240_000);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'jobvisor-devfull-'));
  let base: string;
  let runner: ChildProcess;
  let output = '';

  before(async () => {
    const [port, metricsPort, pgPort] = await freePorts(3);
    base = `http://127.0.0.1:${port}`;
    runner = spawn('npm', ['run', 'dev:full'], {
      cwd: ROOT,
      detached: true, // its own process group, as a terminal's foreground job
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env, REDIS_URL: '', DATABASE_URL: '', NODE_ENV: 'development', API_KEYS: '', ADMIN_API_KEYS: '',
        JOBVISOR_DATA_DIR: dataDir, JOBVISOR_OUTPUT_DIR: path.join(dataDir, 'output'), PORT: String(port), METRICS_PORT: String(metricsPort), EMBEDDED_PG_PORT: String(pgPort), LOG_LEVEL: 'info', JOB_STALLED_INTERVAL_MS: '5000',
      },
    });
    runner.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    runner.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  });

  after(() => {
    if (runner.exitCode === null && runner.signalCode === null) {
      try { process.kill(-runner.pid!, 'SIGKILL'); } catch { /* gone */ }
    }
    for (const pid of pidsIn(output)) if (alive(pid)) process.kill(pid, 'SIGKILL');
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  function pidsIn(text: string): number[] {
    return [...text.matchAll(/(?:childPid|postmasterPid)=(\d+)/g)].map((m) => Number(m[1]));
  }

  it('runs a job on every queue, turns ready, and stops cleanly on Ctrl-C', async () => {
    await waitFor(async () => (await fetch(`${base}/api/health`)).ok, { timeoutMs: 120_000, intervalMs: 250, message: 'the api to answer' })
      .catch((error: Error) => {
        throw new Error(`${error.message}\n${output}`);
      });
    expect(output, 'a PostgreSQL of its own, on an empty data dir').to.match(/embedded PostgreSQL ready .*owned=true/);
    expect(output).to.match(/\[api\] .*api listening/);
    await waitFor(() => /\[worker:video\] worker started/.test(output), { timeoutMs: 60_000, message: 'the supervisor\'s video worker to start' });

    let lastReady = '';
    const ready = await waitFor(async () => {
      const res = await fetch(`${base}/api/health/ready`);
      lastReady = await res.text();
      return res.status === 200 && (JSON.parse(lastReady) as { status: string });
    }, { timeoutMs: 30_000, intervalMs: 250, message: 'readiness to turn 200' }).catch((error: Error) => {
      throw new Error(`${error.message}\nlast readiness answer: ${lastReady}\n${output}`);
    });
    expect(ready.status).to.equal('ready');

    const JOBS = jobs(dataDir);
    const urls: string[] = [];
    for (const job of JOBS) {
      const res = await fetch(`${base}/api/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ queue: job.queue, data: job.data }) });
      const text = await res.text();
      expect(res.status, `${job.queue}: ${text}\n${output}`).to.equal(202);
      urls.push((JSON.parse(text) as { statusUrl: string }).statusUrl);
    }
    for (const [i, url] of urls.entries()) {
      const done = await waitFor(async () => {
        const job = (await (await fetch(`${base}${url}`)).json()) as { state: string; result: unknown };
        expect(job.state, JSON.stringify(job)).to.not.equal('failed');
        return job.state === 'completed' && job;
      }, { timeoutMs: 60_000, intervalMs: 200, message: `${JOBS[i]!.queue} job to complete` });
      expect(JOBS[i]!.check(done.result), JSON.stringify(done.result)).to.equal(true);
    }

    await waitFor(async () => (await fetch(`${base}/api/health/ready`)).status === 200, { timeoutMs: 10_000, message: 'still ready after the jobs' });

    const pids = descendants(pidsIn(output));
    expect(pids.length, output).to.be.at.least(8); // postgres holder, postmaster, api, supervisor, five workers
    const exited = new Promise<string>((resolve) => runner.once('exit', (code, signal) => resolve(signal ?? String(code))));
    process.kill(-runner.pid!, 'SIGINT');
    // npm re-raises the SIGINT it forwarded once its script has exited; the runner itself says how it left.
    expect(await exited, output).to.be.oneOf(['0', 'SIGINT']);
    expect(output).to.match(/\[jobvisor\] stopped  exitCode=0/);
    await waitFor(() => pids.every((pid) => !alive(pid)), { timeoutMs: 10_000, message: `every process to be gone: ${pids.filter(alive)}` });
    expect(() => process.kill(-runner.pid!, 0)).to.throw(/ESRCH/);
    expect(output).to.match(/\[jobvisor\] stopped/);
    expect(output).to.not.match(/killing|forced stop|cut short/i);
  });
});
