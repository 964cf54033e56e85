// Least privilege for workers (README, Security model: what runs as whom): a
// real supervisor forks real workers whose fixture handler reports the names in
// its /proc/self/environ. The api's keys, webhook secrets and what the operator
// denies never reach a worker; a provider key reaches its own queue's only. As
// root, JOBVISOR_WORKER_USER runs workers as `nobody`, writing the output folder.
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../../src/lib/config.js';
import { openStore, type JobView } from '../../src/lib/store/index.js';
import { fixture } from '../helpers/fork.js';
import { freePort } from '../helpers/ports.js';
import { REQUIRE_SERVICES } from '../helpers/services.js';
import { startSupervisor, useDeployment } from '../helpers/supervisor.js';
import { waitFor } from '../helpers/wait.js';

interface Report { names: string[]; uid: number; wrote: boolean; file: string }

const SECRETS = {
  API_KEYS: 'acme:key-a', ADMIN_API_KEYS: 'admin-key', OPENAI_API_KEY: 'sk-test', ACME_WEBHOOK_SECRET: 'whsec',
  CUSTOM_TOKEN: 'custom', AWS_SECRET_ACCESS_KEY: 'aws', AWS_REGION: 'eu-west-1',
};

describe('security: what a worker process is given', function () {
  this.timeout(90_000);
  const t = useDeployment();

  async function report(queue: string): Promise<Report> {
    const { job } = await t.deployment.store.enqueue({ queue, data: {}, attempts: 1 });
    const done = await waitFor(async () => {
      const view = await t.deployment.store.get(queue, job.id);
      return view && ['completed', 'failed'].includes(view.state) && view;
    }, { timeoutMs: 60_000, message: `the ${queue} job` }) as JobView;
    expect(done.state, JSON.stringify(done.error)).to.equal('completed');
    return done.result as Report;
  }

  const handlers = { JOBVISOR_HANDLER_MODULE_DOCUMENT: fixture('env-report'), JOBVISOR_HANDLER_MODULE_AI: fixture('env-report') };

  it('forks workers without the api keys, webhook secrets or denied names, and the provider key for its own queue only', async () => {
    startSupervisor({
      ...t.deployment.env, ...SECRETS, ...handlers, WORKER_QUEUES: 'document,ai', JOBVISOR_WORKER_ENV_DENY: 'CUSTOM_TOKEN,AWS_SECRET*',
      JOBVISOR_OUTPUT_DIR: path.join(t.deployment.dir, 'output'),
    });
    const [document, ai] = [await report('document'), await report('ai')];
    for (const names of [document.names, ai.names]) {
      for (const withheld of ['API_KEYS', 'ADMIN_API_KEYS', 'ACME_WEBHOOK_SECRET', 'CUSTOM_TOKEN', 'AWS_SECRET_ACCESS_KEY']) {
        expect(names, withheld).to.not.include(withheld);
      }
      expect(names).to.include.members(['REDIS_URL', 'JOBVISOR_PREFIX', 'JOBVISOR_OUTPUT_DIR', 'AWS_REGION']);
    }
    expect(document.names, 'the provider key is the ai queue\'s alone').to.not.include('OPENAI_API_KEY');
    expect(ai.names).to.include('OPENAI_API_KEY');
    expect(ai.uid).to.equal(process.getuid!());
  });

  describe('as another user (JOBVISOR_WORKER_USER)', () => {
    before(function () {
      if (process.getuid?.() === 0) return;
      if (REQUIRE_SERVICES) throw new Error('running workers as another user needs root (REQUIRE_SERVICES=1)');
      console.warn('\n  !!! SKIPPED: JOBVISOR_WORKER_USER needs the tests to run as root.\n');
      this.skip();
    });

    it('refuses to start when the user cannot reach the output folder', async () => {
      fs.chmodSync(t.deployment.dir, 0o700);
      const supervisor = startSupervisor({ ...t.deployment.env, ...handlers, WORKER_QUEUES: 'document', JOBVISOR_WORKER_USER: 'nobody', JOBVISOR_OUTPUT_DIR: path.join(t.deployment.dir, 'output') });
      expect((await supervisor.exit).code).to.equal(78);
    });

    it('runs workers as nobody, with an output folder they can write', async () => {
      fs.chmodSync(t.deployment.dir, 0o755);
      const output = path.join(t.deployment.dir, 'output');
      fs.mkdirSync(path.join(output, 'probe'), { recursive: true }); // made by root, as an earlier run as root would have
      startSupervisor({ ...t.deployment.env, ...SECRETS, ...handlers, WORKER_QUEUES: 'document', JOBVISOR_WORKER_USER: 'nobody', JOBVISOR_OUTPUT_DIR: output });
      const document = await report('document');
      const nobody = Number(fs.readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('nobody:'))!.split(':')[2]);
      expect(document.uid).to.equal(nobody);
      expect(document.wrote).to.equal(true);
      expect(fs.statSync(document.file).uid).to.equal(nobody);
      expect(document.names).to.not.include('API_KEYS');
    });

    it('hands a worker run as nobody the embedded PostgreSQL\'s password, which it cannot read from its mode-600 file', async () => {
      fs.chmodSync(t.deployment.dir, 0o755);
      const env = {
        REDIS_URL: '', DATABASE_URL: '', JOBVISOR_PREFIX: 'jobvisor', JOBVISOR_DATA_DIR: path.join(t.deployment.dir, 'data'),
        EMBEDDED_PG_PORT: String(await freePort()), JOBVISOR_OUTPUT_DIR: path.join(t.deployment.dir, 'output'),
      };
      const supervisor = startSupervisor({ ...env, ...handlers, WORKER_QUEUES: 'document', JOBVISOR_WORKER_USER: 'nobody' });
      await supervisor.waitForLog((l) => l.msg === 'worker started', 90_000, 'a worker on the embedded server');
      const store = await openStore(loadConfig(env));
      try {
        const { job } = await store.enqueue({ queue: 'document', data: {}, attempts: 1 });
        const done = await waitFor(async () => (await store.get('document', job.id))?.state === 'completed' && store.get('document', job.id), { timeoutMs: 30_000, message: 'the job' });
        expect((done!.result as Report).names).to.include('JOBVISOR_EMBEDDED_PG_PASSWORD');
        expect((done!.result as Report).uid).to.not.equal(0);
      } finally {
        await store.close();
        supervisor.child.kill('SIGTERM');
        await supervisor.exit;
      }
    });
  });
});
