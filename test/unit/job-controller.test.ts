// The job's abort switch: the hook fires once with the first reason, and
// `aborted` answers without the signal.
import { expect } from 'chai';
import { JobController } from '../../src/lib/store/index.js';

describe('JobController', () => {
  it('calls its hook once, with the first reason, and keeps that reason on its signal', () => {
    const controller = new JobController();
    const seen: unknown[] = [];
    controller.onAbort = (reason) => seen.push(reason);
    expect(controller.aborted).to.equal(false);
    controller.abort('first');
    controller.abort('second');
    expect(seen).to.deep.equal(['first']);
    expect(controller.aborted).to.equal(true);
    expect(controller.signal.aborted).to.equal(true);
    expect(controller.signal.reason).to.equal('first');
  });

  it('aborts a signal already handed out, with a default reason when none is given', () => {
    const controller = new JobController();
    const { signal } = controller;
    let fired = 0;
    signal.addEventListener('abort', () => fired++);
    controller.abort();
    expect(fired).to.equal(1);
    expect(signal.reason).to.be.instanceOf(DOMException);
  });
});
