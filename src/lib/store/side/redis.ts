// Shared Redis plumbing for the side data: one client per store, beside BullMQ's own
// connections, and plain keys under the deployment's prefix (`<prefix>:jv:…`).
import { Redis, type ChainableCommander } from 'ioredis';

/**
 * Runs a pipeline or MULTI and returns each command's reply. ioredis resolves a batch even when
 * some of its commands failed (a WRONGTYPE, an OOM refusal), giving each error in its result:
 * thrown here, as a lone command's would be, so no side write fails unseen.
 */
export async function execAll(batch: ChainableCommander): Promise<unknown[]> {
  const results = (await batch.exec()) ?? [];
  const failed = results.find(([error]) => error);
  if (failed) throw failed[0];
  return results.map(([, value]) => value);
}

export interface RedisSide {
  readonly client: Redis;
  key(...parts: string[]): string;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export function openRedisSide(url: string, prefix: string, failFast = false): RedisSide {
  // Unlike BullMQ's connections, a side-data call gives up after two retries: the caller reports it.
  // Failing fast, nothing waits for a reconnect to be sent (or sent again) after its caller gave up.
  const client = new Redis(url, failFast
    ? { maxRetriesPerRequest: 0, enableOfflineQueue: false, autoResendUnfulfilledCommands: false }
    : { maxRetriesPerRequest: 2, enableOfflineQueue: true });
  client.on('error', () => {});
  return {
    client,
    key: (...parts) => [prefix, 'jv', ...parts].join(':'),
    ping: async () => {
      if (client.status !== 'ready' && client.options.enableOfflineQueue === false) {
        await new Promise<void>((resolve, reject) => {
          client.once('ready', resolve);
          setTimeout(() => reject(new Error('side data: not connected')), 5000).unref();
        });
      }
      await client.ping();
    },
    close: async () => {
      await client.quit().catch(() => client.disconnect());
    },
  };
}
