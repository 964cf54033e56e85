// Every file or folder job data names is opened here, and nowhere else: only
// beneath the input roots (JOBVISOR_INPUT_ROOTS) or the output folder, checked
// on the real path (symlinks resolved) at path-segment boundaries, never under
// /proc, /sys or /dev; files are opened without following a final symlink and
// without blocking on a FIFO, and then judged by what the opened descriptor is
// (its fstat, and the path the kernel says it has), so that nothing can be
// swapped between the check and the read; reads stop at a byte cap.
// Errors name the rule that refused and echo only what the job sent.
import { constants, type Dirent } from 'node:fs';
import fs, { type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { UnrecoverableError } from '../../lib/errors.js';
import { loadInputConfig, type InputConfig } from '../../lib/config.js';

/** Kernel views: regular-looking files there are not data a job may read. */
const NEVER = ['/proc', '/sys', '/dev'];

export class InputRefusedError extends UnrecoverableError {}

const outside = (given: string) => new InputRefusedError(`${given}: outside the allowed input roots`);
const missing = (given: string) => new InputRefusedError(`${given}: no such file in the input roots`);
const notRegular = (given: string) => new InputRefusedError(`${given}: not a regular file`);

export function within(child: string, parent: string): boolean {
  return child === parent || child.startsWith(parent.endsWith(path.sep) ? parent : parent + path.sep);
}

/** The roots that exist, by their real paths (a root may itself be a symlink). */
async function realRoots(settings: InputConfig): Promise<string[]> {
  const all = [...settings.roots, settings.outputDir];
  const real = await Promise.all(all.map((root) => fs.realpath(root).catch(() => undefined)));
  return real.filter((root): root is string => root !== undefined);
}

function allowed(real: string, roots: string[]): boolean {
  return roots.some((root) => within(real, root)) && !NEVER.some((kernel) => within(real, kernel));
}

/** Where a path from job data points: absolute as given, or a relative one under each root in turn. */
function candidates(given: string, roots: string[]): string[] {
  if (given.includes('\0')) return [];
  if (path.isAbsolute(given)) {
    const absolute = path.resolve(given);
    return roots.some((root) => within(absolute, root)) ? [absolute] : [];
  }
  return roots.map((root) => path.resolve(root, given)).filter((candidate, i) => within(candidate, roots[i]!));
}

/**
 * The real path of a file or folder job data names, once it is known to lie
 * beneath a root. A path outside every root is refused before anything is
 * looked up, so the answer says nothing about what exists there.
 */
export async function resolveInput(given: string, settings: InputConfig = loadInputConfig()): Promise<string> {
  const real = await realRoots(settings);
  const declared = [...settings.roots, settings.outputDir];
  const lexical = candidates(given, [...declared, ...real.filter((root) => !declared.includes(root))]);
  if (lexical.length === 0) throw outside(given);
  for (const candidate of lexical) {
    const resolved = await fs.realpath(candidate).catch(() => undefined);
    if (resolved === undefined) continue;
    if (!allowed(resolved, real)) throw outside(given);
    return resolved;
  }
  throw missing(given);
}

/** Opens a regular file beneath the roots; the caller closes the handle. */
export async function openInput(given: string, settings: InputConfig = loadInputConfig()): Promise<FileHandle> {
  const real = await resolveInput(given, settings);
  const handle = await fs.open(real, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK).catch((error: NodeJS.ErrnoException) => {
    // A symlink swapped in after the check is ELOOP under O_NOFOLLOW; whatever else went wrong is not the job's to know.
    throw error.code === 'ELOOP' ? outside(given) : error.code === 'ENOENT' ? missing(given) : new InputRefusedError(`${given}: cannot be read`);
  });
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw notRegular(given);
    // What was opened, not what the path says now: a folder swapped for a symlink after the check shows here.
    const opened = await fs.readlink(`/proc/self/fd/${handle.fd}`).catch(() => real);
    if (!allowed(opened, await realRoots(settings))) throw outside(given);
    return handle;
  } catch (error) {
    await handle.close();
    throw error;
  }
}

/**
 * The whole file, refused past `maxBytes` (default JOBVISOR_MAX_INPUT_BYTES)
 * as it is read: the size fstat gives is only the first guess at a buffer,
 * since a file may grow while it is read.
 */
export async function readInput(given: string, signal: AbortSignal, { maxBytes, limitName = 'JOBVISOR_MAX_INPUT_BYTES', settings = loadInputConfig() }: { maxBytes?: number; limitName?: string; settings?: InputConfig } = {}): Promise<Buffer> {
  const cap = maxBytes ?? settings.maxFileBytes;
  const over = () => new InputRefusedError(`${given}: over the ${cap}-byte limit (${limitName})`);
  const handle = await openInput(given, settings);
  try {
    const { size } = await handle.stat();
    if (size > cap) throw over();
    let buffer = Buffer.allocUnsafe(Math.min(cap + 1, size + 1));
    let total = 0;
    for (;;) {
      signal.throwIfAborted();
      if (total === buffer.length) {
        if (total > cap) throw over();
        buffer = Buffer.concat([buffer, Buffer.allocUnsafe(Math.min(cap + 1, buffer.length * 2) - buffer.length)]);
      }
      const { bytesRead } = await handle.read(buffer, total, buffer.length - total, null);
      if (bytesRead === 0) return buffer.subarray(0, total);
      total += bytesRead;
    }
  } finally {
    await handle.close();
  }
}

export interface FolderFile {
  /** Relative to the folder. */
  name: string;
  mtimeMs: number;
}

/** The regular files beneath a folder under the roots; symlinks are neither followed nor listed. */
export async function listInputFolder(given: string, settings: InputConfig = loadInputConfig()): Promise<FolderFile[]> {
  const real = await resolveInput(given, settings);
  const entries: Dirent[] = await fs.readdir(real, { recursive: true, withFileTypes: true }).catch(() => {
    throw new InputRefusedError(`${given}: not a folder`);
  });
  const files = entries.filter((entry) => entry.isFile());
  const listed = await Promise.all(files.map(async (entry) => {
    const file = path.join(entry.parentPath, entry.name);
    const stat = await fs.lstat(file).catch(() => undefined);
    return stat?.isFile() ? { name: path.relative(real, file), mtimeMs: stat.mtimeMs } : undefined;
  }));
  return listed.filter((file): file is FolderFile => file !== undefined);
}
