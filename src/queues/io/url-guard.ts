// Every URL job data names is fetched (or, for a webhook, posted to) here, and nowhere else. http and https
// only; every address the host resolves to is checked (addresses.ts) unless
// the operator allowlisted the host (JOBVISOR_URL_ALLOWLIST); the socket
// connects to the address that was checked, through a lookup of our own on the
// request, so DNS cannot answer differently between the check and the connect;
// redirects are followed by hand, each hop checked again; the body is capped in
// bytes and the whole fetch in time while it streams. No content-encoding is
// asked for, so what is counted is what is kept.
import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { UnrecoverableError } from '../../lib/errors.js';
import { loadInputConfig, type InputConfig } from '../../lib/config.js';
import { isBlockedAddress } from './addresses.js';

export interface FetchOptions {
  signal: AbortSignal;
  /** Defaults to JOBVISOR_MAX_URL_BYTES. */
  maxBytes?: number;
  /** The setting that raises the cap, named when it is hit. */
  limitName?: string;
  accept?: string;
  settings?: InputConfig;
}

export interface Fetched {
  bytes: Buffer;
  contentType: string | null;
  /** Where the body came from, after redirects. */
  url: URL;
}

/** Raised inside our lookup, so that a refused address is told from a failed connection. */
class AddressNotAllowed extends Error {}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

export function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | dns.LookupAddress[], family?: number) => void;

/** dns.lookup, refusing the whole host when any of its addresses is blocked. */
function guardedLookup(checked: boolean) {
  return (hostname: string, options: dns.LookupOptions, callback: LookupCallback): void => {
    dns.lookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, '');
      if (addresses.length === 0) return callback(Object.assign(new Error('no address'), { code: 'ENOTFOUND' }), '');
      if (checked && addresses.some((a) => isBlockedAddress(a.address))) return callback(new AddressNotAllowed(), '');
      if (options.all) return callback(null, addresses);
      callback(null, addresses[0]!.address, addresses[0]!.family);
    });
  };
}

function refusedAddress(given: string, hop: number): UnrecoverableError {
  return new UnrecoverableError(`${given}: ${hop > 0 ? 'redirected to an ' : ''}address not allowed`);
}

/** One GET, answered with its response (not yet read), or refused before any byte leaves. */
/** A body to send instead of a GET (a webhook's POST). */
interface Upload {
  headers: Record<string, string>;
  body: Buffer;
}

function request(url: URL, given: string, hop: number, settings: InputConfig, options: FetchOptions, signal: AbortSignal, upload?: Upload): Promise<http.IncomingMessage> {
  const host = url.hostname.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  const checked = !settings.urlAllowlist.includes(host);
  // An IP literal never goes through the lookup: check it here.
  if (checked && net.isIP(host) && isBlockedAddress(host)) return Promise.reject(refusedAddress(given, hop));
  const client = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.request(url, {
      // agent: false, a connection per request: none is pooled, so none goes stale across an outage (keep-alive.ts).
      method: upload ? 'POST' : 'GET', agent: false, signal, lookup: guardedLookup(checked) as never,
      headers: {
        accept: options.accept ?? '*/*', 'accept-encoding': 'identity', 'user-agent': 'jobvisor',
        ...(upload ? { ...upload.headers, 'content-length': String(upload.body.length) } : {}),
      },
    });
    req.once('response', resolve);
    req.once('error', (error) => {
      if (error instanceof AddressNotAllowed) reject(refusedAddress(given, hop));
      else if (signal.aborted) reject(signal.reason);
      else reject(new Error(`${upload ? 'POST' : 'GET'} ${given}: could not connect`)); // which errno says nothing a job needs, and maps ports
    });
    req.end(upload?.body);
  });
}

