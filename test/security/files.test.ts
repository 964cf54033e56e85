// Issue 10, "Any host file can be read", replayed with a user key against the
// api and the real handlers: every path outside the input root is refused by
// rule, nothing about what exists there comes back, and no output, result or
// error carries the planted secret or the worker's environment.
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { JobView } from '../../src/lib/store/index.js';
import { useSystem } from './system.js';

const OUTSIDE = /outside the allowed input roots/;

describe('security: job data names no host file', function () {
  this.timeout(60_000);
  const s = useSystem();
  const jobs: JobView[] = [];
  const run = async (queue: string, data: unknown) => {
    const job = await s.run(queue, data);
    jobs.push(job);
    return job;
  };

  /** Every test ends here: nothing the attack aimed at shows in any output file, result or error. */
  const noLeaks = async () => expect(await s.leaks(jobs.splice(0))).to.deep.equal([]);

  function expectRefused(job: JobView, rule: RegExp): void {
    expect(job.state, JSON.stringify(job.error)).to.equal('failed');
    expect(job.attempts, 'refused for good, not retried').to.equal(1);
    expect(job.error!.message).to.match(rule);
    expect(job.result).to.equal(null);
  }

  it('refuses /proc/self/environ, /etc/passwd and a planted mode-600 file, as documents', async () => {
    for (const source of ['/proc/self/environ', '/etc/passwd', s.secretFile]) expectRefused(await run('document', { source }), OUTSIDE);
    await noLeaks();
  });

  it('refuses the secret as Markdown too: no title comes back', async () => {
    const job = await run('document', { source: s.secretFile, format: 'markdown' });
    expectRefused(job, OUTSIDE);
    await noLeaks();
  });

  it('refuses a relative path that climbs out of the root, and a symlink in the root that points out of it', async () => {
    fs.symlinkSync(s.secretFile, path.join(s.root, 'innocent.md'));
    fs.symlinkSync(path.dirname(s.secretFile), path.join(s.root, 'shelf'));
    for (const source of ['../outside/secret.md', 'innocent.md', 'shelf/secret.md', path.join(s.root, 'innocent.md')]) {
      expectRefused(await run('document', { source }), OUTSIDE);
    }
    await noLeaks();
  });

  it('says the same about a file that exists and one that does not, outside the root', async () => {
    const [there, absent] = [await run('document', { source: '/etc/passwd' }), await run('document', { source: '/etc/no-such-file-here' })];
    expect(there.error!.message.replace('/etc/passwd', 'X')).to.equal(absent.error!.message.replace('/etc/no-such-file-here', 'X'));
    await noLeaks();
  });

  it('refuses an ai chunksFile of /etc/passwd without quoting it, and never quotes a bad chunks file in the root', async () => {
    const passwd = await run('ai', { chunksFile: '/etc/passwd' });
    expectRefused(passwd, OUTSIDE);
    expect(passwd.error!.message).to.not.match(/root:/);
    fs.writeFileSync(path.join(s.root, 'notes.jsonl'), `${s.secret} not json\n`);
    const bad = await run('ai', { chunksFile: 'notes.jsonl' });
    expectRefused(bad, /chunksFile line 1: not a JSON object/);
    await noLeaks();
  });

  it('refuses /dev/zero at once, a FIFO in the root without waiting on it, and a file past the byte cap', async () => {
    const started = Date.now();
    expectRefused(await run('document', { source: '/dev/zero' }), OUTSIDE);
    execFileSync('mkfifo', [path.join(s.root, 'pipe.txt')]);
    expectRefused(await run('document', { source: 'pipe.txt' }), /not a regular file/);
    expectRefused(await run('document', { source: s.root }), /not a regular file/);
    fs.writeFileSync(path.join(s.root, 'big.txt'), 'x'.repeat(300 * 1024));
    expectRefused(await run('document', { source: 'big.txt' }), /over the 262144-byte limit \(JOBVISOR_MAX_INPUT_BYTES\)/);
    expect(Date.now() - started).to.be.below(20_000);
    await noLeaks();
  });

  it('refuses folders outside the root for rag-sync, and does not list a symlink out of it', async () => {
    expectRefused(await run('rag-sync', { source: path.dirname(s.secretFile) }), OUTSIDE);
    fs.mkdirSync(path.join(s.root, 'library'));
    fs.writeFileSync(path.join(s.root, 'library', 'note.md'), '# Note\n\nThe tide turned.');
    fs.symlinkSync(s.secretFile, path.join(s.root, 'library', 'linked.md'));
    const sync = await run('rag-sync', { source: 'library' });
    expect(sync.state, JSON.stringify(sync.error)).to.equal('completed');
    expect(sync.result).to.deep.include({ fetched: 1, new: 1 });
    const flow = (sync.result as { flow: { id: string } }).flow;
    jobs.push(await s.h.settled('rag-sync', flow.id));
    await noLeaks();
  });

  it('gives ffprobe no option and no path: a source of -report is a missing file, and /etc/passwd is outside', async () => {
    const before = fs.readdirSync(process.cwd()).filter((f) => f.startsWith('ffreport'));
    expectRefused(await run('video', { source: '-report' }), /-report: no such file in the input roots/);
    expectRefused(await run('video', { source: '/etc/passwd' }), OUTSIDE);
    expect(fs.readdirSync(process.cwd()).filter((f) => f.startsWith('ffreport'))).to.deep.equal(before);
    await noLeaks();
  });

  it('still reads a file in the root, and names its output relative to the output folder', async () => {
    fs.writeFileSync(path.join(s.root, 'harbour.md'), '# Harbour\n\nThe boats came in at noon.');
    const job = await run('document', { source: 'harbour.md' });
    expect(job.state, JSON.stringify(job.error)).to.equal('completed');
    expect(job.result).to.deep.include({ title: 'Harbour', output: path.join('document', `${job.id}.jsonl`) });
    const shown = JSON.stringify(job);
    expect(shown).to.not.include(s.h.output);
    expect(shown).to.not.include(s.root);
    await noLeaks();
  });
});
