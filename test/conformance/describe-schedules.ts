// Cron schedules as every mode must keep them: once per tick across many
// processes, kept across restarts, disabled and enabled, with a true last and
// next run. Each mode's file calls describeSchedules with its own harness.
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { expect } from 'chai';
import { CronExpressionParser } from 'cron-parser';
import { declaredHash, reconcileSchedules, updateSchedule } from '../../src/queues/schedules.js';
import { openStore, type Consumer, type ScheduleSpec, type Store } from '../../src/lib/store/index.js';
import { exited, ROOT } from '../helpers/fork.js';
import { uniqueName } from '../helpers/services.js';
import { waitFor } from '../helpers/wait.js';
import { TEST_JOBS, type ModeHarness } from './describe-store.js';

const EVERY_SECOND = '* * * * * *';

interface Run {
  id: string;
  tick: number;
  data: unknown;
  at: number;
}

/** The tick a scheduled job was made for, from its id (`repeat:<schedule>:<ms>`). */
function tickOf(id: string): number {
  const match = /^repeat:.+:(\d+)$/.exec(id);
  return match ? Number(match[1]) : NaN;
}

/** A bounded window for asserting that something does NOT happen. */
function observe(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A process that reconciles at start and consumes, as a supervisor and its worker would. */
function forkHost(env: NodeJS.ProcessEnv, spec: ScheduleSpec): ChildProcess {
  return fork(path.join(ROOT, 'test/fixtures/schedule-host.ts'), [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, LOG_LEVEL: 'warn', ...env, SCHEDULE_SPEC: JSON.stringify(spec) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
}

export function describeSchedules(mode: string, harness: ModeHarness): void {
  describe(`schedules [${mode}]`, function () {
    this.timeout(60_000);
    let stores: Store[] = [];
    let consumers: Consumer[] = [];
    let queue: string;
    let name: string;

    async function open(): Promise<Store> {
      const store = await openStore(harness.config(TEST_JOBS));
      stores.push(store);
      return store;
    }

    /** Closes a store as a process stopping would; afterEach cleans up through one still open. */
    async function stop(store: Store): Promise<void> {
      stores = stores.filter((s) => s !== store);
      await store.close();
    }

    function spec(overrides: Partial<ScheduleSpec> = {}): ScheduleSpec {
      return { name, queue, cron: EVERY_SECOND, payload: { tag: 'declared' }, priority: 5, enabled: true, ...overrides };
    }

    function consume(store: Store, runs: Run[]): Consumer {
      const consumer = store.consume(queue, async (job) => {
        runs.push({ id: job.id, tick: tickOf(job.id), data: job.data, at: Date.now() });
        return { kind: 'completed', result: null };
      }, { concurrency: 1 });
      consumers.push(consumer);
      return consumer;
    }

    before(async function () {
      await harness.require(this);
    });

    beforeEach(() => {
      queue = uniqueName('sq');
      name = uniqueName('sched-');
    });

    afterEach(async () => {
      await Promise.all(consumers.map((c) => c.close()));
      consumers = [];
      const cleaner = stores[0] ?? (await open());
      await reconcileSchedules(cleaner, []).catch(() => {});
      await Promise.all(stores.map((s) => s.close()));
      stores = [];
    });

    after(() => harness.cleanup());

    it('reconciles declared schedules: adds, changes and removes them, and keeps the unchanged', async () => {
      const store = await open();
      const other = uniqueName('sched-');
      const daily = spec({ cron: '0 6 * * *', timezone: 'Asia/Tokyo' });
      const added = await reconcileSchedules(store, [daily, spec({ name: other, cron: '0 */4 * * *' })]);
      expect(added.added).to.have.members([name, other]);
      expect((await store.schedules.list()).map((s) => s.name)).to.have.members([name, other]);

      const report = await reconcileSchedules(store, [{ ...daily, cron: '30 7 * * *' }]);
      expect(report).to.deep.equal({ added: [], changed: [name], kept: [], removed: [other] });
      expect(await store.schedules.get(other)).to.equal(undefined);
      expect((await store.schedules.get(name))!.cron).to.equal('30 7 * * *');
      expect((await store.counts(queue)).delayed).to.equal(1); // the removed schedule's pending job went with it

      expect(await reconcileSchedules(store, [{ ...daily, cron: '30 7 * * *' }])).to.deep.include({ kept: [name] });
    });

    it('enqueues exactly one job per tick while two processes reconcile and consume at once', async () => {
      const [a, b] = await Promise.all([open(), open()]);
      await Promise.all([reconcileSchedules(a, [spec()]), reconcileSchedules(b, [spec()])]);
      const runs: Run[] = [];
      consume(a, runs);
      consume(b, runs);
      await waitFor(() => runs.length >= 5, { timeoutMs: 20_000, message: 'five scheduled runs' });
      await updateSchedule(a, name, { enabled: false });
      await Promise.all(consumers.map((c) => c.drain()));

      const ids = runs.map((r) => r.id);
      const ticks = runs.map((r) => r.tick).sort((x, y) => x - y);
      expect(new Set(ids).size, 'a job ran twice').to.equal(ids.length);
      expect(new Set(ticks).size, 'a tick made two jobs').to.equal(ticks.length);
      for (const tick of ticks) expect(tick % 1000).to.equal(0);
      const counts = await a.counts(queue);
      expect(counts.completed).to.equal(runs.length);
      expect(counts).to.include({ delayed: 0, active: 0, failed: 0 });
      expect(counts.waiting, 'a job promoted just before disabling may wait').to.be.at.most(1);
    });

    it('enqueues exactly one job per tick while two forked processes start, reconcile and consume at once', async () => {
      const store = await open(); // first, so an embedded server outlives the two hosts
      const hosts = [forkHost(harness.workerEnv(), spec()), forkHost(harness.workerEnv(), spec())];
      const runs: { id: string; pid: number }[] = [];
      let ready = 0;
      try {
        for (const host of hosts) {
          host.on('message', (m: { type: string; id: string; pid: number }) => {
            if (m.type === 'ran') runs.push({ id: m.id, pid: m.pid });
            if (m.type === 'ready') ready++;
          });
        }
        await waitFor(() => ready === 2, { timeoutMs: 60_000, message: 'both processes reconciled' });
        await waitFor(() => runs.length >= 5, { timeoutMs: 20_000, message: 'five scheduled runs' });
        await updateSchedule(store, name, { enabled: false });
        for (const host of hosts) host.send('stop');
        await Promise.all(hosts.map(exited));

        const ids = runs.map((r) => r.id);
        const ticks = ids.map(tickOf);
        expect(new Set(ids).size, 'a job ran twice').to.equal(ids.length);
        expect(new Set(ticks).size, 'a tick made two jobs').to.equal(ticks.length);
        const counts = await store.counts(queue);
        expect(counts.completed).to.equal(runs.length);
        expect(counts).to.include({ delayed: 0, active: 0, failed: 0 });
        expect(counts.waiting, 'a job promoted just before disabling may wait').to.be.at.most(1);
      } finally {
        for (const host of hosts) if (host.exitCode === null) host.kill('SIGKILL');
      }
    });

    it('keeps schedules and their api changes across a restart of every process, until the declaration changes', async () => {
      const first = await open();
      await reconcileSchedules(first, [spec()]);
      await updateSchedule(first, name, { cron: '*/2 * * * * *', payload: { tag: 'api' } });
      await stop(first);

      const second = await open();
      expect(await reconcileSchedules(second, [spec()])).to.deep.include({ kept: [name], changed: [] });
      expect(await second.schedules.get(name)).to.deep.include({ cron: '*/2 * * * * *', changedBy: 'api', enabled: true });
      const runs: Run[] = [];
      consume(second, runs);
      await waitFor(() => runs.length >= 2, { timeoutMs: 15_000, message: 'two runs after the restart' });
      expect(runs[1]!.data).to.deep.equal({ tag: 'api' });
      expect(runs[1]!.tick % 2000).to.equal(0);

      expect(await reconcileSchedules(second, [spec({ cron: '*/3 * * * * *' })])).to.deep.include({ changed: [name] });
      expect(await second.schedules.get(name)).to.deep.include({ cron: '*/3 * * * * *', changedBy: 'catalog' });
      expect((await second.schedules.get(name))!.payload).to.deep.equal({ tag: 'declared' });
    });

    it('stops the runs when disabled, keeping the definition, and resumes them when enabled', async () => {
      const store = await open();
      await reconcileSchedules(store, [spec()]);
      const runs: Run[] = [];
      consume(store, runs);
      await waitFor(() => runs.length >= 2, { timeoutMs: 15_000, message: 'two runs' });

      const disabled = await updateSchedule(store, name, { enabled: false });
      expect(disabled).to.deep.include({ enabled: false, nextRunAt: null, cron: EVERY_SECOND });
      const atDisable = runs.length;
      await observe(2500);
      expect(runs.length, 'runs after disabling').to.be.at.most(atDisable + 1); // one may have been taken already
      const counts = await store.counts(queue);
      expect(counts.waiting + counts.delayed).to.equal(0);
      await reconcileSchedules(store, [spec()]); // a restart does not re-enable it
      expect((await store.schedules.get(name))!.enabled).to.equal(false);

      const stopped = runs.length;
      await updateSchedule(store, name, { enabled: true });
      await waitFor(() => runs.length >= stopped + 2, { timeoutMs: 15_000, message: 'runs after enabling' });
    });

    it('reports the last run, its job and state, and the next run', async () => {
      const store = await open();
      await reconcileSchedules(store, [spec()]);
      const before = await store.schedules.get(name);
      expect(before).to.deep.include({ lastRunAt: null, lastJob: null });
      expect(Date.parse(before!.nextRunAt!) % 1000).to.equal(0);

      const runs: Run[] = [];
      const consumer = consume(store, runs);
      await waitFor(() => runs.length >= 1, { timeoutMs: 15_000, message: 'a run' });
      await consumer.drain();
      const last = runs[runs.length - 1]!;
      const view = await waitFor(async () => {
        const v = await store.schedules.get(name);
        return v?.lastJob?.id === last.id && v.lastJob.state === 'completed' ? v : undefined;
      }, { message: 'the last job completed in the view' });
      const lastRunAt = Date.parse(view.lastRunAt!);
      expect(lastRunAt).to.be.within(last.tick, last.at + 50);
      const nextRunAt = Date.parse(view.nextRunAt!);
      expect(nextRunAt).to.be.greaterThan(last.tick);
      expect(nextRunAt % 1000).to.equal(0);

      await updateSchedule(store, name, { cron: '0 6 * * *', timezone: 'Asia/Tokyo' });
      const daily = await store.schedules.get(name);
      const expected = CronExpressionParser.parse('0 6 * * *', { tz: 'Asia/Tokyo', currentDate: new Date() }).next().getTime();
      expect(Date.parse(daily!.nextRunAt!)).to.equal(expected);
      expect(new Date(daily!.nextRunAt!).getUTCHours()).to.equal(21); // 06:00 in Tokyo
    });

    it('runs now exactly one job with the schedule payload and priority, leaving the schedule as it was', async () => {
      const store = await open();
      await reconcileSchedules(store, [spec({ cron: '0 6 * * *', payload: { maxAgeDays: 30 }, priority: 9 })]);
      const nextBefore = (await store.schedules.get(name))!.nextRunAt;
      const job = await store.schedules.runNow(name);
      expect(job).to.include({ queue, name, state: 'waiting', priority: 9 });
      expect(job.data).to.deep.equal({ maxAgeDays: 30 });
      const counts = await store.counts(queue);
      expect(counts).to.include({ waiting: 1, delayed: 1 }); // the run-now job, and the schedule's pending one
      const view = await store.schedules.get(name);
      expect(view).to.deep.include({ nextRunAt: nextBefore, lastJob: { id: job.id, state: 'waiting' } });
    });

    it('runs a tick missed while every process was down once when a worker returns, and skips the rest', async () => {
      const first = await open();
      await reconcileSchedules(first, [spec()]);
      const firstTick = Date.parse((await first.schedules.get(name))!.nextRunAt!);
      await stop(first);
      await observe(3000); // everything down across three ticks

      const second = await open();
      await reconcileSchedules(second, [spec()]);
      const back = Date.now();
      const runs: Run[] = [];
      consume(second, runs);
      await waitFor(() => runs.length >= 2, { timeoutMs: 15_000, message: 'the overdue run and the next one' });
      expect(runs[0]!.tick, 'the overdue tick').to.equal(firstTick);
      expect(runs.filter((r) => r.tick < back - 1000), 'missed ticks run').to.have.length(1);
      expect(runs[1]!.tick).to.be.at.least(back - 1000);
    });

    it('hashes a declaration by its values only', () => {
      expect(declaredHash(spec())).to.equal(declaredHash({ ...spec() }));
      expect(declaredHash(spec())).to.not.equal(declaredHash(spec({ cron: '*/2 * * * * *' })));
    });
  });
}
