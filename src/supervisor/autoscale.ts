// When a queue should run one process more or one fewer on this host, as pure
// functions of numbers (README, Autoscaling). autoscaler.ts keeps each queue's
// state between ticks and reads the backlog; supervisor.ts starts and drains.
import type { ProcessRange } from '../lib/config.js';
import { largest, underPressure, type HostMemory } from './policy.js';

export interface AutoscaleSettings {
  /** A queue with idle capacity this long loses one process. */
  idleMs: number;
  /** At least this long between two steps of one queue, either way: each step is seen before the next. */
  minIntervalMs: number;
  /** A step waits a random 0…jitterMs once its need is seen, and is taken only if the need holds. */
  jitterMs: number;
  /** How often the backlog is read from the store. */
  pollMs: number;
  /** A backlog read older than this is not acted on: the store is not answering, and no step beats a blind one. */
  staleMs: number;
}

export const DEFAULT_AUTOSCALE: AutoscaleSettings = { idleMs: 60_000, minIntervalMs: 5_000, jitterMs: 2_000, pollMs: 1_000, staleMs: 10_000 };

/** A queue's backlog as the store shows it to every host. */
export interface Backlog {
  /** Jobs ready to run now: not delayed, not a parent waiting on its children. */
  ready: number;
  /** Since when the oldest ready job has waited; null when none does. */
  waitingSince: number | null;
  paused: boolean;
  /** Processes of the queue fetching on every host (the registry's records not draining). */
  fleetLive: number;
  readAt: number;
}

/** One queue on this host, as the autoscaler sees it at one tick. */
export interface QueueLoad {
  range: ProcessRange;
  desired: number;
  /** Processes starting or fetching (a worker and its recycle replacement count once). */
  live: number;
  /** Of them, not yet fetching: a step still under way. */
  starting: number;
  concurrency: number;
  /** Jobs running in this host's processes of the queue, from their heartbeats. */
  active: number;
  /** Jobs this host's processes of the queue finish per second, lately. */
  finishedPerSecond: number;
  targetWaitMs: number;
  /** Host memory pressure holds the queue's fetching. */
  held: boolean;
  crashLooping: boolean;
  backlog?: Backlog;
}

/** What the host can give one more process. */
export interface HostRoom {
  memory?: HostMemory;
  minAvailableRatio: number;
  /** The budgets of every process this supervisor runs, draining ones included. */
  budgetsBytes: number;
  /** The budget of one more process of this queue. */
  budgetBytes: number;
}

export type ScaleStep = 'up' | 'down' | 'hold';
export type ScaleReason =
  | 'oldest_wait' | 'backlog' | 'idle' // steps
  | 'max' | 'pressure' | 'no_room' | 'crash_looping'; // holds: more is needed and cannot be had