async function readCapped(response: http.IncomingMessage, given: string, maxBytes: number, limitName: string): Promise<Buffer> {
  const over = () => new UnrecoverableError(`GET ${given}: the response is over the ${maxBytes}-byte limit (${limitName})`);
  if (Number(response.headers['content-length'] ?? 0) > maxBytes) {
    response.destroy();
    throw over();
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of response as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > maxBytes) {
      response.destroy();
      throw over();
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function statusError(given: string, status: number): Error {
  const message = `GET ${given}: HTTP ${status}`;
  // A 4xx answers the same on retry; a 5xx or 429 may not.
  return status >= 400 && status < 500 && status !== 429 ? new UnrecoverableError(message) : new Error(message);
}

async function follow(given: string, settings: InputConfig, options: FetchOptions, signal: AbortSignal): Promise<Fetched> {
  let url = new URL(given);
  for (let hop = 0; ; hop++) {
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new UnrecoverableError(`${given}: ${hop > 0 ? 'redirected to ' : ''}a URL that is not http or https`);
    }
    const response = await request(url, given, hop, settings, options, signal);
    const location = response.headers.location;
    if (REDIRECTS.has(response.statusCode ?? 0) && location) {
      response.destroy();
      if (hop >= settings.maxRedirects) throw new UnrecoverableError(`GET ${given}: more than ${settings.maxRedirects} redirects`);
      url = new URL(location, url);
      continue;
    }
    if ((response.statusCode ?? 0) < 200 || (response.statusCode ?? 0) >= 300) {
      response.destroy();
      throw statusError(given, response.statusCode ?? 0);
    }
    const bytes = await readCapped(response, given, options.maxBytes ?? settings.maxUrlBytes, options.limitName ?? 'JOBVISOR_MAX_URL_BYTES');
    return { bytes, contentType: response.headers['content-type'] ?? null, url };
  }
}

/** GET a URL from job data, within the guard's rules and caps. */
export async function fetchUrl(given: string, options: FetchOptions): Promise<Fetched> {
  const settings = options.settings ?? loadInputConfig();
  if (!isHttpUrl(given)) throw new UnrecoverableError(`${given}: only http and https URLs are fetched`);
  const deadline = AbortSignal.timeout(settings.urlTimeoutMs);
  const signal = AbortSignal.any([options.signal, deadline]);
  try {
    return await follow(given, settings, options, signal);
  } catch (error) {
    if (options.signal.aborted) throw options.signal.reason;
    if (deadline.aborted) throw new Error(`GET ${given}: took longer than ${settings.urlTimeoutMs} ms (JOBVISOR_URL_TIMEOUT_MS)`);
    throw error;
  }
}

/**
 * POST a body to a URL from job data (a completion webhook), within the same address
 * rules and time cap. Redirects are not followed: a receiver that moved answers 3xx,
 * which is a failed delivery. Resolves with the status of a 2xx answer.
 */
export async function postUrl(given: string, upload: Upload, options: FetchOptions): Promise<number> {
  const settings = options.settings ?? loadInputConfig();
  if (!isHttpUrl(given)) throw new UnrecoverableError(`${given}: only http and https URLs are called`);
  const deadline = AbortSignal.timeout(settings.urlTimeoutMs);
  const signal = AbortSignal.any([options.signal, deadline]);
  try {
    const response = await request(new URL(given), given, 0, settings, options, signal, upload);
    const status = response.statusCode ?? 0;
    response.resume(); // what the receiver says is not kept
    if (status < 200 || status >= 300) {
      throw status >= 400 && status < 500 && status !== 408 && status !== 429
        ? new UnrecoverableError(`POST ${given}: HTTP ${status}`) : new Error(`POST ${given}: HTTP ${status}`);
    }
    return status;
  } catch (error) {
    if (options.signal.aborted) throw options.signal.reason;
    if (deadline.aborted) throw new Error(`POST ${given}: took longer than ${settings.urlTimeoutMs} ms (JOBVISOR_URL_TIMEOUT_MS)`);
    throw error;
  }
}
