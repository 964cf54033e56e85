// A local webhook receiver on 127.0.0.1 for the webhook tests: it keeps every POST it answers
// 2xx (path, raw body, headers), and answers 500 to a path told to fail its next N requests.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  path: string;
  body: string;
  headers: http.IncomingHttpHeaders;
}

export interface Receiver {
  /** `http://127.0.0.1:<port>`: allowlist 127.0.0.1 for the URL guard. */
  base: string;
  /** The requests answered 204, in arrival order. */
  delivered: Received[];
  /** The next `times` requests to `path` get a 500. */
  failNext(path: string, times: number): void;
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const delivered: Received[] = [];
  const failing = new Map<string, number>();
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      const left = failing.get(req.url!) ?? 0;
      if (left > 0) {
        failing.set(req.url!, left - 1);
        return void res.writeHead(500).end();
      }
      delivered.push({ path: req.url!, body, headers: req.headers });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    delivered,
    failNext: (path, times) => void failing.set(path, times),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
