// Holds the embedded PostgreSQL for the runner. It runs detached, in its own
// process group, so that a Ctrl-C in the terminal reaches the runner alone and
// the server stays up while the api and the workers drain; the runner stops it
// last (SIGTERM), or it stops by itself when the runner is gone.
import fs from 'node:fs/promises';
import path from 'node:path';
import { loadConfig } from '../lib/config.js';
import { createLogger } from '../lib/logger.js';
import { ensureEmbeddedPostgres } from '../lib/store/embedded.js';

export interface PostgresReady {
  type: 'postgres-ready';
  owned: boolean;
  /** The postmaster's pid, when this process started it. */
  postmasterPid?: number;
}

async function postmasterPid(dataDir: string): Promise<number | undefined> {
  const text = await fs.readFile(path.join(dataDir, 'postgres', 'postmaster.pid'), 'utf8').catch(() => '');
  const pid = Number(text.split('\n')[0]);
  return pid > 0 ? pid : undefined;
}

async function main(): Promise<number> {
  const config = loadConfig();
  const logger = createLogger('postgres', config.logLevel);
  const server = await ensureEmbeddedPostgres(config.dataDir, config.embeddedPgPort, (line) => logger.warn(line));
  const ready: PostgresReady = { type: 'postgres-ready', owned: server.owned, postmasterPid: server.owned ? await postmasterPid(config.dataDir) : undefined };
  logger.info({ port: config.embeddedPgPort, dataDir: config.dataDir, owned: server.owned, postmasterPid: ready.postmasterPid }, 'embedded PostgreSQL ready');
  process.send?.(ready);

  await new Promise<void>((resolve) => {
    for (const event of ['SIGTERM', 'SIGINT', 'disconnect'] as const) process.once(event, () => resolve());
  });
  await server.stop();
  logger.info('embedded PostgreSQL stopped');
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: Error) => {
    process.stderr.write(`embedded PostgreSQL failed to start: ${error.stack ?? error.message}\n`);
    process.exit(1);
  },
);
