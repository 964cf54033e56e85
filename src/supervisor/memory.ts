// How much memory the host (or the container) has left. A container's limit is
// its cgroup v2 memory.max, not the machine's RAM, so that is read first;
// /proc/meminfo's MemAvailable is the fallback outside a limited cgroup.
import fs from 'node:fs/promises';
import type { HostMemory } from './policy.js';

const CGROUP = '/sys/fs/cgroup';

/** memory.max + memory.current (+ memory.stat's inactive_file, page cache the kernel reclaims first). */
export function parseCgroup(max: string, current: string, stat = ''): HostMemory | undefined {
  const limit = max.trim();
  if (limit === 'max' || limit === '') return undefined;
  const totalBytes = Number(limit);
  const used = Number(current.trim());
  if (!Number.isFinite(totalBytes) || !Number.isFinite(used)) return undefined;
  const inactiveFile = Number(/^inactive_file (\d+)$/m.exec(stat)?.[1] ?? 0);
  return { totalBytes, availableBytes: Math.max(0, totalBytes - used + inactiveFile) };
}

export function parseMeminfo(text: string): HostMemory | undefined {
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(text)?.[1] ?? NaN);
  const total = kib('MemTotal');
  const available = kib('MemAvailable');
  if (!Number.isFinite(total) || !Number.isFinite(available)) return undefined;
  return { totalBytes: total * 1024, availableBytes: available * 1024 };
}

const read = (file: string) => fs.readFile(file, 'utf8').catch(() => '');

export async function readHostMemory(): Promise<HostMemory | undefined> {
  const [max, current, stat] = await Promise.all([read(`${CGROUP}/memory.max`), read(`${CGROUP}/memory.current`), read(`${CGROUP}/memory.stat`)]);
  return parseCgroup(max, current, stat) ?? parseMeminfo(await read('/proc/meminfo'));
}
