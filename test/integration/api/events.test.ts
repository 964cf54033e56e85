// The event streams over a real socket, from a job run by a forked worker process
// (README, "Event streams"), on Redis and on PostgreSQL: the events come from the
// store, not from the api process.
import { expect } from 'chai';
import type { ChildProcess } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import http from 'node:http';
import { readFrames, type SseFrame } from '../../../src/client/sse.js';
import { exited, fixture, forkWorker } from '../../helpers/fork.js';
import { DATABASE_URL, REDIS_URL } from '../../helpers/services.js';
import { waitFor } from '../../helpers/wait.js';
import { openApi, postgresBackend, redisBackend, type Backend, type TestApi } from './harness.js';

for (const backend of [redisBackend(), postgresBackend()] as Backend[]) {
  describe(`event streams [${backend.name}]`, function () {
    this.timeout(60_000);
    let api: TestApi;
    let server: http.Server;
    let base: string;
    let worker: ChildProcess | undefined;

    before(async function () {
      await backend.require(this);
      api = await openApi(backend);
      server = http.createServer(api.app);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterEach(async () => {
      if (worker) {
        worker.kill('SIGKILL');
        await exited(worker);
        worker = undefined;
      }
    });
    after(async () => {
      server?.closeAllConnections();
      await new Promise((resolve) => server?.close(resolve));
      await api?.store.close();
      await backend.cleanup();
    });

    const startWorker = () => {
      const { prefix } = backend.storeConfig();
      const store = backend.name === 'redis' ? { REDIS_URL } : { REDIS_URL: '', DATABASE_URL };
      worker = forkWorker('document', { ...store, JOBVISOR_PREFIX: prefix, QUEUE_DOCUMENT_CONCURRENCY: '1' }, fixture('progress'));
    };

    async function collect(path: string, headers: Record<string, string> = {}): Promise<SseFrame[]> {
      const response = await fetch(`${base}${path}`, { headers });
      expect(response.status).to.equal(200);
      expect(response.headers.get('content-type')).to.match(/^text\/event-stream/);
      const frames: SseFrame[] = [];
      for await (const frame of readFrames(response.body!)) frames.push(frame);
      return frames;
    }

    it('streams a snapshot, then active, progress, the log line and completed in order, and closes', async () => {
      const { job } = await api.store.enqueue({ queue: 'document', data: { steps: 3 } });
      const frames: SseFrame[] = [];
      const done = (async () => {
        const response = await fetch(`${base}/api/jobs/document/${job.id}/events`);
        for await (const frame of readFrames(response.body!)) frames.push(frame);
      })();
      await waitFor(() => frames.length > 0, { message: 'the snapshot' });
      startWorker(); // the job starts only now, after the subscription
      await done;
      const names = frames.map((f) => f.event).filter((e) => e !== 'waiting');
      expect(names).to.deep.equal(['snapshot', 'active', 'progress', 'progress', 'progress', 'log', 'completed', 'end']);
      const snapshot = JSON.parse(frames[0]!.data);
      expect(snapshot.state).to.equal('waiting');
      expect(snapshot.timeline.map((e: { event: string }) => e.event)).to.deep.equal(['created']);
      const progress = frames.filter((f) => f.event === 'progress').map((f) => JSON.parse(f.data).detail.current);
      expect(progress).to.deep.equal([1, 2, 3]);
      expect(JSON.parse(frames.at(-1)!.data)).to.include({ state: 'completed' });
      expect(frames.filter((f) => f.event !== 'snapshot' && f.event !== 'end').every((f) => f.id)).to.equal(true);
    });

    it('gives a late subscriber the final snapshot and closes; with Last-Event-ID it replays what followed', async () => {
      const { job } = await api.store.enqueue({ queue: 'document', data: { steps: 2 } });
      startWorker();
      await waitFor(async () => (await api.store.get('document', job.id))?.state === 'completed', { message: 'the job completed', timeoutMs: 30_000 });
      const late = await collect(`/api/jobs/document/${job.id}/events`);
      expect(late.map((f) => f.event)).to.deep.equal(['snapshot', 'end']);
      expect(JSON.parse(late[0]!.data)).to.include({ state: 'completed' });

      // A subscriber that saw the job's first event (waiting) reconnects: the rest is replayed from the store, then it ends.
      const [first] = await api.store.events.since('document', '0', job.id);
      expect(first!.type).to.equal('waiting');
      const replayed = await collect(`/api/jobs/document/${job.id}/events`, { 'Last-Event-ID': first!.eventId });
      expect(replayed.map((f) => f.event)).to.deep.equal(['active', 'progress', 'progress', 'log', 'completed', 'end']);
    });

    it('answers 404 for a job that does not exist, before any stream opens', async () => {
      const response = await fetch(`${base}/api/jobs/document/nope/events`);
      expect(response.status).to.equal(404);
    });
  });
}
