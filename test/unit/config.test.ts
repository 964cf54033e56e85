import { expect } from 'chai';
import { ConfigError, loadConfig } from '../../src/lib/config.js';

describe('config', () => {
  it('defaults to the embedded mode with the catalog settings', () => {
    const config = loadConfig({});
    expect(config.mode).to.equal('embedded');
    expect(config.embeddedPgPort).to.equal(54329);
    expect(config.queues.video).to.include({ concurrency: 2, maxJobs: 0, targetWaitMs: 60_000 });
    expect(config.queues.video.processes).to.deep.equal({ min: 1, max: 1 });
    expect(config.queues['rag-sync'].concurrency).to.equal(1);
    expect(config.workerQueues).to.include.members(['video', 'document', 'ai', 'rag-sync', 'maintenance']);
    expect(config.jobs).to.include({ attempts: 3, backoffMs: 2000, timeoutMs: 600_000 });
  });

  it('chooses Redis over PostgreSQL when both are set', () => {
    expect(loadConfig({ REDIS_URL: 'redis://h:6379', DATABASE_URL: 'postgres://u@h/db' }).mode).to.equal('redis');
    expect(loadConfig({ DATABASE_URL: 'postgres://u@h/db' }).mode).to.equal('postgres');
  });

  it('reads per-queue overrides with the upper-cased, underscored name', () => {
    const config = loadConfig({ QUEUE_RAG_SYNC_CONCURRENCY: '4', QUEUE_VIDEO_PROCESSES: '3', QUEUE_AI_MAX_MEMORY_MB: '900', WORKER_QUEUES: 'video, ai' });
    expect(config.queues['rag-sync'].concurrency).to.equal(4);
    expect(config.queues.video.processes).to.deep.equal({ min: 3, max: 3 });
    expect(config.queues.ai.maxMemoryMb).to.equal(900);
    expect(config.workerQueues).to.deep.equal(['video', 'ai']);
  });

  it('reads a process range to autoscale in, and the target wait per queue', () => {
    const config = loadConfig({ QUEUE_AI_PROCESSES: '1..4', QUEUE_VIDEO_PROCESSES: '2..2', QUEUE_DOCUMENT_PROCESSES: '0', QUEUE_AI_TARGET_WAIT_MS: '2500' });
    expect(config.queues.ai.processes).to.deep.equal({ min: 1, max: 4 });
    expect(config.queues.video.processes, 'a range of one is a fixed count').to.deep.equal({ min: 2, max: 2 });
    expect(config.queues.document.processes, 'a fixed 0 runs none here').to.deep.equal({ min: 0, max: 0 });
    expect([config.queues.ai.targetWaitMs, config.queues.document.targetWaitMs]).to.deep.equal([2500, 15_000]);
  });

  it('reads the hard memory factor per queue, over the global one, over 2', () => {
    expect(loadConfig({}).queues.ai.hardMemoryFactor).to.equal(2);
    const config = loadConfig({ WORKER_HARD_MEMORY_FACTOR: '1.5', QUEUE_VIDEO_HARD_MEMORY_FACTOR: '3' });
    expect([config.queues.ai.hardMemoryFactor, config.queues.video.hardMemoryFactor]).to.deep.equal([1.5, 3]);
  });

  it('splits key lists and ignores blanks; a bare user key is the default tenant\'s', () => {
    const config = loadConfig({ API_KEYS: 'a, b,,c', ADMIN_API_KEYS: '' });
    expect(config.apiKeys.map((k) => k.key)).to.deep.equal(['a', 'b', 'c']);
    expect(new Set(config.apiKeys.map((k) => k.tenant))).to.deep.equal(new Set(['default']));
    expect(config.adminApiKeys).to.deep.equal([]);
  });

  it('reads tenant:key entries, splitting at the first colon only', () => {
    const config = loadConfig({ API_KEYS: 'acme:key-a, globex:key:g,plain', ADMIN_API_KEYS: 'root:admin' });
    expect(config.apiKeys).to.deep.equal([{ tenant: 'acme', key: 'key-a' }, { tenant: 'globex', key: 'key:g' }, { tenant: 'default', key: 'plain' }]);
    expect(config.adminApiKeys, 'admin keys have no tenant').to.deep.equal(['root:admin']);
  });

  for (const [entries, reason] of [['a b:key', 'a tenant name with a space'], [':key', 'an empty tenant'], ['acme:', 'no key'], ['acme:k,globex:k', 'one key in two tenants']]) {
    it(`refuses API_KEYS with ${reason}, without echoing the key`, () => {
      expect(() => loadConfig({ API_KEYS: entries })).to.throw(ConfigError, /^API_KEYS: expected/).and.satisfy((e: Error) => !e.message.includes('key-'));
    });
  }

  it('reads the worker settings: an env deny list and an optional user', () => {
    expect(loadConfig({}).workerProcess).to.deep.equal({ envDeny: [] });
    expect(loadConfig({ JOBVISOR_WORKER_ENV_DENY: 'AWS_*, STRIPE_KEY', JOBVISOR_WORKER_USER: 'nobody' }).workerProcess)
      .to.deep.equal({ envDeny: ['AWS_*', 'STRIPE_KEY'], user: 'nobody' });
    expect(() => loadConfig({ JOBVISOR_WORKER_USER: 'no body' })).to.throw(ConfigError, /^JOBVISOR_WORKER_USER/);
  });

  for (const [variable, value] of [
    ['PORT', 'eighty'],
    ['QUEUE_VIDEO_CONCURRENCY', '0'],
    ['QUEUE_DOCUMENT_MAX_MEMORY_MB', '1.5'],
    ['QUEUE_AI_HARD_MEMORY_FACTOR', '0.5'],
    ['QUEUE_AI_PROCESSES', '0..4'],
    ['QUEUE_AI_PROCESSES', '4..2'],
    ['QUEUE_AI_PROCESSES', '1-4'],
    ['QUEUE_AI_TARGET_WAIT_MS', '0'],
    ['WORKER_HARD_MEMORY_FACTOR', 'twice'],
    ['WORKER_QUEUES', 'video,nope'],
    ['DATABASE_URL', 'mysql://x'],
    ['LOG_LEVEL', 'loud'],
    ['JOBVISOR_PREFIX', 'Has-Dash'],
  ] as const) {
    it(`stops with a message naming ${variable} when it is "${value}"`, () => {
      expect(() => loadConfig({ [variable]: value })).to.throw(ConfigError, new RegExp(`^${variable}: expected`));
    });
  }
});
