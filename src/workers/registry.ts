// queue → handler, loaded lazily so a worker process loads only its own
// queue's code (a video library never sits in the document worker's memory).
import { QUEUES, isQueueName } from '../queues/index.js';
import type { RunnableHandler } from '../queues/define.js';

/** The handler for a queue; `modulePath` overrides the registry (tests, fixtures). */
export async function loadHandler(queue: string, modulePath?: string): Promise<RunnableHandler> {
  if (modulePath) return definitionOf(await import(modulePath), modulePath);
  if (!isQueueName(queue)) throw new Error(`no handler for queue "${queue}"`);
  return definitionOf(await QUEUES[queue].handler(), queue);
}

/** The default export, whether the module was compiled to CommonJS or not. */
function definitionOf(mod: unknown, from: string): RunnableHandler {
  let candidate = mod as { default?: unknown; run?: unknown } | undefined;
  for (let depth = 0; depth < 3 && candidate && typeof candidate.run !== 'function'; depth++) {
    candidate = candidate.default as typeof candidate;
  }
  if (!candidate || typeof candidate.run !== 'function') throw new Error(`${from} does not export a handler (defineHandler) as default`);
  return candidate as unknown as RunnableHandler;
}
