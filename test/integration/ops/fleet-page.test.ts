// The fleet page in a real browser (Debian's Chromium, driven by playwright-core)
// over a real api and a real supervisor: after a recycle and a crash, and under
// host memory pressure, a person sees what the supervisor did, with the counts
// the store and the supervisor's own log lines have; when a host falls silent,
// its state and the jobs it left orphaned. Screenshots go to test-output/.
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { loadConfig } from '../../../src/lib/config.js';
import { openStore, type Store } from '../../../src/lib/store/index.js';
import { killApi, startApi, type RunningApi } from '../../helpers/api.js';
import { exited, fixture, forkWorker, ROOT } from '../../helpers/fork.js';
import { startSupervisor, useDeployment, type RunningSupervisor } from '../../helpers/supervisor.js';
import { CHROMIUM, requireTool } from '../../helpers/tools.js';
import { waitFor } from '../../helpers/wait.js';

const ADMIN_KEY = 'fleet-admin-key';
const OUTPUT = path.join(ROOT, 'test-output');
const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

type Table = Record<string, Record<string, string>>;

/** The queues table as text, by queue and column, as a person reads it. */
function queuesOnPage(page: Page): Promise<Table> {
  return page.$$eval('#queues tbody tr', (rows) => Object.fromEntries(rows.map((row) => [
    row.getAttribute('data-queue')!,
    Object.fromEntries([...row.querySelectorAll('[data-field]')].map((cell) => [cell.getAttribute('data-field')!, (cell.textContent ?? '').trim()])),
  ])));
}

/** The worker rows of this host's section, by pid. */
function workersOnPage(page: Page): Promise<Table> {
  return page.$$eval(`section[data-host="${os.hostname()}"] tbody tr`, (rows) => Object.fromEntries(rows.map((row) => [
    row.getAttribute('data-pid')!,
    Object.fromEntries([...row.querySelectorAll('[data-field]')].map((cell) => [cell.getAttribute('data-field')!, (cell.textContent ?? '').trim()])),
  ])));
}

/** Polls the page until `expected` holds, then returns what it showed; fails with the last view otherwise. */
async function seeOnPage(page: Page, message: string, expected: (queues: Table) => boolean): Promise<Table> {
  let last: Table = {};
  try {
    return await waitFor(async () => (expected((last = await queuesOnPage(page))) ? last : undefined), { timeoutMs: 20_000, intervalMs: 250, message });
  } catch (error) {
    throw new Error(`${(error as Error).message}; the page showed ${JSON.stringify(last)}`);
  }
}

const recycles = (supervisor: RunningSupervisor, queue: string, reason: string) =>
  supervisor.logs.filter((l) => l.role === 'supervisor' && l.queue === queue && l.reason === reason && (l.action === 'recycle' || l.action === 'restart')).length;

async function registryWorkers(store: Store) {
  return (await store.listProcesses()).filter((p) => p.state === 'running');
}

