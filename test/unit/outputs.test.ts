// Outputs a losing attempt cannot clobber: two attempts of one job write under
// names of their own, the first to publish wins, the second's copy is removed,
// and an attempt whose signal fired (its lock lost) publishes nothing.
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { JobLockLostError } from '../../src/lib/errors.js';
import { spawnSync } from 'node:child_process';
import { outputFolder, outputPath, publishFolder, stage, stagingName, writeLinesAtomically } from '../../src/queues/io/output.js';
import { waitFor } from '../helpers/wait.js';

/** Lines that wait for `gate` before the last one, so a test decides which attempt ends first. */
async function* linesAfter(gate: Promise<void>, text: string): AsyncGenerator<string> {
  yield `${text} 1`;
  await gate;
  yield `${text} 2`;
}

function gate(): { open: () => void; opened: Promise<void> } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

describe('outputs of racing attempts', () => {
  let dir: string;
  let saved: string | undefined;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jv-outputs-'));
    saved = process.env.JOBVISOR_OUTPUT_DIR;
    process.env.JOBVISOR_OUTPUT_DIR = dir;
  });
  afterEach(() => {
    if (saved === undefined) delete process.env.JOBVISOR_OUTPUT_DIR;
    else process.env.JOBVISOR_OUTPUT_DIR = saved;
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const leftovers = () => fs.readdirSync(path.join(dir, 'document')).filter((name) => name.endsWith('.partial'));

  it('keeps the file of the attempt that published first; the later one replaces nothing and leaves no staging file', async () => {
    const file = await outputPath('document', 'job-1', '.jsonl');
    const [first, second] = [gate(), gate()];
    const winner = writeLinesAtomically(file, linesAfter(first.opened, 'winner'), new AbortController().signal);
    const loser = writeLinesAtomically(file, linesAfter(second.opened, 'loser'), new AbortController().signal);
    // Each attempt stages under a name of its own (opened on libuv's thread pool: waited for, not assumed).
    await waitFor(() => leftovers().length === 2, { timeoutMs: 5000, intervalMs: 5, message: 'two staging files' });
    first.open();
    expect(await winner).to.equal(2);
    second.open();
    expect(await loser).to.equal(2);
    expect(fs.readFileSync(file, 'utf8')).to.equal('winner 1\nwinner 2\n');
    expect(leftovers()).to.deep.equal([]);
  });

  it('publishes nothing from an attempt whose signal fired for a lost lock, and removes its staging file', async () => {
    const file = await outputPath('document', 'job-2', '.jsonl');
    const controller = new AbortController();
    const { open, opened } = gate();
    const attempt = writeLinesAtomically(file, linesAfter(opened, 'late'), controller.signal);
    controller.abort(new JobLockLostError(1500));
    open();
    const error = await attempt.then(() => undefined, (thrown: unknown) => thrown);
    expect(error).to.be.instanceOf(JobLockLostError);
    expect(fs.existsSync(file)).to.equal(false);
    expect(leftovers()).to.deep.equal([]);
  });

  it("keeps the first attempt's folder whole when a second publishes the same job's folder", async () => {
    const final = outputFolder('video', 'job-3');
    fs.mkdirSync(path.dirname(final), { recursive: true });
    const stage = (text: string) => {
      const staged = stagingName(final);
      fs.mkdirSync(staged);
      fs.writeFileSync(path.join(staged, 'out.mp4'), text);
      return staged;
    };
    const [winner, loser] = [stage('winner'), stage('loser')];
    await publishFolder(winner, final, new AbortController().signal);
    await publishFolder(loser, final, new AbortController().signal);
    expect(fs.readFileSync(path.join(final, 'out.mp4'), 'utf8')).to.equal('winner');
    expect(fs.readdirSync(path.dirname(final))).to.deep.equal(['job-3']);
  });

  it('publishes nothing from an attempt whose signal fires once its last line is written, nor a folder whose signal fired', async () => {
    const file = await outputPath('document', 'job-4', '.jsonl');
    const controller = new AbortController();
    async function* thenLost(): AsyncGenerator<string> {
      yield 'only line';
      controller.abort(new JobLockLostError(1500)); // after the write loop's last check: publishing must look again
    }
    const error = await writeLinesAtomically(file, thenLost(), controller.signal).then(() => undefined, (thrown: unknown) => thrown);
    expect(error).to.be.instanceOf(JobLockLostError);
    expect(fs.existsSync(file)).to.equal(false);
    expect(leftovers()).to.deep.equal([]);

    const final = outputFolder('video', 'job-5');
    fs.mkdirSync(path.dirname(final), { recursive: true });
    const staged = stagingName(final);
    fs.mkdirSync(staged);
    const refused = await publishFolder(staged, final, AbortSignal.abort(new JobLockLostError(1500))).then(() => undefined, (thrown: unknown) => thrown);
    expect(refused).to.be.instanceOf(JobLockLostError);
    expect(fs.readdirSync(path.dirname(final))).to.deep.equal([]);
  });

  it("removes what an attempt of a dead process staged for the job, and leaves a live attempt's and another job's", async () => {
    const file = await outputPath('document', 'job-6', '.jsonl');
    const dead = spawnSync(process.execPath, ['-e', '']).pid; // exited by now
    const name = (of: string, pid: number, hex: string) => path.join(dir, 'document', `${of}.${pid}-${hex}.partial`);
    fs.writeFileSync(name('job-6.jsonl', dead, 'deadbeef'), 'half');
    fs.writeFileSync(name('job-6.jsonl', process.pid, 'cafebabe'), 'running');
    fs.writeFileSync(name('job-60.jsonl', dead, 'deadbeef'), 'another job');
    expect(await writeLinesAtomically(file, ['done'], new AbortController().signal)).to.equal(1);
    expect(leftovers().sort()).to.deep.equal([`job-6.jsonl.${process.pid}-cafebabe.partial`, `job-60.jsonl.${dead}-deadbeef.partial`]);

    const folder = outputFolder('video', 'job-7');
    fs.mkdirSync(`${folder}.${dead}-deadbeef.partial`, { recursive: true });
    fs.writeFileSync(`${folder}.${dead}-deadbeef.partial/480p.mp4`, 'half');
    const staged = await stage(folder);
    expect(staged.startsWith(`${folder}.${process.pid}-`)).to.equal(true);
    expect(fs.readdirSync(path.dirname(folder))).to.deep.equal([]);
  });
});
