// Issue 10, "The workers fetch internal URLs (SSRF)", replayed: an internal
// server on 127.0.0.1 (not on the allowlist, which holds `localhost` only) is
// never reached — not by its address in any spelling, not through a redirect
// from an allowed host, not through a feed — and a refusal reads the same for
// an open port and a closed one. The allowlisted host still works.
import { expect } from 'chai';
import type { JobView } from '../../src/lib/store/index.js';
import { freePort } from '../helpers/ports.js';
import { localServer, useSystem } from './system.js';

const REFUSED = /address not allowed/;

describe('security: job data reaches no internal address', function () {
  this.timeout(60_000);
  const s = useSystem();
  let internal: Awaited<ReturnType<typeof localServer>>;
  let allowed: Awaited<ReturnType<typeof localServer>>;
  const jobs: JobView[] = [];
  const run = async (queue: string, data: unknown) => {
    const job = await s.run(queue, data);
    jobs.push(job);
    return job;
  };

  before(async () => {
    internal = await localServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(`<html><title>${s.secret}</title><body><p>${s.secret}</p></body></html>`));
    allowed = await localServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname === '/to-internal') return void res.writeHead(302, { location: `http://127.0.0.1:${internal.port}/admin` }).end();
      if (url.pathname === '/to-file') return void res.writeHead(302, { location: 'file:///etc/passwd' }).end();
      if (url.pathname === '/feed.xml') return void res.writeHead(200, { 'content-type': 'application/rss+xml' }).end(feed(internal.port));
      res.writeHead(200, { 'content-type': 'text/html' }).end('<html><title>Harbour log</title><body><article><p>The boats came in.</p></article></body></html>');
    });
  });
  after(async () => {
    await internal?.close();
    await allowed?.close();
  });
  /** Every test ends here: the internal server saw nothing, and nothing it holds shows anywhere. */
  const noLeaks = async () => {
    expect(internal.hits, 'the internal server was reached').to.deep.equal([]);
    expect(await s.leaks(jobs.splice(0))).to.deep.equal([]);
  };

  function expectRefused(job: JobView, rule: RegExp): void {
    expect(job.state, JSON.stringify(job.error)).to.equal('failed');
    expect(job.attempts).to.equal(1);
    expect(job.error!.message).to.match(rule);
  }

  it('refuses the internal server by every spelling of its address, and the metadata endpoint', async () => {
    const port = internal.port;
    const spellings = [`127.0.0.1:${port}`, `127.1:${port}`, `0x7f000001:${port}`, `2130706433:${port}`, `[::1]:${port}`,
      `[::ffff:127.0.0.1]:${port}`, `0.0.0.0:${port}`, `[::]:${port}`, '169.254.169.254/latest/meta-data/'];
    for (const where of spellings) expectRefused(await run('document', { source: `http://${where}/` }), REFUSED);
    await noLeaks();
  });

  it('refuses a host name that resolves to loopback when it is not on the allowlist, checked at lookup', async () => {
    process.env.JOBVISOR_URL_ALLOWLIST = '';
    try {
      expectRefused(await run('document', { source: `http://localhost:${internal.port}/` }), REFUSED);
    } finally {
      process.env.JOBVISOR_URL_ALLOWLIST = 'localhost';
    }
    await noLeaks();
  });

  it('answers an open port and a closed one alike', async () => {
    const closed = await freePort();
    const [open, shut] = [await run('document', { source: `http://127.0.0.1:${internal.port}/` }), await run('document', { source: `http://127.0.0.1:${closed}/` })];
    expect(open.error!.message.replace(String(internal.port), 'P')).to.equal(shut.error!.message.replace(String(closed), 'P'));
    await noLeaks();
  });

  it('checks every redirect again: an allowed host cannot bounce a job inward, or to a file', async () => {
    expectRefused(await run('document', { source: `http://localhost:${allowed.port}/to-internal` }), /redirected to an address not allowed/);
    expectRefused(await run('document', { source: `http://localhost:${allowed.port}/to-file` }), /redirected to a URL that is not http or https/);
    await noLeaks();
  });

  it('takes a feed item\'s link as a web URL or nothing: a path or file: link reads nothing, an internal link is refused', async () => {
    const sync = await run('rag-sync', { source: `http://localhost:${allowed.port}/feed.xml` });
    expect(sync.state, JSON.stringify(sync.error)).to.equal('completed');
    const parent = await s.h.settled('rag-sync', (sync.result as { flow: { id: string } }).flow.id, 30_000);
    jobs.push(parent);
    const errors = (parent.result as { errors: { item: string; error: string }[] }).errors;
    const byItem = Object.fromEntries(errors.map((e) => [e.item, e.error]));
    expect(byItem['local-path']).to.match(/no content and no http\(s\) link/);
    expect(byItem['file-url']).to.match(/no content and no http\(s\) link/);
    expect(byItem.internal).to.match(REFUSED);
    expect((parent.result as { vectors: number }).vectors, 'the one good item was embedded').to.be.greaterThan(0);
    await noLeaks();
  });

  it('takes no URL as a video source: a 400 at the api, before any worker or ffmpeg', async () => {
    const res = await s.request('POST', '/api/jobs', { queue: 'video', data: { source: `http://127.0.0.1:${internal.port}/clip.mp4` } });
    expect(res.status).to.equal(400);
    expect(res.body.error.message).to.match(/data\.source: a file under the input roots, not a URL/);
    await noLeaks();
  });

  it('fetches from an allowlisted host (how an operator reaches a private feed)', async () => {
    const job = await run('document', { source: `http://localhost:${allowed.port}/harbour.html` });
    expect(job.state, JSON.stringify(job.error)).to.equal('completed');
    expect(job.result).to.deep.include({ title: 'Harbour log', format: 'html' });
    await noLeaks();
  });
});

function feed(internalPort: number): string {
  const item = (guid: string, link: string) => `<item><guid>${guid}</guid><title>${guid}</title><pubDate>Mon, 02 Mar 2026 08:00:00 GMT</pubDate><link>${link}</link></item>`;
  return `<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>
${item('local-path', '/etc/passwd')}${item('file-url', 'file:///etc/passwd')}${item('internal', `http://127.0.0.1:${internalPort}/`)}
<item><guid>good</guid><title>good</title><description>&lt;p&gt;The gulls followed the last boat in.&lt;/p&gt;</description></item>
</channel></rss>`;
}
