// bull-board, the BullMQ dashboard, over this deployment's queues. It needs
// BullMQ Queue objects, so it lives here, beside the only code allowed to make
// them; the api mounts the router it returns behind the admin key.
// bull-board shows BullMQ's own states: jobvisor's `cancelled` jobs, kept
// beside BullMQ, are not among them.
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Router } from 'express';
import type { Queue } from 'bullmq';
import { createQueue, openEngine } from './connection.js';
import type { StoreConfig } from './index.js';

export interface Dashboard {
  router: Router;
  /** Idempotent. */
  close(): Promise<void>;
}

export async function openDashboard(config: StoreConfig, queueNames: readonly string[], basePath: string): Promise<Dashboard> {
  const engine = await openEngine(config);
  const queues: Queue[] = queueNames.map((name) => {
    const queue = createQueue(engine, name);
    queue.on('error', () => {}); // a dashboard page shows the failure; the process must not die of it
    return queue;
  });
  const serverAdapter = new ExpressAdapter().setBasePath(basePath);
  createBullBoard({
    queues: queues.map((queue) => new BullMQAdapter(queue as never)),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'jobvisor' } },
  });
  let closed: Promise<void> | undefined;
  const close = () => (closed ??= (async () => {
    await Promise.allSettled(queues.map((queue) => queue.close()));
    await Promise.allSettled([engine.side.close()]);
    await Promise.allSettled([engine.close()]);
  })());
  return { router: serverAdapter.getRouter() as Router, close };
}
