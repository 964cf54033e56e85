// maintenance: housekeeping of the output directory.
import { z } from 'zod';

export const maintenanceSchema = z.object({
  /** Remove output files last modified longer ago than this; never under a day (JOBVISOR_CLEANUP_MIN_AGE_DAYS may raise the floor). */
  maxAgeDays: z.number().min(1).default(30),
  /** Report what would go, remove nothing. */
  dryRun: z.boolean().default(false),
});
export type MaintenanceJob = z.infer<typeof maintenanceSchema>;
