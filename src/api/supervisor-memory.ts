// A supervisor's word on each of its queues (restart counts by reason, the
// crash-loop mark) reaches the registry only on its workers' records. A queue
// can be left with no record for a while: between a crash and its restart (up
// to the backoff cap, 60 s), or when a replacement beats before its supervisor
// has spoken to it. Remembering the last word per supervisor bridges those gaps,
// so that a crash-looping queue does not look healthy between two restarts.
import { RESTART_REASONS } from '../lib/metric-names.js';
import type { ProcessRecord } from '../lib/store/index.js';

/** Longer than the crash backoff cap: a supervisor none of whose workers is seen this long is gone. */
const FORGET_AFTER_MS = 2 * 60_000;

interface Word {
  restarts: Record<string, number>;
  crashLooping: boolean;
}

/** What the records say now, per supervisor and queue. */
function wordsIn(records: readonly ProcessRecord[]): Map<string, Map<string, Word>> {
  const words = new Map<string, Map<string, Word>>();
  for (const record of records) {
    if (!record.restarts) continue;
    // A record that carries counts but names no supervisor speaks for itself alone.
    const supervisor = record.supervisor ?? record.id;
    const byQueue = words.get(supervisor) ?? new Map<string, Word>();
    words.set(supervisor, byQueue);
    // Workers of one queue repeat the same counts, one heartbeat apart at most: the highest is the latest.
    const word = byQueue.get(record.queue) ?? { restarts: {}, crashLooping: false };
    for (const [reason, count] of Object.entries(record.restarts)) word.restarts[reason] = Math.max(word.restarts[reason] ?? 0, count);
    word.crashLooping ||= record.crashLooping === true;
    byQueue.set(record.queue, word);
  }
  return words;
}

export class SupervisorMemory {
  /** supervisor id → queue → its last word. */
  private readonly words = new Map<string, Map<string, Word>>();
  private readonly lastSeen = new Map<string, number>();

  /** Learn from a fresh listing of the registry. */
  observe(records: readonly ProcessRecord[], now = Date.now()): void {
    for (const record of records) if (record.supervisor) this.lastSeen.set(record.supervisor, now);
    for (const [supervisor, byQueue] of wordsIn(records)) {
      this.lastSeen.set(supervisor, now);
      const known = this.words.get(supervisor) ?? new Map<string, Word>();
      for (const [queue, word] of byQueue) known.set(queue, word);
      this.words.set(supervisor, known);
    }
    for (const [supervisor, at] of this.lastSeen) {
      if (now - at <= FORGET_AFTER_MS) continue;
      this.lastSeen.delete(supervisor);
      this.words.delete(supervisor);
    }
  }

  /** A queue's restarts summed over the supervisors that run it, and whether any marks it crash-looping. */
  queue(queue: string): { restarts: Record<string, number>; crashLooping: boolean } {
    const restarts: Record<string, number> = Object.fromEntries(RESTART_REASONS.map((reason) => [reason, 0]));
    let crashLooping = false;
    for (const byQueue of this.words.values()) {
      const word = byQueue.get(queue);
      if (!word) continue;
      for (const [reason, count] of Object.entries(word.restarts)) restarts[reason] = (restarts[reason] ?? 0) + count;
      crashLooping ||= word.crashLooping;
    }
    return { restarts, crashLooping };
  }
}
