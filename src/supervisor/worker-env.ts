// What a worker process is given of the supervisor's environment: what its
// handler needs (store URLs, queue settings, JOBVISOR_*, its own queue's
// provider key), never the api's keys. A handler runs job data that anyone
// with a user key chose; whatever it could be tricked into reading must not
// hold a key (README, Security model: what runs as whom).
import { QUEUES, isQueueName } from '../queues/index.js';

/** The api's credentials: no worker needs them. */
const API_SECRETS = ['API_KEYS', 'ADMIN_API_KEYS'];

/** Webhook signing secrets, whatever their prefix: `ACME_WEBHOOK_SECRET`, `WEBHOOK_TOKEN`. */
const WEBHOOK_SECRET = /WEBHOOK/i;
const CREDENTIAL_WORD = /SECRET|TOKEN|KEY|PASSWORD/i;

/** `NAME` matches itself; `PREFIX*` every name that starts with PREFIX. */
export function matchesDenyEntry(variable: string, entry: string): boolean {
  return entry.endsWith('*') ? variable.startsWith(entry.slice(0, -1)) : variable === entry;
}

/** Every queue's declared secrets but this queue's own. */
function othersSecrets(queue: string): Set<string> {
  const own = new Set(isQueueName(queue) ? (QUEUES[queue].secrets ?? []) : []);
  const all = Object.values(QUEUES).flatMap((definition) => definition.secrets ?? []);
  return new Set(all.filter((name) => !own.has(name)));
}

/** Whether a variable is withheld from this queue's workers; the operator's deny list wins over everything. */
export function withheld(variable: string, queue: string, deny: readonly string[]): boolean {
  if (deny.some((entry) => matchesDenyEntry(variable, entry))) return true;
  if (API_SECRETS.includes(variable)) return true;
  // A queue's own declared secret reaches it (the webhooks queue signs with JOBVISOR_WEBHOOK_SECRET); no other queue's.
  if (isQueueName(queue) && QUEUES[queue].secrets?.includes(variable)) return false;
  if (WEBHOOK_SECRET.test(variable) && CREDENTIAL_WORD.test(variable)) return true;
  return othersSecrets(queue).has(variable);
}

/** The environment a worker of `queue` is forked with. */
export function workerEnv(env: NodeJS.ProcessEnv, queue: string, deny: readonly string[]): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([name]) => !withheld(name, queue, deny)));
}
