// The supervisor's own knobs, read from the environment beside config.ts's.
// Production keeps the defaults of README.md's supervisor policy; tests shorten the windows.
import { ConfigError } from '../lib/config.js';
import { DEFAULT_AUTOSCALE, type AutoscaleSettings } from './autoscale.js';
import { DEFAULT_POLICY, type PolicySettings } from './policy.js';

function readNumber(env: NodeJS.ProcessEnv, variable: string, fallback: number, min: number): number {
  const raw = env[variable];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min) throw new ConfigError(`${variable}: expected a number ≥ ${min}, got "${raw}"`);
  return value;
}

export function loadPolicy(env: NodeJS.ProcessEnv = process.env): PolicySettings {
  const d = DEFAULT_POLICY;
  return {
    heartbeatTimeoutMs: readNumber(env, 'HEARTBEAT_TIMEOUT_MS', d.heartbeatTimeoutMs, 1000),
    startTimeoutMs: readNumber(env, 'WORKER_START_TIMEOUT_MS', d.startTimeoutMs, 1000),
    backoffBaseMs: readNumber(env, 'BACKOFF_BASE_MS', d.backoffBaseMs, 0),
    backoffMaxMs: readNumber(env, 'BACKOFF_MAX_MS', d.backoffMaxMs, 0),
    healthyUptimeMs: readNumber(env, 'HEALTHY_UPTIME_MS', d.healthyUptimeMs, 0),
    crashLoopWindowMs: readNumber(env, 'CRASH_LOOP_WINDOW_MS', d.crashLoopWindowMs, 1),
    crashLoopCrashes: readNumber(env, 'CRASH_LOOP_CRASHES', d.crashLoopCrashes, 1),
    overBudgetBeats: d.overBudgetBeats,
    minAvailableRatio: readNumber(env, 'MEMORY_PRESSURE_MIN_AVAILABLE_PERCENT', d.minAvailableRatio * 100, 0) / 100,
    pressureCooldownMs: readNumber(env, 'MEMORY_PRESSURE_COOLDOWN_MS', d.pressureCooldownMs, 0),
  };
}

export function loadAutoscale(env: NodeJS.ProcessEnv = process.env): AutoscaleSettings {
  const d = DEFAULT_AUTOSCALE;
  return {
    idleMs: readNumber(env, 'AUTOSCALE_IDLE_MS', d.idleMs, 0),
    minIntervalMs: readNumber(env, 'AUTOSCALE_INTERVAL_MS', d.minIntervalMs, 0),
    jitterMs: readNumber(env, 'AUTOSCALE_JITTER_MS', d.jitterMs, 0),
    pollMs: readNumber(env, 'AUTOSCALE_POLL_MS', d.pollMs, 50),
    staleMs: readNumber(env, 'AUTOSCALE_STALE_MS', d.staleMs, 100),
  };
}
