// Every message between the supervisor and its worker processes. One union
// per direction, discriminated by `type`, so both sides switch exhaustively.

export interface HeartbeatMessage {
  type: 'heartbeat';
  rss: number;
  heapUsed: number;
  active: number;
  processed: number;
  failed: number;
  eventLoopLagMs: number;
  /** Jobs whose handler ignored its aborted signal past the grace period and still runs. */
  zombies: number;
}

export interface ReadyMessage {
  type: 'ready';
}

export type WorkerMessage = HeartbeatMessage | ReadyMessage;

/** Stop fetching, finish active jobs, exit 0. */
export interface DrainMessage {
  type: 'drain';
}

/** Hold or release fetching under host memory pressure; active jobs go on. */
export interface HoldMessage {
  type: 'hold';
  held: boolean;
}

export type SupervisorMessage = DrainMessage | HoldMessage;

export function isWorkerMessage(value: unknown): value is WorkerMessage {
  const type = (value as { type?: unknown } | null)?.type;
  return type === 'heartbeat' || type === 'ready';
}

export function isSupervisorMessage(value: unknown): value is SupervisorMessage {
  const type = (value as { type?: unknown } | null)?.type;
  return type === 'drain' || type === 'hold';
}
