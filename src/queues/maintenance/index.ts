// maintenance: housekeeping such as cache-cleanup. It deletes files, so only
// admin keys may enqueue to it.
import { defineQueue } from '../define.js';
import { maintenanceSchema } from './schema.js';

export default defineQueue({
  name: 'maintenance',
  defaults: { concurrency: 1, maxMemoryMb: 256, drainTimeoutMs: 30_000, rank: 9, targetWaitMs: 300_000 },
  access: 'admin',
  schema: maintenanceSchema,
  handler: () => import('./handler.js'),
  schedules: [{ name: 'cache-cleanup', cron: '0 3 * * 0', payload: { maxAgeDays: 30 }, priority: 9, enabled: true }],
});
