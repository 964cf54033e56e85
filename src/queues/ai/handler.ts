// ai: embeddings for a list of texts, a chunks file, or (in a rag-sync flow)
// the chunks its document child made — in batches, through a provider
// (`local` feature hashing or an `openai`-compatible endpoint), written as
// JSON lines `{id, index, vector}`.
import fs from 'node:fs/promises';
import { UnrecoverableError } from '../../lib/errors.js';
import { defineHandler, type HandlerContext } from '../define.js';
import { outputPath, writeLinesAtomically } from '../io/output.js';
import { aiSchema, type AiJob } from './schema.js';
import { localProvider } from './local.js';
import { openAiProvider, openAiSettings } from './openai.js';
import type { EmbeddingProvider } from './provider.js';

interface Input {
  id: string;
  text: string;
}

function providerFor(data: AiJob): EmbeddingProvider {
  const name = data.provider ?? (process.env.EMBEDDINGS_PROVIDER === 'openai' ? 'openai' : 'local');
  return name === 'openai' ? openAiProvider(openAiSettings()) : localProvider(data.dimensions);
}

async function readChunks(file: string): Promise<Input[]> {
  const raw = await fs.readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') throw new UnrecoverableError(`${file}: no such file`);
    throw error;
  });
  return raw.split('\n').filter(Boolean).map((line, index) => {
    const parsed = JSON.parse(line) as { id?: string; text?: string };
    if (typeof parsed.text !== 'string') throw new UnrecoverableError(`${file}:${index + 1}: no "text" field`);
    return { id: parsed.id ?? String(index), text: parsed.text };
  });
}

/** In a flow, this job runs after its document child: read the chunks file that child wrote. */
async function chunksOfChild(ctx: HandlerContext): Promise<{ file?: string; failure?: string }> {
  const { results, failures } = await ctx.childrenResults();
  const made = Object.values(results).find((r): r is { output: string } => typeof (r as { output?: unknown })?.output === 'string');
  if (made) return { file: made.output };
  return { failure: Object.values(failures)[0] ?? 'the document step left no chunks' };
}

export default defineHandler({
  schema: aiSchema,
  async run(data, ctx) {
    let chunksFile = data.chunksFile;
    if (!data.texts && !chunksFile) {
      const child = await chunksOfChild(ctx);
      // The item's document step failed: report it as this item's error, do not fail the flow's other items.
      if (!child.file) return { item: data.item ?? null, error: `document step failed: ${child.failure}`, chunks: 0, vectors: 0 };
      chunksFile = child.file;
    }
    const inputs = data.texts ? data.texts.map((text, i) => ({ id: String(i), text })) : await readChunks(chunksFile!);
    const provider = providerFor(data);
    let dimensions = 0;
    let done = 0;
    const lines = async function* () {
      for (let start = 0; start < inputs.length; start += data.batchSize) {
        const batch = inputs.slice(start, start + data.batchSize);
        const vectors = await provider.embed(batch.map((b) => b.text), ctx.signal);
        for (const [i, vector] of vectors.entries()) {
          dimensions = vector.length;
          yield JSON.stringify({ id: batch[i]!.id, index: start + i, vector });
        }
        done += batch.length;
        await ctx.progress({ current: done, total: inputs.length, message: `${done} of ${inputs.length} embedded` });
      }
    };
    const file = await outputPath('ai', ctx.jobId, '.jsonl');
    const vectors = await writeLinesAtomically(file, lines(), ctx.signal);
    return {
      item: data.item ?? null, provider: provider.name, model: provider.model, dimensions,
      chunks: inputs.length, vectors, output: file, ...(chunksFile ? { chunksFile } : {}),
    };
  },
});
