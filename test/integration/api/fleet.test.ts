// The fleet page's routes and the fields queue-stats gained for it, over a real
// store: admin key with a Basic challenge, the script served apart (the CSP
// forbids inline script), budgets and ceilings from the configuration, held and
// crash-looping queues from the process registry, kept across a crash's gap.
import { expect } from 'chai';
import request from 'supertest';
import type { ProcessRecord } from '../../../src/lib/store/index.js';
import { openApi, redisBackend, type TestApi } from './harness.js';

const MIB = 1024 * 1024;

function record(queue: string, fields: Partial<ProcessRecord>): ProcessRecord {
  const pid = 5000 + Math.floor(Math.random() * 1000);
  return {
    id: `fleet-host:${pid}:${queue}`, host: 'fleet-host', pid, queue, state: 'running', rss: 120 * MIB, heapUsed: 30 * MIB,
    active: 0, processed: 3, failed: 0, startedAt: Date.now() - 10_000, ...fields,
  };
}

describe('HTTP API: the fleet page', function () {
  this.timeout(30_000);
  const backend = redisBackend();
  let api: TestApi;
  const admin = (req: request.Test) => req.auth('operator', 'admin-key');

  before(async function () {
    await backend.require(this);
    api = await openApi(backend, { API_KEYS: 'user-key', ADMIN_API_KEYS: 'admin-key', QUEUE_AI_MAX_MEMORY_MB: '300', QUEUE_AI_HARD_MEMORY_FACTOR: '1.5', WORKER_QUEUES: 'ai,maintenance' },
      { metricsCountsTtlMs: 1 });
  });
  after(async () => {
    await api?.store.close();
    await backend.cleanup();
  });

  it('asks a browser for the admin key, and serves the page and its script apart', async () => {
    const none = await request(api.app).get('/admin/fleet').expect(401);
    expect(none.headers['www-authenticate']).to.match(/^Basic/);
    await request(api.app).get('/admin/fleet').auth('someone', 'user-key').expect(403);
    await request(api.app).get('/admin/fleet/queue-stats').expect(401);

    const page = await admin(request(api.app).get('/admin/fleet')).expect(200).expect('content-type', /text\/html/);
    expect(page.text).to.include('<script src="fleet/fleet.js" defer></script>');
    expect(page.headers['content-security-policy']).to.include("script-src 'self'");
    const script = await admin(request(api.app).get('/admin/fleet/fleet.js')).expect(200).expect('content-type', /javascript/);
    expect(() => new Function(script.text), 'the script parses').to.not.throw();
    expect(script.text).to.include("base + '/queue-stats'");

    const slash = await admin(request(api.app).get('/admin/fleet/')).expect(301);
    expect(slash.headers.location).to.equal('../fleet');
  });

  it('answers queue-stats with budgets, held and crash-looping queues, and keeps a crash-looping mark across a gap', async () => {
    const looping = record('ai', { supervisor: 'fleet-host:1', restarts: { crash: 5 }, crashLooping: true });
    const held = record('maintenance', { supervisor: 'fleet-host:1', restarts: { pressure: 1 }, held: true });
    for (const r of [looping, held]) await api.store.heartbeat(r, 30_000);

    const { body } = await admin(request(api.app).get('/admin/fleet/queue-stats')).expect(200);
    expect(body.queues.ai).to.deep.include({
      crashLooping: true, held: false, liveWorkers: 1, memory: { budgetBytes: 300 * MIB, ceilingBytes: 450 * MIB },
    });
    expect(body.queues.ai.restarts.crash).to.equal(5);
    expect(body.queues.maintenance).to.deep.include({ crashLooping: false, held: true, liveWorkers: 1 });
    expect(body.queues.maintenance.restarts.pressure).to.equal(1);
    expect(body.workers.find((w: { pid: number }) => w.pid === held.pid)).to.include({ supervisor: 'fleet-host:1', held: true, queue: 'maintenance' });
    const same = await request(api.app).get('/api/jobs/queue-stats').set('X-API-Key', 'admin-key').expect(200);
    expect(Object.keys(same.body.queues.ai)).to.deep.equal(Object.keys(body.queues.ai));

    // The crashed worker is gone and its replacement waits out its backoff: the queue is still crash-looping.
    await api.store.removeProcess(looping.id);
    const gap = (await admin(request(api.app).get('/admin/fleet/queue-stats')).expect(200)).body;
    expect(gap.queues.ai).to.deep.include({ crashLooping: true, liveWorkers: 0 });
    expect(gap.queues.ai.restarts.crash).to.equal(5);
  });

  it('exports the same on /metrics: live workers of the expected queues, the crash-loop mark, memory against budget', async () => {
    const text = (await request(api.app).get('/metrics').expect(200)).text;
    expect(text).to.include('jobvisor_queue_crash_looping{queue="ai"} 1');
    expect(text).to.include('jobvisor_queue_live_workers{queue="ai"} 0');
    expect(text).to.include('jobvisor_queue_live_workers{queue="maintenance"} 1');
    expect(text, 'only the queues WORKER_QUEUES expects').to.not.include('jobvisor_queue_live_workers{queue="video"}');
    expect(text).to.include(`jobvisor_queue_memory_budget_bytes{queue="ai"} ${300 * MIB}`);
    expect(text).to.include(`jobvisor_queue_memory_ceiling_bytes{queue="ai"} ${450 * MIB}`);
    expect(text).to.include(`jobvisor_queue_worker_max_rss_bytes{queue="maintenance"} ${120 * MIB}`);
    expect(text).to.not.match(/^# TYPE \S+_total gauge$/m);
  });
});
