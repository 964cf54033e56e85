// document: extract the text of a PDF, DOCX, HTML page, Markdown or plain text
// file (a path under the input roots, a URL or inline content), normalise it,
// split it into overlapping chunks and write them as JSON lines, one chunk a
// line. Every read goes through the input gate; text, chunks and output bytes
// are capped (README, "Security model").
import { UnrecoverableError } from '../../lib/errors.js';
import { loadInputConfig } from '../../lib/config.js';
import { defineHandler } from '../define.js';
import { outputPath, relativeOutput, writeLinesAtomically } from '../io/output.js';
import { documentSchema } from './schema.js';
import { chunk, normalise } from './chunk.js';
import { extract } from './extract.js';
import { load, type Loaded } from './load.js';

/** Section (a PDF's page) number, 1-based, of an offset in the joined text. */
function sectionAt(starts: number[], offset: number): number {
  let section = 0;
  while (section + 1 < starts.length && starts[section + 1]! <= offset) section++;
  return section + 1;
}

function joinSections(sections: string[]): { text: string; starts: number[] } {
  const starts: number[] = [];
  let text = '';
  for (const section of sections) {
    if (!section) continue;
    if (text) text += '\n\n';
    starts.push(text.length);
    text += section;
  }
  return { text, starts };
}

export default defineHandler({
  schema: documentSchema,
  async run(data, ctx) {
    const limits = loadInputConfig();
    const file = await outputPath('document', ctx.jobId, '.jsonl');
    const loaded: Loaded = data.content !== undefined
      ? { bytes: Buffer.from(data.content, 'utf8'), format: data.format ?? (/^\s*</.test(data.content) ? 'html' : 'text') }
      : await load(data.source!, data.format, ctx.signal);
    const extracted = await extract(loaded.bytes, loaded.format, ctx.signal, (done, total) =>
      ctx.progress({ current: done, total, message: `extracted section ${done} of ${total}` }), limits);
    const sections = extracted.sections.map(normalise);
    const { text, starts } = joinSections(sections);
    const source = data.source ?? 'inline';
    const lines = function* () {
      for (const piece of chunk(text, data.chunkSize, data.overlap)) {
        if (piece.index >= limits.maxChunks) throw new UnrecoverableError(`the document makes more than ${limits.maxChunks} chunks (JOBVISOR_MAX_CHUNKS)`);
        const sections = [sectionAt(starts, piece.start), sectionAt(starts, Math.max(piece.start, piece.end - 1))];
        yield JSON.stringify({ id: `${ctx.jobId}:${piece.index}`, source, sections, ...piece });
      }
    };
    const chunks = await writeLinesAtomically(file, lines(), ctx.signal, limits.maxOutputBytes);
    return {
      format: loaded.format, title: extracted.title ?? null, sections: sections.length,
      characters: text.length, chunks, output: relativeOutput(file),
    };
  },
});
