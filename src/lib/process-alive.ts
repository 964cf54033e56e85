// Whether a process of this host is alive: signal 0 checks without sending anything.
// EPERM means it is alive and another user's.
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
