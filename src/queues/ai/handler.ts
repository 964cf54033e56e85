// ai: embeddings for a list of texts, a chunks file, or (in a rag-sync flow)
// the chunks its document child made — in batches, through a provider
// (`local` feature hashing or an `openai`-compatible endpoint), written as
// JSON lines `{id, index, vector}`. The operator chooses the provider; a job
// may name another only among AI_PROVIDERS_ALLOWED. texts × dimensions is
// capped, and an error about a chunks file never quotes it.
import path from 'node:path';
import { UnrecoverableError } from '../../lib/errors.js';
import { loadInputConfig, type InputConfig } from '../../lib/config.js';
import { defineHandler, type HandlerContext } from '../define.js';
import { readInput } from '../io/inputs.js';
import { outputPath, relativeOutput, writeLinesAtomically } from '../io/output.js';
import { aiSchema, type AiJob } from './schema.js';
import { localProvider } from './local.js';
import { openAiProvider, openAiSettings } from './openai.js';
import type { EmbeddingProvider } from './provider.js';

interface Input {
  id: string;
  text: string;
}

function providerFor(data: AiJob, settings: InputConfig): EmbeddingProvider {
  const name = data.provider ?? settings.embeddings.provider;
  if (!settings.embeddings.allowed.includes(name)) {
    throw new UnrecoverableError(`provider "${name}" is not allowed here (AI_PROVIDERS_ALLOWED: ${settings.embeddings.allowed.join(', ')})`);
  }
  return name === 'openai' ? openAiProvider(openAiSettings()) : localProvider(data.dimensions);
}

/** JSON lines with a `text` each; a bad line is named by its number, never quoted. */
async function readChunks(file: string, signal: AbortSignal): Promise<Input[]> {
  const raw = (await readInput(file, signal)).toString('utf8');
  return raw.split('\n').filter(Boolean).map((line, index) => {
    let parsed: { id?: unknown; text?: unknown } | null;
    try {
      parsed = JSON.parse(line) as typeof parsed;
    } catch {
      parsed = null;
    }
    if (typeof parsed?.text !== 'string') throw new UnrecoverableError(`chunksFile line ${index + 1}: not a JSON object with a "text" string`);
    return { id: typeof parsed.id === 'string' ? parsed.id : String(index), text: parsed.text };
  });
}

/** In a flow, this job runs after its document child: read the chunks file that child wrote (named relative to the output folder). */
async function chunksOfChild(ctx: HandlerContext, settings: InputConfig): Promise<{ file?: string; failure?: string }> {
  const { results, failures } = await ctx.childrenResults();
  const made = Object.values(results).find((r): r is { output: string } => typeof (r as { output?: unknown })?.output === 'string');
  if (made) return { file: path.join(settings.outputDir, made.output) };
  return { failure: Object.values(failures)[0] ?? 'the document step left no chunks' };
}

function checkVectorValues(texts: number, dimensions: number, limit: number): void {
  if (texts * dimensions > limit) {
    throw new UnrecoverableError(`${texts} texts × ${dimensions} dimensions is over the ${limit}-value limit (JOBVISOR_MAX_VECTOR_VALUES)`);
  }
}

export default defineHandler({
  schema: aiSchema,
  async run(data, ctx) {
    const settings = loadInputConfig();
    const provider = providerFor(data, settings);
    const file = await outputPath('ai', ctx.jobId, '.jsonl');
    let chunksFile = data.chunksFile;
    if (!data.texts && !chunksFile) {
      const child = await chunksOfChild(ctx, settings);
      // The item's document step failed: report it as this item's error, do not fail the flow's other items.
      if (!child.file) return { item: data.item ?? null, error: `document step failed: ${child.failure}`, chunks: 0, vectors: 0 };
      chunksFile = child.file;
    }
    const inputs = data.texts ? data.texts.map((text, i) => ({ id: String(i), text })) : await readChunks(chunksFile!, ctx.signal);
    if (provider.name === 'local') checkVectorValues(inputs.length, data.dimensions, settings.maxVectorValues);
    let dimensions = 0;
    let done = 0;
    const lines = async function* () {
      for (let start = 0; start < inputs.length; start += data.batchSize) {
        const batch = inputs.slice(start, start + data.batchSize);
        const vectors = await provider.embed(batch.map((b) => b.text), ctx.signal);
        for (const [i, vector] of vectors.entries()) {
          if (dimensions === 0) checkVectorValues(inputs.length, vector.length, settings.maxVectorValues);
          dimensions = vector.length;
          yield JSON.stringify({ id: batch[i]!.id, index: start + i, vector });
        }
        done += batch.length;
        await ctx.progress({ current: done, total: inputs.length, message: `${done} of ${inputs.length} embedded` });
      }
    };
    const vectors = await writeLinesAtomically(file, lines(), ctx.signal, settings.maxOutputBytes);
    return {
      item: data.item ?? null, provider: provider.name, model: provider.model, dimensions,
      chunks: inputs.length, vectors, output: relativeOutput(file), ...(data.chunksFile ? { chunksFile: data.chunksFile } : {}),
    };
  },
});
