// Entry of the api process: `node dist/api/server.js`. Listens on HOST:PORT; on
// SIGTERM or SIGINT it stops accepting, lets in-flight requests finish (up to
// SHUTDOWN_TIMEOUT_MS), closes the store and exits 0. A second signal forces.
// Signal handlers only record; main() acts.
import http from 'node:http';
import { QUEUE_NAMES } from '../queues/index.js';
import { loadConfig, type Config } from '../lib/config.js';
import { createLogger, type Logger } from '../lib/logger.js';
import { openStore, type Store } from '../lib/store/index.js';
import { openDashboard, type Dashboard } from '../lib/store/dashboard.js';
import { createApp } from './app.js';
import { runMain } from '../lib/entry.js';
import { startTracing } from '../lib/tracing.js';

const DASHBOARD_PATH = '/admin/queues';
const WARM_UP_MS = 10_000;

function listen(server: http.Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** The dashboard, or none: a store that refuses bull-board must not keep the api down. */
async function dashboardOrNone(config: Config, logger: Logger): Promise<Dashboard | undefined> {
  try {
    return await openDashboard(config, QUEUE_NAMES, DASHBOARD_PATH);
  } catch (error) {
    logger.warn({ err: error }, 'dashboard unavailable; /admin/queues answers 404');
    return undefined;
  }
}

/**
 * The first store calls pay for connecting (on PostgreSQL, for creating BullMQ's tables and jobvisor's
 * side data too): pay now, not on the first client's request. A store that is down does not hold the start up for long.
 */
async function warmUp(store: Store): Promise<void> {
  const calls = Promise.allSettled([store.ping(WARM_UP_MS), store.listProcesses(), ...QUEUE_NAMES.map((queue) => store.counts(queue))]);
  await Promise.race([calls, new Promise((resolve) => setTimeout(resolve, WARM_UP_MS).unref())]);
}

/** Where the server really listens, as the OS says, in the log and to a parent that forked it. */
function announce(server: http.Server, config: Config, logger: Logger, details: Record<string, unknown>): void {
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const host = typeof address === 'object' && address ? address.address : config.host;
  const shown = host.includes(':') ? `[${host}]` : host;
  logger.info({ host, port, ...details }, `api listening on http://${shown}:${port}`);
  process.send?.({ type: 'api-listening', port });
}

/** Signals only count and wake; `untilSignal` and `closeGracefully` act on them. */
const signals = { count: 0, wake: () => {} };

function untilSignal(): Promise<void> {
  const onSignal = () => {
    signals.count++;
    signals.wake();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  process.on('disconnect', onSignal); // the runner that started us is gone
  return new Promise((resolve) => (signals.wake = resolve));
}

/** Stops accepting and lets in-flight requests finish, up to the deadline or a second signal. */
async function closeGracefully(server: http.Server, deadlineMs: number, logger: Logger): Promise<void> {
  logger.info('shutting down: no new connections, finishing in-flight requests');
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  // A keep-alive connection turns idle when its last response is sent; close it then.
  const reaper = setInterval(() => server.closeIdleConnections(), 100);
  server.closeIdleConnections();
  const forced = new Promise<'forced'>((resolve) => {
    setTimeout(() => resolve('forced'), deadlineMs).unref();
    signals.wake = () => signals.count > 1 && resolve('forced');
  });
  if ((await Promise.race([closed.then(() => 'closed' as const), forced])) === 'forced') {
    logger.warn('in-flight requests cut short');
    server.closeAllConnections();
  }
  clearInterval(reaper);
}

async function main(): Promise<number> {
  const config = loadConfig();
  const logger = createLogger('api', config.logLevel, { buffered: true });
  const tracing = startTracing('jobvisor-api');
  // Fail fast: a call made while the store is down is a 503 and nothing else, never a job created later.
  const store = await openStore(config, (line) => logger.warn(line), { failFast: true });
  const dashboard = await dashboardOrNone(config, logger);
  await warmUp(store);
  const { app, authEnabled } = createApp({ store, config, logger, ...(dashboard ? { dashboard: dashboard.router } : {}) });
  if (!authEnabled) logger.warn('no API_KEYS or ADMIN_API_KEYS set: the api is OPEN to anyone who can reach it');

  const server = http.createServer(app);
  server.keepAliveTimeout = 65_000; // longer than common load balancers' idle timeout, so they close first
  const signalled = untilSignal();
  await listen(server, config.port, config.host);
  announce(server, config, logger, { mode: store.mode, auth: authEnabled ? 'keys' : 'open' });

  await signalled;
  await closeGracefully(server, config.shutdownTimeoutMs, logger);
  await Promise.allSettled([dashboard?.close()]);
  await tracing?.shutdown();
  await store.close(); // last: in embedded mode it may stop the PostgreSQL this process started
  logger.info('api stopped');
  return 0;
}

runMain('api failed to start', main);