export interface ScaleDecision {
  step: ScaleStep;
  reason: ScaleReason;
  detail: string;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** A paused queue, or one held on this host, has nothing this host could run. */
export function runnable(load: Pick<QueueLoad, 'held' | 'backlog'>): number {
  return !load.backlog || load.backlog.paused || load.held ? 0 : load.backlog.ready;
}

/**
 * Jobs the queue's processes can start within the target wait: the free slots now, plus
 * what finishes meanwhile. Measured on this host, it stands for every host's processes.
 */
export function startableWithin(load: QueueLoad): number {
  const live = Math.max(1, load.live);
  const perProcess = Math.max(0, load.concurrency - load.active / live) + (load.finishedPerSecond / live) * (load.targetWaitMs / 1000);
  return Math.floor(perProcess * Math.max(load.live, load.backlog?.fleetLive ?? 0));
}

/** Why the queue needs one process more, if it does. */
export function needsMore(load: QueueLoad, now: number): ScaleDecision | undefined {
  const ready = runnable(load);
  if (ready === 0) return undefined;
  const waited = now - (load.backlog!.waitingSince ?? now);
  if (waited > load.targetWaitMs) {
    return { step: 'up', reason: 'oldest_wait', detail: `the oldest ready job has waited ${seconds(waited)}, over the ${seconds(load.targetWaitMs)} target` };
  }
  const startable = startableWithin(load);
  if (ready > startable) {
    return { step: 'up', reason: 'backlog', detail: `${ready} jobs ready, over the ${startable} the live processes can start within ${seconds(load.targetWaitMs)}` };
  }
  return undefined;
}

/** One more budget fits: the host stays out of pressure now, and would if every process grew to its budget. */
export function hostHasRoom(room: HostRoom): boolean {
  if (!room.memory) return true; // unknown, as for a fixed count
  const { totalBytes, availableBytes } = room.memory;
  const floor = totalBytes * room.minAvailableRatio;
  return availableBytes - room.budgetBytes >= floor && room.budgetsBytes + room.budgetBytes <= totalBytes - floor;
}

/** Why a needed step up cannot be taken: memory pressure first, whatever the backlog. */
export function upVeto(load: QueueLoad, room: HostRoom): ScaleDecision | undefined {
  if (room.memory && underPressure(room.memory, room.minAvailableRatio)) {
    return { step: 'hold', reason: 'pressure', detail: 'the host is under memory pressure' };
  }
  if (load.desired >= load.range.max) return { step: 'hold', reason: 'max', detail: `at the maximum, ${load.range.max}` };
  if (load.crashLooping) return { step: 'hold', reason: 'crash_looping', detail: 'the queue is crash-looping' };
  if (!hostHasRoom(room)) return { step: 'hold', reason: 'no_room', detail: 'no room on the host for one more memory budget' };
  return undefined;
}

/** Idle capacity: nothing to run, and one process fewer could hold every running job. */
export function hasIdleCapacity(load: QueueLoad): boolean {
  return load.backlog !== undefined && runnable(load) === 0 && load.active <= (load.live - 1) * load.concurrency;
}

/** What a queue's autoscaler remembers between ticks. */
export interface ScaleTimers {
  lastStepAt: number;
  /** Since when the queue has had idle capacity; null while it has not. */
  idleSince: number | null;
  /** A step that is needed, waiting out its jitter until `at`. */
  pending: { step: 'up' | 'down'; at: number } | null;
}

export const NO_STEP: ScaleTimers = { lastStepAt: -Infinity, idleSince: null, pending: null };

/** The step the queue needs now, if any, before jitter and the minimum interval. */
export function wantedStep(load: QueueLoad, room: HostRoom, idleSince: number | null, now: number, settings: Pick<AutoscaleSettings, 'idleMs'>): ScaleDecision | undefined {
  const more = needsMore(load, now);
  if (more) return upVeto(load, room) ?? more;
  if (idleSince === null || load.desired <= load.range.min || now - idleSince < settings.idleMs) return undefined;
  return { step: 'down', reason: 'idle', detail: `idle capacity for ${seconds(now - idleSince)} (${load.active} jobs running on ${load.live} processes of ${load.concurrency})` };
}

/**
 * One tick of a queue's autoscaler: the decision to act on or report (a step, or a
 * hold: more needed and refused), and the timers after it. Nothing while the backlog
 * is stale, a step is still starting, or within the minimum interval and the jitter.
 */
export function decide(
  load: QueueLoad, room: HostRoom, timers: ScaleTimers, now: number, settings: AutoscaleSettings, random: () => number,
): { decision?: ScaleDecision; timers: ScaleTimers } {
  if (!load.backlog || now - load.backlog.readAt > settings.staleMs || load.range.min === load.range.max) {
    return { timers: { ...timers, idleSince: null, pending: null } };
  }
  const idleSince = hasIdleCapacity(load) ? (timers.idleSince ?? now) : null;
  const wanted = wantedStep(load, room, idleSince, now, settings);
  if (!wanted || wanted.step === 'hold') return { decision: wanted, timers: { ...timers, idleSince, pending: null } };
  if (load.starting > 0 || now - timers.lastStepAt < settings.minIntervalMs) return { timers: { ...timers, idleSince, pending: null } };
  const pending = timers.pending?.step === wanted.step ? timers.pending : { step: wanted.step, at: now + random() * settings.jitterMs };
  if (now < pending.at) return { timers: { ...timers, idleSince, pending } };
  return { decision: wanted, timers: { lastStepAt: now, idleSince: null, pending: null } };
}

/**
 * The process a step down drains: the largest. Scaling down is there to give memory
 * back, and the largest gives the most (and is the nearest to a memory recycle anyway);
 * draining the youngest would keep the grown heaps and leave the idle host bigger.
 */
export function scaleDownVictim<T extends { rss: number }>(workers: readonly T[]): T | undefined {
  return largest(workers);
}
