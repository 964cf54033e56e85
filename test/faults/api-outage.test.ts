// Enqueues through a real api process while its Redis is down for a few seconds. Without a key,
// a 503 that says the job was not created must be true; with an Idempotency-Key retried until
// it is answered, every key ends with exactly one job (README, What happens when…).
import { expect } from 'chai';
import { waitFor } from '../helpers/wait.js';
import { killApi, startApi, type RunningApi } from '../helpers/api.js';
import { useFaults } from './harness.js';

const BODY = { queue: 'video', data: { source: 'in.mp4' } };

interface Answer { status: number; body: { id?: string; error?: { details?: { id?: string; outcome?: string } } } }

async function post(base: string, key?: string): Promise<Answer> {
  try {
    const res = await fetch(`${base}/api/jobs`, {
      method: 'POST', body: JSON.stringify(BODY), signal: AbortSignal.timeout(10_000),
      headers: { 'content-type': 'application/json', ...(key ? { 'idempotency-key': key } : {}) },
    });
    return { status: res.status, body: await res.json() as Answer['body'] };
  } catch {
    return { status: 0, body: {} }; // no answer at all: a client retries it as it would a 503
  }
}

describe('faults: enqueue through the api during a Redis outage', function () {
  this.timeout(120_000);
  const t = useFaults('redis');
  let api: RunningApi | undefined;
  afterEach(() => killApi(api));

  it('a keyless 503 that says "not created" created nothing, and keys retried through the outage made no duplicate', async () => {
    api = startApi({ ...t.env, ENQUEUE_RATE_LIMIT: '0', API_STORE_TIMEOUT_MS: '1000', LOG_LEVEL: 'fatal' });
    const base = await api.base;
    const keyless: Answer[] = [];
    const keyed = new Map<string, { answers: number[]; id?: string }>();
    let outage = true;
    const keylessClient = (async () => {
      for (let i = 0; outage || i < 40; i++) {
        keyless.push(await post(base));
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
    const keyedLane = async (lane: number) => {
      for (let i = 0; outage || i < 10; i++) {
        const record = { answers: [] as number[], id: undefined as string | undefined };
        keyed.set(`k-${lane}-${i}`, record);
        for (let tries = 0; tries < 60 && !record.id; tries++) {
          const answer = await post(base, `k-${lane}-${i}`);
          record.answers.push(answer.status);
          if (answer.status === 202 || answer.status === 200) record.id = answer.body.id;
          else await new Promise((resolve) => setTimeout(resolve, 200));
        }
      }
    };
    const keyedClient = Promise.all([0, 1, 2, 3].map(keyedLane));
    // Traffic flowing before the outage: both kinds of client have had jobs accepted.
    await waitFor(() => keyless.some((a) => a.status === 202) && [...keyed.values()].some((r) => r.id), { timeoutMs: 10_000, message: 'enqueues accepted before the outage' });
    await t.server.stop();
    await new Promise((resolve) => setTimeout(resolve, 4000));
    await t.server.start();
    outage = false;
    await Promise.all([keylessClient, keyedClient]);

    const refused = keyless.filter((a) => a.status === 503);
    const retried = [...keyed.values()].filter((r) => r.answers.some((s) => s !== 202 && s !== 200));
    console.log(`      measured [redis]: during a 4 s outage, ${refused.length} of ${keyless.length} keyless enqueues answered 503; ${retried.length} of ${keyed.size} keyed ones were retried`);
    expect(refused.length, 'the outage was seen').to.be.above(0);
    expect(retried.length, 'keys were retried through the outage').to.be.above(0);
    expect([...keyed.values()].every((r) => r.id), 'every key got its job in the end').to.equal(true);

    const notCreated = refused.filter((a) => a.body.error?.details?.outcome === 'not_created');
    const created = await Promise.all(notCreated.map((a) => t.store.get('video', a.body.error!.details!.id!)));
    expect(created.filter(Boolean), 'a 503 that said "not created" created nothing').to.deep.equal([]);
    const unknown = refused.length - notCreated.length;
    const ids = new Set([...keyed.values()].map((r) => r.id));
    expect(ids.size, 'one job per key').to.equal(keyed.size);
    const accepted = keyless.filter((a) => a.status === 202).length;
    const waiting = (await t.store.counts('video')).waiting;
    // Keyless 503s of unknown outcome are the only jobs a client could not account for.
    expect(waiting - accepted - ids.size, `jobs beyond the accepted ones (${unknown} 503s of unknown outcome)`).to.be.within(0, unknown);
  });
});
