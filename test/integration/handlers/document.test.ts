import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import documentHandler from '../../../src/queues/document/handler.js';
import { chunk, normalise } from '../../../src/queues/document/chunk.js';
import { FIXTURES, readJsonLines, useHarness } from './harness.js';

interface ChunkLine { id: string; text: string; index: number; sections: [number, number]; start: number; end: number }
interface DocumentResult { format: string; title: string | null; sections: number; chunks: number; output: string; characters: number }

describe('document queue', function () {
  this.timeout(60_000);

  describe('normalise and chunk (pure)', () => {
    it('normalises spacing, line ends and hyphenation across lines', () => {
      expect(normalise('  Hello\u00a0\u00a0world\r\n\r\n\r\n\r\nsplen-\ndid   day\t!  ')).to.equal('Hello world\n\nsplendid day !');
    });

    it('splits text into chunks no longer than the size, each overlapping the one before', () => {
      const text = Array.from({ length: 200 }, (_, i) => `word${i}`).join(' ');
      const chunks = [...chunk(text, 120, 30)];
      expect(chunks.length).to.be.greaterThan(5);
      for (const [i, piece] of chunks.entries()) {
        expect(piece.text.length).to.be.at.most(120);
        if (i > 0) expect(piece.start).to.be.lessThan(chunks[i - 1]!.end); // overlap
        if (i > 0) expect(piece.start).to.be.greaterThan(chunks[i - 1]!.start); // progress
      }
      expect(chunks.at(-1)!.text.endsWith('word199')).to.equal(true);
      // Every word is in some chunk.
      const all = new Set(chunks.flatMap((c) => c.text.split(' ')));
      expect(all.size).to.equal(200);
    });
  });

  describe('through the runtime', () => {
    const h = useHarness();
    before(() => {
      h.start('document', documentHandler, { concurrency: 2 });
    });

    async function extract(data: Record<string, unknown>) {
      const { job } = await h.store.enqueue({ queue: 'document', data });
      const done = await h.settled('document', job.id);
      expect(done.state, JSON.stringify(done.error)).to.equal('completed');
      const result = done.result as DocumentResult;
      return { result, lines: await readJsonLines<ChunkLine>(h.file(result.output)), job: done };
    }

    it('extracts the text of each page of a PDF, with progress by page', async () => {
      const { result, lines, job } = await extract({ source: path.join(FIXTURES, 'lighthouse.pdf'), chunkSize: 100, overlap: 0 });
      expect(result.format).to.equal('pdf');
      expect(result.sections).to.equal(2);
      expect(result.title).to.equal('Lighthouse keeping');
      const text = lines.map((l) => l.text).join(' ');
      expect(text).to.include('the lighthouse keeper trims the wick at dusk');
      expect(text).to.include('the foghorn sounds every thirty seconds');
      expect(lines.find((l) => l.text.includes('dusk'))!.sections[0]).to.equal(1);
      expect(lines.find((l) => l.text.includes('foghorn'))!.sections[1]).to.equal(2);
      expect(job.timeline.filter((t) => t.event === 'progress').length).to.be.at.least(2);
      expect(result.output).to.equal(path.join('document', `${job.id}.jsonl`)); // named relative to the output folder
    });

    it('extracts the paragraphs of a DOCX', async () => {
      const { result, lines } = await extract({ source: path.join(FIXTURES, 'orchard.docx') });
      expect(result.format).to.equal('docx');
      const text = lines.map((l) => l.text).join('\n');
      expect(text).to.include('Orchard notes');
      expect(text).to.include('Apple trees are pruned in late winter, before the buds swell.');
      expect(text).to.include('Pears ripen off the tree');
    });

    it('extracts the article of an HTML page without its scripts, styles and navigation', async () => {
      const { result, lines } = await extract({ source: path.join(FIXTURES, 'harbour.html') });
      expect(result.format).to.equal('html');
      expect(result.title).to.equal('Harbour log');
      const text = lines.map((l) => l.text).join('\n');
      expect(text).to.include('The tide turned at noon and the trawlers came in.');
      expect(text).to.include('Gulls followed the last boat past the breakwater.');
      for (const noise of ['tracking', 'color', 'Contact', 'Copyright']) expect(text).not.to.include(noise);
    });

    it('reads Markdown as text, dropping its markup', async () => {
      const { result, lines } = await extract({ source: path.join(FIXTURES, 'bees.md') });
      expect(result.format).to.equal('markdown');
      const text = lines.map((l) => l.text).join('\n');
      expect(text).to.include('Bees need water close to the hive.');
      expect(text).to.include('Check the queen weekly.');
      expect(text).not.to.include('](');
    });

    it('chunks a long inline text with overlap into JSON lines', async () => {
      const content = Array.from({ length: 300 }, (_, i) => `Sentence number ${i} is here.`).join(' ');
      const { result, lines } = await extract({ content, chunkSize: 500, overlap: 100 });
      expect(result.chunks).to.equal(lines.length).and.to.be.greaterThan(10);
      expect(lines.every((l) => l.text.length <= 500)).to.equal(true);
      expect(lines[1]!.start).to.be.lessThan(lines[0]!.end);
      const beside = fs.readdirSync(path.dirname(h.file(result.output)));
      expect(beside.filter((name) => name.endsWith('.partial')), 'no staging file left').to.deep.equal([]);
    });

    it('fails a job with invalid data at once, naming the field, without retrying', async () => {
      const { job } = await h.store.enqueue({ queue: 'document', data: { source: 'x.txt', chunkSize: 10 } });
      const done = await h.settled('document', job.id);
      expect(done.state).to.equal('failed');
      expect(done.attempts).to.equal(1);
      expect(done.error!.message).to.match(/chunkSize/);
    });

    it('fails a missing file for good, since a retry cannot find it either', async () => {
      const { job } = await h.store.enqueue({ queue: 'document', data: { source: path.join(h.scratch, 'nope.pdf') } });
      const done = await h.settled('document', job.id);
      expect(done.state).to.equal('failed');
      expect(done.attempts).to.equal(1);
      expect(done.error!.message).to.match(/no such file/);
    });
  });
});
