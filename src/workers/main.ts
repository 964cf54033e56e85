// Entry of one worker process: `node dist/workers/main.js <queue>`, forked by
// the supervisor or run by hand (`npm run worker -- video`). Signal and IPC
// handlers only record what was asked; the loop below acts on it.
import { envName, isQueueName } from '../queues/index.js';
import { ConfigError, loadConfig } from '../lib/config.js';
import { createLogger } from '../lib/logger.js';
import { isSupervisorMessage, type WorkerMessage } from '../supervisor/messages.js';
import { openStore } from '../lib/store/index.js';
import { loadHandler } from './registry.js';
import { startRuntime } from './runtime.js';
import { runMain } from '../lib/entry.js';

type Request = 'drain' | 'force';

async function main(): Promise<number> {
  const forked = typeof process.send === 'function';
  const queue = process.argv[2];
  if (!queue) throw new ConfigError('usage: worker <queue>');
  const config = loadConfig();
  const logger = createLogger(`worker:${queue}`, config.logLevel);
  const handler = await loadHandler(queue, process.env.JOBVISOR_HANDLER_MODULE);
  const store = await openStore(config, (line) => logger.warn({ queue }, line));
  const concurrency = isQueueName(queue)
    ? config.queues[queue].concurrency
    : Number(process.env[`QUEUE_${envName(queue)}_CONCURRENCY`] ?? 1);
  // Once the supervisor is gone the channel is closed: a send then must not throw (it would crash a draining worker).
  const send = forked ? (message: WorkerMessage) => { if (process.connected) process.send?.(message, undefined, {}, () => {}); } : undefined;
  const limiter = isQueueName(queue) ? config.queues[queue].rateLimit : undefined;
  const runtime = startRuntime({ store, queue, handler, concurrency, logger, send, ...(limiter ? { limiter } : {}) });

  let requested: Request | undefined;
  let wake: () => void = () => {};
  const request = (what: Request) => {
    requested = requested === 'drain' && what === 'force' ? 'force' : (requested ?? what);
    wake();
  };
  let signals = 0;
  const onSignal = () => request(++signals > 1 ? 'force' : 'drain');
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  process.on('disconnect', () => request('drain')); // the supervisor is gone: finish up and leave
  process.on('message', (message) => {
    if (!isSupervisorMessage(message)) return;
    switch (message.type) {
      case 'drain': return request('drain');
      case 'hold': return runtime.hold(message.held);
      case 'state': return runtime.annotate({ supervisor: message.supervisor, restarts: message.restarts, crashLooping: message.crashLooping, scaling: message.scaling });
      case 'metrics':
        return void runtime.metrics.registry.getMetricsAsJSON().then(
          (metrics) => send?.({ type: 'metrics', requestId: message.requestId, metrics }), () => {});
    }
  });
  // The supervisor may have died while this process was still starting, before the listener above existed.
  if (forked && !process.connected) request('drain');
  // Ready means fetching: a replacement that only said so before its connection was up would leave a gap.
  await runtime.ready().catch(() => {});
  send?.({ type: 'ready' });
  logger.info({ queue, concurrency, mode: store.mode }, 'worker started');

  while (!requested) await new Promise<void>((resolve) => (wake = resolve));
  logger.info({ queue, active: runtime.stats.active }, 'draining');
  const drained = runtime.drain();
  while ((requested as Request) !== 'force') {
    const done = await Promise.race([drained.then(() => true), new Promise<false>((resolve) => (wake = () => resolve(false)))]);
    if (done) break;
  }
  if (requested === 'force') {
    // Leave at once: BullMQ's stalled check hands the active jobs to another worker.
    logger.warn({ queue, active: runtime.stats.active }, 'forced stop; active jobs will be recovered as stalled');
    return 1;
  }
  await sendFinalMetrics(runtime.metrics.registry);
  await store.close();
  logger.info({ queue, processed: runtime.stats.processed }, 'worker stopped');
  return 0;
}

/** A drained worker's last counts, so the supervisor's totals survive the recycle (requestId 0: unasked). */
async function sendFinalMetrics(registry: { getMetricsAsJSON(): Promise<unknown[]> }): Promise<void> {
  if (!process.connected || !process.send) return;
  const metrics = await registry.getMetricsAsJSON();
  await new Promise<void>((resolve) => process.send!({ type: 'metrics', requestId: 0, metrics } satisfies WorkerMessage, undefined, {}, () => resolve()));
}

runMain('worker failed to start', main);
