// Hosts on this machine for the many-hosts suite: one network namespace per host, joined to the
// root namespace by its own veth pair on a private /24 the suite creates (10.213.<n>.0/24: .1 on
// the root side, where the suite's Redis listens, .2 inside). Processes run in a host under their
// own hostname (a UTS namespace). Cutting a host sets the root side of its link down: its packets
// then vanish without a reset, as in a real partition.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';

/** Every namespace and root-side link the suite makes starts with this, so leftovers are found by name. */
const NAME_PREFIX = 'jvh-';
const SUBNET = '10.213';

export interface HostNet {
  /** host-a, host-b…: the hostname its processes see, and the registry's host field. */
  hostname: string;
  /** The namespace, and the root-side end of its link (the same name: they live in different namespaces). */
  ns: string;
  /** The address of the root side, where Redis listens for this host. */
  gateway: string;
  /** The host's own address, where its api listens. */
  address: string;
}

function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Root, iproute2 with network namespaces, and util-linux's unshare with hostname: what building hosts needs; else why not. */
export function canBuildHosts(): string | undefined {
  if (process.getuid?.() !== 0) return 'the many-hosts suite needs root (ip netns add)';
  const tools: [string, string[]][] = [['ip', ['netns', 'list']], ['unshare', ['--version']], ['hostname', []]];
  for (const [tool, args] of tools) {
    try {
      execFileSync(tool, args, { stdio: 'ignore' });
    } catch {
      return `the many-hosts suite needs \`${tool}\` (iproute2 with network namespaces, util-linux, hostname)`;
    }
  }
  return undefined;
}

/** A crashed earlier run's namespaces, their processes and their links gone, and its Redis (found listening on the suite's subnet). */
export function removeLeftovers(): void {
  for (const line of execFileSync('ss', ['-Hltnp'], { encoding: 'utf8' }).split('\n')) {
    if (!line.includes(` ${SUBNET}.`)) continue;
    for (const [, pid] of line.matchAll(/pid=(\d+)/g)) killPid(Number(pid));
  }
  const namespaces = ip('netns', 'list').split('\n').map((line) => line.split(' ')[0]!).filter((name) => name.startsWith(NAME_PREFIX));
  for (const ns of namespaces) removeHost(ns);
  for (const line of ip('-o', 'link', 'show').split('\n')) {
    const name = /^\d+: ([^:@]+)/.exec(line)?.[1];
    if (name?.startsWith(NAME_PREFIX)) tryIp('link', 'del', name);
  }
}

function tryIp(...args: string[]): void {
  try {
    ip(...args);
  } catch { /* already gone */ }
}

/** Host number `n` (1, 2, 3…): host-a on 10.213.1.0/24, host-b on 10.213.2.0/24. */
export function createHost(n: number): HostNet {
  const letter = String.fromCharCode(96 + n);
  const host: HostNet = { hostname: `host-${letter}`, ns: `${NAME_PREFIX}${letter}`, gateway: `${SUBNET}.${n}.1`, address: `${SUBNET}.${n}.2` };
  ip('netns', 'add', host.ns);
  ip('link', 'add', host.ns, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', host.ns);
  ip('addr', 'add', `${host.gateway}/24`, 'dev', host.ns);
  ip('link', 'set', host.ns, 'up');
  ip('-n', host.ns, 'addr', 'add', `${host.address}/24`, 'dev', 'eth0');
  ip('-n', host.ns, 'link', 'set', 'eth0', 'up');
  ip('-n', host.ns, 'link', 'set', 'lo', 'up');
  return host;
}

/** Deletes the namespace, and its veth pair with it, once nothing runs in it. */
export function removeHost(ns: string): void {
  killProcessesIn(ns);
  tryIp('netns', 'del', ns);
  tryIp('link', 'del', ns);
}

/** SIGKILL to every process in the namespace: the supervisors, workers and api a test started there. */
export function killProcessesIn(ns: string): void {
  let pids: number[] = [];
  try {
    pids = ip('netns', 'pids', ns).split('\n').filter(Boolean).map(Number);
  } catch { /* no such namespace */ }
  for (const pid of pids) killPid(pid);
}

function killPid(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch { /* gone */ }
}

/** The partition: the root side of the host's link goes down, and its packets vanish. */
export function cut(host: HostNet): void {
  ip('link', 'set', host.ns, 'down');
}

export function heal(host: HostNet): void {
  ip('link', 'set', host.ns, 'up');
}

/**
 * Runs `node <args>` inside the host under its hostname. `ip netns exec`, `unshare` (without
 * --fork) and the shell's `exec` each replace themselves, so the child's pid is node's own.
 */
export function spawnInHost(host: HostNet, nodeArgs: string[], options: { env: NodeJS.ProcessEnv; cwd: string }): ChildProcess {
  return spawn('ip', ['netns', 'exec', host.ns, 'unshare', '--uts', 'sh', '-c', 'hostname "$0" && exec "$@"',
    host.hostname, process.execPath, ...nodeArgs], { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
}
