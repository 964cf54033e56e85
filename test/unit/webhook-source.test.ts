// Whether a webhook delivery is posted, waits, or is dropped, judged from the store's view
// of the job it reports (src/queues/webhooks/source.ts): the outbox's other half.
import { expect } from 'chai';
import type { JobState, JobView } from '../../src/lib/store/index.js';
import { judgeSource } from '../../src/queues/webhooks/source.js';
import type { WebhookJob } from '../../src/queues/webhooks/schema.js';

const STARTED = '2026-01-01T00:00:00.000Z';
const LATER = '2026-01-01T00:01:00.000Z';

function delivery(state: WebhookJob['payload']['state'], startedAt: string | null = STARTED): WebhookJob {
  return { url: 'https://example.com/hook', payload: { id: '7', queue: 'document', state, attempts: 1, finishedAt: LATER }, source: { startedAt } };
}

function view(state: JobState, startedAt: string | null = STARTED): JobView {
  return { id: '7', queue: 'document', state, startedAt } as JobView;
}

describe('webhook delivery source check', () => {
  it('delivers an end the store shows, for the attempt that ended it', () => {
    expect(judgeSource(delivery('completed'), view('completed'))).to.deep.equal({ kind: 'deliver' });
    expect(judgeSource(delivery('failed'), view('failed'))).to.deep.equal({ kind: 'deliver' });
    expect(judgeSource(delivery('cancelled'), view('cancelled'))).to.deep.equal({ kind: 'deliver' });
    expect(judgeSource(delivery('cancelled', null), view('cancelled', null)), 'cancelled before it ran').to.deep.equal({ kind: 'deliver' });
  });

  it('waits while the attempt that ended the job is still active: its record has not landed', () => {
    expect(judgeSource(delivery('completed'), view('active'))).to.deep.equal({ kind: 'wait' });
    expect(judgeSource(delivery('cancelled'), view('active'))).to.deep.equal({ kind: 'wait' });
  });

  it('drops an end that was never recorded: the job went back to waiting, or another attempt runs or ended it', () => {
    for (const [state, startedAt] of [['waiting', STARTED], ['delayed', STARTED], ['active', LATER], ['completed', LATER], ['failed', STARTED]] as const) {
      const verdict = judgeSource(delivery('completed'), view(state, startedAt));
      expect(verdict.kind, `${state} since ${startedAt}`).to.equal('drop');
      expect((verdict as { reason: string }).reason).to.match(/never recorded|not completed/);
    }
  });

  it('delivers a failure the store shows cancelled, a cancel request having reached it as it failed', () => {
    expect(judgeSource(delivery('failed'), view('cancelled'))).to.deep.equal({ kind: 'deliver' });
    expect(judgeSource(delivery('completed'), view('cancelled')).kind).to.equal('drop');
  });

  it('delivers when the job is no longer kept, and a resend enqueued by hand unchecked', () => {
    expect(judgeSource(delivery('completed'), undefined)).to.deep.equal({ kind: 'deliver' });
    const { source: _, ...resend } = delivery('completed');
    expect(judgeSource(resend, view('waiting'))).to.deep.equal({ kind: 'deliver' });
  });
});
