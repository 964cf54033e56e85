// Workers as an unprivileged user (JOBVISOR_WORKER_USER): the supervisor, as
// root, forks them with that uid and gid (libuv drops root's supplementary
// groups on the way). The user must be able to write the output folder, so the
// supervisor hands it the folders there at start, and refuses to start when a
// folder above it would keep the user out.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { ConfigError, type Config } from '../lib/config.js';
import { readEmbeddedPassword } from '../lib/store/index.js';
import type { WorkerLaunch } from './worker-process.js';

export interface WorkerUser {
  name: string;
  uid: number;
  gid: number;
}

/** A user name or uid, looked up through the host's user database (getent, so NSS users count). */
export function resolveWorkerUser(spec: string): WorkerUser {
  let entry = '';
  try {
    entry = execFileSync('getent', ['passwd', spec], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split('\n')[0] ?? '';
  } catch {
    throw new ConfigError(`JOBVISOR_WORKER_USER: expected a user of this host, got "${spec}"`);
  }
  const [name, , uid, gid] = entry.split(':');
  const user = { name: name!, uid: Number(uid), gid: Number(gid) };
  if (!Number.isInteger(user.uid) || !Number.isInteger(user.gid)) throw new ConfigError(`JOBVISOR_WORKER_USER: no uid for "${spec}"`);
  if (process.getuid?.() !== 0 && process.getuid?.() !== user.uid) {
    throw new ConfigError('JOBVISOR_WORKER_USER: expected the supervisor to run as root, which alone may fork workers as another user');
  }
  return user;
}

/** Whether `user` may pass through a folder (its x bit for the user's class). */
function passable(stat: { uid: number; gid: number; mode: number }, user: WorkerUser): boolean {
  const shift = stat.uid === user.uid ? 6 : stat.gid === user.gid ? 3 : 0;
  return ((stat.mode >> shift) & 1) === 1;
}

/** The folder and every folder under it not yet the user's become the user's (files stay: their folders decide). */
async function handOver(dir: string, user: WorkerUser): Promise<void> {
  const stat = await fs.lstat(dir);
  if (stat.uid !== user.uid || stat.gid !== user.gid) await fs.lchown(dir, user.uid, user.gid);
  for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) await handOver(path.join(dir, entry.name), user);
  }
}

/** Creates the output folder if needed, hands it to the user, and checks that the user can reach it. */
export async function prepareOutputFor(outputDir: string, user: WorkerUser): Promise<void> {
  await fs.mkdir(outputDir, { recursive: true });
  await handOver(outputDir, user);
  for (let dir = path.dirname(outputDir); ; dir = path.dirname(dir)) {
    if (!passable(await fs.stat(dir), user)) {
      throw new ConfigError(`JOBVISOR_WORKER_USER: ${user.name} cannot reach the output folder ${outputDir}: ${dir} keeps it out (chmod o+x, or move JOBVISOR_OUTPUT_DIR)`);
    }
    if (dir === path.dirname(dir)) break;
  }
}

/**
 * How this supervisor forks its workers: the deny list, and the user with what it needs.
 * Called once the store is open, so that an embedded server's password exists.
 */
export async function workerLaunch(config: Pick<Config, 'workerProcess' | 'mode' | 'dataDir' | 'inputs'>): Promise<WorkerLaunch> {
  const { envDeny, user: spec } = config.workerProcess;
  if (!spec) return { envDeny };
  const user = resolveWorkerUser(spec);
  await prepareOutputFor(config.inputs.outputDir, user);
  // The password file is the supervisor's user's alone (mode 600): a worker of another user is handed the password.
  const password = config.mode === 'embedded' ? await readEmbeddedPassword(config.dataDir) : undefined;
  return { envDeny, user, ...(password ? { extraEnv: { JOBVISOR_EMBEDDED_PG_PASSWORD: password } } : {}) };
}
