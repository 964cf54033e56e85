// Entry of the supervisor process (workers/index.js, `npm run supervisor`, pm2's
// `workers` app). It owns the store connection (and so the embedded PostgreSQL,
// started before any worker is forked), the metrics port and the signals.
import { pino } from 'pino';
import { loadConfig } from '../lib/config.js';
import { declaredSchedules, reconcileSchedules } from '../queues/schedules.js';
import { openStore } from '../lib/store/index.js';
import { readHostMemory } from './memory.js';
import { startMetricsServer } from './metrics-server.js';
import { backlogReader } from './autoscaler.js';
import { loadAutoscale, loadPolicy } from './settings.js';
import { Supervisor } from './supervisor.js';
import { forkWorker } from './worker-process.js';
import { workerLaunch } from './worker-user.js';
import { runMain } from '../lib/entry.js';

async function main(): Promise<number> {
  const config = loadConfig();
  const schedules = declaredSchedules(); // a bad CRON_* value stops the process here, before any fork
  const policy = loadPolicy();
  const autoscale = loadAutoscale();
  // `pid` in a supervisor line names the worker it is about; the supervisor's own is `supervisorPid`.
  const logger = pino({ level: config.logLevel, base: { role: 'supervisor', supervisorPid: process.pid } });

  // Signal handlers only record, from the first moment (the embedded server may take seconds to
  // start); the loop in supervisor.run() acts. A second SIGINT forces.
  let supervisor: Supervisor | undefined;
  let pending: { force: boolean } | undefined;
  let interrupts = 0;
  const request = (force: boolean) => {
    if (supervisor) supervisor.requestStop(force);
    else pending = { force: force || (pending?.force ?? false) };
  };
  process.on('SIGTERM', () => request(false));
  process.on('SIGINT', () => request(++interrupts > 1));

  const store = await openStore(config, (line) => logger.warn(line));
  let metrics: Awaited<ReturnType<typeof startMetricsServer>> | undefined;
  try {
    // Whichever supervisor starts brings the stored schedules in line with the declared ones; any number may at once.
    logger.info({ schedules: await reconcileSchedules(store, schedules) }, 'schedules reconciled');
    const launch = await workerLaunch(config);
    if (launch.user) logger.info({ user: launch.user.name, uid: launch.user.uid }, 'workers run as an unprivileged user');
    supervisor = new Supervisor({
      config, policy, logger, store, readMemory: readHostMemory, startWorker: forkWorker(process.env, launch), autoscale, readBacklog: backlogReader(store),
    });
    const running = supervisor;
    metrics = await startMetricsServer(config.metricsPort, () => running.metricsExposition(), () => running.hostReadiness());
    logger.info({ metricsPort: metrics.port }, 'metrics listening');
    if (pending) supervisor.requestStop(pending.force);
    return await supervisor.run();
  } finally {
    await metrics?.close().catch(() => {});
    await store.close().catch(() => {});
  }
}

runMain('supervisor failed', main);
