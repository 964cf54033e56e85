// What a worker is forked with (src/supervisor/worker-env.ts), with plain values.
import { expect } from 'chai';
import { withheld, workerEnv } from '../../src/supervisor/worker-env.js';

describe('worker environment', () => {
  const env = {
    API_KEYS: 'acme:a', ADMIN_API_KEYS: 'b', OPENAI_API_KEY: 'sk', GITHUB_WEBHOOK_SECRET: 'w', WEBHOOK_URL: 'https://hooks.example',
    REDIS_URL: 'redis://x', DATABASE_URL: 'postgres://u:p@h/db', JOBVISOR_OUTPUT_DIR: '/out', QUEUE_AI_CONCURRENCY: '2',
    STRIPE_KEY: 's', STRIPE_ACCOUNT: 'acct', PATH: '/usr/bin',
  };

  it('keeps what handlers need and drops the api keys and webhook secrets', () => {
    expect(Object.keys(workerEnv(env, 'document', []))).to.have.members([
      'WEBHOOK_URL', 'REDIS_URL', 'DATABASE_URL', 'JOBVISOR_OUTPUT_DIR', 'QUEUE_AI_CONCURRENCY', 'STRIPE_KEY', 'STRIPE_ACCOUNT', 'PATH']);
  });

  it('gives a queue\'s declared secret to that queue alone', () => {
    expect(withheld('OPENAI_API_KEY', 'document', [])).to.equal(true);
    expect(withheld('OPENAI_API_KEY', 'ai', [])).to.equal(false);
    expect(withheld('OPENAI_API_KEY', 'some-user-queue', [])).to.equal(true);
  });

  it('drops what the operator denies, by name or by prefix ending in *, over everything', () => {
    const kept = Object.keys(workerEnv(env, 'ai', ['STRIPE_*', 'OPENAI_API_KEY', 'PATH_']));
    expect(kept).to.not.include.any.members(['STRIPE_KEY', 'STRIPE_ACCOUNT', 'OPENAI_API_KEY']);
    expect(kept, 'a name without * is exact').to.include('PATH');
  });
});
