// HTTP to a service the operator configured (the embeddings endpoint) through a
// keep-alive pool that survives its sockets going stale. After a partition or
// an outage the far side has forgotten the connections the pool still holds,
// and the first request written on one of them is reset. Such a request was
// lost with its connection, so one that is safe to repeat (a GET, or one its
// caller says changes nothing) is sent once more; the pool's idle sockets went
// through the same outage and are dropped first, so it goes on a new connection
// (or on one that has just answered another request). Should that fail too, the
// caller gets the error as it came.
// URLs from job data do not come here: url-guard.ts opens a connection per
// request (agent: false), so none of its sockets can go stale.
import http from 'node:http';
import https from 'node:https';

export interface PooledRequest {
  method: string;
  headers?: Record<string, string>;
  body?: Buffer | string;
  signal: AbortSignal;
  /** A request other than GET or HEAD that changes nothing at the service, so it may be sent twice. */
  repeatable?: boolean;
}

export interface PooledResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** A reset before any answer, on a socket that had served an earlier request: it was stale in the pool. */
class StaleSocketError extends Error {
  constructor(readonly original: Error) {
    super(original.message);
  }
}

const RESET_CODES = new Set(['ECONNRESET', 'EPIPE']);

export class KeepAliveClient {
  private readonly agents = { http: new http.Agent({ keepAlive: true }), https: new https.Agent({ keepAlive: true }) };

  async request(url: URL, options: PooledRequest): Promise<PooledResponse> {
    const repeatable = options.repeatable === true || options.method === 'GET' || options.method === 'HEAD';
    try {
      return await this.send(url, options);
    } catch (error) {
      if (!(error instanceof StaleSocketError)) throw error;
      this.dropIdle();
      if (!repeatable) throw error.original;
      return this.send(url, options).catch((again: unknown) => {
        throw again instanceof StaleSocketError ? again.original : again;
      });
    }
  }

  /** Closes every idle pooled socket; a request under way keeps its own. */
  dropIdle(): void {
    for (const agent of Object.values(this.agents)) {
      for (const sockets of Object.values(agent.freeSockets)) for (const socket of sockets ?? []) socket.destroy();
    }
  }

  private send(url: URL, options: PooledRequest): Promise<PooledResponse> {
    const secure = url.protocol === 'https:';
    return new Promise((resolve, reject) => {
      const req = (secure ? https : http).request(url, {
        method: options.method, headers: options.headers, signal: options.signal, agent: secure ? this.agents.https : this.agents.http,
      });
      let answered = false;
      req.once('response', (response) => {
        answered = true;
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.once('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }));
        response.once('error', reject);
      });
      req.once('error', (error: NodeJS.ErrnoException) => {
        const stale = !answered && req.reusedSocket && RESET_CODES.has(error.code ?? '') && !options.signal.aborted;
        reject(stale ? new StaleSocketError(error) : error);
      });
      req.end(options.body);
    });
  }
}
