// The supervisor's scrape: every worker's counters, plus the totals of retired ones, each worker once.
import { expect } from 'chai';
import { Counter, Registry } from 'prom-client';
import { loop } from './harness.js';

/** A worker's registry as JSON, as it answers a metrics request: one counter at `value`. */
async function workerMetrics(value: number): Promise<unknown[]> {
  const registry = new Registry();
  new Counter({ name: 'jobvisor_jobs_completed_total', help: 'completed', labelNames: ['queue'], registers: [registry] }).inc({ queue: 'ai' }, value);
  return registry.getMetricsAsJSON();
}

const completed = (body: string) => Number(/^jobvisor_jobs_completed_total\{queue="ai"\} (\d+)$/m.exec(body)?.[1]);

describe('supervisor loop: metrics', () => {
  it('counts a worker once when it exits between its answer and the retired totals', async () => {
    const t = loop({ QUEUE_AI_PROCESSES: '2' });
    t.tick();
    const [a, b] = t.started;
    for (const worker of [a!, b!]) {
      worker.ready();
      worker.beat();
    }
    t.tick();
    const scrape = t.supervisor.metricsExposition(1000);
    for (const [worker, value] of [[a!, 7], [b!, 5]] as const) {
      const request = worker.last('metrics')!;
      worker.emit('message', { type: 'metrics', requestId: request.requestId, metrics: await workerMetrics(value) });
    }
    // `a` answered, then exits and is reaped before the scrape reads the retired totals.
    a!.exit(1);
    t.tick();
    const { body } = await scrape;
    expect(completed(body), body).to.equal(12);
    const next = await Promise.all([t.supervisor.metricsExposition(50), (async () => {
      await new Promise((resolve) => setImmediate(resolve));
      const request = b!.last('metrics')!;
      b!.emit('message', { type: 'metrics', requestId: request.requestId, metrics: await workerMetrics(6) });
    })()]);
    expect(completed(next[0].body), 'the retired worker stays counted, the live one at its latest').to.equal(13);
  });
});
