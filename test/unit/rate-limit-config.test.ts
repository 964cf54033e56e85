import { expect } from 'chai';
import { ConfigError, loadConfig } from '../../src/lib/config.js';

describe('QUEUE_<NAME>_RATE_LIMIT', () => {
  it('reads "<max>/<ms>" into the queue\'s rate limit, and leaves other queues unlimited', () => {
    const config = loadConfig({ QUEUE_AI_RATE_LIMIT: '60/60000' });
    expect(config.queues.ai.rateLimit).to.deep.equal({ max: 60, durationMs: 60_000 });
    expect(config.queues.video.rateLimit).to.equal(undefined);
  });

  it('stops at start on a malformed value, naming the variable', () => {
    expect(() => loadConfig({ QUEUE_AI_RATE_LIMIT: 'fast' })).to.throw(ConfigError, /QUEUE_AI_RATE_LIMIT/);
    expect(() => loadConfig({ QUEUE_RAG_SYNC_RATE_LIMIT: '0/1000' })).to.throw(ConfigError, /QUEUE_RAG_SYNC_RATE_LIMIT/);
  });
});
