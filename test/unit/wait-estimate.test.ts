// The estimated wait's arithmetic (README, "Estimated wait"), with numbers.
import { expect } from 'chai';
import { estimateWait, type WaitInputs } from '../../src/api/wait-estimate.js';

/** Index 0: jobs without a priority; then priorities 1 … 10. */
const waiting = (byPriority: Record<number, number>) => Array.from({ length: 11 }, (_, p) => byPriority[p] ?? 0);
const inputs = (over: Partial<WaitInputs> = {}): WaitInputs => ({ waiting: waiting({}), meanMs: 1000, capacity: 2, active: 0, ...over });

describe('estimateWait', () => {
  it('is null without a mean duration or without a live slot', () => {
    expect(estimateWait(inputs({ meanMs: null }), 5)).to.equal(null);
    expect(estimateWait(inputs({ capacity: 0 }), 5)).to.equal(null);
  });

  it('is 0 while a slot is free and nothing is ahead', () => {
    expect(estimateWait(inputs({ active: 1 }), 5)).to.equal(0);
  });

  it('counts jobs without a priority and those of its priority or higher, never lower ones', () => {
    const queue = inputs({ waiting: waiting({ 0: 1, 2: 2, 5: 3, 9: 50 }), capacity: 1 });
    expect(estimateWait(queue, 5)).to.equal(6000); // 6 ahead on one slot: it starts after the 6th
    expect(estimateWait(queue, 1)).to.equal(1000);
    expect(estimateWait(queue, 10)).to.equal(56_000);
  });

  it('shares the work among the slots and counts a waiting job once, not as ahead of itself', () => {
    const queue = inputs({ waiting: waiting({ 5: 10 }), capacity: 4, active: 4 });
    expect(estimateWait(queue, 5)).to.equal(Math.round((11 * 1000) / 4));
    expect(estimateWait(queue, 5, true)).to.equal(Math.round((10 * 1000) / 4));
  });
});
