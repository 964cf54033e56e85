// Server-Sent Events for the event streams (README, "Event streams"): the headers that
// keep proxies from buffering, one frame writer, and one heartbeat timer for every open
// stream of the process, so that an idle subscriber costs a set entry and its socket,
// never a timer of its own.
import type { Request, Response } from 'express';

/** Comment lines every this often keep proxies (and their idle timeouts) from closing a quiet stream. */
export const HEARTBEAT_MS = 15_000;

export interface EventStream {
  send(event: string, data: unknown, id?: string): void;
  end(): void;
  readonly closed: boolean;
  /** Runs once, when the stream ends from either side. */
  onClose(cleanup: () => void): void;
}

const open = new Set<Response>();
let heartbeat: NodeJS.Timeout | undefined;

function armHeartbeat(): void {
  if (heartbeat || open.size === 0) return;
  heartbeat = setInterval(() => {
    for (const res of open) res.write(': heartbeat\n\n');
    if (open.size === 0) {
      clearInterval(heartbeat);
      heartbeat = undefined;
    }
  }, HEARTBEAT_MS);
  heartbeat.unref();
}

/** How many streams this process holds open (the bench reads it). */
export function openStreams(): number {
  return open.size;
}

export function openEventStream(req: Request, res: Response): EventStream {
  res.status(200).set({
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-cache, no-transform',
    Connection: 'keep-alive',
    'X-Accel-Buffering': 'no', // nginx: pass frames on as they come
  });
  res.flushHeaders();
  req.socket.setNoDelay(true);
  res.write('retry: 2000\n\n');
  open.add(res);
  armHeartbeat();
  const cleanups: (() => void)[] = [];
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    open.delete(res);
    for (const cleanup of cleanups.splice(0)) cleanup();
  };
  res.on('close', close);
  return {
    send(event, data, id) {
      if (closed) return;
      res.write(`${id !== undefined ? `id: ${id}\n` : ''}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    },
    end() {
      close();
      res.end();
    },
    get closed() {
      return closed;
    },
    onClose(cleanup) {
      if (closed) cleanup();
      else cleanups.push(cleanup);
    },
  };
}
