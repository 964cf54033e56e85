import { expect } from 'chai';
import { newJobId } from '../../src/lib/store/job-id.js';
import { buildTimeline, cancelledView, stateOf, timelineLine, toView, userLogLines, type RawJob } from '../../src/lib/store/job-view.js';

const T0 = Date.parse('2026-01-01T00:00:00.000Z');

function raw(overrides: Partial<RawJob> = {}): RawJob {
  return {
    id: 'j1', name: 'probe', data: { a: 1 }, opts: { priority: 3, attempts: 3, backoff: { type: 'exponential', delay: 2000 } },
    progress: 0, attemptsStarted: 0, attemptsMade: 0, returnvalue: null, timestamp: T0, ...overrides,
  };
}

describe('job view', () => {
  it('folds BullMQ states into jobvisor states, failed-with-cancel as cancelled', () => {
    expect(stateOf('prioritized', false)).to.equal('waiting');
    expect(stateOf('waiting-children', false)).to.equal('waiting');
    expect(stateOf('delayed', false)).to.equal('delayed');
    expect(stateOf('failed', false)).to.equal('failed');
    expect(stateOf('failed', true)).to.equal('cancelled');
  });

  it('derives created, delayed, active and completed from the job fields', () => {
    const job = raw({ opts: { delay: 5000 }, processedOn: T0 + 5000, finishedOn: T0 + 6000 });
    expect(buildTimeline(job, 'completed', [])).to.deep.equal([
      { at: '2026-01-01T00:00:00.000Z', event: 'created' },
      { at: '2026-01-01T00:00:00.000Z', event: 'delayed', detail: 'until 2026-01-01T00:00:05.000Z' },
      { at: '2026-01-01T00:00:05.000Z', event: 'active' },
      { at: '2026-01-01T00:00:06.000Z', event: 'completed' },
    ]);
  });

  it('merges logged retries in time order without repeating the last start', () => {
    const logs = [
      timelineLine('active', T0 + 10),
      timelineLine('retrying', T0 + 20, 'boom'),
      'a user log line',
      timelineLine('active', T0 + 2020),
    ];
    const job = raw({ processedOn: T0 + 2020, finishedOn: T0 + 2030, failedReason: 'boom again' });
    const events = buildTimeline(job, 'failed', logs).map((e) => `${e.event}${e.detail ? `:${e.detail}` : ''}`);
    expect(events).to.deep.equal(['created', 'active', 'retrying:boom', 'active', 'failed:boom again']);
    expect(userLogLines(logs)).to.deep.equal(['a user log line']);
  });

  it('shows the job in the documented shape, with attempts counting starts', () => {
    const view = toView('video', raw({ attemptsStarted: 2, attemptsMade: 1, processedOn: T0 + 1, finishedOn: T0 + 2, returnvalue: { ok: true } }), 'completed', [], 600_000);
    expect(view).to.include({ id: 'j1', queue: 'video', state: 'completed', priority: 3, attempts: 2, maxAttempts: 3, timeoutMs: 600_000, dedupKey: null });
    expect(view.result).to.deep.equal({ ok: true });
    expect(view.backoff).to.deep.equal({ type: 'exponential', delayMs: 2000 });
    expect(view.createdAt).to.equal('2026-01-01T00:00:00.000Z');
    expect(view.error).to.equal(null);
  });

  it('keeps a failed job’s error with its last stack frame set, and no result', () => {
    const view = toView('ai', raw({ failedReason: 'nope', stacktrace: ['first', 'last'], finishedOn: T0 + 5, returnvalue: 'x' }), 'failed', [], 1000);
    expect(view.error).to.deep.equal({ message: 'nope', stack: 'last' });
    expect(view.result).to.equal(null);
  });

  it('turns a view into its cancelled form with one cancelled entry at the end', () => {
    const view = toView('ai', raw({ processedOn: T0 + 1, finishedOn: T0 + 2, failedReason: 'job cancelled' }), 'failed', [], 1000);
    const cancelled = cancelledView(view, T0 + 3);
    expect(cancelled.state).to.equal('cancelled');
    expect(cancelled.timeline.map((e) => e.event)).to.deep.equal(['created', 'active', 'cancelled']);
    expect(cancelled.finishedAt).to.equal('2026-01-01T00:00:00.003Z');
  });

  it('skips a damaged timeline line instead of failing the view', () => {
    const events = buildTimeline(raw(), 'waiting', ['{"tl":1, broken', timelineLine('progress', T0 + 1, '50')]).map((e) => e.event);
    expect(events).to.deep.equal(['created', 'progress']);
  });
});

describe('job ids', () => {
  it('are UUIDv7 strings that sort in creation order, even within one millisecond', () => {
    const ids = Array.from({ length: 50 }, () => newJobId(T0 + 10_000_000));
    expect(ids.every((id) => /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(id))).to.equal(true);
    expect([...ids].sort()).to.deep.equal(ids);
    expect(new Set(ids).size).to.equal(50);
  });
});
