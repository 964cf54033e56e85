// The api's and the runner's pure parts, called with plain values.
import { expect } from 'chai';
import { apiJob, apiListedJob } from '../../src/api/job-shape.js';
import { missingQueues } from '../../src/api/stats.js';
import { isConnectionFailure } from '../../src/api/store-call.js';
import { ConfigError, loadConfig } from '../../src/lib/config.js';
import type { JobView } from '../../src/lib/store/index.js';
import { formatLine, logFormat } from '../../src/runner/log-lines.js';

const view: JobView = {
  id: '1', queue: 'video', name: 'n', state: 'failed', priority: 5, progress: 0, data: { a: 1 }, attempts: 3, maxAttempts: 3,
  backoff: { type: 'exponential', delayMs: 2000 }, timeoutMs: 1000, dedupKey: 'd', tenant: 'acme', projectId: null, result: null,
  error: { message: 'boom', stack: 'Error: boom\n    at handler (/srv/app.js:1:1)' },
  createdAt: '2026-01-01T00:00:00.000Z', runAt: '2026-01-01T00:00:00.000Z', startedAt: null, finishedAt: null,
  timeline: [{ at: '2026-01-01T00:00:00.000Z', event: 'created' }],
};

describe('api job shape', () => {
  it('shows the documented fields only, and a job error without its stack', () => {
    const job = apiJob(view);
    expect(Object.keys(job)).to.deep.equal(['id', 'queue', 'name', 'state', 'priority', 'progress', 'data', 'attempts', 'maxAttempts',
      'result', 'error', 'projectId', 'createdAt', 'runAt', 'startedAt', 'finishedAt', 'timeline']);
    expect(job.error).to.deep.equal({ message: 'boom' });
  });

  it('shows the tenant to admin keys only', () => {
    expect(apiJob(view)).to.not.have.property('tenant');
    expect(apiJob(view, true)).to.include({ tenant: 'acme' });
    expect(apiListedJob(view, true)).to.include({ tenant: 'acme' });
  });

  it('lists a job without data and timeline', () => {
    expect(apiListedJob(view)).to.not.have.any.keys('data', 'timeline');
  });
});

describe('api settings', () => {
  it('reads API_BODY_LIMIT as bytes, and refuses a size it cannot read', () => {
    expect(loadConfig({}).api).to.deep.equal({ bodyLimitBytes: 1024 * 1024, enqueueRateLimit: 600, storeTimeoutMs: 5000, maxJsonDepth: 32, authFailureLimit: 20, bulkMax: 1000 });
    expect(loadConfig({ API_BODY_LIMIT: '512kb' }).api.bodyLimitBytes).to.equal(512 * 1024);
    expect(loadConfig({ API_BODY_LIMIT: '2048' }).api.bodyLimitBytes).to.equal(2048);
    expect(() => loadConfig({ API_BODY_LIMIT: '1 GB' })).to.throw(ConfigError, /API_BODY_LIMIT/);
    expect(() => loadConfig({ ENQUEUE_RATE_LIMIT: '-1' })).to.throw(ConfigError, /ENQUEUE_RATE_LIMIT/);
  });
});

describe('store failures the api treats as "unavailable"', () => {
  it('recognises refused and lost connections, and nothing else', () => {
    expect(isConnectionFailure(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }))).to.equal(true);
    expect(isConnectionFailure(Object.assign(new Error('x'), { name: 'MaxRetriesPerRequestError' }))).to.equal(true);
    expect(isConnectionFailure(new Error('Connection is closed.'))).to.equal(true);
    expect(isConnectionFailure(new TypeError('cannot read properties of undefined'))).to.equal(false);
    expect(isConnectionFailure('ECONNREFUSED')).to.equal(false);
  });
});

describe('runner log lines', () => {
  const line = JSON.stringify({ level: 40, time: Date.UTC(2026, 0, 1, 12, 30, 5, 7), pid: 1, role: 'api', msg: 'slow', queue: 'video', req: { id: 'r' } });

  it('shows pino JSON as a short line under the child name in development', () => {
    expect(formatLine('api', line, 'pretty')).to.equal('12:30:05.007 WARN  [api] slow  queue=video');
    expect(formatLine('worker:ai', 'plain text', 'pretty')).to.equal('[worker:ai] plain text');
  });

  it('passes JSON through whole in production, prefixing only what is not JSON', () => {
    expect(formatLine('api', line, 'json')).to.equal(line);
    expect(formatLine('api', 'Error: boom', 'json')).to.equal('[api] Error: boom');
    expect(logFormat({ NODE_ENV: 'production' })).to.equal('json');
    expect(logFormat({})).to.equal('pretty');
    expect(logFormat({ NODE_ENV: 'production', JOBVISOR_LOG_FORMAT: 'pretty' })).to.equal('pretty');
  });
});

describe('readiness: queues missing a live worker', () => {
  it('reports a queue never seen live, and one silent past the grace, but not one seen a moment ago', () => {
    const lastLive = new Map<string, number>();
    expect(missingQueues(['video', 'ai'], new Set(['video']), lastLive, 10_000, 3000)).to.deep.equal(['ai']);
    // The store restarted and lost the registry: video was live 1 s ago, so it is not missing yet.
    expect(missingQueues(['video', 'ai'], new Set(), lastLive, 11_000, 3000)).to.deep.equal(['ai']);
    expect(missingQueues(['video', 'ai'], new Set(), lastLive, 13_500, 3000)).to.deep.equal(['video', 'ai']);
    expect(missingQueues(['video', 'ai'], new Set(['video', 'ai']), lastLive, 14_000, 3000)).to.deep.equal([]);
  });
});
