// Entry of one worker process: `node dist/workers/main.js <queue>`, forked by
// the supervisor or run by hand (`npm run worker -- video`). Signal and IPC
// handlers only record what was asked; the loop below acts on it.
import { envName, isQueueName } from '../queues/index.js';
import { ConfigError, loadConfig, type Config } from '../lib/config.js';
import { createLogger } from '../lib/logger.js';
import { isSupervisorMessage, START_FAILED_EXIT, type WorkerMessage } from '../supervisor/messages.js';
import { openStore } from '../lib/store/index.js';
import { loadHandler } from './registry.js';
import { startRuntime, type Runtime } from './runtime.js';
import { runMain } from '../lib/entry.js';
import { startTracing } from '../lib/tracing.js';

type Request = 'drain' | 'force';

/** What signals and the supervisor asked for; handlers only record it, and `next()` wakes the main sequence. */
class Inbox {
  requested: Request | undefined;
  private wake: () => void = () => {};

  request(what: Request): void {
    this.requested = this.requested === 'drain' && what === 'force' ? 'force' : (this.requested ?? what);
    this.wake();
  }

  /** Resolves at the next request. */
  next(): Promise<void> {
    return new Promise((resolve) => (this.wake = resolve));
  }
}

type Send = ((message: WorkerMessage) => void) | undefined;

/** The runtime's settings for this queue: the registry's queue config, or plain env for a test's own queue. */
function runtimeSettings(config: Config, queue: string) {
  if (!isQueueName(queue)) return { concurrency: Number(process.env[`QUEUE_${envName(queue)}_CONCURRENCY`] ?? 1), maxJobs: 0 };
  const { concurrency, maxJobs, rateLimit } = config.queues[queue];
  return { concurrency, maxJobs, ...(rateLimit ? { limiter: rateLimit } : {}) };
}

function listen(inbox: Inbox, runtime: Runtime, send: Send): void {
  let signals = 0;
  const onSignal = () => inbox.request(++signals > 1 ? 'force' : 'drain');
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  process.on('disconnect', () => inbox.request('drain')); // the supervisor is gone: finish up and leave
  process.on('message', (message) => {
    if (!isSupervisorMessage(message)) return;
    switch (message.type) {
      case 'drain': return inbox.request('drain');
      case 'hold': return runtime.hold(message.held);
      case 'state': return runtime.annotate({ supervisor: message.supervisor, restarts: message.restarts, crashLooping: message.crashLooping, scaling: message.scaling });
      case 'metrics':
        return void runtime.metrics.registry.getMetricsAsJSON().then(
          (metrics) => send?.({ type: 'metrics', requestId: message.requestId, metrics }), () => {});
    }
  });
}

/** Drains, unless a second signal forces the stop first; true when it drained. */
async function drained(inbox: Inbox, runtime: Runtime): Promise<boolean> {
  const done = runtime.drain().then(() => true);
  while (inbox.requested !== 'force') {
    if (await Promise.race([done, inbox.next().then(() => false)])) return true;
  }
  return false;
}

async function main(): Promise<number> {
  const forked = typeof process.send === 'function';
  const queue = process.argv[2];
  if (!queue) throw new ConfigError('usage: worker <queue>');
  const config = loadConfig();
  const logger = createLogger(`worker:${queue}`, config.logLevel);
  const tracing = startTracing(`jobvisor-worker-${queue}`);
  const handler = await loadHandler(queue, process.env.JOBVISOR_HANDLER_MODULE);
  const store = await openStore(config, (line) => logger.warn({ queue }, line));
  // Once the supervisor is gone the channel is closed: a send then must not throw (it would crash a draining worker).
  const send: Send = forked ? (message) => { if (process.connected) process.send?.(message, undefined, {}, () => {}); } : undefined;
  const settings = runtimeSettings(config, queue);
  const runtime = startRuntime({ store, queue, handler, logger, send, ...settings });
  const inbox = new Inbox();
  listen(inbox, runtime, send);
  // The supervisor may have died while this process was still starting, before the listeners existed.
  if (forked && !process.connected) inbox.request('drain');
  // Ready means fetching: a replacement that only said so before its connection was up would leave a gap.
  // One that cannot fetch is never taken as ready: the supervisor counts its exit as a crash and backs off.
  const startFailure = await runtime.ready().then(() => undefined, (error: unknown) => error);
  if (startFailure) {
    logger.error({ queue, err: startFailure }, 'worker could not start fetching');
    await runtime.close();
    await store.close();
    return START_FAILED_EXIT;
  }
  send?.({ type: 'ready' });
  logger.info({ queue, concurrency: settings.concurrency, mode: store.mode }, 'worker started');

  while (!inbox.requested) await inbox.next();
  logger.info({ queue, active: runtime.stats.active }, 'draining');
  if (!(await drained(inbox, runtime))) {
    // Leave at once: the supervisor releases the active jobs, or BullMQ's stalled check recovers them.
    logger.warn({ queue, active: runtime.stats.active }, 'forced stop; active jobs will be released or recovered as stalled');
    return 1;
  }
  await sendFinalMetrics(runtime.metrics.registry);
  await tracing?.shutdown();
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
