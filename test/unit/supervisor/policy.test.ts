import { expect } from 'chai';
import {
  DEFAULT_POLICY as P, NO_CRASHES, backoffDelay, isCrashLooping, isHealthy, largest, livenessFailure, maxOldSpaceMb,
  overBudgetStreak, overHardCeiling, queueToHold, recordCrash, recycleReason, underPressure,
} from '../../../src/supervisor/policy.js';
import { parseCgroup, parseMeminfo } from '../../../src/supervisor/memory.js';

const MB = 1024 * 1024;

describe('supervisor policy', () => {
  it('backs off 1 s × 2^n after crashes, capped at 60 s', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 7, 50].map((n) => backoffDelay(n, P))).to.deep.equal([1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000]);
  });

  it('recycles on memory only after 3 heartbeats over budget in a row', () => {
    let streak = 0;
    const beats = [300, 600, 600, 100, 600, 600, 600];
    const reasons = beats.map((rss) => {
      streak = overBudgetStreak(streak, rss * MB, 512 * MB);
      return recycleReason({ overBudgetStreak: streak, started: 0, zombies: 0 }, 0, P);
    });
    expect(reasons).to.deep.equal([undefined, undefined, undefined, undefined, undefined, undefined, 'memory']);
  });

  it('recycles on max jobs when set, and never when 0', () => {
    expect(recycleReason({ overBudgetStreak: 0, started: 198, zombies: 0 }, 200, P)).to.equal(undefined);
    expect(recycleReason({ overBudgetStreak: 0, started: 199, zombies: 0 }, 200, P)).to.equal('max_jobs');
    expect(recycleReason({ overBudgetStreak: 0, started: 1e9, zombies: 0 }, 0, P)).to.equal(undefined);
  });

  it('recycles a worker holding a zombie handler, before anything else', () => {
    expect(recycleReason({ overBudgetStreak: 5, started: 500, zombies: 1 }, 200, P)).to.equal('timeout');
  });

  it('declares a worker dead after the heartbeat timeout, or when it never becomes ready', () => {
    const policy = { heartbeatTimeoutMs: 30_000, startTimeoutMs: 60_000 };
    expect(livenessFailure({ ready: true, forkedAt: 0, lastHeartbeatAt: 10_000 }, 40_000, policy)).to.equal(false);
    expect(livenessFailure({ ready: true, forkedAt: 0, lastHeartbeatAt: 10_000 }, 40_001, policy)).to.equal(true);
    expect(livenessFailure({ ready: false, forkedAt: 0 }, 59_000, policy)).to.equal(false);
    expect(livenessFailure({ ready: false, forkedAt: 0 }, 60_001, policy)).to.equal(true);
    expect(livenessFailure({ ready: false, forkedAt: 0, lastHeartbeatAt: 59_000 }, 60_001, policy), 'beating but never fetching').to.equal(true);
    expect(livenessFailure({ ready: true, forkedAt: 0 }, 60_001, policy), 'ready but never beating').to.equal(true);
  });

  it('records a crash: the delay before the restart, then one more crash counted inside the window', () => {
    const min = 60_000;
    let history = NO_CRASHES;
    const delays: number[] = [];
    for (const at of [0, min, 2 * min, 6 * min]) {
      const next = recordCrash(history, at, P);
      delays.push(next.delayMs);
      history = next.history;
    }
    expect(delays).to.deep.equal([1000, 2000, 4000, 8000]);
    expect(history).to.deep.equal({ sinceHealthy: 4, times: [2 * min, 6 * min], lastAt: 6 * min }); // the first two left the window
  });

  it('kills past the hard ceiling, factor × budget', () => {
    expect(overHardCeiling(1024 * MB, 512 * MB, 2)).to.equal(false);
    expect(overHardCeiling(1024 * MB + 1, 512 * MB, 2)).to.equal(true);
    expect(overHardCeiling(700 * MB, 512 * MB, 1.5)).to.equal(false);
    expect(overHardCeiling(800 * MB, 512 * MB, 1.5)).to.equal(true);
  });

  it('marks a queue crash-looping at 5 crashes within 5 minutes', () => {
    const min = 60_000;
    expect(isCrashLooping([0, min, 2 * min, 3 * min], 4 * min, P)).to.equal(false);
    expect(isCrashLooping([0, min, 2 * min, 3 * min, 4 * min], 4 * min, P)).to.equal(true);
    expect(isCrashLooping([0, min, 2 * min, 3 * min, 4 * min], 5 * min, P)).to.equal(false); // the first left the window
  });

  it('counts a queue healthy once a worker started after the last crash has run 60 s', () => {
    expect(isHealthy(1000, 2000, 100_000, 60_000)).to.equal(false); // started before the last crash
    expect(isHealthy(3000, 2000, 62_000, 60_000)).to.equal(false);
    expect(isHealthy(3000, 2000, 63_000, 60_000)).to.equal(true);
    expect(isHealthy(0, undefined, 60_000, 60_000)).to.equal(true);
  });

  it('sees memory pressure under the available threshold, picks the largest worker and the lowest-priority queue', () => {
    expect(underPressure({ totalBytes: 1000, availableBytes: 99 }, 0.1)).to.equal(true);
    expect(underPressure({ totalBytes: 1000, availableBytes: 100 }, 0.1)).to.equal(false);
    expect(largest([{ rss: 5, id: 'a' }, { rss: 9, id: 'b' }, { rss: 7, id: 'c' }])?.id).to.equal('b');
    expect(queueToHold([{ name: 'ai', rank: 1 }, { name: 'maintenance', rank: 9 }, { name: 'video', rank: 2 }])).to.equal('maintenance');
  });

  it('sets the V8 heap limit above the RSS budget', () => {
    expect(maxOldSpaceMb(512)).to.equal(768);
    expect(maxOldSpaceMb(32)).to.equal(64);
  });
});

describe('host memory', () => {
  it('reads a cgroup v2 limit, counting inactive page cache as available', () => {
    expect(parseCgroup('1073741824\n', '805306368\n', 'anon 1\ninactive_file 104857600\nactive_file 5\n'))
      .to.deep.equal({ totalBytes: 1073741824, availableBytes: 1073741824 - 805306368 + 104857600 });
  });

  it('falls back to /proc/meminfo when the cgroup has no limit', () => {
    expect(parseCgroup('max\n', '123\n')).to.equal(undefined);
    const meminfo = 'MemTotal:       24576000 kB\nMemFree:         1000000 kB\nMemAvailable:    2457600 kB\n';
    expect(parseMeminfo(meminfo)).to.deep.equal({ totalBytes: 24576000 * 1024, availableBytes: 2457600 * 1024 });
  });
});
