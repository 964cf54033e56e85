// The runner's inbox: signal and child-exit handlers only record here; the
// runner's loop takes events one at a time.
import type { ChildProcess } from 'node:child_process';
import type { ChildSpec } from './children.js';

export interface Running {
  spec: ChildSpec;
  child: ChildProcess;
  startedAt: number;
  /** Resolves once the child has exited and its output has been read. */
  exited: Promise<void>;
}

export type RunnerEvent =
  | { type: 'signal' }
  | { type: 'exit'; running: Running; code: number | null; signal: string | null }
  | { type: 'restart'; spec: ChildSpec };

export class Inbox {
  private readonly events: RunnerEvent[] = [];
  private wake: () => void = () => {};
  signals = 0;

  record(event: RunnerEvent): void {
    if (event.type === 'signal') this.signals++;
    this.events.push(event);
    this.wake();
  }

  async next(): Promise<RunnerEvent> {
    while (this.events.length === 0) await new Promise<void>((resolve) => (this.wake = resolve));
    return this.events.shift()!;
  }

  /** Resolves when a second signal asks to force the shutdown. */
  forced(): Promise<void> {
    return (async () => {
      while (this.signals < 2) await this.next();
    })();
  }
}
