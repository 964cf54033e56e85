// The embedded PostgreSQL as tests look at it from outside: its data folder's
// password, and whether a server takes a password.
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';

export const embeddedPassword = (dataDir: string) => fs.readFileSync(path.join(dataDir, 'postgres.password'), 'utf8').trim();

/** Whether the server on 127.0.0.1:port lets `postgres` in with this password (false too when nothing listens). */
export async function acceptsPassword(port: number, password: string): Promise<boolean> {
  const client = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', password, database: 'postgres', connectionTimeoutMillis: 2000 });
  client.on('error', () => {});
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}
