// The fence's bookkeeping, driven with plain times: a job is given up once its
// lock has gone unrenewed past the limit, and the cut-off state is reported
// once when it starts and once when it ends.
import { expect } from 'chai';
import { Fence } from '../../src/lib/store/fence.js';

const settings = { lockLostAfterMs: 1000, cutOffAfterMs: 1000 };

describe('Fence', () => {
  it('gives up a job whose lock has not been renewed for longer than the limit, once', () => {
    const fence = new Fence(settings, 0);
    fence.started('a', 0);
    fence.started('b', 600);
    fence.renewed(['a'], 500);
    expect(fence.check(1400).lost).to.deep.equal([]);
    expect(fence.check(1501).lost).to.deep.equal([{ id: 'a', sinceRenewalMs: 1001 }]);
    expect(fence.check(1550).lost, 'reported once').to.deep.equal([]);
    expect(fence.check(1601).lost).to.deep.equal([{ id: 'b', sinceRenewalMs: 1001 }]);
  });

  it('forgets a job that ended, and ignores renewals of jobs it does not track', () => {
    const fence = new Fence(settings, 0);
    fence.started('a', 0);
    fence.ended('a');
    fence.renewed(['x'], 10);
    expect(fence.check(5000).lost).to.deep.equal([]);
  });

  it('hands back a job whose renewal was refused, with how long since its last renewal', () => {
    const fence = new Fence(settings, 0);
    fence.started('a', 100);
    expect(fence.lose('a', 400)).to.deep.equal({ id: 'a', sinceRenewalMs: 300 });
    expect(fence.lose('a', 500)).to.equal(undefined);
    expect(fence.check(5000).lost).to.deep.equal([]);
  });

  it('reports the cut-off once when the store stays silent, and its end once when it answers', () => {
    const fence = new Fence(settings, 0);
    expect(fence.quiet(400)).to.equal(false);
    expect(fence.quiet(501), 'a probe is due after half the cut-off time').to.equal(true);
    expect(fence.check(1000).change).to.equal(undefined);
    expect(fence.check(1001).change).to.deep.equal({ cutOff: true, sinceContactMs: 1001, aborted: 0 });
    expect(fence.cutOff).to.equal(true);
    expect(fence.check(3000).change, 'said once').to.equal(undefined);
    fence.contact(3500);
    expect(fence.check(3600).change).to.deep.equal({ cutOff: false, cutOffForMs: 3500 });
    expect(fence.cutOff).to.equal(false);
    expect(fence.check(3700).change).to.equal(undefined);
  });

  it('counts a fetched job or a renewal as an answer from the store', () => {
    const fence = new Fence(settings, 0);
    fence.started('a', 900);
    fence.renewed(['a'], 1800);
    expect(fence.check(2000).change).to.equal(undefined);
    expect(fence.cutOff).to.equal(false);
  });

  it('counts the jobs given up since the store last answered, for the cut-off report', () => {
    const fence = new Fence({ lockLostAfterMs: 500, cutOffAfterMs: 1000 }, 0);
    fence.started('a', 0);
    fence.started('b', 0);
    fence.started('c', 0);
    fence.lose('c', 100);
    expect(fence.check(600).lost).to.have.length(2);
    expect(fence.check(1100).change).to.deep.equal({ cutOff: true, sinceContactMs: 1100, aborted: 3 });
  });
});
