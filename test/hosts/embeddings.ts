// A stand-in for an OpenAI-compatible embeddings endpoint, listening on the root side of every
// host's link (the addresses the suite created), so the real ai handler's keep-alive pool holds
// sockets across a partition. A connection idle for a while is reset and forgotten, as a
// provider's load balancer does: during a partition the reset never reaches the cut-off host,
// whose pool then holds connections the far side no longer knows: the first request written on
// one after the heal is answered with a reset, which the pool must resend. It records who asked
// (by address) and when.
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { HostNet } from './network.js';

export interface EmbeddingsServer {
  /** OPENAI_BASE_URL for a host: the server on its own link. */
  baseUrl(host: HostNet): string;
  /** Each request answered: the asking host's address and when. */
  requests: { from: string; at: number }[];
  close(): Promise<void>;
}

/** How long an idle connection is kept: shorter than a partition, so the server drops it meanwhile. */
export const KEEP_ALIVE_MS = 2000;

export async function embeddingsServer(hosts: HostNet[], answerMs: number): Promise<EmbeddingsServer> {
  const requests: EmbeddingsServer['requests'] = [];
  // Per connection, the reset due once it has been idle KEEP_ALIVE_MS (Node's own timers on the socket are the server's).
  const idle = new Map<Socket, NodeJS.Timeout>();
  const handle: http.RequestListener = (req, res) => {
    const socket = req.socket;
    clearTimeout(idle.get(socket));
    res.once('finish', () => idle.set(socket, setTimeout(() => {
      idle.delete(socket);
      socket.resetAndDestroy();
    }, KEEP_ALIVE_MS)));
    let raw = '';
    req.on('data', (chunk: Buffer) => (raw += chunk.toString('utf8')));
    req.on('end', () => setTimeout(() => {
      const body = JSON.parse(raw) as { model: string; input: string[] };
      requests.push({ from: req.socket.remoteAddress ?? '', at: Date.now() });
      const data = body.input.map((text, index) => ({ object: 'embedding', index, embedding: [text.length, index, 0.5] }));
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ object: 'list', data, model: body.model }));
    }, answerMs));
  };
  let port = 0;
  const servers: http.Server[] = [];
  for (const host of hosts) {
    // Node's own keep-alive timeout would close with a FIN, which a retransmission may still deliver after the heal.
    const server = http.createServer({ keepAliveTimeout: 30 * KEEP_ALIVE_MS }, handle);
    await new Promise<void>((resolve) => server.listen(port, host.gateway, resolve));
    port = (server.address() as AddressInfo).port; // the others on the same port, on their own addresses
    servers.push(server);
  }
  return {
    baseUrl: (host) => `http://${host.gateway}:${port}/v1`,
    requests,
    close: async () => {
      for (const timer of idle.values()) clearTimeout(timer);
      for (const server of servers) server.closeAllConnections();
      await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
    },
  };
}
