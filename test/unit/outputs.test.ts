// Outputs a losing attempt cannot clobber: two attempts of one job write under
// names of their own, the first to publish wins, the second's copy is removed,
// and an attempt whose signal fired (its lock lost) publishes nothing.
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { JobLockLostError } from '../../src/lib/errors.js';
import { outputFolder, outputPath, publishFolder, stagingName, writeLinesAtomically } from '../../src/queues/io/output.js';
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
});
