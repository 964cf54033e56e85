// Tenants (README, Tenants): a user key's jobs belong to its tenant, and every
// route a user key reaches sees that tenant's jobs only. Shared by the config,
// which reads the keys, and the store, which keeps each job's tenant.

/** The tenant of a bare key in API_KEYS, of admin enqueues and schedules, and of jobs from before tenants. */
export const DEFAULT_TENANT = 'default';

/** Tenant names are plain, so that they can sit in store keys and dedup ids beside a `:`. */
export const TENANT_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