describe('operations: the fleet page in Chromium', function () {
  this.timeout(180_000);
  const t = useDeployment();
  let browser: Browser | undefined;
  let api: RunningApi | undefined;
  let page: Page | undefined;
  const pageErrors: string[] = [];

  before(async function () {
    await requireTool(this, 'Chromium', CHROMIUM);
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
    fs.mkdirSync(OUTPUT, { recursive: true });
  });
  afterEach(async () => {
    await page?.context().close();
    killApi(api);
  });
  after(async () => {
    await browser?.close();
  });

  async function openFleet(env: NodeJS.ProcessEnv): Promise<Page> {
    api = startApi({ ...env, ADMIN_API_KEYS: ADMIN_KEY, LOG_LEVEL: 'error' }); // the browser's first request is a 401 by design
    const base = await api.base;
    const context = await browser!.newContext({ httpCredentials: { username: 'operator', password: ADMIN_KEY }, viewport: { width: 1600, height: 900 } });
    page = await context.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(`${base}/admin/fleet?every=500`);
    return page;
  }

  it('shows a recycle and a crash with the counts of the store and the supervisor, and every worker of the host', async () => {
    const { store, ledger, env } = t.deployment;
    const supervisor = startSupervisor({
      ...env, WORKER_QUEUES: 'ai,rag-sync', BACKOFF_BASE_MS: '200', CRASH_LOOP_CRASHES: '2', JOB_LOCK_MS: '2000', JOB_STALLED_INTERVAL_MS: '1000',
      QUEUE_AI_CONCURRENCY: '1', JOBVISOR_HANDLER_MODULE_AI: fixture('crash'),
      QUEUE_RAG_SYNC_CONCURRENCY: '1', QUEUE_RAG_SYNC_MAX_JOBS: '3', JOBVISOR_HANDLER_MODULE_RAG_SYNC: fixture('sleep'),
    });
    const fleet = await openFleet({ ...env, WORKER_QUEUES: 'ai,rag-sync' });
    await waitFor(async () => (await registryWorkers(store)).length === 2, { timeoutMs: 30_000, message: 'a worker per queue' });

    // Two jobs whose first attempt takes their worker down; seven through workers recycled every 3 jobs; one cancelled.
    await store.enqueueBulk([1, 2].map(() => ({ queue: 'ai', data: { ledger, crash: true } })));
    await store.enqueueBulk(Array.from({ length: 7 }, () => ({ queue: 'rag-sync', data: { ledger, ms: 300 } })));
    const { job: later } = await store.enqueue({ queue: 'rag-sync', data: { ledger }, delayMs: 600_000 });
    await store.cancel('rag-sync', later.id);
    await waitFor(async () => (await store.counts('ai')).completed === 2 && (await store.counts('rag-sync')).completed === 7,
      { timeoutMs: 120_000, intervalMs: 250, message: 'every job done' });

    const maxJobs = () => recycles(supervisor, 'rag-sync', 'max_jobs');
    const shown = await seeOnPage(fleet, 'the crash and the recycles on the page', (q) =>
      q.ai?.crash === '2' && q['rag-sync']?.max_jobs === String(maxJobs()) && q.ai.completed === '2' && q['rag-sync'].completed === '7');
    expect(maxJobs(), 'seven jobs, three per worker').to.be.at.least(1);
    expect(recycles(supervisor, 'ai', 'crash')).to.equal(2);
    expect(shown.ai!.status).to.include('crash-looping');
    expect(shown['rag-sync']).to.include({ status: 'ok', cancelled: '1', crash: '0', memory: '0', liveWorkers: '1' });
    expect(shown.ai).to.include({ failed: '0', max_jobs: '0', liveWorkers: '1', budget: '512 MiB / 1024 MiB' });

    // Every live worker of this host, with what its registry record says it ran.
    const workers = await waitFor(async () => {
      const [records, rows] = await Promise.all([registryWorkers(store), workersOnPage(fleet)]);
      return records.length === 2 && records.every((r) => rows[r.pid]?.processed === String(r.processed) && rows[r.pid]?.state === 'running')
        ? { records, rows } : undefined;
    }, { timeoutMs: 20_000, intervalMs: 250, message: 'the host section matching the registry' });
    const aiWorker = workers.records.find((r) => r.queue === 'ai')!;
    const budget = loadConfig(env).queues.ai.maxMemoryMb * 1024 * 1024;
    const bar = fleet.locator(`tr[data-pid="${aiWorker.pid}"] [role="meter"]`);
    expect(await bar.getAttribute('aria-valuemax'), 'the bar ends at the hard ceiling').to.equal(String(2 * budget));
    expect(await fleet.locator(`tr[data-pid="${aiWorker.pid}"] [data-field="rss"]`).textContent()).to.match(/ MiB of 512 MiB budget$/);
    expect(await fleet.locator('#queues tr[data-queue="ai"] a').getAttribute('href')).to.equal('/admin/queues/queue/ai');

    await fleet.screenshot({ path: path.join(OUTPUT, 'fleet.png'), fullPage: true });
    expect(pageErrors).to.deep.equal([]);
  });

  it('shows a frozen host unreachable and its jobs orphaned, until the stalled check takes them back', async () => {
    const { store, env } = t.deployment;
    // A worker with no supervisor (one would kill it on a missed heartbeat), its lock longer than its record's TTL.
    const worker = forkWorker('ai', { ...env, QUEUE_AI_CONCURRENCY: '2', JOB_LOCK_MS: '6000', JOB_STALLED_INTERVAL_MS: '1000' }, fixture('sleep'));
    const rescue = await openStore(loadConfig({ ...env, JOB_LOCK_MS: '2000', JOB_STALLED_INTERVAL_MS: '500' }));
    try {
      await store.enqueueBulk([1, 2].map(() => ({ queue: 'ai', data: { ms: 60_000 } })));
      const fleet = await openFleet({ ...env, WORKER_QUEUES: 'ai' });
      await waitFor(async () => (await workersOnPage(fleet))[worker.pid!]?.active === '2', { timeoutMs: 30_000, intervalMs: 250, message: 'the worker on the page with both jobs' });
      expect(await fleet.locator(`section[data-host="${os.hostname()}"]`).getAttribute('data-state')).to.equal('up');

      worker.kill('SIGSTOP');
      const shown = await seeOnPage(fleet, 'both jobs orphaned', (q) => q.ai?.orphaned === '2');
      expect(shown.ai).to.include({ active: '2', liveWorkers: '0' });
      expect(shown.ai!.status).to.include('2 orphaned');
      const host = fleet.locator(`section[data-host="${os.hostname()}"]`);
      await waitFor(async () => (await host.getAttribute('data-state')) === 'unreachable', { timeoutMs: 20_000, intervalMs: 250, message: 'the host shown unreachable' });
      expect(await host.locator('[data-field="hostState"]').textContent()).to.match(/^unreachablelast seen /);
      expect((await workersOnPage(fleet))[worker.pid!]).to.include({ state: 'unreachable', active: '2' });
      await fleet.screenshot({ path: path.join(OUTPUT, 'fleet-unreachable.png'), fullPage: true });

      // A worker elsewhere runs BullMQ's stalled check: the jobs are taken back, and the page says so.
      const rescuer = rescue.consume('ai', async () => ({ kind: 'completed', result: 'rescued' }), { concurrency: 2 });
      try {
        const after = await seeOnPage(fleet, 'the orphaned jobs run elsewhere', (q) => q.ai?.completed === '2' && q.ai.orphaned === '0');
        expect(after.ai!.status).to.not.include('orphaned');
        expect(await host.getAttribute('data-state'), 'the frozen host is still silent').to.equal('unreachable');
      } finally {
        await rescuer.close();
      }
      expect(pageErrors).to.deep.equal([]);
    } finally {
      worker.kill('SIGKILL');
      await exited(worker);
      await rescue.close();
    }
  });

  it('shows the queue held under host memory pressure, and the pressure recycle', async () => {
    const { env } = t.deployment;
    const supervisor = startSupervisor({
      ...env, WORKER_QUEUES: 'ai,maintenance', JOBVISOR_HANDLER_MODULE_AI: fixture('sleep'), JOBVISOR_HANDLER_MODULE_MAINTENANCE: fixture('sleep'),
      MEMORY_PRESSURE_MIN_AVAILABLE_PERCENT: '100', // any host is "short" of memory at 100 %
      MEMORY_PRESSURE_COOLDOWN_MS: '600000',
    });
    const fleet = await openFleet({ ...env, WORKER_QUEUES: 'ai,maintenance' });
    const recycle = await supervisor.waitForLog((l) => l.action === 'recycle' && l.reason === 'pressure', 30_000, 'a pressure recycle');
    await supervisor.waitForLog((l) => l.msg === 'worker exited' && l.pid === recycle.pid, 30_000, 'the recycled worker gone');

    const shown = await seeOnPage(fleet, 'maintenance held, one pressure recycle', (q) =>
      q.maintenance?.status?.includes('held') === true && q[recycle.queue as string]?.pressure === '1');
    expect(shown.ai!.status).to.equal('ok');
    expect(Number(shown.ai!.pressure) + Number(shown.maintenance!.pressure)).to.equal(1);
    await waitFor(async () => Object.values(await workersOnPage(fleet)).some((row) => row.state === 'running (held)'),
      { timeoutMs: 20_000, intervalMs: 250, message: 'the maintenance worker shown held' });
    const held = Object.entries(await workersOnPage(fleet)).filter(([, row]) => row.state === 'running (held)');
    expect(held).to.have.length(1);
    expect(await fleet.locator(`tr[data-pid="${held[0]![0]}"]`).getAttribute('data-queue')).to.equal('maintenance');

    await fleet.screenshot({ path: path.join(OUTPUT, 'fleet-held.png'), fullPage: true });
    expect(pageErrors).to.deep.equal([]);
  });
});
