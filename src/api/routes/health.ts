// Liveness and readiness, for load balancers: no key needed, and readiness
// never hangs (each check has its own timeout).
import { Router } from 'express';
import type { ApiContext } from '../context.js';
import { readiness } from '../stats.js';

const CHECK_TIMEOUT_MS = 1000;

export function healthRouter(ctx: ApiContext): Router {
  const router = Router();
  const lastLive = new Map<string, number>(); // per api process: when each queue last had a live worker

  router.get('/health', (_req, res) => {
    res.json({ status: 'ok', uptimeMs: Math.round(process.uptime() * 1000) });
  });

  router.get('/health/ready', async (_req, res) => {
    const { ready, failed, checks, unreachableHosts } = await readiness(ctx.store, ctx.config.workerQueues, ctx.call, CHECK_TIMEOUT_MS, lastLive);
    if (ready) return void res.json({ status: 'ready', checks, unreachableHosts });
    const message = `not ready: ${failed.map((name) => checks[name as keyof typeof checks].error ?? name).join('; ')}`;
    res.status(503).json({ status: 'not_ready', failed, checks, unreachableHosts, error: { code: 'not_ready', message } });
  });

  return router;
}
