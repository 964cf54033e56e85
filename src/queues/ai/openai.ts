// The `openai` provider: any OpenAI-compatible /embeddings endpoint
// (OPENAI_BASE_URL, EMBEDDINGS_MODEL, OPENAI_API_KEY). 429 and 5xx become
// ProviderBusyError, retried by the job's backoff; other 4xx are the request's
// fault and fail the job for good. Requests go through a keep-alive pool that
// resends a request reset on a stale pooled socket (keep-alive.ts): computing
// embeddings changes nothing at the provider, so the request may be sent twice.
import { UnrecoverableError } from '../../lib/errors.js';
import { KeepAliveClient, type PooledResponse } from '../io/keep-alive.js';
import { ProviderBusyError, type EmbeddingProvider } from './provider.js';

export interface OpenAiSettings {
  baseUrl: string;
  model: string;
  apiKey?: string;
}

export function openAiSettings(env: NodeJS.ProcessEnv = process.env): OpenAiSettings {
  return {
    baseUrl: (env.OPENAI_BASE_URL || 'https://api.openai.com/v1').replace(/\/+$/, ''),
    model: env.EMBEDDINGS_MODEL || 'text-embedding-3-small',
    ...(env.OPENAI_API_KEY ? { apiKey: env.OPENAI_API_KEY } : {}),
  };
}

interface EmbeddingsResponse {
  data?: { index: number; embedding: number[] }[];
}

/** One pool per worker process, shared by its jobs. */
const client = new KeepAliveClient();

function retryAfterMs(header: string | undefined): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  return Number.isFinite(seconds) ? seconds * 1000 : undefined;
}

export function openAiProvider(settings: OpenAiSettings): EmbeddingProvider {
  return {
    name: 'openai',
    model: settings.model,
    async embed(texts, signal) {
      let response: PooledResponse;
      try {
        response = await client.request(new URL(`${settings.baseUrl}/embeddings`), {
          method: 'POST',
          repeatable: true,
          signal,
          headers: { 'content-type': 'application/json', ...(settings.apiKey ? { authorization: `Bearer ${settings.apiKey}` } : {}) },
          body: JSON.stringify({ model: settings.model, input: texts }),
        });
      } catch (error) {
        if (signal.aborted) throw signal.reason;
        throw new ProviderBusyError(`embeddings endpoint unreachable: ${(error as Error).message}`, 0);
      }
      if (response.status === 429 || response.status >= 500) {
        const retryAfter = response.headers['retry-after'];
        const wait = retryAfterMs(Array.isArray(retryAfter) ? retryAfter[0] : retryAfter);
        const hint = wait === undefined ? '' : ` (it asked to retry after ${Math.ceil(wait / 1000)} s)`;
        throw new ProviderBusyError(`embeddings endpoint answered ${response.status}${hint}`, response.status);
      }
      if (response.status < 200 || response.status >= 300) {
        throw new UnrecoverableError(`embeddings endpoint answered ${response.status}: ${response.body.toString('utf8').slice(0, 300)}`);
      }
      const body = JSON.parse(response.body.toString('utf8')) as EmbeddingsResponse;
      const vectors = [...(body.data ?? [])].sort((a, b) => a.index - b.index).map((d) => d.embedding);
      if (vectors.length !== texts.length) throw new Error(`embeddings endpoint returned ${vectors.length} vectors for ${texts.length} texts`);
      return vectors;
    },
  };
}
