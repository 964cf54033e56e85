// The embedded PostgreSQL's password is each data folder's own (README, Security
// model): random, kept mode 600 beside the server's files, never the old fixed
// one; a folder made with the old one is moved off it at its next start.
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { ensureEmbeddedPostgres, type EmbeddedServer } from '../../src/lib/store/embedded.js';
import { acceptsPassword as accepts, embeddedPassword as passwordOf } from '../helpers/embedded.js';
import { freePorts } from '../helpers/ports.js';

const LEGACY = 'jobvisor';


describe('security: the embedded PostgreSQL password', function () {
  this.timeout(180_000);
  const dirs = [0, 1].map(() => fs.mkdtempSync(path.join(os.tmpdir(), 'jobvisor-pgpass-')));
  const servers: EmbeddedServer[] = [];
  let ports: number[] = [];

  before(async () => {
    ports = await freePorts(2);
  });
  after(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('is made per data folder: random, mode 600, and not the old fixed one', async () => {
    for (const [i, dir] of dirs.entries()) servers.push(await ensureEmbeddedPostgres(dir, ports[i]!));
    const [a, b] = dirs.map(passwordOf);
    expect(a).to.have.length.greaterThan(20);
    expect(a).to.not.equal(b);
    for (const dir of dirs) expect(fs.statSync(path.join(dir, 'postgres.password')).mode & 0o777).to.equal(0o600);
    expect(await accepts(ports[0]!, a!)).to.equal(true);
    expect(await accepts(ports[0]!, b!), 'one folder\'s password opens no other server').to.equal(false);
    expect(await accepts(ports[0]!, LEGACY)).to.equal(false);
    expect(servers[0]!.connectionString).to.include(encodeURIComponent(a!));
  });

  it('moves a folder made with the old password to one of its own at the next start', async () => {
    const [dir, port] = [dirs[1]!, ports[1]!];
    // What a folder from before looks like: the server takes the old password, and there is no password file.
    const client = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', password: passwordOf(dir), database: 'postgres' });
    await client.connect();
    await client.query(`ALTER ROLE postgres PASSWORD '${LEGACY}'`);
    await client.end();
    await servers.pop()!.stop();
    fs.rmSync(path.join(dir, 'postgres.password'));

    servers.push(await ensureEmbeddedPostgres(dir, port));
    const moved = passwordOf(dir);
    expect(moved).to.not.equal(LEGACY);
    expect(await accepts(port, moved)).to.equal(true);
    expect(await accepts(port, LEGACY), 'the old password no longer opens it').to.equal(false);
    // A process that cannot read the file (a worker run as another user) is handed the password instead.
    const joined = await ensureEmbeddedPostgres(path.join(dir, 'elsewhere'), port, () => {}, moved);
    expect(joined.owned).to.equal(false);
  });
});
