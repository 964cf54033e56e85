// What the api remembers of each supervisor's word on its queues, called with
// plain records and clock values.
import { expect } from 'chai';
import type { ProcessRecord } from '../../src/lib/store/index.js';
import { SupervisorMemory } from '../../src/api/supervisor-memory.js';
import { workersOf } from '../../src/api/stats.js';

let nextPid = 100;
function record(queue: string, fields: Partial<ProcessRecord> = {}): ProcessRecord {
  const pid = nextPid++;
  return {
    id: `h:${pid}:${queue}`, host: 'h', pid, queue, state: 'running', rss: 1, heapUsed: 1, active: 0, processed: 0, failed: 0, startedAt: 0, ...fields,
  };
}

const none = { memory: 0, max_jobs: 0, crash: 0, heartbeat: 0, pressure: 0, timeout: 0 };

describe('api: supervisor memory', () => {
  it('sums restarts over supervisors, once per supervisor however many workers repeat them', () => {
    const memory = new SupervisorMemory();
    memory.observe([
      record('ai', { supervisor: 'a:1', restarts: { crash: 2, memory: 1 } }),
      record('ai', { supervisor: 'a:1', restarts: { crash: 2, memory: 1 } }),
      record('ai', { supervisor: 'b:1', restarts: { crash: 1 } }),
      record('video', { supervisor: 'b:1', restarts: { timeout: 4 } }),
    ], 0);
    expect(memory.queue('ai')).to.deep.equal({ restarts: { ...none, crash: 3, memory: 1 }, crashLooping: false });
    expect(memory.queue('video').restarts.timeout).to.equal(4);
  });

  it('keeps a crash-looping queue marked while it has no worker, between two restarts', () => {
    const memory = new SupervisorMemory();
    memory.observe([record('ai', { supervisor: 'a:1', restarts: { crash: 5 }, crashLooping: true })], 0);
    memory.observe([], 60_000); // the backoff cap: no ai worker at all
    expect(memory.queue('ai')).to.deep.equal({ restarts: { ...none, crash: 5 }, crashLooping: true });
    memory.observe([record('ai', { supervisor: 'a:1', restarts: { crash: 5 }, crashLooping: false })], 70_000);
    expect(memory.queue('ai').crashLooping, 'cleared once the supervisor says so').to.equal(false);
  });

  it('keeps the counts while a new worker beats before its supervisor spoke to it', () => {
    const memory = new SupervisorMemory();
    memory.observe([record('ai', { supervisor: 'a:1', restarts: { max_jobs: 3 } })], 0);
    memory.observe([record('ai')], 1000);
    expect(memory.queue('ai').restarts.max_jobs).to.equal(3);
  });

  it('takes the highest count when one worker has heard a newer one than another', () => {
    const memory = new SupervisorMemory();
    memory.observe([record('ai', { supervisor: 'a:1', restarts: { crash: 1 } }), record('ai', { supervisor: 'a:1', restarts: { crash: 2 } })], 0);
    expect(memory.queue('ai').restarts.crash).to.equal(2);
  });

  it('forgets a supervisor none of whose workers has been seen for two minutes', () => {
    const memory = new SupervisorMemory();
    memory.observe([record('ai', { supervisor: 'a:1', restarts: { crash: 5 }, crashLooping: true })], 0);
    memory.observe([record('video', { supervisor: 'a:1', restarts: {} })], 100_000); // still alive through another queue
    memory.observe([], 200_000);
    expect(memory.queue('ai').crashLooping, 'alive 100 s ago').to.equal(true);
    memory.observe([], 230_000);
    expect(memory.queue('ai')).to.deep.equal({ restarts: none, crashLooping: false });
  });
});

describe('api: workers of a queue', () => {
  it('counts live workers, not draining ones, and says whether one is held', () => {
    const records = [record('ai'), record('ai', { state: 'draining' }), record('ai', { state: 'starting', held: true }), record('video')];
    expect(workersOf('ai', records)).to.deep.equal({ liveWorkers: 2, held: true });
    expect(workersOf('rag-sync', records)).to.deep.equal({ liveWorkers: 0, held: false });
  });
});
