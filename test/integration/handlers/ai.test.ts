import { expect } from 'chai';
import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import aiHandler from '../../../src/queues/ai/handler.js';
import { hashEmbed } from '../../../src/queues/ai/local.js';
import { readJsonLines, useHarness } from './harness.js';

interface VectorLine { id: string; index: number; vector: number[] }
interface AiResult { provider: string; model: string; dimensions: number; vectors: number; output: string; chunks: number }

function cosine(a: number[], b: number[]): number {
  return a.reduce((sum, x, i) => sum + x * b[i]!, 0);
}

describe('ai queue', function () {
  this.timeout(60_000);
  const h = useHarness();
  before(() => {
    h.start('ai', aiHandler, { concurrency: 2 });
  });

  async function embed(data: Record<string, unknown>, attempts?: number) {
    const { job } = await h.store.enqueue({ queue: 'ai', data, ...(attempts ? { attempts } : {}) });
    const done = await h.settled('ai', job.id);
    expect(done.state, JSON.stringify(done.error)).to.equal('completed');
    const result = done.result as AiResult;
    return { result, lines: await readJsonLines<VectorLine>(h.file(result.output)), job: done };
  }

  describe('local provider (feature hashing: lexical, not semantic)', () => {
    it('writes one unit vector of the requested dimension per text', async () => {
      const texts = ['the quick brown fox', 'jumps over the lazy dog', 'an entirely different sentence'];
      const { result, lines } = await embed({ texts, dimensions: 128, batchSize: 2 });
      expect(result).to.include({ provider: 'local', dimensions: 128, vectors: 3 });
      expect(lines.map((l) => l.index)).to.deep.equal([0, 1, 2]);
      for (const line of lines) {
        expect(line.vector).to.have.length(128);
        expect(Math.hypot(...line.vector)).to.be.closeTo(1, 1e-3);
      }
    });

    it('gives the same vector for the same text on every run, and nearer vectors to texts sharing words', async () => {
      const texts = ['harbour tide trawlers gulls', 'harbour tide trawlers boats', 'quantum chromodynamics lattice'];
      const first = await embed({ texts, dimensions: 256 });
      const second = await embed({ texts, dimensions: 256 });
      expect(second.lines.map((l) => l.vector)).to.deep.equal(first.lines.map((l) => l.vector));
      expect(first.lines[0]!.vector).to.deep.equal(hashEmbed(texts[0]!, 256));
      const [a, b, c] = first.lines.map((l) => l.vector) as [number[], number[], number[]];
      expect(cosine(a, b)).to.be.greaterThan(cosine(a, c) + 0.3);
    });

    it('embeds a chunks file as the document queue writes it, keeping chunk ids', async () => {
      const file = path.join(h.scratch, 'chunks.jsonl');
      await fs.writeFile(file, ['{"id":"doc:0","text":"first chunk"}', '{"id":"doc:1","text":"second chunk"}'].join('\n'));
      const { result, lines } = await embed({ chunksFile: file });
      expect(result.vectors).to.equal(2);
      expect(lines.map((l) => l.id)).to.deep.equal(['doc:0', 'doc:1']);
    });
  });

  describe('openai provider against a local OpenAI-compatible server', () => {
    let server: http.Server;
    const requests: { auth?: string; body: { model: string; input: string[] } }[] = [];
    let busyAnswers = 0;
    const saved = { ...process.env };

    before(async () => {
      server = http.createServer((req, res) => {
        let raw = '';
        req.on('data', (chunk) => (raw += chunk));
        req.on('end', () => {
          const body = JSON.parse(raw) as { model: string; input: string[] };
          requests.push({ auth: req.headers.authorization, body });
          if (body.input.some((text) => text.startsWith('REJECT'))) {
            res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":{"message":"bad input"}}');
            return;
          }
          if (busyAnswers > 0) {
            busyAnswers--;
            res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '1' }).end('{"error":{"message":"slow down"}}');
            return;
          }
          const data = body.input.map((text, index) => ({ object: 'embedding', index, embedding: [text.length, index, 0.5] }));
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ object: 'list', data, model: body.model }));
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      process.env.OPENAI_BASE_URL = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
      process.env.OPENAI_API_KEY = 'test-key';
      process.env.EMBEDDINGS_MODEL = 'fake-embed-3';
      process.env.AI_PROVIDERS_ALLOWED = 'local,openai'; // a job may name openai only when the operator allows it
    });

    after(async () => {
      for (const key of ['OPENAI_BASE_URL', 'OPENAI_API_KEY', 'EMBEDDINGS_MODEL', 'AI_PROVIDERS_ALLOWED']) {
        if (saved[key] === undefined) delete process.env[key];
        else process.env[key] = saved[key];
      }
      await new Promise((resolve) => server.close(resolve));
    });

    it('sends batches with the model and key, and writes the vectors it answers', async () => {
      requests.length = 0;
      const { result, lines } = await embed({ provider: 'openai', texts: ['a', 'bb', 'ccc'], batchSize: 2 });
      expect(result).to.include({ provider: 'openai', model: 'fake-embed-3', dimensions: 3, vectors: 3 });
      expect(requests.map((r) => r.body.input)).to.deep.equal([['a', 'bb'], ['ccc']]);
      expect(requests[0]!.auth).to.equal('Bearer test-key');
      expect(lines.map((l) => l.vector)).to.deep.equal([[1, 0, 0.5], [2, 1, 0.5], [3, 0, 0.5]]);
    });

    it('retries a job answered 429 with the job backoff, and completes on the next attempt', async () => {
      requests.length = 0;
      busyAnswers = 1;
      const { result, job } = await embed({ provider: 'openai', texts: ['once more'] }, 3);
      expect(result.vectors).to.equal(1);
      expect(job.attempts).to.equal(2);
      expect(job.timeline.map((t) => t.event)).to.include('retrying');
      expect(requests).to.have.length(2);
    });

    it('fails for good on a 4xx other than 429, without retrying', async () => {
      const { job } = await h.store.enqueue({ queue: 'ai', data: { provider: 'openai', texts: ['REJECT this input'] } });
      const done = await h.settled('ai', job.id);
      expect(done.state).to.equal('failed');
      expect(done.attempts).to.equal(1);
      expect(done.error!.message).to.match(/answered 400/);
    });
  });

  describe('with a rate limit on the queue (QUEUE_AI_RATE_LIMIT)', () => {
    const limited = useHarness();
    before(() => {
      limited.start('ai', aiHandler, { concurrency: 4, limiter: { max: 2, durationMs: 1000 } });
    });

    it('starts no more jobs per window than the limit, though the worker has room for more', async () => {
      const results = await limited.store.enqueueBulk(Array.from({ length: 5 }, (_, i) => ({ queue: 'ai', data: { texts: [`text ${i}`] } })));
      const done = await Promise.all(results.map((r) => limited.settled('ai', r.job.id)));
      const starts = done.map((j) => Date.parse(j.startedAt!)).sort((a, b) => a - b);
      expect(done.every((j) => j.state === 'completed')).to.equal(true);
      // 5 jobs at 2 per second: the fifth cannot start before two windows have passed.
      expect(starts[4]! - starts[0]!).to.be.at.least(1800);
    });
  });
});
