// The typed client (src/client, `jobvisor/client`) against a real api on a real socket,
// over Redis, with an in-process consumer standing in for the workers.
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { JobvisorClient, JobvisorError, verifyWebhook } from '../../src/client/index.js';
import type { Consumer, JobProcessor } from '../../src/lib/store/index.js';
import { signWebhook } from '../../src/lib/webhook-signature.js';
import { ROOT } from '../helpers/fork.js';
import { waitFor } from '../helpers/wait.js';
import { openApi, redisBackend, type TestApi } from './api/harness.js';

/** Completes a job with its format, fails a pdf one for good. */
const processor: JobProcessor = async (job) => {
  await job.progress(50);
  const format = (job.data as { format?: string }).format;
  return format === 'pdf' ? { kind: 'failed', error: new Error('no pdf today') } : { kind: 'completed', result: { format } };
};

describe('jobvisor/client against a real api [redis]', function () {
  this.timeout(60_000);
  const backend = redisBackend();
  let api: TestApi;
  let server: http.Server;
  let client: JobvisorClient;
  let admin: JobvisorClient;
  let consumer: Consumer;

  before(async function () {
    await backend.require(this);
    api = await openApi(backend, { API_KEYS: 'user-key', ADMIN_API_KEYS: 'admin-key' });
    server = http.createServer(api.app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    client = new JobvisorClient({ baseUrl, apiKey: 'user-key', pollMs: 50 });
    admin = new JobvisorClient({ baseUrl, apiKey: 'admin-key' });
    consumer = api.store.consume('document', processor, { concurrency: 2 });
  });
  after(async () => {
    await consumer?.close();
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    await api?.store.close();
    await backend.cleanup();
  });

  it('enqueues typed data and waits for the job over its event stream', async () => {
    const enqueued = await client.enqueue('document', { source: 'https://example.com/a.html', format: 'html' }, { projectId: 'c1' });
    const job = await client.waitFor('document', enqueued.id, { timeoutMs: 20_000 });
    expect(job).to.include({ state: 'completed' });
    expect(job.result).to.deep.equal({ format: 'html' });
    const page = await client.list({ projectId: 'c1', state: 'completed' });
    expect(page.jobs.map((j) => j.id)).to.deep.equal([enqueued.id]);
    expect(page.nextCursor).to.equal(null);
  });

  it('follows a job with events() from its snapshot to its end', async () => {
    await consumer.drain();
    const { id } = await client.enqueue('document', { source: 'https://example.com/b.html', format: 'html' });
    const seen: string[] = [];
    const following = (async () => {
      for await (const event of client.events({ queue: 'document', id })) seen.push(event.type);
    })();
    await waitFor(() => seen.length > 0, { message: 'the snapshot' });
    consumer = api.store.consume('document', processor, { concurrency: 1 });
    await following;
    expect(seen[0]).to.equal('snapshot');
    expect(seen.at(-1)).to.equal('end');
    expect(seen).to.include('active');
  });

  it('retries a failed job and cancels a delayed one; refusals are JobvisorErrors with the api code', async () => {
    const failed = await client.enqueue('document', { source: 'https://example.com/c.pdf', format: 'pdf' });
    expect((await client.waitFor('document', failed.id, { timeoutMs: 20_000 })).state).to.equal('failed');
    expect((await client.retry('document', failed.id)).state).to.be.oneOf(['waiting', 'active']); // the consumer may take it at once
    const later = await client.enqueue('document', { source: 'https://example.com/d.html', format: 'html' }, { delay: 60_000 });
    expect((await client.cancel('document', later.id)).state).to.equal('cancelled');
    const refused = await client.get('document', 'no-such-job').catch((error: unknown) => error);
    expect(refused).to.be.instanceOf(JobvisorError).and.to.include({ status: 404, code: 'job_not_found' });
  });

  it('redrives failed jobs with an admin key, in a dry run here, and is refused with a user key', async () => {
    const failed = await client.enqueue('document', { source: 'https://example.com/f.pdf', format: 'pdf' }, { projectId: 'redrive' });
    expect((await client.waitFor('document', failed.id, { timeoutMs: 20_000 })).state).to.equal('failed');
    const result = await admin.redrive('document', { projectId: 'redrive', dryRun: true });
    expect(result).to.deep.equal({ count: 1, dryRun: true, ids: [failed.id], truncated: false });
    const refused = await client.redrive('document', { dryRun: true }).catch((error: unknown) => error);
    expect(refused).to.be.instanceOf(JobvisorError).and.to.include({ status: 403 });
  });

  it('gives up waiting at its timeout', async () => {
    const { id } = await client.enqueue('document', { source: 'https://example.com/e.html', format: 'html' }, { delay: 60_000 });
    const error = await client.waitFor('document', id, { timeoutMs: 300 }).catch((e: Error) => e);
    expect((error as Error).name).to.equal('TimeoutError');
  });

  it('verifies a webhook signed with the secret, and refuses a changed body or another secret', () => {
    const body = JSON.stringify({ id: 'x', state: 'completed' });
    const headers = { 'jobvisor-signature': signWebhook('s3cret', body) };
    expect(verifyWebhook({ headers, body }, 's3cret')).to.equal(true);
    expect(verifyWebhook({ headers: new Headers(headers), body }, 's3cret')).to.equal(true);
    expect(verifyWebhook({ headers, body: body.replace('completed', 'failed') }, 's3cret')).to.equal(false);
    expect(verifyWebhook({ headers, body }, 'other')).to.equal(false);
    const old = { 'jobvisor-signature': signWebhook('s3cret', body, Math.floor(Date.now() / 1000) - 3600) };
    expect(verifyWebhook({ headers: old, body }, 's3cret')).to.equal(false);
  });

  it('is built where package.json exports it, with its types', () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'jvclient-'));
    execFileSync(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', path.join(ROOT, 'tsconfig.client.json'), '--outDir', path.join(out, 'dist')]);
    const exported = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).exports['./client'];
    expect(fs.existsSync(path.join(out, exported.default))).to.equal(true);
    expect(fs.readFileSync(path.join(out, exported.types), 'utf8')).to.include('class JobvisorClient');
    const built = require(path.join(out, exported.default)) as { JobvisorClient: unknown };
    expect(built.JobvisorClient).to.be.a('function');
    fs.rmSync(out, { recursive: true, force: true });
  });
});
