// Stale pooled sockets: a real local server that answers the first request on
// each connection and resets the connection at the second, as a far side does
// that dropped its connections during a partition while the client's pool kept
// them. A request safe to repeat succeeds without a failed attempt; a POST that
// is not is never sent twice.
import { expect } from 'chai';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { openAiProvider } from '../../../src/queues/ai/openai.js';
import { KeepAliveClient } from '../../../src/queues/io/keep-alive.js';

describe('keep-alive pool after its sockets went stale', () => {
  let server: http.Server;
  let base: string;
  let connections = 0;
  let answered = 0;
  const served = new WeakMap<object, number>();

  before(async () => {
    server = http.createServer((req, res) => {
      const count = (served.get(req.socket) ?? 0) + 1;
      served.set(req.socket, count);
      // The far side forgot this connection: whatever comes on it again is reset.
      if (count > 1) return void req.socket.resetAndDestroy();
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      req.on('end', () => {
        answered++;
        const input = req.url?.endsWith('/embeddings') ? (JSON.parse(body) as { input: string[] }).input : [];
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ data: input.map((_, index) => ({ index, embedding: [index, 1, 2] })) }));
      });
    });
    server.keepAliveTimeout = 60_000; // it never closes an idle connection itself
    server.on('connection', () => connections++);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  beforeEach(() => {
    connections = 0;
    answered = 0;
  });

  const get = (client: KeepAliveClient) => client.request(new URL(`${base}/thing`), { method: 'GET', signal: new AbortController().signal });

  it('sends a GET reset on a reused socket once more, on a new connection, and it succeeds', async () => {
    const client = new KeepAliveClient();
    expect((await get(client)).status).to.equal(200);
    expect((await get(client)).status).to.equal(200);
    expect(connections, 'the reused socket was reset, the retry connected anew').to.equal(2);
    expect(answered).to.equal(2);
  });

  it('drops the idle sockets the outage went through, so the one retry does not meet another stale one', async () => {
    const client = new KeepAliveClient();
    await Promise.all([get(client), get(client), get(client)]); // three sockets in the pool
    expect(connections).to.equal(3);
    expect((await get(client)).status).to.equal(200);
    expect((await get(client)).status, 'the retry connection, pooled, goes stale in its turn and is replaced').to.equal(200);
    expect(connections, 'one new connection for each reset: none of the dropped sockets was tried again').to.equal(5);
  });

  it('does not send twice a POST that is not safe to repeat', async () => {
    const client = new KeepAliveClient();
    const post = () => client.request(new URL(`${base}/orders`), { method: 'POST', body: '{}', signal: new AbortController().signal });
    expect((await post()).status).to.equal(200);
    const error = await post().then(() => undefined, (thrown: NodeJS.ErrnoException) => thrown);
    expect(error?.code).to.equal('ECONNRESET');
    expect(answered).to.equal(1);
  });

  it('the openai provider embeds again after its pooled connection went stale, without a failed attempt', async () => {
    const provider = openAiProvider({ baseUrl: `${base}/v1`, model: 'fake' });
    const signal = new AbortController().signal;
    expect(await provider.embed(['a', 'b'], signal)).to.have.length(2);
    expect(await provider.embed(['c'], signal)).to.deep.equal([[0, 1, 2]]);
    expect(answered).to.equal(2);
  });
});
