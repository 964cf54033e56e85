// The completion webhooks' signature (README, "Completion webhooks"): HMAC-SHA256 over
// `<unix seconds>.<raw body>`, sent as `Jobvisor-Signature: t=<seconds>,v1=<hex>`. The
// timestamp is signed so that a captured delivery cannot be replayed later. Node's
// crypto only: the client (src/client) uses this file as it is.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'Jobvisor-Signature';
/** How old a signature a receiver accepts by default. */
export const SIGNATURE_TOLERANCE_S = 300;

function digest(secret: string, timestamp: number, body: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
}

export function signWebhook(secret: string, body: string, timestamp = Math.floor(Date.now() / 1000)): string {
  return `t=${timestamp},v1=${digest(secret, timestamp, body)}`;
}

/** Whether the header signs this exact body with this secret, recently enough. */
export function verifySignature(header: string | null | undefined, body: string, secret: string, toleranceS = SIGNATURE_TOLERANCE_S, nowS = Date.now() / 1000): boolean {
  if (!header) return false;
  const parts = new Map(header.split(',').map((part) => part.trim().split('=', 2) as [string, string]));
  const timestamp = Number(parts.get('t'));
  const given = parts.get('v1');
  if (!Number.isInteger(timestamp) || !given || !/^[0-9a-f]{64}$/.test(given)) return false;
  if (Math.abs(nowS - timestamp) > toleranceS) return false;
  return timingSafeEqual(Buffer.from(given, 'hex'), Buffer.from(digest(secret, timestamp, body), 'hex'));
}
