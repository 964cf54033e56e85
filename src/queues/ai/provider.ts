// The provider interface: a batch of texts in, one vector per text out.
export interface EmbeddingProvider {
  readonly name: 'local' | 'openai';
  readonly model: string;
  embed(texts: string[], signal: AbortSignal): Promise<number[][]>;
}

/**
 * 429 or 5xx from a provider: the job fails this attempt and BullMQ retries it
 * with the job's own backoff. A Retry-After is named in the message for the
 * operator, not obeyed: the job's backoff is the one retry clock jobvisor keeps.
 */
export class ProviderBusyError extends Error {
  override name = 'ProviderBusyError';
  constructor(message: string, readonly status: number) {
    super(message);
  }
}
