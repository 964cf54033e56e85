import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { loadConfig } from '../../../src/lib/config.js';
import { openStore } from '../../../src/lib/store/index.js';
import { fixture } from '../../helpers/fork.js';
import { killAll, startSupervisor, workerPids, type RunningSupervisor } from '../../helpers/supervisor.js';
import { waitFor } from '../../helpers/wait.js';
import { freePort } from '../../helpers/ports.js';
import { acceptsPassword as answers, embeddedPassword } from '../../helpers/embedded.js';

describe('supervisor on the embedded PostgreSQL', function () {
  this.timeout(120_000);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'jobvisor-sv-embedded-'));
  const env = { REDIS_URL: '', DATABASE_URL: '', JOBVISOR_DATA_DIR: dataDir, EMBEDDED_PG_PORT: '', JOBVISOR_PREFIX: 'jobvisor' };
  before(async () => {
    env.EMBEDDED_PG_PORT = String(await freePort()); // from the OS: a guessed one can be an outgoing connection's
  });
  let supervisor: RunningSupervisor | undefined;

  after(async () => {
    if (supervisor) killAll([supervisor.child.pid!, ...workerPids(supervisor.logs)]);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('starts the server before its workers, runs jobs, and stops the server when it exits', async () => {
    supervisor = startSupervisor({ ...env, WORKER_QUEUES: 'document', JOBVISOR_HANDLER_MODULE_DOCUMENT: fixture('sleep') });
    await supervisor.waitForLog((l) => l.msg === 'worker started', 90_000, 'a worker on the embedded server');
    const store = await openStore(loadConfig(env));
    const password = embeddedPassword(dataDir);
    expect(await answers(Number(env.EMBEDDED_PG_PORT), password), 'the server answers its data folder\'s password').to.equal(true);
    try {
      const { job } = await store.enqueue({ queue: 'document', data: { ms: 10 } });
      await waitFor(async () => (await store.get('document', job.id))?.state === 'completed', { timeoutMs: 30_000, message: 'the job done' });
    } finally {
      await store.close();
    }
    supervisor.child.kill('SIGTERM');
    expect((await supervisor.exit).code).to.equal(0);
    expect(await answers(Number(env.EMBEDDED_PG_PORT), password), 'the server stopped with its owner').to.equal(false);
  });
});
