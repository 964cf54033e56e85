// The process registry's view of the fleet, the same in every mode: each record
// says when the store last saw it (by the store's clock), a worker silent past
// its TTL is listed apart as silent until the registry forgets it, and a record
// removed by a clean exit is not silent at all. Each mode's file calls it.
import { expect } from 'chai';
import type { ProcessRecord, Store } from '../../src/lib/store/index.js';
import { uniqueName } from '../helpers/services.js';
import { waitFor } from '../helpers/wait.js';
import { useModeStore, type ModeHarness } from './describe-store.js';

/** Short enough for a test, longer than the TTLs below. */
const FORGET_MS = 2500;
/** The test and the store share a machine: their clocks agree to well within this. */
const CLOCK_SLACK_MS = 1000;

function record(host: string): ProcessRecord {
  const pid = 1000 + Math.floor(Math.random() * 50_000);
  return { id: `${host}:${pid}:q`, host, pid, queue: 'q', state: 'running', rss: 1, heapUsed: 1, active: 2, processed: 0, failed: 0, startedAt: Date.now() };
}

export function describeRegistry(mode: string, harness: ModeHarness): void {
  describe(`store registry [${mode}]`, function () {
    this.timeout(30_000);
    let store: Store;

    useModeStore(harness, (opened) => (store = opened), { hostForgetMs: FORGET_MS });

    const find = async (id: string) => {
      const { live, silent } = await store.listFleet();
      return { live: live.find((r) => r.id === id), silent: silent.find((r) => r.id === id) };
    };

    it('lists a live worker with when the store last saw it, later at each beat', async () => {
      const beating = record(uniqueName('host'));
      await store.heartbeat(beating, 10_000);
      const first = (await find(beating.id)).live;
      expect(first, 'listed live').to.include({ id: beating.id, active: 2 });
      expect(Math.abs(first!.lastSeen! - Date.now())).to.be.below(CLOCK_SLACK_MS);
      expect((await store.listProcesses()).map((r) => r.id)).to.include(beating.id);

      await waitFor(() => Date.now() > first!.lastSeen! + 20, { intervalMs: 5, message: 'the clock to move' });
      await store.heartbeat({ ...beating, active: 1 }, 10_000);
      const second = (await find(beating.id)).live!;
      expect(second.active).to.equal(1);
      expect(second.lastSeen).to.be.above(first!.lastSeen!);
      await store.removeProcess(beating.id);
    });

    it('lists a worker silent past its TTL apart, with its last record, then forgets it', async () => {
      const stopped = record(uniqueName('host'));
      await store.heartbeat(stopped, 300);
      const { lastSeen } = (await find(stopped.id)).live!;
      const silent = await waitFor(async () => (await find(stopped.id)).silent, { timeoutMs: 5000, message: 'the record to fall silent' });
      expect(silent, 'the last record, as it was written').to.include({ host: stopped.host, active: 2, lastSeen });
      expect((await find(stopped.id)).live).to.equal(undefined);
      expect((await store.listProcesses()).map((r) => r.id), 'not among the live').to.not.include(stopped.id);

      await waitFor(async () => { const now = await find(stopped.id); return !now.live && !now.silent; },
        { timeoutMs: FORGET_MS + 5000, intervalMs: 100, message: 'the silent record to be forgotten' });
      expect(Date.now() - lastSeen!, 'not before the forget time').to.be.at.least(FORGET_MS - CLOCK_SLACK_MS);
    });

    it('lists a silent worker live again when it beats again', async () => {
      const cut = record(uniqueName('host'));
      await store.heartbeat(cut, 300);
      await waitFor(async () => (await find(cut.id)).silent, { timeoutMs: 5000, message: 'the record to fall silent' });
      await store.heartbeat(cut, 10_000);
      const back = await find(cut.id);
      expect(back.live, 'live again').to.include({ id: cut.id });
      expect(back.silent).to.equal(undefined);
      await store.removeProcess(cut.id);
    });

    it('never lists a removed record as silent: a clean exit is not a silence', async () => {
      const leaving = record(uniqueName('host'));
      await store.heartbeat(leaving, 300);
      await store.removeProcess(leaving.id);
      expect(await find(leaving.id)).to.deep.equal({ live: undefined, silent: undefined });
      // Past its TTL, it is still nowhere.
      await waitFor(() => Date.now() > (leaving.startedAt + 600), { intervalMs: 20, message: 'the TTL to pass' });
      expect(await find(leaving.id)).to.deep.equal({ live: undefined, silent: undefined });
    });
  });
}
