// What queue-stats says of hosts and orphaned jobs, from a registry listing: pure functions, called with records.
import { expect } from 'chai';
import { hostsOf, orphanedOf, unreachableHosts } from '../../src/api/hosts.js';
import type { ProcessRecord } from '../../src/lib/store/index.js';

function record(host: string, pid: number, fields: Partial<ProcessRecord> = {}): ProcessRecord {
  return { id: `${host}:${pid}:ai`, host, pid, queue: 'ai', state: 'running', rss: 1, heapUsed: 1, active: 0, processed: 0, failed: 0, startedAt: 0, lastSeen: 1_000, ...fields };
}

describe('api: hosts and orphaned jobs from the registry', () => {
  it('calls a host up while any worker beats, unreachable once all are silent, with its latest beat', () => {
    const listing = {
      live: [record('a', 1, { lastSeen: 5_000 }), record('b', 3, { lastSeen: 4_000 })],
      silent: [record('b', 2, { lastSeen: 2_000 }), record('c', 4, { lastSeen: 3_000 }), record('c', 5, { lastSeen: 3_500 })],
    };
    expect(hostsOf(listing)).to.deep.equal([
      { host: 'a', state: 'up', lastSeen: new Date(5_000).toISOString(), workers: 1, unreachableWorkers: 0 },
      { host: 'b', state: 'up', lastSeen: new Date(4_000).toISOString(), workers: 2, unreachableWorkers: 1 },
      { host: 'c', state: 'unreachable', lastSeen: new Date(3_500).toISOString(), workers: 2, unreachableWorkers: 2 },
    ]);
    expect(unreachableHosts(listing)).to.deep.equal(['c']);
    expect(hostsOf({ live: [], silent: [] })).to.deep.equal([]);
  });

  it('counts as orphaned the active jobs the silent workers held and no live worker accounts for', () => {
    const cut = { live: [record('a', 1, { active: 3 })], silent: [record('b', 2, { active: 8 })] };
    expect(orphanedOf('ai', 11, cut), 'a partition: B holds 8').to.equal(8);
    expect(orphanedOf('ai', 3, cut), 'the stalled check moved them to waiting').to.equal(0);
    expect(orphanedOf('ai', 7, cut), 'A took 4 of them back: they look orphaned until A beats again').to.equal(4);
    expect(orphanedOf('video', 5, cut), 'another queue').to.equal(0);
  });

  it('counts nothing orphaned when no worker is silent, though a live one took a job since its last beat', () => {
    expect(orphanedOf('ai', 4, { live: [record('a', 1, { active: 2 })], silent: [] })).to.equal(0);
  });
});
