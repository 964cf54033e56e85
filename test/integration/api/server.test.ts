// The real api process (src/api/server.ts) on a real socket: it serves, and on
// SIGTERM it stops accepting, finishes the request in flight and exits 0.
import { expect } from 'chai';
import type { ChildProcess } from 'node:child_process';
import { openStore, type Consumer, type Store } from '../../../src/lib/store/index.js';
import { startApi } from '../../helpers/api.js';
import { exited } from '../../helpers/fork.js';
import { latch, waitFor } from '../../helpers/wait.js';
import { redisBackend } from './harness.js';
import { REDIS_URL } from '../../helpers/services.js';

describe('api server process', function () {
  this.timeout(60_000);
  const backend = redisBackend();
  let store: Store;
  let consumer: Consumer | undefined;
  let child: ChildProcess | undefined;

  before(async function () {
    await backend.require(this);
    store = await openStore(backend.storeConfig());
  });
  afterEach(async () => {
    await consumer?.close();
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  after(async () => {
    await store?.close();
    await backend.cleanup();
  });

  const env = () => ({ REDIS_URL, JOBVISOR_PREFIX: (backend.storeConfig().prefix), SHUTDOWN_TIMEOUT_MS: '10000' });

  it('refuses to start in production without keys', async () => {
    const started = startApi({ ...env(), NODE_ENV: 'production', API_KEYS: '', ADMIN_API_KEYS: '' });
    child = started.child;
    started.base.catch(() => {});
    expect(await exited(child)).to.equal(78);
  });

  it('finishes the request in flight on SIGTERM, refuses new connections, and exits 0', async () => {
    const started = startApi(env());
    child = started.child;
    const base = await started.base;
    expect((await fetch(`${base}/api/health`)).status).to.equal(200);

    const aborted = latch();
    consumer = store.consume('video', (_job, { signal }) => new Promise((resolve) => {
      signal.addEventListener('abort', () => {
        aborted.resolve();
        setTimeout(() => resolve({ kind: 'cancelled' }), 700); // a handler that takes its time to clean up
      }, { once: true });
    }), { concurrency: 1 });
    const { job } = await store.enqueue({ queue: 'video', data: { source: 'x' } });
    await waitFor(async () => (await store.get('video', job.id))?.state === 'active', { timeoutMs: 5000, message: 'the job to start' });

    const inFlight = fetch(`${base}/api/jobs/video/${job.id}`, { method: 'DELETE' });
    await aborted.promise; // the cancel reached the handler: the DELETE is being served
    child.kill('SIGTERM');
    const signalled = Date.now();
    const exit = exited(child);
    const res = await inFlight;
    expect(res.status).to.equal(200);
    expect(((await res.json()) as { state: string }).state).to.equal('cancelled');
    expect(await exit).to.equal(0);
    expect(Date.now() - signalled, 'exits once the request is done, not at SHUTDOWN_TIMEOUT_MS').to.be.below(8000);
    const refused = await fetch(`${base}/api/health`).then(() => 'answered', (error: Error) => String((error.cause as Error)?.message ?? error));
    expect(refused).to.match(/ECONNREFUSED/);
  });
});
