// Side data on Redis goes out in pipelines and MULTIs, which ioredis resolves even when one of
// their commands fails. Each such write must fail as a lone command would: here a key of the
// wrong type makes one command of the batch fail, and the call must reject, not resolve.
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { openRedisSideData, type SideData } from '../../../src/lib/store/side/index.js';
import type { JobView } from '../../../src/lib/store/index.js';
import { dropRedisPrefix, REDIS_URL, redisAnswers, requireService, uniqueName } from '../../helpers/services.js';

describe('side data on Redis: a failed command in a batch', () => {
  const prefix = uniqueName('side-errors');
  let side: SideData;
  let redis: Redis;

  before(async function () {
    await requireService(this, 'Redis', () => redisAnswers());
    side = openRedisSideData(REDIS_URL, prefix);
    redis = new Redis(REDIS_URL);
  });
  after(async () => {
    if (!redis) return;
    await dropRedisPrefix(prefix);
    redis.disconnect();
    await side.close();
  });

  /** A key the batch writes to, made a plain string so that the command on it fails with WRONGTYPE. */
  const spoil = (...parts: string[]) => redis.set([prefix, 'jv', ...parts].join(':'), 'not a set');

  it('rejects an archive whose record write failed', async () => {
    await spoil('cancelled', 'ai');
    const view = { id: 'j1', queue: 'ai', state: 'cancelled' } as JobView;
    const error = await side.cancellations.archive(view, { count: 10, ageSeconds: 3600 }).then(() => undefined, (e: Error) => e);
    expect(error?.message).to.match(/WRONGTYPE/);
  });

  it('rejects a registry removal whose claims write failed', async () => {
    await spoil('claims-of', 'host-x');
    const error = await side.registry.remove('host-x:123:ai').then(() => undefined, (e: Error) => e);
    expect(error?.message).to.match(/WRONGTYPE/);
  });

  it('rejects a schedule removal whose second write failed', async () => {
    await spoil('schedule-runs');
    const error = await side.scheduleRuns.remove('nightly').then(() => undefined, (e: Error) => e);
    expect(error?.message).to.match(/WRONGTYPE/);
  });
});
