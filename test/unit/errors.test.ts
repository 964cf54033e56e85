import { expect } from 'chai';
import { coerceError, isUnrecoverable, JobCancelledError, UnrecoverableError } from '../../src/lib/errors.js';

describe('errors', () => {
  it('coerces anything thrown into an Error with a useful message', () => {
    expect(coerceError(new TypeError('t')).message).to.equal('t');
    expect(coerceError('plain string').message).to.equal('plain string');
    expect(coerceError({ code: 7 }).message).to.equal('non-error thrown: {"code":7}');
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    expect(coerceError(circular).message).to.match(/non-error thrown/);
    expect(coerceError(undefined)).to.be.instanceOf(Error);
  });

  it('tells unrecoverable errors by type or by name, and a cancel is not one by itself', () => {
    expect(isUnrecoverable(new UnrecoverableError('x'))).to.equal(true);
    const foreign = new Error('from another copy of the library');
    foreign.name = 'UnrecoverableError';
    expect(isUnrecoverable(foreign)).to.equal(true);
    expect(isUnrecoverable(new JobCancelledError())).to.equal(false);
    expect(isUnrecoverable(new Error('plain'))).to.equal(false);
  });
});
