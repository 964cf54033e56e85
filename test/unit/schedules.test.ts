// Declared schedules and their environment overrides: pure functions, tested with values.
import { expect } from 'chai';
import { ConfigError } from '../../src/lib/config.js';
import { declaredSchedules, scheduleEnvName } from '../../src/queues/schedules.js';

describe('declared schedules', () => {
  it('declares rag-sync, news-fetch and cache-cleanup with their defaults', () => {
    const byName = Object.fromEntries(declaredSchedules({}).map((s) => [s.name, s]));
    expect(byName['rag-sync']).to.include({ queue: 'rag-sync', cron: '0 6 * * *', enabled: true });
    expect(byName['news-fetch'], 'news-fetch waits for feeds').to.include({ queue: 'rag-sync', cron: '0 */4 * * *', enabled: false });
    expect(byName['cache-cleanup']).to.include({ queue: 'maintenance', cron: '0 3 * * 0', enabled: true });
    expect(byName['cache-cleanup']!.payload).to.deep.equal({ maxAgeDays: 30 });
  });

  it('names each override variable after its schedule', () => {
    expect(['rag-sync', 'news-fetch', 'cache-cleanup'].map(scheduleEnvName))
      .to.deep.equal(['CRON_RAG_SYNC', 'CRON_NEWS_FETCH', 'CRON_CACHE_CLEANUP']);
  });

  it('takes a cron expression, "off", or a JSON object of fields from the environment', () => {
    const env = {
      CRON_RAG_SYNC: '30 5 * * *',
      CRON_NEWS_FETCH: 'off',
      CRON_CACHE_CLEANUP: '{"cron": "0 4 * * 6", "timezone": "Europe/Paris", "payload": {"maxAgeDays": 7}, "priority": 10}',
    };
    const byName = Object.fromEntries(declaredSchedules(env).map((s) => [s.name, s]));
    expect(byName['rag-sync']).to.include({ cron: '30 5 * * *', enabled: true });
    expect(byName['news-fetch']).to.include({ cron: '0 */4 * * *', enabled: false });
    expect(byName['cache-cleanup']).to.include({ cron: '0 4 * * 6', timezone: 'Europe/Paris', priority: 10 });
    expect(byName['cache-cleanup']!.payload).to.deep.equal({ maxAgeDays: 7 });
  });

  it('stops with the variable named when an override does not hold', () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ CRON_RAG_SYNC: '0 25 * * *' }, /^CRON_RAG_SYNC: cron: /],
      [{ CRON_NEWS_FETCH: 'every four hours' }, /^CRON_NEWS_FETCH: cron: /],
      [{ CRON_CACHE_CLEANUP: '{"timezone": "Mars/Olympus"}' }, /^CRON_CACHE_CLEANUP: timezone: /],
      [{ CRON_CACHE_CLEANUP: '{"cron": ' }, /^CRON_CACHE_CLEANUP: .*invalid JSON/],
      [{ CRON_CACHE_CLEANUP: '{"queue": "video"}' }, /^CRON_CACHE_CLEANUP: /],
      [{ CRON_RAG_SYNC: '{"priority": 0}' }, /^CRON_RAG_SYNC: priority: /],
    ];
    for (const [env, message] of cases) {
      expect(() => declaredSchedules(env), JSON.stringify(env)).to.throw(ConfigError, message);
    }
  });
});
