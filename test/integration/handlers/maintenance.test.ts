import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import maintenanceHandler from '../../../src/queues/maintenance/handler.js';
import { useHarness } from './harness.js';

interface CleanupResult { removed: string[]; removedBytes: number; kept: number; dryRun: boolean }

function write(file: string, ageDays: number, content = 'x'.repeat(100)): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content);
  const when = new Date(Date.now() - ageDays * 86_400_000);
  fs.utimesSync(file, when, when);
}

describe('maintenance queue: cache-cleanup', function () {
  this.timeout(30_000);
  const h = useHarness();
  before(() => {
    h.start('maintenance', maintenanceHandler);
  });

  async function cleanup(data: Record<string, unknown>): Promise<CleanupResult> {
    const { job } = await h.store.enqueue({ queue: 'maintenance', name: 'cache-cleanup', data });
    const done = await h.settled('maintenance', job.id);
    expect(done.state, JSON.stringify(done.error)).to.equal('completed');
    return done.result as CleanupResult;
  }

  it('removes output files older than maxAgeDays and the folders they leave empty, and reports them', async () => {
    write(path.join(h.output, 'document', 'old.jsonl'), 10);
    write(path.join(h.output, 'video', 'old-job', '480p.mp4'), 9);
    write(path.join(h.output, 'video', 'old-job', 'thumbnail.jpg'), 9);
    write(path.join(h.output, 'ai', 'new.jsonl'), 1);
    write(path.join(h.scratch, 'outside.txt'), 100); // not under the output directory: never touched

    const dry = await cleanup({ maxAgeDays: 7, dryRun: true });
    expect(dry.removed).to.have.length(3);
    expect(fs.existsSync(path.join(h.output, 'document', 'old.jsonl'))).to.equal(true);

    const result = await cleanup({ maxAgeDays: 7 });
    expect(result.removed).to.have.members([
      path.join('document', 'old.jsonl'), path.join('video', 'old-job', '480p.mp4'), path.join('video', 'old-job', 'thumbnail.jpg'),
    ]);
    expect(result.removedBytes).to.equal(300);
    expect(result.kept).to.equal(1);
    expect(fs.existsSync(path.join(h.output, 'video', 'old-job'))).to.equal(false);
    expect(fs.existsSync(path.join(h.output, 'ai', 'new.jsonl'))).to.equal(true);
    expect(fs.existsSync(path.join(h.scratch, 'outside.txt'))).to.equal(true);
  });

  it('does not take a directory from the job, so a job cannot aim it elsewhere', async () => {
    write(path.join(h.scratch, 'elsewhere.txt'), 100);
    const result = await cleanup({ dir: h.scratch, maxAgeDays: 1 });
    expect(result.removed.filter((f) => f.includes('elsewhere'))).to.deep.equal([]);
    expect(fs.existsSync(path.join(h.scratch, 'elsewhere.txt'))).to.equal(true);
  });

  it('keeps files younger than the floor whatever the job asks (JOBVISOR_CLEANUP_MIN_AGE_DAYS)', async () => {
    write(path.join(h.output, 'document', 'hours-old.jsonl'), 0.5);
    const { job } = await h.store.enqueue({ queue: 'maintenance', name: 'cache-cleanup', data: { maxAgeDays: 0 } });
    const done = await h.settled('maintenance', job.id);
    expect(done.state).to.equal('failed');
    expect(done.attempts).to.equal(1);
    process.env.JOBVISOR_CLEANUP_MIN_AGE_DAYS = '3';
    try {
      const { job: raised } = await h.store.enqueue({ queue: 'maintenance', name: 'cache-cleanup', data: { maxAgeDays: 2 } });
      const refused = await h.settled('maintenance', raised.id);
      expect(refused.state).to.equal('failed');
      expect(refused.error!.message).to.match(/at least 3 \(JOBVISOR_CLEANUP_MIN_AGE_DAYS\)/);
    } finally {
      delete process.env.JOBVISOR_CLEANUP_MIN_AGE_DAYS;
    }
    expect(fs.existsSync(path.join(h.output, 'document', 'hours-old.jsonl'))).to.equal(true);
  });
});
