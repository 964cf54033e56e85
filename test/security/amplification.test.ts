// Issue 10, "One request can take gigabytes", replayed: each amplifier is
// refused or capped with an error naming its setting, before the worker has
// read or written what the attack asked for. (/dev/zero is in files.test.ts.)
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import type { JobView } from '../../src/lib/store/index.js';
import { makeDocx } from '../helpers/zip.js';
import { localServer, useSystem } from './system.js';

describe('security: one job cannot take gigabytes', function () {
  this.timeout(60_000);
  const s = useSystem();
  let web: Awaited<ReturnType<typeof localServer>>;
  const written = { endless: 0 };

  before(async () => {
    web = await localServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname === '/endless') return endless(res);
      if (url.pathname === '/declared') return void res.writeHead(200, { 'content-length': String(60 * 1024 * 1024) }).end();
      if (url.pathname === '/trickle.xml') return trickle(res);
      if (url.pathname === '/big-feed.xml') return void res.writeHead(200, { 'content-type': 'application/rss+xml' }).end(rss(2000, 'x'.repeat(100)));
      if (url.pathname === '/many.xml') return void res.writeHead(200, { 'content-type': 'application/rss+xml' }).end(rss(200, ''));
      res.writeHead(404).end();
    });
  });
  after(() => web?.close());

  /** A chunked response with no end: what was written before the client hung up is counted. */
  function endless(res: import('node:http').ServerResponse): void {
    res.writeHead(200, { 'content-type': 'text/plain' });
    const block = Buffer.alloc(64 * 1024, 'a');
    const pump = () => {
      while (!res.destroyed && res.write(block)) written.endless += block.length;
      if (!res.destroyed) res.once('drain', pump);
    };
    res.on('close', () => res.destroy());
    pump();
  }

  function trickle(res: import('node:http').ServerResponse): void {
    res.writeHead(200, { 'content-type': 'application/rss+xml' });
    const timer = setInterval(() => res.write(' '), 100);
    res.on('close', () => clearInterval(timer));
  }

  function expectRefused(job: JobView, rule: RegExp): void {
    expect(job.state, JSON.stringify(job.error)).to.equal('failed');
    expect(job.error!.message).to.match(rule);
    expect(fs.existsSync(path.join(s.h.output, job.queue, `${job.id}.jsonl`)), 'no output left behind').to.equal(false);
  }

  it('stops reading an endless chunked response at the byte cap, and one whose length says too much before any', async () => {
    expectRefused(await s.run('document', { source: `http://localhost:${web.port}/endless` }), /over the 1048576-byte limit \(JOBVISOR_MAX_URL_BYTES\)/);
    // Socket buffers hold a little more than what was read; gigabytes they are not.
    expect(written.endless).to.be.below(8 * 1024 * 1024);
    expectRefused(await s.run('document', { source: `http://localhost:${web.port}/declared` }), /JOBVISOR_MAX_URL_BYTES/);
  });

  it('gives up on a trickling feed at the time cap, freeing rag-sync\'s only slot', async () => {
    const started = Date.now();
    expectRefused(await s.run('rag-sync', { source: `http://localhost:${web.port}/trickle.xml` }), /took longer than 2000 ms \(JOBVISOR_URL_TIMEOUT_MS\)/);
    expect(Date.now() - started).to.be.below(10_000);
  });

  it('caps a feed\'s size and the items it looks at', async () => {
    expectRefused(await s.run('rag-sync', { source: `http://localhost:${web.port}/big-feed.xml` }), /JOBVISOR_MAX_FEED_BYTES/);
    const many = await s.run('rag-sync', { source: `http://localhost:${web.port}/many.xml`, maxItems: 1 });
    expect(many.state, JSON.stringify(many.error)).to.equal('completed');
    expect(many.result).to.deep.include({ fetched: 20 }); // JOBVISOR_MAX_FEED_ITEMS in this suite
  });

  it('refuses an overlap that keeps chunking in place, at the api', async () => {
    const res = await s.request('POST', '/api/jobs', { queue: 'document', data: { content: 'x'.repeat(100_000), chunkSize: 1000, overlap: 999 } });
    expect(res.status).to.equal(400);
    expect(res.body.error.message).to.match(/data\.overlap: must be at most half of chunkSize/);
  });

  it('caps chunks per document (JOBVISOR_MAX_CHUNKS)', async () => {
    process.env.JOBVISOR_MAX_CHUNKS = '50';
    try {
      expectRefused(await s.run('document', { content: 'word '.repeat(20_000), chunkSize: 100, overlap: 50 }), /more than 50 chunks \(JOBVISOR_MAX_CHUNKS\)/);
    } finally {
      delete process.env.JOBVISOR_MAX_CHUNKS;
    }
  });

  it('refuses 2,000 texts × 4,096 dimensions (JOBVISOR_MAX_VECTOR_VALUES)', async () => {
    const texts = Array.from({ length: 2000 }, (_, i) => `text ${i}`);
    expectRefused(await s.run('ai', { texts, dimensions: 4096 }), /over the 6000000-value limit \(JOBVISOR_MAX_VECTOR_VALUES\)/);
  });

  it('refuses a 31 KB DOCX that expands to 30 MB, and a PDF whose streams expand past the cap', async () => {
    const docx = makeDocx('lorem ipsum '.repeat(2_500_000));
    expect(docx.length).to.be.below(64 * 1024);
    fs.writeFileSync(path.join(s.root, 'bomb.docx'), docx);
    expectRefused(await s.run('document', { source: 'bomb.docx' }), /compressed more than 200 to 1/);
    const stream = zlib.deflateSync(Buffer.alloc(80 * 1024 * 1024, 32));
    const pdf = Buffer.concat([Buffer.from('%PDF-1.7\n1 0 obj\n<< /Length 1 /Filter /FlateDecode >>\nstream\n'), stream, Buffer.from('\nendstream\nendobj\n%%EOF\n')]);
    expect(pdf.length).to.be.below(256 * 1024);
    fs.writeFileSync(path.join(s.root, 'bomb.pdf'), pdf);
    expectRefused(await s.run('document', { source: 'bomb.pdf' }), /PDF's streams expand past the 67108864-byte limit \(JOBVISOR_MAX_UNZIPPED_BYTES\)/);
  });
});

function rss(count: number, padding: string): string {
  const items = Array.from({ length: count }, (_, i) =>
    `<item><guid>i${i}</guid><title>item ${i}</title><pubDate>Mon, 02 Mar 2026 08:00:00 GMT</pubDate><description>${padding || `item ${i}`}</description></item>`);
  return `<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>${items.join('')}</channel></rss>`;
}
