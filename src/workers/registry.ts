// queue → handler module, loaded lazily so a worker process loads only its own
// queue's code (a video library never sits in the document worker's memory).
import { isQueueName, type QueueName } from '../lib/catalog.js';
import type { HandlerDefinition } from './handler.js';

type Loader = () => Promise<unknown>;

const HANDLERS: Record<QueueName, Loader> = {
  video: () => import('./handlers/video.js'),
  document: () => import('./handlers/document.js'),
  ai: () => import('./handlers/ai.js'),
  'rag-sync': () => import('./handlers/rag-sync.js'),
  maintenance: () => import('./handlers/maintenance.js'),
};

/** The handler for a queue; `modulePath` overrides the catalog (tests, user queues). */
export async function loadHandler(queue: string, modulePath?: string): Promise<HandlerDefinition> {
  if (modulePath) return definitionOf(await import(modulePath), modulePath);
  if (!isQueueName(queue)) throw new Error(`no handler for queue "${queue}"`);
  return definitionOf(await HANDLERS[queue](), queue);
}

/** The default export, whether the module was compiled to CommonJS or not. */
function definitionOf(mod: unknown, from: string): HandlerDefinition {
  let candidate = mod as { default?: unknown; run?: unknown } | undefined;
  for (let depth = 0; depth < 3 && candidate && typeof candidate.run !== 'function'; depth++) {
    candidate = candidate.default as typeof candidate;
  }
  if (!candidate || typeof candidate.run !== 'function') throw new Error(`${from} does not export a handler (defineHandler) as default`);
  return candidate as unknown as HandlerDefinition;
}
